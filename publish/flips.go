package publish

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// liveVersion is a cached live version id and when it was last confirmed.
type liveVersion struct {
	id string
	at time.Time
}

// Version returns the live version id, from the cache while it is younger
// than the client's TTL.
func (c *Client) Version(ctx context.Context) (string, error) {
	if lv := c.cur.Load(); lv != nil && time.Since(lv.at) < c.ttl {
		return lv.id, nil
	}
	return c.refresh(ctx)
}

// CachedVersion returns the live version id as last resolved, without
// asking Redis, or "" before the first resolution.
func (c *Client) CachedVersion() string {
	if lv := c.cur.Load(); lv != nil {
		return lv.id
	}
	return ""
}

// isLive reports whether v is the cached live version.
func (c *Client) isLive(v string) bool {
	lv := c.cur.Load()
	return lv != nil && lv.id == v
}

// refresh reads the live version id from Redis and caches it.
func (c *Client) refresh(ctx context.Context) (string, error) {
	gen := c.gen.Load()
	cctx, cancel := c.call(ctx)
	defer cancel()
	v, err := Live(cctx, c.rdb, c.keys)
	if err != nil {
		return "", c.unavailable(ctx, "resolve live version", err)
	}
	if v == "" {
		return "", ErrNoVersion
	}
	c.observe(v, gen)
	return v, nil
}

// observe caches v, read from Redis by a command sent when the count of
// flip notices was gen. A notice received since then is newer than v and
// wins: the notice bumps gen before it stores, and observe loads the old
// pointer before checking gen and swaps only that pointer.
func (c *Client) observe(v string, gen uint64) {
	old := c.cur.Load()
	if c.gen.Load() != gen {
		return
	}
	now := time.Now()
	if old != nil && old.id == v && now.Sub(old.at) < c.ttl/4 {
		return // fresh enough; spare the allocation on hot paths
	}
	if c.cur.CompareAndSwap(old, &liveVersion{id: v, at: now}) && (old == nil || old.id != v) {
		c.stats.changes.Add(1)
	}
}

// notice caches v as announced on the flips channel.
func (c *Client) notice(v string) {
	c.gen.Add(1)
	old := c.cur.Swap(&liveVersion{id: v, at: time.Now()})
	if old == nil || old.id != v {
		c.stats.changes.Add(1)
	}
}

// watchPing is how long Watch waits for a message before it pings the
// subscription connection, so a dead connection is noticed and replaced.
const watchPing = 15 * time.Second

// Watch subscribes to the flips channel and keeps the cached live version
// current until ctx is done; it then returns nil. Run it in its own
// goroutine for the lifetime of the client. After every (re)subscription
// it reads the live version, since flips announced while the connection
// was down are not replayed; failures only delay updates, the TTL still
// bounds how stale the cache can be.
func (c *Client) Watch(ctx context.Context) error {
	ps := c.rdb.Subscribe(ctx, c.keys.Flips())
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer func() {
		if stop() {
			ps.Close()
		}
	}()
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.ReceiveTimeout(ctx, watchPing)
		if ctx.Err() != nil {
			return nil
		}
		var ne net.Error
		switch {
		case err != nil && errors.As(err, &ne) && ne.Timeout():
			_ = ps.Ping(ctx) // a failure makes go-redis reconnect
			continue
		case err != nil:
			c.stats.redisErrors.Add(1)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Message:
			if m.Payload != "" {
				c.notice(m.Payload)
			}
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				_, _ = c.refresh(ctx)
			}
		}
	}
}
