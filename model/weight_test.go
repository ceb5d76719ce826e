package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The bm25 and tfidf weights of every entry, in both orientations, match a
// dense transcription of implicit's bm25_weight and tfidf_weight.
func TestWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	m := randomMatrix(r, 30, 20, 0.2, true)
	_, val := dense(m)
	for _, opt := range []Options{
		{Metric: TFIDF},
		{Metric: BM25},
		{Metric: BM25, K1: ptr(1.2), B: ptr(0.75)},
		{Metric: BM25, K1: ptr(0.0), B: ptr(0.0)}, // zero is a value, not the default
		{Metric: Cosine, Weighted: true},
	} {
		t.Run(fmt.Sprintf("%v/k1=%g/b=%g", opt.Metric, opt.k1(), opt.b()), func(t *testing.T) {
			want := val
			if opt.Metric != Cosine {
				want = refWeighted(m, val, opt)
			}
			w := newWeights(m, &opt)
			for u := range m.NumUsers {
				for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
					i := int(m.UserItem[p])
					if got, want := w.user[p], want.At(u, i); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
						t.Fatalf("weight (%d, %d) = %.17g, want %.17g", u, i, got, want)
					}
				}
			}
			for i := range m.NumItems {
				var ss float64
				for p := m.ItemPtr[i]; p < m.ItemPtr[i+1]; p++ {
					u := int(m.ItemUser[p])
					if got, want := w.item[p], want.At(u, i); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
						t.Fatalf("transposed weight (%d, %d) = %.17g, want %.17g", u, i, got, want)
					}
					ss += want.At(u, i) * want.At(u, i)
				}
				if got, want := w.norm[i], math.Sqrt(ss); math.Abs(got-want) > 1e-12*math.Max(1, want) {
					t.Fatalf("norm of item %d = %g, want %g", i, got, want)
				}
			}
		})
	}
}

// EASE against a general dense inverse, on one fixed small matrix, binary
// and weighted, with light and default regularisation.
func TestSimilarEASE(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	m := randomMatrix(r, 50, 25, 0.15, true)
	for _, opt := range []Options{
		{Metric: EASE, Lambda: 1},
		{Metric: EASE},
		{Metric: EASE, Lambda: 5, Weighted: true, TopN: 5},
		{Metric: EASE, Lambda: 5, MinSupport: 2},
	} {
		t.Run(fmt.Sprintf("lambda=%g/weighted=%v/top=%d/sup=%d", opt.Lambda, opt.Weighted, opt.TopN, opt.MinSupport), func(t *testing.T) {
			got, err := Similar(t.Context(), m, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got.Ptr[len(got.Ptr)-1] == 0 {
				t.Fatal("no neighbours")
			}
			want, score, co := refSimilar(t, m, opt)
			compareNeighbors(t, got, want, score, co, 1e-9, false)
		})
	}
}

// TestBM25ZeroIsAValue checks that k1 0 and b 0 are used as given, not
// replaced by the defaults: b 0 (no length normalisation) is a setting
// users ask for.
func TestBM25ZeroIsAValue(t *testing.T) {
	opt := Options{Metric: BM25, K1: ptr(0.0), B: ptr(0.0)}
	if got, want := opt.k1(), 0.0; got != want {
		t.Errorf("k1()=%g, want %g", got, want)
	}
	if got, want := opt.b(), 0.0; got != want {
		t.Errorf("b()=%g, want %g", got, want)
	}
	if got, want := (&Options{}).b(), DefaultB; got != want {
		t.Errorf("unset b()=%g, want the default %g", got, want)
	}
}
