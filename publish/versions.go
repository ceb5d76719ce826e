package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLive is returned when asked to delete the live version.
var ErrLive = errors.New("version is live")

// VersionInfo describes one version, as listed by Versions.
type VersionInfo struct {
	ID        string           `json:"id"`
	CreatedAt time.Time        `json:"created_at"`
	Status    string           `json:"status"`
	Live      bool             `json:"live"`
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
		vi.Lists, vi.Hashes = parseCounts(man["counts"])
		vi.Bytes, _ = strconv.ParseInt(man["estimated_bytes"], 10, 64)
		out = append(out, vi)
	}
	return out, nil
}

// forgetScript makes a version unflippable before its keys go: it drops
// the version's status unless the version is live, in one step on the
// {ns} slot, so a rollback can never pick a half-deleted version.
// KEYS: current, status. ARGV: version.
var forgetScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.error_reply('LIVE ' .. ARGV[1])
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)

// DeleteVersion removes every key of a version that is not live and
// forgets it. It returns the number of keys removed. A DeleteVersion
// interrupted midway leaves the version listed without a status, which
// GC removes once it is older than the grace period.
func DeleteVersion(ctx context.Context, c redis.UniversalClient, k Keys, version string) (int64, error) {
	err := forgetScript.Run(ctx, c, []string{k.Current(), k.Status()}, version).Err()
	if err != nil && strings.HasPrefix(err.Error(), "LIVE ") {
		return 0, fmt.Errorf("delete %s: %w", version, ErrLive)
	}
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", version, err)
	}
	n, err := unlinkPrefix(ctx, c, k.VersionPrefix(version))
	if err != nil {
		return n, fmt.Errorf("delete %s: %w", version, err)
	}
	if err := c.ZRem(ctx, k.Versions(), version).Err(); err != nil {
		return n, fmt.Errorf("delete %s: %w", version, err)
	}
	return n, nil
}

// unlinkPrefix SCANs every master for keys starting with prefix and
// UNLINKs them.
func unlinkPrefix(ctx context.Context, c redis.UniversalClient, prefix string) (int64, error) {
	var total atomic.Int64
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, _ string) error {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, prefix+"*", 1000).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				p := node.Pipeline()
				for _, key := range keys {
					p.Unlink(ctx, key)
				}
				if _, err := p.Exec(ctx); err != nil {
					return err
				}
				total.Add(int64(len(keys)))
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
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

// GCOptions configures GC.
type GCOptions struct {
	Keep  int           // complete versions kept before the live one; default 2
	Grace time.Duration // unfinished versions younger than this are left alone; default 15m
	Now   time.Time
}

// GC removes versions no longer needed: complete versions older than the
// live one beyond opt.Keep, and failed or unfinished versions older than
// opt.Grace. It never removes the live version or anything newer than it
// that is complete. It returns the removed version ids.
func GC(ctx context.Context, c redis.UniversalClient, k Keys, opt GCOptions) ([]string, error) {
	if opt.Keep < 0 {
		opt.Keep = 0
	}
	if opt.Grace == 0 {
		opt.Grace = 15 * time.Minute
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	vs, err := Versions(ctx, c, k)
	if err != nil {
		return nil, err
	}
	liveAt := slices.IndexFunc(vs, func(v VersionInfo) bool { return v.Live })
	var drop []string
	kept := 0
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		switch {
		case v.Live:
		case v.Status == StatusComplete && (liveAt < 0 || i > liveAt):
			// newer than live, or nothing live: keep for a flip
		case v.Status == StatusComplete:
			if kept < opt.Keep {
				kept++
				continue
			}
			drop = append(drop, v.ID)
		case opt.Now.Sub(v.CreatedAt) > opt.Grace:
			drop = append(drop, v.ID)
		}
	}
	var removed []string
	for _, id := range drop {
		if _, err := DeleteVersion(ctx, c, k, id); err != nil {
			return removed, err
		}
		removed = append(removed, id)
	}
	return removed, nil
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
