package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrNoVersion is returned when nothing has been published yet.
	ErrNoVersion = errors.New("no live version")
	// ErrNotFound is returned for an item or user the live version does not know.
	ErrNotFound = errors.New("not found")
)

// Client reads the live version for online services. Each call resolves
// the live version once and reads only keys of that version. The version
// id is cached for TTL; a read that finds nothing checks whether the live
// version moved on (a flip followed by cleanup) and retries once on the
// new one.
type Client struct {
	rdb  redis.UniversalClient
	keys Keys
	ttl  time.Duration

	mu      sync.Mutex
	version string
	fetched time.Time
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	Namespace string
	TTL       time.Duration // how long a resolved version id is reused; default 1s
}

// NewClient returns a Client reading through rdb.
func NewClient(rdb redis.UniversalClient, opt ClientOptions) *Client {
	ttl := opt.TTL
	if ttl == 0 {
		ttl = time.Second
	}
	return &Client{rdb: rdb, keys: Keys{Namespace: opt.Namespace}, ttl: ttl}
}

// Scored is an item with its score.
type Scored struct {
	Item  string  `json:"item"`
	Score float64 `json:"score"`
}

// Version returns the live version id.
func (c *Client) Version(ctx context.Context) (string, error) {
	c.mu.Lock()
	v, fresh := c.version, time.Since(c.fetched) < c.ttl
	c.mu.Unlock()
	if fresh && v != "" {
		return v, nil
	}
	return c.refresh(ctx)
}

func (c *Client) refresh(ctx context.Context) (string, error) {
	v, err := Live(ctx, c.rdb, c.keys)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", ErrNoVersion
	}
	c.mu.Lock()
	c.version, c.fetched = v, time.Now()
	c.mu.Unlock()
	return v, nil
}

// withVersion runs read against the live version; when read reports
// ErrNotFound and the live version has changed meanwhile, it runs once more
// on the new version.
func (c *Client) withVersion(ctx context.Context, read func(version string) error) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	err = read(v)
	if !errors.Is(err, ErrNotFound) {
		return v, err
	}
	nv, rerr := c.refresh(ctx)
	if rerr != nil || nv == v {
		return v, err
	}
	return nv, read(nv)
}

// Neighbors returns up to n items most similar to item in the live
// version, best first.
func (c *Client) Neighbors(ctx context.Context, item string, n int) ([]Scored, string, error) {
	var out []Scored
	v, err := c.withVersion(ctx, func(v string) error {
		zs, err := c.rdb.ZRevRangeWithScores(ctx, c.keys.List(v, FamilySimilar, item), 0, int64(n-1)).Result()
		if err != nil {
			return fmt.Errorf("read neighbours of %q: %w", item, err)
		}
		if len(zs) == 0 {
			return fmt.Errorf("item %q: %w", item, ErrNotFound)
		}
		out = toScored(zs)
		return nil
	})
	return out, v, err
}

// User returns the feature hash of user in the live version.
func (c *Client) User(ctx context.Context, user string) (map[string]string, string, error) {
	var out map[string]string
	v, err := c.withVersion(ctx, func(v string) error {
		m, err := c.rdb.HGetAll(ctx, c.keys.User(v, user)).Result()
		if err != nil {
			return fmt.Errorf("read features of %q: %w", user, err)
		}
		if len(m) == 0 {
			return fmt.Errorf("user %q: %w", user, ErrNotFound)
		}
		out = m
		return nil
	})
	return out, v, err
}

func toScored(zs []redis.Z) []Scored {
	out := make([]Scored, len(zs))
	for i, z := range zs {
		out[i] = Scored{Item: z.Member.(string), Score: z.Score}
	}
	return out
}
