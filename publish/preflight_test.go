package publish

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
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

// countedLists is FuncLists that counts its non-empty lists.
type countedLists struct {
	FuncLists
	nonEmpty int
}

func (c countedLists) NonEmpty() int { return c.nonEmpty }

// TestNewPlanSampleAccuracy: on a source larger than PlanSample, with
// list and hash sizes that vary widely (listpacks and skiplists, a tenth
// of the items empty), the sampled plan is within 2% of a walk over every
// item: its counts are exact when the source counts its non-empty items
// and within 2% when they are estimated too.
func TestNewPlanSampleAccuracy(t *testing.T) {
	const n = 200_000
	rng := rand.New(rand.NewPCG(7, 8))
	sizes, fields := make([]int, n), make([]int, n)
	nonEmpty := 0
	for i := range n {
		if rng.IntN(10) > 0 {
			sizes[i], fields[i] = 1+rng.IntN(200), 1+rng.IntN(20)
			nonEmpty++
		}
	}
	list := func(i int, l *List) {
		l.ID = "P" + strconv.Itoa(i)
		for k := range sizes[i] {
			l.Members = append(l.Members, "P"+strconv.Itoa((i+k+1)%n))
			l.Scores = append(l.Scores, 1/float64(k+2))
		}
	}
	hash := func(i int, h *Hash) {
		h.ID = "U" + strconv.Itoa(i)
		for f := range fields[i] {
			h.Fields = append(h.Fields, "field_"+strconv.Itoa(f))
			h.Values = append(h.Values, strconv.Itoa(i*f))
		}
	}
	// The reference walks every item, as NewPlan did before it sampled.
	var want Plan
	prefix := len(Keys{}.VersionPrefix(NewVersionID(time.Time{})))
	var l List
	var h Hash
	for i := range n {
		l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
		list(i, &l)
		if len(l.Members) > 0 {
			want.Bytes += keyBytes(prefix+len(FamilySimilar)+1+len(l.ID), false) + zsetBytes(&l, defaultZSetMaxEntries, defaultMaxListpackValue)
		}
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		hash(i, &h)
		if len(h.Fields) > 0 {
			want.Bytes += keyBytes(prefix+len(FamilyUser)+1+len(h.ID), false) + hashBytes(&h, defaultHashMaxEntries, defaultMaxListpackValue)
		}
	}
	near := func(got, want int64, tol float64) bool { return math.Abs(float64(got)/float64(want)-1) <= tol }
	for _, tc := range []struct {
		name    string
		lists   ListSource
		counted bool
	}{
		{"counted", countedLists{FuncLists{N: n, Fn: list}, nonEmpty}, true},
		{"estimated", FuncLists{N: n, Fn: list}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{Families: []Family{{Name: FamilySimilar, Lists: tc.lists}}, Users: FuncHashes{N: n, Fn: hash}}
			p := NewPlan(m, Keys{}, nil, false)
			t.Logf("lists %d, hashes %d (of %d), bytes %d (walk: %d, ratio %.4f)", p.Lists[FamilySimilar], p.Hashes, nonEmpty, p.Bytes, want.Bytes, float64(p.Bytes)/float64(want.Bytes))
			if got := p.Lists[FamilySimilar]; tc.counted && got != int64(nonEmpty) || !near(got, int64(nonEmpty), 0.02) {
				t.Errorf("lists %d, want %d (exact: %v)", got, nonEmpty, tc.counted)
			}
			if got, want := p.Estimated[FamilySimilar], !tc.counted; got != want {
				t.Errorf("Estimated[sim]=%v, want %v", got, want)
			}
			if !near(p.Hashes, int64(nonEmpty), 0.02) || !p.Estimated[FamilyUser] {
				t.Errorf("hashes %d (estimated %v), want about %d, estimated", p.Hashes, p.Estimated[FamilyUser], nonEmpty)
			}
			if !near(p.Bytes, want.Bytes, 0.02) {
				t.Errorf("bytes %d, want within 2%% of %d", p.Bytes, want.Bytes)
			}
		})
	}
}
