package main

import (
	"context"
	"fmt"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// flipCommand makes a sharded version live once all its shards are
// complete: the follow-up step of a Kubernetes Indexed Job
// (docs/deploy/indexed-job.yaml).
type flipCommand struct{ m *Main }

func (c *flipCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("flip", "flip --version V --shards N [--redis URL]")
	version := fs.String("version", "", "the sharded version to make live (run --shard i/N --version V)")
	shards := fs.Int("shards", 0, "how many shards the version was run as; every one must be complete")
	keep := fs.Int("keep", defaultKeep, "after the flip, complete versions kept before the live one")
	grace := fs.Duration("grace", publish.DefaultGrace, "after the flip, unfinished versions and orphan keys younger than this are not removed")
	check := func(pos []string) error {
		switch {
		case len(pos) > 0:
			return usagef("flip takes no arguments, got %q; use --version V --shards N", pos)
		case *version == "":
			return usagef("--version: want the version the shards wrote, such as 20261125T020000Z-3f9a")
		case *shards < 1 || *shards > publish.MaxShards:
			return usagef("--shards %d: want the shard count the job ran with, 1 to %d", *shards, publish.MaxShards)
		case *grace < 0 || *keep < 0:
			return usagef("--keep %d --grace %s: want 0 or more", *keep, *grace)
		}
		if err := publish.ValidVersion(*version); err != nil {
			return usagef("--version: %v", err)
		}
		return nil
	}
	return withRedis(fs, rf, args, check, func(rdb redis.UniversalClient, _ []string) error {
		lock, err := publish.AcquireLock(ctx, rdb, rf.keys(), publish.LockOptions{Owner: lockOwner("flip")})
		if err != nil {
			return err
		}
		defer lock.Release(context.WithoutCancel(ctx))
		res, err := lock.FlipShards(ctx, *version, *shards)
		if err != nil {
			return err
		}
		if res.AlreadyLive {
			fmt.Fprintf(c.m.Stdout, "version %s is already live; nothing to do\n", res.Version)
			return nil
		}
		fmt.Fprintf(c.m.Stdout, "live version is now %s (was %s): %d shards, lists %v, %d user hashes\n",
			res.Version, orNone(res.Previous), *shards, res.Lists, res.Hashes)
		gc, err := lock.GC(ctx, publish.GCOptions{Keep: *keep, Grace: *grace})
		if err != nil {
			// The version is live; a failed cleanup is retried by the next run or 'recopub gc'.
			fmt.Fprintf(c.m.Stderr, "recopub flip: gc failed, old versions remain until 'recopub gc': %v\n", err)
			return nil
		}
		if n := len(gc.Versions) + len(gc.Orphans); n > 0 {
			fmt.Fprintf(c.m.Stdout, "removed %d versions %v and %d orphans %v (%d keys)\n", len(gc.Versions), gc.Versions, len(gc.Orphans), gc.Orphans, gc.Keys)
		}
		return nil
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
