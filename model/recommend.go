package model

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Affinity says how much each item of a user's history counts when
// Recommend scores candidates.
type Affinity int

// The affinities.
const (
	// AffinityWeighted uses the matrix values: summed event weights,
	// time-decayed if the caller decayed them (SAR's affinity).
	AffinityWeighted Affinity = iota
	// AffinityBinary counts 1 per distinct item.
	AffinityBinary
)

var affinityNames = [...]string{AffinityWeighted: "weighted", AffinityBinary: "binary"}

func (a Affinity) String() string {
	if a < 0 || int(a) >= len(affinityNames) {
		return fmt.Sprintf("Affinity(%d)", int(a))
	}
	return affinityNames[a]
}

// ParseAffinity returns the affinity named s.
func ParseAffinity(s string) (Affinity, error) {
	for i, name := range affinityNames {
		if strings.EqualFold(s, name) {
			return Affinity(i), nil
		}
	}
	return 0, fmt.Errorf("parse affinity: unknown affinity %q (want %s)", s, strings.Join(affinityNames[:], " or "))
}

// Recommendations holds a ranked list for every user in CSR form, best
// first.
type Recommendations struct {
	Ptr   []int64 // len NumUsers+1
	Item  []uint32
	Score []float64
}

// NumUsers returns the number of users the lists are for.
func (r *Recommendations) NumUsers() int { return len(r.Ptr) - 1 }

// List returns user u's recommendations, best first. The slices alias r.
func (r *Recommendations) List(u int) (items []uint32, scores []float64) {
	lo, hi := r.Ptr[u], r.Ptr[u+1]
	return r.Item[lo:hi:hi], r.Score[lo:hi:hi]
}

// Recommend ranks items for the given users (nil: every user) the way SAR
// does, but with the neighbour lists nb in place of SAR's full similarity
// matrix, so it scores exactly what a service reading the published lists
// can: user u's score for item j is
//
//	sum over u's items i in train of a_ui · (score of j in i's list)
//
// with a_ui from aff. Items u already has are removed and the k best kept,
// ties broken by ascending item id. A user whose items have no neighbours
// gets an empty list. The result does not depend on the number of workers.
func Recommend(ctx context.Context, train *Matrix, nb *Neighbors, users []uint32, k int, aff Affinity, workers int) (*Recommendations, error) {
	if nb.NumItems() != train.NumItems {
		return nil, fmt.Errorf("recommend: %d neighbour lists for %d items", nb.NumItems(), train.NumItems)
	}
	return rankUsers(ctx, train, users, k, workers, func(s *userScratch, u int) {
		sarScore(s, train, nb, u, aff)
	})
}

// RecommendLists recommends to each user the items of one shared list,
// such as a popularity list from Popular: user u gets list group[u] (nil
// group: list 0; a negative group: nothing) without the items u already
// has in train, in list order, cut to k.
func RecommendLists(ctx context.Context, train *Matrix, lists *Neighbors, group []int32, users []uint32, k, workers int) (*Recommendations, error) {
	if group != nil && len(group) != train.NumUsers {
		return nil, fmt.Errorf("recommend lists: %d group entries for %d users", len(group), train.NumUsers)
	}
	return rankUsers(ctx, train, users, k, workers, func(s *userScratch, u int) {
		g := groupOf(group, u)
		if g < 0 || int(g) >= lists.NumItems() {
			return
		}
		items, _, _ := lists.List(int(g))
		for q, j := range items {
			s.add(j, float64(len(items)-q)) // keeps the list's order
		}
	})
}

// userScratch is one worker's dense score row. Score and mark share a
// cell, so adding to a new item costs one cache miss, not two.
type userScratch struct {
	cell    []scoreCell
	touched []uint32
	top     topK
}

type scoreCell struct {
	score float64
	hit   bool
}

func (s *userScratch) add(j uint32, v float64) {
	c := &s.cell[j]
	if !c.hit {
		c.hit = true
		s.touched = append(s.touched, j)
	}
	c.score += v
}

// rank runs score for user u, drops the user's own items and returns the
// k best, best first, in a buffer reused by the next call.
func (s *userScratch) rank(train *Matrix, u, k int, score func(s *userScratch, u int)) []candidate {
	s.touched = s.touched[:0]
	score(s, u)
	for _, i := range train.UserItem[train.UserPtr[u]:train.UserPtr[u+1]] {
		s.cell[i] = scoreCell{} // seen: cleared, then skipped below
	}
	s.top.reset(k)
	for _, j := range s.touched {
		if c := s.cell[j]; c.hit {
			s.top.push(candidate{score: c.score, item: j})
		}
		s.cell[j] = scoreCell{}
	}
	return s.top.sorted()
}

func newUserScratch(numItems int) *userScratch {
	return &userScratch{cell: make([]scoreCell, numItems)}
}

// sarScore adds user u's SAR scores from the lists nb to s: for each item
// i of u in train, a_ui times the score of each j in i's list.
func sarScore(s *userScratch, train *Matrix, nb *Neighbors, u int, aff Affinity) {
	for p := train.UserPtr[u]; p < train.UserPtr[u+1]; p++ {
		a := 1.0
		if aff == AffinityWeighted {
			a = float64(train.UserVal[p])
		}
		items, scores, _ := nb.List(int(train.UserItem[p]))
		for q, j := range items {
			s.add(j, a*scores[q])
		}
	}
}

// rankUsers runs score for each user, drops the user's own items, keeps the
// k best and assembles the lists. Users are split into chunks that workers
// claim in turn; each user's output has its own slot.
func rankUsers(ctx context.Context, train *Matrix, users []uint32, k, workers int, score func(s *userScratch, u int)) (*Recommendations, error) {
	if k <= 0 {
		return nil, errors.New("recommend: k must be positive")
	}
	if users == nil {
		users = make([]uint32, train.NumUsers)
		for u := range users {
			users[u] = uint32(u)
		}
	}
	workers = orDefault(workers, (&Options{}).workers())
	lens := make([]int32, len(users))
	items := make([]uint32, len(users)*k)
	scores := make([]float64, len(users)*k)
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, (len(users)+chunk-1)/chunk) {
		wg.Go(func() {
			s := newUserScratch(train.NumItems)
			for ctx.Err() == nil {
				lo := int(next.Add(chunk) - chunk)
				if lo >= len(users) {
					return
				}
				for x := lo; x < min(lo+chunk, len(users)); x++ {
					best := s.rank(train, int(users[x]), k, score)
					lens[x] = int32(len(best))
					for q, c := range best {
						items[x*k+q], scores[x*k+q] = c.item, c.score
					}
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Recommendations{Ptr: make([]int64, train.NumUsers+1)}
	perUser := make([]int32, train.NumUsers)
	slot := make([]int, train.NumUsers)
	for x, u := range users {
		perUser[u], slot[u] = lens[x], x
	}
	for u := range train.NumUsers {
		r.Ptr[u+1] = r.Ptr[u] + int64(perUser[u])
		x := slot[u]
		r.Item = append(r.Item, items[x*k:x*k+int(perUser[u])]...)
		r.Score = append(r.Score, scores[x*k:x*k+int(perUser[u])]...)
	}
	return r, nil
}
