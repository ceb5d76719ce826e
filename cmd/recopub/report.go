package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/model/report"
	"github.com/recopub/recopub/publish"
)

const reportFile = "report.html"

// writeReport writes report.html into --out: plots of the model and
// sample lists, with names from --items when given.
func (c *runCommand) writeReport(ctx context.Context, ds *features.Dataset, nb *model.Neighbors, m *publish.Model, sum *summary) error {
	in, err := c.reportInput(ctx, ds, nb, m.Parameters, sum)
	if err != nil {
		return err
	}
	return writeReportFile(filepath.Join(c.out.dir, reportFile), in)
}

func (c *runCommand) reportInput(ctx context.Context, ds *features.Dataset, nb *model.Neighbors, params map[string]any, sum *summary) (*report.Input, error) {
	in := &report.Input{
		Title:      fmt.Sprintf("recopub model: %s, top %d", c.model.opt.Metric, c.model.opt.TopN),
		Generated:  time.Now(),
		Parameters: params,
		Counts: map[string]any{
			"events read": sum.EventsRead, "events kept": sum.EventsKept, "users": sum.Users,
			"profiles": sum.Profiles, "user hashes": sum.HashesWritten, "events dropped": droppedText(sum.EventsDropped),
		},
		Items:     ds.Items,
		Neighbors: nb,
	}
	in.Popularity = c.popularity
	if c.out.items != "" {
		names, err := features.LoadCatalog(ctx, c.out.items, c.out.itemsID, c.out.itemsName)
		if err != nil {
			return nil, err
		}
		in.Names = names
	}
	return in, nil
}

func writeReportFile(path string, in *report.Input) error {
	var buf bytes.Buffer
	if err := report.Write(&buf, in); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// itemUsers returns, per item, the number of distinct users.
func itemUsers(mat *model.Matrix) []float64 {
	out := make([]float64, mat.NumItems)
	for i := range mat.NumItems {
		out[i] = float64(mat.ItemPtr[i+1] - mat.ItemPtr[i])
	}
	return out
}

// writeReport writes eval's --report: every evaluated metric's lists
// computed from the training part, overlaid on the plots, with the best
// row (by nDCG) marked; the summary and samples are the best metric's.
func (c *evalCommand) writeReport(ctx context.Context, ds *features.Dataset, d *evalData, rep *evalReport) error {
	best := -1
	for i, row := range rep.Models {
		if row.Error == "" && (best < 0 || row.NDCG > rep.Models[best].NDCG) {
			best = i
		}
	}
	metrics := slices.Clone(c.metricList)
	if best >= 0 {
		if k := slices.IndexFunc(metrics, func(m model.Metric) bool { return m.String() == rep.Models[best].Model }); k > 0 {
			metrics[0], metrics[k] = metrics[k], metrics[0]
		}
	}
	var lists []report.Lists
	for _, m := range metrics {
		opt := c.model.opt
		opt.Metric = m
		nb, err := model.Similar(ctx, d.train, opt)
		if err != nil {
			return fmt.Errorf("--report: %s: %w", m, err)
		}
		lists = append(lists, report.Lists{Name: m.String(), Neighbors: nb})
	}
	if len(lists) == 0 {
		return usagef("--report: no --metric to draw lists of")
	}
	params := map[string]any{"split": rep.Split, "k": rep.K, "top_n": rep.TopN, "affinity": rep.Affinity,
		"half_life_days": rep.HalfLife, "seed": rep.Seed, "metric (summary and samples)": lists[0].Name}
	in := &report.Input{
		Title:      fmt.Sprintf("recopub evaluation: %s split, k=%d", rep.Split, rep.K),
		Generated:  time.Now(),
		Parameters: params,
		Counts:     map[string]any{"training events": rep.TrainEvents, "held-out pairs": rep.TestPairs, "test users": rep.Users},
		Items:      ds.Items,
		Popularity: itemUsers(d.train),
		Name:       lists[0].Name,
		Neighbors:  lists[0].Neighbors,
		Others:     lists[1:],
	}
	for i, row := range rep.Models {
		if row.Error != "" {
			continue
		}
		e := row.Evaluation
		in.Eval = append(in.Eval, report.EvalRow{Name: row.Model, Precision: e.Precision, Recall: e.Recall, NDCG: e.NDCG,
			MAP: e.MAP, MAPAtK: e.MAPAtK, Coverage: e.Coverage, MeanPopularity: e.MeanPopularity, Best: i == best})
	}
	return writeReportFile(c.report, in)
}
