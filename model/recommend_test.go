package model

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// refRecommend scores densely: the affinity row times the similarity
// matrix built from the lists, summed over the user's items in ascending
// order as Recommend does, seen items dropped, fully sorted.
func refRecommend(train *Matrix, nb *Neighbors, k int, aff Affinity) [][]candidate {
	n := train.NumItems
	sim := make([][]float64, n)
	has := make([][]bool, n)
	for i := range n {
		sim[i], has[i] = make([]float64, n), make([]bool, n)
		items, scores, _ := nb.List(i)
		for q, j := range items {
			sim[i][j], has[i][j] = scores[q], true
		}
	}
	out := make([][]candidate, train.NumUsers)
	for u := range train.NumUsers {
		score := make([]float64, n)
		reached := make([]bool, n)
		seen := make([]bool, n)
		for p := train.UserPtr[u]; p < train.UserPtr[u+1]; p++ {
			i := train.UserItem[p]
			seen[i] = true
			a := 1.0
			if aff == AffinityWeighted {
				a = float64(train.UserVal[p])
			}
			for j := range n {
				if has[i][j] {
					score[j] += a * sim[i][j]
					reached[j] = true
				}
			}
		}
		var list []candidate
		for j := range n {
			if reached[j] && !seen[j] {
				list = append(list, candidate{score: score[j], item: uint32(j)})
			}
		}
		slices.SortFunc(list, func(a, b candidate) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		out[u] = list[:min(k, len(list))]
	}
	return out
}

func TestRecommendReference(t *testing.T) {
	for seed := range 12 {
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		nu, ni := 1+r.IntN(50), 1+r.IntN(40)
		train := randomMatrix(r, nu, ni, 0.15, true)
		metric := []Metric{Jaccard, Cosine, LLR, EASE}[r.IntN(4)]
		nb, err := Similar(t.Context(), train, Options{Metric: metric, TopN: 1 + r.IntN(8)})
		if err != nil {
			t.Fatal(err)
		}
		for _, aff := range []Affinity{AffinityWeighted, AffinityBinary} {
			k := 1 + r.IntN(6)
			t.Run(fmt.Sprintf("seed=%d/%v/%v/k=%d", seed, metric, aff, k), func(t *testing.T) {
				got, err := Recommend(t.Context(), train, nb, nil, k, aff, 1+r.IntN(3))
				if err != nil {
					t.Fatal(err)
				}
				want := refRecommend(train, nb, k, aff)
				for u := range nu {
					items, scores := got.List(u)
					if len(items) != len(want[u]) {
						t.Fatalf("user %d: %v, want %v", u, items, want[u])
					}
					for q, c := range want[u] {
						if items[q] != c.item || scores[q] != c.score {
							t.Fatalf("user %d rank %d: %d (%g), want %d (%g)", u, q, items[q], scores[q], c.item, c.score)
						}
					}
				}
			})
		}
	}
}

func TestRecommendUsersAndWorkers(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	train := randomMatrix(r, 700, 120, 0.05, true)
	nb, err := Similar(t.Context(), train, Options{Metric: Cosine, TopN: 20})
	if err != nil {
		t.Fatal(err)
	}
	all1, err := Recommend(t.Context(), train, nb, nil, 10, AffinityWeighted, 1)
	if err != nil {
		t.Fatal(err)
	}
	all4, err := Recommend(t.Context(), train, nb, nil, 10, AffinityWeighted, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all1, all4) {
		t.Fatal("Workers=1 and Workers=4 differ")
	}
	some, err := Recommend(t.Context(), train, nb, []uint32{3, 650, 17}, 10, AffinityWeighted, 2)
	if err != nil {
		t.Fatal(err)
	}
	for u := range train.NumUsers {
		got, _ := some.List(u)
		want, _ := all1.List(u)
		if u != 3 && u != 650 && u != 17 {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Fatalf("user %d: %v, want %v", u, got, want)
		}
	}
}

func TestRecommendLists(t *testing.T) {
	train := handMatrix() // u0: 0 1 2, u1: 0 1, u2: 1 2 3, u3: 0 3
	lists := &Neighbors{
		Ptr:   []int64{0, 4, 6},
		Item:  []uint32{3, 2, 1, 0, 2, 3},
		Score: []float64{9, 8, 7, 6, 5, 4},
		Count: make([]uint32, 6),
	}
	got, err := RecommendLists(t.Context(), train, lists, []int32{0, 0, 1, -1}, nil, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]uint32{{3}, {3, 2}, {}, {}}
	for u, w := range want {
		if items, _ := got.List(u); !slices.Equal(items, w) {
			t.Errorf("user %d: %v, want %v", u, items, w)
		}
	}
	global, err := RecommendLists(t.Context(), train, lists, nil, []uint32{3}, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if items, _ := global.List(3); !slices.Equal(items, []uint32{2, 1}) {
		t.Errorf("global list for user 3: %v, want [2 1]", items)
	}
}

func TestParseAffinity(t *testing.T) {
	for _, a := range []Affinity{AffinityWeighted, AffinityBinary} {
		if got, err := ParseAffinity(a.String()); err != nil || got != a {
			t.Errorf("ParseAffinity(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := ParseAffinity("decayed"); err == nil {
		t.Error("unknown affinity accepted")
	}
}
