package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
)

// modelFlags are the similarity model's flags.
type modelFlags struct {
	opt model.Options
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	// A typed flag: a bad name fails when it is set, from the command line
	// or a config file, with the allowed names in the message.
	fs.TextVar(&f.opt.Metric, "metric", model.Cosine, "similarity: "+metricNames())
	fs.IntVar(&f.opt.TopN, "top-n", 50, "neighbours kept per item")
	fs.IntVar(&f.opt.MinSupport, "min-support", 1, "minimum number of users two items share")
	fs.Float64Var(&f.opt.MinScore, "min-score", 0, "drop neighbours scoring below this")
	fs.IntVar(&f.opt.MaxUserItems, "max-user-items", 500, "down-sample users with more distinct items (0: off)")
	fs.Int64Var(&f.opt.Seed, "seed", 42, "seed for down-sampling and verification samples")
}

func (f *modelFlags) validate(workers int) error {
	f.opt.Workers = workers
	return nil
}

// compute builds the user x item matrix and the neighbour lists.
func (f *modelFlags) compute(ctx context.Context, ds *features.Dataset, weights []float32, log *slog.Logger, stages map[string]float64) (*model.Neighbors, error) {
	t := time.Now()
	mat := model.NewMatrix(len(ds.Users), len(ds.Items), ds.User, ds.Item, weights)
	nb, err := model.Similar(ctx, mat, f.opt)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	stages["model"] = time.Since(t).Seconds()
	log.Info("model", "metric", f.opt.Metric.String(), "items_with_neighbours", listsWithNeighbours(nb),
		"neighbours", len(nb.Item), "seconds", stages["model"])
	return nb, nil
}

func (f *modelFlags) parameters(p map[string]any) {
	p["metric"], p["top_n"], p["min_support"] = f.opt.Metric.String(), f.opt.TopN, f.opt.MinSupport
	p["min_score"], p["max_user_items"], p["seed"] = f.opt.MinScore, f.opt.MaxUserItems, f.opt.Seed
}

func listsWithNeighbours(nb *model.Neighbors) int {
	n := 0
	for i := range nb.NumItems() {
		if nb.Ptr[i+1] > nb.Ptr[i] {
			n++
		}
	}
	return n
}

// metricNames lists the --metric values for help texts.
func metricNames() string {
	var names []string
	for _, m := range model.Metrics() {
		names = append(names, m.String())
	}
	return strings.Join(names, ", ")
}
