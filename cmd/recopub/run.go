package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// runCommand is the nightly job: load, compute, publish, flip, gc.
type runCommand struct {
	m    *Main
	bars *progressBars // nil until Run starts

	in    ingestFlags
	model modelFlags
	redis redisFlags
	pub   publishFlags
	cfg   configFlags
	mets  metricsFlags
	feat  featuresFlags // features_target.go
	out   outFlags      // out.go
	lists userListFlags // userlists.go
	shard shardFlags    // shard.go

	dryRun      bool
	summaryPath string
	logLevel    string

	log        *slog.Logger
	running    bool // the run stage started: a failure is logged (logFailure)
	clock      *stageClock
	command    string // "run" or "publish", for the lock's owner
	liveBefore string
	// The live version read again as the run's connection closed.
	liveAfter    string
	liveAfterErr error
	liveChecked  bool
	flipped      string // the version this run made live
	samples      bytes.Buffer
	popularity   []float64 // distinct users per item, for the report
}

func (c *runCommand) flags() *flag.FlagSet {
	fs := c.m.newFlagSet("run", "run --events PATH [--events PATH ...] [--profiles PATH] [flags]")
	c.in.register(fs)
	c.model.register(fs)
	c.redis.register(fs, c.m.Getenv)
	c.pub.register(fs)
	fs.BoolVar(&c.dryRun, "dry-run", false, "load and compute, write nothing to Redis")
	fs.StringVar(&c.summaryPath, "summary", "", "also write the run summary as JSON to this file")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	c.cfg.register(fs)
	c.mets.register(fs)
	c.feat.register(fs)
	c.out.register(fs)
	c.lists.register(fs, "also publish each user's top unseen items, this many, as rec:<user>")
	c.shard.register(fs)
	return fs
}

func (c *runCommand) Run(ctx context.Context, args []string) error {
	c.clock = newStageClock()
	fs := c.flags()
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := c.cfg.apply(fs, c.m.Getenv, c.m.Environ); err != nil {
		return err
	}
	c.in.noteExplicit(fs)
	log, err := c.m.newLogger(c.logLevel)
	if err != nil {
		return err
	}
	c.bars = c.m.progressBars()
	c.log = c.bars.logger(log)
	if err := c.in.validate(); err != nil {
		return err
	}
	if err := c.model.validate(c.in.opt.Workers); err != nil {
		return err
	}
	if err := c.lists.validate(); err != nil {
		return err
	}
	if c.lists.userLists > 0 {
		c.model.userDepth = c.lists.userDepth
	}
	c.model.useIngest(&c.in)
	c.model.opt.Progress = c.bars.model()
	c.in.opt.Progress = c.bars.ingest()
	if err := c.out.validate(c.dryRun); err != nil {
		return err
	}
	if err := c.shard.validate(c.m.Getenv, c); err != nil {
		return err
	}
	c.running = true
	defer tightenGC(c.m.Getenv, c.clock)()
	sum, err := c.run(ctx)
	if err == nil {
		err = c.report(sum)
	}
	if merr := c.mets.report(context.WithoutCancel(ctx), runReport(c.redis.namespace, sum, c.clock.stages, err, c.m.exitCodeOf(err), time.Now())); merr != nil {
		// Metrics are secondary: a successful publish stays a success.
		c.log.Warn("metrics not reported", "error", merr.Error())
	}
	return err
}

// logFailure writes the last log line of a failed run: what failed and
// which version is live as it ends (run_publish.go's liveText). Main.report
// calls it (failureLogger) once the run stage has started; errors before
// that (flags, validation) are printed as any command's.
func (c *runCommand) logFailure(err error) bool {
	if !c.running || c.log == nil {
		return false
	}
	c.log.Error("run failed; "+c.liveText(), "error", err.Error())
	return true
}

// summary is what a run prints and writes with --summary.
type summary struct {
	Version       string             `json:"version,omitempty"`
	Shard         string             `json:"shard,omitempty"`   // i/n of a sharded run (shard.go)
	Flipped       bool               `json:"flipped,omitempty"` // a sharded run flipped (--flip-when-complete)
	Previous      string             `json:"previous,omitempty"`
	DryRun        bool               `json:"dry_run,omitempty"`
	EventsRead    int64              `json:"events_read"`
	EventsKept    int64              `json:"events_kept"`
	EventsDropped map[string]int64   `json:"events_dropped"`
	Files         int                `json:"files"`
	Users         int                `json:"users"`    // users with at least one kept event
	Items         int                `json:"items"`    // items with at least one kept event
	Profiles      int                `json:"profiles"` // users with a profile row
	Metric        string             `json:"metric"`
	ListsWritten  int64              `json:"lists_written"`
	UserLists     int64              `json:"user_lists_written,omitempty"` // rec:<user> lists (--user-lists)
	HashesWritten int64              `json:"hashes_written"`
	Restore       bool               `json:"restore"`
	Removed       []string           `json:"versions_removed,omitempty"`
	Stages        map[string]float64 `json:"stages"`       // seconds, stage after stage without gaps (stageClock)
	WallSeconds   float64            `json:"wall_seconds"` // the sum of Stages
}

func (c *runCommand) run(ctx context.Context) (*summary, error) {
	// Check Redis first: a run that cannot publish should fail in seconds,
	// not after the model is computed.
	var rdb redis.UniversalClient
	if !c.dryRun {
		var stop func()
		var err error
		if rdb, stop, err = c.connect(ctx); err != nil {
			return nil, err
		}
		defer stop()
	}
	c.clock.end("setup")
	c.bars.begin(barIngest)
	ds, profiles, err := c.in.load(ctx, c.log, c.clock)
	if err != nil {
		return nil, err
	}
	if err := c.model.checkSelections(ds, profiles, &c.in, c.log); err != nil {
		return nil, err
	}
	// NewUsers groups the events by user in place, before the model (which
	// reads them as a multiset), and keeps a summary of each user's events,
	// so that the events can go once the matrix is built and the kernel
	// runs without them.
	users := features.NewUsers(ds, profiles, features.UserOptions{PurchaseEvent: c.in.purchaseEvent})
	c.log.Info("users", "users", users.WithEvents(), "hashes", users.Hashes(), "seconds", c.clock.end("users"))
	c.bars.begin(barModel)
	c.model.opt.Rows = c.shard.rows(ds.Items)
	var popular []publish.Family
	nb, err := c.model.compute(ctx, ds, c.in.weights(ds), c.log, c.clock, func(mat *model.Matrix) {
		popular = c.popularFamilies(ds, mat, profiles)
		ds.Weight = nil // the matrix has them
		if len(c.model.crossEvents) == 0 {
			// The matrix has the interactions and the users a summary
			// of their events (features.NewUsers): the events can go
			// before the kernel runs. Cross-occurrence needs them.
			ds.User, ds.Item, ds.Event, ds.Time = nil, nil, nil, nil
		}
	})
	if err != nil {
		return nil, err
	}
	var recs *userRecs
	if c.model.users != nil {
		if recs, err = c.computeUserLists(ctx, c.model.users, ds.Users, ds.Items, c.log); err != nil {
			return nil, err
		}
		c.model.users, c.model.matrix = nil, nil // not needed past this point
	}
	sum := &summary{
		DryRun: c.dryRun, EventsRead: ds.Stats.Read, EventsKept: ds.Stats.Kept, EventsDropped: ds.Stats.Dropped,
		Files: ds.Stats.Files, Users: users.WithEvents(), Items: len(ds.Items), Profiles: profiles.Len(),
		Metric: c.model.opt.Metric.String(), Stages: c.clock.stages,
	}
	params := make(map[string]any)
	c.in.parameters(params)
	c.model.parameters(params)
	c.lists.parameters(params)
	m := &publish.Model{
		Families:   c.families(ds, nb, recs, popular),
		Users:      userHashes{users},
		Parameters: params,
		Inputs:     inputs(ds),
		Counts: map[string]any{"events_read": ds.Stats.Read, "events_kept": ds.Stats.Kept, "events_dropped": ds.Stats.Dropped,
			"users": sum.Users, "items": sum.Items, "profiles": sum.Profiles},
	}
	if c.dryRun {
		// What a publish would write; --out counts what it wrote.
		sum.ListsWritten, sum.HashesWritten = int64(listsWithNeighbours(nb)), int64(users.Hashes())
		if recs != nil {
			sum.UserLists = int64(recs.Len())
		}
		return sum, c.writeOut(ctx, m, sum, ds, nb)
	}
	c.feat.events = ds.Events
	return sum, c.publishModel(ctx, rdb, m, sum)
}

func inputs(ds *features.Dataset) []publish.Input {
	out := make([]publish.Input, len(ds.Files))
	for i, f := range ds.Files {
		out[i] = publish.Input{Path: f.Path, Rows: f.Rows}
	}
	return out
}

func (c *runCommand) report(sum *summary) error {
	sum.WallSeconds = c.clock.wall()
	w := c.m.Stdout
	switch {
	case sum.DryRun:
		fmt.Fprintf(w, "dry run: nothing written to Redis\n")
	case sum.Shard != "":
		fmt.Fprintf(w, "published shard %s of version %s%s\n", sum.Shard, sum.Version, shardFlipText(sum))
	default:
		fmt.Fprintf(w, "published version %s", sum.Version)
		if sum.Previous != "" {
			fmt.Fprintf(w, " (replacing %s)", sum.Previous)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "events: %d read, %d kept, dropped: %s\n", sum.EventsRead, sum.EventsKept, droppedText(sum.EventsDropped))
	fmt.Fprintf(w, "users: %d  items: %d  profiles: %d  metric: %s  neighbour lists: %d  user hashes: %d\n",
		sum.Users, sum.Items, sum.Profiles, sum.Metric, sum.ListsWritten, sum.HashesWritten)
	fmt.Fprintf(w, "seconds: ingest %.2f, model %.2f, publish %.2f, total %.2f", sum.Stages["ingest"], sum.Stages["model"], sum.Stages["publish"], sum.WallSeconds)
	if sum.UserLists > 0 {
		fmt.Fprintf(w, "\nuser lists: %d (seconds %.2f)", sum.UserLists, sum.Stages["user_lists"])
	}
	fmt.Fprintln(w)
	w.Write(c.samples.Bytes())
	if c.summaryPath == "" {
		return nil
	}
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := os.WriteFile(c.summaryPath, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func droppedText(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
