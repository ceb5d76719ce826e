package model

import (
	"context"
	"errors"
	"fmt"
)

// CrossOccurrence computes, for every item x of a, the TopN items y of b
// that the same users have, as Mahout's cross-occurrence (A'B) does: a and
// b are users x items matrices over the same users, typically one event
// (views) and the purchase event, and the result answers "users who viewed
// x bought y".
//
// Pairs are scored from binary counts like Similar's binary metrics, with
//
//	c_x  = users who have x in a
//	c_y  = users who have y in b
//	c_xy = users who have x in a and y in b
//	N    = users who have at least one item in a or in b
//
// so LLR's table is k11=c_xy, k12=c_x-c_xy, k21=c_y-c_xy,
// k22=N-c_x-c_y+c_xy. opt.Metric must be one of count, cosine, jaccard,
// lift, inclusion, pmi or llr; Options.Weighted is ignored. Unlike Similar,
// y may be x itself: viewing x and buying x is a pair like any other, and
// it is often the strongest. MinSupport, MinScore, TopN, MaxUserItems (which
// down-samples a and b alike), Rows and Workers mean what they mean for Similar,
// and the result is again identical for any number of workers.
//
// The lists need not be in time order: a user who bought y and later viewed
// x counts too, as in Mahout.
func CrossOccurrence(ctx context.Context, a, b *Matrix, opt Options) (*Neighbors, error) {
	if a == nil || b == nil {
		return nil, errors.New("cross-occurrence: nil matrix")
	}
	if a.NumUsers != b.NumUsers {
		return nil, fmt.Errorf("cross-occurrence: %d users in a, %d in b; want the same users", a.NumUsers, b.NumUsers)
	}
	if err := opt.validate(); err != nil {
		return nil, fmt.Errorf("cross-occurrence: %w", err)
	}
	if opt.Metric > LLR {
		return nil, fmt.Errorf("cross-occurrence: metric %v is not a count metric; want count, cosine, jaccard, lift, inclusion, pmi or llr", opt.Metric)
	}
	a = a.Downsample(opt.MaxUserItems, opt.Seed)
	b = b.Downsample(opt.MaxUserItems, opt.Seed)
	n := 0
	for u := range a.NumUsers {
		if a.UserPtr[u+1] > a.UserPtr[u] || b.UserPtr[u+1] > b.UserPtr[u] {
			n++
		}
	}
	degA, degB := itemDegrees(a), itemDegrees(b)
	sc := newScorer(opt.Metric, int64(n), degA, degB)
	minSupport, minScore := opt.minSupport(), opt.MinScore
	newRow := func() rowFunc {
		acc := newAccumulator(b.NumItems)
		return func(x int, top *topK) {
			acc.cooccur(a, b, x)
			cx := int64(degA[x])
			for _, y := range acc.touched {
				c := acc.counts[y]
				acc.counts[y] = 0
				if c < minSupport {
					continue
				}
				s := sc.score(uint32(x), y, cx, int64(degB[y]), int64(c))
				if s >= minScore {
					top.push(candidate{score: s, item: y, count: c})
				}
			}
		}
	}
	workers := opt.workers()
	keep := rowMask(a.NumItems, opt.Rows, nil)
	nb, err := forEachRow(ctx, a, splitWork(a, b, workers, 0, keep), workers, opt.topN(), newRow, nil, keep, opt.Progress)
	if err != nil {
		return nil, fmt.Errorf("cross-occurrence %s: %w", opt.Metric, err)
	}
	return nb, nil
}
