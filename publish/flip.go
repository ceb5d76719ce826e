package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrNotComplete is returned when flipping to a version that is not
	// marked complete.
	ErrNotComplete = errors.New("version is not complete")
	// ErrOlder is returned when flipping to a version older than the live
	// one without asking for a rollback.
	ErrOlder = errors.New("version is older than the live version")
	// ErrNotWriting is returned when a version being written is no longer
	// registered as writing: gc removed it (it took longer than --grace)
	// or the server holding the control keys restarted.
	ErrNotWriting = errors.New("version is no longer registered as writing")
)

// flipScript makes a complete version live and announces it. It checks, in
// one atomic step on the server, that the caller holds the run lock, that
// the version is complete and, unless rolling back, not older than the
// live one. All keys share the {ns} hash tag, so it runs on Redis Cluster
// too.
//
// KEYS: lock, current, status, versions, flipped. ARGV: lock value,
// version, rollback (0/1), channel, now (unix ms).
var flipScript = redis.NewScript(fenceLua + `
local st = redis.call('HGET', KEYS[3], ARGV[2])
if st ~= 'complete' then
  return redis.error_reply('NOTCOMPLETE ' .. tostring(st))
end
local cur = redis.call('GET', KEYS[2])
if cur and ARGV[3] ~= '1' then
  local curScore = redis.call('ZSCORE', KEYS[4], cur)
  local newScore = redis.call('ZSCORE', KEYS[4], ARGV[2])
  if curScore and newScore and tonumber(newScore) < tonumber(curScore) then
    return redis.error_reply('OLDER ' .. cur)
  end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[5], ARGV[2], ARGV[5])
if cur and not redis.call('HGET', KEYS[5], cur) then
  redis.call('HSET', KEYS[5], cur, ARGV[5]) -- live before {ns}:flipped existed
end
redis.call('PUBLISH', ARGV[4], ARGV[2])
if cur then return cur end
return ''
`)

// registerScript lists a new version as writing, under the lock.
// KEYS: lock, versions, status. ARGV: lock value, version, score (ms).
var registerScript = redis.NewScript(fenceLua + `
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], 'writing')
return 1
`)

// completeScript marks a version complete only if it is still registered
// as writing and the caller holds the lock, so a version whose
// registration was lost never becomes flippable.
// KEYS: lock, status. ARGV: lock value, version.
var completeScript = redis.NewScript(fenceLua + `
local st = redis.call('HGET', KEYS[2], ARGV[2])
if st ~= 'writing' then
  return redis.error_reply('NOTWRITING ' .. tostring(st))
end
redis.call('HSET', KEYS[2], ARGV[2], 'complete')
return 1
`)

func (l *Lock) register(ctx context.Context, version string, scoreMs int64) error {
	if err := l.run(ctx, registerScript, []string{l.k.Versions(), l.k.Status()}, []any{version, scoreMs}).Err(); err != nil {
		return fmt.Errorf("register version %s: %w", version, err)
	}
	return nil
}

func (l *Lock) markComplete(ctx context.Context, version string) error {
	err := l.run(ctx, completeScript, []string{l.k.Status()}, []any{version}).Err()
	if err != nil && strings.HasPrefix(err.Error(), "NOTWRITING") {
		return fmt.Errorf("mark %s complete: %w (status %s; removed by gc, or the server restarted)", version, ErrNotWriting, strings.TrimPrefix(err.Error(), "NOTWRITING "))
	}
	if err != nil {
		return fmt.Errorf("mark %s complete: %w", version, err)
	}
	return nil
}

// Flip makes version live under the lock and returns the version it
// replaced ("" if none). rollback allows a version older than the live
// one. Before the flip the version's keys are counted on every master
// and compared with its manifest (VerifyVersion): a version that lost
// keys (evicted, deleted by hand) is refused with ErrDamaged. The flip
// itself checks, atomically on the server, that this process still holds
// the lock (else ErrLockLost), that the version is complete and, unless
// rolling back, not older than the live one.
func (l *Lock) Flip(ctx context.Context, version string, rollback bool) (string, error) {
	return l.flip(ctx, version, rollback, nil)
}

// FlipWritten makes the version res describes live, as Flip does, for
// the process that just wrote it with Writer.Write under this lock. It
// counts the version's keys by SCAN only when what the writer saw does
// not show them all in place still (evidence.go): a server restarted or
// failed over, evicted keys, the manifest changed, a sampled key is gone,
// INFO was refused, or the Writer had CountBeforeFlip set.
func (l *Lock) FlipWritten(ctx context.Context, res *Result) (string, error) {
	return l.flip(ctx, res.Version, false, res.evidence)
}

func (l *Lock) flip(ctx context.Context, version string, rollback bool, ev *writeEvidence) (string, error) {
	if err := l.namespaceOnly("flip"); err != nil {
		return "", err
	}
	// Checked again by the script; first so that an unknown or failed
	// version is refused for what it is, not for its missing keys.
	st, err := l.c.HGet(ctx, l.k.Status(), version).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("flip to %s: %w", version, err)
	}
	if st != StatusComplete {
		return "", fmt.Errorf("flip to %s: %w (status %s)", version, ErrNotComplete, cmp.Or(st, "nil"))
	}
	held, err := ev.holds(ctx, l.c, l.k)
	if err != nil {
		return "", fmt.Errorf("flip to %s: %w", version, err)
	}
	if !held {
		if err := VerifyVersion(ctx, l.c, l.k, version); err != nil {
			return "", fmt.Errorf("flip to %s: %w", version, err)
		}
	}
	return l.flipVerified(ctx, version, rollback)
}

// flipVerified runs the flip script for a version whose keys were
// counted against its manifest.
func (l *Lock) flipVerified(ctx context.Context, version string, rollback bool) (string, error) {
	rb := "0"
	if rollback {
		rb = "1"
	}
	prev, err := l.run(ctx, flipScript, []string{l.k.Current(), l.k.Status(), l.k.Versions(), l.k.Flipped()},
		[]any{version, rb, l.k.Flips(), time.Now().UnixMilli()}).Text()
	if err != nil {
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "NOTCOMPLETE"):
			return "", fmt.Errorf("flip to %s: %w (status %s)", version, ErrNotComplete, strings.TrimPrefix(msg, "NOTCOMPLETE "))
		case strings.HasPrefix(msg, "OLDER"):
			return "", fmt.Errorf("flip to %s: %w %s; use rollback", version, ErrOlder, strings.TrimPrefix(msg, "OLDER "))
		}
		return "", fmt.Errorf("flip to %s: %w", version, err)
	}
	return prev, nil
}

// Flip takes the namespace's run lock, flips to version (see Lock.Flip)
// and releases the lock. It fails with ErrLocked while a run holds it.
func Flip(ctx context.Context, c redis.UniversalClient, k Keys, version string, rollback bool) (string, error) {
	return withLock(ctx, c, k, "publish.Flip", func(l *Lock) (string, error) {
		return l.Flip(ctx, version, rollback)
	})
}

// Live returns the live version id, or "" when nothing was published.
func Live(ctx context.Context, c redis.UniversalClient, k Keys) (string, error) {
	v, err := c.Get(ctx, k.Current()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", k.Current(), err)
	}
	return v, nil
}
