package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// verifyBatch is how many sample reads go in one pipeline.
const verifyBatch = 256

// verify reads a seeded sample of the version's keys back (up to
// w.sampleSize() of each family and of the hashes) and compares them with
// the model, so a version is only marked complete when what is in Redis is
// what was meant to be written. It returns the number of keys compared
// and appends them to keys.
func (w *Writer) verify(ctx context.Context, version string, m *Model, keys *[]sampled) (int, error) {
	rng := rand.New(rand.NewPCG(uint64(w.Seed), 0x7265636f))
	b := &verifier{ctx: ctx, p: w.Client.Pipeline()}
	for _, fam := range m.Families {
		for _, i := range sampleRuns(rng, fam.Lists.Len(), w.sampleSize()) {
			l := new(List)
			fam.Lists.List(i, l)
			if len(l.Members) == 0 {
				continue
			}
			key := w.Keys.List(version, fam.Name, l.ID)
			*keys = append(*keys, sampled{key: key, want: int64(len(l.Members))})
			cmd := b.p.ZRangeWithScores(ctx, key, 0, -1)
			if err := b.add(func() error { return sameList(key, cmd, l) }); err != nil {
				return b.n, err
			}
		}
	}
	if m.Users != nil {
		for _, i := range sampleRuns(rng, m.Users.Len(), w.sampleSize()) {
			h := new(Hash)
			m.Users.Hash(i, h)
			if len(h.Fields) == 0 {
				continue
			}
			key := w.Keys.User(version, h.ID)
			*keys = append(*keys, sampled{key: key, hash: true, want: int64(len(h.Fields))})
			cmd := b.p.HGetAll(ctx, key)
			if err := b.add(func() error { return sameHash(key, cmd, h) }); err != nil {
				return b.n, err
			}
		}
	}
	return b.n, b.flush()
}

// verifier batches sample reads into pipelines.
type verifier struct {
	ctx    context.Context
	p      redis.Pipeliner
	checks []func() error
	n      int
}

func (v *verifier) add(check func() error) error {
	v.checks = append(v.checks, check)
	if len(v.checks) < verifyBatch {
		return nil
	}
	return v.flush()
}

// flush runs the queued reads; each check reports its own command's error.
func (v *verifier) flush() error {
	if len(v.checks) == 0 {
		return nil
	}
	_, _ = v.p.Exec(v.ctx)
	for _, check := range v.checks {
		if err := check(); err != nil {
			return err
		}
		v.n++
	}
	v.checks = v.checks[:0]
	return nil
}

func sameList(key string, cmd *redis.ZSliceCmd, l *List) error {
	got, err := cmd.Result()
	if err != nil {
		return fmt.Errorf("verify %s: %w", key, err)
	}
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

func sameHash(key string, cmd *redis.MapStringStringCmd, h *Hash) error {
	got, err := cmd.Result()
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
	return nil
}

// sampleRun is the length of the runs of consecutive items verify reads
// back: a source backed by files reads a run of items for little more
// than one, and scattered items each cost a page.
const sampleRun = 32

// sampleRuns returns up to k distinct indices of [0, n) in order, in
// runs of sampleRun consecutive ones that start at seeded random
// multiples of sampleRun (the last run may be shorter).
func sampleRuns(rng *rand.Rand, n, k int) []int {
	if n <= k {
		return sample(rng, n, k)
	}
	blocks := (n + sampleRun - 1) / sampleRun
	var out []int
	for _, b := range sample(rng, blocks, max(k/sampleRun, 1)) {
		for i := b * sampleRun; i < min((b+1)*sampleRun, n); i++ {
			out = append(out, i)
		}
	}
	return out
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

// ErrDamaged is returned when a version holds fewer keys than its
// manifest counts: evicted under memory pressure, deleted by hand, lost
// in a restart. errors.As gives a *DamageError.
var ErrDamaged = errors.New("version is damaged")

// FamilyCount is a family's keys in Redis against its manifest's count.
type FamilyCount struct {
	Family     string
	Have, Want int64
}

// DamageError names the families of Version that lack keys.
type DamageError struct {
	Version string
	Missing []FamilyCount // by family name; "manifest" when it is gone
}

func (e *DamageError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		parts[i] = fmt.Sprintf("%s has %d of %d keys", m.Family, m.Have, m.Want)
	}
	return fmt.Sprintf("%v: %s: %s (evicted, deleted or lost in a restart; publish a new version or pick another)",
		ErrDamaged, e.Version, strings.Join(parts, ", "))
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

// VerifyVersion counts the keys of version on every master by SCAN and
// compares them, family by family, with the counts its manifest
// recorded when it was completed. A missing manifest or any family with
// fewer keys is a *DamageError.
func VerifyVersion(ctx context.Context, c redis.UniversalClient, k Keys, version string) error {
	man, err := c.HGetAll(ctx, k.Manifest(version)).Result()
	if err != nil {
		return fmt.Errorf("verify %s: %w", version, err)
	}
	if len(man) == 0 {
		return &DamageError{Version: version, Missing: []FamilyCount{{Family: "manifest", Want: 1}}}
	}
	lists, hashes := parseCounts(man["counts"])
	want := maps.Clone(lists)
	if want == nil {
		want = make(map[string]int64)
	}
	if hashes > 0 {
		want[FamilyUser] = hashes
	}
	have, err := countFamilies(ctx, c, k, version, slices.Collect(maps.Keys(want)))
	if err != nil {
		return fmt.Errorf("verify %s: %w", version, err)
	}
	de := &DamageError{Version: version}
	for _, fam := range slices.Sorted(maps.Keys(want)) {
		if have[fam] < want[fam] {
			de.Missing = append(de.Missing, FamilyCount{Family: fam, Have: have[fam], Want: want[fam]})
		}
	}
	if len(de.Missing) > 0 {
		return de
	}
	return nil
}

// countFamilies counts the keys of version in each of families on every
// master.
func countFamilies(ctx context.Context, c redis.UniversalClient, k Keys, version string, families []string) (map[string]int64, error) {
	var mu sync.Mutex
	out := make(map[string]int64)
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		local := make(map[string]int64)
		err := scanKeys(ctx, node, k.VersionPattern(version), func(keys []string) error {
			for _, key := range keys {
				for _, fam := range families {
					if k.InFamily(version, fam, key) {
						local[fam]++
						break
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan %s: %w", addr, err)
		}
		mu.Lock()
		for f, n := range local {
			out[f] += n
		}
		mu.Unlock()
		return nil
	})
	return out, err
}

// scanBatch is SCAN's COUNT: keys the server looks at per call.
const scanBatch = 1000

// scanKeys SCANs node for keys matching pattern and passes each batch
// to fn.
func scanKeys(ctx context.Context, node redis.UniversalClient, pattern string, fn func([]string) error) error {
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, pattern, scanBatch).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
