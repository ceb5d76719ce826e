package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLocked is returned when another run holds the namespace's lock.
var ErrLocked = errors.New("another run holds the lock")

// Lock is a run lock on a namespace: SET NX PX with a random token, renewed
// in the background while held and released only by its owner.
type Lock struct {
	c     redis.UniversalClient
	key   string
	token string
	ttl   time.Duration

	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	lost error
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
)

// AcquireLock takes the namespace's run lock or returns ErrLocked.
func AcquireLock(ctx context.Context, c redis.UniversalClient, k Keys, ttl time.Duration) (*Lock, error) {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	l := &Lock{c: c, key: k.Lock(), token: hex.EncodeToString(b[:]), ttl: ttl, stop: make(chan struct{})}
	ok, err := c.SetNX(ctx, l.key, l.token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("take lock %s: %w", l.key, err)
	}
	if !ok {
		pttl, _ := c.PTTL(ctx, l.key).Result()
		return nil, fmt.Errorf("%w %s (expires in %s unless renewed)", ErrLocked, l.key, pttl.Round(time.Second))
	}
	l.wg.Add(1)
	go l.renew(context.WithoutCancel(ctx))
	return l, nil
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
		n, err := renewScript.Run(rctx, l.c, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
		cancel()
		switch {
		case err == nil && n == 0:
			l.mu.Lock()
			l.lost = fmt.Errorf("lock %s was lost (expired or taken over)", l.key)
			l.mu.Unlock()
			return
		case err != nil:
			t.Reset(every / 4)
		default:
			t.Reset(every)
		}
	}
}

// Err reports whether the lock was lost while held.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Release stops renewing and deletes the lock if this run still owns it.
func (l *Lock) Release(ctx context.Context) error {
	close(l.stop)
	l.wg.Wait()
	if _, err := releaseScript.Run(ctx, l.c, []string{l.key}, l.token).Result(); err != nil {
		return fmt.Errorf("release lock %s: %w", l.key, err)
	}
	return l.Err()
}
