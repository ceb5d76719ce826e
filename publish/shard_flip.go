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
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrShardsIncomplete is returned when flipping a sharded version some
// of whose shards are not complete. errors.As gives a *ShardsError.
var ErrShardsIncomplete = errors.New("not every shard of the version is complete")

// ShardsError names the shards of Version that are not complete.
type ShardsError struct {
	Version string
	Count   int
	Missing []int          // shard indices, ascending
	States  map[int]string // what each missing shard is: not started, writing, failed
}

func (e *ShardsError) Error() string {
	parts := make([]string, len(e.Missing))
	for k, i := range e.Missing {
		parts[k] = fmt.Sprintf("%d (%s)", i, e.States[i])
	}
	return fmt.Sprintf("%v: %s: %d of %d shards missing: %s; run or rerun each with --shard i/%d --version %s",
		ErrShardsIncomplete, e.Version, len(e.Missing), e.Count, strings.Join(parts, ", "), e.Count, e.Version)
}

func (e *ShardsError) Unwrap() error { return ErrShardsIncomplete }

// ShardFlip is what FlipShards did.
type ShardFlip struct {
	Version     string           `json:"version"`
	Previous    string           `json:"previous,omitempty"`
	AlreadyLive bool             `json:"already_live,omitempty"` // nothing to do: the version was live
	Lists       map[string]int64 `json:"lists_written"`
	Hashes      int64            `json:"hashes_written"`
}

// completeShardsScript marks a sharded version complete, under the
// namespace lock, if it still has the shard count and exactly the
// records the caller summed and verified, and no shard holds its lock
// (a rerun in progress).
// KEYS: lock, status, shards. ARGV: lock value, version, shard count,
// shard lock prefix, then each shard's record as read.
var completeShardsScript = redis.NewScript(fenceLua + `
local st = redis.call('HGET', KEYS[2], ARGV[2])
if st ~= 'writing' and st ~= 'complete' then
  return redis.error_reply('NOTWRITING ' .. tostring(st))
end
if redis.call('HGET', KEYS[3], 'shards') ~= ARGV[3] then
  return redis.error_reply('CHANGED the shard count')
end
for i = 0, tonumber(ARGV[3]) - 1 do
  if redis.call('EXISTS', ARGV[4] .. i) == 1 then
    return redis.error_reply('CHANGED shard ' .. i .. ' is running again')
  end
  if redis.call('HGET', KEYS[3], tostring(i)) ~= ARGV[5 + i] then
    return redis.error_reply('CHANGED shard ' .. i .. ' was rewritten')
  end
end
redis.call('HSET', KEYS[2], ARGV[2], 'complete')
return 1
`)

// FlipShards makes a sharded version live once all n of its shards are
// complete, under the namespace lock: it sums the counts the shards
// recorded into the version's manifest, counts the version's keys on
// every master against them (a *DamageError if any are missing), marks
// the version complete (in one script that checks no shard changed or
// is running again meanwhile) and flips it (Lock.Flip's checks: not
// older than the live version).
//
// A version already live is success with AlreadyLive: the last shard
// of a job may have flipped it. A version with a shard missing is
// refused with a *ShardsError naming each missing shard.
func (l *Lock) FlipShards(ctx context.Context, version string, n int) (*ShardFlip, error) {
	if err := l.namespaceOnly("flip"); err != nil {
		return nil, err
	}
	if err := ValidVersion(version); err != nil {
		return nil, err
	}
	if err := (Shard{Count: n}).Validate(); err != nil {
		return nil, fmt.Errorf("flip %s: %w", version, err)
	}
	out := &ShardFlip{Version: version}
	live, err := Live(ctx, l.c, l.k)
	if err != nil {
		return nil, err
	}
	if live == version {
		out.AlreadyLive = true
		out.Lists, out.Hashes = l.manifestCounts(ctx, version)
		return out, nil
	}
	raw, err := l.completeShards(ctx, version, n)
	if err != nil {
		return nil, err
	}
	out.Lists, out.Hashes = sumShards(raw)
	counts, _ := json.Marshal(map[string]any{"lists": out.Lists, "hashes": out.Hashes})
	if err := l.c.HSet(ctx, l.k.Manifest(version), "counts", string(counts)).Err(); err != nil {
		return nil, fmt.Errorf("flip %s: write manifest counts: %w", version, err)
	}
	if err := VerifyVersion(ctx, l.c, l.k, version); err != nil {
		return nil, fmt.Errorf("flip %s: %w", version, err)
	}
	args := []any{version, n, l.k.shardLockPrefix(version)}
	for i := range n {
		args = append(args, raw[i])
	}
	if err := l.run(ctx, completeShardsScript, []string{l.k.Status(), l.k.Shards(version)}, args).Err(); err != nil {
		return nil, fmt.Errorf("flip %s: %w; run the flip again", version, err)
	}
	if err := l.c.HSet(ctx, l.k.Manifest(version), "status", StatusComplete, "finished_at", time.Now().UTC().Format(time.RFC3339Nano)).Err(); err != nil {
		return nil, fmt.Errorf("flip %s: complete manifest: %w", version, err)
	}
	if out.Previous, err = l.flipVerified(ctx, version, false); err != nil {
		return nil, err
	}
	return out, nil
}

// completeShards reads the shard records of version and returns them
// as stored (JSON by index), or a *ShardsError when one of the n is not
// complete.
func (l *Lock) completeShards(ctx context.Context, version string, n int) (map[int]string, error) {
	all, err := l.c.HGetAll(ctx, l.k.Shards(version)).Result()
	if err != nil {
		return nil, fmt.Errorf("flip %s: read %s: %w", version, l.k.Shards(version), err)
	}
	if len(all) == 0 {
		st, _ := l.c.HGet(ctx, l.k.Status(), version).Result()
		if st != "" {
			return nil, fmt.Errorf("flip %s: %w (status %s): it was not written by shards; use rollback to make it live", version, ErrNotComplete, st)
		}
		return nil, fmt.Errorf("flip %s: no shard of this version ran (check --version), or gc removed it", version)
	}
	if got := all["shards"]; got != strconv.Itoa(n) {
		return nil, fmt.Errorf("flip %s: --shards %d, but its shards were run as %s shards", version, n, got)
	}
	se := &ShardsError{Version: version, Count: n, States: make(map[int]string)}
	raw := make(map[int]string, n)
	for i := range n {
		v, ok := all[strconv.Itoa(i)]
		var r ShardRecord
		switch {
		case !ok:
			se.States[i] = "not started"
		case json.Unmarshal([]byte(v), &r) != nil:
			se.States[i] = "unreadable record"
		case r.Status == ShardComplete:
			raw[i] = v
			continue
		case r.Status == ShardWriting && l.c.Exists(ctx, l.k.ShardLock(version, i)).Val() == 1:
			se.States[i] = "writing"
		case r.Status == ShardWriting:
			se.States[i] = "writing, but its lock expired: killed?"
		default:
			se.States[i] = r.Status
		}
		se.Missing = append(se.Missing, i)
	}
	if len(se.Missing) > 0 {
		return nil, se
	}
	return raw, nil
}

func sumShards(raw map[int]string) (map[string]int64, int64) {
	lists := make(map[string]int64)
	var hashes int64
	for _, i := range slices.Sorted(maps.Keys(raw)) {
		var r ShardRecord
		_ = json.Unmarshal([]byte(raw[i]), &r) // read by completeShards
		for f, c := range r.Lists {
			lists[f] += c
		}
		hashes += r.Hashes
	}
	return lists, hashes
}

func (l *Lock) manifestCounts(ctx context.Context, version string) (map[string]int64, int64) {
	s, err := l.c.HGet(ctx, l.k.Manifest(version), "counts").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0
	}
	return parseCounts(s)
}

// FlipShards takes the namespace's run lock, flips the sharded version
// (see Lock.FlipShards) and releases the lock. It fails with ErrLocked
// while a run, gc or rollback holds it; shards writing do not hold it.
func FlipShards(ctx context.Context, c redis.UniversalClient, k Keys, version string, n int) (*ShardFlip, error) {
	return withLock(ctx, c, k, "publish.FlipShards", func(l *Lock) (*ShardFlip, error) {
		return l.FlipShards(ctx, version, n)
	})
}
