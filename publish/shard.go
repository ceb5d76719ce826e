package publish

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// MaxShards bounds a version's shard count: the flip checks every
// shard's lock and record in one script.
const MaxShards = 1024

// Shard is one part of a sharded version: shard Index of Count,
// numbered from 0 as a Kubernetes Indexed Job numbers its pods
// (JOB_COMPLETION_INDEX). The zero Shard is "not sharded" and owns
// everything.
//
// Every key of a version belongs to exactly one shard, by the id in the
// key (see Owns): a neighbour list (sim, cross:*) by its item id, a user
// hash or rec list by its user id, a segment list by its segment id,
// and a family's single list (pop) to shard 0.
type Shard struct {
	Index int
	Count int
}

// ParseShard reads "i/n", such as 0/4 for the first of four shards.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, such as 0/4 for the first of four shards", s)
	}
	sh := Shard{Index: idx, Count: cnt}
	return sh, sh.Validate()
}

// Validate reports a shard that is not one of 1 to MaxShards.
func (s Shard) Validate() error {
	switch {
	case s.Count < 1 || s.Count > MaxShards:
		return fmt.Errorf("shard %d/%d: want 1 to %d shards", s.Index, s.Count, MaxShards)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("shard %d/%d: want 0 <= i < %d (shards are numbered from 0, as JOB_COMPLETION_INDEX is)", s.Index, s.Count, s.Count)
	}
	return nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// ShardOf returns the shard, of n, that the id of a list or hash belongs
// to: FNV-1a (64 bits) of the id's bytes, modulo n. It is part of the
// key schema: every process of a job, on any machine, must agree on it.
// A family's single list (id "") belongs to shard 0.
func ShardOf(id string, n int) int {
	if id == "" || n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// Owns reports whether the list or hash with this id belongs to s.
func (s Shard) Owns(id string) bool {
	return s.Count == 0 || ShardOf(id, s.Count) == s.Index
}

// Identified is implemented by a ListSource or HashSource that can name
// entry i without building it, so that Shard.Model picks its entries
// cheaply. Sources without it are built once more to read their ids.
type Identified interface {
	ID(i int) string
}

// Model returns the part of m that s owns: every family and the user
// hashes narrowed to the ids s owns. The zero Shard returns m.
func (s Shard) Model(m *Model) *Model {
	if s.Count == 0 {
		return m
	}
	out := *m
	out.Families = make([]Family, len(m.Families))
	for f, fam := range m.Families {
		out.Families[f] = fam
		if sl, ok := fam.Lists.(shardLists); !ok || sl.shard != s {
			out.Families[f].Lists = shardLists{fam.Lists, s.listIndices(fam.Lists), s}
		}
	}
	if sh, ok := m.Users.(shardHashes); m.Users != nil && (!ok || sh.shard != s) {
		out.Users = shardHashes{m.Users, s.hashIndices(m.Users), s}
	}
	return &out
}

func (s Shard) listIndices(src ListSource) []int {
	if ids, ok := src.(Identified); ok {
		return s.indices(src.Len(), ids.ID)
	}
	var l List
	return s.indices(src.Len(), func(i int) string {
		l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
		src.List(i, &l)
		return l.ID
	})
}

func (s Shard) hashIndices(src HashSource) []int {
	if ids, ok := src.(Identified); ok {
		return s.indices(src.Len(), ids.ID)
	}
	var h Hash
	return s.indices(src.Len(), func(i int) string {
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		src.Hash(i, &h)
		return h.ID
	})
}

func (s Shard) indices(n int, id func(int) string) []int {
	var out []int
	for i := range n {
		if s.Owns(id(i)) {
			out = append(out, i)
		}
	}
	return out
}

// shardLists and shardHashes present the entries of a source a shard
// owns; Model leaves them as they are for the same shard.
type shardLists struct {
	src   ListSource
	idx   []int
	shard Shard
}

func (s shardLists) Len() int            { return len(s.idx) }
func (s shardLists) List(i int, l *List) { s.src.List(s.idx[i], l) }

type shardHashes struct {
	src   HashSource
	idx   []int
	shard Shard
}

func (s shardHashes) Len() int            { return len(s.idx) }
func (s shardHashes) Hash(i int, h *Hash) { s.src.Hash(s.idx[i], h) }

var (
	_ ListSource = shardLists{}
	_ HashSource = shardHashes{}
)

// ValidVersion reports whether id can name a version given by a caller
// (run --shard --version): it must look like the ids NewVersionID makes,
// which gc and the orphan scan recognise.
func ValidVersion(id string) error {
	if _, ok := VersionTime(id); !ok {
		return fmt.Errorf("version %q: want a version id such as 20261125T020000Z-3f9a (UTC time as YYYYMMDDTHHMMSSZ, a dash, 4 hex digits), the same for every shard of the job", id)
	}
	return nil
}

// shardKeyID returns the family and id of a key of version among
// families, or false when the key is in none of them (the manifest, a
// probe).
func (k Keys) shardKeyID(version, key string, families []string) (string, bool) {
	for _, fam := range families {
		if !k.InFamily(version, fam, key) {
			continue
		}
		rest := strings.TrimPrefix(key, k.List(version, fam, ""))
		return strings.TrimPrefix(rest, ":"), true
	}
	return "", false
}
