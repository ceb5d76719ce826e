package publish_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// bigListsModel is listsModel(n) plus a family whose lists are too long
// for a listpack (200 members), so the writer mixes RESTORE with ZADD.
func bigListsModel(n int, tag float64) *publish.Model {
	m := listsModel(n, tag)
	m.Families = append(m.Families, publish.Family{Name: "big", Lists: publish.FuncLists{N: 20, Fn: func(i int, l *publish.List) {
		l.ID = fmt.Sprintf("B%03d", i)
		for k := range 200 {
			l.Members = append(l.Members, fmt.Sprintf("P%06d", (i+k)%n))
			l.Scores = append(l.Scores, tag+1/float64(k+2))
		}
	}}})
	return m
}

// testParallelIdentical: a version written by many encoders and
// pipelines per master holds, key for key, the bytes a single encoder
// and pipeline write.
func testParallelIdentical(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	m := bigListsModel(3000, 1)
	serial := mustPublish(t, &publish.Writer{Client: rdb, Keys: publish.Keys{Namespace: k.Namespace + "-serial"},
		Encoders: 1, Conns: 1}, m)
	parallel := mustPublish(t, &publish.Writer{Client: rdb, Keys: k, Encoders: 4, Conns: 3, PipelineBytes: 8 << 10}, m)
	if got, want := parallel.Lists["big"], int64(20); got != want {
		t.Fatalf("big lists written %d, want %d", got, want)
	}
	sk := publish.Keys{Namespace: k.Namespace + "-serial"}
	n := 0
	for _, s := range tg.Servers {
		keys, err := s.Client(t).Keys(ctx, sk.VersionPattern(serial.Version)).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range keys {
			rest := strings.TrimPrefix(key, sk.VersionPrefix(serial.Version))
			if rest == "manifest" {
				continue
			}
			other := k.VersionPrefix(parallel.Version) + rest
			a, errA := rdb.Dump(ctx, key).Result()
			b, errB := rdb.Dump(ctx, other).Result()
			if errA != nil || errB != nil || !bytes.Equal([]byte(a), []byte(b)) {
				t.Fatalf("%s and %s differ (%v, %v)", key, other, errA, errB)
			}
			n++
		}
	}
	if want := 3000 + 3000 + 20; n != want {
		t.Errorf("compared %d keys, want %d", n, want)
	}
}

// testFlipWrittenCounts: a version that loses keys between its write and
// its flip is not flipped, whether the loss shows in what the writer saw
// (a sampled key gone, a server restarted) or only in a count
// (CountBeforeFlip).
func testFlipWrittenCounts(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(100, 1))
	flipAfter := func(w *publish.Writer, m *publish.Model, damage func(res *publish.Result)) error {
		t.Helper()
		l, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release(ctx)
		w.Lock = l
		res, err := w.Write(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		damage(res)
		_, err = l.FlipWritten(ctx, res)
		return err
	}
	// Every key is in the sample of a small version: one deleted key
	// sends the flip to the count.
	err := flipAfter(&publish.Writer{Client: rdb, Keys: k}, listsModel(300, 2), func(res *publish.Result) {
		rdb.Del(ctx, k.List(res.Version, publish.FamilySimilar, itemID(42)))
	})
	if !errors.Is(err, publish.ErrDamaged) || !strings.Contains(err.Error(), "sim has 299 of 300 keys") {
		t.Fatalf("FlipWritten after a deleted key: err=%v, want ErrDamaged, sim has 299 of 300 keys", err)
	}
	// A key outside a small sample, counted because the writer says so.
	err = flipAfter(&publish.Writer{Client: rdb, Keys: k, SampleSize: 3, CountBeforeFlip: true}, listsModel(300, 3), func(res *publish.Result) {
		rdb.Del(ctx, k.User(res.Version, "U0000299"))
	})
	if !errors.Is(err, publish.ErrDamaged) || !strings.Contains(err.Error(), "user has 299 of 300 keys") {
		t.Fatalf("FlipWritten with CountBeforeFlip: err=%v, want ErrDamaged, user has 299 of 300 keys", err)
	}
	if got, _ := publish.Live(ctx, rdb, k); got != live.Version {
		t.Errorf("live %s, want %s", got, live.Version)
	}
	// Undamaged, it flips.
	if err := flipAfter(&publish.Writer{Client: rdb, Keys: k, SampleSize: 3}, listsModel(300, 4), func(*publish.Result) {}); err != nil {
		t.Fatalf("FlipWritten of an intact version: %v", err)
	}
}

// testFlipWrittenAfterRestart: a master restarted (from a snapshot taken
// before the write) between the write and the flip lost its share of the
// version, most of it outside the writer's small sample; the changed
// run_id sends the flip to the count, which refuses it.
func testFlipWrittenAfterRestart(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	live := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(100, 1))
	tg.Do(t, "SAVE")
	l, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	res, err := (&publish.Writer{Client: rdb, Keys: k, Lock: l, SampleSize: 1}).Write(ctx, listsModel(3000, 2))
	if err != nil {
		t.Fatal(err)
	}
	victim := len(tg.Servers) - 1
	tg.Restart(t, victim)
	_, err = l.FlipWritten(ctx, res)
	if err == nil {
		t.Fatal("flipped a version a restarted server lost keys of")
	}
	t.Log(err)
	if got, _ := publish.Live(ctx, rdb, k); got != live.Version {
		t.Errorf("live %s, want %s", got, live.Version)
	}
}

// testEstimateSampled: the estimate of a model larger than
// publish.PlanSample, built from a sample, is within the same bounds of
// what the servers report.
func testEstimateSampled(t *testing.T, _ *redistest.Target, rdb redis.UniversalClient, k publish.Keys) {
	before := usedMemory(t, rdb)
	r := mustPublish(t, &publish.Writer{Client: rdb, Keys: k}, listsModel(publish.PlanSample+2000, 1))
	grew := usedMemory(t, rdb) - before
	ratio := float64(r.EstimatedBytes) / float64(grew)
	t.Logf("estimate %d bytes, used_memory grew %d: ratio %.2f", r.EstimatedBytes, grew, ratio)
	if ratio < 0.8 || ratio > 1.2 {
		t.Errorf("estimate %d bytes, used_memory grew %d: ratio %.2f, want 0.8..1.2", r.EstimatedBytes, grew, ratio)
	}
}
