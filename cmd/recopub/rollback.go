package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// rollbackCommand makes an earlier version live.
type rollbackCommand struct{ m *Main }

func (c *rollbackCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("rollback", "rollback [VERSION] [--redis URL]  (default: the newest complete version before the live one)")
	atMostOne := func(pos []string) error {
		if len(pos) > 1 {
			return usagef("want at most one VERSION, got %d arguments", len(pos))
		}
		return nil
	}
	return withRedis(fs, rf, args, atMostOne, func(rdb redis.UniversalClient, pos []string) error {
		target, prev, err := rollback(ctx, rdb, rf.keys(), pos)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.m.Stdout, "live version is now %s (was %s)\n", target, prev)
		return nil
	})
}

// rollback flips, under the run lock, to the named version or else the
// newest complete one before the live one, and returns it and the
// version it replaced. The flip refuses a damaged version.
func rollback(ctx context.Context, rdb redis.UniversalClient, k publish.Keys, pos []string) (string, string, error) {
	lock, err := publish.AcquireLock(ctx, rdb, k, publish.LockOptions{Owner: lockOwner("rollback")})
	if err != nil {
		return "", "", err
	}
	defer lock.Release(context.WithoutCancel(ctx))
	target := ""
	if len(pos) == 1 {
		target = pos[0]
	} else {
		vs, err := publish.Versions(ctx, rdb, k)
		if err != nil {
			return "", "", err
		}
		live := slices.IndexFunc(vs, func(v publish.VersionInfo) bool { return v.Live })
		for i := live - 1; i >= 0; i-- {
			if vs[i].Status == publish.StatusComplete {
				target = vs[i].ID
				break
			}
		}
		if target == "" {
			return "", "", fmt.Errorf("no complete version older than the live one")
		}
	}
	prev, err := lock.Flip(ctx, target, true)
	return target, prev, err
}
