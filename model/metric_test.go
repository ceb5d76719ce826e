package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Mahout's published values for LogLikelihood.logLikelihoodRatio
// (LogLikelihoodTest.testLogLikelihood).
func TestLogLikelihoodRatioMahout(t *testing.T) {
	tests := []struct {
		k11, k12, k21, k22 int64
		want               float64
	}{
		{1, 0, 0, 1, 2.772589},
		{10, 0, 0, 10, 27.72589},
		{5, 1995, 0, 100000, 39.33052},
		{1000, 1995, 1000, 100000, 4730.737},
		{1000, 1000, 1000, 100000, 5734.343},
		{1000, 1000, 1000, 99000, 5714.932},
	}
	for _, tt := range tests {
		got := LogLikelihoodRatio(tt.k11, tt.k12, tt.k21, tt.k22)
		if rel := math.Abs(got-tt.want) / tt.want; rel > 1e-6 {
			t.Errorf("LogLikelihoodRatio(%d, %d, %d, %d) = %.7g, want %.7g (rel err %.2g)",
				tt.k11, tt.k12, tt.k21, tt.k22, got, tt.want, rel)
		}
	}
}

func TestLogLikelihoodRatioIndependent(t *testing.T) {
	// Perfectly independent counts: the statistic is 0 up to rounding and
	// must never come out negative.
	for _, k := range [][4]int64{{1, 1, 1, 1}, {10, 90, 20, 180}, {3, 0, 0, 0}, {0, 0, 0, 0}} {
		got := LogLikelihoodRatio(k[0], k[1], k[2], k[3])
		if got < 0 || got > 1e-9 {
			t.Errorf("LogLikelihoodRatio%v = %g, want 0", k, got)
		}
	}
}

func TestParseMetric(t *testing.T) {
	tests := []struct {
		in   string
		want Metric
	}{
		{"count", Count}, {"cosine", Cosine}, {"jaccard", Jaccard}, {"lift", Lift},
		{"inclusion", Inclusion}, {"pmi", PMI}, {"llr", LLR}, {"bm25", BM25},
		{"tfidf", TFIDF}, {"ease", EASE}, {"LLR", LLR}, {"Cosine", Cosine},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMetric(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseMetric(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseMetricError(t *testing.T) {
	_, err := ParseMetric("euclid")
	if err == nil {
		t.Fatal("ParseMetric(euclid) succeeded")
	}
	for _, m := range Metrics() {
		if !strings.Contains(err.Error(), m.String()) {
			t.Errorf("error %q does not list %q", err, m)
		}
	}
}

func TestMetricText(t *testing.T) {
	for _, m := range Metrics() {
		b, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got Metric
		if err := got.UnmarshalText(b); err != nil {
			t.Fatal(err)
		}
		if got != m {
			t.Errorf("UnmarshalText(MarshalText(%v)) = %v", m, got)
		}
	}
	if _, err := Metric(99).MarshalText(); err == nil {
		t.Error("MarshalText(Metric(99)) succeeded")
	}
	if got, want := Metric(99).String(), "Metric(99)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzParseMetric(f *testing.F) {
	for _, m := range Metrics() {
		f.Add(m.String())
	}
	f.Add("Jaccard")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMetric(s)
		if err != nil {
			return
		}
		again, err := ParseMetric(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseMetric(%q) = %v, but ParseMetric(%q) = %v, %v", s, m, m.String(), again, err)
		}
		if !strings.EqualFold(s, m.String()) {
			t.Fatalf("ParseMetric(%q) = %v", s, m)
		}
	})
}

// Permuted tables have the same G² and must score bit for bit the same, or
// ties would be broken by rounding instead of by item id.
func TestLogLikelihoodRatioPermutations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 1000 {
		k := [4]int64{r.Int64N(1e6), r.Int64N(1e6), r.Int64N(1e6), r.Int64N(1e6)}
		want := LogLikelihoodRatio(k[0], k[1], k[2], k[3])
		for _, p := range [][4]int{{2, 3, 0, 1}, {1, 0, 3, 2}, {0, 2, 1, 3}, {3, 2, 1, 0}, {3, 1, 2, 0}} {
			if got := LogLikelihoodRatio(k[p[0]], k[p[1]], k[p[2]], k[p[3]]); got != want {
				t.Fatalf("LogLikelihoodRatio%v = %.17g, permuted by %v = %.17g", k, want, p, got)
			}
		}
	}
}
