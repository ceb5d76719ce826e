package publish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/redis/go-redis/v9"
)

// verify reads a seeded sample of the version's keys back and compares
// them with the model, so a version is only marked complete when what is
// in Redis is what was meant to be written.
func (w *Writer) verify(ctx context.Context, version string, m *Model, res *Result) error {
	rng := rand.New(rand.NewPCG(uint64(w.Seed), 0x7265636f))
	budget := w.sampleSize()
	var l List
	for _, fam := range m.Families {
		n := fam.Lists.Len()
		for _, i := range sample(rng, n, budget) {
			l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
			fam.Lists.List(i, &l)
			if len(l.Members) == 0 {
				continue
			}
			key := w.Keys.List(version, fam.Name, l.ID)
			got, err := w.Client.ZRevRangeWithScores(ctx, key, 0, -1).Result()
			if err != nil {
				return fmt.Errorf("verify %s: %w", key, err)
			}
			if err := sameList(key, got, &l); err != nil {
				return err
			}
		}
	}
	if m.Users == nil {
		return nil
	}
	var h Hash
	for _, i := range sample(rng, m.Users.Len(), budget) {
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		m.Users.Hash(i, &h)
		if len(h.Fields) == 0 {
			continue
		}
		key := w.Keys.User(version, h.ID)
		got, err := w.Client.HGetAll(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("verify %s: %w", key, err)
		}
		if len(got) != len(h.Fields) {
			return fmt.Errorf("verify %s: %d fields in Redis, want %d", key, len(got), len(h.Fields))
		}
		for f, field := range h.Fields {
			if got[field] != h.Values[f] {
				return fmt.Errorf("verify %s: field %q is %q in Redis, want %q", key, field, got[field], h.Values[f])
			}
		}
	}
	return nil
}

func sameList(key string, got []redis.Z, l *List) error {
	if len(got) != len(l.Members) {
		return fmt.Errorf("verify %s: %d members in Redis, want %d", key, len(got), len(l.Members))
	}
	want := make(map[string]float64, len(l.Members))
	for i, m := range l.Members {
		want[m] = l.Scores[i]
	}
	for _, z := range got {
		s, ok := want[z.Member.(string)]
		if !ok || s != z.Score {
			return fmt.Errorf("verify %s: member %v has score %v in Redis, want %v", key, z.Member, z.Score, s)
		}
	}
	return nil
}

// sample returns up to k distinct indices of [0, n), in order.
func sample(rng *rand.Rand, n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	// Floyd's algorithm.
	seen := make(map[int]bool, k)
	for j := n - k; j < n; j++ {
		t := rng.IntN(j + 1)
		if seen[t] {
			t = j
		}
		seen[t] = true
	}
	out := make([]int, 0, k)
	for i := range seen {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}
