package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// topK must keep exactly the k best under (score desc, item asc) whatever
// the arrival order, with many ties.
func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var top topK
	for trial := range 2000 {
		n := r.IntN(500)
		k := 1 + r.IntN(60)
		cands := make([]candidate, n)
		for i, item := range r.Perm(n) {
			cands[i] = candidate{score: float64(r.IntN(1 + trial%20)), item: uint32(item)}
		}
		top.reset(k)
		for _, c := range cands {
			top.push(c)
		}
		got := top.sorted()
		want := slices.Clone(cands)
		slices.SortFunc(want, func(a, b candidate) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		want = want[:min(k, n)]
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d k=%d): got %v, want %v", trial, n, k, got, want)
		}
	}
}

func TestNeighborsList(t *testing.T) {
	nb := &Neighbors{
		Ptr:   []int64{0, 2, 2, 3},
		Item:  []uint32{1, 2, 0},
		Score: []float64{0.5, 0.25, 1},
		Count: []uint32{4, 2, 7},
	}
	if got, want := nb.NumItems(), 3; got != want {
		t.Fatalf("NumItems() = %d, want %d", got, want)
	}
	items, scores, counts := nb.List(0)
	if !slices.Equal(items, []uint32{1, 2}) || !slices.Equal(scores, []float64{0.5, 0.25}) || !slices.Equal(counts, []uint32{4, 2}) {
		t.Errorf("List(0) = %v %v %v", items, scores, counts)
	}
	if items, _, _ := nb.List(1); len(items) != 0 {
		t.Errorf("List(1) = %v, want empty", items)
	}
	// The returned slices are capped: appending must not clobber item 1's list.
	items, _, _ = nb.List(0)
	_ = append(items, 9)
	if got := nb.Item[2]; got != 0 {
		t.Errorf("append to List(0) overwrote Item[2] = %d", got)
	}
}
