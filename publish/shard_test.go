package publish_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want publish.Shard
		err  string
	}{
		{"0/1", publish.Shard{Index: 0, Count: 1}, ""},
		{"3/4", publish.Shard{Index: 3, Count: 4}, ""},
		{" 1/2 ", publish.Shard{Index: 1, Count: 2}, ""},
		{"4/4", publish.Shard{}, "want 0 <= i < 4"},
		{"-1/4", publish.Shard{}, "want 0 <= i < 4"},
		{"0/0", publish.Shard{}, "want 1 to 1024 shards"},
		{"1", publish.Shard{}, "want i/n"},
		{"a/b", publish.Shard{}, "want i/n"},
		{"$(JOB_COMPLETION_INDEX)/4", publish.Shard{}, "want i/n"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := publish.ParseShard(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseShard(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestShardOf pins the hash: it is part of the key schema, so every
// process of a job and every release must agree on it.
func TestShardOf(t *testing.T) {
	for _, tc := range []struct {
		id   string
		n    int
		want int
	}{
		{"", 4, 0}, {"P000001", 1, 0}, {"P000001", 4, 0}, {"P000002", 4, 1}, {"U0000001", 3, 1}, {"a", 1024, 140}, // FNV-1a("a") = 0xaf63dc4c8601ec8c
	} {
		if got := publish.ShardOf(tc.id, tc.n); got != tc.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tc.id, tc.n, got, tc.want)
		}
	}
	// Each id in exactly one shard, and the shards about even.
	counts := make([]int, 4)
	for i := range 4000 {
		id := fmt.Sprintf("P%06d", i)
		owners := 0
		for s := range 4 {
			if (publish.Shard{Index: s, Count: 4}).Owns(id) {
				owners++
				counts[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s owned by %d shards", id, owners)
		}
	}
	for s, n := range counts {
		if n < 850 || n > 1150 {
			t.Errorf("shard %d owns %d of 4000 ids", s, n)
		}
	}
}

// shardModel is listsModel with a single list (pop) and segment lists,
// the families a run publishes besides the neighbour lists.
func shardModel(n int) *publish.Model {
	m := listsModel(n, 0)
	m.Families = append(m.Families,
		publish.Family{Name: publish.FamilyPopular, Lists: publish.FuncLists{N: 1, Fn: func(_ int, l *publish.List) {
			l.Members, l.Scores = append(l.Members, "P000001", "P000002"), append(l.Scores, 9, 8)
		}}},
		publish.Family{Name: publish.FamilySegment, Lists: publish.FuncLists{N: 5, Fn: func(i int, l *publish.List) {
			l.ID = fmt.Sprintf("gold|%d", i)
			l.Members, l.Scores = append(l.Members, fmt.Sprintf("P%06d", i)), append(l.Scores, float64(i))
		}}},
	)
	return m
}

func TestShards(t *testing.T) {
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		for _, tc := range []struct {
			name string
			fn   func(t *testing.T, rdb redis.UniversalClient, k publish.Keys)
		}{
			{"SameAsOneWriter", testShardsSameAsOne},
			{"RerunAfterFailure", testShardRerun},
			{"GCRemovesIncomplete", testShardsGC},
			{"Refusals", testShardRefusals},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.fn(t, rdb, publish.Keys{Namespace: "shard" + strings.ToLower(tc.name)})
			})
		}
	})
}

// writeShard writes shard s of version under its own lock.
func writeShard(ctx context.Context, rdb redis.UniversalClient, k publish.Keys, m *publish.Model, version string, s publish.Shard) (*publish.Result, error) {
	l, err := publish.AcquireShardLock(ctx, rdb, k, version, s, publish.LockOptions{})
	if err != nil {
		return nil, err
	}
	defer l.Release(context.WithoutCancel(ctx))
	w := &publish.Writer{Client: rdb, Keys: k, Lock: l}
	return w.WriteShard(ctx, m, version, s)
}

func mustWriteShards(t *testing.T, rdb redis.UniversalClient, k publish.Keys, m *publish.Model, version string, n int, shards ...int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(shards))
	for j, i := range shards {
		wg.Go(func() {
			_, errs[j] = writeShard(context.Background(), rdb, k, m, version, publish.Shard{Index: i, Count: n})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// testShardsSameAsOne writes three shards concurrently: the flip refuses
// while one is missing, then the version holds exactly what one writer
// publishes (modulo the version id), and a second flip is a no-op.
func testShardsSameAsOne(t *testing.T, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	m := shardModel(300)
	one := publish.Keys{Namespace: k.Namespace + "one"}
	res := mustPublish(t, &publish.Writer{Client: rdb, Keys: one}, m)
	version := publish.NewVersionID(time.Now())
	mustWriteShards(t, rdb, k, m, version, 3, 0, 2)
	_, err := publish.FlipShards(ctx, rdb, k, version, 3)
	var se *publish.ShardsError
	if !errors.As(err, &se) || !slices.Equal(se.Missing, []int{1}) || !strings.Contains(err.Error(), "1 (not started)") {
		t.Fatalf("flip with shard 1 missing: %v; want a ShardsError naming shard 1", err)
	}
	if live, _ := publish.Live(ctx, rdb, k); live != "" {
		t.Fatalf("live %q after a refused flip", live)
	}
	mustWriteShards(t, rdb, k, m, version, 3, 1)
	if _, err := publish.FlipShards(ctx, rdb, k, version, 2); err == nil || !strings.Contains(err.Error(), "run as 3 shards") {
		t.Fatalf("flip --shards 2 of a 3-shard version: %v", err)
	}
	fl, err := publish.FlipShards(ctx, rdb, k, version, 3)
	if err != nil || fl.AlreadyLive {
		t.Fatalf("flip: %+v, %v", fl, err)
	}
	if got, want := fl.Hashes, res.Hashes; got != want {
		t.Errorf("hashes %d, want %d", got, want)
	}
	if !maps.Equal(fl.Lists, res.Lists) {
		t.Errorf("lists %v, want %v", fl.Lists, res.Lists)
	}
	again, err := publish.FlipShards(ctx, rdb, k, version, 3)
	if err != nil || !again.AlreadyLive {
		t.Fatalf("second flip: %+v, %v; want already live", again, err)
	}
	compareVersions(t, rdb, one, res.Version, k, version)
	if err := publish.VerifyVersion(ctx, rdb, k, version); err != nil {
		t.Error(err)
	}
}

// compareVersions fails unless two versions hold the same keys with the
// same contents, the manifest aside.
func compareVersions(t *testing.T, rdb redis.UniversalClient, ka publish.Keys, va string, kb publish.Keys, vb string) {
	t.Helper()
	a, b := versionContents(t, rdb, ka, va), versionContents(t, rdb, kb, vb)
	if len(a) == 0 {
		t.Fatal("no keys")
	}
	for key, want := range a {
		if got, ok := b[key]; !ok || got != want {
			t.Fatalf("%s: got %q (present %v), want %q", key, got, ok, want)
		}
	}
	if len(a) != len(b) {
		t.Fatalf("%d keys, want %d", len(b), len(a))
	}
}

// versionContents returns every key of a version but the manifest,
// without its prefix, with its members and scores or fields and values.
func versionContents(t *testing.T, rdb redis.UniversalClient, k publish.Keys, version string) map[string]string {
	t.Helper()
	return redistest.Contents(t, rdb, k.VersionPrefix(version))
}

// failingLists fails the shard's write at its 20th list.
type failingLists struct{ publish.ListSource }

func (f failingLists) List(i int, l *publish.List) {
	if i == 20 {
		l.Members = append(l.Members, "x", "x") // a duplicate member: the write's count check fails
		l.Scores = append(l.Scores, 1, 2)
		l.ID = "P000020"
		return
	}
	f.ListSource.List(i, l)
}

// testShardRerun: a shard that fails removes its keys and records
// itself failed; the flip names it; rerunning it alone completes the
// version.
func testShardRerun(t *testing.T, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	m := shardModel(200)
	version := publish.NewVersionID(time.Now())
	mustWriteShards(t, rdb, k, m, version, 2, 0)
	bad := *m
	bad.Families = slices.Clone(m.Families)
	bad.Families[0].Lists = failingLists{m.Families[0].Lists}
	l, err := publish.AcquireShardLock(ctx, rdb, k, version, publish.Shard{Index: 1, Count: 2}, publish.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := &publish.Writer{Client: rdb, Keys: k, Lock: l, NoRestore: true}
	_, err = w.WriteShard(ctx, &bad, version, publish.Shard{Index: 1, Count: 2})
	l.Release(ctx)
	if err == nil || !strings.Contains(err.Error(), "rerun the shard") {
		t.Fatalf("failing shard: %v", err)
	}
	_, err = publish.FlipShards(ctx, rdb, k, version, 2)
	if err == nil || !strings.Contains(err.Error(), "1 (failed)") {
		t.Fatalf("flip after a failed shard: %v", err)
	}
	// A killed attempt: keys of shard 1 are left over, its record says
	// writing and its lock has expired.
	stray := k.List(version, publish.FamilySimilar, "P000004")
	if publish.ShardOf("P000004", 2) != 1 {
		t.Fatal("P000004 is not in shard 1")
	}
	rdb.ZAdd(ctx, stray, redis.Z{Member: "stale", Score: 1})
	mustWriteShards(t, rdb, k, m, version, 2, 1)
	if got := rdb.ZScore(ctx, stray, "stale").Err(); !errors.Is(got, redis.Nil) {
		t.Fatalf("the stale member of an earlier attempt remains: %v", got)
	}
	if _, err := publish.FlipShards(ctx, rdb, k, version, 2); err != nil {
		t.Fatal(err)
	}
	one := publish.Keys{Namespace: k.Namespace + "one"}
	res := mustPublish(t, &publish.Writer{Client: rdb, Keys: one}, m)
	compareVersions(t, rdb, one, res.Version, k, version)
}

// testShardsGC: gc leaves a sharded version alone while a shard holds its
// lock or within the grace period after a shard's last activity, and
// removes it, every key, once past the grace period.
func testShardsGC(t *testing.T, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	m := shardModel(100)
	version := publish.NewVersionID(time.Now().Add(-time.Hour))
	mustWriteShards(t, rdb, k, m, version, 3, 0, 1)
	held, err := publish.AcquireShardLock(ctx, rdb, k, version, publish.Shard{Index: 2, Count: 3}, publish.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := publish.GC(ctx, rdb, k, publish.GCOptions{Grace: time.Millisecond, Now: time.Now().Add(time.Hour)})
	if err != nil || len(gc.Versions) != 0 || len(gc.Orphans) != 0 {
		t.Fatalf("gc while shard 2 holds its lock: %+v, %v; want nothing removed", gc, err)
	}
	if _, err := publish.DeleteVersion(ctx, rdb, k, version); !errors.Is(err, publish.ErrShardActive) {
		t.Fatalf("delete while shard 2 holds its lock: %v, want ErrShardActive", err)
	}
	held.Release(ctx)
	gc, err = publish.GC(ctx, rdb, k, publish.GCOptions{Grace: time.Hour})
	if err != nil || len(gc.Versions) != 0 {
		t.Fatalf("gc within the grace period of the last shard: %+v, %v; want nothing removed", gc, err)
	}
	gc, err = publish.GC(ctx, rdb, k, publish.GCOptions{Grace: time.Minute, Now: time.Now().Add(time.Hour)})
	if err != nil || !slices.Equal(gc.Versions, []string{version}) {
		t.Fatalf("gc past the grace period: %+v, %v; want %s removed", gc, err, version)
	}
	for _, key := range redistest.AllKeys(t, rdb) {
		if strings.Contains(key, version) {
			t.Errorf("key %s of the removed version remains", key)
		}
	}
	if _, err := publish.FlipShards(ctx, rdb, k, version, 3); err == nil || !strings.Contains(err.Error(), "no shard of this version ran") {
		t.Fatalf("flip of a removed version: %v", err)
	}
}

// testShardRefusals: a shard of a complete version, with another shard
// count or other parameters, or under the wrong lock is refused without
// touching the version.
func testShardRefusals(t *testing.T, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	m := shardModel(50)
	version := publish.NewVersionID(time.Now())
	mustWriteShards(t, rdb, k, m, version, 2, 0)
	other := *m
	other.Parameters = map[string]any{"metric": "jaccard"}
	for _, tc := range []struct {
		name string
		m    *publish.Model
		s    publish.Shard
		want string
	}{
		{"count", m, publish.Shard{Index: 1, Count: 3}, "started with 2 shards"},
		{"parameters", &other, publish.Shard{Index: 1, Count: 2}, "parameters or inputs differ"},
	} {
		if _, err := writeShard(ctx, rdb, k, tc.m, version, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	mustWriteShards(t, rdb, k, m, version, 2, 1)
	if _, err := publish.FlipShards(ctx, rdb, k, version, 2); err != nil {
		t.Fatal(err)
	}
	before := versionContents(t, rdb, k, version)
	if _, err := writeShard(ctx, rdb, k, m, version, publish.Shard{Index: 0, Count: 2}); !errors.Is(err, publish.ErrNotWriting) {
		t.Fatalf("shard of a live version: %v, want ErrNotWriting", err)
	}
	if !maps.Equal(before, versionContents(t, rdb, k, version)) {
		t.Fatal("a refused shard changed the live version")
	}
	ns, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Release(ctx)
	w := &publish.Writer{Client: rdb, Keys: k, Lock: ns}
	if _, err := w.WriteShard(ctx, m, version, publish.Shard{Index: 0, Count: 2}); err == nil || !strings.Contains(err.Error(), "shard's lock") {
		t.Fatalf("shard under the namespace's lock: %v", err)
	}
	sl, err := publish.AcquireShardLock(ctx, rdb, k, version, publish.Shard{Index: 1, Count: 2}, publish.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Release(ctx)
	if _, err := sl.Flip(ctx, version, true); err == nil || !strings.Contains(err.Error(), "shard's lock") {
		t.Fatalf("flip under a shard's lock: %v", err)
	}
}
