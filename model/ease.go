package model

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// easeRows fits Steck's EASE and returns rows that offer, for item i, every
// other item j with weight B_ij = -P_ij / P_jj > 0, where
// P = (XᵀX + λI)⁻¹. Row i of B says how much having i predicts j, which is
// the direction a "users who have i" list wants.
//
// The Gram matrix is built densely from the sparse rows, factorised with
// gonum's Cholesky and inverted in place, so the peak is two n x n float64
// matrices. The factorisation cannot be interrupted; ctx is checked around
// it.
func easeRows(ctx context.Context, m *Matrix, opt *Options) (func() rowFunc, error) {
	n := m.NumItems
	if n == 0 {
		return func() rowFunc { return func(int, *topK) {} }, nil
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
	// InverseTo fills the upper triangle; mirror it so rows are contiguous.
	err := parallelFor(ctx, n, opt.workers(), func(i int) {
		for j := range i {
			p[i*n+j] = p[j*n+i]
		}
	})
	if err != nil {
		return nil, fmt.Errorf("ease: %w", err)
	}
	diag := make([]float64, n)
	for j := range n {
		diag[j] = p[j*n+j]
	}
	minSupport, minScore := opt.minSupport(), opt.MinScore
	return func() rowFunc {
		acc := newAccumulator(n)
		return func(i int, top *topK) {
			acc.cooccur(m, m, i) // only for the counts reported with each neighbour
			row := p[i*n : (i+1)*n]
			for j, pij := range row {
				c := acc.counts[j]
				if j == i || c < minSupport {
					continue
				}
				s := -pij / diag[j]
				if s > 0 && s >= minScore {
					top.push(candidate{score: s, item: uint32(j), count: c})
				}
			}
			for _, j := range acc.touched {
				acc.counts[j] = 0
			}
		}
	}, nil
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
