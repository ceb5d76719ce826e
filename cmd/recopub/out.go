package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/recopub/recopub/publish"
)

// outFlags is run's --out: with --dry-run, write the model to a directory
// instead of Redis.
type outFlags struct {
	dir string
}

func (f *outFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "out", "", "with --dry-run, write the model to this directory (neighbors.parquet, features.parquet, manifest.json) for 'recopub publish --from'")
}

// validate rejects --out without --dry-run: a run either writes files or
// publishes, so that what is published is always a model someone could
// have inspected as files first.
func (f *outFlags) validate(dryRun bool) error {
	if f.dir != "" && !dryRun {
		return usagef("--out needs --dry-run; publish the directory afterwards with 'recopub publish --from %s'", f.dir)
	}
	return nil
}

// writeOut writes m to --out, when set, and records the counts in sum.
func (c *runCommand) writeOut(ctx context.Context, m *publish.Model, sum *summary) error {
	if c.out.dir == "" {
		return nil
	}
	t := time.Now()
	mw := &publish.ModelWriter{Dir: c.out.dir}
	man, err := mw.Write(ctx, m, c.stages)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	c.stages["write_files"] = time.Since(t).Seconds()
	sum.ListsWritten, sum.HashesWritten = man.Counts.Lists[publish.FamilySimilar], man.Counts.Hashes
	c.log.Info("wrote model files", "dir", c.out.dir, "lists", man.Counts.Lists, "neighbors", man.Counts.Neighbors,
		"hashes", man.Counts.Hashes, "features", man.Counts.Features, "seconds", c.stages["write_files"])
	fmt.Fprintf(c.m.Stdout, "model written to %s; publish it with: recopub publish --from %s\n", c.out.dir, c.out.dir)
	return nil
}

// Counts gives the co-occurrence counts, written as co_count.
func (a neighborLists) Counts(i int, dst []int64) []int64 {
	_, _, counts := a.n.List(i)
	for _, n := range counts {
		dst = append(dst, int64(n))
	}
	return dst
}

// Counts gives the counts behind the popularity scores.
func (a groupLists) Counts(i int, dst []int64) []int64 {
	_, _, counts := a.n.List(i)
	for _, n := range counts {
		dst = append(dst, int64(n))
	}
	return dst
}

var (
	_ publish.CountedLists = neighborLists{}
	_ publish.CountedLists = groupLists{}
)
