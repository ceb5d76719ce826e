package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// This file holds the slow, obvious version of Similar that the tests
// compare the kernel against: dense matrices, gonum products, every pair
// scored, a full sort.

// dense returns the binary and valued users x items matrices of m.
func dense(m *Matrix) (bin, val *mat.Dense) {
	bin = mat.NewDense(max(m.NumUsers, 1), max(m.NumItems, 1), nil)
	val = mat.NewDense(max(m.NumUsers, 1), max(m.NumItems, 1), nil)
	for u := range m.NumUsers {
		for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
			bin.Set(u, int(m.UserItem[p]), 1)
			val.Set(u, int(m.UserItem[p]), float64(m.UserVal[p]))
		}
	}
	return bin, val
}

// refScores returns the full item x item score matrix for opt.Metric and
// the co-occurrence counts, computed densely.
func refScores(tb testing.TB, m *Matrix, opt Options) (score, co *mat.Dense) {
	tb.Helper()
	bin, val := dense(m)
	co = &mat.Dense{}
	co.Mul(bin.T(), bin)
	n := 0.0 // users with at least one item
	for u := range m.NumUsers {
		if mat.Sum(bin.RowView(u)) > 0 {
			n++
		}
	}
	ni := m.NumItems
	score = mat.NewDense(max(ni, 1), max(ni, 1), nil)
	switch opt.Metric {
	case BM25, TFIDF:
		return cosineOf(refWeighted(m, val, opt)), co
	case Cosine:
		if opt.Weighted {
			return cosineOf(val), co
		}
	case EASE:
		return refEASE(tb, bin, val, opt), co
	case RP3Beta:
		return refRP3Beta(bin, opt), co
	}
	for i := range ni {
		for j := range ni {
			ci, cj, c := co.At(i, i), co.At(j, j), co.At(i, j)
			var s float64
			switch opt.Metric {
			case Count:
				s = c
			case Cosine:
				s = c / math.Sqrt(ci*cj) // Similar multiplies by 1/sqrt instead
			case Jaccard:
				s = c / (ci + cj - c)
			case Lift:
				s = c / (ci * cj)
			case Inclusion:
				s = c / math.Min(ci, cj)
			case PMI:
				s = math.Log2(n * c / (ci * cj))
			case LLR:
				s = refLLR(c, ci-c, cj-c, n-ci-cj+c)
			}
			score.Set(i, j, s)
		}
	}
	return score, co
}

// refLLR is G² = 2 Σ k log(k / expected), the textbook form, which equals
// Mahout's entropy form up to rounding; it is clamped the same way.
func refLLR(k11, k12, k21, k22 float64) float64 {
	total := k11 + k12 + k21 + k22
	rows := [2]float64{k11 + k12, k21 + k22}
	cols := [2]float64{k11 + k21, k12 + k22}
	k := [2][2]float64{{k11, k12}, {k21, k22}}
	var g float64
	for r := range 2 {
		for c := range 2 {
			if k[r][c] > 0 {
				g += k[r][c] * math.Log(k[r][c]*total/(rows[r]*cols[c]))
			}
		}
	}
	return max(2*g, 0)
}

// refWeighted applies implicit's bm25_weight / tfidf_weight to the dense
// values, written as implicit writes them on the item x user matrix, and
// returns the weighted users x items matrix.
func refWeighted(m *Matrix, val *mat.Dense, opt Options) *mat.Dense {
	xt := mat.DenseCopyOf(val.T()) // items x users: documents x terms
	rows, cols := xt.Dims()
	nDocs := float64(m.NumItems)
	idf := make([]float64, cols)
	for u := range cols {
		nz := 0.0
		for i := range rows {
			if xt.At(i, u) != 0 {
				nz++
			}
		}
		idf[u] = math.Log(nDocs) - math.Log1p(nz)
	}
	rowSum := make([]float64, rows)
	avg := 0.0
	for i := range rows {
		rowSum[i] = mat.Sum(xt.RowView(i))
		avg += rowSum[i]
	}
	avg /= float64(rows)
	k1, b := opt.k1(), opt.b()
	w := mat.NewDense(rows, cols, nil)
	for i := range rows {
		lengthNorm := (1.0 - b) + b*rowSum[i]/avg
		for u := range cols {
			x := xt.At(i, u)
			if x == 0 {
				continue
			}
			if opt.Metric == TFIDF {
				w.Set(i, u, math.Sqrt(x)*idf[u])
			} else {
				w.Set(i, u, x*(k1+1.0)/(k1*lengthNorm+x)*idf[u])
			}
		}
	}
	return mat.DenseCopyOf(w.T())
}

// cosineOf returns the cosines between the columns of x.
func cosineOf(x *mat.Dense) *mat.Dense {
	var g mat.Dense
	g.Mul(x.T(), x)
	n, _ := g.Dims()
	out := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			out.Set(i, j, g.At(i, j)/(math.Sqrt(g.At(i, i))*math.Sqrt(g.At(j, j))))
		}
	}
	return out
}

// refEASE computes B = I - P diag(1/diag P) with a general dense inverse.
func refEASE(tb testing.TB, bin, val *mat.Dense, opt Options) *mat.Dense {
	x := bin
	if opt.Weighted {
		x = val
	}
	var g mat.Dense
	g.Mul(x.T(), x)
	n, _ := g.Dims()
	for i := range n {
		g.Set(i, i, g.At(i, i)+opt.lambda())
	}
	var p mat.Dense
	if err := p.Inverse(&g); err != nil {
		tb.Fatalf("inverse: %v", err)
	}
	b := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			if i != j {
				b.Set(i, j, -p.At(i, j)/p.At(j, j))
			}
		}
	}
	return b
}

// refRP3Beta is the reference implementation's RP3beta, densely: P_ui is
// the binary matrix with rows normalised to sum 1, P_iu its transpose
// normalised the same way, both raised elementwise to alpha;
// W = P_iu · P_ui, and column j is divided by c_j^beta.
func refRP3Beta(bin *mat.Dense, opt Options) *mat.Dense {
	rowNormPow := func(x mat.Matrix) *mat.Dense {
		out := mat.DenseCopyOf(x)
		r, _ := out.Dims()
		for i := range r {
			row := out.RawRowView(i)
			sum := 0.0
			for _, v := range row {
				sum += v
			}
			for k, v := range row {
				if v != 0 {
					row[k] = math.Pow(v/sum, opt.alpha())
				}
			}
		}
		return out
	}
	pui, piu := rowNormPow(bin), rowNormPow(bin.T())
	var w mat.Dense
	w.Mul(piu, pui)
	n, _ := w.Dims()
	for j := range n {
		pop := mat.Sum(bin.ColView(j))
		for i := range n {
			if pop > 0 {
				w.Set(i, j, w.At(i, j)/math.Pow(pop, opt.beta()))
			}
		}
	}
	return &w
}

// refSimilar is Similar by brute force: every pair scored, filtered, fully
// sorted and cut to TopN.
func refSimilar(tb testing.TB, m *Matrix, opt Options) (lists [][]candidate, score, co *mat.Dense) {
	tb.Helper()
	score, co = refScores(tb, m, opt)
	minSupport := float64(opt.minSupport())
	for i := range m.NumItems {
		var list []candidate
		for j := range m.NumItems {
			c, s := co.At(i, j), score.At(i, j)
			if j == i || c < minSupport || !(s >= opt.MinScore) || (opt.Metric == EASE && !(s > 0)) {
				continue
			}
			list = append(list, candidate{score: s, item: uint32(j), count: uint32(c)})
		}
		slices.SortFunc(list, func(a, b candidate) int {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return int(a.item) - int(b.item)
		})
		lists = append(lists, list[:min(len(list), opt.topN())])
	}
	return lists, score, co
}

// compareNeighbors checks got against the brute-force lists. With exact,
// lists must match item for item (binary metrics, whose scores both sides
// compute from the same integers). Otherwise an item may differ where two
// scores are within tol of each other, since the two sides sum in
// different orders.
func compareNeighbors(tb testing.TB, got *Neighbors, want [][]candidate, score, co *mat.Dense, tol float64, exact bool) {
	tb.Helper()
	if got, want := got.NumItems(), len(want); got != want {
		tb.Fatalf("NumItems() = %d, want %d", got, want)
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }
	for i, w := range want {
		items, scores, counts := got.List(i)
		if len(items) != len(w) {
			tb.Fatalf("item %d: %d neighbours %v, want %d %v", i, len(items), items, len(w), w)
		}
		for k := range w {
			j := items[k]
			if !close(scores[k], w[k].score) {
				tb.Fatalf("item %d rank %d: score %.17g, want %.17g", i, k, scores[k], w[k].score)
			}
			if j != w[k].item && (exact || !close(scores[k], score.At(i, int(j)))) {
				tb.Fatalf("item %d rank %d: item %d (%.17g), want %d (%.17g)", i, k, j, scores[k], w[k].item, w[k].score)
			}
			if got, want := counts[k], uint32(co.At(i, int(j))); got != want {
				tb.Fatalf("item %d neighbour %d: count %d, want %d", i, j, got, want)
			}
			if int(j) == i {
				tb.Fatalf("item %d is its own neighbour", i)
			}
		}
	}
}

// randomMatrix draws a users x items matrix in which each pair is present
// with a probability that falls with the item id (a popularity skew), with
// one to three events per present pair. Weights are small integers when
// weighted, nil otherwise.
func randomMatrix(r *rand.Rand, nu, ni int, density float64, weighted bool) *Matrix {
	var users, items []uint32
	var weights []float32
	for u := range nu {
		for i := range ni {
			if r.Float64() >= density*2/(1+float64(i)*4/float64(ni)) {
				continue
			}
			for range 1 + r.IntN(3) {
				users = append(users, uint32(u))
				items = append(items, uint32(i))
				weights = append(weights, float32(1+r.IntN(5)))
			}
		}
	}
	// Shuffle so NewMatrix sees events out of order.
	r.Shuffle(len(users), func(a, b int) {
		users[a], users[b] = users[b], users[a]
		items[a], items[b] = items[b], items[a]
		weights[a], weights[b] = weights[b], weights[a]
	})
	if !weighted {
		weights = nil
	}
	return NewMatrix(nu, ni, users, items, weights)
}
