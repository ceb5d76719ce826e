package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// synthetic draws about events interactions: items by a Zipf law (a few
// items are very popular), and users with Pareto-distributed activity (most
// users do a handful of things, a few do thousands), which is what makes
// the sum of deg(u)^2 grow faster than the number of events.
func synthetic(events int, seed uint64) (numUsers, numItems int, users, items []uint32) {
	r := rand.New(rand.NewPCG(seed, 1))
	numItems = max(events/20, 100)
	zipf := rand.NewZipf(r, 1.1, 10, uint64(numItems-1))
	users = make([]uint32, 0, events+5000)
	items = make([]uint32, 0, events+5000)
	for u := 0; len(users) < events; u++ {
		// Pareto with x_min 2 and alpha 1.2 (mean 12), capped.
		deg := min(int(2/math.Pow(1-r.Float64(), 1/1.2)), 5000)
		for range deg {
			users = append(users, uint32(u))
			items = append(items, uint32(zipf.Uint64()))
		}
		numUsers = u + 1
	}
	return numUsers, numItems, users, items
}

func BenchmarkNewMatrix(b *testing.B) {
	for _, events := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			nu, ni, users, items := synthetic(events, 1)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				NewMatrix(nu, ni, users, items, nil)
				n++
			}
			b.ReportMetric(float64(n*len(users))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkSimilar shows the kernel's cost across sizes. deg2 is the sum
// over users of deg(u)^2 (Matrix.Work), which the time follows; pairs/s is
// deg2 per second. The maxuser=500 runs cap heavy users as the CLI does.
func BenchmarkSimilar(b *testing.B) {
	for _, events := range []int{10_000, 100_000, 1_000_000} {
		nu, ni, users, items := synthetic(events, 1)
		m := NewMatrix(nu, ni, users, items, nil)
		for _, tc := range []struct {
			metric  Metric
			maxUser int
		}{{Cosine, 0}, {LLR, 0}, {BM25, 0}, {Cosine, 500}} {
			name := fmt.Sprintf("events=%d/%v/maxuser=%d", events, tc.metric, tc.maxUser)
			b.Run(name, func(b *testing.B) {
				opt := Options{Metric: tc.metric, MaxUserItems: tc.maxUser, Seed: 1}
				work := m.Downsample(tc.maxUser, 1).Work()
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					if _, err := Similar(b.Context(), m, opt); err != nil {
						b.Fatal(err)
					}
					n++
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(n*len(users))/sec, "events/s")
				b.ReportMetric(float64(work), "deg2")
				b.ReportMetric(float64(n)*float64(work)/sec, "pairs/s")
			})
		}
	}
}

// BenchmarkSimilarRows shows what Options.Rows saves a shard: one of n
// shards computes its items' rows only, so its kernel time should be
// about 1/n of all rows' (the rows are spread by the item's index here;
// recopub run --shard spreads them by a hash of the item id).
func BenchmarkSimilarRows(b *testing.B) {
	nu, ni, users, items := synthetic(1_000_000, 1)
	m := NewMatrix(nu, ni, users, items, nil)
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("shard=0of%d", n), func(b *testing.B) {
			opt := Options{Metric: Cosine, MaxUserItems: 500, Seed: 1}
			if n > 1 {
				opt.Rows = func(i int) bool { return i%n == 0 }
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Similar(b.Context(), m, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEASE shows the dense model's cubic growth in the item count.
func BenchmarkEASE(b *testing.B) {
	for _, ni := range []int{250, 500, 1000} {
		b.Run(fmt.Sprintf("items=%d", ni), func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 3))
			m := randomMatrix(r, 4*ni, ni, 0.02, false)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Similar(b.Context(), m, Options{Metric: EASE}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCrossOccurrence runs the A'B kernel on two event matrices over
// the same users: a quarter of the events as purchases.
func BenchmarkCrossOccurrence(b *testing.B) {
	for _, events := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			nu, ni, users, items := synthetic(events, 1)
			q := len(users) / 4
			views := NewMatrix(nu, ni, users[q:], items[q:], nil)
			buys := NewMatrix(nu, ni, users[:q], items[:q], nil)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := CrossOccurrence(b.Context(), views, buys, Options{Metric: LLR, MaxUserItems: 500, Seed: 1}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*len(users))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRecommend scores every user from top-50 cosine lists, as eval
// does.
func BenchmarkRecommend(b *testing.B) {
	for _, events := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			nu, ni, users, items := synthetic(events, 1)
			m := NewMatrix(nu, ni, users, items, nil)
			nb, err := Similar(b.Context(), m, Options{Metric: Cosine})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := Recommend(b.Context(), m, nb, nil, 10, AffinityWeighted, 0); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*nu)/b.Elapsed().Seconds(), "users/s")
		})
	}
}

// cpuSeconds is the process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchPairs is the matrix of the (user, item) pairs file named by
// RECOPUB_BENCH_PAIRS (written by `recopub eval --export-interactions`,
// e.g. from the generator's 10M-event export), or else of 1M events of
// synthetic's heavy-user data.
func benchPairs(b *testing.B) (string, *Matrix) {
	b.Helper()
	path := os.Getenv("RECOPUB_BENCH_PAIRS")
	if path == "" {
		nu, ni, users, items := synthetic(1_000_000, 1)
		return "synthetic-1M", NewMatrix(nu, ni, users, items, nil)
	}
	users, items, err := readPairs(path)
	if err != nil {
		b.Fatal(err)
	}
	var nu, ni uint32
	for k := range users {
		nu, ni = max(nu, users[k]+1), max(ni, items[k]+1)
	}
	return filepath.Base(path), NewMatrix(int(nu), int(ni), users, items, nil)
}

// BenchmarkSimilarMetrics compares the model time of the sparse metrics on
// one data set (see benchPairs), CPU time included since the machine may
// be shared:
//
//	RECOPUB_BENCH_PAIRS=/tmp/s10m.pairs go test -run XXX -bench SimilarMetrics ./model/
func BenchmarkSimilarMetrics(b *testing.B) {
	name, m := benchPairs(b)
	for _, metric := range []Metric{Cosine, RP3Beta, Jaccard, LLR} {
		b.Run(fmt.Sprintf("%s/%v", name, metric), func(b *testing.B) {
			opt := Options{Metric: metric, MaxUserItems: 500, Seed: 1}
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				if _, err := Similar(b.Context(), m, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// generatorShaped draws numUsers users of the generator's shape: most
// users touch a handful of items (1 + a geometric number, mean 5.4), items
// by a Zipf law over numItems.
func generatorShaped(numUsers, numItems int, seed uint64) *Matrix {
	r := rand.New(rand.NewPCG(seed, 2))
	zipf := rand.NewZipf(r, 1.1, 10, uint64(numItems-1))
	var users, items []uint32
	for u := range numUsers {
		deg := 1
		for r.Float64() < 0.815 {
			deg++
		}
		for range deg {
			users = append(users, uint32(u))
			items = append(items, uint32(zipf.Uint64()))
		}
	}
	return NewMatrix(numUsers, numItems, users, items, nil)
}

// BenchmarkUserLists scores K=20 lists for every user: from top-200
// rp3beta lists of 1M generator-shaped users (the lists' computation is
// not timed), and from EASE's full B for 100k users of a 2,000-item
// catalogue and of 50k generator-shaped users of a 10,000-item one; with
// RECOPUB_BENCH_PAIRS also from the top-200 rp3beta lists
// of that export. The callback does nothing, so this is the compute part
// of publishing per-user lists.
func BenchmarkUserLists(b *testing.B) {
	if os.Getenv("RECOPUB_BENCH_PAIRS") != "" {
		b.Run("lists/pairs/depth=200", func(b *testing.B) {
			_, m := benchPairs(b)
			nb, err := Similar(b.Context(), m, Options{Metric: RP3Beta, TopN: 200, MaxUserItems: 500, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			benchUserLists(b, m, nb)
		})
	}
	b.Run("lists/users=1M/items=200k/depth=200", func(b *testing.B) {
		m := generatorShaped(1_000_000, 200_000, 1)
		nb, err := Similar(b.Context(), m, Options{Metric: RP3Beta, TopN: 200})
		if err != nil {
			b.Fatal(err)
		}
		benchUserLists(b, m, nb)
	})
	b.Run("ease/users=100k/items=2000", func(b *testing.B) {
		r := rand.New(rand.NewPCG(3, 4))
		m := randomMatrix(r, 100_000, 2000, 0.005, false)
		w, err := FitEASE(b.Context(), m, Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchUserLists(b, m, w)
	})
	// The scoring cost does not depend on B's values, so a large catalogue
	// is measured with a random B instead of a fit (800 MB, no cubic fit).
	b.Run("ease/users=50k/items=10k/random-B", func(b *testing.B) {
		n := 10_000
		m := generatorShaped(50_000, n, 1)
		r := rand.New(rand.NewPCG(1, 2))
		w := &EASEWeights{n: n, b: make([]float64, n*n)}
		for k := range w.b {
			w.b[k] = r.Float64() - 0.9
		}
		benchUserLists(b, m, w)
	})
}

func benchUserLists(b *testing.B, m *Matrix, src UserScorer) {
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	users := 0
	for b.Loop() {
		err := UserLists(b.Context(), m, src, UserListOptions{K: 20}, func(blk *UserBlock) error {
			users += blk.Len()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(users)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
}
