package model

import (
	"fmt"
	"math"
	"strings"
)

// Metric selects how two items are scored. See the package documentation
// for the formulas.
type Metric int

// The metrics. Count through LLR are functions of the binary counts c_i,
// c_j, c_ij and N; BM25 and TFIDF are cosines of re-weighted item columns;
// EASE is a dense linear model.
const (
	Count Metric = iota
	Cosine
	Jaccard
	Lift
	Inclusion
	PMI
	LLR
	BM25
	TFIDF
	EASE
)

var metricNames = [...]string{
	Count:     "count",
	Cosine:    "cosine",
	Jaccard:   "jaccard",
	Lift:      "lift",
	Inclusion: "inclusion",
	PMI:       "pmi",
	LLR:       "llr",
	BM25:      "bm25",
	TFIDF:     "tfidf",
	EASE:      "ease",
}

// Metrics returns every metric, in declaration order.
func Metrics() []Metric {
	ms := make([]Metric, len(metricNames))
	for i := range ms {
		ms[i] = Metric(i)
	}
	return ms
}

// String returns the metric's name as ParseMetric accepts it.
func (m Metric) String() string {
	if m < 0 || int(m) >= len(metricNames) {
		return fmt.Sprintf("Metric(%d)", int(m))
	}
	return metricNames[m]
}

// ParseMetric returns the metric named s (case-insensitive).
func ParseMetric(s string) (Metric, error) {
	for i, name := range metricNames {
		if strings.EqualFold(s, name) {
			return Metric(i), nil
		}
	}
	return 0, fmt.Errorf("parse metric: unknown metric %q (want one of %s)", s, strings.Join(metricNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler, so a Metric works with
// flag.TextVar and encoding/json.
func (m Metric) MarshalText() ([]byte, error) {
	if !m.valid() {
		return nil, fmt.Errorf("marshal metric: %v is not a metric", m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Metric) UnmarshalText(b []byte) error {
	v, err := ParseMetric(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

func (m Metric) valid() bool { return m >= 0 && int(m) < len(metricNames) }

// cosineFamily reports whether the metric is a cosine over (possibly
// re-weighted) values, which needs the float accumulator.
func (m Metric) cosineFamily() bool { return m == BM25 || m == TFIDF }

// binaryScore scores a pair from its binary counts: ci and cj users of each
// item, cij users of both, n active users. cij > 0.
func binaryScore(m Metric, ci, cj, cij, n int64) float64 {
	switch m {
	case Count:
		return float64(cij)
	case Cosine:
		return float64(cij) / math.Sqrt(float64(ci)*float64(cj))
	case Jaccard:
		return float64(cij) / float64(ci+cj-cij)
	case Lift:
		return float64(cij) / (float64(ci) * float64(cj))
	case Inclusion:
		return float64(cij) / float64(min(ci, cj))
	case PMI:
		return math.Log2(float64(n) * float64(cij) / (float64(ci) * float64(cj)))
	case LLR:
		return LogLikelihoodRatio(cij, ci-cij, cj-cij, max(n-ci-cj+cij, 0))
	}
	panic("model: binaryScore called with " + m.String())
}

// LogLikelihoodRatio is Dunning's G² statistic for a 2x2 contingency table,
// computed as Mahout's LogLikelihood.logLikelihoodRatio does: k11 counts
// users with both items, k12 and k21 users with only one, k22 users with
// neither, and the result is 2 (rowEntropy + colEntropy - matrixEntropy)
// with Mahout's unnormalised entropies. Rounding can make the statistic
// slightly negative for independent items; it then returns 0, as Mahout
// does.
//
// The one departure from Mahout is the order of the floating-point sums: the
// entropy terms are added smallest count first, so tables that are
// permutations of each other (which have the same G²) get bit-identical
// scores and ties stay ties, broken by item id.
func LogLikelihoodRatio(k11, k12, k21, k22 int64) float64 {
	rowEntropy := entropy2(k11+k12, k21+k22)
	colEntropy := entropy2(k11+k21, k12+k22)
	matEntropy := entropy4(k11, k12, k21, k22)
	if rowEntropy+colEntropy < matEntropy {
		return 0
	}
	return 2 * (rowEntropy + colEntropy - matEntropy)
}

// entropy2 and entropy4 are Mahout's unnormalised Shannon entropies,
// xLogX(sum) minus the sum of xLogX of the counts.
func entropy2(a, b int64) float64 { return xLogX(a+b) - (xLogX(a) + xLogX(b)) }

func entropy4(a, b, c, d int64) float64 {
	// Sort so the sum below does not depend on the order of the counts.
	if a > b {
		a, b = b, a
	}
	if c > d {
		c, d = d, c
	}
	if a > c {
		a, c = c, a
	}
	if b > d {
		b, d = d, b
	}
	if b > c {
		b, c = c, b
	}
	return xLogX(a+b+c+d) - (((xLogX(a) + xLogX(b)) + xLogX(c)) + xLogX(d))
}

func xLogX(x int64) float64 {
	if x == 0 {
		return 0
	}
	return float64(x) * math.Log(float64(x))
}
