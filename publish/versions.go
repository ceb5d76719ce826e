package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLive is returned when asked to delete the live version.
var ErrLive = errors.New("version is live")

// VersionInfo describes one version, as listed by Versions.
type VersionInfo struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
	Live      bool      `json:"live"`
	// FlippedAt is when the version was last made live; zero if never.
	FlippedAt time.Time        `json:"flipped_at,omitzero"`
	Lists     map[string]int64 `json:"lists,omitempty"`
	Hashes    int64            `json:"hashes"`
	// Bytes is the writer's estimate of the version's memory on the
	// server (the manifest's estimated_bytes; 0 if not recorded).
	Bytes    int64 `json:"bytes"`
	Manifest map[string]string
}

// Versions lists the known versions, oldest first.
func Versions(ctx context.Context, c redis.UniversalClient, k Keys) ([]VersionInfo, error) {
	zs, err := c.ZRangeWithScores(ctx, k.Versions(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.Versions(), err)
	}
	status, err := c.HGetAll(ctx, k.Status()).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.Status(), err)
	}
	flipped, err := c.HGetAll(ctx, k.Flipped()).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.Flipped(), err)
	}
	live, err := Live(ctx, c, k)
	if err != nil {
		return nil, err
	}
	out := make([]VersionInfo, 0, len(zs))
	for _, z := range zs {
		id := z.Member.(string)
		man, err := c.HGetAll(ctx, k.Manifest(id)).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k.Manifest(id), err)
		}
		vi := VersionInfo{
			ID:        id,
			CreatedAt: time.UnixMilli(int64(z.Score)).UTC(),
			Status:    status[id],
			Live:      id == live,
			Manifest:  man,
		}
		if vi.Status == "" {
			vi.Status = "unknown"
		}
		if ms, err := strconv.ParseInt(flipped[id], 10, 64); err == nil {
			vi.FlippedAt = time.UnixMilli(ms).UTC()
		}
		vi.Lists, vi.Hashes = parseCounts(man["counts"])
		vi.Bytes, _ = strconv.ParseInt(man["estimated_bytes"], 10, 64)
		out = append(out, vi)
	}
	return out, nil
}

// forgetScript makes a version unflippable before its keys go: under the
// lock, it drops the version's status unless the version is live, in one
// step on the {ns} slot, so a rollback can never pick a half-deleted
// version. A sharded version still writing is refused while one of its shards holds
// its lock (SHARDWRITING) or, given a cutoff (gc's now minus grace),
// when a shard started or ended after it (SHARDACTIVE); its shard
// records go with its status, so a shard that starts later registers a
// new version instead of joining a half-deleted one.
// KEYS: lock, current, status, shards. ARGV: lock value, version, shard
// lock prefix, cutoff (ms; -1: none).
var forgetScript = redis.NewScript(fenceLua + `
if redis.call('GET', KEYS[2]) == ARGV[2] then
  return redis.error_reply('LIVE ' .. ARGV[2])
end
if redis.call('HGET', KEYS[3], ARGV[2]) == 'writing' then
  local n = tonumber(redis.call('HGET', KEYS[4], 'shards') or '0')
  for i = 0, n - 1 do
    if redis.call('EXISTS', ARGV[3] .. i) == 1 then
      return redis.error_reply('SHARDWRITING ' .. i)
    end
  end
  local cutoff = tonumber(ARGV[4])
  if cutoff >= 0 and tonumber(redis.call('HGET', KEYS[4], 'active_ms') or '0') > cutoff then
    return redis.error_reply('SHARDACTIVE recently')
  end
end
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[4])
return 1
`)

// unregisterScript removes a forgotten version from the list, under the
// lock. KEYS: lock, versions. ARGV: lock value, version.
var unregisterScript = redis.NewScript(fenceLua + `
return redis.call('ZREM', KEYS[2], ARGV[2])
`)

// DeleteVersion removes every key of a version that is not live and
// forgets it, under the lock. It returns the number of keys removed. A
// DeleteVersion interrupted midway leaves the version listed without a
// status, which GC removes once it is older than the grace period.
func (l *Lock) DeleteVersion(ctx context.Context, version string) (int64, error) {
	return l.deleteVersion(ctx, version, -1)
}

// deleteVersion is DeleteVersion; a sharded version with shard activity
// after cutoffMs (unix ms; -1: none) is refused with ErrShardActive.
func (l *Lock) deleteVersion(ctx context.Context, version string, cutoffMs int64) (int64, error) {
	if err := l.namespaceOnly("delete"); err != nil {
		return 0, err
	}
	err := l.run(ctx, forgetScript, []string{l.k.Current(), l.k.Status(), l.k.Shards(version)},
		[]any{version, l.k.shardLockPrefix(version), cutoffMs}).Err()
	switch {
	case err == nil:
	case strings.HasPrefix(err.Error(), "LIVE "):
		return 0, fmt.Errorf("delete %s: %w", version, ErrLive)
	case strings.HasPrefix(err.Error(), "SHARDWRITING "):
		return 0, fmt.Errorf("delete %s: %w (shard %s holds its lock)", version, ErrShardActive, strings.TrimPrefix(err.Error(), "SHARDWRITING "))
	case strings.HasPrefix(err.Error(), "SHARDACTIVE"):
		return 0, fmt.Errorf("delete %s: %w (a shard started or ended within the grace period)", version, ErrShardActive)
	default:
		return 0, fmt.Errorf("delete %s: %w", version, err)
	}
	n, err := unlinkPrefix(ctx, l.c, l.k.VersionPattern(version))
	if err != nil {
		return n, fmt.Errorf("delete %s: %w", version, err)
	}
	if err := l.run(ctx, unregisterScript, []string{l.k.Versions()}, []any{version}).Err(); err != nil {
		return n, fmt.Errorf("delete %s: %w", version, err)
	}
	return n, nil
}

// DeleteVersion takes the namespace's run lock, deletes version (see
// Lock.DeleteVersion) and releases the lock.
func DeleteVersion(ctx context.Context, c redis.UniversalClient, k Keys, version string) (int64, error) {
	return withLock(ctx, c, k, "publish.DeleteVersion", func(l *Lock) (int64, error) {
		return l.DeleteVersion(ctx, version)
	})
}

// unlinkPrefix SCANs every master for keys matching pattern and UNLINKs
// them.
func unlinkPrefix(ctx context.Context, c redis.UniversalClient, pattern string) (int64, error) {
	var total atomic.Int64
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, _ string) error {
		return scanKeys(ctx, node, pattern, func(keys []string) error {
			p := node.Pipeline()
			for _, key := range keys {
				p.Unlink(ctx, key)
			}
			if _, err := p.Exec(ctx); err != nil {
				return err
			}
			total.Add(int64(len(keys)))
			return nil
		})
	})
	return total.Load(), err
}

// forEachMaster calls fn for every master of a cluster, concurrently, or
// once for a single server, with the node's address.
func forEachMaster(ctx context.Context, c redis.UniversalClient, fn func(ctx context.Context, node redis.UniversalClient, addr string) error) error {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return fn(ctx, node, node.Options().Addr)
		})
	case *redis.Client:
		return fn(ctx, c, c.Options().Addr)
	}
	return fn(ctx, c, "redis")
}

// DefaultGrace is how long gc leaves unfinished versions alone unless
// told otherwise (the --grace flag's default).
const DefaultGrace = 15 * time.Minute

// GCOptions configures GC.
type GCOptions struct {
	Keep int // complete versions kept before the live one
	// Grace: unfinished versions and orphan keys younger than this are
	// left alone; 0 removes them at once, which is safe because GC runs
	// under the run lock, so no live run is writing them. Callers that
	// want a margin pass DefaultGrace.
	Grace time.Duration
	Now   time.Time
	// Orphans, when not nil, are the orphans Lock.Orphans found earlier
	// under the same lock, which GC removes instead of scanning every
	// master again. A run looks for them before writing its version,
	// whose keys (most of the database, on a fresh server) cannot be
	// orphans; those of a run that lost its lock meanwhile are the next
	// gc's.
	Orphans []string
}

// pastGrace reports whether something made at t is older than the grace
// period. Grace 0 is now, whatever t says: a version id's time can be a
// second or two ahead of the clock (NewVersionID keeps ids increasing).
func (opt GCOptions) pastGrace(t time.Time) bool {
	return opt.Grace == 0 || opt.Now.Sub(t) >= opt.Grace
}

// GCResult is what GC removed.
type GCResult struct {
	Versions []string // listed versions removed, in the order removed
	Orphans  []string // versions with keys but no entry in {ns}:versions
	Keys     int64    // keys unlinked, all of them
}

// GC removes, under the lock, versions no longer needed:
//   - complete versions older than the live one beyond opt.Keep;
//   - failed or unfinished versions older than opt.Grace, and complete
//     versions newer than the live one that were never live (their run
//     died between completing and flipping them) older than opt.Grace;
//   - orphans: key prefixes of versions {ns}:versions no longer lists (a
//     run killed after its entry was dropped), found by SCAN on every
//     master, older than opt.Grace by the time in their id.
//
// It never removes the live version, nor a complete version newer than
// it that was live once (rolled back from).
func (l *Lock) GC(ctx context.Context, opt GCOptions) (GCResult, error) {
	var res GCResult
	opt.Keep = max(opt.Keep, 0)
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if err := l.namespaceOnly("gc"); err != nil {
		return res, err
	}
	if err := l.Check(ctx); err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	vs, err := Versions(ctx, l.c, l.k)
	if err != nil {
		return res, err
	}
	cutoff := opt.Now.Add(-opt.Grace).UnixMilli()
	for _, id := range dropped(vs, opt) {
		n, err := l.deleteVersion(ctx, id, cutoff)
		res.Keys += n
		if errors.Is(err, ErrShardActive) {
			continue // its shards are at work: not unfinished, only slow
		}
		if err != nil {
			return res, err
		}
		res.Versions = append(res.Versions, id)
	}
	orphans := opt.Orphans
	if orphans == nil {
		if orphans, err = l.orphans(ctx, opt); err != nil {
			return res, err
		}
	}
	for _, id := range orphans {
		// Under the lock, so that a process that lost it stops here.
		if err := l.Check(ctx); err != nil {
			return res, fmt.Errorf("gc: %w", err)
		}
		n, err := unlinkPrefix(ctx, l.c, l.k.VersionPattern(id))
		res.Keys += n
		if err != nil {
			return res, fmt.Errorf("gc: remove orphan %s: %w", id, err)
		}
		res.Orphans = append(res.Orphans, id)
	}
	return res, nil
}

// GC takes the namespace's run lock, collects (see Lock.GC) and releases
// the lock. It fails with ErrLocked while a run holds it.
func GC(ctx context.Context, c redis.UniversalClient, k Keys, opt GCOptions) (GCResult, error) {
	return withLock(ctx, c, k, "publish.GC", func(l *Lock) (GCResult, error) {
		return l.GC(ctx, opt)
	})
}

// dropped picks the listed versions GC removes, newest first.
func dropped(vs []VersionInfo, opt GCOptions) []string {
	liveAt := slices.IndexFunc(vs, func(v VersionInfo) bool { return v.Live })
	var drop []string
	kept := 0
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		switch {
		case v.Live:
		case v.Status == StatusComplete && liveAt >= 0 && i > liveAt && v.FlippedAt.IsZero() && opt.pastGrace(v.CreatedAt):
			// newer than live, never live, older than grace: its run
			// died between completing and flipping it
			drop = append(drop, v.ID)
		case v.Status == StatusComplete && (liveAt < 0 || i > liveAt):
			// rolled back from, or nothing live: keep for a flip
		case v.Status == StatusComplete:
			if kept < opt.Keep {
				kept++
				continue
			}
			drop = append(drop, v.ID)
		case opt.pastGrace(v.CreatedAt):
			drop = append(drop, v.ID)
		}
	}
	return drop
}

// Orphans returns the versions GC would remove as orphans now (see GC),
// for GCOptions.Orphans. opt.Now zero is now.
func (l *Lock) Orphans(ctx context.Context, opt GCOptions) ([]string, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	orphans, err := l.orphans(ctx, opt)
	if orphans == nil && err == nil {
		orphans = []string{}
	}
	return orphans, err
}

// orphans SCANs every master for version key prefixes that
// {ns}:versions does not list and that are older than opt.Grace. The
// list is read after the scan, so a version registered meanwhile is not
// taken for an orphan.
func (l *Lock) orphans(ctx context.Context, opt GCOptions) ([]string, error) {
	var mu sync.Mutex
	seen := make(map[string]bool)
	err := forEachMaster(ctx, l.c, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		err := scanKeys(ctx, node, l.k.AllVersionsPattern(), func(keys []string) error {
			mu.Lock()
			defer mu.Unlock()
			for _, key := range keys {
				if id, ok := l.k.VersionOf(key); ok {
					seen[id] = true
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("gc: scan %s: %w", addr, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	listed, err := l.c.ZRange(ctx, l.k.Versions(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("gc: read %s: %w", l.k.Versions(), err)
	}
	live, err := Live(ctx, l.c, l.k)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		t, _ := VersionTime(id)
		if id == live || slices.Contains(listed, id) || !opt.pastGrace(t) {
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

func parseCounts(s string) (map[string]int64, int64) {
	if s == "" {
		return nil, 0
	}
	var v struct {
		Lists  map[string]int64 `json:"lists"`
		Hashes int64            `json:"hashes"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, 0
	}
	return v.Lists, v.Hashes
}
