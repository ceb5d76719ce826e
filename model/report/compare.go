package report

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"gonum.org/v1/plot"

	"github.com/recopub/recopub/model"
)

// Run is one model in a comparison: a model directory read back.
type Run struct {
	Name       string // column heading, e.g. the directory
	Parameters map[string]any
	Counts     map[string]any // counts recorded with the model (events read, users, ...)

	Items     []string         // dense item id -> external id
	Neighbors *model.Neighbors // lists over Items
	Popular   []string         // item ids, most popular first; may be empty

	Eval []EvalRow // nil when the run carries no evaluation
}

// CompareInput is what a comparison page shows: two or more runs.
type CompareInput struct {
	Title     string
	Generated time.Time
	Runs      []Run
	Samples   int    // sample items whose lists are shown side by side; default 8
	EvalHint  string // shown when no run carries an evaluation: how to add one
}

type comparePage struct {
	In      *CompareInput
	Params  []diffRow
	Metrics []metricRow
	Eval    []evalCmpRow
	Plots   []Plot
	Samples []sideBySide
}

// diffRow is one parameter across the runs.
type diffRow struct {
	Key    string
	Values []string
	Differ bool
}

// metricRow is one figure across the runs, with each run's change
// against the first.
type metricRow struct {
	Name   string
	Values []string
	Deltas []string // len(Values)-1: run k against run 0
}

type evalCmpRow struct {
	Model  string
	Metric string
	Values []string
	Deltas []string
}

// sideBySide is one sample item's lists in every run.
type sideBySide struct {
	Item string
	Rows [][]cell // rank -> run -> entry
}

type cell struct {
	Item   string
	Score  string
	Differ bool // not in the first run's list (first run: not in every other run's list)
}

// WriteCompare renders a page that puts the runs side by side.
func WriteCompare(w io.Writer, in *CompareInput) error {
	if len(in.Runs) < 2 {
		return fmt.Errorf("report: compare needs two or more runs, got %d", len(in.Runs))
	}
	for _, r := range in.Runs {
		if r.Neighbors == nil || len(r.Items) != r.Neighbors.NumItems() {
			return fmt.Errorf("report: %s: neighbour lists do not match the %d items", r.Name, len(r.Items))
		}
	}
	p := &comparePage{In: in, Params: paramDiff(in.Runs), Metrics: metricTable(in.Runs), Eval: evalTable(in.Runs)}
	plots, err := compareFigures(in.Runs)
	if err != nil {
		return err
	}
	p.Plots = plots
	p.Samples = sideBySides(in)
	return compareTmpl.Execute(w, p)
}

func paramDiff(runs []Run) []diffRow {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Parameters {
			keys[k] = true
		}
	}
	var differ, same []diffRow
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		row := diffRow{Key: k}
		for _, r := range runs {
			v, ok := r.Parameters[k]
			s := "(not set)"
			if ok {
				s = fmt.Sprint(v)
			}
			row.Values = append(row.Values, s)
			row.Differ = row.Differ || s != row.Values[0]
		}
		if row.Differ {
			differ = append(differ, row)
		} else {
			same = append(same, row)
		}
	}
	return append(differ, same...)
}

// runStats are the figures of one run's lists.
type runStats struct {
	items, withList, entries   float64
	meanLen, medianLen         float64
	scoreMin, scoreMed         float64
	scoreMean, scoreMax        float64
	coverage, topDecile, ovlap float64
}

func statsOf(r Run, first Run) runStats {
	nb := r.Neighbors
	s := runStats{items: float64(nb.NumItems()), entries: float64(len(nb.Item))}
	var lens []float64
	for i := range nb.NumItems() {
		if n := nb.Ptr[i+1] - nb.Ptr[i]; n > 0 {
			s.withList++
			lens = append(lens, float64(n))
		}
	}
	if s.withList > 0 {
		s.meanLen, s.medianLen = s.entries/s.withList, median(lens)
	}
	scores := slices.Clone(nb.Score)
	if len(scores) > 0 {
		s.scoreMin, s.scoreMax = slices.Min(scores), slices.Max(scores)
		s.scoreMed = median(scores)
		for _, v := range scores {
			s.scoreMean += v
		}
		s.scoreMean /= float64(len(scores))
	}
	appear := appearances(nb)
	covered := 0
	for _, a := range appear {
		if a > 0 {
			covered++
		}
	}
	if s.items > 0 {
		s.coverage = float64(covered) / s.items
	}
	s.topDecile = topDecileShare(r, appear)
	s.ovlap = overlap(r, first)
	return s
}

// topDecileShare is the share of list entries pointing at the 10% most
// popular items, by the run's popular list; NaN when it has none.
func topDecileShare(r Run, appear []int) float64 {
	if len(r.Popular) == 0 || len(r.Neighbors.Item) == 0 {
		return math.NaN()
	}
	dense := make(map[string]int, len(r.Items))
	for i, id := range r.Items {
		dense[id] = i
	}
	n := 0
	for _, id := range r.Popular[:max(1, min(len(r.Popular), len(r.Items)/10))] {
		if i, ok := dense[id]; ok {
			n += appear[i]
		}
	}
	return float64(n) / float64(len(r.Neighbors.Item))
}

// overlap is the mean Jaccard similarity of r's lists with first's, over
// the items both have a list for.
func overlap(r, first Run) float64 {
	lists := listsByID(first)
	sum, n := 0.0, 0
	for i, id := range r.Items {
		items, _, _ := r.Neighbors.List(i)
		other, ok := lists[id]
		if len(items) == 0 || !ok {
			continue
		}
		inter := 0
		for _, it := range items {
			if other[r.Items[it]] {
				inter++
			}
		}
		sum += float64(inter) / float64(len(items)+len(other)-inter)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func listsByID(r Run) map[string]map[string]bool {
	out := make(map[string]map[string]bool)
	for i, id := range r.Items {
		items, _, _ := r.Neighbors.List(i)
		if len(items) == 0 {
			continue
		}
		set := make(map[string]bool, len(items))
		for _, it := range items {
			set[r.Items[it]] = true
		}
		out[id] = set
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func metricTable(runs []Run) []metricRow {
	st := make([]runStats, len(runs))
	for k, r := range runs {
		st[k] = statsOf(r, runs[0])
	}
	figures := []struct {
		name string
		get  func(runStats) float64
		pct  bool
	}{
		{"items (with a list or as a neighbour)", func(s runStats) float64 { return s.items }, false},
		{"items with a list", func(s runStats) float64 { return s.withList }, false},
		{"neighbours published", func(s runStats) float64 { return s.entries }, false},
		{"mean list length", func(s runStats) float64 { return s.meanLen }, false},
		{"median list length", func(s runStats) float64 { return s.medianLen }, false},
		{"score min", func(s runStats) float64 { return s.scoreMin }, false},
		{"score median", func(s runStats) float64 { return s.scoreMed }, false},
		{"score mean", func(s runStats) float64 { return s.scoreMean }, false},
		{"score max", func(s runStats) float64 { return s.scoreMax }, false},
		{"catalog coverage (items appearing in some list)", func(s runStats) float64 { return s.coverage }, true},
		{"share of neighbours that are top-10% popular items", func(s runStats) float64 { return s.topDecile }, true},
		{"list overlap with " + runs[0].Name + " (mean Jaccard)", func(s runStats) float64 { return s.ovlap }, false},
	}
	var rows []metricRow
	for _, f := range figures {
		vals := make([]float64, len(runs))
		for k := range runs {
			vals[k] = f.get(st[k])
		}
		rows = append(rows, numRow(f.name, vals, f.pct))
	}
	return append(rows, countRows(runs)...)
}

// countRows are the numeric counts recorded with the runs.
func countRows(runs []Run) []metricRow {
	keys := map[string]bool{}
	for _, r := range runs {
		for k, v := range r.Counts {
			if _, ok := number(v); ok {
				keys[k] = true
			}
		}
	}
	var rows []metricRow
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		vals := make([]float64, len(runs))
		for i, r := range runs {
			v, ok := number(r.Counts[k])
			if !ok {
				v = math.NaN()
			}
			vals[i] = v
		}
		rows = append(rows, numRow(k, vals, false))
	}
	return rows
}

// number reads a count: manifest counts are json.Number (or numbers).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case interface{ Float64() (float64, error) }:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func numRow(name string, vals []float64, pct bool) metricRow {
	row := metricRow{Name: name}
	for k, v := range vals {
		row.Values = append(row.Values, fmtNum(v, pct))
		if k > 0 {
			row.Deltas = append(row.Deltas, fmtDelta(v, vals[0], pct))
		}
	}
	return row
}

func evalTable(runs []Run) []evalCmpRow {
	var names []string
	for _, r := range runs {
		for _, e := range r.Eval {
			if !slices.Contains(names, e.Name) {
				names = append(names, e.Name)
			}
		}
	}
	metrics := []struct {
		name string
		get  func(EvalRow) float64
		pct  bool
	}{
		{"precision@k", func(e EvalRow) float64 { return e.Precision }, false},
		{"recall@k", func(e EvalRow) float64 { return e.Recall }, false},
		{"ndcg@k", func(e EvalRow) float64 { return e.NDCG }, false},
		{"map@k", func(e EvalRow) float64 { return e.MAPAtK }, false},
		{"coverage", func(e EvalRow) float64 { return e.Coverage }, true},
		{"mean popularity", func(e EvalRow) float64 { return e.MeanPopularity }, false},
	}
	var rows []evalCmpRow
	for _, name := range names {
		for _, m := range metrics {
			vals := make([]float64, len(runs))
			for k, r := range runs {
				vals[k] = math.NaN()
				if i := slices.IndexFunc(r.Eval, func(e EvalRow) bool { return e.Name == name }); i >= 0 {
					vals[k] = m.get(r.Eval[i])
				}
			}
			nr := numRow(m.name, vals, m.pct)
			rows = append(rows, evalCmpRow{Model: name, Metric: m.name, Values: nr.Values, Deltas: nr.Deltas})
		}
	}
	return rows
}

func compareFigures(runs []Run) ([]Plot, error) {
	ms := make([]Lists, len(runs))
	for k, r := range runs {
		ms[k] = Lists{Name: r.Name, Neighbors: r.Neighbors, color: k}
	}
	var plots []Plot
	for _, f := range []struct {
		id, title, xlabel, ylabel, caption string
		ss                                 []series
		bins                               int
		integer                            bool
	}{
		{"cmp-scores", "Score distribution", "score", "neighbours", "Every run's scores on shared bins.", scoreSeries(ms), 40, false},
		{"cmp-lengths", "List lengths", "neighbours in the list", "items", "Non-empty lists by length.", lengthSeries(ms), 25, true},
		{"cmp-popularity", "How often items are recommended", "lists an item appears in", "items",
			"Popularity bias: a long tail to the right means a few items fill many lists. (Model directories do not record item popularity itself.)", appearSeries(ms), 40, true},
	} {
		p := plot.New()
		p.Title.Text = f.title
		p.X.Label.Text, p.Y.Label.Text = f.xlabel, f.ylabel
		note, err := distribution(p, f.ss, f.bins, f.integer)
		if err != nil {
			return nil, err
		}
		out, err := render(p, f.id, f.title, f.caption+" "+note)
		if err != nil {
			return nil, err
		}
		plots = append(plots, *out)
	}
	return plots, nil
}

// sideBySides picks sample items, the most popular of the first run that
// have a list in every run (or, without a popular list, the first such
// items), and lays their lists out rank by rank.
func sideBySides(in *CompareInput) []sideBySide {
	n := in.Samples
	if n == 0 {
		n = 8
	}
	runs := in.Runs
	lists := make([]map[string]int, len(runs)) // item id -> dense id, for items with a list
	for k, r := range runs {
		lists[k] = make(map[string]int)
		for i, id := range r.Items {
			if r.Neighbors.Ptr[i+1] > r.Neighbors.Ptr[i] {
				lists[k][id] = i
			}
		}
	}
	candidates := slices.Clone(runs[0].Popular)
	for i, id := range runs[0].Items {
		if _, ok := lists[0][id]; ok && runs[0].Neighbors.Ptr[i+1] > runs[0].Neighbors.Ptr[i] {
			candidates = append(candidates, id)
		}
	}
	var out []sideBySide
	seen := map[string]bool{}
	for _, id := range candidates {
		if len(out) == n {
			break
		}
		if seen[id] || !inAll(lists, id) {
			continue
		}
		seen[id] = true
		out = append(out, sideBySideOf(runs, lists, id))
	}
	return out
}

func inAll(lists []map[string]int, id string) bool {
	for _, l := range lists {
		if _, ok := l[id]; !ok {
			return false
		}
	}
	return true
}

const sampleDepth = 10

func sideBySideOf(runs []Run, lists []map[string]int, id string) sideBySide {
	ids := make([][]string, len(runs))
	scores := make([][]float64, len(runs))
	depth := 0
	for k, r := range runs {
		items, sc, _ := r.Neighbors.List(lists[k][id])
		for j := range min(len(items), sampleDepth) {
			ids[k] = append(ids[k], r.Items[items[j]])
			scores[k] = append(scores[k], sc[j])
		}
		depth = max(depth, len(ids[k]))
	}
	s := sideBySide{Item: id}
	for j := range depth {
		row := make([]cell, len(runs))
		for k := range runs {
			if j >= len(ids[k]) {
				continue
			}
			c := cell{Item: ids[k][j], Score: fmtF(scores[k][j], 4)}
			if k == 0 {
				for o := 1; o < len(runs); o++ {
					c.Differ = c.Differ || !slices.Contains(ids[o], c.Item)
				}
			} else {
				c.Differ = !slices.Contains(ids[0], c.Item)
			}
			row[k] = c
		}
		s.Rows = append(s.Rows, row)
	}
	return s
}

func fmtNum(v float64, pct bool) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case pct:
		return fmtPct(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmtF(v, 0)
	}
	return fmtF(v, 4)
}

// fmtDelta is v against base: the difference, and the relative change
// when it means something.
func fmtDelta(v, base float64, pct bool) string {
	if math.IsNaN(v) || math.IsNaN(base) {
		return "–"
	}
	d := v - base
	if d == 0 {
		return "="
	}
	sign := "+"
	if d < 0 {
		sign = "−"
	}
	var s string
	if pct {
		s = sign + fmtF(math.Abs(100*d), 1) + " pt"
	} else if d == math.Trunc(d) {
		s = sign + fmtF(math.Abs(d), 0)
	} else {
		s = sign + fmtF(math.Abs(d), 4)
	}
	if !pct && base != 0 {
		s += " (" + sign + fmtF(math.Abs(100*d/base), 1) + "%)"
	}
	return s
}
