package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Interactions are events as parallel slices: event k is user User[k]
// acting on item Item[k] at Time[k] with weight Weight[k]. They are the
// input of Split, which works on events rather than on a Matrix because
// the temporal splits need each event's time.
type Interactions struct {
	NumUsers, NumItems int
	User, Item         []uint32
	Weight             []float32 // nil: 1 per event
	Time               []uint32  // Unix seconds; may be nil for SplitUserStratified
}

// Len returns the number of events.
func (x *Interactions) Len() int { return len(x.User) }

// Matrix builds the user x item matrix of the events with the given
// per-event weights (nil: 1 per event).
func (x *Interactions) Matrix(weights []float32) *Matrix {
	return NewMatrix(x.NumUsers, x.NumItems, x.User, x.Item, weights)
}

// subset returns the events for which keep is true.
func (x *Interactions) subset(keep []bool) *Interactions {
	out := &Interactions{NumUsers: x.NumUsers, NumItems: x.NumItems}
	for k, ok := range keep {
		if !ok {
			continue
		}
		out.User = append(out.User, x.User[k])
		out.Item = append(out.Item, x.Item[k])
		if x.Weight != nil {
			out.Weight = append(out.Weight, x.Weight[k])
		}
		if x.Time != nil {
			out.Time = append(out.Time, x.Time[k])
		}
	}
	return out
}

// SplitMode selects how Split holds data out.
type SplitMode int

// The split modes.
const (
	// SplitUserStratified holds out, for every user, a random share of its
	// distinct items, as Microsoft Recommenders' python_stratified_split.
	SplitUserStratified SplitMode = iota
	// SplitTemporal trains on events before a cutoff time and tests on
	// what users did from then on.
	SplitTemporal
	// SplitLastN holds out each user's N most recently discovered items.
	SplitLastN
)

var splitNames = [...]string{
	SplitUserStratified: "user-stratified",
	SplitTemporal:       "temporal",
	SplitLastN:          "last-n",
}

func (s SplitMode) String() string {
	if s < 0 || int(s) >= len(splitNames) {
		return fmt.Sprintf("SplitMode(%d)", int(s))
	}
	return splitNames[s]
}

// ParseSplitMode returns the split mode named s.
func ParseSplitMode(s string) (SplitMode, error) {
	for i, name := range splitNames {
		if strings.EqualFold(s, name) {
			return SplitMode(i), nil
		}
	}
	return 0, fmt.Errorf("parse split: unknown split %q (want one of %s)", s, strings.Join(splitNames[:], ", "))
}

// The defaults of SplitOptions, applied when a field is zero (recopub
// eval's --ratio and --n take them too).
const (
	DefaultSplitRatio = 0.75
	DefaultHoldoutN   = 1
)

// SplitOptions configures Split.
type SplitOptions struct {
	Mode   SplitMode
	Ratio  float64   // SplitUserStratified: share of each user's items kept for training; default DefaultSplitRatio
	Seed   int64     // SplitUserStratified's shuffle and SplitLastN's tie-breaks
	Cutoff time.Time // SplitTemporal: events at or after it are held out
	N      int       // SplitLastN: items held out per user; default DefaultHoldoutN

	// UserKeys, when not nil, seeds each user's shuffle with UserKeys[u]
	// instead of the dense id u, e.g. a hash of the external id, so the
	// split does not change when the same users are numbered differently
	// (another file order, another loader).
	UserKeys []uint64
}

// Holdout is the result of Split.
type Holdout struct {
	Train *Interactions // the training events
	Test  *Matrix       // the held-out (user, item) pairs, one event each
	// ColdUsers counts users who did something in the test period but
	// nothing before it; no item-item model can score them, so they are
	// left out of Test (SplitTemporal only).
	ColdUsers int
}

// Split divides interactions into training events and held-out pairs.
//
// It works on distinct (user, item) pairs: all the events of a pair go to
// one side, and Test never holds an item its user also has in training,
// since recommenders remove what a user already has and such an item could
// never be hit. With SplitUserStratified each user's distinct items are
// shuffled (seeded per user, so the result does not depend on other users)
// and the first round(Ratio·n) are kept for training, rounding half to
// even as NumPy does (the shuffle is seeded by Seed and the user's key,
// see UserKeys); this is the rule of python_stratified_split, though
// not its random numbers. With SplitTemporal events before Cutoff train;
// pairs first seen at or after it are tested, for users who have training
// events. With SplitLastN each user with more than N distinct items has
// the N items it discovered last (by the time of its first event on them,
// ties broken at random) held out.
func Split(x *Interactions, opt SplitOptions) (*Holdout, error) {
	if x.Time == nil && opt.Mode != SplitUserStratified {
		return nil, fmt.Errorf("split %v: the events have no times", opt.Mode)
	}
	if opt.UserKeys != nil && len(opt.UserKeys) != x.NumUsers {
		return nil, fmt.Errorf("split: %d user keys for %d users", len(opt.UserKeys), x.NumUsers)
	}
	switch opt.Mode {
	case SplitUserStratified:
		ratio := opt.Ratio
		if ratio == 0 {
			ratio = DefaultSplitRatio
		}
		if !(ratio > 0 && ratio < 1) {
			return nil, fmt.Errorf("split %v: ratio %g is not between 0 and 1", opt.Mode, ratio)
		}
		return splitPairs(x, func(items []uint32, first []uint32, rng *rand.Rand, test []bool) {
			perm := rng.Perm(len(items))
			keep := int(math.RoundToEven(ratio * float64(len(items))))
			for _, p := range perm[keep:] {
				test[p] = true
			}
		}, opt), nil
	case SplitLastN:
		n := opt.N
		if n == 0 {
			n = DefaultHoldoutN
		}
		if n < 0 {
			return nil, fmt.Errorf("split %v: negative n %d", opt.Mode, n)
		}
		return splitPairs(x, func(items []uint32, first []uint32, rng *rand.Rand, test []bool) {
			if len(items) <= n {
				return
			}
			order := rng.Perm(len(items))
			slices.SortStableFunc(order, func(a, b int) int { return cmpUint32(first[a], first[b]) })
			for _, p := range order[len(order)-n:] {
				test[p] = true
			}
		}, opt), nil
	case SplitTemporal:
		if opt.Cutoff.IsZero() {
			return nil, errors.New("split temporal: no cutoff time")
		}
		return splitTemporal(x, opt.Cutoff.Unix()), nil
	}
	return nil, fmt.Errorf("split: unknown mode %v", opt.Mode)
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pairRule marks which of one user's distinct items (ascending, with the
// time of the user's first event on each) are held out.
type pairRule func(items, first []uint32, rng *rand.Rand, test []bool)

// splitPairs applies rule to every user's distinct items and divides the
// events accordingly.
func splitPairs(x *Interactions, rule pairRule, opt SplitOptions) *Holdout {
	m := x.Matrix(nil)
	pos := pairPositions(m, x)
	first := make([]uint32, m.NNZ())
	for p := range first {
		first[p] = math.MaxUint32
	}
	if x.Time != nil {
		for k, p := range pos {
			first[p] = min(first[p], x.Time[k])
		}
	}
	test := make([]bool, m.NNZ())
	for u := range m.NumUsers {
		lo, hi := m.UserPtr[u], m.UserPtr[u+1]
		if lo == hi {
			continue
		}
		key := uint64(u)
		if opt.UserKeys != nil {
			key = opt.UserKeys[u]
		}
		rng := rand.New(rand.NewPCG(uint64(opt.Seed), key))
		rule(m.UserItem[lo:hi], first[lo:hi], rng, test[lo:hi])
	}
	keep := make([]bool, x.Len())
	for k, p := range pos {
		keep[k] = !test[p]
	}
	var tu, ti []uint32
	for u := range m.NumUsers {
		for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
			if test[p] {
				tu, ti = append(tu, uint32(u)), append(ti, m.UserItem[p])
			}
		}
	}
	return &Holdout{Train: x.subset(keep), Test: NewMatrix(x.NumUsers, x.NumItems, tu, ti, nil)}
}

// pairPositions returns, for every event, the index of its (user, item)
// pair in m's user-major arrays.
func pairPositions(m *Matrix, x *Interactions) []int64 {
	pos := make([]int64, x.Len())
	for k, u := range x.User {
		lo, hi := m.UserPtr[u], m.UserPtr[u+1]
		j, _ := slices.BinarySearch(m.UserItem[lo:hi], x.Item[k])
		pos[k] = lo + int64(j)
	}
	return pos
}

func splitTemporal(x *Interactions, cutoff int64) *Holdout {
	keep := make([]bool, x.Len())
	for k, t := range x.Time {
		keep[k] = int64(t) < cutoff
	}
	train := x.subset(keep)
	seen := train.Matrix(nil)
	cold := make(map[uint32]bool)
	var tu, ti []uint32
	for k, ok := range keep {
		if ok {
			continue
		}
		u, i := x.User[k], x.Item[k]
		lo, hi := seen.UserPtr[u], seen.UserPtr[u+1]
		if lo == hi {
			cold[u] = true
			continue
		}
		if _, found := slices.BinarySearch(seen.UserItem[lo:hi], i); !found {
			tu, ti = append(tu, u), append(ti, i)
		}
	}
	test := NewMatrix(x.NumUsers, x.NumItems, tu, ti, nil)
	for p := range test.UserVal {
		test.UserVal[p] = 1
	}
	for p := range test.ItemVal {
		test.ItemVal[p] = 1
	}
	return &Holdout{Train: train, Test: test, ColdUsers: len(cold)}
}
