package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// handMatrix is four users and four items:
//
//	u0: 0 1 2      c_0 = 3, c_1 = 3, c_2 = 2, c_3 = 2, N = 4
//	u1: 0 1        c_01 = 2, c_12 = 2, every other pair 1
//	u2:   1 2 3
//	u3: 0     3
func handMatrix() *Matrix {
	users := []uint32{0, 0, 0, 1, 1, 2, 2, 2, 3, 3}
	items := []uint32{0, 1, 2, 0, 1, 1, 2, 3, 0, 3}
	return NewMatrix(4, 4, users, items, nil)
}

func TestSimilarHand(t *testing.T) {
	tests := []struct {
		name       string
		opt        Options
		item       int
		wantItems  []uint32
		wantScores []float64
		wantCounts []uint32
	}{
		{"count ties by id", Options{Metric: Count}, 0, []uint32{1, 2, 3}, []float64{2, 1, 1}, []uint32{2, 1, 1}},
		{"count top 1", Options{Metric: Count, TopN: 1}, 0, []uint32{1}, []float64{2}, []uint32{2}},
		{"count min support", Options{Metric: Count, MinSupport: 2}, 1, []uint32{0, 2}, []float64{2, 2}, []uint32{2, 2}},
		{"jaccard", Options{Metric: Jaccard}, 2, []uint32{1, 3, 0}, []float64{2.0 / 3, 1.0 / 3, 1.0 / 4}, []uint32{2, 1, 1}},
		{"cosine", Options{Metric: Cosine}, 3, []uint32{2, 0, 1}, []float64{0.5, 1 / math.Sqrt(6), 1 / math.Sqrt(6)}, []uint32{1, 1, 1}},
		{"inclusion all tied", Options{Metric: Inclusion}, 3, []uint32{0, 1, 2}, []float64{0.5, 0.5, 0.5}, []uint32{1, 1, 1}},
		{"lift", Options{Metric: Lift}, 2, []uint32{1, 3, 0}, []float64{2.0 / 6, 1.0 / 4, 1.0 / 6}, []uint32{2, 1, 1}},
		{"pmi drops negatives", Options{Metric: PMI}, 2, []uint32{1, 3}, []float64{math.Log2(4.0 / 3), 0}, []uint32{2, 1}},
		{"pmi keeps all", Options{Metric: PMI, MinScore: math.Inf(-1)}, 2, []uint32{1, 3, 0},
			[]float64{math.Log2(4.0 / 3), 0, math.Log2(4.0 / 6)}, []uint32{2, 1, 1}},
		{"pmi none", Options{Metric: PMI}, 0, []uint32{}, []float64{}, []uint32{}},
		// Tables (1,1,2,0) and (2,0,1,1) are row swaps: a tie, broken by id.
		{"llr", Options{Metric: LLR, TopN: 2}, 2, []uint32{0, 1},
			[]float64{LogLikelihoodRatio(2, 0, 1, 1), LogLikelihoodRatio(2, 0, 1, 1)}, []uint32{1, 2}},
		// Item 3's users are u2 (3 items) and u3 (2 items): W_3j =
		// c_3^-1 · c_j^-0.5 · (sum of 1/deg(u) over the users of both).
		{"rp3beta", Options{Metric: RP3Beta}, 3, []uint32{0, 2, 1},
			[]float64{0.5 * 0.5 / math.Sqrt(3), 0.5 / 3 / math.Sqrt(2), 0.5 / 3 / math.Sqrt(3)}, []uint32{1, 1, 1}},
		{"rp3beta beta 0", Options{Metric: RP3Beta, Beta: ptr(0.0)}, 3, []uint32{0, 1, 2},
			[]float64{0.25, 0.5 / 3, 0.5 / 3}, []uint32{1, 1, 1}},
		{"min score", Options{Metric: Jaccard, MinScore: 0.3}, 2, []uint32{1, 3}, []float64{2.0 / 3, 1.0 / 3}, []uint32{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := Similar(t.Context(), handMatrix(), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			items, scores, counts := nb.List(tt.item)
			if !slices.Equal(items, tt.wantItems) {
				t.Fatalf("items = %v, want %v", items, tt.wantItems)
			}
			for k := range scores {
				if math.Abs(scores[k]-tt.wantScores[k]) > 1e-12 {
					t.Fatalf("scores = %v, want %v", scores, tt.wantScores)
				}
			}
			if !slices.Equal(counts, tt.wantCounts) {
				t.Fatalf("counts = %v, want %v", counts, tt.wantCounts)
			}
		})
	}
}

// TestSimilarReference compares every metric with the brute-force version
// on random matrices of various shapes and options.
func TestSimilarReference(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 99))
		nu, ni := 1+r.IntN(60), 1+r.IntN(40)
		m := randomMatrix(r, nu, ni, 0.05+0.3*r.Float64(), true)
		for _, metric := range Metrics() {
			opt := Options{
				Metric:     metric,
				TopN:       []int{0, 1, 3, 7}[r.IntN(4)],
				MinSupport: r.IntN(4),
				Workers:    1 + r.IntN(4),
				Weighted:   r.IntN(2) == 0,
				Lambda:     []float64{0, 1, 10}[r.IntN(3)],
				K1:         []*float64{nil, ptr(0.0), ptr(1.2)}[r.IntN(3)],
				B:          []*float64{nil, ptr(0.0), ptr(0.75)}[r.IntN(3)],
				Alpha:      []*float64{nil, ptr(0.0), ptr(0.5), ptr(1.5)}[r.IntN(4)],
				Beta:       []*float64{nil, ptr(0.0), ptr(0.25), ptr(1.0)}[r.IntN(4)],
			}
			exact := metric <= PMI && metric != Cosine
			if r.IntN(3) == 0 {
				opt.MinScore = minScoreFor(metric)
			}
			if !exact {
				// Sums in another order move scores by an ulp; keep the
				// threshold away from them.
				opt.MinScore = math.Inf(-1)
			}
			t.Run(fmt.Sprintf("seed=%d/%dx%d/%v/top=%d/sup=%d", seed, nu, ni, metric, opt.TopN, opt.MinSupport), func(t *testing.T) {
				got, err := Similar(t.Context(), m, opt)
				if err != nil {
					t.Fatal(err)
				}
				want, score, co := refSimilar(t, m, opt)
				compareNeighbors(t, got, want, score, co, 1e-9, exact)
			})
		}
	}
}

func ptr(v float64) *float64 { return &v }

func minScoreFor(m Metric) float64 {
	switch m {
	case Count:
		return 2
	case Lift:
		return 0.05
	case PMI, LLR:
		return 1
	}
	return 0.3
}

func TestSimilarDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := randomMatrix(r, 400, 300, 0.05, true)
	for _, metric := range Metrics() {
		for _, weighted := range []bool{false, true} {
			opt := Options{Metric: metric, TopN: 10, Weighted: weighted, MaxUserItems: 15, Seed: 5}
			t.Run(fmt.Sprintf("%v/weighted=%v", metric, weighted), func(t *testing.T) {
				opt.Workers = 1
				one, err := Similar(t.Context(), m, opt)
				if err != nil {
					t.Fatal(err)
				}
				opt.Workers = 4
				four, err := Similar(t.Context(), m, opt)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(one, four) {
					t.Fatal("Workers=1 and Workers=4 differ")
				}
				if one.Ptr[len(one.Ptr)-1] == 0 {
					t.Fatal("no neighbours at all")
				}
			})
		}
	}
}

// Down-sampling inside Similar is the same as down-sampling first.
func TestSimilarMaxUserItems(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := randomMatrix(r, 50, 80, 0.3, false)
	opt := Options{Metric: Cosine, MaxUserItems: 10, Seed: 1}
	got, err := Similar(t.Context(), m, opt)
	if err != nil {
		t.Fatal(err)
	}
	want, score, co := refSimilar(t, m.Downsample(10, 1), opt)
	compareNeighbors(t, got, want, score, co, 1e-9, false)
}

func TestSimilarErrors(t *testing.T) {
	m := handMatrix()
	tests := []struct {
		name string
		m    *Matrix
		opt  Options
	}{
		{"nil matrix", nil, Options{}},
		{"metric", m, Options{Metric: Metric(42)}},
		{"top-n", m, Options{TopN: -1}},
		{"min-support", m, Options{MinSupport: -1}},
		{"workers", m, Options{Workers: -2}},
		{"bm25 b", m, Options{Metric: BM25, B: ptr(1.5)}},
		{"lambda", m, Options{Metric: EASE, Lambda: -1}},
		{"max-user-items", m, Options{MaxUserItems: -1}},
		{"ease size", m, Options{Metric: EASE, MaxDenseItems: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Similar(t.Context(), tt.m, tt.opt); err == nil {
				t.Fatal("Similar succeeded")
			}
		})
	}
}

func TestSimilarEASETooLarge(t *testing.T) {
	m := NewMatrix(1, 200000, nil, nil, nil)
	_, err := Similar(t.Context(), m, Options{Metric: EASE})
	var dse *DenseSizeError
	if !errors.As(err, &dse) {
		t.Fatalf("err = %v, want a *DenseSizeError", err)
	}
	want := "ease: 200000 items need 320.0 GB for the dense Gram matrix; max-dense-items is 20000"
	if got := err.Error(); got != want {
		t.Fatalf("err = %q, want %q", got, want)
	}
}

func TestSimilarCanceled(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m := randomMatrix(r, 100, 100, 0.1, false)
	for _, metric := range []Metric{Cosine, BM25, EASE} {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Similar(ctx, m, Options{Metric: metric})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v: err = %v, want context.Canceled", metric, err)
		}
	}
}

// EASE can rate items that never co-occur; they carry Count 0.
func TestSimilarEASEIndirect(t *testing.T) {
	// Item 2 is only seen with 0, item 4 only with 1; 0 and 1 co-occur.
	users := []uint32{0, 1, 3, 4, 4, 5, 5, 6, 6, 7, 7}
	items := []uint32{0, 1, 0, 0, 2, 0, 1, 0, 1, 1, 4}
	m := NewMatrix(8, 5, users, items, nil)
	opt := Options{Metric: EASE, Lambda: 0.1}
	nb, err := Similar(t.Context(), m, opt)
	if err != nil {
		t.Fatal(err)
	}
	want, score, co := refSimilar(t, m, opt)
	compareNeighbors(t, nb, want, score, co, 1e-9, false)
	indirect := 0
	for k, c := range nb.Count {
		if nb.Score[k] <= 0 {
			t.Errorf("neighbour %d has score %g", nb.Item[k], nb.Score[k])
		}
		if c == 0 {
			indirect++
		}
	}
	if indirect == 0 {
		t.Errorf("no neighbour without co-occurrence in %+v", nb)
	}
}

func TestSimilarProgress(t *testing.T) {
	var users, items []uint32
	for u := range 200 {
		for k := range 4 {
			users, items = append(users, uint32(u)), append(items, uint32((u+k*13)%97))
		}
	}
	m := NewMatrix(200, 97, users, items, nil)
	var mu sync.Mutex
	last, calls := 0, 0
	_, err := Similar(context.Background(), m, Options{Metric: Cosine, Workers: 3, Progress: func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if total != 97 || done > total {
			t.Errorf("progress(%d, %d)", done, total)
		}
		last = max(last, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != 97 {
		t.Errorf("progress called %d times, last done %d, want 97", calls, last)
	}
}
