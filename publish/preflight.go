package publish

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrNoRoom is returned by the preflight check when the new version
	// would not fit in the server's maxmemory; errors.As gives a
	// *MemoryError with the numbers.
	ErrNoRoom = errors.New("not enough memory for the new version")
	// ErrOutOfMemory is returned when the server refused a write because
	// it reached maxmemory (an "OOM command not allowed" reply).
	ErrOutOfMemory = errors.New("redis ran out of memory")
	// ErrEvictionPolicy is returned when a server's maxmemory-policy may
	// evict keys without a TTL (allkeys-*): a version's keys, live ones
	// included, could vanish under memory pressure. errors.As gives a
	// *EvictionError.
	ErrEvictionPolicy = errors.New("maxmemory-policy can evict the versions' keys")
	// ErrServerRestarted is returned when a server restarted (its run_id
	// changed) while a version was being written: the keys written before
	// the restart may be lost.
	ErrServerRestarted = errors.New("redis server restarted during the publish")
)

// Plan is what a model will write, counted before anything is written:
// the non-empty lists of each family, the non-empty hashes and an estimate
// of the memory they take on the server.
type Plan struct {
	Lists  map[string]int64 // by family
	Hashes int64
	Bytes  int64 // estimated growth of used_memory, over all masters
	// Estimated names the families (FamilyUser for the hashes) whose
	// count is estimated from a sample: a source with more than
	// PlanSample items that does not implement NonEmptyCounter. The
	// writer counts what it writes; it checks the written count against
	// the plan only where the plan's count is exact.
	Estimated map[string]bool
}

// Keys returns the number of keys the plan writes.
func (p Plan) Keys() int64 {
	n := p.Hashes
	for _, v := range p.Lists {
		n += v
	}
	return n
}

// NonEmptyCounter is implemented by a ListSource or HashSource that
// knows, without building them, how many of its lists or hashes are not
// empty (every list and hash of a model directory has a row), so that
// NewPlan's counts are exact although it builds only a sample.
type NonEmptyCounter interface {
	NonEmpty() int
}

// PlanSample is how many lists of each family, and how many hashes,
// NewPlan builds at most: runs of planRun consecutive items spread evenly
// over the source. Building every hash only to estimate memory cost as
// much as writing them.
const PlanSample = 8192

// planRun is the length of a sampled run: sources backed by files read
// consecutive items much faster than scattered ones.
const planRun = 256

// NewPlan counts the keys of m and estimates their memory. A source of
// up to PlanSample items is walked whole; a larger one is sampled
// (PlanSample items in evenly spread runs) and the mean size of its
// sampled keys is multiplied by its count of non-empty items: exact when
// the source implements NonEmptyCounter, else estimated from the sample
// too (Plan.Estimated). The estimate assumes the encodings Redis 7 picks
// with enc's limits (listpack up to the limits, skiplist or hashtable
// beyond; nil means the defaults) and jemalloc's size classes; cluster
// adds the per-key slot bookkeeping of cluster mode. It is within about
// 10% of what the server reports for typical lists and hashes, plus the
// sampling error (below 2% for a sample of 8192 keys whose sizes vary by
// less than their mean) (TestConformance/*/EstimateMatchesServer,
// TestNewPlanSampleAccuracy).
func NewPlan(m *Model, k Keys, enc *Encoder, cluster bool) Plan {
	if enc == nil {
		enc = &Encoder{}
	}
	p := Plan{Lists: make(map[string]int64), Estimated: make(map[string]bool)}
	zEntries := listpackLimit(enc.ZSetMaxEntries, defaultZSetMaxEntries)
	zValue := listpackLimit(enc.ZSetMaxValue, defaultMaxListpackValue)
	hEntries := listpackLimit(enc.HashMaxEntries, defaultHashMaxEntries)
	hValue := listpackLimit(enc.HashMaxValue, defaultMaxListpackValue)
	prefix := len(k.VersionPrefix(NewVersionID(time.Time{})))
	// The hashes are sampled beside the lists, on another core: the
	// sample of a model directory is read from its files, page by page.
	var hashes struct {
		n, bytes int64
		exact    bool
	}
	var wg sync.WaitGroup
	if m.Users != nil {
		wg.Go(func() {
			var h Hash
			hashes.n, hashes.bytes, hashes.exact = planSizes(m.Users.Len(), m.Users, func(i int) int64 {
				h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
				m.Users.Hash(i, &h)
				if len(h.Fields) == 0 {
					return -1
				}
				key := prefix + len(FamilyUser) + 1 + len(h.ID)
				return keyBytes(key, cluster) + hashBytes(&h, hEntries, hValue)
			})
		})
	}
	var l List
	for _, fam := range m.Families {
		n, bytes, exact := planSizes(fam.Lists.Len(), fam.Lists, func(i int) int64 {
			l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
			fam.Lists.List(i, &l)
			if len(l.Members) == 0 {
				return -1
			}
			key := prefix + len(fam.Name) + 1 + len(l.ID)
			return keyBytes(key, cluster) + zsetBytes(&l, zEntries, zValue)
		})
		p.Lists[fam.Name], p.Bytes = n, p.Bytes+bytes
		if !exact {
			p.Estimated[fam.Name] = true
		}
	}
	wg.Wait()
	if m.Users == nil {
		return p
	}
	p.Hashes, p.Bytes = hashes.n, p.Bytes+hashes.bytes
	if !hashes.exact {
		p.Estimated[FamilyUser] = true
	}
	return p
}

// planSizes counts the non-empty items of a source of n items and sums
// their sizes (size returns -1 for an empty item), from every item when
// n <= PlanSample, else from a sample scaled up. exact reports whether
// the count is.
func planSizes(n int, src any, size func(i int) int64) (count, bytes int64, exact bool) {
	counter, counts := src.(NonEmptyCounter)
	var sampled, nonEmpty, sum int64
	visit := func(i int) {
		sampled++
		if b := size(i); b >= 0 {
			nonEmpty++
			sum += b
		}
	}
	if n > PlanSample {
		runs := PlanSample / planRun
		stride := n / runs
		for r := range runs {
			start := r*stride + (stride-planRun)/2
			for i := start; i < start+planRun; i++ {
				visit(i)
			}
		}
	}
	switch {
	case n <= PlanSample || (nonEmpty == 0 && (!counts || counter.NonEmpty() > 0)):
		// Everything, or a sample that found nothing to measure.
		sampled, nonEmpty, sum = 0, 0, 0
		for i := range n {
			visit(i)
		}
		return nonEmpty, sum, true
	case counts:
		count, exact = int64(counter.NonEmpty()), true
	default:
		count = int64(math.Round(float64(nonEmpty) * float64(n) / float64(sampled)))
	}
	return count, int64(math.Round(float64(sum) * float64(count) / float64(nonEmpty))), exact
}

// Estimates of Redis 7.0's allocations on 64-bit Linux with its bundled
// jemalloc (8-byte quantum).
const (
	dictEntryBytes        = 24 // key, value, next
	clusterEntryBytes     = 16 // cluster mode: slot list prev/next in the entry
	robjBytes             = 16
	bucketBytes           = 12 // 8-byte bucket at a load factor between 0.5 and 1
	skiplistSetBytes      = 16 + 64 + 48 + 640
	hashtableBytes        = 64
	skiplistNodeBytes     = 48 // ele, score, backward and 1.33 levels on average
	listpackOverheadBytes = 7  // total bytes, count, end marker
)

func keyBytes(keyLen int, cluster bool) int64 {
	n := dictEntryBytes + bucketBytes + robjBytes + allocSize(keyLen+4)
	if cluster {
		n += clusterEntryBytes
	}
	return int64(n)
}

func zsetBytes(l *List, maxEntries, maxValue int) int64 {
	listpack := len(l.Members) <= maxEntries
	lp := listpackOverheadBytes
	for i, m := range l.Members {
		listpack = listpack && len(m) <= maxValue
		lp += lpEntryBytes(m) + lpScoreBytes(l.Scores[i])
	}
	if listpack {
		return int64(allocSize(lp))
	}
	table := skiplistSetBytes
	for _, m := range l.Members {
		table += skiplistNodeBytes + allocSize(len(m)+4) + dictEntryBytes + bucketBytes
	}
	return int64(table)
}

func hashBytes(h *Hash, maxEntries, maxValue int) int64 {
	listpack := len(h.Fields) <= maxEntries
	lp := listpackOverheadBytes
	for i, f := range h.Fields {
		v := h.Values[i]
		listpack = listpack && len(f) <= maxValue && len(v) <= maxValue
		lp += lpEntryBytes(f) + lpEntryBytes(v)
	}
	if listpack {
		return int64(allocSize(lp))
	}
	table := hashtableBytes
	for i, f := range h.Fields {
		table += dictEntryBytes + bucketBytes + allocSize(len(f)+4) + allocSize(len(h.Values[i])+4)
	}
	return int64(table)
}

// lpEntryBytes is the size of s as a listpack entry, backlen included.
func lpEntryBytes(s string) int {
	if v, ok := lpStringToInt64(s); ok {
		switch {
		case v >= 0 && v <= 127:
			return 2
		case v >= -4096 && v <= 4095:
			return 3
		case v >= math.MinInt16 && v <= math.MaxInt16:
			return 4
		case v >= -1<<23 && v < 1<<23:
			return 5
		case v >= math.MinInt32 && v <= math.MaxInt32:
			return 6
		}
		return 10
	}
	n := len(s)
	switch {
	case n < 64:
		n++
	case n < 4096:
		n += 2
	default:
		n += 5
	}
	if n < 128 {
		return n + 1
	}
	return n + 2
}

// lpScoreBytes is the size of a score entry: an integer when the score is
// integral, otherwise "%.17g" text, 19 characters for a similarity in
// (0, 1) (fewer when it ends in zeros, up to 24 with an exponent).
func lpScoreBytes(f float64) int {
	if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return lpEntryBytes(strconv.FormatInt(int64(f), 10))
	}
	return 1 + 19 + 1
}

// allocSize rounds n up to jemalloc's size class: multiples of 8 up to
// 64, then four classes per doubling.
func allocSize(n int) int {
	if n <= 64 {
		return (n + 7) &^ 7
	}
	p := 128
	for p < n {
		p <<= 1
	}
	step := p / 8 // four classes between p/2 and p
	return (n + step - 1) / step * step
}

// MemoryError is the preflight's refusal: the new version would take Need
// bytes on the server at Addr, which uses Used of its maxmemory Max.
type MemoryError struct {
	Addr            string
	Need, Used, Max int64
}

func (e *MemoryError) Error() string {
	free := max(e.Max-e.Used, 0)
	return fmt.Sprintf("the new version needs about %s on %s, which has %s free (maxmemory %s, used_memory %s): remove old versions ('recopub gc --keep 0'), raise maxmemory, or pass --force",
		mib(e.Need), e.Addr, mib(free), mib(e.Max), mib(e.Used))
}

func (e *MemoryError) Unwrap() error { return ErrNoRoom }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n) }

// Memory is one master's INFO memory.
type Memory struct {
	Addr   string
	Used   int64  // used_memory
	Max    int64  // maxmemory, 0 for none
	Policy string // maxmemory_policy
}

// MemoryInfo reads INFO memory from every master.
func MemoryInfo(ctx context.Context, c redis.UniversalClient) ([]Memory, error) {
	var mu sync.Mutex
	var out []Memory
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		info, err := node.Info(ctx, "memory").Result()
		if err != nil {
			return fmt.Errorf("info memory on %s: %w", addr, err)
		}
		m := Memory{Addr: addr, Policy: infoField(info, "maxmemory_policy")}
		m.Used, _ = strconv.ParseInt(infoField(info, "used_memory"), 10, 64)
		m.Max, _ = strconv.ParseInt(infoField(info, "maxmemory"), 10, 64)
		mu.Lock()
		out = append(out, m)
		mu.Unlock()
		return nil
	})
	return out, err
}

// Preflight checks that a version of need bytes fits under maxmemory on
// every master, each taking an even share of it, with 10% added for the
// estimate's error and, on a cluster, 10% more for the uneven spread of
// keys over slots. A server without maxmemory is not checked. The
// refusal is a *MemoryError.
func Preflight(ctx context.Context, c redis.UniversalClient, need int64) error {
	mems, err := MemoryInfo(ctx, c)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	share := need * 11 / 10
	if len(mems) > 1 {
		share = share / int64(len(mems)) * 11 / 10
	}
	for _, m := range mems {
		if m.Max > 0 && m.Used+share > m.Max {
			return fmt.Errorf("preflight: %w", &MemoryError{Addr: m.Addr, Need: share, Used: m.Used, Max: m.Max})
		}
	}
	return nil
}

// EvictionError is the refusal of a server whose maxmemory-policy evicts
// keys without a TTL.
type EvictionError struct {
	Addr, Policy string
}

func (e *EvictionError) Error() string {
	return fmt.Sprintf("%v: %s has maxmemory-policy %s, which evicts any key when memory runs short, live versions included: set it to noeviction (or a volatile-* policy) with CONFIG SET maxmemory-policy noeviction and in redis.conf, or use a Redis of its own for recopub; --force does not override this",
		ErrEvictionPolicy, e.Addr, e.Policy)
}

func (e *EvictionError) Unwrap() error { return ErrEvictionPolicy }

// CheckEviction reads INFO memory on every master and returns an
// *EvictionError when one's maxmemory-policy is allkeys-*: such a server
// evicts version keys at random when it reaches maxmemory, and a
// damaged version would be served. noeviction and volatile-* (which only
// evict keys with a TTL, and recopub's have none) pass.
func CheckEviction(ctx context.Context, c redis.UniversalClient) error {
	mems, err := MemoryInfo(ctx, c)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	for _, m := range mems {
		if strings.HasPrefix(m.Policy, "allkeys-") {
			return fmt.Errorf("preflight: %w", &EvictionError{Addr: m.Addr, Policy: m.Policy})
		}
	}
	return nil
}

// oomError marks err, a write refused at maxmemory, with ErrOutOfMemory
// and the servers' memory at that moment.
func oomError(ctx context.Context, c redis.UniversalClient, err error) error {
	if err == nil || !strings.Contains(err.Error(), "OOM ") {
		return err
	}
	var parts []string
	if mems, merr := MemoryInfo(ctx, c); merr == nil {
		for _, m := range mems {
			parts = append(parts, fmt.Sprintf("%s: used_memory %s of maxmemory %s", m.Addr, mib(m.Used), mib(m.Max)))
		}
	}
	return fmt.Errorf("%w (%s): %w", ErrOutOfMemory, strings.Join(parts, "; "), err)
}

// runIDs returns the run_id of every master by address: a changed id
// means a server restarted (and, without persistence, lost its keys).
func runIDs(ctx context.Context, c redis.UniversalClient) (map[string]string, error) {
	var mu sync.Mutex
	ids := make(map[string]string)
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		info, err := node.Info(ctx, "server").Result()
		if err != nil {
			return fmt.Errorf("info server on %s: %w", addr, err)
		}
		mu.Lock()
		ids[addr] = infoField(info, "run_id")
		mu.Unlock()
		return nil
	})
	return ids, err
}

// sameServers fails with ErrServerRestarted when a master's run_id
// differs from before, or the set of masters changed.
func sameServers(ctx context.Context, c redis.UniversalClient, before map[string]string) error {
	if before == nil {
		return nil // INFO refused: not checked
	}
	now, err := runIDs(ctx, c)
	if err != nil {
		return err
	}
	for addr, id := range before {
		if now[addr] != id {
			return fmt.Errorf("%w: %s (run_id %s, was %s); its keys of this version may be lost", ErrServerRestarted, addr, now[addr], id)
		}
	}
	if len(now) != len(before) {
		return fmt.Errorf("%w: the masters changed from %d to %d", ErrServerRestarted, len(before), len(now))
	}
	return nil
}
