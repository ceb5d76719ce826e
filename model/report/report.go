// Package report renders a model as one self-contained HTML page for the
// data scientist: distributions of similarity scores and list lengths,
// popularity bias (how often popular items appear in neighbour lists),
// evaluation metrics when there are any, and sample lists with item names
// when a catalog is given. Plots are drawn with gonum.org/v1/plot and
// embedded as PNG data URIs, so the file can be mailed or archived alone.
// An axis whose values span more than two decades is logarithmic.
//
// WriteCompare puts two or more runs (model directories read back) on one
// page: parameters that differ, figures with deltas against the first
// run, evaluation rows, overlaid distributions and the same items' lists
// side by side.
package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/recopub/recopub/model"
)

// Input is what a report shows.
type Input struct {
	Title      string
	Generated  time.Time
	Parameters map[string]any
	Counts     map[string]any

	Items      []string         // dense item id -> external id
	Popularity []float64        // per item: distinct users (or summed weight)
	Neighbors  *model.Neighbors // the published lists
	Names      map[string]string

	// Name names Neighbors in legends when there are Others; default
	// "model".
	Name string
	// Others are more models' lists over the same Items, overlaid on the
	// distribution plots: eval draws every evaluated metric.
	Others []Lists

	Eval    []EvalRow // optional
	Samples int       // sample lists shown; default 10
}

// Lists is one model's neighbour lists, named for legends.
type Lists struct {
	Name      string
	Neighbors *model.Neighbors

	color int // plotutil.Color index: the same model, the same colour on every plot
}

// EvalRow is one evaluated model or baseline.
type EvalRow struct {
	Name           string
	Precision      float64
	Recall         float64
	NDCG           float64
	MAP            float64
	MAPAtK         float64
	Coverage       float64
	MeanPopularity float64
	Best           bool
}

// Plot is an embedded figure.
type Plot struct {
	ID, Title, Caption string
	PNG                template.URL
}

// Sample is one item's list, with names when known.
type Sample struct {
	Item, Name string
	Users      float64
	Neighbors  []SampleNeighbor
}

// SampleNeighbor is one entry of a sample list.
type SampleNeighbor struct {
	Item, Name string
	Score      float64
}

type page struct {
	In      *Input
	Params  []kv
	Counts  []kv
	Plots   []Plot
	Eval    *Plot // next to the evaluation table
	Samples []Sample
	Stats   listStats
}

type kv struct {
	K string
	V any
}

type listStats struct {
	Items, WithList, Entries int
	MeanLen                  float64
	Coverage                 float64 // share of items appearing in some list
	TopDecileShare           float64 // share of list entries pointing at the top 10% items
}

// Write renders the report to w.
func Write(w io.Writer, in *Input) error {
	if in.Neighbors == nil || len(in.Items) != in.Neighbors.NumItems() {
		return fmt.Errorf("report: neighbour lists do not match the %d items", len(in.Items))
	}
	name := in.Name
	if name == "" {
		name = "model"
	}
	ms := []Lists{{Name: name, Neighbors: in.Neighbors}}
	for _, o := range in.Others {
		if o.Neighbors == nil || o.Neighbors.NumItems() != len(in.Items) {
			return fmt.Errorf("report: lists of %s do not match the %d items", o.Name, len(in.Items))
		}
		ms = append(ms, o)
	}
	assignColors(ms, in.Eval)
	p := &page{In: in, Params: sortedKV(in.Parameters), Counts: sortedKV(in.Counts)}
	p.Stats = stats(in, appearances(in.Neighbors))
	plots, err := drawAll(in, ms)
	if err != nil {
		return err
	}
	p.Plots = plots
	if p.Eval, err = drawEval(in); err != nil {
		return err
	}
	p.Samples = samples(in)
	return tmpl.Execute(w, p)
}

// assignColors gives each model the colour of its evaluation bar, and
// models not evaluated colours after those.
func assignColors(ms []Lists, eval []EvalRow) {
	for k := range ms {
		ms[k].color = len(eval) + k
		if i := slices.IndexFunc(eval, func(e EvalRow) bool { return e.Name == ms[k].Name }); i >= 0 {
			ms[k].color = i
		}
	}
}

func sortedKV(m map[string]any) []kv {
	var out []kv
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, kv{k, m[k]})
	}
	return out
}

// appearances counts, per item, the lists it appears in.
func appearances(nb *model.Neighbors) []int {
	out := make([]int, nb.NumItems())
	for _, it := range nb.Item {
		out[it]++
	}
	return out
}

func stats(in *Input, appear []int) listStats {
	nb := in.Neighbors
	s := listStats{Items: nb.NumItems(), Entries: len(nb.Item)}
	covered := 0
	for i := range nb.NumItems() {
		if nb.Ptr[i+1] > nb.Ptr[i] {
			s.WithList++
		}
		if appear[i] > 0 {
			covered++
		}
	}
	if s.WithList > 0 {
		s.MeanLen = float64(s.Entries) / float64(s.WithList)
	}
	if s.Items > 0 {
		s.Coverage = float64(covered) / float64(s.Items)
	}
	if len(in.Popularity) == s.Items && s.Entries > 0 {
		order := byPopularity(in.Popularity)
		top := order[:max(1, len(order)/10)]
		n := 0
		for _, i := range top {
			n += appear[i]
		}
		s.TopDecileShare = float64(n) / float64(s.Entries)
	}
	return s
}

// byPopularity returns item ids, most popular first (ties by id).
func byPopularity(pop []float64) []int {
	order := make([]int, len(pop))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pop[order[a]] > pop[order[b]] })
	return order
}

func samples(in *Input) []Sample {
	n := in.Samples
	if n == 0 {
		n = 10
	}
	var order []int
	if len(in.Popularity) == len(in.Items) {
		order = byPopularity(in.Popularity)
	} else {
		for i := range in.Items {
			order = append(order, i)
		}
	}
	var out []Sample
	for _, i := range order {
		if len(out) == n {
			break
		}
		items, scores, _ := in.Neighbors.List(i)
		if len(items) == 0 {
			continue
		}
		s := Sample{Item: in.Items[i], Name: in.Names[in.Items[i]]}
		if len(in.Popularity) == len(in.Items) {
			s.Users = in.Popularity[i]
		}
		for k := range min(len(items), 10) {
			id := in.Items[items[k]]
			s.Neighbors = append(s.Neighbors, SampleNeighbor{Item: id, Name: in.Names[id], Score: scores[k]})
		}
		out = append(out, s)
	}
	return out
}

func pngURL(b []byte) template.URL {
	var buf bytes.Buffer
	buf.WriteString("data:image/png;base64,")
	buf.WriteString(base64.StdEncoding.EncodeToString(b))
	return template.URL(buf.String())
}
