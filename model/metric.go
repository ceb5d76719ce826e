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
// EASE is a dense linear model; RP3Beta is a three-step random walk with a
// popularity penalty.
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
	RP3Beta
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
	RP3Beta:   "rp3beta",
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

// scorer scores pairs from their binary counts. One is built per Similar
// call and shared read-only by the workers. Pair (i, j) takes i from the
// rows and j from the columns; for Similar both are the same items, for
// CrossOccurrence they are the items of two different events.
type scorer struct {
	metric         Metric
	n              int64     // active users
	xlx            []float64 // xLogX(k) for k < len(xlx), filled for LLR
	rowEnt, colEnt []float64 // entropy2(c_i, N-c_i) per item, filled for LLR
	rowRs, colRs   []float64 // 1/sqrt(c_i) per item, filled for Cosine
}

// maxLLRTable bounds the xLogX table (32 MiB); past it LLR takes logs.
const maxLLRTable = 1 << 22

// newScorer prepares the per-call tables. rowDeg holds c_i for every row
// item and colDeg c_j for every column item; they are the same slice for
// Similar, and the tables are then built once.
func newScorer(metric Metric, n int64, rowDeg, colDeg []uint32) *scorer {
	s := &scorer{metric: metric, n: n}
	same := len(rowDeg) == len(colDeg) && (len(rowDeg) == 0 || &rowDeg[0] == &colDeg[0])
	perItem := func(deg []uint32, f func(d uint32) float64) []float64 {
		out := make([]float64, len(deg))
		for i, d := range deg {
			out[i] = f(d)
		}
		return out
	}
	if metric == Cosine {
		// A square root and a division per pair cost more than the
		// counting; two multiplications by precomputed factors do not.
		f := func(d uint32) float64 { return 1 / math.Sqrt(float64(d)) }
		s.rowRs = perItem(rowDeg, f)
		s.colRs = s.rowRs
		if !same {
			s.colRs = perItem(colDeg, f)
		}
	}
	if metric == LLR {
		// Every count in an LLR table is at most n, and for one item i the
		// large k22 values fall in a narrow band, so the table stays cached.
		s.xlx = make([]float64, min(n+1, maxLLRTable))
		for k := range s.xlx {
			s.xlx[k] = xLogX(int64(k))
		}
		// An LLR table's row sums are c_i and N-c_i, its column sums c_j
		// and N-c_j, so the row and column entropies are per item.
		f := func(d uint32) float64 { return s.entropy2(int64(d), n-int64(d)) }
		s.rowEnt = perItem(rowDeg, f)
		s.colEnt = s.rowEnt
		if !same {
			s.colEnt = perItem(colDeg, f)
		}
	}
	return s
}

// score scores the pair (i, j): ci and cj users of each item, cij users of
// both. cij > 0.
func (s *scorer) score(i, j uint32, ci, cj, cij int64) float64 {
	switch s.metric {
	case Count:
		return float64(cij)
	case Cosine:
		return float64(cij) * s.rowRs[i] * s.colRs[j]
	case Jaccard:
		return float64(cij) / float64(ci+cj-cij)
	case Lift:
		return float64(cij) / (float64(ci) * float64(cj))
	case Inclusion:
		return float64(cij) / float64(min(ci, cj))
	case PMI:
		return math.Log2(float64(s.n) * float64(cij) / (float64(ci) * float64(cj)))
	case LLR:
		// The same arithmetic as llr, with the entropies of the margins
		// looked up.
		return llrCombine(s.rowEnt[i], s.colEnt[j], s.entropy4(cij, ci-cij, cj-cij, max(s.n-ci-cj+cij, 0)))
	}
	panic("model: scorer.score called for " + s.metric.String())
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
	var s scorer
	return s.llr(k11, k12, k21, k22)
}

func (s *scorer) llr(k11, k12, k21, k22 int64) float64 {
	rowEntropy := s.entropy2(k11+k12, k21+k22)
	colEntropy := s.entropy2(k11+k21, k12+k22)
	return llrCombine(rowEntropy, colEntropy, s.entropy4(k11, k12, k21, k22))
}

func llrCombine(rowEntropy, colEntropy, matEntropy float64) float64 {
	if rowEntropy+colEntropy < matEntropy {
		return 0 // round-off
	}
	return 2 * (rowEntropy + colEntropy - matEntropy)
}

// entropy2 and entropy4 are Mahout's unnormalised Shannon entropies,
// xLogX(sum) minus the sum of xLogX of the counts.
func (s *scorer) entropy2(a, b int64) float64 {
	return s.xLogX(a+b) - (s.xLogX(a) + s.xLogX(b))
}

func (s *scorer) entropy4(a, b, c, d int64) float64 {
	// Sort so the sum below does not depend on the order of the counts.
	// min and max compile to conditional moves: no mispredicted branches.
	a, b = min(a, b), max(a, b)
	c, d = min(c, d), max(c, d)
	a, c = min(a, c), max(a, c)
	b, d = min(b, d), max(b, d)
	b, c = min(b, c), max(b, c)
	return s.xLogX(a+b+c+d) - (((s.xLogX(a) + s.xLogX(b)) + s.xLogX(c)) + s.xLogX(d))
}

func (s *scorer) xLogX(x int64) float64 {
	if x < int64(len(s.xlx)) {
		return s.xlx[x]
	}
	return xLogX(x)
}

func xLogX(x int64) float64 {
	if x == 0 {
		return 0
	}
	return float64(x) * math.Log(float64(x))
}
