package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEvalReportEveryModel: eval --report plots every evaluated metric,
// and its summary and samples are those of the row marked best (they
// were the first --metric's, llr's, while the table marked cosine best).
func TestEvalReportEveryModel(t *testing.T) {
	dir := MustGen(t)
	out := filepath.Join(t.TempDir(), "eval.html")
	code, _, stderr := run(t, "eval", "--events", filepath.Join(dir, "events"), "--metric", "llr,cosine", "--report", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	m := regexp.MustCompile(`<tr class="best"><td>(\w+) \(best\)`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no best row in the report")
	}
	best := m[1]
	other := map[string]string{"llr": "cosine", "cosine": "llr"}[best]
	if other == "" {
		t.Fatalf("best row %q is not one of the metrics: the sample should make a metric win", best)
	}
	for _, want := range []string{
		"Lists of " + best + ", " + other + ", overlaid",
		"<th>metric (summary and samples)</th><td>" + best + "</td>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
