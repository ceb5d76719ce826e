package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// figure is a plot before it is rendered, for tests to inspect.
type figure struct {
	p                  *plot.Plot
	id, title, caption string
}

// figures are the model plots of a report: every model of ms overlaid.
func figures(in *Input, ms []Lists) ([]figure, error) {
	var out []figure
	for _, d := range []func(*Input, []Lists) (*figure, error){scoresFigure, lengthsFigure, biasFigure} {
		f, err := d(in, ms)
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}

func drawAll(in *Input, ms []Lists) ([]Plot, error) {
	figs, err := figures(in, ms)
	if err != nil {
		return nil, err
	}
	var plots []Plot
	for _, f := range figs {
		p, err := render(f.p, f.id, f.title, f.caption)
		if err != nil {
			return nil, err
		}
		plots = append(plots, *p)
	}
	return plots, nil
}

func scoresFigure(_ *Input, ms []Lists) (*figure, error) {
	p := plot.New()
	p.Title.Text = "Similarity scores of published neighbours"
	p.X.Label.Text = "score"
	p.Y.Label.Text = "neighbours"
	ss := scoreSeries(ms)
	note, err := distribution(p, ss, 40, false)
	if err != nil {
		return nil, err
	}
	caption := fmt.Sprintf("%d scores over %d lists.", len(ss[0].vals), ms[0].Neighbors.NumItems())
	if len(ms) > 1 {
		caption = "Each model's scores on shared bins."
	}
	return &figure{p, "plot-scores", "Score distribution", caption + " " + note}, nil
}

func lengthsFigure(_ *Input, ms []Lists) (*figure, error) {
	p := plot.New()
	p.Title.Text = "Neighbour list lengths"
	p.X.Label.Text = "neighbours in the list"
	p.Y.Label.Text = "items"
	note, err := distribution(p, lengthSeries(ms), 25, true)
	if err != nil {
		return nil, err
	}
	return &figure{p, "plot-lengths", "List lengths", "Items with short lists get fewer recommendations; zero-length lists are not published. " + note}, nil
}

// biasFigure plots item popularity against how many lists an item
// appears in: a steep cloud means popular items crowd the lists.
func biasFigure(in *Input, ms []Lists) (*figure, error) {
	if len(in.Popularity) != len(in.Items) {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Popularity bias"
	p.X.Label.Text = "item popularity (users)"
	// Short: gonum centres an axis label at the arithmetic middle of the
	// range, near the top of a log axis, and a long label pushes the plot
	// down.
	p.Y.Label.Text = "lists + 1"
	var xs, ys []float64
	for j, m := range ms {
		pts := make(plotter.XYs, 0, len(in.Popularity))
		for i, a := range appearances(m.Neighbors) {
			if in.Popularity[i] > 0 {
				pts = append(pts, plotter.XY{X: in.Popularity[i], Y: float64(a) + 1})
				xs, ys = append(xs, in.Popularity[i]), append(ys, float64(a)+1)
			}
		}
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("report: bias: %w", err)
		}
		s.GlyphStyle.Radius = vg.Points(1.4)
		s.GlyphStyle.Color = plotutil.Color(m.color)
		s.GlyphStyle.Shape = glyphs[j%len(glyphs)]
		p.Add(s)
		if len(ms) > 1 {
			p.Legend.Add(m.Name, s)
		}
	}
	p.Legend.Top, p.Legend.Left = true, true
	note := axisRange(&p.X, xs, "x") + axisRange(&p.Y, ys, "y")
	return &figure{p, "plot-bias", "Popularity bias", "Each dot is an item: its users (x) against the lists it appears in, plus one (y). Items to the right are popular; items high up are recommended often." + note}, nil
}

// axisRange fits ax to vals, logarithmic when they span more than two
// decades, and says so for the caption.
func axisRange(ax *plot.Axis, vals []float64, name string) string {
	ax.Tick.Marker = readableTicks{}
	if len(vals) == 0 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	log := wantLog(vals) && lo > 0
	if log {
		setLog(ax)
	}
	padRange(ax, lo, hi, log)
	if log {
		return fmt.Sprintf(" Log %s axis.", name)
	}
	return ""
}

func drawEval(in *Input) (*Plot, error) {
	f, err := evalFigure(in)
	if f == nil || err != nil {
		return nil, err
	}
	return render(f.p, f.id, f.title, f.caption)
}

// evalFigure draws the ranking metrics of every evaluated model, grouped
// by metric.
func evalFigure(in *Input) (*figure, error) {
	if len(in.Eval) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Offline evaluation"
	p.Y.Label.Text = "value"
	metrics := []struct {
		name string
		get  func(EvalRow) float64
	}{
		{"precision@k", func(r EvalRow) float64 { return r.Precision }},
		{"recall@k", func(r EvalRow) float64 { return r.Recall }},
		{"ndcg@k", func(r EvalRow) float64 { return r.NDCG }},
		{"map@k", func(r EvalRow) float64 { return r.MAPAtK }},
	}
	n := len(in.Eval)
	w := vg.Points(min(20, 240/float64(n*len(metrics))))
	top := 0.0
	for j, row := range in.Eval {
		vals := make(plotter.Values, len(metrics))
		for i, m := range metrics {
			vals[i] = m.get(row)
			top = math.Max(top, vals[i])
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, fmt.Errorf("report: eval: %w", err)
		}
		b.Color = plotutil.Color(j)
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(j)-float64(n-1)/2)
		p.Add(b)
		name := row.Name
		if row.Best {
			name += " (best)"
		}
		p.Legend.Add(name, b)
	}
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = m.name
	}
	p.NominalX(names...)
	p.Y.Tick.Marker = readableTicks{}
	// Headroom above the tallest bar for the legend: nothing is cut off.
	p.Y.Min, p.Y.Max = 0, math.Max(top, 1e-9)*(1.25+0.07*float64(n))
	p.Legend.Top = true
	return &figure{p, "plot-eval", "Evaluation", "Higher is better; the table above has every metric."}, nil
}
