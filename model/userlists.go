package model

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gonum.org/v1/gonum/blas/blas64"
)

// UserScorer is a fitted model that per-user lists can be scored from:
// [*Neighbors] (SAR's sum over the user's items of affinity times list
// score, as [Recommend] does) or [*EASEWeights] (the user's row times the
// whole of B).
type UserScorer interface {
	NumItems() int
	// userRow returns one worker's scoring function, which returns user
	// u's k best unseen items, best first, in a buffer it reuses.
	userRow(m *Matrix, aff Affinity, k int) func(u int) []candidate
}

var (
	_ UserScorer = (*Neighbors)(nil)
	_ UserScorer = (*EASEWeights)(nil)
)

// UserListOptions configures UserLists. The zero value scores every user
// with history, 20 items each, with weighted affinity, on every core.
type UserListOptions struct {
	K         int      // items per user; default 20 when 0
	Users     []uint32 // users to score, ascending; nil: every user with at least one item
	Affinity  Affinity // what each item of the history counts for
	Workers   int      // default runtime.GOMAXPROCS(0)
	BlockSize int      // users per block; default 1024 when 0
}

// DefaultUserK is the default length of a user's list. DefaultUserDepth is
// how many neighbours per item a caller should compute for scoring user
// lists from neighbour lists: deeper than the published lists, since a
// user's list sums several of them, and the tail of each still counts.
const (
	DefaultUserK     = 20
	DefaultUserDepth = 200
)

func (o *UserListOptions) k() int         { return orDefault(o.K, DefaultUserK) }
func (o *UserListOptions) blockSize() int { return orDefault(o.BlockSize, 1024) }
func (o *UserListOptions) workers() int   { return orDefault(o.Workers, (&Options{}).workers()) }

// UserBlock holds the lists of a run of users in CSR form, best first,
// ties broken by ascending item id. UserLists reuses its storage once the
// callback returns.
type UserBlock struct {
	Users []uint32 // ascending
	Ptr   []int    // len(Users)+1; user Users[x]'s list is [Ptr[x], Ptr[x+1])
	Item  []uint32
	Score []float64
}

// Len returns the number of users in the block.
func (b *UserBlock) Len() int { return len(b.Users) }

// List returns the x-th user of the block and its list. The slices alias b.
func (b *UserBlock) List(x int) (user uint32, items []uint32, scores []float64) {
	lo, hi := b.Ptr[x], b.Ptr[x+1]
	return b.Users[x], b.Item[lo:hi:hi], b.Score[lo:hi:hi]
}

// UserLists computes, for every user of opt.Users (default: every user
// with history in m), the opt.K best items the user does not have in m,
// with scores, and hands them to emit block by block, in ascending user
// order, from the calling goroutine. A user may get fewer than K items, or
// none, when the model has nothing more to say about its history.
//
// From [*Neighbors] the score of j is the sum over the user's items i of
// a_ui times j's score in i's list (every item in those lists is a
// candidate; what Recommend computes), so lists computed deeper than the
// published ones rank better (see [Neighbors.Truncate]). From
// [*EASEWeights] it is the user's row of a_ui times B, every item with a
// positive score a candidate: the full model, not its neighbour lists.
// a_ui is the matrix value with AffinityWeighted, 1 with AffinityBinary.
//
// Workers score blocks of opt.BlockSize users concurrently while emit
// runs; at most two blocks per worker exist at a time, so memory does not
// grow with the number of users. The lists do not depend on the number of
// workers. An error from emit stops the work and is returned; so is the
// context's.
func UserLists(ctx context.Context, m *Matrix, src UserScorer, opt UserListOptions, emit func(*UserBlock) error) error {
	if m == nil || src == nil {
		return errors.New("user lists: nil matrix or model")
	}
	if src.NumItems() != m.NumItems {
		return fmt.Errorf("user lists: model has %d items, matrix %d", src.NumItems(), m.NumItems)
	}
	if opt.K < 0 || opt.BlockSize < 0 || opt.Workers < 0 {
		return fmt.Errorf("user lists: negative k %d, block size %d or workers %d", opt.K, opt.BlockSize, opt.Workers)
	}
	users := opt.Users
	if users == nil {
		for u := range m.NumUsers {
			if m.UserPtr[u+1] > m.UserPtr[u] {
				users = append(users, uint32(u))
			}
		}
	}
	for x, u := range users {
		if int(u) >= m.NumUsers || (x > 0 && u <= users[x-1]) {
			return fmt.Errorf("user lists: users must be ascending ids below %d; got %d at %d", m.NumUsers, u, x)
		}
	}
	p := &userPipeline{m: m, src: src, aff: opt.Affinity, k: opt.k(), users: users, size: opt.blockSize()}
	return p.run(ctx, opt.workers(), emit)
}

// userPipeline computes blocks on workers and emits them in order.
type userPipeline struct {
	m     *Matrix
	src   UserScorer
	aff   Affinity
	k     int
	users []uint32
	size  int
}

// userJob is one block in flight; done is closed when it is computed.
type userJob struct {
	blk  *UserBlock
	done chan struct{}
}

func (p *userPipeline) run(ctx context.Context, workers int, emit func(*UserBlock) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ring := 2 * workers
	free := make(chan *UserBlock, ring)
	for range ring {
		free <- &UserBlock{}
	}
	jobs := make(chan userJob, ring)
	order := make(chan userJob, ring)
	go func() { // dispatcher: takes a free buffer for each block, in order
		defer close(jobs)
		defer close(order)
		for lo := 0; lo < len(p.users); lo += p.size {
			var blk *UserBlock
			select {
			case blk = <-free:
			case <-ctx.Done():
				return
			}
			blk.Users = p.users[lo:min(lo+p.size, len(p.users))]
			j := userJob{blk: blk, done: make(chan struct{})}
			order <- j // never blocks: at most ring jobs are out
			jobs <- j
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			row := p.src.userRow(p.m, p.aff, p.k)
			for j := range jobs {
				if ctx.Err() == nil {
					p.compute(j.blk, row)
				}
				close(j.done)
			}
		})
	}
	err := p.emitInOrder(ctx, order, free, emit)
	cancel(err)
	for range order { // let the dispatcher finish
	}
	wg.Wait()
	return err
}

func (p *userPipeline) emitInOrder(ctx context.Context, order <-chan userJob, free chan<- *UserBlock, emit func(*UserBlock) error) error {
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := emit(j.blk); err != nil {
			return err
		}
		free <- j.blk
	}
	return nil
}

// compute fills blk's lists for blk.Users.
func (p *userPipeline) compute(blk *UserBlock, row func(u int) []candidate) {
	blk.Ptr = append(blk.Ptr[:0], 0)
	blk.Item, blk.Score = blk.Item[:0], blk.Score[:0]
	for _, u := range blk.Users {
		for _, c := range row(int(u)) {
			blk.Item = append(blk.Item, c.item)
			blk.Score = append(blk.Score, c.score)
		}
		blk.Ptr = append(blk.Ptr, len(blk.Item))
	}
}

// UserRecommendations collects UserLists into Recommendations over all of
// m's users (users not scored get empty lists), for evaluation.
func UserRecommendations(ctx context.Context, m *Matrix, src UserScorer, opt UserListOptions) (*Recommendations, error) {
	lens := make([]int, m.NumUsers)
	var items []uint32
	var scores []float64
	err := UserLists(ctx, m, src, opt, func(b *UserBlock) error {
		for x := range b.Len() {
			u, it, sc := b.List(x)
			lens[u] = len(it)
			items, scores = append(items, it...), append(scores, sc...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := &Recommendations{Ptr: make([]int64, m.NumUsers+1), Item: items, Score: scores}
	for u, n := range lens {
		r.Ptr[u+1] = r.Ptr[u] + int64(n)
	}
	return r, nil
}

// userRow scores from the lists, as Recommend does.
func (n *Neighbors) userRow(m *Matrix, aff Affinity, k int) func(u int) []candidate {
	s := newUserScratch(m.NumItems)
	score := func(s *userScratch, u int) { sarScore(s, m, n, u, aff) }
	return func(u int) []candidate { return s.rank(m, u, k, score) }
}

// userRow scores the user's row times B with one BLAS axpy per item of
// the history, then offers every unseen item with a positive score.
func (w *EASEWeights) userRow(m *Matrix, aff Affinity, k int) func(u int) []candidate {
	score := make([]float64, w.n)
	top := &topK{}
	return func(u int) []candidate {
		clear(score)
		top.reset(k)
		items := m.UserItem[m.UserPtr[u]:m.UserPtr[u+1]]
		for q, i := range items {
			a := 1.0
			if aff == AffinityWeighted {
				a = float64(m.UserVal[m.UserPtr[u]+int64(q)])
			}
			blas64.Axpy(a, blas64.Vector{N: w.n, Inc: 1, Data: w.Row(int(i))}, blas64.Vector{N: w.n, Inc: 1, Data: score})
		}
		for _, i := range items {
			score[i] = 0 // seen
		}
		for j, s := range score {
			if s > 0 {
				top.push(candidate{score: s, item: uint32(j)})
			}
		}
		return top.sorted()
	}
}

// Fit is one metric's model as a job publishes it: the TopN lists of every
// item, and the model per-user lists are scored from.
type Fit struct {
	Lists *Neighbors // what Similar returns for the same options
	Users UserScorer // EASE's B, or the lists computed userDepth deep
}

// NewFit computes both in one pass: for EASE, B is fitted once and gives
// both; for other metrics the lists are computed max(TopN, userDepth) deep
// and Lists are their first TopN (see [Neighbors.Truncate]). userDepth <= 0
// means DefaultUserDepth.
func NewFit(ctx context.Context, m *Matrix, opt Options, userDepth int) (*Fit, error) {
	if opt.Metric == EASE {
		w, err := FitEASE(ctx, m, opt)
		if err != nil {
			return nil, err
		}
		nb, err := w.Neighbors(ctx)
		if err != nil {
			return nil, err
		}
		return &Fit{Lists: nb, Users: w}, nil
	}
	topN := opt.topN()
	opt.TopN = max(topN, orDefault(max(userDepth, 0), DefaultUserDepth))
	// A user's list is scored from the deep lists of every item the user
	// has, in any shard: Rows cannot leave any out.
	opt.Rows = nil
	deep, err := Similar(ctx, m, opt)
	if err != nil {
		return nil, err
	}
	return &Fit{Lists: deep.Truncate(topN), Users: deep}, nil
}
