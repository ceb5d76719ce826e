package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	m *Main

	events, profiles stringList
	ingest           features.Options
	eventWeights     string
	purchaseEvent    string
	profileID        string
	profileCols      string
	maxBadFraction   float64

	metric  string
	modelOp model.Options

	redis       redisFlags
	dryRun      bool
	summaryPath string
	keep        int
	grace       time.Duration
	lockTTL     time.Duration
	conns       int
	noRestore   bool
	embedded    bool
	show        int
	logLevel    string
	log         *slog.Logger
	stages      map[string]float64
	liveBefore  string
	samples     bytes.Buffer
}

func (c *runCommand) flags() *flag.FlagSet {
	fs := c.m.newFlagSet("run", "run --events PATH [--events PATH ...] [--profiles PATH] [flags]")
	fs.Var(&c.events, "events", "event export: a Parquet file, a directory (recursive) or a glob; repeatable")
	fs.Var(&c.profiles, "profiles", "profile export (Parquet file, directory or glob); repeatable")
	fs.StringVar(&c.ingest.UserCol, "user-col", "user_id", "user id column")
	fs.StringVar(&c.ingest.AnonCol, "anon-col", "anonymous_id", `fallback id column when the user id is null or empty ("-" for none)`)
	fs.StringVar(&c.ingest.ItemCol, "item-col", "product_id", "item id column")
	fs.StringVar(&c.ingest.EventCol, "event-col", "event", `event name column ("-" when every row is a purchase)`)
	fs.StringVar(&c.ingest.TimeCol, "time-col", "timestamp", "event time column (TIMESTAMP, INT64 epoch ms or ISO-8601 string)")
	fs.StringVar(&c.eventWeights, "event-weights", "", `keep only these events, with weights: "Order Completed=5,Product Added=3,Product Viewed=1"`)
	fs.StringVar(&c.purchaseEvent, "purchase-event", "Order Completed", "event whose items are purchases (recent_five_purchases)")
	fs.Func("now", "reference time for --max-future, RFC 3339 (default: the current time)", func(v string) error {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("want RFC 3339 such as 2026-11-25T02:00:00Z")
		}
		c.ingest.Now = t
		return nil
	})
	fs.DurationVar(&c.ingest.MaxFuture, "max-future", time.Hour, "drop events later than now plus this")
	fs.Float64Var(&c.maxBadFraction, "max-bad-fraction", 0.01, "fail without publishing when more than this fraction of rows is unusable")
	fs.StringVar(&c.profileID, "profile-id-col", "user_id", "user id column of the profile table")
	fs.StringVar(&c.profileCols, "profile-cols", "", "profile columns to publish, comma-separated (default: all but the id)")
	fs.StringVar(&c.metric, "metric", "cosine", "similarity: "+metricNames())
	fs.IntVar(&c.modelOp.TopN, "top-n", 50, "neighbours kept per item")
	fs.IntVar(&c.modelOp.MinSupport, "min-support", 1, "minimum number of users two items share")
	fs.Float64Var(&c.modelOp.MinScore, "min-score", 0, "drop neighbours scoring below this")
	fs.IntVar(&c.modelOp.MaxUserItems, "max-user-items", 500, "down-sample users with more distinct items (0: off)")
	fs.Int64Var(&c.modelOp.Seed, "seed", 42, "seed for down-sampling and verification samples")
	fs.IntVar(&c.ingest.Workers, "workers", 0, "parallel workers (default: all cores)")
	c.redis.register(fs, c.m.Getenv)
	fs.BoolVar(&c.dryRun, "dry-run", false, "load and compute, write nothing to Redis")
	fs.StringVar(&c.summaryPath, "summary", "", "also write the run summary as JSON to this file")
	fs.IntVar(&c.keep, "keep", 2, "complete versions kept before the live one")
	fs.DurationVar(&c.grace, "grace", 15*time.Minute, "unfinished versions younger than this are not removed")
	fs.DurationVar(&c.lockTTL, "lock-ttl", 30*time.Second, "run lock TTL (renewed while running)")
	fs.IntVar(&c.conns, "conns", 4, "parallel Redis pipelines")
	fs.BoolVar(&c.noRestore, "no-restore", false, "write with ZADD/HSET even where RESTORE works")
	fs.BoolVar(&c.embedded, "embedded-fallback", false, "when nothing answers at --redis, run against an in-process embedded Redis (demo only)")
	fs.IntVar(&c.show, "show", 0, "after publishing, print this many sample neighbour lists and one user hash")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	return fs
}

func (c *runCommand) Run(ctx context.Context, args []string) error {
	if _, err := parse(c.flags(), args); err != nil {
		return err
	}
	log, err := c.m.newLogger(c.logLevel)
	if err != nil {
		return err
	}
	c.log = log
	if err := c.validate(); err != nil {
		return err
	}
	sum, err := c.run(ctx)
	if err != nil {
		c.fail(err)
		return err
	}
	return c.report(sum)
}

func (c *runCommand) validate() error {
	if len(c.events) == 0 {
		return usagef("--events is required")
	}
	m, err := model.ParseMetric(c.metric)
	if err != nil {
		return usagef("--metric: %v", err)
	}
	c.modelOp.Metric = m
	c.modelOp.Workers = c.ingest.Workers
	if c.ingest.EventWeights, err = features.ParseEventWeights(c.eventWeights); err != nil {
		return usagef("--event-weights: %v", err)
	}
	if c.maxBadFraction < 0 || c.maxBadFraction > 1 {
		return usagef("--max-bad-fraction %g: want a fraction between 0 and 1", c.maxBadFraction)
	}
	c.ingest.Events = c.events
	c.stages = make(map[string]float64)
	return nil
}

// fail writes the last log line of a failed run: what failed and what
// happened to the live version.
func (c *runCommand) fail(err error) {
	live := "unchanged"
	if c.liveBefore != "" {
		live = "unchanged (" + c.liveBefore + ")"
	}
	if c.dryRun {
		live = "not touched (dry run)"
	}
	c.log.Error("run failed; live version "+live, "error", err.Error())
}

// summary is what a run prints and writes with --summary.
type summary struct {
	Version       string             `json:"version,omitempty"`
	Previous      string             `json:"previous,omitempty"`
	DryRun        bool               `json:"dry_run,omitempty"`
	EventsRead    int64              `json:"events_read"`
	EventsKept    int64              `json:"events_kept"`
	EventsDropped map[string]int64   `json:"events_dropped"`
	Files         int                `json:"files"`
	Users         int                `json:"users"`
	Items         int                `json:"items"`
	Metric        string             `json:"metric"`
	ListsWritten  int64              `json:"lists_written"`
	HashesWritten int64              `json:"hashes_written"`
	Restore       bool               `json:"restore"`
	Removed       []string           `json:"versions_removed,omitempty"`
	Stages        map[string]float64 `json:"stages"`
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
	t := time.Now()
	ds, err := features.Load(ctx, c.ingest)
	if err != nil {
		return nil, rejectedError{fmt.Errorf("ingest: %w", err)}
	}
	c.stages["ingest"] = time.Since(t).Seconds()
	c.log.Info("ingest", "files", ds.Stats.Files, "events_read", ds.Stats.Read, "events_kept", ds.Stats.Kept,
		"dropped", ds.Stats.Dropped, "users", len(ds.Users), "items", len(ds.Items), "seconds", c.stages["ingest"])
	if err := c.checkBad(ds); err != nil {
		return nil, err
	}
	var profiles *features.Profiles
	if len(c.profiles) > 0 {
		t = time.Now()
		profiles, err = features.LoadProfiles(features.ProfileOptions{Paths: c.profiles, IDCol: c.profileID, Columns: splitList(c.profileCols)})
		if err != nil {
			return nil, rejectedError{fmt.Errorf("profiles: %w", err)}
		}
		c.stages["profiles"] = time.Since(t).Seconds()
		c.log.Info("profiles", "users", profiles.Len(), "columns", profiles.Columns, "seconds", c.stages["profiles"])
	}

	t = time.Now()
	mat := model.NewMatrix(len(ds.Users), len(ds.Items), ds.User, ds.Item, c.weights(ds))
	nb, err := model.Similar(ctx, mat, c.modelOp)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c.stages["model"] = time.Since(t).Seconds()
	lists := 0
	for i := range nb.NumItems() {
		if nb.Ptr[i+1] > nb.Ptr[i] {
			lists++
		}
	}
	c.log.Info("model", "metric", c.modelOp.Metric.String(), "items_with_neighbours", lists, "neighbours", len(nb.Item), "seconds", c.stages["model"])

	users := features.NewUsers(ds, profiles, features.FeatureOptions{PurchaseEvent: c.purchaseEvent})
	sum := &summary{
		DryRun: c.dryRun, EventsRead: ds.Stats.Read, EventsKept: ds.Stats.Kept, EventsDropped: ds.Stats.Dropped,
		Files: ds.Stats.Files, Users: users.Len(), Items: len(ds.Items), Metric: c.modelOp.Metric.String(),
		Stages: c.stages,
	}
	if c.dryRun {
		sum.ListsWritten = int64(lists)
		return sum, nil
	}
	m := &publish.Model{
		Families:   []publish.Family{{Name: publish.FamilySimilar, Lists: neighborLists{nb, ds.Items}}},
		Users:      userHashes{users},
		Parameters: c.parameters(),
		Inputs:     inputs(ds),
		Counts:     map[string]any{"events_read": ds.Stats.Read, "events_kept": ds.Stats.Kept, "events_dropped": ds.Stats.Dropped},
	}
	return sum, c.publish(ctx, rdb, m, sum)
}

// checkBad fails the run when too many rows were unusable. Rows dropped
// because --event-weights does not name their event are a choice, not bad
// data, and do not count.
func (c *runCommand) checkBad(ds *features.Dataset) error {
	bad := ds.Stats.DroppedTotal()
	if len(c.ingest.EventWeights) > 0 {
		bad -= ds.Stats.Dropped[features.DropUnknownEvent]
	}
	if ds.Stats.Read == 0 {
		return rejectedError{errors.New("ingest: the event files hold no rows")}
	}
	if ds.Stats.Kept == 0 {
		return rejectedError{fmt.Errorf("ingest: no usable events among %d rows (dropped: %v)", ds.Stats.Read, ds.Stats.Dropped)}
	}
	frac := float64(bad) / float64(ds.Stats.Read)
	if frac > c.maxBadFraction {
		return rejectedError{fmt.Errorf("ingest: %d of %d rows (%.2f%%) are unusable, above --max-bad-fraction %g; dropped by reason: %v",
			bad, ds.Stats.Read, 100*frac, c.maxBadFraction, ds.Stats.Dropped)}
	}
	return nil
}

// weights returns per-event weights from --event-weights, or nil.
func (c *runCommand) weights(ds *features.Dataset) []float32 {
	if len(c.ingest.EventWeights) == 0 {
		return nil
	}
	byCode := make([]float32, len(ds.Events))
	for i, e := range ds.Events {
		byCode[i] = c.ingest.EventWeights[e]
	}
	w := make([]float32, ds.Len())
	for i, e := range ds.Event {
		w[i] = byCode[e]
	}
	return w
}

func (c *runCommand) parameters() map[string]any {
	return map[string]any{
		"metric": c.modelOp.Metric.String(), "top_n": c.modelOp.TopN, "min_support": c.modelOp.MinSupport,
		"min_score": c.modelOp.MinScore, "max_user_items": c.modelOp.MaxUserItems, "seed": c.modelOp.Seed,
		"item_col": c.ingest.ItemCol, "user_col": c.ingest.UserCol, "anon_col": c.ingest.AnonCol,
		"event_col": c.ingest.EventCol, "time_col": c.ingest.TimeCol, "event_weights": c.eventWeights,
		"purchase_event": c.purchaseEvent,
	}
}

func inputs(ds *features.Dataset) []publish.Input {
	out := make([]publish.Input, len(ds.Files))
	for i, f := range ds.Files {
		out[i] = publish.Input{Path: f.Path, Rows: f.Rows}
	}
	return out
}

func (c *runCommand) report(sum *summary) error {
	w := c.m.Stdout
	if sum.DryRun {
		fmt.Fprintf(w, "dry run: nothing written to Redis\n")
	} else {
		fmt.Fprintf(w, "published version %s", sum.Version)
		if sum.Previous != "" {
			fmt.Fprintf(w, " (replacing %s)", sum.Previous)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "events: %d read, %d kept, dropped: %s\n", sum.EventsRead, sum.EventsKept, droppedText(sum.EventsDropped))
	fmt.Fprintf(w, "users: %d  items: %d  metric: %s  neighbour lists: %d  user hashes: %d\n",
		sum.Users, sum.Items, sum.Metric, sum.ListsWritten, sum.HashesWritten)
	fmt.Fprintf(w, "seconds: ingest %.2f, model %.2f, publish %.2f\n", sum.Stages["ingest"], sum.Stages["model"], sum.Stages["publish"])
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

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p != "" {
			out = append(out, p)
		}
	}
	return out
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
