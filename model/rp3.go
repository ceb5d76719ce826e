package model

import "math"

// rp3Rows scores pairs by RP3beta (Christoffel et al. 2015, as in the
// reference implementation of Ferrari Dacrema et al., RecSys 2019): a walk
// item i -> user u -> item j with transition probabilities 1/c_i and
// 1/deg(u), each raised to alpha, and the arrival at j divided by
// c_j^beta:
//
//	W_ij = c_i^-alpha · c_j^-beta · sum over users u of both of deg(u)^-alpha
//
// m must be relabelled (it reads m.spans). The sum runs over i's users in
// ascending user id, the same order for any number of workers. The
// per-user factor is looked up by degree, so the inner loop adds a float
// next to cooccur's count and nothing else.
func rp3Rows(m *Matrix, opt *Options, orig []uint32) func() rowFunc {
	alpha, beta := opt.alpha(), opt.beta()
	deg := itemDegrees(m)
	rowF, colF := make([]float64, m.NumItems), make([]float64, m.NumItems)
	for i, d := range deg {
		rowF[i], colF[i] = math.Pow(float64(d), -alpha), math.Pow(float64(d), -beta)
	}
	maxDeg := int64(0)
	for u := range m.NumUsers {
		maxDeg = max(maxDeg, m.UserPtr[u+1]-m.UserPtr[u])
	}
	walk := make([]float64, maxDeg+1) // deg(u)^-alpha by degree
	for d := range walk {
		walk[d] = math.Pow(float64(d), -alpha)
	}
	minSupport, minScore := opt.minSupport(), opt.MinScore
	return func() rowFunc {
		acc := newAccumulator(m.NumItems)
		sum := make([]float64, m.NumItems)
		return func(i int, top *topK) {
			counts, buf, userItem := acc.counts, acc.buf, m.UserItem
			n := 0
			for _, sp := range m.spans[m.ItemPtr[i]:m.ItemPtr[i+1]] {
				f := walk[sp.hi-sp.lo]
				for _, j := range userItem[sp.lo:sp.hi] {
					c := counts[j]
					buf[n] = j // as in cooccur
					inc := 0
					if c == 0 {
						inc = 1
					}
					n += inc
					counts[j] = c + 1
					sum[j] += f
				}
			}
			ri := rowF[i]
			for _, j := range buf[:n] {
				c, w := counts[j], sum[j]
				counts[j], sum[j] = 0, 0
				if int(j) == i || c < minSupport {
					continue
				}
				if s := ri * w * colF[j]; s >= minScore {
					top.push(candidate{score: s, item: origID(orig, j), count: c})
				}
			}
		}
	}
}
