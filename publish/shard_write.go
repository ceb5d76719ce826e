package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shard record statuses, as ShardRecord.Status.
const (
	ShardWriting  = "writing"
	ShardComplete = "complete"
	ShardFailed   = "failed"
)

// ShardRecord is what a shard records of itself in Keys.Shards: the flip
// sums the counts of complete shards into the version's manifest and
// verifies the version's keys against them.
type ShardRecord struct {
	Status     string           `json:"status"`
	Owner      string           `json:"owner,omitempty"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt time.Time        `json:"finished_at,omitzero"`
	Lists      map[string]int64 `json:"lists,omitempty"`
	Hashes     int64            `json:"hashes"`
	Restore    bool             `json:"restore,omitempty"`
	Verified   int              `json:"keys_verified,omitempty"`
	Error      string           `json:"error,omitempty"`
}

// AcquireShardLock takes the lock of shard s of version
// (Keys.ShardLock). Shards of one version take different locks, so they
// run at the same time; none takes the namespace's lock, which a flip,
// gc or rollback holds. The shard's register, complete and fail steps
// are fenced by this lock, and gc never deletes a version while any of
// its shard locks is held (see Lock.DeleteVersion).
func AcquireShardLock(ctx context.Context, c redis.UniversalClient, k Keys, version string, s Shard, opt LockOptions) (*Lock, error) {
	if err := ValidVersion(version); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return acquire(ctx, c, k, k.ShardLock(version, s.Index), opt)
}

// shardTarget is what a Writer needs to write one shard: set by
// WriteShard on its own copy of the Writer.
type shardTarget struct {
	version     string
	shard       Shard
	fingerprint string
	families    []string // the model's families and FamilyUser, to find the shard's keys
	owner       string
	registered  bool
}

// WriteShard writes the part of m that s owns (Shard.Model) into
// version, which every shard of the job is given, and records the shard
// complete with its key counts in Keys.Shards. It does not flip: see
// Lock.FlipShards. w.Lock must be the shard's lock (AcquireShardLock).
//
// The first shard to register lists the version as writing; the others
// join it if they have the same shard count and the same fingerprint
// (parameters, inputs and input counts), and are refused otherwise.
// Rerunning a shard (its process was killed, or it failed) first removes
// the keys an earlier attempt of the same shard left. A shard that fails
// removes its keys and records itself failed; the version stays
// unflippable until the shard is rerun.
func (w *Writer) WriteShard(ctx context.Context, m *Model, version string, s Shard) (*Result, error) {
	if err := ValidVersion(version); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if w.Lock == nil || w.Lock.key != w.Keys.ShardLock(version, s.Index) {
		return nil, fmt.Errorf("write shard %s of %s: the Writer's Lock must be the shard's lock (AcquireShardLock)", s, version)
	}
	fams := []string{FamilyUser}
	for _, f := range m.Families {
		fams = append(fams, f.Name)
	}
	sw := *w
	sw.shard = &shardTarget{version: version, shard: s, fingerprint: fingerprint(m, s.Count), families: fams, owner: lockOwnerOf(w.Lock)}
	return sw.write(ctx, w.Lock, s.Model(m))
}

// fingerprint identifies what a version's shards must share: the
// parameters, inputs and input counts recorded in the manifest, and the
// shard count.
func fingerprint(m *Model, n int) string {
	b, _ := json.Marshal(struct {
		P map[string]any
		I []Input
		C map[string]any
		N int
	}{m.Parameters, m.Inputs, m.Counts, n})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func lockOwnerOf(l *Lock) string {
	var v lockValue
	_ = json.Unmarshal([]byte(l.value), &v)
	return v.Owner
}

// shardRegisterScript lists the version as writing if it is new, or
// joins it; it refuses a version being deleted (listed without a
// status), one no longer writing, and a shard count or fingerprint that
// differs from the first shard's. It returns the shard's previous record
// ("" if none).
//
// KEYS: shard lock, versions, status, shards. ARGV: lock value, version,
// score (ms), shard index, shard count, fingerprint, record, now (ms).
var shardRegisterScript = redis.NewScript(fenceLua + `
local st = redis.call('HGET', KEYS[3], ARGV[2])
if not st then
  if redis.call('ZSCORE', KEYS[2], ARGV[2]) then
    return redis.error_reply('DELETING the version')
  end
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[2], 'writing')
elseif st ~= 'writing' then
  return redis.error_reply('NOTWRITING ' .. st)
elseif redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTSHARDED the version')
end
local n = redis.call('HGET', KEYS[4], 'shards')
if n and n ~= ARGV[5] then
  return redis.error_reply('SHARDS ' .. n)
end
local fp = redis.call('HGET', KEYS[4], 'fingerprint')
if fp and fp ~= ARGV[6] then
  return redis.error_reply('FINGERPRINT differs')
end
local prev = redis.call('HGET', KEYS[4], ARGV[4])
redis.call('HSET', KEYS[4], 'shards', ARGV[5], 'fingerprint', ARGV[6], 'active_ms', ARGV[8], ARGV[4], ARGV[7])
return prev or ''
`)

// shardRecordScript replaces a registered shard's record while the
// version is still writing and still the one the shard registered in.
// KEYS: shard lock, status, shards. ARGV: lock value, version, shard
// index, record, now (ms), fingerprint.
var shardRecordScript = redis.NewScript(fenceLua + `
local st = redis.call('HGET', KEYS[2], ARGV[2])
if st ~= 'writing' then
  return redis.error_reply('NOTWRITING ' .. tostring(st))
end
if redis.call('HGET', KEYS[3], 'fingerprint') ~= ARGV[6] or not redis.call('HGET', KEYS[3], ARGV[3]) then
  return redis.error_reply('NOTWRITING re-registered by another job')
end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4], 'active_ms', ARGV[5])
return 1
`)

// register is Writer.register for a shard.
func (t *shardTarget) register(ctx context.Context, w *Writer, l *Lock, m *Model, start time.Time) error {
	rec, _ := json.Marshal(ShardRecord{Status: ShardWriting, Owner: t.owner, StartedAt: start.UTC()})
	prev, err := l.run(ctx, shardRegisterScript, []string{w.Keys.Versions(), w.Keys.Status(), w.Keys.Shards(t.version)},
		[]any{t.version, start.UnixMilli(), t.shard.Index, t.shard.Count, t.fingerprint, string(rec), w.now().UnixMilli()}).Text()
	if err != nil {
		return t.registerError(err)
	}
	t.registered = true
	params, _ := json.Marshal(m.Parameters)
	inputs, _ := json.Marshal(m.Inputs)
	counts, _ := json.Marshal(m.Counts)
	man := w.Keys.Manifest(t.version)
	p := w.Client.TxPipeline()
	p.HSetNX(ctx, man, "created_at", start.UTC().Format(time.RFC3339Nano))
	p.HSet(ctx, man, "version", t.version, "status", StatusWriting, "shards", t.shard.Count,
		"parameters", string(params), "inputs", string(inputs), "input_counts", string(counts))
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("write manifest of %s: %w", t.version, err)
	}
	if prev == "" {
		return nil
	}
	// A rerun: what an earlier attempt wrote goes first, so the shard's
	// keys are exactly this attempt's.
	n, err := unlinkShard(ctx, w.Client, w.Keys, t.version, t.families, t.shard)
	if err != nil {
		return fmt.Errorf("remove the keys of an earlier attempt of shard %s: %w", t.shard, err)
	}
	w.logger().Info("rerun of a shard: removed the keys of its earlier attempt", "version", t.version, "shard", t.shard.String(), "keys", n)
	return nil
}

func (t *shardTarget) registerError(err error) error {
	msg := err.Error()
	pre := fmt.Sprintf("register shard %s of version %s", t.shard, t.version)
	switch {
	case strings.HasPrefix(msg, "DELETING"):
		return fmt.Errorf("%s: gc or a delete is removing this version; give the job a new --version", pre)
	case strings.HasPrefix(msg, "NOTWRITING"):
		return fmt.Errorf("%s: %w (status %s); a complete version is never written again: give the job a new --version", pre, ErrNotWriting, strings.TrimPrefix(msg, "NOTWRITING "))
	case strings.HasPrefix(msg, "NOTSHARDED"):
		return fmt.Errorf("%s: the version is being written by an unsharded run; give the job a new --version", pre)
	case strings.HasPrefix(msg, "SHARDS"):
		return fmt.Errorf("%s: the version's other shards were started with %s shards; every shard of a job takes the same n", pre, strings.TrimPrefix(msg, "SHARDS "))
	case strings.HasPrefix(msg, "FINGERPRINT"):
		return fmt.Errorf("%s: its parameters or inputs differ from those the version's first shard registered (same flags, same exports for every shard; or give the job a new --version)", pre)
	}
	return fmt.Errorf("%s: %w", pre, err)
}

// complete is Writer.complete for a shard: it records the shard complete
// with its counts; the version stays writing until the flip.
func (t *shardTarget) complete(ctx context.Context, w *Writer, l *Lock, res *Result, start time.Time) error {
	rec := ShardRecord{Status: ShardComplete, Owner: t.owner, StartedAt: start.UTC(), FinishedAt: w.now().UTC(),
		Lists: res.Lists, Hashes: res.Hashes, Restore: res.Restore, Verified: res.Verified}
	return t.record(ctx, w, l, rec)
}

func (t *shardTarget) record(ctx context.Context, w *Writer, l *Lock, rec ShardRecord) error {
	b, _ := json.Marshal(rec)
	err := l.run(ctx, shardRecordScript, []string{w.Keys.Status(), w.Keys.Shards(t.version)},
		[]any{t.version, t.shard.Index, string(b), w.now().UnixMilli(), t.fingerprint}).Err()
	if err != nil && strings.HasPrefix(err.Error(), "NOTWRITING") {
		return fmt.Errorf("mark shard %s of %s %s: %w (%s; removed by gc, or the server restarted)", t.shard, t.version, rec.Status, ErrNotWriting, strings.TrimPrefix(err.Error(), "NOTWRITING "))
	}
	if err != nil {
		return fmt.Errorf("mark shard %s of %s %s: %w", t.shard, t.version, rec.Status, err)
	}
	return nil
}

// abort is Writer.abort for a shard: it records the shard failed and
// removes its keys, never another shard's. A shard refused at register
// wrote nothing and touches nothing.
func (t *shardTarget) abort(ctx context.Context, w *Writer, l *Lock, cause error) error {
	if !t.registered {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	cause = oomError(ctx, w.Client, cause)
	rec := ShardRecord{Status: ShardFailed, Owner: t.owner, FinishedAt: w.now().UTC(), Error: cause.Error()}
	if err := t.record(ctx, w, l, rec); errors.Is(err, ErrLockLost) {
		// Another attempt of the shard may hold the lock and be writing
		// the same keys: leave them to it.
		return fmt.Errorf("publish shard %s of version %s: %w; its keys remain (the shard's lock was lost): rerun the shard", t.shard, t.version, cause)
	}
	n, err := unlinkShard(ctx, w.Client, w.Keys, t.version, t.families, t.shard)
	if err != nil {
		return fmt.Errorf("publish shard %s of version %s: %w; its keys could not be removed (%v): rerun the shard, or 'recopub gc' removes the version once older than --grace", t.shard, t.version, cause, err)
	}
	w.logger().Warn("shard failed; removed its keys", "version", t.version, "shard", t.shard.String(), "keys_removed", n, "cause", cause.Error())
	return fmt.Errorf("publish shard %s of version %s: %w; removed its keys (%d); rerun the shard", t.shard, t.version, cause, n)
}

// unlinkShard removes the keys of version in families that s owns, on
// every master.
func unlinkShard(ctx context.Context, c redis.UniversalClient, k Keys, version string, families []string, s Shard) (int64, error) {
	var total atomic.Int64
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, _ string) error {
		return scanKeys(ctx, node, k.VersionPattern(version), func(keys []string) error {
			p := node.Pipeline()
			n := 0
			for _, key := range keys {
				id, ok := k.shardKeyID(version, key, families)
				if ok && s.Owns(id) {
					p.Unlink(ctx, key)
					n++
				}
			}
			if n == 0 {
				return nil
			}
			if _, err := p.Exec(ctx); err != nil {
				return err
			}
			total.Add(int64(n))
			return nil
		})
	})
	return total.Load(), err
}

// ShardRecords reads the shard records of version: the shard count its
// shards registered (0 when none did) and each record by index.
func ShardRecords(ctx context.Context, c redis.UniversalClient, k Keys, version string) (int, map[int]ShardRecord, error) {
	raw, err := c.HGetAll(ctx, k.Shards(version)).Result()
	if err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", k.Shards(version), err)
	}
	n, _ := strconv.Atoi(raw["shards"])
	recs := make(map[int]ShardRecord)
	for f, v := range raw {
		i, err := strconv.Atoi(f)
		if err != nil {
			continue // shards, fingerprint, active_ms
		}
		var r ShardRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return 0, nil, fmt.Errorf("read %s: shard %d: %w", k.Shards(version), i, err)
		}
		recs[i] = r
	}
	return n, recs, nil
}

// ErrShardActive is returned when deleting a sharded version one of whose
// shards holds its lock (or, for gc, finished within the grace period).
var ErrShardActive = errors.New("a shard of the version is being written")
