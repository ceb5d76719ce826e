package publish

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/recopub/recopub/publish/keyid"
	"github.com/redis/go-redis/v9"
)

var (
	// ErrNoVersion is returned when nothing has been published yet.
	ErrNoVersion = errors.New("no live version")
	// ErrNotFound is returned for an item or user the live version does not know.
	ErrNotFound = errors.New("not found")
	// ErrInvalid is returned for an id ValidID rejects or a count out of range.
	ErrInvalid = errors.New("invalid argument")
	// ErrUnavailable wraps every failure to get an answer from Redis:
	// refused connections, timeouts, server errors.
	ErrUnavailable = errors.New("redis unavailable")
)

// MaxIDLen is the longest item or user id the client accepts, the same
// limit the ingest applies.
const MaxIDLen = keyid.MaxLen

// MaxResults is the largest n Neighbors and Recommend accept.
const MaxResults = 1000

// ValidID reports whether id can name an item or a user, by the rule of
// package keyid that ingest applies too: every id recopub publishes passes
// it, and every id it refuses was dropped by ingest. The error wraps
// ErrInvalid.
func ValidID(id string) error {
	if err := keyid.Check(id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Client reads the live version for online services. Each call resolves
// the live version once and reads only keys of that version, so no answer
// mixes two versions.
//
// The live version id is cached. Watch keeps it current from the flips
// channel; without Watch, or when a notice is lost, the cache expires
// after TTL. Reads that find keys missing because the version they
// resolved was flipped away from and removed meanwhile run once more on
// the new live version, so a flip followed by cleanup never fails a call.
//
// A Client is safe for concurrent use.
type Client struct {
	rdb      redis.UniversalClient
	keys     Keys
	ttl      time.Duration
	timeout  time.Duration
	live     liveSource
	segCols  []string
	profileF []string // fields read from user hashes for Recommend

	cache listCache

	cur atomic.Pointer[liveVersion]
	gen atomic.Uint64 // counts flip notices, see observe

	stats clientStats
}

// ClientOptions configures NewClient. The zero value reads namespace
// "reco", the RudderStack hashes user:<id>, and segments by
// membership_status and income_bracket.
type ClientOptions struct {
	Namespace string
	// TTL is how long a resolved version id is used without asking Redis
	// again, a safety net behind Watch; default 1s.
	TTL time.Duration
	// Timeout bounds every round trip to Redis; default 1s. It becomes the
	// context deadline of each call: create the go-redis client with
	// ContextTimeoutEnabled, or a ReadTimeout as short, for it to cut
	// socket reads too.
	Timeout time.Duration
	// LivePrefix is the key prefix of the RudderStack Redis destination:
	// the live hash of a user is <LivePrefix>:user:<id>, or user:<id>
	// when empty.
	LivePrefix string
	// NoLive turns off reading the RudderStack hashes.
	NoLive bool
	// CacheLists is how many list heads (up to 30 members, or more when
	// asked for) are kept in memory; default 10,000, negative turns the
	// cache off. Lists of a version never change, so cached heads are
	// exact; the cache holds the live version only.
	CacheLists int
	// SegmentColumns are the user traits whose values name the user's
	// segment list, as the publisher's --segment-cols; nil means
	// DefaultSegmentColumns and an empty non-nil slice no segment lists.
	SegmentColumns []string
}

// DefaultSegmentColumns are the traits segment lists are built from unless
// configured otherwise.
var DefaultSegmentColumns = []string{"membership_status", "income_bracket"}

// NewClient returns a Client reading through rdb.
func NewClient(rdb redis.UniversalClient, opt ClientOptions) *Client {
	c := &Client{
		rdb:     rdb,
		keys:    Keys{Namespace: opt.Namespace},
		ttl:     opt.TTL,
		timeout: opt.Timeout,
		live:    liveSource{prefix: opt.LivePrefix, off: opt.NoLive},
		segCols: opt.SegmentColumns,
		cache:   listCache{max: opt.CacheLists},
	}
	if c.cache.max == 0 {
		c.cache.max = 10000
	}
	if c.ttl <= 0 {
		c.ttl = time.Second
	}
	if c.timeout <= 0 {
		c.timeout = time.Second
	}
	if c.segCols == nil {
		c.segCols = DefaultSegmentColumns
	}
	c.profileF = append(purchaseFields(), c.segCols...)
	return c
}

// Scored is an item with its score.
type Scored struct {
	Item  string  `json:"item"`
	Score float64 `json:"score"`
}

// ClientStats are counters of a Client since it was created.
type ClientStats struct {
	VersionChanges int64 // times the cached live version changed
	Retries        int64 // calls run again on a newer version
	RedisErrors    int64 // round trips that failed
	CacheHits      int64 // lists answered from the cache
	CacheMisses    int64 // lists read from Redis
}

type clientStats struct {
	changes, retries, redisErrors atomic.Int64
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{
		VersionChanges: c.stats.changes.Load(),
		Retries:        c.stats.retries.Load(),
		RedisErrors:    c.stats.redisErrors.Load(),
		CacheHits:      c.cache.hits.Load(),
		CacheMisses:    c.cache.misses.Load(),
	}
}

// call returns a context bounded by the client's timeout.
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// unavailable counts and wraps a failed round trip. A caller that gave up
// (its context is done) gets its own error back, not ErrUnavailable.
func (c *Client) unavailable(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%s: %w", what, err)
	}
	c.stats.redisErrors.Add(1)
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}

func checkN(n int) error {
	if n < 1 || n > MaxResults {
		return fmt.Errorf("n=%d: %w (want 1 to %d)", n, ErrInvalid, MaxResults)
	}
	return nil
}

// Neighbors returns up to n items most similar to item in the live
// version, best first, and that version's id.
func (c *Client) Neighbors(ctx context.Context, item string, n int) ([]Scored, string, error) {
	if err := ValidID(item); err != nil {
		return nil, "", err
	}
	if err := checkN(n); err != nil {
		return nil, "", err
	}
	var out []Scored
	v, err := c.withVersion(ctx, func(v string) error {
		key := c.keys.List(v, FamilySimilar, item)
		zs, ok := c.cache.get(v, key, n)
		if !ok {
			cctx, cancel := c.call(ctx)
			defer cancel()
			read := c.cache.depth(n)
			var err error
			zs, err = c.rdb.ZRevRangeWithScores(cctx, key, 0, int64(read-1)).Result()
			if err != nil {
				return c.unavailable(ctx, fmt.Sprintf("read neighbours of %q", item), err)
			}
			if len(zs) > 0 && c.isLive(v) {
				c.cache.put(v, key, zs, read)
			}
		}
		if len(zs) == 0 {
			return fmt.Errorf("item %q: %w", item, ErrNotFound)
		}
		out = toScored(zs[:min(n, len(zs))])
		return nil
	})
	return out, v, err
}

// User returns the feature hash of user in the live version.
func (c *Client) User(ctx context.Context, user string) (map[string]string, string, error) {
	if err := ValidID(user); err != nil {
		return nil, "", err
	}
	var out map[string]string
	v, err := c.withVersion(ctx, func(v string) error {
		cctx, cancel := c.call(ctx)
		defer cancel()
		m, err := c.rdb.HGetAll(cctx, c.keys.User(v, user)).Result()
		if err != nil {
			return c.unavailable(ctx, fmt.Sprintf("read features of %q", user), err)
		}
		if len(m) == 0 {
			return fmt.Errorf("user %q: %w", user, ErrNotFound)
		}
		out = m
		return nil
	})
	return out, v, err
}

// withVersion runs read against the live version. A single key is either
// all there or gone, so when read reports ErrNotFound the only question is
// whether the version moved on meanwhile: if so, read runs once more on
// the new one.
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
	c.stats.retries.Add(1)
	return nv, read(nv)
}

func toScored(zs []redis.Z) []Scored {
	out := make([]Scored, len(zs))
	for i, z := range zs {
		out[i] = Scored{Item: z.Member.(string), Score: z.Score}
	}
	return out
}
