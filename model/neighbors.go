package model

import "slices"

// Neighbors holds the top-N list of every item in CSR form, best first; ties
// broken by ascending item id; self excluded.
type Neighbors struct {
	Ptr   []int64 // len NumItems+1; item i's neighbours are [Ptr[i], Ptr[i+1])
	Item  []uint32
	Score []float64
	Count []uint32 // co-occurrence count c_ij (binary: users who have both)
}

// NumItems returns the number of items the lists were computed for.
func (n *Neighbors) NumItems() int { return len(n.Ptr) - 1 }

// List returns item i's neighbours, best first. The slices alias n.
func (n *Neighbors) List(i int) (items []uint32, scores []float64, counts []uint32) {
	lo, hi := n.Ptr[i], n.Ptr[i+1]
	return n.Item[lo:hi:hi], n.Score[lo:hi:hi], n.Count[lo:hi:hi]
}

// candidate is one neighbour while a list is being built.
type candidate struct {
	score float64
	item  uint32
	count uint32
}

// better is the order of a finished list: higher score first, then lower
// item id. It is total, so the kept set does not depend on the order in
// which candidates arrive.
func better(a, b candidate) bool {
	return a.score > b.score || (a.score == b.score && a.item < b.item)
}

// topK keeps the k best candidates seen in a min-heap whose root is the
// worst kept one.
type topK struct {
	k int
	h []candidate
}

func (t *topK) reset(k int) { t.k, t.h = k, t.h[:0] }

func (t *topK) push(c candidate) {
	if len(t.h) < t.k {
		t.h = append(t.h, c)
		t.up(len(t.h) - 1)
		return
	}
	if t.k == 0 || !better(c, t.h[0]) {
		return
	}
	t.h[0] = c
	t.down(0)
}

func (t *topK) up(j int) {
	h := t.h
	for j > 0 {
		p := (j - 1) / 2
		if !better(h[p], h[j]) {
			break
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
}

func (t *topK) down(j int) {
	h := t.h
	for {
		l := 2*j + 1
		if l >= len(h) {
			return
		}
		w := l // the worse child
		if r := l + 1; r < len(h) && better(h[l], h[r]) {
			w = r
		}
		if !better(h[j], h[w]) {
			return
		}
		h[j], h[w] = h[w], h[j]
		j = w
	}
}

// sorted returns the kept candidates best first, reusing the heap's storage.
func (t *topK) sorted() []candidate {
	slices.SortFunc(t.h, func(a, b candidate) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return t.h
}
