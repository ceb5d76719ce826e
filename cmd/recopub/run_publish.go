package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// publishFlags configure how run writes a version.
type publishFlags struct {
	keep      int
	grace     time.Duration
	lockTTL   time.Duration
	conns     int
	noRestore bool
	verify    bool
	embedded  bool
	show      int
	force     bool

	// lock is the run lock. connect takes it, so that a second run fails
	// in seconds instead of after computing its model, and it is held
	// until the run ends.
	lock *publish.Lock
}

func (f *publishFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.keep, "keep", defaultKeep, "complete versions kept before the live one")
	fs.DurationVar(&f.grace, "grace", publish.DefaultGrace, "unfinished versions and orphan keys younger than this are not removed; 0 removes them now")
	fs.DurationVar(&f.lockTTL, "lock-ttl", publish.DefaultLockTTL, "run lock TTL (renewed while running)")
	fs.IntVar(&f.conns, "conns", publish.DefaultConns, "Redis pipelines in flight at once (per master on a cluster)")
	fs.BoolVar(&f.noRestore, "no-restore", false, "write with ZADD/HSET even where RESTORE works")
	fs.BoolVar(&f.verify, "verify-keys", false, "count every key of the new version by SCAN before the flip, not only what the write saw")
	fs.BoolVar(&f.embedded, "embedded-fallback", false, "when nothing answers at --redis, run against an in-process embedded Redis (demo only)")
	fs.IntVar(&f.show, "show", 0, "after publishing, print this many sample neighbour lists and one user hash")
	fs.BoolVar(&f.force, "force", false, "write even when the memory preflight says the version does not fit under maxmemory (never with an allkeys-* maxmemory-policy)")
}

// publish writes and flips the version under the run lock (taken here
// unless connect took it), then removes versions no longer retained.
func (c *runCommand) publish(ctx context.Context, rdb redis.UniversalClient, m *publish.Model, sum *summary) error {
	if c.shard.on() {
		return c.publishShard(ctx, rdb, m, sum)
	}
	keys := c.redis.keys()
	lock := c.pub.lock
	if lock == nil {
		var err error
		if lock, err = publish.AcquireLock(ctx, rdb, keys, c.lockOptions()); err != nil {
			return fmt.Errorf("publish: %w", redisError(c.redis.url, err))
		}
		defer lock.Release(context.WithoutCancel(ctx))
	}

	// Orphans are looked for before the new version's keys are there to
	// be scanned too; gc removes them once the new version is live.
	orphans, err := lock.Orphans(ctx, publish.GCOptions{Grace: c.pub.grace})
	if err != nil {
		c.log.Warn("looking for orphan keys failed; gc looks again after the flip", "error", err.Error())
		orphans = nil
	}
	w := &publish.Writer{Client: rdb, Keys: keys, Lock: lock, Conns: c.pub.conns, NoRestore: c.pub.noRestore, Force: c.pub.force, CountBeforeFlip: c.pub.verify,
		Seed: c.model.opt.Seed, Logger: c.log, Progress: c.bars.publish()}
	res, err := w.Write(ctx, m)
	if err != nil {
		return redisError(c.redis.url, err)
	}
	if err := lock.Err(); err != nil {
		return fmt.Errorf("publish: %w; version %s was written but not made live", err, res.Version)
	}
	flipped := c.bars.step(barFlip)
	prev, err := lock.FlipWritten(ctx, res)
	if err != nil {
		return redisError(c.redis.url, err)
	}
	flipped()
	c.flipped = res.Version
	sum.Version, sum.Previous, sum.Restore = res.Version, prev, res.Restore
	sum.ListsWritten, sum.HashesWritten, sum.UserLists = res.Lists[publish.FamilySimilar], res.Hashes, res.Lists[publish.FamilyRec]
	c.log.Info("publish", "version", res.Version, "previous", prev, "lists", res.Lists, "hashes", res.Hashes,
		"restore", res.Restore, "seconds", c.clock.end("publish"))

	gc, err := lock.GC(ctx, publish.GCOptions{Keep: c.pub.keep, Grace: c.pub.grace, Orphans: orphans})
	if err != nil {
		// The new version is live; a failed cleanup is retried by the next run or 'recopub gc'.
		c.log.Warn("gc failed; old versions remain until the next run or 'recopub gc'", "error", err.Error())
	}
	sum.Removed = append(gc.Versions, gc.Orphans...)
	if secs := c.clock.end("gc"); len(sum.Removed) > 0 {
		c.log.Info("gc", "removed", gc.Versions, "orphans", gc.Orphans, "keys", gc.Keys, "seconds", secs)
	}
	if c.pub.show > 0 {
		defer c.clock.end("show")
		return c.showSamples(ctx, rdb, m)
	}
	return nil
}

// samplesOut is where showSamples writes; report prints it after the
// summary.
func (c *runCommand) samplesOut() *bytes.Buffer { return &c.samples }

// connect opens the Redis client, checks that the server answers and
// does not evict keys without a TTL, notes the live version and takes
// the run lock; stop reads the live version again (for the failure
// message), releases the lock and closes the client. With
// --embedded-fallback, when nothing answers it starts an in-process
// miniredis instead and says so.
func (c *runCommand) connect(ctx context.Context) (redis.UniversalClient, func(), error) {
	if c.pub.grace < 0 {
		return nil, nil, usagef("--grace %s: want 0 (remove now) or more", c.pub.grace)
	}
	rdb, closeClient, err := c.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (redis.UniversalClient, func(), error) {
		closeClient()
		return nil, nil, err
	}
	if c.liveBefore, err = publish.Live(ctx, rdb, c.redis.keys()); err != nil {
		return fail(redisError(c.redis.url, err))
	}
	if err := publish.CheckEviction(ctx, rdb); errors.Is(err, publish.ErrEvictionPolicy) {
		return fail(usageError{err})
	}
	lock, err := c.acquireLock(ctx, rdb)
	if err != nil {
		return fail(fmt.Errorf("publish: %w", redisError(c.redis.url, err)))
	}
	c.pub.lock = lock
	return rdb, func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		c.liveAfter, c.liveAfterErr = publish.Live(rctx, rdb, c.redis.keys())
		c.liveChecked = true
		cancel()
		if err := lock.Release(context.WithoutCancel(ctx)); err != nil {
			c.log.Warn("run lock", "error", err.Error())
		}
		closeClient()
	}, nil
}

func (c *runCommand) lockOptions() publish.LockOptions {
	return publish.LockOptions{TTL: c.pub.lockTTL, Owner: lockOwner(cmp.Or(c.command, "run"))}
}

// lockOwner names this process in the run lock, for whoever finds it
// taken.
func lockOwner(command string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("recopub %s (pid %d on %s)", command, os.Getpid(), cmp.Or(host, "unknown host"))
}

// liveText says what happened to the live version, read again when the
// run's connection closed: another run or a rollback may have flipped it,
// or the server lost it, while this run failed.
func (c *runCommand) liveText() string {
	before := cmp.Or(c.liveBefore, "none")
	switch {
	case c.dryRun:
		return "live version not touched (dry run)"
	case !c.liveChecked && c.liveBefore == "":
		return "live version unchanged"
	case !c.liveChecked, c.liveAfterErr == nil && c.liveAfter == c.liveBefore:
		return "live version unchanged (" + before + ")"
	case c.liveAfterErr != nil:
		if c.flipped != "" {
			return fmt.Sprintf("live version unknown: reading it at the end failed (%v); this run made %s live, %s was before", c.liveAfterErr, c.flipped, before)
		}
		return fmt.Sprintf("live version unknown: reading it at the end failed (%v); this run did not flip, %s was live when it started", c.liveAfterErr, before)
	case c.liveAfter == "":
		return fmt.Sprintf("no version is live now (%s was when the run started; the control keys were deleted or lost)", before)
	}
	return fmt.Sprintf("live version is now %s (it was %s when the run started)", c.liveAfter, before)
}

func (c *runCommand) dial(ctx context.Context) (redis.UniversalClient, func(), error) {
	rdb, err := c.redis.client()
	if err != nil {
		return nil, nil, err
	}
	// No deadline of our own: go-redis' dial timeout and retries apply, and
	// the error names the cause (connection refused, auth, TLS).
	err = rdb.Ping(ctx).Err()
	if err == nil {
		return rdb, func() { rdb.Close() }, nil
	}
	rdb.Close()
	if !c.pub.embedded {
		return nil, nil, redisError(c.redis.url, err)
	}
	mr, merr := miniredis.Run()
	if merr != nil {
		return nil, nil, fmt.Errorf("start embedded redis: %w", merr)
	}
	fmt.Fprintf(c.m.Stdout, "nothing answers at %s (%v); using an in-process embedded Redis for this run\n", redactURL(c.redis.url), err)
	rdb = redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { rdb.Close(); mr.Close() }, nil
}

// showSamples prints the neighbour lists of the items with the longest
// lists and one user hash, read back through the read client.
func (c *runCommand) showSamples(ctx context.Context, rdb redis.UniversalClient, m *publish.Model) error {
	cl := publish.NewClient(rdb, publish.ClientOptions{Namespace: c.redis.namespace})
	src := m.Families[0].Lists
	type cand struct {
		id string
		n  int
	}
	var cands []cand
	var l publish.List
	for i := range src.Len() {
		l.Members, l.Scores = l.Members[:0], l.Scores[:0]
		src.List(i, &l)
		cands = append(cands, cand{l.ID, len(l.Members)})
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return b.n - a.n })
	w := c.samplesOut()
	for _, cd := range cands[:min(c.pub.show, len(cands))] {
		nb, v, err := cl.Neighbors(ctx, cd.id, 5)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nsimilar to %s (version %s):\n", cd.id, v)
		for _, s := range nb {
			fmt.Fprintf(w, "  %-12s %.4f\n", s.Item, s.Score)
		}
	}
	if m.Users == nil || m.Users.Len() == 0 {
		return nil
	}
	// Show the user with the most features among the first thousand, so
	// the sample has purchases and profile traits side by side.
	var h, best publish.Hash
	for i := range min(m.Users.Len(), 1000) {
		h.Fields, h.Values = h.Fields[:0], h.Values[:0]
		m.Users.Hash(i, &h)
		if len(h.Fields) > len(best.Fields) {
			best = publish.Hash{ID: h.ID, Fields: slices.Clone(h.Fields)}
		}
	}
	h = best
	feats, _, err := cl.User(ctx, h.ID)
	if errors.Is(err, publish.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nuser %s:\n", h.ID)
	keys := make([]string, 0, len(feats))
	for k := range feats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-36s %s\n", k, feats[k])
	}
	return nil
}
