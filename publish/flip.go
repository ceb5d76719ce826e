package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// one atomic step on the server, that the version is complete and, unless
// rolling back, not older than the live one. All keys share the {ns} hash
// tag, so it runs on Redis Cluster too.
//
// KEYS: current, status, versions. ARGV: version, rollback (0/1), channel.
var flipScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[2], ARGV[1])
if st ~= 'complete' then
  return redis.error_reply('NOTCOMPLETE ' .. tostring(st))
end
local cur = redis.call('GET', KEYS[1])
if cur and ARGV[2] ~= '1' then
  local curScore = redis.call('ZSCORE', KEYS[3], cur)
  local newScore = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if curScore and newScore and tonumber(newScore) < tonumber(curScore) then
    return redis.error_reply('OLDER ' .. cur)
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[1])
if cur then return cur end
return ''
`)

// completeScript marks a version complete only if it is still registered
// as writing, so a version whose registration was lost never becomes
// flippable. KEYS: status. ARGV: version.
var completeScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], ARGV[1])
if st ~= 'writing' then
  return redis.error_reply('NOTWRITING ' .. tostring(st))
end
redis.call('HSET', KEYS[1], ARGV[1], 'complete')
return 1
`)

func markComplete(ctx context.Context, c redis.UniversalClient, k Keys, version string) error {
	err := completeScript.Run(ctx, c, []string{k.Status()}, version).Err()
	if err != nil && strings.HasPrefix(err.Error(), "NOTWRITING") {
		return fmt.Errorf("mark %s complete: %w (status %s; removed by gc, or the server restarted)", version, ErrNotWriting, strings.TrimPrefix(err.Error(), "NOTWRITING "))
	}
	if err != nil {
		return fmt.Errorf("mark %s complete: %w", version, err)
	}
	return nil
}

// Flip makes version live and returns the version it replaced ("" if
// none). rollback allows a version older than the live one.
func Flip(ctx context.Context, c redis.UniversalClient, k Keys, version string, rollback bool) (string, error) {
	rb := "0"
	if rollback {
		rb = "1"
	}
	prev, err := flipScript.Run(ctx, c, []string{k.Current(), k.Status(), k.Versions()}, version, rb, k.Flips()).Text()
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
