package report

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/recopub/recopub/model"
	"gonum.org/v1/plot"
)

func TestTickLabel(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {25, "25"}, {75000, "75k"}, {2500000, "2.5M"}, {0.25, "0.25"}, {0.3, "0.3"}, {1.5, "1.5"}, {0.0001, "0.0001"}, {1e-5, "1e-05"},
	} {
		if got := tickLabel(c.v); got != c.want {
			t.Errorf("tickLabel(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// TestTicksReadable: the labels of every axis of every figure read like
// numbers a person writes (no "75000.00", no "0.00/25.00/50.00"), and no
// tick lies outside its axis (a tick outside makes gonum pad the plot,
// the blank band above the popularity chart).
func TestTicksReadable(t *testing.T) {
	in := mustLLRInput(t)
	figs, err := figures(in, []Lists{{Name: "llr", Neighbors: in.Neighbors}})
	if err != nil {
		t.Fatal(err)
	}
	ef, err := evalFigure(in)
	if err != nil {
		t.Fatal(err)
	}
	figs = append(figs, *ef)
	for _, f := range figs {
		for name, ax := range map[string]*plot.Axis{"x": &f.p.X, "y": &f.p.Y} {
			if f.id == "plot-eval" && name == "x" {
				continue // nominal
			}
			for _, tk := range ax.Tick.Marker.Ticks(ax.Min, ax.Max) {
				if strings.HasSuffix(tk.Label, ".00") || strings.HasSuffix(tk.Label, ".0") {
					t.Errorf("%s %s axis: tick label %q", f.id, name, tk.Label)
				}
				if tk.Value < ax.Min*(1-1e-9) || tk.Value > ax.Max*(1+1e-9) {
					t.Errorf("%s %s axis: tick %v outside [%v, %v]", f.id, name, tk.Value, ax.Min, ax.Max)
				}
			}
		}
	}
}

// TestLogAxes: LLR scores span decades, so the score histogram has a log
// x axis; cosine scores within one decade keep a linear one.
func TestLogAxes(t *testing.T) {
	in := mustLLRInput(t)
	f, err := scoresFigure(in, []Lists{{Name: "llr", Neighbors: in.Neighbors}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.p.X.Scale.(plot.LogScale); !ok {
		t.Errorf("llr scores spanning %.1f decades: x scale %T, want plot.LogScale", decades(in.Neighbors.Score), f.p.X.Scale)
	}
	if !strings.Contains(f.caption, "Log x axis") {
		t.Errorf("caption %q does not say the axis is logarithmic", f.caption)
	}
	for i := range in.Neighbors.Score {
		in.Neighbors.Score[i] = 0.2 + 0.7*float64(i%10)/10
	}
	f, err = scoresFigure(in, []Lists{{Name: "cosine", Neighbors: in.Neighbors}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.p.X.Scale.(plot.LogScale); ok {
		t.Errorf("scores within one decade drawn on a log axis")
	}
}

// TestEvalBarsFit: the tallest bar and the legend fit under the top.
func TestEvalBarsFit(t *testing.T) {
	in := mustLLRInput(t)
	f, err := evalFigure(in)
	if err != nil {
		t.Fatal(err)
	}
	top := 0.0
	for _, r := range in.Eval {
		top = math.Max(top, math.Max(math.Max(r.Precision, r.Recall), math.Max(r.NDCG, r.MAPAtK)))
	}
	if f.p.Y.Max < 1.25*top {
		t.Errorf("y axis ends at %v, the tallest bar is %v: no room for it and the legend", f.p.Y.Max, top)
	}
}

// mustLLRInput is a model scored with LLR, whose scores span decades.
func mustLLRInput(tb testing.TB) *Input {
	tb.Helper()
	var users, items []uint32
	for u := range 2000 {
		for k := range 2 + u%6 {
			users = append(users, uint32(u))
			items = append(items, uint32((u*7+k*k*k*3)%(60+u%140)))
		}
	}
	m := model.NewMatrix(2000, 200, users, items, nil)
	nb, err := model.Similar(context.Background(), m, model.Options{Metric: model.LLR, TopN: 20})
	if err != nil {
		tb.Fatal(err)
	}
	in := &Input{Neighbors: nb, Eval: []EvalRow{{Name: "popular", Recall: 0.32}, {Name: "cosine", Recall: 0.4558, NDCG: 0.37, Best: true}}}
	for i := range 200 {
		in.Items = append(in.Items, string(rune('a'+i%26))+string(rune('a'+i/26)))
		in.Popularity = append(in.Popularity, float64(m.ItemPtr[i+1]-m.ItemPtr[i]))
	}
	return in
}

// TestAssignColors: a model has the colour of its evaluation bar on the
// distribution plots too.
func TestAssignColors(t *testing.T) {
	ms := []Lists{{Name: "ease"}, {Name: "cosine"}, {Name: "other"}}
	assignColors(ms, []EvalRow{{Name: "popular"}, {Name: "cosine"}, {Name: "ease"}})
	for i, want := range []int{2, 1, 5} {
		if got := ms[i].color; got != want {
			t.Errorf("%s: colour %d, want %d", ms[i].Name, got, want)
		}
	}
}
