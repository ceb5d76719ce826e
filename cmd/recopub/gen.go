package main

import (
	"context"
	"fmt"
	"time"

	"github.com/recopub/recopub/features/gen"
)

// genCommand writes a synthetic export.
type genCommand struct{ m *Main }

func (c *genCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("gen", "gen [--out DIR] [--users N] [--items N] [--events N] [--seed S]")
	var opt gen.Options
	fs.StringVar(&opt.Out, "out", "sample", "output directory (events/ and profiles/ are written below it)")
	fs.IntVar(&opt.Users, "users", gen.DefaultUsers, "identified users")
	fs.IntVar(&opt.Items, "items", gen.DefaultItems, "items")
	fs.IntVar(&opt.Events, "events", gen.DefaultEvents, "events")
	fs.Int64Var(&opt.Seed, "seed", gen.DefaultSeed, "random seed; the same seed writes the same files")
	fs.IntVar(&opt.Days, "days", gen.DefaultDays, "daily partitions (dt=YYYY-MM-DD)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	start := time.Now()
	st, err := gen.Generate(ctx, opt)
	if err != nil {
		return err
	}
	// Users and items as a run counts them (README, "Counts").
	fmt.Fprintf(c.m.Stdout, "wrote %d events (%d purchases) of %d users (%d of them anonymous ids) over %d items, and %d profiles, in %d files under %s in %.2fs\n",
		st.Events, st.Purchases, st.Users, st.AnonymousIDs, st.Items, st.Profiles, st.Files, opt.Out, time.Since(start).Seconds())
	return nil
}
