package publish_test

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// benchFixture is the load benchmark's model: 20,000 items with 50
// neighbours each and 100,000 users, a third of whom also have a
// RudderStack hash.
var benchFixture = fixture{Items: 20000, Users: 100000, Depth: 50, Seed: 42}

const (
	benchProtocol = 2   // RESP2: Redis 7.0 formats scores in RESP3 replies twice as slowly
	benchCallers  = 50  // concurrent callers
	benchCalls    = 400 // calls per caller per b.Loop iteration
	benchFlips    = 100 // flips with cleanup during BenchmarkLoad/UnderFlips
)

// BenchmarkLoad measures the read client against a private redis-server
// holding benchFixture, with 50 concurrent callers: latency percentiles
// (p50-µs, p99-µs; a paced call delayed by the one before it is timed
// from when it was due) and calls/s. The "closed" runs
// call back to back, so they measure throughput and the queueing it
// brings; the "paced" runs offer a fixed rate spread over the callers.
//
//	go test -run XXX -bench BenchmarkLoad -benchtime 3x ./publish/
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	s := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, PoolSize: 2 * benchCallers, Protocol: benchProtocol})
	b.Cleanup(func() { rdb.Close() })
	t0 := time.Now()
	v := MustPublish(b, rdb, benchFixture.Model())
	mustLiveHashes(b, rdb, benchFixture)
	b.Logf("published %d lists of %d and %d user hashes in %v", benchFixture.Items, benchFixture.Depth, benchFixture.Users, time.Since(t0).Round(time.Millisecond))
	ap, err := rdb.AutoPipelineWithOptions(&redis.AutoPipelineOptions{FullDuplex: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ap.Close() })

	f := benchFixture
	clients := map[string]*publish.Client{
		"":             publish.NewClient(rdb, publish.ClientOptions{}),
		"nocache":      publish.NewClient(rdb, publish.ClientOptions{CacheLists: -1}),
		"autopipeline": publish.NewClient(ap, publish.ClientOptions{CacheLists: f.Items + 100}),
		"cache=all":    publish.NewClient(rdb, publish.ClientOptions{CacheLists: f.Items + 100}),
	}
	for _, c := range clients {
		warmUp(b, c, f)
	}
	neighbors := func(c *publish.Client) func(*rand.Rand) error {
		return func(rng *rand.Rand) error {
			_, _, err := c.Neighbors(ctx, "i"+strconv.Itoa(rng.IntN(f.Items)), 10)
			return err
		}
	}
	recommend := func(c *publish.Client, opt publish.RecommendOptions) func(*rand.Rand) error {
		return func(rng *rand.Rand) error {
			_, err := c.Recommend(ctx, "u"+strconv.Itoa(rng.IntN(f.Users)), 10, opt)
			return err
		}
	}
	cases := []struct {
		name string
		rate int
		call func(*rand.Rand) error
		c    *publish.Client
	}{
		{"Neighbors/closed", 0, neighbors(clients[""]), clients[""]},
		{"Neighbors/paced=10000/s", 10000, neighbors(clients[""]), clients[""]},
		{"Recommend/closed", 0, recommend(clients[""], publish.RecommendOptions{}), clients[""]},
		{"Recommend/paced=5000/s", 5000, recommend(clients[""], publish.RecommendOptions{}), clients[""]},
		{"Neighbors/paced=2000/s", 2000, neighbors(clients[""]), clients[""]},
		{"Recommend/paced=2000/s", 2000, recommend(clients[""], publish.RecommendOptions{}), clients[""]},
		{"Neighbors/cache=all/closed", 0, neighbors(clients["cache=all"]), clients["cache=all"]},
		{"Recommend/cache=all/closed", 0, recommend(clients["cache=all"], publish.RecommendOptions{}), clients["cache=all"]},
		{"Recommend/autopipeline+cache=all/closed", 0, recommend(clients["autopipeline"], publish.RecommendOptions{}), clients["autopipeline"]},
		{"Recommend/autopipeline+cache=all/paced=5000/s", 5000, recommend(clients["autopipeline"], publish.RecommendOptions{}), clients["autopipeline"]},
		{"Neighbors/nocache/closed", 0, neighbors(clients["nocache"]), clients["nocache"]},
		// How the neighbour lists are merged, without the cache: the
		// head of each list in the client (the default), whole lists in
		// the client, or ZUNION on the server (single server only: the
		// lists span slots on a cluster).
		{"Recommend/nocache/merge=client-head/closed", 0, recommend(clients["nocache"], publish.RecommendOptions{}), clients["nocache"]},
		{"Recommend/nocache/merge=client-whole/closed", 0, recommend(clients["nocache"], publish.RecommendOptions{Depth: f.Depth}), clients["nocache"]},
		{"Recommend/nocache/merge=server-zunion/closed", 0, func(rng *rand.Rand) error {
			_, err := zunionRecommend(ctx, rdb, v, "u"+strconv.Itoa(rng.IntN(f.Users)), 10)
			return err
		}, nil},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var st0 publish.ClientStats
			if tc.c != nil {
				st0 = tc.c.Stats()
			}
			runLoadCPU(b, rdb, tc.rate, tc.call)
			if tc.c != nil {
				st := tc.c.Stats()
				hits, misses := st.CacheHits-st0.CacheHits, st.CacheMisses-st0.CacheMisses
				b.ReportMetric(float64(hits)/float64(max(1, hits+misses)), "cache-hit-ratio")
			}
		})
	}
	b.Run("UnderFlips", benchUnderFlips)
}

// warmUp reads every neighbour list and the fill lists once, as a service
// does in its first seconds.
func warmUp(tb testing.TB, c *publish.Client, f fixture) {
	ctx := context.Background()
	for i := range f.Items {
		if _, _, err := c.Neighbors(ctx, "i"+strconv.Itoa(i), 10); err != nil {
			tb.Fatal(err)
		}
	}
	for j := range 200 {
		if _, err := c.Recommend(ctx, "u"+strconv.Itoa(j), 10, publish.RecommendOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchUnderFlips reads with 50 callers through a client that follows the
// flips channel while benchFlips versions are flipped to and their
// predecessors removed, on a smaller model so each version is written in
// a fraction of a second. It fails on any error or mixed answer.
func benchUnderFlips(b *testing.B) {
	ctx := context.Background()
	s := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, PoolSize: 2 * benchCallers})
	b.Cleanup(func() { rdb.Close() })
	fl := &flipper{rdb: rdb, f: fixture{Items: 500, Users: 2000, Depth: 30, Seed: 7}}
	fl.MustStart(b)
	c := publish.NewClient(rdb, publish.ClientOptions{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.Watch(wctx)

	var calls, errs, mixed int64
	var flipTime time.Duration
	for b.Loop() {
		stop := make(chan struct{})
		var res loadResult
		var wg sync.WaitGroup
		wg.Go(func() { readUnderFlips(ctx, c, fl, benchCallers, stop, &res) })
		t0 := time.Now()
		err := fl.Run(ctx, benchFlips)
		flipTime += time.Since(t0)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		calls, errs, mixed = calls+res.calls.Load(), errs+res.errs.Load(), mixed+res.mixed.Load()
		if res.errs.Load()+res.mixed.Load() > 0 {
			b.Errorf("%d errors, %d mixed answers; first: %v", res.errs.Load(), res.mixed.Load(), res.firstErr.Load())
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(calls)/flipTime.Seconds(), "calls/s")
	b.ReportMetric(float64(b.N*benchFlips)/flipTime.Seconds(), "flips/s")
	b.ReportMetric(float64(errs), "errors")
	b.ReportMetric(float64(mixed), "mixed")
	b.ReportMetric(float64(c.Stats().Retries), "retries")
}

// runLoadCPU runs benchCallers callers making benchCalls calls each per
// b.Loop iteration, back to back (rate 0) or paced to rate calls/s in
// total, and reports latency percentiles and throughput, and the CPU time
// per call of this process (client-cpu-µs) and of the redis-server behind
// rdb (redis-cpu-µs): on a busy machine those are steadier than rates.
func runLoadCPU(b *testing.B, rdb *redis.Client, rate int, call func(*rand.Rand) error) {
	clientCPU0, redisCPU0 := processCPU(), serverCPU(b, rdb)
	var lat []time.Duration
	var elapsed time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	seed := uint64(0)
	for b.Loop() {
		per := make([][]time.Duration, benchCallers)
		var wg sync.WaitGroup
		t0 := time.Now()
		for w := range benchCallers {
			seed++
			rng := rand.New(rand.NewPCG(seed, 1))
			wg.Go(func() { per[w] = callLoop(rng, rate, w, call, &errs, &firstErr) })
		}
		wg.Wait()
		elapsed += time.Since(t0)
		for _, l := range per {
			lat = append(lat, l...)
		}
	}
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d calls failed; first: %v", n, firstErr.Load())
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[int(math.Ceil(p*float64(len(lat))))-1].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(len(lat)), "ns/op")
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(0.999), "p99.9-µs")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "calls/s")
	b.ReportMetric((processCPU()-clientCPU0)*1e6/float64(len(lat)), "client-cpu-µs")
	b.ReportMetric((serverCPU(b, rdb)-redisCPU0)*1e6/float64(len(lat)), "redis-cpu-µs")
}

// processCPU returns the user and system CPU seconds this process used.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// serverCPU returns the user and system CPU seconds redis-server used.
func serverCPU(tb testing.TB, rdb *redis.Client) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// callLoop makes benchCalls calls. Paced, caller w starts at its own
// offset and each call is due one interval after the previous one was
// due. A call that is due while the previous one still runs is timed from
// when it was due, so a stall counts for every call it delays; a caller
// on schedule times the call itself, so the sleep's overshoot does not.
func callLoop(rng *rand.Rand, rate, w int, call func(*rand.Rand) error, errs *atomic.Int64, firstErr *atomic.Value) []time.Duration {
	lat := make([]time.Duration, 0, benchCalls)
	var interval time.Duration
	due := time.Now()
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * benchCallers / float64(rate))
		due = due.Add(interval * time.Duration(w) / benchCallers)
	}
	for range benchCalls {
		start := due
		if now := time.Now(); rate == 0 || now.Before(due) {
			time.Sleep(time.Until(due))
			start = time.Now()
		}
		if err := call(rng); err != nil {
			errs.Add(1)
			firstErr.CompareAndSwap(nil, err)
		}
		lat = append(lat, time.Since(start))
		due = due.Add(interval)
	}
	return lat
}

// mustLiveHashes gives every third user a RudderStack hash with a newer
// purchase than last night's.
func mustLiveHashes(tb testing.TB, rdb redis.UniversalClient, f fixture) {
	tb.Helper()
	ctx := context.Background()
	p := rdb.Pipeline()
	for j := 0; j < f.Users; j += 3 {
		var h publish.Hash
		f.user(j, &h)
		args := []any{"recent_five_purchases.purchase_1", "i" + strconv.Itoa((j*7)%f.Items)}
		for k, field := range h.Fields {
			if field == "membership_status" {
				args = append(args, field, h.Values[k])
			}
		}
		p.HSet(ctx, "user:u"+strconv.Itoa(j), args...)
		if p.Len() >= 1000 {
			if _, err := p.Exec(ctx); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		tb.Fatal(err)
	}
}

// zunionRecommend is Recommend with the neighbour lists merged by ZUNION
// WEIGHTS on the server (default decay, no segment traits from the live
// hash), to compare with the client-side merge. It works on a single
// server only: on a cluster the lists live in different slots.
func zunionRecommend(ctx context.Context, rdb redis.UniversalClient, v, user string, n int) ([]publish.Recommended, error) {
	k := publish.Keys{}
	fields := []string{"membership_status", "income_bracket"}
	for i := 1; i <= 5; i++ {
		fields = append(fields, "recent_five_purchases.purchase_"+strconv.Itoa(i))
	}
	p := rdb.Pipeline()
	live := p.HMGet(ctx, k.LiveUser("", user), fields...)
	batch := p.HMGet(ctx, k.User(v, user), fields...)
	if _, err := p.Exec(ctx); err != nil {
		return nil, err
	}
	hist := zunionHistory(live.Val())
	if len(hist) == 0 {
		hist = zunionHistory(batch.Val())
	}
	store := redis.ZStore{Aggregate: "SUM"}
	w := 1.0
	for _, it := range hist {
		store.Keys = append(store.Keys, k.List(v, publish.FamilySimilar, it))
		store.Weights = append(store.Weights, w)
		w *= 0.8
	}
	seg := publish.SegmentID(str(batch.Val()[0]), str(batch.Val()[1]))
	fill := int64(n + len(hist))
	p = rdb.Pipeline()
	var union *redis.ZSliceCmd
	if len(store.Keys) > 0 {
		union = p.ZUnionWithScores(ctx, store)
	}
	known := func(vals []any) bool { return slices.ContainsFunc(vals, func(x any) bool { return x != nil }) }
	segCmd := redis.NewZSliceCmd(ctx) // a user neither hash knows has no segment
	if known(live.Val()) || known(batch.Val()) {
		segCmd = p.ZRevRangeWithScores(ctx, k.List(v, publish.FamilySegment, seg), 0, fill-1)
	}
	popCmd := p.ZRevRangeWithScores(ctx, k.List(v, publish.FamilyPopular, ""), 0, fill-1)
	p.Get(ctx, k.Current())
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return nil, err
	}
	var out []publish.Recommended
	seen := func(it string) bool {
		return slices.Contains(hist, it) || slices.ContainsFunc(out, func(r publish.Recommended) bool { return r.Item == it })
	}
	if union != nil {
		zs := union.Val() // ascending by score, then member
		slices.SortStableFunc(zs, func(a, b redis.Z) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Member.(string), b.Member.(string)))
		})
		for _, z := range zs {
			if it := z.Member.(string); len(out) < n && !seen(it) {
				out = append(out, publish.Recommended{Item: it, Score: z.Score, Source: publish.SourceSimilar})
			}
		}
	}
	for i, cmd := range []*redis.ZSliceCmd{segCmd, popCmd} {
		for _, z := range cmd.Val() {
			if it := z.Member.(string); len(out) < n && !seen(it) {
				out = append(out, publish.Recommended{Item: it, Score: z.Score / cmd.Val()[0].Score, Popularity: z.Score, Source: publish.Source(i + 2)})
			}
		}
	}
	return out, nil
}

func zunionHistory(vals []any) []string {
	var out []string
	for i := len(vals) - 1; i >= 2; i-- {
		if it := str(vals[i]); it != "" && !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

func str(x any) string { s, _ := x.(string); return s }

// TestServerMergeAgrees checks that the ZUNION variant measured by
// BenchmarkLoad computes what Recommend does with whole lists.
func TestServerMergeAgrees(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	f := fixture{Items: 200, Users: 120, Depth: 20, Seed: 8}
	v := MustPublish(t, rdb, f.Model())
	c := publish.NewClient(rdb, publish.ClientOptions{NoLive: true})
	for j := range f.Users {
		user := "u" + strconv.Itoa(j)
		want, err := c.Recommend(ctx, user, 15, publish.RecommendOptions{Depth: f.Depth})
		if err != nil {
			t.Fatal(err)
		}
		got, err := zunionRecommend(ctx, rdb, v, user, 15)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want.Items) {
			t.Fatalf("%s: server merge %v, client %v", user, got, want.Items)
		}
		for i := range got {
			if got[i].Item != want.Items[i].Item || math.Abs(got[i].Score-want.Items[i].Score) > 1e-9 {
				t.Fatalf("%s: server merge %v, client %v", user, got, want.Items)
			}
		}
	}
}

// BenchmarkRecommend measures one caller's Recommend with every list in
// the cache: one round trip for the user hashes, then the merge; allocs/op
// is the client's garbage per call.
func BenchmarkRecommend(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	f := fixture{Items: 2000, Users: 2000, Depth: 50, Seed: 9}
	MustPublish(b, rdb, f.Model())
	c := publish.NewClient(rdb, publish.ClientOptions{})
	warmUp(b, c, f)
	users := make([]string, 0, f.Users)
	for j := range f.Users {
		if j%6 == 5 { // five purchases
			users = append(users, "u"+strconv.Itoa(j))
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Recommend(ctx, users[i%len(users)], 10, publish.RecommendOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
