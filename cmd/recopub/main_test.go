package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
)

// run runs recopub in-process with an empty environment and returns its
// exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv runs recopub in-process with the given environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	environ := func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Environ: environ}
	code := m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// mustRunOK runs recopub in-process and fails the test, naming what ran
// (by default the command), unless it exits 0.
func mustRunOK(t *testing.T, what string, args ...string) {
	t.Helper()
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatalf("%s: exit %d: %s", cmp.Or(what, args[0]), code, stderr)
	}
}

// MustGen writes a small synthetic export and returns its directory.
func MustGen(t *testing.T) string {
	t.Helper()
	return mustGen(t, "--users", "500", "--items", "200", "--events", "20000", "--seed", "7")
}

// mustGen runs gen with the given flags into a temporary directory and
// returns it.
func mustGen(t *testing.T, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	mustRunOK(t, "gen", append([]string{"gen", "--out", dir}, flags...)...)
	return dir
}

func TestGenRunRead(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	args := []string{"run", "--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"),
		"--redis", s.URL(), "--top-n", "20", "--summary", sumPath}
	code, stdout, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var sum summary
	b, err := os.ReadFile(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Version == "" || sum.EventsRead != 20000 || sum.ListsWritten == 0 || sum.HashesWritten == 0 {
		t.Fatalf("summary %+v", sum)
	}
	for _, stage := range []string{"ingest", "model", "publish"} {
		if _, ok := sum.Stages[stage]; !ok {
			t.Errorf("summary lacks stage %q", stage)
		}
	}
	live, err := publish.Live(ctx, rdb, publish.Keys{})
	if err != nil || live != sum.Version {
		t.Fatalf("live=%q err=%v, want %s", live, err, sum.Version)
	}

	// Every sim list has 1..N members with non-increasing scores.
	keys, err := rdb.Keys(ctx, "reco:"+live+":sim:*").Result()
	if err != nil || int64(len(keys)) != sum.ListsWritten {
		t.Fatalf("%d sim keys (err %v), want %d", len(keys), err, sum.ListsWritten)
	}
	for _, k := range keys {
		zs := rdb.ZRevRangeWithScores(ctx, k, 0, -1).Val()
		if len(zs) < 1 || len(zs) > 20 {
			t.Fatalf("%s has %d members", k, len(zs))
		}
		self := strings.TrimPrefix(k, "reco:"+live+":sim:")
		for i, z := range zs {
			if z.Member == self {
				t.Fatalf("%s lists itself", k)
			}
			if i > 0 && z.Score > zs[i-1].Score {
				t.Fatalf("%s scores increase at %d", k, i)
			}
		}
	}
	// User hashes carry the profile fields.
	code, stdout, stderr = run(t, "user", "U0000001", "--redis", s.URL())
	if code != 0 {
		t.Fatalf("user exit %d: %s", code, stderr)
	}
	for _, f := range []string{"email", "last_seen"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("user output lacks %s:\n%s", f, stdout)
		}
	}
	item := keys[0][strings.LastIndex(keys[0], ":")+1:]
	code, stdout, stderr = run(t, "similar", item, "-n", "3", "--redis", s.URL())
	if code != 0 || strings.Count(stdout, "\n") != 4 {
		t.Fatalf("similar exit %d\n%s%s", code, stdout, stderr)
	}

	// A second run flips to a newer version; the old one's keys remain.
	code, stdout, stderr = run(t, append(args, "--metric", "jaccard")...)
	if code != 0 {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
	live2, _ := publish.Live(ctx, rdb, publish.Keys{})
	if live2 == live || live2 < live {
		t.Fatalf("live after second run %s, first %s", live2, live)
	}
	cl := publish.NewClient(rdb, publish.ClientOptions{})
	if _, v, err := cl.Neighbors(ctx, item, 5); err != nil || v != live2 {
		t.Fatalf("reader sees %s (err %v), want %s", v, err, live2)
	}
	if n := rdb.Exists(ctx, "reco:"+live+":sim:"+item).Val(); n != 1 {
		t.Errorf("old version's keys removed too early")
	}
}

func TestRunRefusedConnection(t *testing.T) {
	dir := MustGen(t)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", redistest.FreePort(t))
	code, _, stderr := run(t, "run", "--events", filepath.Join(dir, "events"), "--redis", url)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0")
	for _, want := range []string{"Redis at " + addr + " is unreachable (connection refused)", "live version unchanged"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestRunRejectsBadInputWithoutTouchingLive(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	mustRunOK(t, "good run", "run", "--events", filepath.Join(dir, "events"), "--redis", s.URL())
	live, _ := publish.Live(ctx, rdb, publish.Keys{})
	before := rdb.DBSize(ctx).Val()

	bad := filepath.Join(t.TempDir(), "bad.parquet")
	os.WriteFile(bad, []byte("not parquet at all"), 0o644)
	code, _, stderr := run(t, "run", "--events", bad, "--redis", s.URL())
	if code != exitRejected || !strings.Contains(stderr, bad) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitRejected, stderr)
	}
	// Too many unusable rows: every row is in the future.
	code, _, stderr = run(t, "run", "--events", filepath.Join(dir, "events"), "--redis", s.URL(), "--now", "2026-11-01T00:00:00Z")
	if code != exitRejected || !strings.Contains(stderr, "no usable events") {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitRejected, stderr)
	}
	// Some unusable rows, more than the allowed fraction.
	code, _, stderr = run(t, "run", "--events", filepath.Join(dir, "events"), "--redis", s.URL(), "--now", "2026-11-22T00:00:00Z")
	if code != exitRejected || !strings.Contains(stderr, "max-bad-fraction") {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitRejected, stderr)
	}
	if got, _ := publish.Live(ctx, rdb, publish.Keys{}); got != live {
		t.Errorf("live changed from %s to %s", live, got)
	}
	if after := rdb.DBSize(ctx).Val(); after != before {
		t.Errorf("keys changed from %d to %d", before, after)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"run"}, {"run", "--events", "x", "--metric", "bogus"}, {"similar"}} {
		if code, _, _ := run(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}
