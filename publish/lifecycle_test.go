package publish_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// The lifecycle subtests of RunConformance: fencing, gc under the lock,
// orphans, grace, eviction, damaged versions and resent pipelines.

// testFencedLock: a process whose lock expired while it stalled and was
// taken by another can neither register, complete, flip, delete nor
// collect: the server refuses, although its own renewal has not noticed.
func testFencedLock(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(50, 1))
	stale, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{TTL: time.Hour, Owner: "stalled run"})
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Release(ctx)
	written, err := (&publish.Writer{Client: rdb, Keys: k, Lock: stale}).Write(ctx, listsModel(50, 2))
	if err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, k.Lock()) // expired while the process stalled
	other, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{Owner: "next run"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release(ctx)

	if _, err := stale.Flip(ctx, written.Version, false); !errors.Is(err, publish.ErrLockLost) || !strings.Contains(err.Error(), "next run") {
		t.Errorf("Flip with a lost lock: err=%v, want ErrLockLost naming the holder", err)
	}
	if _, err := stale.DeleteVersion(ctx, live.Version); !errors.Is(err, publish.ErrLockLost) {
		t.Errorf("DeleteVersion with a lost lock: err=%v, want ErrLockLost", err)
	}
	if _, err := stale.GC(ctx, publish.GCOptions{}); !errors.Is(err, publish.ErrLockLost) {
		t.Errorf("GC with a lost lock: err=%v, want ErrLockLost", err)
	}
	_, err = (&publish.Writer{Client: rdb, Keys: k, Lock: stale}).Write(ctx, listsModel(50, 3))
	if !errors.Is(err, publish.ErrLockLost) {
		t.Errorf("Write with a lost lock: err=%v, want ErrLockLost", err)
	}
	if stale.Err() != nil {
		t.Errorf("renewal noticed already (%v): the test must show the server's refusal", stale.Err())
	}
	if got, _ := publish.Live(ctx, rdb, k); got != live.Version {
		t.Errorf("live %s, want %s", got, live.Version)
	}
	if n := versionKeys(t, tg, k, live.Version); n != 101 {
		t.Errorf("live version has %d keys, want 101", n)
	}
	// The holder can.
	if _, err := other.Flip(ctx, written.Version, false); err != nil {
		t.Errorf("Flip by the holder: %v", err)
	}
}

// testGCUnderLock: GC, DeleteVersion and Flip wait for no one: while a
// run holds the lock they fail with ErrLocked naming it and its start.
func testGCUnderLock(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	r := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(20, 1))
	l, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{Owner: "recopub run (pid 7)"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	since := time.Now().UTC().Format("2006-01-02T15:04")
	for name, err := range map[string]error{
		"GC":            lockErr(publish.GC(ctx, rdb, k, publish.GCOptions{})),
		"DeleteVersion": lockErr(publish.DeleteVersion(ctx, rdb, k, r.Version)),
		"Flip":          lockErr(publish.Flip(ctx, rdb, k, r.Version, true)),
	} {
		if !errors.Is(err, publish.ErrLocked) || !strings.Contains(err.Error(), "recopub run (pid 7) since "+since) {
			t.Errorf("%s while locked: err=%v, want ErrLocked naming the holder and since when", name, err)
		}
	}
}

func lockErr[T any](_ T, err error) error { return err }

// testGraceZero: Grace 0 removes unfinished versions at once.
func testGraceZero(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(20, 1))
	dead := debris(t, rdb, k, time.Now(), true)
	// Complete but never live: its run died before the flip.
	unflipped, err := (&publish.Writer{Client: rdb, Keys: k}).Write(ctx, listsModel(20, 2))
	if err != nil {
		t.Fatal(err)
	}
	res, err := publish.GC(ctx, rdb, k, publish.GCOptions{Grace: publish.DefaultGrace})
	if err != nil || len(res.Versions) != 0 {
		t.Fatalf("GC with the default grace removed %v (err %v), want nothing", res.Versions, err)
	}
	res, err = publish.GC(ctx, rdb, k, publish.GCOptions{})
	if want := unflipped.Version + "," + dead; err != nil || strings.Join(res.Versions, ",") != want {
		t.Fatalf("GC with grace 0 removed %v (err %v), want %s", res.Versions, err, want)
	}
	// A version rolled back from was live: it stays for a flip.
	newer := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(20, 3))
	if _, err := publish.Flip(ctx, rdb, k, live.Version, true); err != nil {
		t.Fatal(err)
	}
	if res, err = publish.GC(ctx, rdb, k, publish.GCOptions{}); err != nil || len(res.Versions) != 0 {
		t.Fatalf("GC removed %v (err %v); want %s, rolled back from, kept", res.Versions, err, newer.Version)
	}
	if n := versionKeys(t, tg, k, dead); n != 0 {
		t.Errorf("%d keys of %s remain", n, dead)
	}
	if n := versionKeys(t, tg, k, live.Version); n != 41 {
		t.Errorf("live version has %d keys, want 41", n)
	}
}

// debris writes 200 keys of a version made at t, on every slot, listed as
// writing when listed is true, and returns its id.
func debris(t *testing.T, rdb redis.UniversalClient, k publish.Keys, at time.Time, listed bool) string {
	t.Helper()
	ctx := context.Background()
	id := publish.NewVersionID(at)
	if listed {
		rdb.ZAdd(ctx, k.Versions(), redis.Z{Score: float64(at.UnixMilli()), Member: id})
		rdb.HSet(ctx, k.Status(), id, publish.StatusWriting)
	}
	for i := range 200 {
		if err := rdb.Set(ctx, k.List(id, publish.FamilySimilar, strconv.Itoa(i)), "debris", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// testOrphans: keys of versions {ns}:versions does not list, as a run
// killed after gc dropped its entry leaves them, go once older than the
// grace period; younger ones and the live version stay.
func testOrphans(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(20, 1))
	old := debris(t, rdb, k, time.Now().Add(-time.Hour), false)
	young := debris(t, rdb, k, time.Now(), false)
	res, err := publish.GC(ctx, rdb, k, publish.GCOptions{Grace: publish.DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Orphans, ","); got != old || res.Keys != 200 {
		t.Errorf("orphans removed %s (%d keys), want %s (200 keys)", got, res.Keys, old)
	}
	if n := versionKeys(t, tg, k, young); n != 200 {
		t.Errorf("young orphan has %d keys, want 200 (within grace)", n)
	}
	if res, err = publish.GC(ctx, rdb, k, publish.GCOptions{}); err != nil || strings.Join(res.Orphans, ",") != young {
		t.Errorf("GC with grace 0: orphans %v err %v, want %s", res.Orphans, err, young)
	}
	for _, s := range tg.Servers {
		for _, key := range s.Client(t).Keys(ctx, k.Namespace+":*").Val() {
			if !strings.HasPrefix(key, k.VersionPrefix(live.Version)) {
				t.Errorf("%s remains", key)
			}
		}
	}
}

// testEvictionRefused: an allkeys-* maxmemory-policy is refused before
// anything is written, --force or not.
func testEvictionRefused(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	t.Cleanup(func() { tg.Do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction") })
	tg.Do(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	_, err := (&publish.Writer{Client: rdb, Keys: k, Force: true}).Write(ctx, listsModel(20, 1))
	var ee *publish.EvictionError
	if !errors.Is(err, publish.ErrEvictionPolicy) || !errors.As(err, &ee) || ee.Policy != "allkeys-lru" {
		t.Fatalf("err=%v, want ErrEvictionPolicy naming allkeys-lru", err)
	}
	for _, want := range []string{"allkeys-lru", "noeviction", "--force does not"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if n := rdb.ZCard(ctx, k.Versions()).Val(); n != 0 {
		t.Errorf("a refused version was registered")
	}
	tg.Do(t, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
	if _, err := (&publish.Writer{Client: rdb, Keys: k}).Publish(ctx, listsModel(20, 1)); err != nil {
		t.Errorf("volatile-lru (recopub's keys have no TTL): %v", err)
	}
}

// testDamagedRefused: a version that lost keys (as to eviction) is not
// flipped to, by a rollback or otherwise; the error names the family and
// the counts.
func testDamagedRefused(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	old := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(300, 1))
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(300, 2))
	for i := range 7 {
		rdb.Del(ctx, k.List(old.Version, publish.FamilySimilar, itemID(i*40)))
	}
	_, err := publish.Flip(ctx, rdb, k, old.Version, true)
	var de *publish.DamageError
	if !errors.Is(err, publish.ErrDamaged) || !errors.As(err, &de) || !strings.Contains(err.Error(), "sim has 293 of 300 keys") {
		t.Fatalf("rollback to a damaged version: err=%v, want ErrDamaged with 'sim has 293 of 300 keys'", err)
	}
	rdb.Del(ctx, k.Manifest(old.Version))
	if _, err := publish.Flip(ctx, rdb, k, old.Version, true); !strings.Contains(fmtErr(err), "manifest has 0 of 1 keys") {
		t.Errorf("rollback to a version without manifest: err=%v", err)
	}
	if got, _ := publish.Live(ctx, rdb, k); got != live.Version {
		t.Errorf("live %s, want %s", got, live.Version)
	}
	if err := publish.VerifyVersion(ctx, rdb, k, live.Version); err != nil {
		t.Errorf("VerifyVersion(live): %v", err)
	}
}

func itemID(i int) string { return "P" + strconv.Itoa(1000000 + i)[1:] }

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
