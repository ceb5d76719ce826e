package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
)

// sweepParams are the parameters a --sweep grid may vary, and how each is
// applied to the model options.
var sweepParams = map[string]func(o *model.Options, v string) error{
	"metric": func(o *model.Options, v string) (err error) { o.Metric, err = model.ParseMetric(v); return err },
	"top_n":  func(o *model.Options, v string) (err error) { o.TopN, err = strconv.Atoi(v); return err },
	"min_support": func(o *model.Options, v string) (err error) {
		o.MinSupport, err = strconv.Atoi(v)
		return err
	},
	"min_score":      func(o *model.Options, v string) (err error) { o.MinScore, err = strconv.ParseFloat(v, 64); return err },
	"max_user_items": func(o *model.Options, v string) (err error) { o.MaxUserItems, err = strconv.Atoi(v); return err },
	"lambda":         func(o *model.Options, v string) (err error) { o.Lambda, err = strconv.ParseFloat(v, 64); return err },
	"k1":             func(o *model.Options, v string) error { return parseRange(&o.K1, v, 0, math.Inf(1)) },
	"b":              func(o *model.Options, v string) error { return parseRange(&o.B, v, 0, 1) },
	"weighted":       func(o *model.Options, v string) (err error) { o.Weighted, err = strconv.ParseBool(v); return err },
	"alpha":          func(o *model.Options, v string) error { return parseExponent(&o.Alpha, v) },
	"beta":           func(o *model.Options, v string) error { return parseExponent(&o.Beta, v) },
}

// parseExponent sets an rp3beta exponent; Similar checks its range.
func parseExponent(dst **float64, v string) error { return parseRange(dst, v, 0, 20) }

// parseRange parses a number from lo to hi into a parameter whose zero is
// meaningful (a pointer, nil meaning the default).
func parseRange(dst **float64, v string, lo, hi float64) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return err
	}
	if !(f >= lo && f <= hi) {
		return fmt.Errorf("want a number from %g to %g", lo, hi)
	}
	*dst = &f
	return nil
}

// sweepAxis is one parameter of the grid with its values.
type sweepAxis struct {
	name   string
	values []string
}

// parseSweep parses "metric=cosine,llr;min_support=1,2,5".
func parseSweep(s string) ([]sweepAxis, error) {
	var axes []sweepAxis
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, vals, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || len(splitList(vals)) == 0 {
			return nil, fmt.Errorf("%q: want name=v1,v2,...", part)
		}
		if _, ok := sweepParams[name]; !ok {
			return nil, fmt.Errorf("unknown parameter %q; sweepable: %s", name, strings.Join(sortedKeys(sweepParams), ", "))
		}
		axes = append(axes, sweepAxis{name: name, values: splitList(vals)})
	}
	if len(axes) == 0 {
		return nil, fmt.Errorf("empty grid")
	}
	return axes, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// grid returns every combination of the axes' values, the first axis
// varying slowest.
func grid(axes []sweepAxis) [][]string {
	out := [][]string{{}}
	for _, a := range axes {
		var next [][]string
		for _, prefix := range out {
			for _, v := range a.values {
				next = append(next, append(slices.Clone(prefix), v))
			}
		}
		out = next
	}
	return out
}

// sweepRow is one grid point's result.
type sweepRow struct {
	Rank   int               `json:"rank"`
	Params map[string]string `json:"params"`
	evalRow
	Best bool `json:"best"`
}

// sweepReport is what eval --sweep prints and writes.
type sweepReport struct {
	RankBy string      `json:"rank_by"`
	Split  *evalReport `json:"split"`
	Rows   []sweepRow  `json:"rows"`
}

// rankMetrics are the figures --rank-by may name.
var rankMetrics = map[string]func(model.Evaluation) float64{
	"precision": func(e model.Evaluation) float64 { return e.Precision },
	"recall":    func(e model.Evaluation) float64 { return e.Recall },
	"ndcg":      func(e model.Evaluation) float64 { return e.NDCG },
	"map":       func(e model.Evaluation) float64 { return e.MAP },
	"map_at_k":  func(e model.Evaluation) float64 { return e.MAPAtK },
	"coverage":  func(e model.Evaluation) float64 { return e.Coverage },
}

// runSweep evaluates every point of the --sweep grid on one split of the
// data loaded once, ranks the results by --rank-by and writes them.
func (c *evalCommand) runSweep(ctx context.Context, ds *features.Dataset) error {
	axes, _ := parseSweep(c.sweep)
	points := grid(axes)
	if c.userLists > 0 {
		// Each grid point gives an item-list row and a per-user row, told
		// apart by a column of their own.
		axes = append(axes, sweepAxis{name: "lists"})
	}
	d, split, err := c.prepare(ds)
	if err != nil {
		return err
	}
	split.Models = nil
	rep := &sweepReport{RankBy: c.rankBy, Split: split}
	for _, point := range points {
		opt := c.model.opt
		params := make(map[string]string)
		for i, a := range axes[:len(point)] {
			params[a.name] = point[i]
			if err := sweepParams[a.name](&opt, point[i]); err != nil {
				return usagef("--sweep %s=%s: %v", a.name, point[i], err)
			}
		}
		rows, err := c.evalMetric(ctx, opt.Metric, opt, d.train, d.split.Test, d.users)
		if err != nil {
			return err
		}
		for _, row := range rows {
			p := params
			if c.userLists > 0 {
				p = maps.Clone(params)
				p["lists"] = row.lists
			}
			rep.Rows = append(rep.Rows, sweepRow{Params: p, evalRow: row})
		}
	}
	score := rankMetrics[c.rankBy]
	slices.SortStableFunc(rep.Rows, func(a, b sweepRow) int {
		switch {
		case a.Error != "" && b.Error == "":
			return 1
		case a.Error == "" && b.Error != "":
			return -1
		}
		sa, sb := score(a.Evaluation), score(b.Evaluation)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	for i := range rep.Rows {
		rep.Rows[i].Rank = i + 1
	}
	if len(rep.Rows) > 0 && rep.Rows[0].Error == "" {
		rep.Rows[0].Best = true
	}
	if c.sweepOut != "" {
		if err := rep.write(c.sweepOut, axes); err != nil {
			return err
		}
	}
	if c.asJSON {
		return writeJSON(c.m.Stdout, rep)
	}
	rep.table(c.m.Stdout, axes)
	if c.sweepOut != "" {
		fmt.Fprintf(c.m.Stdout, "\nwritten: %s, %s\n", filepath.Join(c.sweepOut, "sweep.csv"), filepath.Join(c.sweepOut, "sweep.json"))
	}
	return nil
}

func (r *sweepReport) table(w io.Writer, axes []sweepAxis) {
	fmt.Fprintf(w, "sweep of %d settings on split %s (%d test users), ranked by %s\n\n", len(r.Rows), r.Split.Split, r.Split.Users, r.RankBy)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "rank\t")
	for _, a := range axes {
		fmt.Fprintf(tw, "%s\t", a.name)
	}
	fmt.Fprintln(tw, "precision@k\trecall@k\tndcg@k\tmap\tmap@k\tcoverage\tseconds\t")
	for _, row := range r.Rows {
		mark := ""
		if row.Best {
			mark = " *"
		}
		fmt.Fprintf(tw, "%d%s\t", row.Rank, mark)
		for _, a := range axes {
			fmt.Fprintf(tw, "%s\t", row.Params[a.name])
		}
		if row.Error != "" {
			fmt.Fprintf(tw, "%s\t\t\t\t\t\t\t\n", row.Error)
			continue
		}
		fmt.Fprintf(tw, "%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t\n", row.Precision, row.Recall, row.NDCG, row.MAP, row.MAPAtK, row.Coverage, row.Seconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "* best by %s\n", r.RankBy)
}

// write saves the ranked table as sweep.csv and sweep.json in dir.
func (r *sweepReport) write(dir string, axes []sweepAxis) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--sweep-out: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "sweep.json"))
	if err != nil {
		return fmt.Errorf("--sweep-out: %w", err)
	}
	if err := writeJSON(f, r); err != nil {
		f.Close()
		return fmt.Errorf("--sweep-out: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--sweep-out: %w", err)
	}
	f, err = os.Create(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		return fmt.Errorf("--sweep-out: %w", err)
	}
	cw := csv.NewWriter(f)
	head := []string{"rank", "best"}
	for _, a := range axes {
		head = append(head, a.name)
	}
	cw.Write(append(head, "precision", "recall", "ndcg", "map", "map_at_k", "coverage", "mean_popularity", "users", "seconds", "error"))
	ff := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, row := range r.Rows {
		rec := []string{strconv.Itoa(row.Rank), strconv.FormatBool(row.Best)}
		for _, a := range axes {
			rec = append(rec, row.Params[a.name])
		}
		rec = append(rec, ff(row.Precision), ff(row.Recall), ff(row.NDCG), ff(row.MAP), ff(row.MAPAtK),
			ff(row.Coverage), ff(row.MeanPopularity), strconv.Itoa(row.Users), ff(row.Seconds), row.Error)
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return fmt.Errorf("--sweep-out: %w", err)
	}
	return f.Close()
}
