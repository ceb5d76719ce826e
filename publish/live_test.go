package publish

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish/redistest"
)

// staleHashes is a HashSource whose Stale names fields from a fixed list
// that the hash does not hold.
type staleHashes struct {
	FuncHashes
	derived []string
}

func (s staleHashes) Stale(i int, h *Hash, dst []string) []string {
	for _, f := range s.derived {
		if !slices.Contains(h.Fields, f) {
			dst = append(dst, f)
		}
	}
	return dst
}

var _ StaleFields = staleHashes{}

func hashesOf(users map[string]map[string]string) FuncHashes {
	ids := slices.Sorted(maps.Keys(users))
	return FuncHashes{N: len(ids), Fn: func(i int, h *Hash) {
		h.ID = ids[i]
		for _, f := range slices.Sorted(maps.Keys(users[ids[i]])) {
			h.Fields = append(h.Fields, f)
			h.Values = append(h.Values, users[ids[i]][f])
		}
	}}
}

func TestLiveFeaturesMerge(t *testing.T) {
	redistest.Each(t, testLiveFeaturesMerge)
}

func testLiveFeaturesMerge(t *testing.T, tg *redistest.Target) {
	rdb := tg.Client(t)
	ctx := context.Background()
	// What the real-time stream wrote: identify traits, and a key of
	// another kind that must stay as it is.
	rdb.HSet(ctx, "shop:user:U1", "email", "a@example.com", "plan", "gold", "event_count.order_completed", "9", "event_count.product_viewed", "4")
	rdb.Set(ctx, "shop:other", "x", 0)

	src := staleHashes{
		FuncHashes: hashesOf(map[string]map[string]string{
			"U1": {"plan": "silver", "event_count.order_completed": "3", "last_seen": "2026-11-24T10:00:00Z"},
			"U2": {"plan": "bronze"},
			"U3": {},
		}),
		derived: []string{"event_count.order_completed", "event_count.product_viewed"},
	}
	lf := &LiveFeatures{Client: rdb, Prefix: " shop ", PipelineBytes: 10}
	res, err := lf.Write(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *res, (LiveResult{Hashes: 2, Fields: 4, NewFields: 2, Removed: 1, Verified: 2, Seconds: res.Seconds}); got != want {
		t.Errorf("result %+v, want %+v", got, want)
	}
	if got, want := rdb.HGetAll(ctx, "shop:user:U1").Val(), map[string]string{
		"email": "a@example.com", "plan": "silver", "event_count.order_completed": "3", "last_seen": "2026-11-24T10:00:00Z",
	}; !maps.Equal(got, want) {
		t.Errorf("shop:user:U1 = %v, want %v", got, want)
	}
	if got, want := rdb.HGetAll(ctx, "shop:user:U2").Val(), map[string]string{"plan": "bronze"}; !maps.Equal(got, want) {
		t.Errorf("shop:user:U2 = %v, want %v", got, want)
	}
	keys := redistest.AllKeys(t, rdb)
	if got, want := strings.Join(keys, " "), "shop:other shop:user:U1 shop:user:U2"; got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
}

func TestLiveFeaturesNoPrefixAndErrors(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	src := hashesOf(map[string]map[string]string{"U1": {"a": "1"}, "U2": {"b": "2"}})
	res, err := (&LiveFeatures{Client: rdb}).Write(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hashes != 2 || rdb.HGet(ctx, "user:U1", "a").Val() != "1" || rdb.HGet(ctx, "user:U2", "b").Val() != "2" {
		t.Errorf("result %+v; user:U1 %v, user:U2 %v", res, rdb.HGetAll(ctx, "user:U1").Val(), rdb.HGetAll(ctx, "user:U2").Val())
	}
	// A key of another type is an error naming the key, not overwritten.
	rdb.Set(ctx, "user:U2", "not a hash", 0)
	_, err = (&LiveFeatures{Client: rdb}).Write(ctx, src)
	if err == nil || !strings.Contains(err.Error(), "user:U2") || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("err %v, want WRONGTYPE naming user:U2", err)
	}
	if got := rdb.Get(ctx, "user:U2").Val(); got != "not a hash" {
		t.Errorf("user:U2 = %q", got)
	}
	// A cancelled context writes nothing more and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&LiveFeatures{Client: rdb}).Write(cctx, src); err == nil {
		t.Error("no error with a cancelled context")
	}
}

func BenchmarkLiveFeatures(b *testing.B) {
	s := redistest.Start(b)
	rdb := s.Client(b)
	ctx := context.Background()
	const users, fields = 20000, 12
	src := FuncHashes{N: users, Fn: func(i int, h *Hash) {
		h.ID = "U" + strconv.Itoa(i)
		for f := range fields {
			h.Fields = append(h.Fields, "event_count.e"+strconv.Itoa(f))
			h.Values = append(h.Values, strconv.Itoa(i%97+f))
		}
	}}
	lf := &LiveFeatures{Client: rdb, SampleSize: 10}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lf.Write(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(users*b.N)/b.Elapsed().Seconds(), "hashes/s")
}
