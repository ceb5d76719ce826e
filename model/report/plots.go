package report

import (
	"bytes"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

const (
	plotW = 7 * vg.Inch
	plotH = 3.5 * vg.Inch
)

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

// series is one model's values in a distribution plot.
type series struct {
	name  string
	color int // plotutil.Color index
	vals  []float64
}

// scoreSeries is each model's finite scores.
func scoreSeries(ms []Lists) []series {
	out := make([]series, len(ms))
	for j, m := range ms {
		out[j].name, out[j].color = m.Name, m.color
		for _, s := range m.Neighbors.Score {
			if !math.IsNaN(s) && !math.IsInf(s, 0) {
				out[j].vals = append(out[j].vals, s)
			}
		}
	}
	return out
}

// lengthSeries is each model's non-empty list lengths.
func lengthSeries(ms []Lists) []series {
	out := make([]series, len(ms))
	for j, m := range ms {
		out[j].name, out[j].color = m.Name, m.color
		nb := m.Neighbors
		for i := range nb.NumItems() {
			if n := nb.Ptr[i+1] - nb.Ptr[i]; n > 0 {
				out[j].vals = append(out[j].vals, float64(n))
			}
		}
	}
	return out
}

// appearSeries is, per model, how many lists each item appears in.
func appearSeries(ms []Lists) []series {
	out := make([]series, len(ms))
	for j, m := range ms {
		out[j].name, out[j].color = m.Name, m.color
		for _, a := range appearances(m.Neighbors) {
			out[j].vals = append(out[j].vals, float64(a))
		}
	}
	return out
}

// distribution draws histograms of ss over shared bins on p: filled for
// one series, outlined steps for several so that they overlay. An axis
// whose values span more than two decades is logarithmic (its bins too);
// integer values over a short range get one bin per value. It returns a
// sentence for the caption on what the axes do.
func distribution(p *plot.Plot, ss []series, bins int, integer bool) (string, error) {
	var all []float64
	for _, s := range ss {
		all = append(all, s.vals...)
	}
	if len(all) == 0 {
		p.X.Tick.Marker, p.Y.Tick.Marker = readableTicks{}, readableTicks{}
		return "No values.", nil
	}
	h := newBins(all, bins, integer)
	counts := make([][]float64, len(ss))
	for j, s := range ss {
		counts[j] = h.count(s.vals)
	}
	logY := wantLog(flatten(counts))
	floor := 0.0
	if logY {
		floor = 0.8 // empty bins sit just below 1 on a log axis
	}
	for j, s := range ss {
		pts := make(plotter.XYs, 0, 2*len(counts[j])+2)
		pts = append(pts, plotter.XY{X: h.edges[0], Y: floor})
		for i, c := range counts[j] {
			pts = append(pts, plotter.XY{X: h.edges[i], Y: math.Max(c, floor)})
		}
		last := len(h.edges) - 1
		pts = append(pts, plotter.XY{X: h.edges[last], Y: math.Max(counts[j][last-1], floor)}, plotter.XY{X: h.edges[last], Y: floor})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return "", fmt.Errorf("report: histogram: %w", err)
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle.Color = plotutil.Color(s.color)
		l.LineStyle.Width = vg.Points(1.5)
		if len(ss) == 1 {
			l.FillColor = plotutil.Color(2)
			l.LineStyle.Width = vg.Points(0.5)
		}
		p.Add(l)
		if len(ss) > 1 {
			p.Legend.Add(s.name, l)
		}
	}
	p.Legend.Top = true
	p.X.Tick.Marker, p.Y.Tick.Marker = readableTicks{}, readableTicks{}
	if h.log {
		setLog(&p.X)
		p.X.Min, p.X.Max = h.edges[0], h.edges[len(h.edges)-1]
	}
	p.Y.Min = floor
	if logY {
		setLog(&p.Y)
	}
	return axesNote(h, logY, len(all)), nil
}

func axesNote(h *bins, logY bool, n int) string {
	var note string
	if h.log {
		note = fmt.Sprintf("Log x axis and bins: the values span %.1f decades.", h.decades)
		if h.dropped > 0 {
			note += fmt.Sprintf(" %d of %d values are zero or negative and not shown.", h.dropped, n)
		}
	}
	if logY {
		note += " Log y axis: the bins' counts span more than two decades."
	}
	return note
}

func flatten(xs [][]float64) []float64 {
	var out []float64
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

// bins are histogram bin edges shared by every series of a plot.
type bins struct {
	edges   []float64
	log     bool
	decades float64
	dropped int // values outside a log axis (<= 0)
}

func newBins(all []float64, n int, integer bool) *bins {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range all {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	b := &bins{}
	if wantLog(all) {
		b.log, b.decades = true, decades(all)
		lo = math.Inf(1)
		for _, v := range all {
			if v > 0 {
				lo = math.Min(lo, v)
			} else {
				b.dropped++
			}
		}
		step := math.Log10(hi/lo) / float64(n)
		for i := range n + 1 {
			b.edges = append(b.edges, lo*math.Pow(10, float64(i)*step))
		}
		return b
	}
	if integer && hi-lo < 60 {
		for v := lo - 0.5; v <= hi+0.5; v++ {
			b.edges = append(b.edges, v)
		}
		return b
	}
	if hi <= lo {
		hi = lo + 1
	}
	w := (hi - lo) / float64(n)
	for i := range n + 1 {
		b.edges = append(b.edges, lo+float64(i)*w)
	}
	return b
}

// count bins vals. Rounding can put the maximum just past the last edge
// (plotter.NewHist panicked on that); it is clamped into the last bin.
func (b *bins) count(vals []float64) []float64 {
	n := len(b.edges) - 1
	out := make([]float64, n)
	lo, hi := b.edges[0], b.edges[n]
	for _, v := range vals {
		var f float64
		if b.log {
			if v <= 0 {
				continue
			}
			f = math.Log10(v/lo) / math.Log10(hi/lo)
		} else {
			f = (v - lo) / (hi - lo)
		}
		out[min(max(int(f*float64(n)), 0), n-1)]++
	}
	return out
}

// glyphs give each model of a scatter its own shape as well as colour.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.SquareGlyph{}, draw.PlusGlyph{}}

// padRange sets an axis to the data's range with a margin, so that no
// blank band is left where the ticks would have rounded the range.
func padRange(ax *plot.Axis, lo, hi float64, log bool) {
	if log {
		ax.Min, ax.Max = lo/1.3, hi*1.3
		return
	}
	d := (hi - lo) * 0.04
	if d == 0 {
		d = 1
	}
	ax.Min, ax.Max = lo-d, hi+d
}
