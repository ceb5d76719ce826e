package model

import "math"

// weights holds a re-weighted copy of a matrix's values in both
// orientations (user[p] goes with UserItem[p], item[p] with ItemUser[p])
// and the Euclidean norm of every item column.
type weights struct {
	user, item []float64
	norm       []float64
}

// newWeights applies the weighting opt.Metric calls for. Both orientations
// evaluate the same expression on the same inputs, so they agree bit for bit
// and the scores come out exactly symmetric.
func newWeights(m *Matrix, opt *Options) *weights {
	var f func(u, i uint32, x float32) float64
	switch opt.Metric {
	case BM25:
		f = bm25Weight(m, opt.k1(), opt.b())
	case TFIDF:
		idf := userIDF(m)
		f = func(u, _ uint32, x float32) float64 { return math.Sqrt(float64(x)) * idf[u] }
	default: // weighted cosine
		f = func(_, _ uint32, x float32) float64 { return float64(x) }
	}
	w := &weights{
		user: make([]float64, len(m.UserItem)),
		item: make([]float64, len(m.ItemUser)),
		norm: make([]float64, m.NumItems),
	}
	for u := range m.NumUsers {
		for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
			w.user[p] = f(uint32(u), m.UserItem[p], m.UserVal[p])
		}
	}
	for i := range m.NumItems {
		var ss float64
		for p := m.ItemPtr[i]; p < m.ItemPtr[i+1]; p++ {
			v := f(m.ItemUser[p], uint32(i), m.ItemVal[p])
			w.item[p] = v
			ss += v * v
		}
		w.norm[i] = math.Sqrt(ss)
	}
	return w
}

// userIDF is implicit's idf with items as documents and users as terms:
// log(NumItems) - log1p(deg(u)). It is negative for a user with more than
// NumItems-1 items.
func userIDF(m *Matrix) []float64 {
	idf := make([]float64, m.NumUsers)
	logN := math.Log(float64(m.NumItems))
	for u := range m.NumUsers {
		idf[u] = logN - math.Log1p(float64(m.UserPtr[u+1]-m.UserPtr[u]))
	}
	return idf
}

// bm25Weight is implicit's bm25_weight on the item x user matrix:
// x (K1+1) / (K1 L_i + x) idf_u, with the length norm
// L_i = (1-B) + B len_i/avg(len), where len_i sums item i's values and the
// average runs over all NumItems items.
func bm25Weight(m *Matrix, k1, b float64) func(u, i uint32, x float32) float64 {
	idf := userIDF(m)
	length := make([]float64, m.NumItems)
	var total float64
	for i := range m.NumItems {
		for p := m.ItemPtr[i]; p < m.ItemPtr[i+1]; p++ {
			length[i] += float64(m.ItemVal[p])
		}
		total += length[i]
	}
	avg := total / float64(m.NumItems)
	norm := make([]float64, m.NumItems)
	for i, l := range length {
		norm[i] = (1 - b) + b*l/avg
	}
	return func(u, i uint32, x float32) float64 {
		v := float64(x)
		return v * (k1 + 1) / (k1*norm[i] + v) * idf[u]
	}
}
