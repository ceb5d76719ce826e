package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// refCross is CrossOccurrence by brute force: the dense product AᵀB of the
// binary matrices, every pair scored, sorted, cut to TopN.
func refCross(a, b *Matrix, opt Options) (lists [][]candidate, co *mat.Dense) {
	binA, _ := dense(a)
	binB, _ := dense(b)
	co = &mat.Dense{}
	co.Mul(binA.T(), binB)
	n := 0.0
	for u := range a.NumUsers {
		if mat.Sum(binA.RowView(u))+mat.Sum(binB.RowView(u)) > 0 {
			n++
		}
	}
	minSupport := float64(opt.minSupport())
	for x := range a.NumItems {
		cx := mat.Sum(binA.ColView(x))
		var list []candidate
		for y := range b.NumItems {
			c, cy := co.At(x, y), mat.Sum(binB.ColView(y))
			if c == 0 || c < minSupport {
				continue
			}
			var s float64
			switch opt.Metric {
			case Count:
				s = c
			case Cosine:
				s = c / math.Sqrt(cx*cy)
			case Jaccard:
				s = c / (cx + cy - c)
			case Lift:
				s = c / (cx * cy)
			case Inclusion:
				s = c / math.Min(cx, cy)
			case PMI:
				s = math.Log2(n * c / (cx * cy))
			case LLR:
				s = refLLR(c, cx-c, cy-c, n-cx-cy+c)
			}
			if s >= opt.MinScore {
				list = append(list, candidate{score: s, item: uint32(y), count: uint32(c)})
			}
		}
		slices.SortFunc(list, func(p, q candidate) int {
			switch {
			case p.score > q.score:
				return -1
			case p.score < q.score:
				return 1
			}
			return int(p.item) - int(q.item)
		})
		lists = append(lists, list[:min(len(list), opt.topN())])
	}
	return lists, co
}

func TestCrossOccurrenceHand(t *testing.T) {
	// Views (a) and purchases (b) of four users over three items:
	//
	//	u0 viewed 0 1, bought 1     c_x: 0:3 1:2 2:1   (views)
	//	u1 viewed 0,   bought 1 2   c_y: 0:1 1:3 2:1   (purchases)
	//	u2 viewed 0 2, bought 0 1   N = 4
	//	u3 viewed 1                 (no purchase)
	a := NewMatrix(4, 3, []uint32{0, 0, 1, 2, 2, 3}, []uint32{0, 1, 0, 0, 2, 1}, nil)
	b := NewMatrix(4, 3, []uint32{0, 1, 1, 2, 2}, []uint32{1, 1, 2, 0, 1}, nil)
	nb, err := CrossOccurrence(t.Context(), a, b, Options{Metric: Count})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		x          int
		wantItems  []uint32
		wantCounts []uint32
	}{
		{0, []uint32{1, 0, 2}, []uint32{3, 1, 1}}, // viewers of 0 bought 1 three times
		{1, []uint32{1}, []uint32{1}},             // u3 bought nothing
		{2, []uint32{0, 1}, []uint32{1, 1}},
	}
	for _, tt := range tests {
		items, _, counts := nb.List(tt.x)
		if !slices.Equal(items, tt.wantItems) || !slices.Equal(counts, tt.wantCounts) {
			t.Errorf("item %d: items %v counts %v, want %v %v", tt.x, items, counts, tt.wantItems, tt.wantCounts)
		}
	}
	llr, err := CrossOccurrence(t.Context(), a, b, Options{Metric: LLR})
	if err != nil {
		t.Fatal(err)
	}
	// x=0, y=1: k11=3, k12=3-3, k21=3-3, k22=4-3-3+3.
	_, scores, _ := llr.List(0)
	if got, want := scores[0], LogLikelihoodRatio(3, 0, 0, 1); got != want {
		t.Errorf("llr(0, 1) = %g, want %g", got, want)
	}
}

// TestCrossOccurrenceReference compares every count metric with the
// brute-force product on random pairs of matrices.
func TestCrossOccurrenceReference(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 6
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		nu, na, nbItems := 1+r.IntN(50), 1+r.IntN(30), 1+r.IntN(30)
		a := randomMatrix(r, nu, na, 0.05+0.3*r.Float64(), false)
		b := randomMatrix(r, nu, nbItems, 0.02+0.2*r.Float64(), false)
		for metric := Count; metric <= LLR; metric++ {
			opt := Options{
				Metric:     metric,
				TopN:       []int{0, 1, 4}[r.IntN(3)],
				MinSupport: r.IntN(3),
				Workers:    1 + r.IntN(4),
			}
			if r.IntN(3) == 0 {
				opt.MinScore = minScoreFor(metric)
			}
			exact := metric != Cosine
			if !exact {
				opt.MinScore = math.Inf(-1)
			}
			t.Run(fmt.Sprintf("seed=%d/%v", seed, metric), func(t *testing.T) {
				got, err := CrossOccurrence(t.Context(), a, b, opt)
				if err != nil {
					t.Fatal(err)
				}
				want, co := refCross(a, b, opt)
				compareCross(t, got, want, co, exact)
			})
		}
	}
}

func compareCross(tb testing.TB, got *Neighbors, want [][]candidate, co *mat.Dense, exact bool) {
	tb.Helper()
	if got, want := got.NumItems(), len(want); got != want {
		tb.Fatalf("NumItems() = %d, want %d", got, want)
	}
	for x, w := range want {
		items, scores, counts := got.List(x)
		if len(items) != len(w) {
			tb.Fatalf("item %d: %d neighbours %v, want %v", x, len(items), items, w)
		}
		for k := range w {
			if math.Abs(scores[k]-w[k].score) > 1e-9*math.Max(1, math.Abs(w[k].score)) {
				tb.Fatalf("item %d rank %d: score %.17g, want %.17g", x, k, scores[k], w[k].score)
			}
			if exact && items[k] != w[k].item {
				tb.Fatalf("item %d rank %d: item %d, want %d", x, k, items[k], w[k].item)
			}
			if got, want := counts[k], uint32(co.At(x, int(items[k]))); got != want {
				tb.Fatalf("item %d neighbour %d: count %d, want %d", x, items[k], got, want)
			}
		}
	}
}

func TestCrossOccurrenceDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	a := randomMatrix(r, 300, 200, 0.05, false)
	b := randomMatrix(r, 300, 200, 0.02, false)
	opt := Options{Metric: LLR, TopN: 10, MaxUserItems: 8, Seed: 3, Workers: 1}
	one, err := CrossOccurrence(t.Context(), a, b, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Workers = 3
	three, err := CrossOccurrence(t.Context(), a, b, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, three) {
		t.Fatal("Workers=1 and Workers=3 differ")
	}
}

func TestCrossOccurrenceErrors(t *testing.T) {
	a := NewMatrix(2, 2, nil, nil, nil)
	tests := []struct {
		name string
		a, b *Matrix
		opt  Options
	}{
		{"nil", a, nil, Options{}},
		{"users", a, NewMatrix(3, 2, nil, nil, nil), Options{}},
		{"metric", a, a, Options{Metric: BM25}},
		{"options", a, a, Options{TopN: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := CrossOccurrence(t.Context(), tt.a, tt.b, tt.opt); err == nil {
				t.Fatal("CrossOccurrence succeeded")
			}
		})
	}
}
