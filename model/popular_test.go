package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPopularHand(t *testing.T) {
	// handMatrix with weights: u0 {0:1 1:1 2:5}, u1 {0:1 1:1},
	// u2 {1:1 2:1 3:1}, u3 {0:2 3:1}.
	users := []uint32{0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3}
	items := []uint32{0, 1, 2, 0, 1, 1, 2, 3, 0, 3, 0}
	weights := []float32{1, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1}
	m := NewMatrix(4, 4, users, items, weights)
	tests := []struct {
		name      string
		group     []int32
		numGroups int
		topN      int
		weighted  bool
		want      [][]uint32
		wantScore [][]float64
	}{
		{"global", nil, 0, 0, false, [][]uint32{{0, 1, 2, 3}}, [][]float64{{3, 3, 2, 2}}},
		{"global top 2", nil, 0, 2, false, [][]uint32{{0, 1}}, [][]float64{{3, 3}}},
		{"weighted", nil, 0, 0, true, [][]uint32{{2, 0, 1, 3}}, [][]float64{{6, 4, 3, 2}}},
		{"groups", []int32{0, 1, 0, -1}, 3, 0, false,
			[][]uint32{{1, 2, 0, 3}, {0, 1}, {}}, [][]float64{{2, 2, 1, 1}, {1, 1}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := Popular(m, tt.group, tt.numGroups, tt.topN, tt.weighted)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := nb.NumItems(), len(tt.want); got != want {
				t.Fatalf("%d lists, want %d", got, want)
			}
			for g := range tt.want {
				items, scores, _ := nb.List(g)
				if !slices.Equal(items, tt.want[g]) || !slices.Equal(scores, tt.wantScore[g]) {
					t.Errorf("group %d: %v %v, want %v %v", g, items, scores, tt.want[g], tt.wantScore[g])
				}
			}
		})
	}
}

// TestPopularReference checks the counts against a direct count over
// random matrices and groups.
func TestPopularReference(t *testing.T) {
	for seed := range 10 {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		nu, ni, ng := 1+r.IntN(80), 1+r.IntN(40), 1+r.IntN(5)
		m := randomMatrix(r, nu, ni, 0.2, true)
		group := make([]int32, nu)
		for u := range group {
			group[u] = int32(r.IntN(ng+1)) - 1
		}
		for _, weighted := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed=%d/weighted=%v", seed, weighted), func(t *testing.T) {
				nb, err := Popular(m, group, ng, 5, weighted)
				if err != nil {
					t.Fatal(err)
				}
				for g := range ng {
					users := make([]uint32, ni)
					sums := make([]float64, ni)
					for u := range nu {
						if group[u] != int32(g) {
							continue
						}
						for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
							users[m.UserItem[p]]++
							sums[m.UserItem[p]] += float64(m.UserVal[p])
						}
					}
					var want []candidate
					for j := range ni {
						if users[j] > 0 {
							s := float64(users[j])
							if weighted {
								s = sums[j]
							}
							want = append(want, candidate{score: s, item: uint32(j), count: users[j]})
						}
					}
					slices.SortFunc(want, func(a, b candidate) int {
						if better(a, b) {
							return -1
						}
						return 1
					})
					want = want[:min(5, len(want))]
					items, scores, counts := nb.List(g)
					for k := range want {
						if k >= len(items) || items[k] != want[k].item || scores[k] != want[k].score || counts[k] != want[k].count {
							t.Fatalf("group %d: %v %v %v, want %+v", g, items, scores, counts, want)
						}
					}
					if len(items) != len(want) {
						t.Fatalf("group %d: %d items, want %d", g, len(items), len(want))
					}
				}
			})
		}
	}
}

func TestPopularErrors(t *testing.T) {
	m := handMatrix()
	if _, err := Popular(m, []int32{0}, 1, 5, false); err == nil {
		t.Error("short group slice accepted")
	}
	if _, err := Popular(m, []int32{0, 1, 2, 3}, 2, 5, false); err == nil {
		t.Error("group out of range accepted")
	}
}
