package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// shardJobArgs is the job every sharded test runs, with every family a
// run publishes: neighbour lists, cross-occurrence lists, the users'
// rec lists, popularity, segments and user hashes.
func shardJobArgs(dir, url, ns string, extra ...string) []string {
	return append([]string{"run", "--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"),
		"--redis", url, "--namespace", ns, "--top-n", "10", "--cross-event", "Product Viewed",
		"--segment-cols", "membership_status", "--user-lists", "5", "--grace", "1h"}, extra...)
}

// TestShardedRun runs the job as three shards, against one server and a
// three-master cluster: two shards as concurrent processes, the third
// killed with SIGKILL while it publishes, the flip refused while it is
// missing, the third rerun alone with --flip-when-complete; the live
// version then holds exactly what one unsharded run publishes: the same
// keys, members and scores, and fields and values.
func TestShardedRun(t *testing.T) {
	dir := MustGen(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		ctx := context.Background()
		mustRunOK(t, "unsharded run", shardJobArgs(dir, tg.URL(), "one")...)
		one, _ := publish.Live(ctx, rdb, publish.Keys{Namespace: "one"})

		const ns = "sharded"
		version := publish.NewVersionID(time.Now())
		shard := func(i int, extra ...string) []string {
			return shardJobArgs(dir, tg.URL(), ns, append([]string{"--shard", fmt.Sprintf("%d/3", i), "--version", version}, extra...)...)
		}
		var wg sync.WaitGroup
		for _, i := range []int{0, 2} {
			c := startChild(t, shard(i)...)
			wg.Go(func() {
				if code, stderr := c.wait(); code != 0 {
					t.Errorf("shard %d: exit %d: %s", i, code, stderr)
				}
			})
		}
		wg.Wait()
		flip := []string{"flip", "--version", version, "--shards", "3", "--redis", tg.URL(), "--namespace", ns}
		code, _, stderr := run(t, flip...)
		if code != exitFailed || !strings.Contains(stderr, "1 of 3 shards missing: 1 (not started)") {
			t.Fatalf("flip with shard 1 missing: exit %d: %s", code, stderr)
		}

		killShard(t, rdb, ns, version, 1, shard(1, "--lock-ttl", "1s"))
		code, _, stderr = run(t, flip...)
		if code != exitFailed || !strings.Contains(stderr, "1 (writing") {
			t.Fatalf("flip with shard 1 killed: exit %d: %s", code, stderr)
		}
		if live, _ := publish.Live(ctx, rdb, publish.Keys{Namespace: ns}); live != "" {
			t.Fatalf("live %s before every shard completed", live)
		}

		code, stdout, stderr := run(t, shard(1, "--flip-when-complete")...)
		if code != 0 || !strings.Contains(stdout, "published shard 1/3 of version "+version+"; every shard is complete: the version is live") {
			t.Fatalf("rerun of shard 1: exit %d: %s%s", code, stdout, stderr)
		}
		code, stdout, stderr = run(t, flip...)
		if code != 0 || !strings.Contains(stdout, "version "+version+" is already live; nothing to do") {
			t.Fatalf("flip of the live version: exit %d: %s%s", code, stdout, stderr)
		}
		want, got := versionContents(t, rdb, "one", one), versionContents(t, rdb, ns, version)
		if len(want) < 100 {
			t.Fatalf("the unsharded version has %d keys", len(want))
		}
		for key, w := range want {
			if g, ok := got[key]; !ok || g != w {
				t.Fatalf("%s: sharded %q (present %v), unsharded %q", key, g, ok, w)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("sharded version has %d keys, unsharded %d", len(got), len(want))
		}
		for _, fam := range []string{"sim:", "cross:product_viewed:", "rec:", "pop", "seg:", "user:"} {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(want)), func(k string) bool { return strings.HasPrefix(k, fam) }) {
				t.Errorf("no %s key compared", fam)
			}
		}
		if err := publish.VerifyVersion(ctx, rdb, publish.Keys{Namespace: ns}, version); err != nil {
			t.Error(err)
		}
	})
}

// killShard starts shard i and kills it with SIGKILL once it has
// registered and while it is still writing; a try that completes before
// the kill lands is run again (a complete shard may be rerun until the
// flip).
func killShard(t *testing.T, rdb redis.UniversalClient, ns, version string, i int, args []string) {
	t.Helper()
	for try := 0; try < 10; try++ {
		start := time.Now()
		c := startChild(t, args...)
		if !waitShardWriting(rdb, ns, version, i, start) {
			code, stderr := c.wait()
			t.Fatalf("shard %d did not register (exit %d): %s", i, code, stderr)
		}
		c.kill()
		_, recs, err := publish.ShardRecords(context.Background(), rdb, publish.Keys{Namespace: ns}, version)
		if err != nil {
			t.Fatal(err)
		}
		if recs[i].Status == publish.ShardWriting {
			return
		}
	}
	t.Fatalf("shard %d completed before every one of 10 kills", i)
}

// waitShardWriting waits until shard i of version has registered after
// start.
func waitShardWriting(rdb redis.UniversalClient, ns, version string, i int, start time.Time) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, recs, _ := publish.ShardRecords(context.Background(), rdb, publish.Keys{Namespace: ns}, version)
		if r, ok := recs[i]; ok && r.Status == publish.ShardWriting && !r.StartedAt.Before(start.Truncate(time.Millisecond)) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// versionContents returns every key of a version but the manifest,
// without its prefix, with its members and scores or fields and values.
func versionContents(t *testing.T, rdb redis.UniversalClient, ns, version string) map[string]string {
	t.Helper()
	return redistest.Contents(t, rdb, publish.Keys{Namespace: ns}.VersionPrefix(version))
}

// TestShardGC: a version missing a shard is never flipped, gc leaves it
// alone within the grace period after its last shard and removes every
// key of it after.
func TestShardGC(t *testing.T) {
	dir := MustGenSmall(t)
	s := redistest.Start(t)
	rdb := s.Client(t)
	const ns = "shardgc"
	version := publish.NewVersionID(time.Now())
	mustRunOK(t, "shard 0", shardJobArgs(dir, s.URL(), ns, "--shard", "0/2", "--version", version)...)
	if code, stdout, _ := run(t, "versions", "--redis", s.URL(), "--namespace", ns); code != 0 || !strings.Contains(stdout, version+"    writing") || !strings.Contains(stdout, "shards 1/2 complete (not: 1)") {
		t.Fatalf("versions: exit %d: %s", code, stdout)
	}
	code, stdout, _ := run(t, "gc", "--redis", s.URL(), "--namespace", ns, "--grace", "1h")
	if code != 0 || !strings.Contains(stdout, "removed 0 versions") {
		t.Fatalf("gc within grace: exit %d: %s", code, stdout)
	}
	time.Sleep(5 * time.Millisecond)
	code, stdout, _ = run(t, "gc", "--redis", s.URL(), "--namespace", ns, "--grace", "1ms")
	if code != 0 || !strings.Contains(stdout, "removed 1 versions ["+version+"]") {
		t.Fatalf("gc past grace: exit %d: %s", code, stdout)
	}
	if keys := redistest.AllKeys(t, rdb); slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, version) }) {
		t.Fatalf("keys of the removed version remain: %v", keys)
	}
	code, _, stderr := run(t, "flip", "--version", version, "--shards", "2", "--redis", s.URL(), "--namespace", ns)
	if code != exitFailed || !strings.Contains(stderr, "no shard of this version ran") {
		t.Fatalf("flip of the removed version: exit %d: %s", code, stderr)
	}
}

// TestShardFlags: what a sharded run refuses before it reads anything.
func TestShardFlags(t *testing.T) {
	v := publish.NewVersionID(time.Now())
	base := []string{"run", "--events", "x", "--redis", "redis://127.0.0.1:1"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no version", nil, []string{"--shard", "0/2"}, "--shard 0/2: add --version V"},
		{"bad version", nil, []string{"--shard", "0/2", "--version", "nightly"}, `--version: version "nightly": want a version id such as`},
		{"index out of range", nil, []string{"--shard", "2/2", "--version", v}, "want 0 <= i < 2"},
		{"not i/n", nil, []string{"--shard", "2", "--version", v}, "want i/n"},
		{"version alone", nil, []string{"--version", v}, "add --shard i/n"},
		{"flip alone", nil, []string{"--flip-when-complete"}, "add --shard i/n"},
		{"env", map[string]string{"RECOPUB_SHARD": "5/4"}, []string{"--version", v}, "RECOPUB_SHARD: shard 5/4"},
		{"unexpanded env", map[string]string{"RECOPUB_SHARD": "$(JOB_COMPLETION_INDEX)/4"}, []string{"--version", v}, "Kubernetes did not expand"},
		{"out", nil, []string{"--shard", "0/2", "--version", v, "--dry-run", "--out", "d"}, "--out writes a whole model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runEnv(t, tc.env, append(base, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want %d and %q in: %s", code, exitUsage, tc.want, stderr)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"flip", "--shards", "2"}, "--version: want the version"},
		{[]string{"flip", "--version", v}, "--shards 0: want the shard count"},
		{[]string{"flip", "--version", "x", "--shards", "2"}, "want a version id"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in: %s", tc.args, code, exitUsage, tc.want, stderr)
		}
	}
}
