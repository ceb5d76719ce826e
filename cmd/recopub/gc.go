package main

import (
	"context"
	"fmt"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// defaultKeep is --keep's default for run, publish and gc: complete
// versions kept before the live one (publish.GCOptions takes 0 as 0).
const defaultKeep = 2

// gcCommand removes versions no longer retained.
type gcCommand struct{ m *Main }

func (c *gcCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("gc", "gc [--keep 2] [--grace 15m] [--redis URL]")
	keep := fs.Int("keep", defaultKeep, "complete versions kept before the live one")
	grace := fs.Duration("grace", publish.DefaultGrace, "unfinished versions and orphan keys younger than this are not removed; 0 removes them now")
	check := func([]string) error {
		if *grace < 0 || *keep < 0 {
			return usagef("--keep %d --grace %s: want 0 or more", *keep, *grace)
		}
		return nil
	}
	return withRedis(fs, rf, args, check, func(rdb redis.UniversalClient, _ []string) error {
		lock, err := publish.AcquireLock(ctx, rdb, rf.keys(), publish.LockOptions{Owner: lockOwner("gc")})
		if err != nil {
			return err
		}
		defer lock.Release(context.WithoutCancel(ctx))
		res, err := lock.GC(ctx, publish.GCOptions{Keep: *keep, Grace: *grace})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.m.Stdout, "removed %d versions %v and %d orphans %v (%d keys)\n", len(res.Versions), res.Versions, len(res.Orphans), res.Orphans, res.Keys)
		return nil
	})
}
