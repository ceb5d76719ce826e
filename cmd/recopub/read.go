package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// readClient parses a read command's flags, checks it got exactly one
// ID argument (named what) and opens a read client on the live version.
// The returned close function releases the connection.
func (m *Main) readClient(fs *flag.FlagSet, rf *redisFlags, args []string, what string) (string, *publish.Client, func(), error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", nil, nil, err
	}
	if len(pos) != 1 {
		return "", nil, nil, usagef("want exactly one %s, got %d arguments", what, len(pos))
	}
	rdb, err := rf.client()
	if err != nil {
		return "", nil, nil, err
	}
	cl := publish.NewClient(rdb, publish.ClientOptions{Namespace: rf.namespace})
	return pos[0], cl, func() { rdb.Close() }, nil
}

// similarCommand prints an item's live neighbours.
type similarCommand struct{ m *Main }

func (c *similarCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("similar", "similar ITEM [-n 10] [--redis URL]")
	var rf redisFlags
	rf.register(fs, c.m.Getenv)
	n := fs.Int("n", 10, "neighbours to print")
	item, cl, done, err := c.m.readClient(fs, &rf, args, "ITEM")
	if err != nil {
		return err
	}
	defer done()
	nb, v, err := cl.Neighbors(ctx, item, *n)
	if err != nil {
		return redisError(rf.url, err)
	}
	fmt.Fprintf(c.m.Stdout, "# version %s\n", v)
	for _, s := range nb {
		fmt.Fprintf(c.m.Stdout, "%s\t%s\n", s.Item, publishScore(s.Score))
	}
	return nil
}

// userCommand prints a user's live feature hash.
type userCommand struct{ m *Main }

func (c *userCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("user", "user USER [--redis URL]")
	var rf redisFlags
	rf.register(fs, c.m.Getenv)
	user, cl, done, err := c.m.readClient(fs, &rf, args, "USER")
	if err != nil {
		return err
	}
	defer done()
	feats, v, err := cl.User(ctx, user)
	if err != nil {
		return redisError(rf.url, err)
	}
	fmt.Fprintf(c.m.Stdout, "# version %s\n", v)
	for _, k := range slices.Sorted(maps.Keys(feats)) {
		fmt.Fprintf(c.m.Stdout, "%s\t%s\n", k, feats[k])
	}
	return nil
}

func publishScore(f float64) string { return fmt.Sprintf("%.6g", f) }

// versionsCommand lists versions.
type versionsCommand struct{ m *Main }

func (c *versionsCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("versions", "versions [--redis URL]")
	var rf redisFlags
	rf.register(fs, c.m.Getenv)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	rdb, err := rf.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	vs, err := publish.Versions(ctx, rdb, rf.keys())
	if err != nil {
		return redisError(rf.url, err)
	}
	fmt.Fprintf(c.m.Stdout, "%-24s %-9s %-20s %10s %10s\n", "VERSION", "STATUS", "CREATED", "LISTS", "HASHES")
	for _, v := range vs {
		live := ""
		if v.Live {
			live = "  <- live"
		}
		var lists int64
		for _, n := range v.Lists {
			lists += n
		}
		fmt.Fprintf(c.m.Stdout, "%-24s %-9s %-20s %10d %10d%s\n", v.ID, v.Status, v.CreatedAt.Format(time.DateTime), lists, v.Hashes, live)
	}
	return nil
}

// rollbackCommand makes an earlier version live.
type rollbackCommand struct{ m *Main }

func (c *rollbackCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("rollback", "rollback [VERSION] [--redis URL]  (default: the newest complete version before the live one)")
	var rf redisFlags
	rf.register(fs, c.m.Getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("want at most one VERSION, got %d arguments", len(pos))
	}
	rdb, err := rf.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	target, prev, err := rollback(ctx, rdb, rf.keys(), pos)
	if err != nil {
		return redisError(rf.url, err)
	}
	fmt.Fprintf(c.m.Stdout, "live version is now %s (was %s)\n", target, prev)
	return nil
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

// defaultKeep is --keep's default for run, publish and gc: complete
// versions kept before the live one (publish.GCOptions takes 0 as 0).
const defaultKeep = 2

// gcCommand removes versions no longer retained.
type gcCommand struct{ m *Main }

func (c *gcCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("gc", "gc [--keep 2] [--grace 15m] [--redis URL]")
	var rf redisFlags
	rf.register(fs, c.m.Getenv)
	keep := fs.Int("keep", defaultKeep, "complete versions kept before the live one")
	grace := fs.Duration("grace", publish.DefaultGrace, "unfinished versions and orphan keys younger than this are not removed; 0 removes them now")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *grace < 0 || *keep < 0 {
		return usagef("--keep %d --grace %s: want 0 or more", *keep, *grace)
	}
	rdb, err := rf.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	lock, err := publish.AcquireLock(ctx, rdb, rf.keys(), publish.LockOptions{Owner: lockOwner("gc")})
	if err != nil {
		return redisError(rf.url, err)
	}
	defer lock.Release(context.WithoutCancel(ctx))
	res, err := lock.GC(ctx, publish.GCOptions{Keep: *keep, Grace: *grace})
	if err != nil {
		return redisError(rf.url, err)
	}
	fmt.Fprintf(c.m.Stdout, "removed %d versions %v and %d orphans %v (%d keys)\n", len(res.Versions), res.Versions, len(res.Orphans), res.Orphans, res.Keys)
	return nil
}
