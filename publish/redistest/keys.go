package redistest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// AllKeys returns every key of the server, or of every master of a
// cluster, sorted.
func AllKeys(tb testing.TB, rdb redis.UniversalClient) []string {
	tb.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	collect := func(ctx context.Context, c *redis.Client) error {
		k, err := c.Keys(ctx, "*").Result()
		mu.Lock()
		keys = append(keys, k...)
		mu.Unlock()
		return err
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, collect)
	} else {
		err = collect(ctx, rdb.(*redis.Client))
	}
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// Contents returns every key that starts with prefix, but prefix +
// "manifest", without the prefix, each with its members and scores
// (sorted sets) or its fields and values (hashes) as text: two versions
// with equal Contents hold the same lists and hashes.
func Contents(tb testing.TB, rdb redis.UniversalClient, prefix string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	out := make(map[string]string)
	for _, key := range AllKeys(tb, rdb) {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok || rest == "manifest" {
			continue
		}
		switch typ := rdb.Type(ctx, key).Val(); typ {
		case "zset":
			out[rest] = fmt.Sprint(rdb.ZRangeWithScores(ctx, key, 0, -1).Val())
		case "hash":
			h := rdb.HGetAll(ctx, key).Val()
			out[rest] = fmt.Sprint(slices.Sorted(maps.Keys(h)), h)
		default:
			tb.Fatalf("%s: type %s", key, typ)
		}
	}
	return out
}
