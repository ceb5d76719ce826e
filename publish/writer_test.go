package publish_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// testModel has items i0..i(n-1); item i's neighbours are the next three
// items with scores that encode tag, so tests can tell versions apart.
func testModel(n int, tag float64) *publish.Model {
	return &publish.Model{
		Families: []publish.Family{{
			Name: publish.FamilySimilar,
			Lists: publish.FuncLists{N: n, Fn: func(i int, l *publish.List) {
				l.ID = fmt.Sprintf("i%d", i)
				for k := 1; k <= 3; k++ {
					l.Members = append(l.Members, fmt.Sprintf("i%d", (i+k)%n))
					l.Scores = append(l.Scores, tag+1/float64(k))
				}
			}},
		}},
		Users: publish.FuncHashes{N: n, Fn: func(i int, h *publish.Hash) {
			h.ID = fmt.Sprintf("u%d", i)
			h.Fields = append(h.Fields, "membership_status", "recent_five_purchases.purchase_1")
			h.Values = append(h.Values, "gold", fmt.Sprintf("i%d", i))
		}},
		Parameters: map[string]any{"metric": "cosine"},
	}
}

func TestPublishFlipRead(t *testing.T) {
	for _, noRestore := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoRestore=%v", noRestore), func(t *testing.T) {
			s := redistest.Start(t)
			rdb := s.Client(t)
			ctx := context.Background()
			w := &publish.Writer{Client: rdb, NoRestore: noRestore, PipelineBytes: 512}
			r1, err := w.Publish(ctx, testModel(500, 10))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r1.Lists[publish.FamilySimilar], int64(500); got != want {
				t.Errorf("lists written=%d, want %d", got, want)
			}
			if got, want := r1.Restore, !noRestore; got != want {
				t.Errorf("Restore=%v, want %v", got, want)
			}
			c := publish.NewClient(rdb, publish.ClientOptions{TTL: time.Nanosecond})
			got, v, err := c.Neighbors(ctx, "i7", 10)
			if err != nil {
				t.Fatal(err)
			}
			if v != r1.Version {
				t.Errorf("read version %s, want %s", v, r1.Version)
			}
			if len(got) != 3 || got[0].Item != "i8" || got[0].Score != 11 || got[2].Item != "i10" {
				t.Errorf("Neighbors(i7)=%v", got)
			}
			u, _, err := c.User(ctx, "u3")
			if err != nil {
				t.Fatal(err)
			}
			if u["membership_status"] != "gold" || u["recent_five_purchases.purchase_1"] != "i3" {
				t.Errorf("User(u3)=%v", u)
			}
			if _, _, err := c.Neighbors(ctx, "nope", 10); !errors.Is(err, publish.ErrNotFound) {
				t.Errorf("Neighbors(nope) err=%v, want ErrNotFound", err)
			}

			time.Sleep(1100 * time.Millisecond) // version ids have second resolution
			r2, err := w.Publish(ctx, testModel(500, 20))
			if err != nil {
				t.Fatal(err)
			}
			if r2.Previous != r1.Version {
				t.Errorf("Previous=%s, want %s", r2.Previous, r1.Version)
			}
			got, v, err = c.Neighbors(ctx, "i7", 10)
			if err != nil || v != r2.Version || got[0].Score != 21 {
				t.Errorf("after flip: Neighbors(i7)=%v version %s err %v, want score 21 from %s", got, v, err, r2.Version)
			}
			// The old version stays until GC.
			if n := rdb.Exists(ctx, "reco:"+r1.Version+":sim:i7").Val(); n != 1 {
				t.Errorf("old version key gone before gc")
			}
			// Flipping back needs a rollback.
			if _, err := publish.Flip(ctx, rdb, publish.Keys{}, r1.Version, false); !errors.Is(err, publish.ErrOlder) {
				t.Errorf("Flip to older err=%v, want ErrOlder", err)
			}
			if _, err := publish.Flip(ctx, rdb, publish.Keys{}, r1.Version, true); err != nil {
				t.Errorf("rollback: %v", err)
			}
			if _, err := publish.Flip(ctx, rdb, publish.Keys{}, "20990101T000000Z-0000", false); !errors.Is(err, publish.ErrNotComplete) {
				t.Errorf("Flip to unknown err=%v, want ErrNotComplete", err)
			}
		})
	}
}

func TestPublishRefusedConnection(t *testing.T) {
	port := redistest.FreePort(t)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer rdb.Close()
	w := &publish.Writer{Client: rdb}
	_, err := w.Publish(context.Background(), testModel(10, 1))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err=%v, want connection refused", err)
	}
}

func TestGC(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	var versions []string
	for i := range 5 {
		now := start.Add(time.Duration(i) * time.Hour)
		w := &publish.Writer{Client: rdb, Now: func() time.Time { return now }}
		r, err := w.Publish(ctx, testModel(20, float64(i)))
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, r.Version)
	}
	// A stale unfinished version, as a crashed run leaves it.
	rdb.ZAdd(ctx, "{reco}:versions", redis.Z{Score: float64(start.Add(-time.Hour).UnixMilli()), Member: "20261101T010000Z-dead"})
	rdb.HSet(ctx, "{reco}:status", "20261101T010000Z-dead", publish.StatusWriting)
	rdb.Set(ctx, "reco:20261101T010000Z-dead:sim:x", "debris", 0)

	removed, err := publish.GC(ctx, rdb, publish.Keys{}, publish.GCOptions{Keep: 2, Grace: publish.DefaultGrace, Now: start.Add(10 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(removed.Versions, ","), versions[1]+","+versions[0]+",20261101T010000Z-dead"; got != want {
		t.Errorf("removed %s, want %s", got, want)
	}
	vs, _ := publish.Versions(ctx, rdb, publish.Keys{})
	if len(vs) != 3 || !vs[2].Live {
		t.Errorf("after gc: %+v", vs)
	}
	for _, v := range versions[:2] {
		if n, _ := rdb.Keys(ctx, "reco:"+v+":*").Result(); len(n) != 0 {
			t.Errorf("version %s still has %d keys", v, len(n))
		}
	}
	if _, err := publish.DeleteVersion(ctx, rdb, publish.Keys{}, versions[4]); !errors.Is(err, publish.ErrLive) {
		t.Errorf("DeleteVersion(live) err=%v, want ErrLive", err)
	}
}

func TestLock(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	l, err := publish.AcquireLock(ctx, rdb, publish.Keys{}, publish.LockOptions{TTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.AcquireLock(ctx, rdb, publish.Keys{}, publish.LockOptions{TTL: time.Second}); !errors.Is(err, publish.ErrLocked) {
		t.Fatalf("second AcquireLock err=%v, want ErrLocked", err)
	}
	time.Sleep(time.Second) // renewed past its TTL
	if _, err := publish.AcquireLock(ctx, rdb, publish.Keys{}, publish.LockOptions{TTL: time.Second}); !errors.Is(err, publish.ErrLocked) {
		t.Fatalf("lock not renewed: err=%v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l2, err := publish.AcquireLock(ctx, rdb, publish.Keys{}, publish.LockOptions{TTL: time.Second})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release(ctx)
}

// A server that refuses INFO (an ACL without it, an embedded server)
// still takes the version; the checks INFO would have made are named in
// one warning, not one line each.
func TestPublishWithoutInfo(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	admin := s.Client(t)
	if err := admin.Do(ctx, "ACL", "SETUSER", "noinfo", "on", ">pw", "~*", "&*", "+@all", "-info").Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, Username: "noinfo", Password: "pw"})
	t.Cleanup(func() { rdb.Close() })
	var logs strings.Builder
	w := &publish.Writer{Client: rdb, NoRestore: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if _, err := w.Publish(ctx, testModel(50, 1)); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(logs.String(), "INFO refused"), 1; got != want {
		t.Fatalf("%d lines say INFO refused, want %d:\n%s", got, want, logs.String())
	}
	for _, check := range []string{"server restart", "maxmemory-policy", "memory preflight"} {
		if !strings.Contains(logs.String(), check) {
			t.Errorf("the warning does not name %q:\n%s", check, logs.String())
		}
	}
}
