package model

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSimilarRows checks that Options.Rows computes exactly the named
// rows, each identical to the same row without Rows, for every metric
// and both kinds of weights; the other rows are empty.
func TestSimilarRows(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 15))
	for _, weighted := range []bool{false, true} {
		m := randomMatrix(r, 120, 40, 0.15, weighted)
		for _, metric := range Metrics() {
			t.Run(metric.String(), func(t *testing.T) {
				opt := Options{Metric: metric, TopN: 7, Weighted: weighted, MaxUserItems: 8, Seed: 3, Workers: 3}
				full, err := Similar(ctx, m, opt)
				if err != nil {
					t.Fatal(err)
				}
				opt.Rows = func(i int) bool { return i%3 == 1 }
				part, err := Similar(ctx, m, opt)
				if err != nil {
					t.Fatal(err)
				}
				for i := range m.NumItems {
					gi, gs, gc := part.List(i)
					wi, ws, wc := full.List(i)
					if !opt.Rows(i) {
						wi, ws, wc = nil, nil, nil
					}
					if !slices.Equal(gi, wi) || !slices.Equal(gs, ws) || !slices.Equal(gc, wc) {
						t.Fatalf("item %d: got %v %v %v, want %v %v %v", i, gi, gs, gc, wi, ws, wc)
					}
				}
			})
		}
	}
}

// TestCrossOccurrenceRows is TestSimilarRows for cross-occurrence.
func TestCrossOccurrenceRows(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(8, 15))
	a, b := randomMatrix(r, 90, 30, 0.2, false), randomMatrix(r, 90, 25, 0.2, false)
	opt := Options{Metric: LLR, TopN: 5, Workers: 2}
	full, err := CrossOccurrence(ctx, a, b, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Rows = func(i int) bool { return i%2 == 0 }
	part, err := CrossOccurrence(ctx, a, b, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.NumItems {
		gi, gs, _ := part.List(i)
		wi, ws, _ := full.List(i)
		if i%2 == 1 {
			wi, ws = nil, nil
		}
		if !slices.Equal(gi, wi) || !slices.Equal(gs, ws) {
			t.Fatalf("item %d: got %v %v, want %v %v", i, gi, gs, wi, ws)
		}
	}
}
