package publish_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// TestConformance runs the writer's integration assertions against a
// single server and against a three-master Redis Cluster.
func TestConformance(t *testing.T) {
	redistest.Each(t, RunConformance)
}

// RunConformance is the suite: every subtest uses its own namespace on
// tg, so they share the servers. Subtests that change server settings or
// restart a server run last and undo what they change.
func RunConformance(t *testing.T, tg *redistest.Target) {
	rdb := tg.Client(t)
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys)
	}{
		{"PublishFlipRead", testPublishFlipRead},
		{"VersionsAndRollback", testVersionsAndRollback},
		{"GC", testGCRemovesDebris},
		{"Lock", testLockExcludes},
		{"CountsAndSample", testCountsAndSample},
		{"SourceChangedBetweenPasses", testSourceChanged},
		{"Progress", testProgress},
		{"EstimateMatchesServer", testEstimate},
		{"EstimateSampled", testEstimateSampled},
		{"ParallelIdentical", testParallelIdentical},
		{"FlipWrittenCounts", testFlipWrittenCounts},
		{"FencedLock", testFencedLock},
		{"GCUnderLock", testGCUnderLock},
		{"GraceZero", testGraceZero},
		{"Orphans", testOrphans},
		{"DamagedRefused", testDamagedRefused},
		{"ResetMidWrite", testResetMidWrite},
		{"PreflightRefuses", testPreflightRefuses},
		{"OutOfMemoryAborts", testOutOfMemoryAborts},
		{"ServerRestartMidPublish", testServerRestart},
		{"FlipWrittenAfterRestart", testFlipWrittenAfterRestart},
		{"EvictionRefused", testEvictionRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, tg, rdb, publish.Keys{Namespace: strings.ToLower(tc.name)})
		})
	}
}

// listsModel has n items with top-50 lists (fewer when n <= 50) of
// generator-like ids and n users with seven features; scores encode tag
// to tell versions apart. The ids are made once: the writer reads every
// list two or three times, and fmt under -race is slow.
func listsModel(n int, tag float64) *publish.Model {
	items, users, emails, counts := make([]string, n), make([]string, n), make([]string, n), make([]string, 17)
	for i := range n {
		items[i], users[i], emails[i] = fmt.Sprintf("P%06d", i), fmt.Sprintf("U%07d", i), fmt.Sprintf("u%07d@example.com", i)
	}
	for i := range counts {
		counts[i] = strconv.Itoa(i)
	}
	return &publish.Model{
		Families: []publish.Family{{
			Name: publish.FamilySimilar,
			Lists: publish.FuncLists{N: n, Fn: func(i int, l *publish.List) {
				l.ID = items[i]
				for k := 1; k <= min(50, n-1); k++ {
					l.Members = append(l.Members, items[(i+k)%n])
					l.Scores = append(l.Scores, tag+1/float64(k+1))
				}
			}},
		}},
		Users: publish.FuncHashes{N: n, Fn: func(i int, h *publish.Hash) {
			h.ID = users[i]
			h.Fields = append(h.Fields, "email", "membership_status", "income_bracket",
				"recent_five_purchases.purchase_1", "event_count.product_viewed", "event_count.order_completed", "last_seen")
			h.Values = append(h.Values, emails[i], "gold", "25k-50k", items[i], counts[i%17], counts[i%3], "2026-11-24T09:29:49Z")
		}},
		Parameters: map[string]any{"metric": "cosine"},
	}
}

func mustPublish(t *testing.T, w *publish.Writer, m *publish.Model) *publish.Result {
	t.Helper()
	r, err := w.Publish(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// versionKeys counts the keys of a version on every master.
func versionKeys(t *testing.T, tg *redistest.Target, k publish.Keys, version string) int {
	t.Helper()
	n := 0
	for _, s := range tg.Servers {
		keys, err := s.Client(t).Keys(context.Background(), k.VersionPrefix(version)+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		n += len(keys)
	}
	return n
}

func testPublishFlipRead(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	for _, noRestore := range []bool{false, true} {
		w := &publish.Writer{Client: rdb, Keys: k, NoRestore: noRestore, PipelineBytes: 4096}
		r := mustPublish(t, w, listsModel(300, float64(len(tg.Name))))
		if got, want := r.Restore, !noRestore; got != want {
			t.Errorf("Restore=%v, want %v", got, want)
		}
		if got, want := r.Lists[publish.FamilySimilar], int64(300); got != want {
			t.Errorf("lists written=%d, want %d", got, want)
		}
		c := publish.NewClient(rdb, publish.ClientOptions{Namespace: k.Namespace, TTL: time.Nanosecond})
		got, v, err := c.Neighbors(ctx, "P000007", 3)
		if err != nil || v != r.Version || len(got) != 3 || got[0].Item != "P000008" {
			t.Fatalf("Neighbors(P000007)=%v version %s err %v, want P000008 first from %s", got, v, err, r.Version)
		}
		u, _, err := c.User(ctx, "U0000003")
		if err != nil || u["email"] != "u0000003@example.com" || len(u) != 7 {
			t.Fatalf("User(U0000003)=%v err %v", u, err)
		}
		if got, want := versionKeys(t, tg, k, r.Version), 601; got != want {
			t.Errorf("version has %d keys, want %d (300 lists, 300 hashes, manifest)", got, want)
		}
	}
}

func testVersionsAndRollback(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	w := &publish.Writer{Client: rdb, Keys: k}
	r1 := mustPublish(t, w, listsModel(50, 1))
	r2 := mustPublish(t, w, listsModel(50, 2))
	if r2.Previous != r1.Version || r2.Version <= r1.Version {
		t.Fatalf("second version %s (previous %s), first %s", r2.Version, r2.Previous, r1.Version)
	}
	vs, err := publish.Versions(ctx, rdb, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Live || !vs[1].Live || vs[1].Status != publish.StatusComplete ||
		vs[1].Lists[publish.FamilySimilar] != 50 || vs[1].Hashes != 50 || vs[1].Bytes != r2.EstimatedBytes || vs[1].Bytes == 0 {
		t.Fatalf("Versions=%+v", vs)
	}
	if _, err := publish.Flip(ctx, rdb, k, r1.Version, false); !errors.Is(err, publish.ErrOlder) {
		t.Errorf("Flip to older err=%v, want ErrOlder", err)
	}
	if prev, err := publish.Flip(ctx, rdb, k, r1.Version, true); err != nil || prev != r2.Version {
		t.Errorf("rollback: prev %s err %v", prev, err)
	}
	if live, _ := publish.Live(ctx, rdb, k); live != r1.Version {
		t.Errorf("live after rollback %s, want %s", live, r1.Version)
	}
	if _, err := publish.Flip(ctx, rdb, k, "20990101T000000Z-0000", true); !errors.Is(err, publish.ErrNotComplete) {
		t.Errorf("Flip to unknown err=%v, want ErrNotComplete", err)
	}
}

func testGCRemovesDebris(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	var versions []string
	for i := range 4 {
		now := start.Add(time.Duration(i) * time.Hour)
		w := &publish.Writer{Client: rdb, Keys: k, Now: func() time.Time { return now }}
		versions = append(versions, mustPublish(t, w, listsModel(40, float64(i))).Version)
	}
	// Debris of a crashed run: registered as writing, keys on every slot.
	dead := "20261101T010000Z-dead"
	rdb.ZAdd(ctx, k.Versions(), redis.Z{Score: float64(start.Add(-time.Hour).UnixMilli()), Member: dead})
	rdb.HSet(ctx, k.Status(), dead, publish.StatusWriting)
	for i := range 200 {
		rdb.Set(ctx, k.List(dead, publish.FamilySimilar, strconv.Itoa(i)), "debris", 0)
	}
	removed, err := publish.GC(ctx, rdb, k, publish.GCOptions{Keep: 1, Grace: publish.DefaultGrace, Now: start.Add(10 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(removed.Versions, ","), versions[1]+","+versions[0]+","+dead; got != want {
		t.Errorf("removed %s, want %s", got, want)
	}
	for _, v := range append(versions[:2:2], dead) {
		if n := versionKeys(t, tg, k, v); n != 0 {
			t.Errorf("version %s still has %d keys", v, n)
		}
	}
	if n := versionKeys(t, tg, k, versions[3]); n != 81 {
		t.Errorf("live version has %d keys, want 81", n)
	}
	if _, err := publish.DeleteVersion(ctx, rdb, k, versions[3]); !errors.Is(err, publish.ErrLive) {
		t.Errorf("DeleteVersion(live) err=%v, want ErrLive", err)
	}
}

func testLockExcludes(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	l, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{TTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // renewed past its TTL
	if _, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{TTL: time.Second}); !errors.Is(err, publish.ErrLocked) {
		t.Fatalf("second AcquireLock err=%v, want ErrLocked", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l2, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{TTL: time.Second})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release(ctx)
}

// testCountsAndSample: empty lists and hashes are not written nor
// expected, and at least 1,000 keys are read back.
func testCountsAndSample(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	m := listsModel(1500, 3)
	lists, users := m.Families[0].Lists, m.Users
	m.Families[0].Lists = publish.FuncLists{N: 1500, Fn: func(i int, l *publish.List) {
		if i%3 != 0 {
			lists.List(i, l)
		}
	}}
	m.Users = publish.FuncHashes{N: 1500, Fn: func(i int, h *publish.Hash) {
		if i%5 != 0 {
			users.Hash(i, h)
		}
	}}
	r := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, m)
	if got, want := r.Lists[publish.FamilySimilar], int64(1000); got != want {
		t.Errorf("lists written=%d, want %d", got, want)
	}
	if got, want := r.Hashes, int64(1200); got != want {
		t.Errorf("hashes written=%d, want %d", got, want)
	}
	if r.Verified < 1000 {
		t.Errorf("verified %d keys, want at least 1000", r.Verified)
	}
	if got, want := versionKeys(t, tg, k, r.Version), 2201; got != want {
		t.Errorf("version has %d keys, want %d", got, want)
	}
}

// testSourceChanged: a list source that yields more lists when written
// than when planned fails the count check, and nothing of it remains.
func testSourceChanged(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	m := listsModel(200, 1)
	base := m.Families[0].Lists
	var calls sync.Map
	m.Families[0].Lists = publish.FuncLists{N: 200, Fn: func(i int, l *publish.List) {
		if _, seen := calls.LoadOrStore(i, true); seen || i%2 == 0 {
			base.List(i, l) // odd lists are empty the first time
		}
	}}
	w := &publish.Writer{Client: rdb, Keys: k}
	_, err := w.Write(ctx, m)
	if err == nil || !strings.Contains(err.Error(), "wrote 200, want 100") || !strings.Contains(err.Error(), "removed the partial version") {
		t.Fatalf("err=%v, want a count mismatch and removal", err)
	}
	vs, _ := publish.Versions(ctx, rdb, k)
	if len(vs) != 0 {
		t.Errorf("versions after failed write: %+v", vs)
	}
	for _, s := range tg.Servers {
		if keys := s.Client(t).Keys(ctx, k.Namespace+":*").Val(); len(keys) != 0 {
			t.Errorf("%s keeps %d keys of the failed version", s.Addr, len(keys))
		}
	}
}

func testProgress(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	var mu sync.Mutex
	var got []publish.Progress
	w := &publish.Writer{Client: rdb, Keys: k, PipelineBytes: 1, Conns: 1, ProgressEvery: 5 * time.Millisecond,
		Progress: func(p publish.Progress) {
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
		}}
	mustPublish(t, w, listsModel(1000, 1))
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 2 {
		t.Fatalf("%d progress reports, want several", len(got))
	}
	if last := got[len(got)-1]; last.Stage != publish.StageVerify || last.StageDone != last.StageTotal || last.StageTotal == 0 {
		t.Errorf("last progress %+v, want the verify stage done", last)
	}
	var stages []string
	var lastWrite publish.Progress
	for i, p := range got {
		if i > 0 && p.Done < got[i-1].Done {
			t.Fatalf("progress went back: %+v then %+v", got[i-1], p)
		}
		if i == 0 || p.Stage != got[i-1].Stage {
			// Each stage is announced as it starts, before any key of it.
			if p.StageDone != 0 {
				t.Errorf("stage %s first reported at %d of %d, want 0", p.Stage, p.StageDone, p.StageTotal)
			}
			stages = append(stages, p.Stage)
		}
		if p.Stage != publish.StageVerify {
			lastWrite = p
		}
	}
	if got, want := strings.Join(stages, " "), "lists hashes verify"; got != want {
		t.Errorf("stages %q, want %q", got, want)
	}
	if lastWrite.Done != 2000 || lastWrite.Total != 2000 || lastWrite.Family != publish.FamilyUser ||
		lastWrite.StageDone != 1000 || lastWrite.StageTotal != 1000 {
		t.Errorf("last write progress %+v, want 2000 of 2000, 1000 of 1000 hashes in %s", lastWrite, publish.FamilyUser)
	}
}

// usedMemory sums used_memory over the masters.
func usedMemory(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	mems, err := publish.MemoryInfo(context.Background(), rdb)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, m := range mems {
		n += m.Used
	}
	return n
}

// testEstimate: the preflight estimate is within 20% of what the
// servers report.
func testEstimate(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	for _, noRestore := range []bool{false, true} {
		before := usedMemory(t, rdb)
		r := mustPublish(t, &publish.Writer{Client: rdb, Keys: k, NoRestore: noRestore}, listsModel(5000, 1))
		grew := usedMemory(t, rdb) - before
		ratio := float64(r.EstimatedBytes) / float64(grew)
		t.Logf("NoRestore=%v: estimate %d bytes, used_memory grew %d: ratio %.2f", noRestore, r.EstimatedBytes, grew, ratio)
		if ratio < 0.8 || ratio > 1.2 {
			t.Errorf("NoRestore=%v: estimate %d bytes, used_memory grew %d: ratio %.2f, want 0.8..1.2", noRestore, r.EstimatedBytes, grew, ratio)
		}
	}
}

// limitMemory sets every master's maxmemory to its used_memory plus room
// and restores "no limit" at cleanup.
func limitMemory(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, room int64) {
	t.Helper()
	mems, err := publish.MemoryInfo(context.Background(), rdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Do(t, "CONFIG", "SET", "maxmemory", "0") })
	for _, m := range mems {
		for _, s := range tg.Servers {
			if s.Addr == m.Addr {
				s.Client(t).ConfigSet(context.Background(), "maxmemory", strconv.FormatInt(m.Used+room, 10))
			}
		}
	}
}

func testPreflightRefuses(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	limitMemory(t, tg, rdb, 1<<20)
	_, err := (&publish.Writer{Client: rdb, Keys: k}).Write(ctx, listsModel(5000, 1))
	var me *publish.MemoryError
	if !errors.Is(err, publish.ErrNoRoom) || !errors.As(err, &me) {
		t.Fatalf("err=%v, want ErrNoRoom", err)
	}
	if me.Need <= me.Max-me.Used {
		t.Errorf("refused %+v although it fits", me)
	}
	for _, want := range []string{"maxmemory", "used_memory", strconv.FormatInt(me.Need, 10), strconv.FormatInt(me.Max, 10), "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if n := rdb.ZCard(ctx, k.Versions()).Val(); n != 0 {
		t.Errorf("a refused version was registered")
	}
}

func testOutOfMemoryAborts(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(100, 1))
	limitMemory(t, tg, rdb, 1<<20)
	w := &publish.Writer{Client: rdb, Keys: k, Force: true}
	_, err := w.Publish(ctx, listsModel(8000, 2))
	if !errors.Is(err, publish.ErrOutOfMemory) || !strings.Contains(err.Error(), "removed the partial version") {
		t.Fatalf("err=%v, want ErrOutOfMemory and removal", err)
	}
	t.Log(err)
	if got, _ := publish.Live(ctx, rdb, k); got != live.Version {
		t.Errorf("live=%s, want %s", got, live.Version)
	}
	vs, _ := publish.Versions(ctx, rdb, k)
	if len(vs) != 1 {
		t.Errorf("versions after abort: %+v", vs)
	}
	var n int
	for _, s := range tg.Servers {
		n += len(s.Client(t).Keys(ctx, k.Namespace+":*").Val())
	}
	if n != 201 {
		t.Errorf("%d keys in the namespace, want the live version's 201", n)
	}
}

// testServerRestart restarts a server (the one holding the control keys'
// slot has them back from its SAVE) while a version is written: the
// publish fails and the live version stays.
func testServerRestart(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(100, 1))
	tg.Do(t, "SAVE")
	victim := len(tg.Servers) - 1
	var once sync.Once
	w := &publish.Writer{Client: rdb, Keys: k, Conns: 1, PipelineBytes: 64 << 10, ProgressEvery: 20 * time.Millisecond,
		Progress: func(p publish.Progress) {
			if p.Done > 0 && p.Done < p.Total {
				once.Do(func() { tg.Restart(t, victim) })
			}
		}}
	_, err := w.Publish(ctx, listsModel(10000, 2))
	if err == nil {
		t.Fatal("publish succeeded across a server restart")
	}
	t.Log(err)
	if got, _ := publish.Live(ctx, rdb, k); got != live.Version {
		t.Errorf("live=%s, want %s", got, live.Version)
	}
	c := publish.NewClient(rdb, publish.ClientOptions{Namespace: k.Namespace})
	for i := range 100 {
		if _, v, err := c.Neighbors(ctx, fmt.Sprintf("P%06d", i), 5); err != nil || v != live.Version {
			t.Fatalf("after restart: Neighbors(P%06d) from %s err %v", i, v, err)
		}
	}
	if _, err := publish.GC(ctx, rdb, k, publish.GCOptions{Grace: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	vs, _ := publish.Versions(ctx, rdb, k)
	if len(vs) != 1 || !vs[0].Live {
		t.Errorf("versions after gc: %+v", vs)
	}
}
