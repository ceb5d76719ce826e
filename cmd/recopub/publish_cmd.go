package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/recopub/recopub/publish"
)

// publishCommand publishes a model directory written by 'run --dry-run
// --out DIR' as a new version, exactly as run publishes the model it
// computes: the run lock, writing, verification, the flip and gc are
// run's own code.
type publishCommand struct {
	m  *Main
	rc *runCommand // run's code, which logs a failed publish (logFailure)
}

func (c *publishCommand) logFailure(err error) bool { return c.rc != nil && c.rc.logFailure(err) }

func (c *publishCommand) Run(ctx context.Context, args []string) error {
	rc := &runCommand{m: c.m, clock: newStageClock(), command: "publish"}
	c.rc = rc
	fs := c.m.newFlagSet("publish", "publish --from DIR [--redis URL] [flags]")
	from := fs.String("from", "", "model directory written by 'recopub run --dry-run --out DIR'")
	rc.redis.register(fs, c.m.Getenv)
	rc.pub.register(fs)
	rc.feat.register(fs)
	fs.StringVar(&rc.summaryPath, "summary", "", "also write the summary as JSON to this file")
	fs.StringVar(&rc.logLevel, "log-level", "info", "debug, info, warn or error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *from == "" || len(pos) > 0 {
		return usagef("want --from DIR and no arguments")
	}
	if rc.log, err = c.m.newLogger(rc.logLevel); err != nil {
		return err
	}
	rc.bars = c.m.progressBars()
	rc.log = rc.bars.logger(rc.log)
	rc.running = true
	// No tightenGC here: publish --from holds only the model files' pages
	// (~170 MB at 5M events), and GOGC=20 made it 25% slower
	// (testdata/bench/publish-vs-restore.sh, ratio 1.99 against 1.56).
	sum, err := rc.publishDir(ctx, *from)
	if err != nil {
		return err
	}
	return rc.report(sum)
}

// publishDir reads and checks the directory, then connects and publishes.
func (c *runCommand) publishDir(ctx context.Context, dir string) (*summary, error) {
	md, err := publish.ReadModelDir(dir)
	if err != nil {
		return nil, rejectedError{err}
	}
	defer md.Close()
	c.log.Info("read model files", "dir", dir, "lists", md.Counts.Lists, "neighbors", md.Counts.Neighbors,
		"hashes", md.Counts.Hashes, "features", md.Counts.Features, "seconds", c.clock.end("read_files"))
	if got, want := md.Counts, md.Manifest.Counts; got.Neighbors != want.Neighbors || got.Features != want.Features {
		c.log.Warn("the files changed since they were written; publishing them as they are now",
			"neighbors", got.Neighbors, "neighbors_written", want.Neighbors, "features", got.Features, "features_written", want.Features)
	}
	c.model.opt.Seed = jsonInt(md.Manifest.Parameters["seed"])
	c.feat.fields = md.Fields
	rdb, stop, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	c.clock.end("setup")
	sum := dirSummary(md)
	sum.Stages = c.clock.stages
	if err := c.publishModel(ctx, rdb, md.Model, sum); err != nil {
		return nil, err
	}
	if err := md.Err(); err != nil {
		// Unreachable unless the files changed or the disk failed while
		// publishing: ReadModelDir read every row once already.
		return nil, fmt.Errorf("model files failed while publishing version %s (roll back with 'recopub rollback'): %w", sum.Version, err)
	}
	return sum, nil
}

// dirSummary fills a summary with what the directory's manifest says
// about its inputs.
func dirSummary(md *publish.ModelDir) *summary {
	in := md.Manifest.InputCounts
	sum := &summary{
		EventsRead: jsonInt(in["events_read"]),
		EventsKept: jsonInt(in["events_kept"]),
		Files:      len(md.Manifest.Inputs),
		Users:      int(jsonInt(in["users"])),
		Items:      int(jsonInt(in["items"])),
		Profiles:   int(jsonInt(in["profiles"])),
	}
	if _, ok := in["users"]; !ok { // a directory written before the counts were
		sum.Users, sum.Items = int(md.Counts.Hashes), int(md.Counts.Lists[publish.FamilySimilar])
	}
	sum.Metric, _ = md.Manifest.Parameters["metric"].(string)
	if dropped, ok := in["events_dropped"].(map[string]any); ok {
		sum.EventsDropped = make(map[string]int64)
		for k, v := range dropped {
			sum.EventsDropped[k] = jsonInt(v)
		}
	}
	return sum
}

// jsonInt reads a number decoded with UseNumber; 0 when it is not one.
func jsonInt(v any) int64 {
	n, _ := v.(json.Number)
	i, _ := n.Int64()
	return i
}
