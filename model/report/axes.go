package report

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// decades is how many powers of ten separate the smallest positive value
// of vals from the largest; 0 when there are none.
func decades(vals []float64) float64 {
	lo, hi := math.Inf(1), 0.0
	for _, v := range vals {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi == 0 {
		return 0
	}
	return math.Log10(hi / lo)
}

// wantLog says whether an axis over vals reads better on a log scale:
// when the values span more than two decades, a linear axis puts nearly
// all of them in its first hundredth.
func wantLog(vals []float64) bool { return decades(vals) > 2 }

// readableTicks places ticks like plot.DefaultTicks and labels them
// without padding zeros: 75000 reads "75k", 25.00 reads "25", 0.250
// reads "0.25".
type readableTicks struct{}

var _ plot.Ticker = readableTicks{}

func (readableTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = tickLabel(ticks[i].Value)
		}
	}
	return ticks
}

// logTicks labels a log axis at 1, 10, 100, ... inside the range, with
// unlabelled minor ticks at 2..9 times those; a range of less than a
// decade also labels 2 and 5 times a power of ten.
type logTicks struct{}

var _ plot.Ticker = logTicks{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labelled := 0
	short := hi/lo < 10
	for p := math.Floor(math.Log10(lo)); math.Pow(10, p) <= hi; p++ {
		base := math.Pow(10, p)
		for m := 1; m < 10; m++ {
			v := base * float64(m)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || short && (m == 2 || m == 5) {
				t.Label = tickLabel(v)
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	if labelled < 2 {
		// Less than two labels inside: label the ends.
		ticks = append(ticks, plot.Tick{Value: lo, Label: tickLabel(lo)}, plot.Tick{Value: hi, Label: tickLabel(hi)})
	}
	return ticks
}

// tickLabel formats v in at most three significant digits, with k and M
// for thousands and millions and no trailing zeros.
func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e6:
		return trimZeros(strconv.FormatFloat(v/1e6, 'f', 2, 64)) + "M"
	case a >= 1e4:
		return trimZeros(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a >= 1:
		return trimZeros(strconv.FormatFloat(v, 'f', 2, 64))
	case a >= 1e-3:
		return trimZeros(strconv.FormatFloat(v, 'f', 4, 64))
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// setLog puts ax on a log scale with logTicks.
func setLog(ax *plot.Axis) {
	ax.Scale = plot.LogScale{}
	ax.Tick.Marker = logTicks{}
}
