package report

import (
	"bytes"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

const (
	plotW = 7 * vg.Inch
	plotH = 3.5 * vg.Inch
)

func drawAll(in *Input, appear []int) ([]Plot, error) {
	var plots []Plot
	for _, d := range []func(*Input, []int) (*Plot, error){drawScores, drawLengths, drawBias, drawEval} {
		p, err := d(in, appear)
		if err != nil {
			return nil, err
		}
		if p != nil {
			plots = append(plots, *p)
		}
	}
	return plots, nil
}

func render(p *plot.Plot, id, title, caption string) (*Plot, error) {
	wt, err := p.WriterTo(plotW, plotH, "png")
	if err != nil {
		return nil, fmt.Errorf("report: draw %s: %w", id, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: draw %s: %w", id, err)
	}
	return &Plot{ID: id, Title: title, Caption: caption, PNG: pngURL(buf.Bytes())}, nil
}

func drawScores(in *Input, _ []int) (*Plot, error) {
	vals := make(plotter.Values, 0, len(in.Neighbors.Score))
	for _, s := range in.Neighbors.Score {
		if !math.IsNaN(s) && !math.IsInf(s, 0) {
			vals = append(vals, s)
		}
	}
	p := plot.New()
	p.Title.Text = "Similarity scores of published neighbours"
	p.X.Label.Text = "score"
	p.Y.Label.Text = "neighbours"
	if len(vals) > 0 {
		p.Add(histogram(vals, 40))
	}
	return render(p, "plot-scores", "Score distribution", fmt.Sprintf("%d scores over %d lists.", len(vals), in.Neighbors.NumItems()))
}

func drawLengths(in *Input, _ []int) (*Plot, error) {
	nb := in.Neighbors
	vals := make(plotter.Values, nb.NumItems())
	for i := range nb.NumItems() {
		vals[i] = float64(nb.Ptr[i+1] - nb.Ptr[i])
	}
	p := plot.New()
	p.Title.Text = "Neighbour list lengths"
	p.X.Label.Text = "neighbours in the list"
	p.Y.Label.Text = "items"
	if len(vals) > 0 {
		p.Add(histogram(vals, 25))
	}
	return render(p, "plot-lengths", "List lengths", "Items with short lists get fewer recommendations; zero-length lists are not published.")
}

// drawBias plots item popularity against how many lists an item appears
// in, on log scales: a steep cloud means popular items crowd the lists.
func drawBias(in *Input, appear []int) (*Plot, error) {
	if len(in.Popularity) != len(in.Items) {
		return nil, nil
	}
	pts := make(plotter.XYs, 0, len(appear))
	for i, a := range appear {
		if in.Popularity[i] > 0 {
			pts = append(pts, plotter.XY{X: in.Popularity[i], Y: float64(a) + 1})
		}
	}
	p := plot.New()
	p.Title.Text = "Popularity bias"
	p.X.Label.Text = "item popularity (users, log)"
	p.Y.Label.Text = "lists the item appears in + 1 (log)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	if len(pts) > 0 {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("report: bias: %w", err)
		}
		s.GlyphStyle.Radius = vg.Points(1.2)
		p.Add(s)
	}
	return render(p, "plot-bias", "Popularity bias", "Each dot is an item. Items to the right are popular; items high up are recommended often.")
}

func drawEval(in *Input, _ []int) (*Plot, error) {
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
	w := vg.Points(60 / float64(len(in.Eval)+1))
	for j, row := range in.Eval {
		vals := make(plotter.Values, len(metrics))
		for i, m := range metrics {
			vals[i] = m.get(row)
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, fmt.Errorf("report: eval: %w", err)
		}
		b.Color = plotutil.Color(j)
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(j-len(in.Eval)/2)
		p.Add(b)
		p.Legend.Add(row.Name, b)
	}
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = m.name
	}
	p.NominalX(names...)
	p.Legend.Top = true
	return render(p, "plot-eval", "Evaluation", "Higher is better; the table below has every metric.")
}

// histogram bins vals into n equal bins. plotter.NewHist can panic when
// rounding puts a value just below the maximum into bin n; this clamps.
func histogram(vals plotter.Values, n int) *plotter.Histogram {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi <= lo {
		hi = lo + 1
	}
	w := (hi - lo) / float64(n)
	bins := make([]plotter.HistogramBin, n)
	for i := range bins {
		bins[i].Min, bins[i].Max = lo+float64(i)*w, lo+float64(i+1)*w
	}
	for _, v := range vals {
		b := min(max(int((v-lo)/w), 0), n-1)
		bins[b].Weight++
	}
	h := &plotter.Histogram{Bins: bins, Width: w, FillColor: plotutil.Color(2)}
	h.LineStyle.Width = vg.Points(0.5)
	return h
}
