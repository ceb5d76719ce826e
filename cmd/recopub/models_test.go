package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// dumpRedis returns every key and its content as sorted lines, with the
// version ids replaced by <V> and times left out, so that two servers
// that hold the same model compare equal.
func dumpRedis(t *testing.T, rdb redis.UniversalClient) []string {
	t.Helper()
	ctx := context.Background()
	versions := rdb.ZRange(ctx, "{reco}:versions", 0, -1).Val()
	norm := func(s string) string {
		for _, v := range versions {
			s = strings.ReplaceAll(s, v, "<V>")
		}
		return s
	}
	var out []string
	for _, k := range redistest.AllKeys(t, rdb) {
		nk := norm(k)
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, k, 0, -1).Val() {
				score := strconv.FormatFloat(z.Score, 'g', -1, 64)
				if k == "{reco}:versions" {
					score = "<created ms>"
				}
				out = append(out, fmt.Sprintf("%s zset %s %s", nk, norm(z.Member.(string)), score))
			}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				if strings.HasSuffix(f, "_at") || strings.HasSuffix(f, "seconds") || k == (publish.Keys{}).Flipped() {
					v = "<time>"
				}
				out = append(out, fmt.Sprintf("%s hash %s=%s", nk, norm(f), norm(v)))
			}
		case "string":
			out = append(out, fmt.Sprintf("%s string %s", nk, norm(rdb.Get(ctx, k).Val())))
		default:
			out = append(out, nk+" "+typ)
		}
	}
	slices.Sort(out)
	return out
}

// TestDryRunOutThenPublishFrom checks that a model written with run
// --dry-run --out and published with publish --from, on a server or a
// cluster, leaves Redis exactly as a direct run with the same inputs does.
func TestDryRunOutThenPublishFrom(t *testing.T) {
	redistest.Each(t, testDryRunOutThenPublishFrom)
}

func testDryRunOutThenPublishFrom(t *testing.T, viaFiles *redistest.Target) {
	data := MustGen(t)
	direct := redistest.Start(t)
	in := []string{"--events", filepath.Join(data, "events"), "--profiles", filepath.Join(data, "profiles"),
		"--top-n", "15", "--seed", "9", "--now", "2026-12-01T00:00:00Z", "--user-lists", "5"}
	mustRunOK(t, "run", append([]string{"run", "--redis", direct.URL()}, in...)...)

	dir := filepath.Join(t.TempDir(), "model")
	code, stdout, stderr := run(t, append([]string{"run", "--dry-run", "--out", dir, "--redis", viaFiles.URL()}, in...)...)
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "recopub publish --from "+dir) {
		t.Errorf("dry run does not say how to publish:\n%s", stdout)
	}
	if n := viaFiles.Client(t).DBSize(context.Background()).Val(); n != 0 {
		t.Fatalf("dry run wrote %d keys", n)
	}
	var man publish.DirManifest
	b, err := os.ReadFile(filepath.Join(dir, publish.ManifestFile))
	if err != nil || json.Unmarshal(b, &man) != nil {
		t.Fatalf("manifest: %v\n%s", err, b)
	}
	if man.Parameters["top_n"] != 15.0 || len(man.Inputs) == 0 || man.InputCounts["events_read"] != 20000.0 ||
		man.Counts.Lists[publish.FamilySimilar] == 0 || man.Counts.Lists[publish.FamilyRec] < 400 || man.Counts.Hashes == 0 || man.Timings["model"] <= 0 || man.Timings["write_files"] <= 0 {
		t.Errorf("manifest %s", b)
	}

	code, stdout, stderr = run(t, "publish", "--from", dir, "--redis", viaFiles.URL())
	if code != 0 {
		t.Fatalf("publish --from: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "published version") || !strings.Contains(stdout, "events: 20000 read") {
		t.Errorf("publish --from output:\n%s", stdout)
	}
	got, want := dumpRedis(t, viaFiles.Client(t)), dumpRedis(t, direct.Client(t))
	if viaFiles.IsCluster() {
		// The memory estimate counts a cluster's per-key overhead.
		for _, lines := range [][]string{got, want} {
			for i, l := range lines {
				if before, _, ok := strings.Cut(l, "estimated_bytes="); ok {
					lines[i] = before + "estimated_bytes=<estimate>"
				}
			}
		}
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("Redis after publish --from differs from a direct run (%d and %d lines); first difference:\n got %s\nwant %s", len(got), len(want), got[i], want[i])
			}
		}
		t.Fatalf("Redis after publish --from has %d lines, a direct run %d", len(got), len(want))
	}
	if len(got) < 1000 {
		t.Fatalf("only %d lines compared", len(got))
	}

	// The directory publishes again as a newer version, like a rerun.
	mustRunOK(t, "second publish --from", "publish", "--from", dir, "--redis", viaFiles.URL())
	if vs, _ := publish.Versions(context.Background(), viaFiles.Client(t), publish.Keys{}); len(vs) != 2 || !vs[1].Live {
		t.Errorf("versions after two publishes: %+v", vs)
	}
}

func TestPublishFromRejects(t *testing.T) {
	s := redistest.Start(t)
	empty := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"publish", "--redis", s.URL()}, exitUsage, "--from"},
		{[]string{"publish", "--from", empty, "extra", "--redis", s.URL()}, exitUsage, "no arguments"},
		{[]string{"publish", "--from", empty, "--redis", s.URL()}, exitRejected, "manifest.json"},
		{[]string{"run", "--events", empty, "--out", empty}, exitUsage, "--out needs --dry-run"},
		{[]string{"run", "--events", empty, "--features-target", "both"}, exitUsage, "versioned or live"},
	} {
		code, _, stderr := run(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want %d with %q; stderr:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
	if n := s.Client(t).DBSize(context.Background()).Val(); n != 0 {
		t.Errorf("rejected commands wrote %d keys", n)
	}
}
