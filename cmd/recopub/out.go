package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
)

// outFlags is run's --out: with --dry-run, write the model to a directory
// instead of Redis.
type outFlags struct {
	dir       string
	format    string
	items     string
	itemsID   string
	itemsName string
}

func (f *outFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "out", "", "with --dry-run, write the model to this directory (neighbors.parquet, features.parquet, manifest.json, report.html) for 'recopub publish --from'")
	fs.StringVar(&f.format, "out-format", "parquet", "tables of --out: parquet or csv (csv cannot be published with --from)")
	fs.StringVar(&f.items, "items", "", "item catalog (Parquet) whose names label the report's sample lists")
	fs.StringVar(&f.itemsID, "items-id-col", "product_id", "item id column of --items")
	fs.StringVar(&f.itemsName, "items-name-col", "name", "item name column of --items")
}

// validate rejects --out without --dry-run: a run either writes files or
// publishes, so that what is published is always a model someone could
// have inspected as files first.
func (f *outFlags) validate(dryRun bool) error {
	if f.dir != "" && !dryRun {
		return usagef("--out needs --dry-run; publish the directory afterwards with 'recopub publish --from %s'", f.dir)
	}
	if _, err := publish.ParseFileFormat(f.format); err != nil {
		return badValue("run", "out-format", f.format, err)
	}
	return nil
}

// writeOut writes m to --out, when set, and records the counts in sum.
func (c *runCommand) writeOut(ctx context.Context, m *publish.Model, sum *summary, ds *features.Dataset, nb *model.Neighbors) error {
	if c.out.dir == "" {
		return nil
	}
	format, _ := publish.ParseFileFormat(c.out.format)
	mw := &publish.ModelWriter{Dir: c.out.dir, Format: format}
	man, err := mw.Write(ctx, c.bars.modelFiles(m), c.clock.stages)
	c.bars.end(barFiles)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := c.writeReport(ctx, ds, nb, m, sum); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	secs := c.clock.end("write_files")
	sum.ListsWritten, sum.HashesWritten, sum.UserLists = man.Counts.Lists[publish.FamilySimilar], man.Counts.Hashes, man.Counts.Lists[publish.FamilyRec]
	c.log.Info("wrote model files", "dir", c.out.dir, "lists", man.Counts.Lists, "neighbors", man.Counts.Neighbors,
		"hashes", man.Counts.Hashes, "features", man.Counts.Features, "seconds", secs)
	fmt.Fprintf(c.m.Stdout, "model written to %s (report: %s)\n", c.out.dir, filepath.Join(c.out.dir, reportFile))
	if format == publish.Parquet {
		fmt.Fprintf(c.m.Stdout, "publish it with: recopub publish --from %s\n", c.out.dir)
	}
	return nil
}

// Counts gives the co-occurrence counts, written as co_count.
func (a neighborLists) Counts(i int, dst []int64) []int64 { return a.groups().Counts(i, dst) }

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
