package publish

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrLocked is returned when another process holds the namespace's
	// run lock.
	ErrLocked = errors.New("another run holds the lock")
	// ErrLockLost is returned by a fenced step (register, complete, flip,
	// delete) when the server finds the lock no longer held by the caller:
	// it expired while the process stalled, or another process took it.
	ErrLockLost = errors.New("the run lock was lost (expired or taken over)")
)

// DefaultLockTTL is the run lock's TTL when none is given.
const DefaultLockTTL = 30 * time.Second

// LockOptions configure AcquireLock.
type LockOptions struct {
	TTL time.Duration // default DefaultLockTTL; renewed every TTL/3
	// Owner says who holds the lock, for the message of whoever finds
	// it taken, such as "recopub run (pid 4711 on batch-1)".
	Owner string
}

// Lock is a run lock on a namespace: SET NX PX of a value unique to this
// holder, renewed in the background while held and released only by its
// owner. The value is also the fencing token: every step that changes
// which versions exist or which one is live runs as a Lua script that
// first compares {ns}:lock with it, on the server, in the same atomic
// step, so a process that lost the lock can neither flip nor delete.
// Scripts and lock share the {ns} hash tag, hence one slot on a cluster.
type Lock struct {
	c     redis.UniversalClient
	k     Keys
	key   string // k.Lock(), or a shard's lock (AcquireShardLock)
	value string
	ttl   time.Duration

	stop chan struct{}
	once sync.Once // closes stop: Release may be called twice
	wg   sync.WaitGroup
	mu   sync.Mutex
	lost error
}

// lockValue is what the lock key holds: a random token, who took it and
// when.
type lockValue struct {
	Token string    `json:"token"`
	Owner string    `json:"owner,omitempty"`
	Since time.Time `json:"since"`
}

var (
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
	fenceScript = redis.NewScript(fenceLua + `return 1`)
)

// fenceLua starts every fenced script: KEYS[1] is the lock, ARGV[1] the
// caller's lock value.
const fenceLua = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('LOCKLOST the run lock is not held')
end
`

// AcquireLock takes the namespace's run lock or returns an error wrapping
// ErrLocked that says who holds it, since when and for how long.
func AcquireLock(ctx context.Context, c redis.UniversalClient, k Keys, opt LockOptions) (*Lock, error) {
	return acquire(ctx, c, k, k.Lock(), opt)
}

// acquire takes the lock key: the namespace's or a shard's.
func acquire(ctx context.Context, c redis.UniversalClient, k Keys, key string, opt LockOptions) (*Lock, error) {
	ttl := opt.TTL
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	v, _ := json.Marshal(lockValue{Token: hex.EncodeToString(b[:]), Owner: opt.Owner, Since: time.Now().UTC().Truncate(time.Millisecond)})
	l := &Lock{c: c, k: k, key: key, value: string(v), ttl: ttl, stop: make(chan struct{})}
	ok, err := c.SetNX(ctx, key, l.value, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("take lock %s: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w %s: %s", ErrLocked, key, holder(ctx, c, key))
	}
	l.wg.Add(1)
	go l.renew(context.WithoutCancel(ctx))
	return l, nil
}

// holder describes who holds the lock, since when and how long it lasts
// unless renewed.
func holder(ctx context.Context, c redis.UniversalClient, key string) string {
	raw, err := c.Get(ctx, key).Result()
	if err != nil {
		return "holder unknown (" + err.Error() + ")"
	}
	pttl, _ := c.PTTL(ctx, key).Result()
	var v lockValue
	who := "held by an unknown holder"
	if json.Unmarshal([]byte(raw), &v) == nil && !v.Since.IsZero() {
		who = fmt.Sprintf("held by %s since %s", cmp.Or(v.Owner, "an unnamed holder"), v.Since.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s (expires in %s unless renewed)", who, pttl.Round(time.Second))
}

// renew extends the lock every ttl/3 until Release. A renewal that fails
// (a timeout, a dropped connection) is retried sooner, so one slow round
// trip does not let the lock expire. It runs on ctx without its
// cancellation: the lock outlives the call that took it.
func (l *Lock) renew(ctx context.Context) {
	defer l.wg.Done()
	every := l.ttl / 3
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		n, err := renewScript.Run(rctx, l.c, []string{l.key}, l.value, l.ttl.Milliseconds()).Int()
		cancel()
		switch {
		case err == nil && n == 0:
			l.mu.Lock()
			l.lost = fmt.Errorf("lock %s: %w", l.key, ErrLockLost)
			l.mu.Unlock()
			return
		case err != nil:
			t.Reset(every / 4)
		default:
			t.Reset(every)
		}
	}
}

// Err reports whether the renewal found the lock lost while held. The
// server-side fence is what protects the data; Err lets a run stop early.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Release stops renewing and deletes the lock if this process still
// owns it.
func (l *Lock) Release(ctx context.Context) error {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	if _, err := releaseScript.Run(ctx, l.c, []string{l.key}, l.value).Result(); err != nil {
		return fmt.Errorf("release lock %s: %w", l.key, err)
	}
	return l.Err()
}

// Check fails with ErrLockLost unless the server still holds this lock.
func (l *Lock) Check(ctx context.Context) error {
	return l.run(ctx, fenceScript, nil, nil).Err()
}

// run runs a fenced script with the lock as KEYS[1] and its value as
// ARGV[1], followed by keys and args. A LOCKLOST reply becomes an error
// wrapping ErrLockLost that names the current holder.
func (l *Lock) run(ctx context.Context, s *redis.Script, keys []string, args []any) *redis.Cmd {
	cmd := s.Run(ctx, l.c, append([]string{l.key}, keys...), append([]any{l.value}, args...)...)
	if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "LOCKLOST") {
		cmd.SetErr(fmt.Errorf("%w; the lock is now %s", ErrLockLost, nowHeld(ctx, l.c, l.key)))
	}
	return cmd
}

// nowHeld describes the lock after this process lost it.
func nowHeld(ctx context.Context, c redis.UniversalClient, key string) string {
	if n, err := c.Exists(ctx, key).Result(); err == nil && n == 0 {
		return "free"
	}
	return holder(ctx, c, key)
}

// namespaceOnly refuses a shard's lock for what only the namespace's
// lock may do (flip, delete, gc): its fence would pass on any version.
func (l *Lock) namespaceOnly(what string) error {
	if l.key != l.k.Lock() {
		return fmt.Errorf("%s: %s is a shard's lock; %s takes the namespace's lock %s", what, l.key, what, l.k.Lock())
	}
	return nil
}

// withLock runs fn under the namespace's lock, taken for the call.
func withLock[T any](ctx context.Context, c redis.UniversalClient, k Keys, owner string, fn func(*Lock) (T, error)) (T, error) {
	l, err := AcquireLock(ctx, c, k, LockOptions{Owner: owner})
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := fn(l)
	if rerr := l.Release(context.WithoutCancel(ctx)); err == nil && rerr != nil {
		err = rerr
	}
	return v, err
}
