package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// randomInteractions draws events with one to three events per (user,
// item) pair, times spread over 100 days.
func randomInteractions(r *rand.Rand, nu, ni int, density float64) *Interactions {
	x := &Interactions{NumUsers: nu, NumItems: ni}
	for u := range nu {
		for i := range ni {
			if r.Float64() >= density {
				continue
			}
			for range 1 + r.IntN(3) {
				x.User = append(x.User, uint32(u))
				x.Item = append(x.Item, uint32(i))
				x.Weight = append(x.Weight, float32(1+r.IntN(5)))
				x.Time = append(x.Time, uint32(1.7e9+r.IntN(100*86400)))
			}
		}
	}
	return x
}

// pairSides checks that every pair's events went to one side, that test
// pairs are not in training, and returns each user's train and test item
// counts.
func pairSides(tb testing.TB, x *Interactions, h *Holdout) (train, test []int) {
	tb.Helper()
	full := x.Matrix(nil)
	tm := h.Train.Matrix(nil)
	train, test = make([]int, x.NumUsers), make([]int, x.NumUsers)
	for u := range x.NumUsers {
		trainItems := tm.UserItem[tm.UserPtr[u]:tm.UserPtr[u+1]]
		testItems := h.Test.UserItem[h.Test.UserPtr[u]:h.Test.UserPtr[u+1]]
		train[u], test[u] = len(trainItems), len(testItems)
		for _, i := range testItems {
			if slices.Contains(trainItems, i) {
				tb.Fatalf("user %d: item %d in both train and test", u, i)
			}
		}
		// Every training pair keeps all its events.
		for _, i := range trainItems {
			var all, kept int
			for k := range x.Len() {
				if x.User[k] == uint32(u) && x.Item[k] == i {
					all++
				}
			}
			for k := range h.Train.Len() {
				if h.Train.User[k] == uint32(u) && h.Train.Item[k] == i {
					kept++
				}
			}
			if all != kept {
				tb.Fatalf("user %d item %d: %d of %d events kept", u, i, kept, all)
			}
		}
		if got := full.UserPtr[u+1] - full.UserPtr[u]; h.Test.UserPtr[u+1] > h.Test.UserPtr[u] && int(got) < train[u]+test[u] {
			tb.Fatalf("user %d: %d pairs, split into %d + %d", u, got, train[u], test[u])
		}
	}
	return train, test
}

func TestSplitUserStratified(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := randomInteractions(r, 60, 40, 0.2)
	for _, ratio := range []float64{0.75, 0.5, 0.9} {
		t.Run(fmt.Sprint(ratio), func(t *testing.T) {
			h, err := Split(x, SplitOptions{Mode: SplitUserStratified, Ratio: ratio, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			train, test := pairSides(t, x, h)
			full := x.Matrix(nil)
			for u := range x.NumUsers {
				n := int(full.UserPtr[u+1] - full.UserPtr[u])
				if got, want := train[u], int(math.RoundToEven(ratio*float64(n))); got != want {
					t.Errorf("user %d: %d training items of %d, want %d", u, got, n, want)
				}
				if got, want := test[u], n-train[u]; got != want {
					t.Errorf("user %d: %d test items, want %d", u, got, want)
				}
			}
			again, _ := Split(x, SplitOptions{Mode: SplitUserStratified, Ratio: ratio, Seed: 42})
			if !reflect.DeepEqual(h, again) {
				t.Error("same seed, different split")
			}
			other, _ := Split(x, SplitOptions{Mode: SplitUserStratified, Ratio: ratio, Seed: 43})
			if reflect.DeepEqual(h.Test.UserItem, other.Test.UserItem) {
				t.Error("another seed gave the same split")
			}
		})
	}
}

// NumPy rounds half to even: 2 items keep 2 (1.5 -> 2), 6 keep 4 (4.5 -> 4).
func TestSplitRoundsHalfToEven(t *testing.T) {
	x := &Interactions{NumUsers: 2, NumItems: 6,
		User: []uint32{0, 0, 1, 1, 1, 1, 1, 1},
		Item: []uint32{0, 1, 0, 1, 2, 3, 4, 5}}
	h, err := Split(x, SplitOptions{Mode: SplitUserStratified, Ratio: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Test.UserPtr, []int64{0, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("test UserPtr = %v, want %v", got, want)
	}
}

func TestSplitTemporal(t *testing.T) {
	day := uint32(86400)
	t0 := uint32(1.7e9)
	// u0: 0 on day 0, 1 on day 2 and again on day 5, 2 on day 6.
	// u1: only after the cutoff (cold).  u2: 3 on day 1, 3 again on day 7.
	x := &Interactions{NumUsers: 3, NumItems: 4,
		User: []uint32{0, 0, 0, 0, 1, 2, 2},
		Item: []uint32{0, 1, 1, 2, 0, 3, 3},
		Time: []uint32{t0, t0 + 2*day, t0 + 5*day, t0 + 6*day, t0 + 6*day, t0 + day, t0 + 7*day}}
	h, err := Split(x, SplitOptions{Mode: SplitTemporal, Cutoff: time.Unix(int64(t0+4*day), 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Train.User, []uint32{0, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("train users = %v, want %v", got, want)
	}
	// Only u0's item 2 is new after the cutoff for a known user.
	if got, want := h.Test.UserItem, []uint32{2}; !slices.Equal(got, want) {
		t.Errorf("test items = %v, want %v", got, want)
	}
	if got, want := h.Test.UserPtr, []int64{0, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("test UserPtr = %v, want %v", got, want)
	}
	if got, want := h.ColdUsers, 1; got != want {
		t.Errorf("ColdUsers = %d, want %d", got, want)
	}
}

func TestSplitLastN(t *testing.T) {
	t0 := uint32(1.7e9)
	// u0 discovers 3, 1, 0, 2 in that order (2 and 0 first seen together
	// is avoided: all first times differ); item 3 is seen again last.
	// u1 has one item only: nothing held out.
	x := &Interactions{NumUsers: 2, NumItems: 4,
		User: []uint32{0, 0, 0, 0, 0, 1},
		Item: []uint32{3, 1, 0, 2, 3, 1},
		Time: []uint32{t0, t0 + 10, t0 + 20, t0 + 30, t0 + 40, t0}}
	for _, tt := range []struct {
		n    int
		want []uint32
	}{{1, []uint32{2}}, {2, []uint32{0, 2}}, {3, []uint32{0, 1, 2}}} {
		h, err := Split(x, SplitOptions{Mode: SplitLastN, N: tt.n})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Test.UserItem; !slices.Equal(got, tt.want) {
			t.Errorf("n=%d: test items %v, want %v", tt.n, got, tt.want)
		}
		pairSides(t, x, h)
	}
}

// Items first seen at the same time (one basket) are held out at random,
// reproducibly.
func TestSplitLastNTies(t *testing.T) {
	x := &Interactions{NumUsers: 1, NumItems: 20}
	for i := range 20 {
		x.User, x.Item, x.Time = append(x.User, 0), append(x.Item, uint32(i)), append(x.Time, 5)
	}
	seen := make(map[uint32]bool)
	for seed := range int64(20) {
		h, err := Split(x, SplitOptions{Mode: SplitLastN, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Test.UserItem[0]] = true
	}
	if len(seen) < 5 {
		t.Errorf("20 seeds held out only %d distinct items", len(seen))
	}
}

// With UserKeys the split follows the users, not their numbering.
func TestSplitUserKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	x := randomInteractions(r, 30, 20, 0.3)
	keys := make([]uint64, x.NumUsers)
	for u := range keys {
		keys[u] = uint64(1000 + 7*u)
	}
	// The same events with users numbered backwards.
	rev := &Interactions{NumUsers: x.NumUsers, NumItems: x.NumItems, Item: x.Item, Time: x.Time}
	revKeys := make([]uint64, x.NumUsers)
	for _, u := range x.User {
		rev.User = append(rev.User, uint32(x.NumUsers-1)-u)
	}
	for u := range keys {
		revKeys[x.NumUsers-1-u] = keys[u]
	}
	a, err := Split(x, SplitOptions{Seed: 1, UserKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Split(rev, SplitOptions{Seed: 1, UserKeys: revKeys})
	if err != nil {
		t.Fatal(err)
	}
	for u := range x.NumUsers {
		ra := a.Test.UserItem[a.Test.UserPtr[u]:a.Test.UserPtr[u+1]]
		v := x.NumUsers - 1 - u
		rb := b.Test.UserItem[b.Test.UserPtr[v]:b.Test.UserPtr[v+1]]
		if !slices.Equal(ra, rb) {
			t.Fatalf("user %d holds out %v, renumbered %v", u, ra, rb)
		}
	}
	if _, err := Split(x, SplitOptions{UserKeys: keys[:3]}); err == nil {
		t.Error("short UserKeys accepted")
	}
}

func TestSplitErrors(t *testing.T) {
	x := &Interactions{NumUsers: 1, NumItems: 1, User: []uint32{0}, Item: []uint32{0}}
	for _, opt := range []SplitOptions{
		{Mode: SplitTemporal, Cutoff: time.Unix(1, 0)}, // no times
		{Mode: SplitUserStratified, Ratio: 1.5},
		{Mode: SplitMode(9)},
	} {
		if _, err := Split(x, opt); err == nil {
			t.Errorf("%+v accepted", opt)
		}
	}
	x.Time = []uint32{1}
	if _, err := Split(x, SplitOptions{Mode: SplitTemporal}); err == nil {
		t.Error("temporal split without cutoff accepted")
	}
	if _, err := Split(x, SplitOptions{Mode: SplitLastN, N: -1}); err == nil {
		t.Error("negative n accepted")
	}
}

func TestParseSplitMode(t *testing.T) {
	for _, m := range []SplitMode{SplitUserStratified, SplitTemporal, SplitLastN} {
		got, err := ParseSplitMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseSplitMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseSplitMode("random"); err == nil {
		t.Error("unknown split accepted")
	}
}

func TestDecay(t *testing.T) {
	now := time.Unix(1_000_000_000, 0)
	day := uint32(86400)
	times := []uint32{1_000_000_000, 1_000_000_000 - 30*day, 1_000_000_000 - 60*day, 1_000_000_000 + 30*day}
	tests := []struct {
		name    string
		weights []float32
		want    []float32
	}{
		{"nil weights", nil, []float32{1, 0.5, 0.25, 2}},
		{"weights", []float32{2, 4, 4, 1}, []float32{2, 2, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decay(tt.weights, times, now, 30*24*time.Hour)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Decay = %v, want %v", got, tt.want)
			}
		})
	}
	w := []float32{3}
	if got := Decay(w, []uint32{5}, now, 0); &got[0] != &w[0] {
		t.Error("half-life 0 copied the weights")
	}
	if got, want := Newest(times), time.Unix(int64(1_000_000_000+30*day), 0).UTC(); !got.Equal(want) {
		t.Errorf("Newest = %v, want %v", got, want)
	}
}
