package model

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Similar computes the top-N neighbours of every item of m under
// opt.Metric. The result depends only on m and opt: any Workers value gives
// identical output.
//
// For every metric but EASE the cost is proportional to the sum over users
// of deg(u)^2 and the co-occurrence matrix is never built; see the package
// documentation.
func Similar(ctx context.Context, m *Matrix, opt Options) (*Neighbors, error) {
	if m == nil {
		return nil, errors.New("similar: nil matrix")
	}
	if err := opt.validate(); err != nil {
		return nil, fmt.Errorf("similar: %w", err)
	}
	if opt.Metric == EASE {
		w, err := FitEASE(ctx, m, opt)
		if err != nil {
			return nil, err
		}
		return w.Neighbors(ctx)
	}
	m = m.Downsample(opt.MaxUserItems, opt.Seed)
	var (
		newRow func() rowFunc
		orig   []uint32
	)
	switch {
	case opt.Metric == Cosine && opt.Weighted, opt.Metric.cosineFamily():
		newRow = weightedRows(m, &opt)
	case opt.Metric == RP3Beta:
		m, orig = relabel(m)
		newRow = rp3Rows(m, &opt, orig)
	default:
		m, orig = relabel(m)
		newRow = binaryRows(m, &opt, orig)
	}
	workers := opt.workers()
	keep := rowMask(m.NumItems, opt.Rows, orig)
	chunks := splitWork(m, m, workers, 0, keep)
	if orig != nil {
		m.ItemUser = nil // the relabelled copy's kernels read spans instead
	}
	nb, err := forEachRow(ctx, m, chunks, workers, opt.topN(), newRow, orig, keep, opt.Progress)
	if err != nil {
		return nil, fmt.Errorf("similar %s: %w", opt.Metric, err)
	}
	return nb, nil
}

// rowFunc offers item i's candidate neighbours to top. Each worker owns one
// rowFunc, and with it the scratch space it closes over.
type rowFunc func(i int, top *topK)

// chunk is the output of one contiguous range of items, in columns of
// exactly its size: 16 bytes a neighbour until assemble copies it out.
type chunk struct {
	lo, hi int     // items [lo, hi)
	lens   []int32 // neighbours per item
	item   []uint32
	score  []float64
	count  []uint32
}

// splitWork cuts the items of rows into contiguous ranges of roughly equal
// work, about 64 per worker, so that a run of expensive items (popular
// items often have the lowest ids) does not leave one worker busy while the
// others idle. Item i's work is the inner-loop steps of its row, the sum
// over its users in rows of their number of items in cols, plus extra per
// row; a row keep leaves out (see rowMask) costs nothing. rows and cols
// are the same matrix except for cross-occurrence.
func splitWork(rows, cols *Matrix, workers int, extra int64, keep []bool) []chunk {
	m := rows
	cost := func(i int) int64 {
		if keep != nil && !keep[i] {
			return 0
		}
		w := extra + 1
		for _, u := range m.ItemUser[m.ItemPtr[i]:m.ItemPtr[i+1]] {
			w += cols.UserPtr[u+1] - cols.UserPtr[u]
		}
		return w
	}
	var total int64
	for i := range m.NumItems {
		total += cost(i)
	}
	target := total/int64(workers*64) + 1
	var out []chunk
	lo, acc := 0, int64(0)
	for i := range m.NumItems {
		acc += cost(i)
		if acc >= target || i+1-lo >= 4096 || i+1 == m.NumItems {
			out = append(out, chunk{lo: lo, hi: i + 1})
			lo, acc = i+1, 0
		}
	}
	return out
}

// forEachRow runs row over every item on the given number of workers.
// Workers claim chunks in turn; each chunk's output lands in its own slot,
// so the assembled result does not depend on which worker ran what. The
// context is checked before each chunk. orig, when not nil, maps m's items
// to the ids of the result (see relabel). keep, when not nil, names the
// rows to compute; the others get empty lists.
func forEachRow(ctx context.Context, m *Matrix, chunks []chunk, workers, topN int, newRow func() rowFunc, orig []uint32, keep []bool, progress func(done, total int)) (*Neighbors, error) {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(chunks)) {
		wg.Go(func() {
			row := newRow()
			top := &topK{}
			var cands []candidate // the current chunk's, reused
			for ctx.Err() == nil {
				c := int(next.Add(1) - 1)
				if c >= len(chunks) {
					return
				}
				out := &chunks[c]
				out.lens = make([]int32, out.hi-out.lo)
				cands = cands[:0]
				for i := out.lo; i < out.hi; i++ {
					if keep != nil && !keep[i] {
						continue // lens[i-out.lo] stays 0
					}
					top.reset(topN)
					row(i, top)
					best := top.sorted()
					out.lens[i-out.lo] = int32(len(best))
					cands = append(cands, best...)
				}
				out.store(cands)
				if progress != nil {
					progress(int(done.Add(int64(out.hi-out.lo))), m.NumItems)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return assemble(m.NumItems, chunks, orig), nil
}

// store keeps the chunk's candidates as columns.
func (c *chunk) store(cands []candidate) {
	c.item, c.score, c.count = make([]uint32, len(cands)), make([]float64, len(cands)), make([]uint32, len(cands))
	for k, cd := range cands {
		c.item[k], c.score[k], c.count[k] = cd.item, cd.score, cd.count
	}
}

// assemble joins the chunks' lists. Row i of the chunks belongs to item i,
// or to item orig[i] when the rows were computed on a relabelled matrix.
// It builds one column at a time and drops the chunks' copy of it as it
// goes, so that the lists are held about once and a half, not twice.
func assemble(numItems int, chunks []chunk, orig []uint32) *Neighbors {
	id := func(i int) int {
		if orig == nil {
			return i
		}
		return int(orig[i])
	}
	nb := &Neighbors{Ptr: make([]int64, numItems+1)}
	for _, c := range chunks {
		for r, n := range c.lens {
			nb.Ptr[id(c.lo+r)+1] = int64(n)
		}
	}
	for i := range numItems {
		nb.Ptr[i+1] += nb.Ptr[i]
	}
	total := nb.Ptr[numItems]
	nb.Item = assembleColumn(nb.Ptr, chunks, total, id, func(c *chunk) *[]uint32 { return &c.item })
	nb.Count = assembleColumn(nb.Ptr, chunks, total, id, func(c *chunk) *[]uint32 { return &c.count })
	nb.Score = assembleColumn(nb.Ptr, chunks, total, id, func(c *chunk) *[]float64 { return &c.score })
	return nb
}

// rowMask returns which of m's rows to compute for Options.Rows, in m's
// numbering (orig maps it back to the caller's, see relabel), or nil for
// every row.
func rowMask(numItems int, rows func(item int) bool, orig []uint32) []bool {
	if rows == nil {
		return nil
	}
	keep := make([]bool, numItems)
	for i := range keep {
		keep[i] = rows(int(origID(orig, uint32(i))))
	}
	return keep
}

// assembleColumn copies one column of every chunk to its place in the
// lists and drops the chunk's copy.
func assembleColumn[T any](ptr []int64, chunks []chunk, total int64, id func(int) int, col func(*chunk) *[]T) []T {
	out := make([]T, total)
	for k := range chunks {
		c := &chunks[k]
		src, off := col(c), int64(0)
		for r, n := range c.lens {
			copy(out[ptr[id(c.lo+r)]:], (*src)[off:off+int64(n)])
			off += int64(n)
		}
		*src = nil
	}
	return out
}

// accumulator is a worker's dense scratch row: counts[j] is c_ij for the
// current item i, and touched lists the j with counts[j] > 0 so that
// resetting costs as much as filling.
type accumulator struct {
	counts  []uint32
	touched []uint32
	buf     []uint32 // backing store for touched, with one spare slot
}

func newAccumulator(numItems int) *accumulator {
	return &accumulator{counts: make([]uint32, numItems), buf: make([]uint32, numItems+1)}
}

// cooccur fills the accumulator with c_ij for every j sharing a user with i:
// i's users are taken from rows, their items from cols (the same matrix
// except for cross-occurrence). This loop is where the sum of deg(u)^2 is
// spent. Whether j is new is close to a coin toss on long-tailed data, so
// the loop writes j to the touched buffer unconditionally and only advances
// past it when it was new, which the compiler turns into a conditional
// move instead of a mispredicted branch.
func (a *accumulator) cooccur(rows, cols *Matrix, i int) {
	if rows == cols && rows.spans != nil {
		a.cooccurSpans(rows, i)
		return
	}
	counts, buf := a.counts, a.buf
	n := 0
	for _, u := range rows.ItemUser[rows.ItemPtr[i]:rows.ItemPtr[i+1]] {
		for _, j := range cols.UserItem[cols.UserPtr[u]:cols.UserPtr[u+1]] {
			c := counts[j]
			buf[n] = j
			inc := 0
			if c == 0 {
				inc = 1
			}
			n += inc
			counts[j] = c + 1
		}
	}
	a.touched = buf[:n]
}

// cooccurSpans is cooccur on a relabelled matrix, reading each user's row
// bounds from m.spans.
func (a *accumulator) cooccurSpans(m *Matrix, i int) {
	counts, buf, userItem := a.counts, a.buf, m.UserItem
	n := 0
	for _, sp := range m.spans[m.ItemPtr[i]:m.ItemPtr[i+1]] {
		for _, j := range userItem[sp.lo:sp.hi] {
			c := counts[j]
			buf[n] = j
			inc := 0
			if c == 0 {
				inc = 1
			}
			n += inc
			counts[j] = c + 1
		}
	}
	a.touched = buf[:n]
}

// binaryRows scores pairs from c_i, c_j, c_ij and N alone. The candidates
// carry orig[j] when orig is not nil (m relabelled).
func binaryRows(m *Matrix, opt *Options, orig []uint32) func() rowFunc {
	deg := itemDegrees(m)
	sc := newScorer(opt.Metric, int64(m.ActiveUsers()), deg, deg)
	minSupport, minScore := opt.minSupport(), opt.MinScore
	return func() rowFunc {
		acc := newAccumulator(m.NumItems)
		return func(i int, top *topK) {
			acc.cooccur(m, m, i)
			if sc.metric == Cosine {
				cosineRow(acc, top, i, sc.rowRs[i], sc.colRs, minSupport, minScore, orig)
				return
			}
			ci := int64(deg[i])
			for _, j := range acc.touched {
				c := acc.counts[j]
				acc.counts[j] = 0
				if int(j) == i || c < minSupport {
					continue
				}
				s := sc.score(uint32(i), j, ci, int64(deg[j]), int64(c))
				if s >= minScore {
					top.push(candidate{score: s, item: origID(orig, j), count: c})
				}
			}
		}
	}
}

// cosineRow is the scoring loop of binaryRows for cosine, the default
// metric, without the metric switch and the degree lookups: the same
// arithmetic as scorer.score, in the same order.
func cosineRow(acc *accumulator, top *topK, i int, rsI float64, rs []float64, minSupport uint32, minScore float64, orig []uint32) {
	counts := acc.counts
	for _, j := range acc.touched {
		c := counts[j]
		counts[j] = 0
		if int(j) == i || c < minSupport {
			continue
		}
		if s := float64(c) * rsI * rs[j]; s >= minScore {
			top.push(candidate{score: s, item: origID(orig, j), count: c})
		}
	}
}

func origID(orig []uint32, j uint32) uint32 {
	if orig == nil {
		return j
	}
	return orig[j]
}

// itemDegrees returns c_i for every item, compact so that the random
// lookups of the scoring loop stay in cache.
func itemDegrees(m *Matrix) []uint32 {
	deg := make([]uint32, m.NumItems)
	for i := range deg {
		deg[i] = uint32(m.ItemPtr[i+1] - m.ItemPtr[i])
	}
	return deg
}

// weightedRows scores pairs by the cosine of weighted item columns:
// dot(w_i, w_j) / (|w_i| |w_j|), accumulated alongside c_ij.
func weightedRows(m *Matrix, opt *Options) func() rowFunc {
	w := newWeights(m, opt)
	minSupport, minScore := opt.minSupport(), opt.MinScore
	return func() rowFunc {
		acc := newAccumulator(m.NumItems)
		dot := make([]float64, m.NumItems)
		return func(i int, top *topK) {
			counts, buf, n := acc.counts, acc.buf, 0
			for p := m.ItemPtr[i]; p < m.ItemPtr[i+1]; p++ {
				u, wi := m.ItemUser[p], w.item[p]
				lo, hi := m.UserPtr[u], m.UserPtr[u+1]
				for q, j := range m.UserItem[lo:hi] {
					c := counts[j]
					buf[n] = j // as in cooccur
					inc := 0
					if c == 0 {
						inc = 1
					}
					n += inc
					counts[j] = c + 1
					dot[j] += wi * w.user[lo+int64(q)]
				}
			}
			for _, j := range buf[:n] {
				c, d := counts[j], dot[j]
				counts[j], dot[j] = 0, 0
				if int(j) == i || c < minSupport {
					continue
				}
				// A zero norm gives NaN, which no comparison keeps.
				s := d / (w.norm[i] * w.norm[j])
				if s >= minScore {
					top.push(candidate{score: s, item: j, count: c})
				}
			}
		}
	}
}
