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

// topK keeps the k best candidates offered. Instead of a heap it collects
// candidates that beat the worst kept one in a buffer of about 2k and, when
// the buffer fills, moves the k best to the front with a quickselect. Each
// accepted candidate then costs O(1) amortised instead of a heap's O(log
// k) swaps, which matters because on long rows most of the time goes to
// candidates that are accepted and later pushed out.
type topK struct {
	k     int
	buf   []candidate
	worst candidate // the k-th best after the last compaction
	full  bool      // worst is set
}

func (t *topK) reset(k int) {
	t.k, t.buf, t.full = k, t.buf[:0], false
	if cap(t.buf) < t.limit() {
		t.buf = make([]candidate, 0, t.limit())
	}
}

func (t *topK) limit() int { return 2*t.k + 32 }

func (t *topK) push(c candidate) {
	if t.full && !better(c, t.worst) {
		return
	}
	t.buf = append(t.buf, c)
	if len(t.buf) >= t.limit() {
		t.compact()
	}
}

// compact keeps the k best in buf and remembers the worst of them.
func (t *topK) compact() {
	if len(t.buf) <= t.k {
		return
	}
	selectBest(t.buf, t.k)
	t.buf = t.buf[:t.k]
	t.worst, t.full = t.buf[t.k-1], true
}

// sorted returns the kept candidates best first, reusing the buffer.
func (t *topK) sorted() []candidate {
	t.compact()
	slices.SortFunc(t.buf, func(a, b candidate) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return t.buf
}

// selectBest reorders c so that c[k-1] is the k-th best, everything before
// it better and everything after it worse (Hoare's quickselect with a
// median-of-three pivot). 0 < k <= len(c).
func selectBest(c []candidate, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if better(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if better(c[hi], c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if better(c[hi], c[mid]) {
			c[hi], c[mid] = c[mid], c[hi]
		}
		pivot := c[mid] // the median of the three
		i, j := lo, hi
		for i <= j {
			for better(c[i], pivot) {
				i++
			}
			for better(pivot, c[j]) {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}

// Truncate returns the first n neighbours of every list, in a new
// Neighbors. Lists are ranked by a total order, so the top n of lists
// computed with TopN >= n are the lists Similar computes with TopN = n:
// one computation can serve deep lists for user scoring and the lists
// that are published.
func (n *Neighbors) Truncate(k int) *Neighbors {
	out := &Neighbors{Ptr: make([]int64, len(n.Ptr))}
	for i := range n.NumItems() {
		out.Ptr[i+1] = out.Ptr[i] + min(n.Ptr[i+1]-n.Ptr[i], int64(max(k, 0)))
	}
	total := out.Ptr[len(out.Ptr)-1]
	out.Item, out.Score, out.Count = make([]uint32, 0, total), make([]float64, 0, total), make([]uint32, 0, total)
	for i := range n.NumItems() {
		lo := n.Ptr[i]
		hi := lo + out.Ptr[i+1] - out.Ptr[i]
		out.Item = append(out.Item, n.Item[lo:hi]...)
		out.Score = append(out.Score, n.Score[lo:hi]...)
		out.Count = append(out.Count, n.Count[lo:hi]...)
	}
	return out
}
