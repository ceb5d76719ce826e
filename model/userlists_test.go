package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// refUserLists is UserLists by brute force: the users x items affinity
// matrix times a dense item x item matrix (the lists spread out, or B), a
// full sort of each user's candidates, cut to k. cand says which items a
// user's row may offer: for lists, those in the lists of its items; for
// EASE, those with a positive score.
func refUserLists(m *Matrix, s *mat.Dense, lists *Neighbors, aff Affinity, k int) [][]candidate {
	bin, val := dense(m)
	x := val
	if aff == AffinityBinary {
		x = bin
	}
	var r mat.Dense
	r.Mul(x, s)
	out := make([][]candidate, m.NumUsers)
	for u := range m.NumUsers {
		items := m.UserItem[m.UserPtr[u]:m.UserPtr[u+1]]
		if len(items) == 0 {
			continue
		}
		cand := make(map[uint32]bool)
		for j := range m.NumItems {
			if lists == nil && r.At(u, j) > 0 {
				cand[uint32(j)] = true
			}
		}
		if lists != nil {
			for _, i := range items {
				nbItems, _, _ := lists.List(int(i))
				for _, j := range nbItems {
					cand[j] = true
				}
			}
		}
		var list []candidate
		for j := range cand {
			if _, seen := slices.BinarySearch(items, j); !seen {
				list = append(list, candidate{score: r.At(u, int(j)), item: j})
			}
		}
		slices.SortFunc(list, func(a, b candidate) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		out[u] = list[:min(len(list), k)]
	}
	return out
}

// spread returns the lists as a dense item x item matrix of scores.
func spread(nb *Neighbors) *mat.Dense {
	n := nb.NumItems()
	s := mat.NewDense(max(n, 1), max(n, 1), nil)
	for i := range n {
		items, scores, _ := nb.List(i)
		for q, j := range items {
			s.Set(i, int(j), scores[q])
		}
	}
	return s
}

// compareUserLists checks got against the brute-force lists; items may
// differ where two scores are within tol, since the sums run in another
// order.
func compareUserLists(tb testing.TB, got *Recommendations, want [][]candidate, tol float64) {
	tb.Helper()
	close := func(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }
	for u, w := range want {
		items, scores := got.List(u)
		if len(items) != len(w) {
			tb.Fatalf("user %d: %d items %v, want %d %v", u, len(items), items, len(w), w)
		}
		for q := range w {
			if !close(scores[q], w[q].score) {
				tb.Fatalf("user %d rank %d: score %.17g, want %.17g", u, q, scores[q], w[q].score)
			}
			if items[q] != w[q].item {
				found := slices.IndexFunc(w, func(c candidate) bool { return c.item == items[q] })
				if found < 0 || !close(w[found].score, scores[q]) {
					tb.Fatalf("user %d rank %d: item %d (%.17g), want %d (%.17g)", u, q, items[q], scores[q], w[q].item, w[q].score)
				}
			}
		}
	}
}

// TestUserListsReference compares UserLists from neighbour lists of every
// sparse metric and from EASE with the brute-force product on random
// matrices.
func TestUserListsReference(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 6
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		nu, ni := 1+r.IntN(60), 1+r.IntN(40)
		m := randomMatrix(r, nu, ni, 0.05+0.3*r.Float64(), true)
		aff := Affinity(r.IntN(2))
		opt := UserListOptions{K: 1 + r.IntN(8), Affinity: aff, Workers: 1 + r.IntN(3), BlockSize: 1 + r.IntN(10)}
		for _, metric := range []Metric{Cosine, Jaccard, LLR, RP3Beta, BM25, EASE} {
			t.Run(fmt.Sprintf("seed=%d/%dx%d/%v/%v/k=%d", seed, nu, ni, metric, aff, opt.K), func(t *testing.T) {
				mopt := Options{Metric: metric, TopN: 1 + r.IntN(10), Lambda: []float64{1, 10}[r.IntN(2)], Weighted: r.IntN(2) == 0}
				var src UserScorer
				var s *mat.Dense
				var lists *Neighbors
				if metric == EASE {
					w, err := FitEASE(t.Context(), m, mopt)
					if err != nil {
						t.Fatal(err)
					}
					bin, val := dense(m)
					src, s = w, refEASE(t, bin, val, mopt)
				} else {
					nb, err := Similar(t.Context(), m, mopt)
					if err != nil {
						t.Fatal(err)
					}
					src, s, lists = nb, spread(nb), nb
				}
				got, err := UserRecommendations(t.Context(), m, src, opt)
				if err != nil {
					t.Fatal(err)
				}
				compareUserLists(t, got, refUserLists(m, s, lists, aff, opt.K), 1e-9)
			})
		}
	}
}

// TestUserListsMatchRecommend: from lists, the per-user lists are exactly
// what eval's Recommend scores, for any workers and block size.
func TestUserListsMatchRecommend(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	m := randomMatrix(r, 500, 120, 0.03, true)
	nb, err := Similar(t.Context(), m, Options{Metric: Jaccard, TopN: 20})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Recommend(t.Context(), m, nb, nil, 15, AffinityWeighted, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []UserListOptions{{K: 15, Workers: 1}, {K: 15, Workers: 4, BlockSize: 7}, {K: 15, Workers: 2, BlockSize: 1000}} {
		got, err := UserRecommendations(t.Context(), m, nb, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("workers %d block %d: user lists differ from Recommend", opt.Workers, opt.BlockSize)
		}
	}
}

// TestUserListsStream checks the callback's contract: blocks in ascending
// user order, every user with history exactly once and no other, blocks
// of the requested size, and errors from the callback or the context
// returned.
func TestUserListsStream(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := randomMatrix(r, 300, 50, 0.02, false)
	nb, err := Similar(t.Context(), m, Options{Metric: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	var want []uint32
	for u := range m.NumUsers {
		if m.UserPtr[u+1] > m.UserPtr[u] {
			want = append(want, uint32(u))
		}
	}
	t.Run("order", func(t *testing.T) {
		var got []uint32
		err := UserLists(t.Context(), m, nb, UserListOptions{K: 5, Workers: 3, BlockSize: 16}, func(b *UserBlock) error {
			if b.Len() > 16 {
				t.Errorf("block of %d users, want at most 16", b.Len())
			}
			for x := range b.Len() {
				u, items, scores := b.List(x)
				if len(items) > 5 || len(items) != len(scores) {
					t.Errorf("user %d: %d items, %d scores", u, len(items), len(scores))
				}
				got = append(got, u)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("users %v, want %v", got, want)
		}
	})
	t.Run("callback error", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := UserLists(t.Context(), m, nb, UserListOptions{Workers: 2, BlockSize: 4}, func(*UserBlock) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if got, want := calls, 3; got != want || !errors.Is(err, stop) {
			t.Fatalf("calls %d err %v, want %d calls and %v", got, err, want, stop)
		}
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		err := UserLists(ctx, m, nb, UserListOptions{Workers: 2, BlockSize: 4}, func(*UserBlock) error {
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	})
	t.Run("bad users", func(t *testing.T) {
		err := UserLists(t.Context(), m, nb, UserListOptions{Users: []uint32{3, 2}}, func(*UserBlock) error { return nil })
		if err == nil {
			t.Fatal("descending users accepted")
		}
	})
}

// TestTruncate: lists computed deep and truncated are the lists computed
// at that depth.
func TestTruncate(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	m := randomMatrix(r, 200, 80, 0.05, true)
	for _, metric := range []Metric{Cosine, Jaccard, LLR, RP3Beta, BM25, EASE} {
		t.Run(metric.String(), func(t *testing.T) {
			deep, err := Similar(t.Context(), m, Options{Metric: metric, TopN: 60})
			if err != nil {
				t.Fatal(err)
			}
			want, err := Similar(t.Context(), m, Options{Metric: metric, TopN: 7})
			if err != nil {
				t.Fatal(err)
			}
			if got := deep.Truncate(7); !reflect.DeepEqual(got, want) {
				t.Fatal("Truncate(7) of top-60 lists differs from top-7 lists")
			}
		})
	}
}

// TestNewFit: the published lists of a Fit are Similar's, and the model
// for user lists is EASE's B or deeper lists.
func TestNewFit(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	m := randomMatrix(r, 150, 60, 0.06, true)
	for _, metric := range []Metric{RP3Beta, LLR, EASE} {
		t.Run(metric.String(), func(t *testing.T) {
			opt := Options{Metric: metric, TopN: 5}
			f, err := NewFit(t.Context(), m, opt, 30)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Similar(t.Context(), m, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Lists, want) {
				t.Fatal("Lists differ from Similar's")
			}
			switch src := f.Users.(type) {
			case *EASEWeights:
				if metric != EASE {
					t.Fatalf("%v fit scores users from EASE weights", metric)
				}
			case *Neighbors:
				deep, err := Similar(t.Context(), m, Options{Metric: metric, TopN: 30})
				if err != nil {
					t.Fatal(err)
				}
				if metric == EASE || !reflect.DeepEqual(src, deep) {
					t.Fatalf("%v: user model is not the top-30 lists", metric)
				}
			}
		})
	}
}
