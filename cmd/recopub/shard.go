package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// shardFlags make run compute and publish one shard of a sharded version
// (docs/operations.md "Sharded runs"); the shards of a job are then
// flipped together by 'recopub flip --version V --shards n', or by the
// last shard to finish with --flip-when-complete.
type shardFlags struct {
	spec             string // --shard i/n, or RECOPUB_SHARD
	version          string
	flipWhenComplete bool

	shard publish.Shard // parsed from spec; Count 0 when not sharded
}

// shardEnv is the variable a Kubernetes Indexed Job sets for each pod,
// such as "$(JOB_COMPLETION_INDEX)/4" (docs/deploy/indexed-job.yaml).
// Config's RECOPUB_JOB_SHARD says the same.
const shardEnv = "RECOPUB_SHARD"

func (f *shardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.spec, "shard", "", "compute and publish only shard i of n (i/n, numbered from 0; env "+shardEnv+"): the items and users whose id hashes to i; needs --version")
	fs.StringVar(&f.version, "version", "", "with --shard: the version every shard of the job writes, such as 20261125T020000Z-3f9a")
	fs.BoolVar(&f.flipWhenComplete, "flip-when-complete", false, "with --shard: when this shard completes the version, flip it (else 'recopub flip --version V --shards n')")
}

func (f *shardFlags) on() bool { return f.shard.Count > 0 }

// validate parses --shard (or RECOPUB_SHARD when the flag is unset) and
// checks the flags that go with it.
func (f *shardFlags) validate(getenv func(string) string, c *runCommand) error {
	source := "--shard"
	if f.spec == "" && getenv != nil {
		f.spec, source = getenv(shardEnv), shardEnv
	}
	if f.spec == "" {
		if f.version != "" || f.flipWhenComplete {
			return usagef("--version and --flip-when-complete are for sharded runs: add --shard i/n (or %s)", shardEnv)
		}
		return nil
	}
	if strings.Contains(f.spec, "$(") {
		return usagef("%s %q: Kubernetes did not expand the $(...) reference: it expands only variables defined earlier in the container's env, so define JOB_COMPLETION_INDEX (from the annotation batch.kubernetes.io/job-completion-index) before %s, as docs/deploy/indexed-job.yaml does",
			source, f.spec, shardEnv)
	}
	s, err := publish.ParseShard(f.spec)
	if err != nil {
		return usagef("%s: %v", source, err)
	}
	switch {
	case f.version == "":
		return usagef("%s %s: add --version V, the same for every shard of the job (such as %s)", source, s, publish.NewVersionID(time.Now()))
	case c.out.dir != "":
		return usagef("%s: --out writes a whole model; a sharded run publishes its part to Redis (drop --out, or --shard)", source)
	case c.feat.target == targetLive:
		return usagef("%s: --features-target live is not supported with sharded runs; publish the features in the version (the default)", source)
	}
	if err := publish.ValidVersion(f.version); err != nil {
		return usagef("--version: %v", err)
	}
	f.shard = s
	return nil
}

// rows is model.Options.Rows for the shard: the items whose lists it
// publishes. Nil when not sharded.
func (f *shardFlags) rows(items []string) func(int) bool {
	if !f.on() {
		return nil
	}
	s := f.shard
	return func(i int) bool { return s.Owns(items[i]) }
}

// acquireShardLock takes the shard's lock. A killed attempt of the same
// shard leaves its lock until the TTL ends, so a rerun started at once
// (Kubernetes restarts a failed index after a few seconds) waits for it
// as long as a TTL.
func (c *runCommand) acquireShardLock(ctx context.Context, rdb redis.UniversalClient) (*publish.Lock, error) {
	deadline := time.Now().Add(c.pub.lockTTL + 2*time.Second)
	waited := false
	for {
		l, err := publish.AcquireShardLock(ctx, rdb, c.redis.keys(), c.shard.version, c.shard.shard, c.lockOptions())
		if err == nil || !errors.Is(err, publish.ErrLocked) || time.Now().After(deadline) {
			return l, err
		}
		if !waited {
			c.log.Info("the shard's lock is held; waiting until its TTL ends (an attempt that was killed?)", "shard", c.shard.shard.String(), "error", err.Error())
			waited = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// publishShard writes the run's shard of --version under the shard's
// lock and, with --flip-when-complete, flips the version if every shard
// is now complete.
func (c *runCommand) publishShard(ctx context.Context, rdb redis.UniversalClient, m *publish.Model, sum *summary) error {
	keys := c.redis.keys()
	w := &publish.Writer{Client: rdb, Keys: keys, Lock: c.pub.lock, Conns: c.pub.conns, NoRestore: c.pub.noRestore, Force: c.pub.force,
		Seed: c.model.opt.Seed, Logger: c.log, Progress: c.bars.publish()}
	res, err := w.WriteShard(ctx, m, c.shard.version, c.shard.shard)
	if err != nil {
		return redisError(c.redis.url, err)
	}
	sum.Version, sum.Shard, sum.Restore = res.Version, c.shard.shard.String(), res.Restore
	sum.ListsWritten, sum.HashesWritten, sum.UserLists = res.Lists[publish.FamilySimilar], res.Hashes, res.Lists[publish.FamilyRec]
	c.log.Info("shard complete", "version", res.Version, "shard", sum.Shard, "lists", res.Lists, "hashes", res.Hashes,
		"restore", res.Restore, "seconds", c.clock.end("publish"))
	if !c.shard.flipWhenComplete {
		return nil
	}
	// The flip refuses while any shard holds its lock, this one too.
	if err := c.pub.lock.Release(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("release the shard's lock: %w", err)
	}
	err = c.flipIfComplete(ctx, rdb, sum)
	c.clock.end("flip") // the stages still add up to the wall time
	return err
}

// flipIfComplete flips the version when every shard is complete; while
// one is not, it leaves the flip to the last shard. Shards that finish
// together race for the namespace's lock; the loser finds the version
// live.
func (c *runCommand) flipIfComplete(ctx context.Context, rdb redis.UniversalClient, sum *summary) error {
	deadline := time.Now().Add(2*c.pub.lockTTL + 5*time.Second)
	for {
		lock, err := publish.AcquireLock(ctx, rdb, c.redis.keys(), c.lockOptions())
		if errors.Is(err, publish.ErrLocked) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("flip when complete: %w", redisError(c.redis.url, err))
		}
		defer lock.Release(context.WithoutCancel(ctx))
		res, err := lock.FlipShards(ctx, c.shard.version, c.shard.shard.Count)
		var se *publish.ShardsError
		if errors.As(err, &se) {
			c.log.Info("shards still to complete; the last to finish flips", "version", c.shard.version, "missing", se.Missing)
			return nil
		}
		if err != nil {
			return redisError(c.redis.url, err)
		}
		sum.Previous, sum.Flipped = res.Previous, true
		if res.AlreadyLive {
			c.log.Info("version already live", "version", res.Version)
			return nil
		}
		c.flipped = res.Version
		c.log.Info("flip", "version", res.Version, "previous", res.Previous, "lists", res.Lists, "hashes", res.Hashes)
		gc, err := lock.GC(ctx, publish.GCOptions{Keep: c.pub.keep, Grace: c.pub.grace})
		if err != nil {
			c.log.Warn("gc failed; old versions remain until the next run or 'recopub gc'", "error", err.Error())
		}
		sum.Removed = append(gc.Versions, gc.Orphans...)
		return nil
	}
}

// ID methods let publish.Shard.Model pick a shard's entries without
// building every list and hash (publish.Identified).
func (a neighborLists) ID(i int) string { return a.items[i] }
func (a groupLists) ID(i int) string    { return a.ids[i] }
func (a userHashes) ID(i int) string    { return a.u.ID(i) }
func (r *userRecs) ID(i int) string     { return r.users[r.user[i]] }

var (
	_ publish.Identified = neighborLists{}
	_ publish.Identified = groupLists{}
	_ publish.Identified = userHashes{}
	_ publish.Identified = (*userRecs)(nil)
)

// acquireLock takes the run's lock: the namespace's, or for a sharded
// run the shard's, so that shards of one job run at the same time.
func (c *runCommand) acquireLock(ctx context.Context, rdb redis.UniversalClient) (*publish.Lock, error) {
	if c.shard.on() {
		return c.acquireShardLock(ctx, rdb)
	}
	return publish.AcquireLock(ctx, rdb, c.redis.keys(), c.lockOptions())
}

// shardProgress tells, for versions, how far the shards of a sharded
// version being written are.
func shardProgress(ctx context.Context, rdb redis.UniversalClient, k publish.Keys, version string) string {
	n, recs, err := publish.ShardRecords(ctx, rdb, k, version)
	if err != nil {
		return "  shards: " + err.Error()
	}
	var missing []string
	for i := range n {
		if recs[i].Status != publish.ShardComplete {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	text := fmt.Sprintf("  shards %d/%d complete", n-len(missing), n)
	if len(missing) > 0 {
		text += " (not: " + strings.Join(missing, ", ") + ")"
	}
	return text
}

// shardFlipText ends the first line of a sharded run's report.
func shardFlipText(sum *summary) string {
	switch {
	case sum.Flipped && sum.Previous != "":
		return fmt.Sprintf("; every shard is complete: the version is live (replacing %s)", sum.Previous)
	case sum.Flipped:
		return "; every shard is complete: the version is live"
	}
	return ""
}
