package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
)

// TestCountsAgree checks that users, items and user hashes mean the same
// everywhere (README, "Counts"): gen's output, the ingest log, the
// summary of a dry run with and without --out and of a publish, the
// manifest (file and Redis), report.html and the keys in Redis.
func TestCountsAgree(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, "gen", "--out", dir, "--users", "1500", "--items", "400", "--events", "25000", "--seed", "3")
	if code != 0 {
		t.Fatalf("gen exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`of (\d+) users \((\d+) of them anonymous ids\) over (\d+) items, and (\d+) profiles`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("gen output: %s", stdout)
	}
	genUsers, genItems, genProfiles := atoi(t, m[1]), atoi(t, m[3]), atoi(t, m[4])
	if genProfiles != 1500 || genUsers == genProfiles {
		t.Fatalf("gen: %d profiles, %d users: %s", genProfiles, genUsers, stdout)
	}
	in := []string{"--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"), "--top-n", "10"}
	tmp := t.TempDir()

	// A dry run without --out: the log and the summary.
	sumDry := readSummary(t, tmp, "dry", append([]string{"run", "--dry-run"}, in...))
	ingest := logLine(t, sumDry.stderr, "ingest")
	// With --out: the summary, manifest.json and report.html.
	out := filepath.Join(tmp, "model")
	sumOut := readSummary(t, tmp, "out", append([]string{"run", "--dry-run", "--out", out}, in...))
	var man publish.DirManifest
	mustReadJSON(t, filepath.Join(out, "manifest.json"), &man)
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	// A publish: its summary, the Redis manifest and the keys.
	s := redistest.Start(t)
	rdb := s.Client(t)
	sumPub := readSummary(t, tmp, "pub", append([]string{"run", "--redis", s.URL()}, in...))
	ctx := context.Background()
	vs, err := publish.Versions(ctx, rdb, publish.Keys{})
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions %v, err %v", vs, err)
	}
	var redisIn map[string]any
	dec := json.NewDecoder(strings.NewReader(rdb.HGet(ctx, publish.Keys{}.Manifest(vs[0].ID), "input_counts").Val()))
	dec.UseNumber()
	if err := dec.Decode(&redisIn); err != nil {
		t.Fatal(err)
	}
	userKeys := len(rdb.Keys(ctx, publish.Keys{}.VersionPrefix(vs[0].ID)+"user:*").Val())

	hashes := sumDry.HashesWritten
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"ingest log users", jsonInt(ingest["users"]), int64(genUsers)},
		{"dry-run summary users", int64(sumDry.Users), int64(genUsers)},
		{"--out summary users", int64(sumOut.Users), int64(genUsers)},
		{"publish summary users", int64(sumPub.Users), int64(genUsers)},
		{"manifest.json users", jsonInt(man.InputCounts["users"]), int64(genUsers)},
		{"Redis manifest users", jsonInt(redisIn["users"]), int64(genUsers)},
		{"ingest log items", jsonInt(ingest["items"]), int64(genItems)},
		{"dry-run summary items", int64(sumDry.Items), int64(genItems)},
		{"manifest.json items", jsonInt(man.InputCounts["items"]), int64(genItems)},
		{"Redis manifest items", jsonInt(redisIn["items"]), int64(genItems)},
		{"summary profiles", int64(sumDry.Profiles), int64(genProfiles)},
		{"--out summary hashes", sumOut.HashesWritten, hashes},
		{"manifest.json hashes", man.Counts.Hashes, hashes},
		{"publish summary hashes", sumPub.HashesWritten, hashes},
		{"Redis manifest hashes", vs[0].Hashes, hashes},
		{"user keys in Redis", int64(userKeys), hashes},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// Every user with events has a hash, and so has each profile-only
	// user with a trait: at least the users, at most users + profiles.
	if hashes < int64(genUsers) || hashes > int64(genUsers+genProfiles) {
		t.Errorf("user hashes %d outside [users %d, users + profiles %d]", hashes, genUsers, genUsers+genProfiles)
	}
	for k, v := range map[string]int64{"users": int64(genUsers), "user hashes": hashes, "profiles": int64(genProfiles)} {
		if row := fmt.Sprintf(`<tr><th>%s</th><td class="n">%d</td></tr>`, k, v); !strings.Contains(string(html), row) {
			t.Errorf("report.html lacks %s", row)
		}
	}
	if row := fmt.Sprintf(`<tr><th>items</th><td class="n">%d</td></tr>`, genItems); !strings.Contains(string(html), row) {
		t.Errorf("report.html lacks %s", row)
	}
}

type runSummary struct {
	summary
	stderr string
}

// readSummary runs recopub with --summary and returns the summary.
func readSummary(t *testing.T, dir, name string, args []string) runSummary {
	t.Helper()
	path := filepath.Join(dir, name+".json")
	code, _, stderr := run(t, append(args, "--summary", path)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	var s runSummary
	mustReadJSON(t, path, &s.summary)
	s.stderr = stderr
	return s
}

func mustReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// logLine returns the fields of the JSON log line with message msg.
func logLine(t *testing.T, stderr, msg string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if dec.Decode(&m) == nil && m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, stderr)
	return nil
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
