package publish

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestAllocSize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{1, 8}, {8, 8}, {9, 16}, {24, 24}, {60, 64}, {64, 64}, {65, 80}, {128, 128}, {129, 160},
		{200, 224}, {257, 320}, {1000, 1024}, {1100, 1280}, {5000, 5120},
	} {
		if got := allocSize(tc.n); got != tc.want {
			t.Errorf("allocSize(%d)=%d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestListpackSizes checks the estimate's entry sizes against the
// encoder's bytes on random members and scores.
func TestListpackSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		var s string
		switch rng.IntN(4) {
		case 0:
			s = strconv.FormatInt(rng.Int64N(1<<40)-1<<39, 10)
		case 1:
			s = strconv.FormatInt(int64(rng.IntN(300))-150, 10)
		default:
			b := make([]byte, rng.IntN(200))
			for i := range b {
				b[i] = 'a' + byte(rng.IntN(26))
			}
			s = string(b)
		}
		if got, want := lpEntryBytes(s), len(lpAppendString(nil, s)); got != want {
			t.Fatalf("lpEntryBytes(%q)=%d, encoder writes %d", s, got, want)
		}
		f := rng.Float64()
		if rng.IntN(2) == 0 {
			f = math.Round(f * 1e6)
		}
		got, want := lpScoreBytes(f), len(lpAppendScore(nil, f))
		if f == math.Trunc(f) && got != want || math.Abs(float64(got-want)) > 5 {
			t.Fatalf("lpScoreBytes(%v)=%d, encoder writes %d", f, got, want)
		}
	}
}

// TestPlanCounts checks that a plan counts only non-empty lists and
// hashes and that its listpack estimate is close to the payloads' size.
func TestPlanCounts(t *testing.T) {
	members := []string{"P000001", "P000002", "P000003"}
	scores := []float64{0.5, 0.25, 0.125}
	m := &Model{
		Families: []Family{{Name: FamilySimilar, Lists: FuncLists{N: 10, Fn: func(i int, l *List) {
			if i%2 == 0 {
				l.ID = strconv.Itoa(i)
				l.Members, l.Scores = append(l.Members, members...), append(l.Scores, scores...)
			}
		}}}},
		Users: FuncHashes{N: 7, Fn: func(i int, h *Hash) {
			if i != 3 {
				h.ID = strconv.Itoa(i)
				h.Fields, h.Values = append(h.Fields, "a", "b"), append(h.Values, "1", "x")
			}
		}},
	}
	p := NewPlan(m, Keys{}, nil, false)
	if got, want := p.Lists[FamilySimilar], int64(5); got != want {
		t.Errorf("lists=%d, want %d", got, want)
	}
	if got, want := p.Hashes, int64(6); got != want {
		t.Errorf("hashes=%d, want %d", got, want)
	}
	if got, want := p.Keys(), int64(11); got != want {
		t.Errorf("Keys()=%d, want %d", got, want)
	}
	if c := NewPlan(m, Keys{}, nil, true); c.Bytes != p.Bytes+11*clusterEntryBytes {
		t.Errorf("cluster estimate %d, want %d more than %d", c.Bytes, 11*clusterEntryBytes, p.Bytes)
	}
}
