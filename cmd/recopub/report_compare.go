package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/model/report"
	"github.com/recopub/recopub/publish"
)

// evalFile is the evaluation a model directory may carry: the output of
// 'recopub eval --json' saved next to the model.
const evalFile = "eval.json"

const evalHint = "To add one, save an evaluation next to a model: " +
	"recopub eval --events PATH --metric METRIC --json > DIR/" + evalFile

// reportCommand writes HTML reports from model directories; today one
// kind: --compare, two or more runs side by side.
type reportCommand struct{ m *Main }

func (c *reportCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("report", "report --compare DIR_A DIR_B [DIR ...] [--out FILE]")
	compare := fs.Bool("compare", false, "put the model directories (written by 'recopub run --dry-run --out DIR') side by side")
	out := fs.String("out", "compare.html", "the HTML file to write")
	samples := fs.Int("samples", 8, "sample items whose lists are shown next to each other")
	dirs, err := parse(fs, args)
	if err != nil {
		return err
	}
	if !*compare {
		return usagef("want --compare DIR_A DIR_B [...]: the single-model report is report.html, written by 'run --dry-run --out DIR'")
	}
	if len(dirs) < 2 {
		return usagef("--compare wants two or more model directories, got %d", len(dirs))
	}
	if err := c.compare(ctx, dirs, *out, *samples); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stdout, "wrote %s comparing %d runs\n", *out, len(dirs))
	return nil
}

func (c *reportCommand) compare(ctx context.Context, dirs []string, out string, samples int) error {
	in := &report.CompareInput{
		Title:     fmt.Sprintf("recopub: %d runs compared", len(dirs)),
		Generated: time.Now(),
		Samples:   samples,
		EvalHint:  evalHint,
	}
	names := runNames(dirs)
	for k, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := readRun(dir)
		if err != nil {
			return err
		}
		r.Name = names[k]
		in.Runs = append(in.Runs, *r)
	}
	var buf bytes.Buffer
	if err := report.WriteCompare(&buf, in); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write compare report: %w", err)
	}
	return nil
}

// runNames are the directories' base names, or the paths as given when
// two base names are the same.
func runNames(dirs []string) []string {
	names := make([]string, len(dirs))
	seen := map[string]bool{}
	for k, d := range dirs {
		names[k] = filepath.Base(filepath.Clean(d))
		if seen[names[k]] {
			copy(names, dirs)
			return names
		}
		seen[names[k]] = true
	}
	return names
}

// readRun reads a model directory: its similar-item lists as dense
// neighbour lists, the popular list, parameters, counts and eval.json.
func readRun(dir string) (*report.Run, error) {
	md, err := publish.ReadModelDir(dir)
	if err != nil {
		if _, csvErr := os.Stat(filepath.Join(dir, publish.NeighborsCSV)); csvErr == nil {
			err = fmt.Errorf("model dir %s holds CSV tables (--out-format csv); report --compare reads Parquet ones: rerun with --out-format parquet", dir)
		}
		return nil, rejectedError{err}
	}
	defer md.Close()
	r := &report.Run{Parameters: md.Manifest.Parameters, Counts: map[string]any{}}
	for k, v := range md.Manifest.InputCounts {
		r.Counts[k] = v
	}
	r.Counts["user hashes"], r.Counts["user features"] = md.Counts.Hashes, md.Counts.Features
	var sim publish.ListSource
	for _, f := range md.Model.Families {
		switch f.Name {
		case publish.FamilySimilar:
			sim = f.Lists
		case publish.FamilyPopular:
			if f.Lists.Len() > 0 {
				var l publish.List
				f.Lists.List(0, &l)
				r.Popular = l.Members
			}
		}
	}
	if sim == nil {
		return nil, rejectedError{fmt.Errorf("model dir %s: no %q lists to compare", dir, publish.FamilySimilar)}
	}
	r.Items, r.Neighbors = denseLists(sim)
	if err := md.Err(); err != nil {
		return nil, fmt.Errorf("model dir %s: %w", dir, err)
	}
	if r.Eval, err = readEval(filepath.Join(dir, evalFile)); err != nil {
		return nil, rejectedError{err}
	}
	return r, nil
}

// denseLists numbers every item seen (with a list or as a neighbour)
// and returns the lists over those numbers.
func denseLists(src publish.ListSource) ([]string, *model.Neighbors) {
	ids := map[string]uint32{}
	var items []string
	idOf := func(s string) uint32 {
		i, ok := ids[s]
		if !ok {
			i = uint32(len(items))
			ids[s] = i
			items = append(items, s)
		}
		return i
	}
	type list struct {
		owner   uint32
		members []uint32
		scores  []float64
	}
	var lists []list
	var l publish.List
	for i := range src.Len() {
		l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
		src.List(i, &l)
		ls := list{owner: idOf(l.ID), scores: append([]float64(nil), l.Scores...)}
		for _, m := range l.Members {
			ls.members = append(ls.members, idOf(m))
		}
		lists = append(lists, ls)
	}
	byOwner := make([]*list, len(items))
	for i := range lists {
		byOwner[lists[i].owner] = &lists[i]
	}
	nb := &model.Neighbors{Ptr: make([]int64, 1, len(items)+1)}
	for _, ls := range byOwner {
		if ls != nil {
			nb.Item = append(nb.Item, ls.members...)
			nb.Score = append(nb.Score, ls.scores...)
		}
		nb.Ptr = append(nb.Ptr, int64(len(nb.Item)))
	}
	nb.Count = make([]uint32, len(nb.Item)) // model directories keep co_count apart; not compared
	return items, nb
}

// readEval reads eval.json (the output of 'recopub eval --json'); no file
// is no evaluation.
func readEval(path string) ([]report.EvalRow, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var rep evalReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w (want the output of 'recopub eval --json')", path, err)
	}
	if len(rep.Models) == 0 {
		return nil, fmt.Errorf("%s: no models evaluated (want the output of 'recopub eval --json')", path)
	}
	var rows []report.EvalRow
	best := -1
	for _, m := range rep.Models {
		if m.Error != "" {
			continue
		}
		e := m.Evaluation
		rows = append(rows, report.EvalRow{Name: m.Model, Precision: e.Precision, Recall: e.Recall, NDCG: e.NDCG,
			MAP: e.MAP, MAPAtK: e.MAPAtK, Coverage: e.Coverage, MeanPopularity: e.MeanPopularity})
		if best < 0 || e.NDCG > rows[best].NDCG {
			best = len(rows) - 1
		}
	}
	if best >= 0 {
		rows[best].Best = true
	}
	return rows, nil
}
