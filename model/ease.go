package model

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// EASEWeights is a fitted EASE model: Steck's item x item matrix B,
// B_ij = -P_ij / P_jj with P = (XᵀX + λI)⁻¹ and a zero diagonal. Row i says
// how much having i predicts each j. It holds NumItems² float64s; user
// lists can be scored from all of it ([UserLists]), and Similar keeps the
// positive entries of each row.
type EASEWeights struct {
	n   int
	b   []float64 // row-major
	m   *Matrix   // the (down-sampled) matrix it was fitted on
	opt Options
}

// NumItems returns the number of items, the size of B.
func (w *EASEWeights) NumItems() int { return w.n }

// Row returns row i of B. It aliases w.
func (w *EASEWeights) Row(i int) []float64 { return w.b[i*w.n : (i+1)*w.n : (i+1)*w.n] }

// FitEASE fits EASE on m with opt (Lambda, Weighted, MaxUserItems, Seed,
// MaxDenseItems, Workers; opt.Metric is ignored). Above opt.MaxDenseItems it
// returns a [DenseSizeError].
func FitEASE(ctx context.Context, m *Matrix, opt Options) (*EASEWeights, error) {
	if m == nil {
		return nil, errors.New("ease: nil matrix")
	}
	opt.Metric = EASE
	if err := opt.validate(); err != nil {
		return nil, fmt.Errorf("ease: %w", err)
	}
	if limit := opt.maxDenseItems(); m.NumItems > limit {
		return nil, &DenseSizeError{Items: m.NumItems, MaxItems: limit}
	}
	return fitEASE(ctx, m.Downsample(opt.MaxUserItems, opt.Seed), &opt)
}

// Neighbors returns the lists Similar computes for EASE with the options
// w was fitted with: the TopN largest positive entries of each row of B.
func (w *EASEWeights) Neighbors(ctx context.Context) (*Neighbors, error) {
	workers := w.opt.workers()
	keep := rowMask(w.m.NumItems, w.opt.Rows, nil)
	nb, err := forEachRow(ctx, w.m, splitWork(w.m, w.m, workers, int64(w.n), keep), workers, w.opt.topN(), w.rows, nil, keep, w.opt.Progress)
	if err != nil {
		return nil, fmt.Errorf("similar %s: %w", EASE, err)
	}
	return nb, nil
}

// fitEASE builds the Gram matrix densely from the sparse rows, factorises
// it with gonum's Cholesky, inverts it in place and turns P into B, so
// the peak is two n x n float64 matrices. The factorisation cannot be
// interrupted; ctx is checked around it.
func fitEASE(ctx context.Context, m *Matrix, opt *Options) (*EASEWeights, error) {
	n := m.NumItems
	w := &EASEWeights{n: n, m: m, opt: *opt}
	if n == 0 {
		return w, nil
	}
	p := make([]float64, n*n)
	if err := gram(ctx, m, opt, p); err != nil {
		return nil, fmt.Errorf("ease: %w", err)
	}
	for i := range n {
		p[i*n+i] += opt.lambda()
	}
	sym := mat.NewSymDense(n, p)
	var chol mat.Cholesky
	if !chol.Factorize(sym) {
		return nil, errors.New("ease: gram matrix is not positive definite")
	}
	if err := chol.InverseTo(sym); err != nil {
		return nil, fmt.Errorf("ease: invert gram matrix: %w", err)
	}
	chol.Reset()
	diag := make([]float64, n)
	for j := range n {
		diag[j] = p[j*n+j]
	}
	// InverseTo fills the upper triangle; mirror it so rows are contiguous,
	// then divide by the diagonal (a second pass: the first reads the upper
	// triangle the second rewrites).
	err := parallelFor(ctx, n, opt.workers(), func(i int) {
		for j := range i {
			p[i*n+j] = p[j*n+i]
		}
	})
	if err != nil {
		return nil, fmt.Errorf("ease: %w", err)
	}
	err = parallelFor(ctx, n, opt.workers(), func(i int) {
		row := p[i*n : (i+1)*n]
		for j := range row {
			row[j] = -row[j] / diag[j]
		}
		row[i] = 0
	})
	if err != nil {
		return nil, fmt.Errorf("ease: %w", err)
	}
	w.b = p
	return w, nil
}

// rows offers, for item i, every other item j with B_ij > 0. Row i of B
// says how much having i predicts j, which is the direction a "users who
// have i" list wants.
func (w *EASEWeights) rows() rowFunc {
	m, n := w.m, w.n
	minSupport, minScore := w.opt.minSupport(), w.opt.MinScore
	acc := newAccumulator(n)
	return func(i int, top *topK) {
		acc.cooccur(m, m, i) // only for the counts reported with each neighbour
		for j, s := range w.Row(i) {
			c := acc.counts[j]
			if j == i || c < minSupport {
				continue
			}
			if s > 0 && s >= minScore {
				top.push(candidate{score: s, item: uint32(j), count: c})
			}
		}
		for _, j := range acc.touched {
			acc.counts[j] = 0
		}
	}
}

// gram writes XᵀX into the dense n x n slice g, row i by row i in parallel:
// row i is item i's co-occurrence row, accumulated in place.
func gram(ctx context.Context, m *Matrix, opt *Options, g []float64) error {
	n := m.NumItems
	weighted := opt.Weighted
	return parallelFor(ctx, n, opt.workers(), func(i int) {
		row := g[i*n : (i+1)*n]
		for p := m.ItemPtr[i]; p < m.ItemPtr[i+1]; p++ {
			u := m.ItemUser[p]
			items := m.UserItem[m.UserPtr[u]:m.UserPtr[u+1]]
			if !weighted {
				for _, j := range items {
					row[j]++
				}
				continue
			}
			wi := float64(m.ItemVal[p])
			for q, j := range items {
				row[j] += wi * float64(m.UserVal[m.UserPtr[u]+int64(q)])
			}
		}
	})
}

// parallelFor calls fn(i) for i in [0, n) on the given number of workers,
// in chunks, checking ctx before each chunk.
func parallelFor(ctx context.Context, n, workers int, fn func(i int)) error {
	size := min(max(n/(workers*32), 1), 1024)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, (n+size-1)/size) {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(int64(size)) - int64(size))
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+size, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}
