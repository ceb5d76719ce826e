package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestDryRunOutReportAndCSV(t *testing.T) {
	dir := MustGen(t)
	type item struct {
		ProductID string `parquet:"product_id"`
		Name      string `parquet:"name"`
	}
	var items []item
	for i := range 200 {
		items = append(items, item{ProductID: fmt.Sprintf("P%06d", i), Name: fmt.Sprintf("Thing number %d", i)})
	}
	catalog := filepath.Join(t.TempDir(), "catalog.parquet")
	if err := parquet.WriteFile(catalog, items); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "model")
	code, stdout, stderr := run(t, "run", "--dry-run", "--events", filepath.Join(dir, "events"),
		"--out", out, "--out-format", "csv", "--items", catalog, "--metric", "llr")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "report.html") {
		t.Errorf("stdout does not point at the report:\n%s", stdout)
	}
	for _, f := range []string{"neighbors.csv", "features.csv", "manifest.json", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "report.html"))
	html := string(b)
	for _, want := range []string{"recopub model: llr", `id="plot-scores"`, `id="plot-bias"`, "Thing number"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if code, _, _ := run(t, "run", "--dry-run", "--events", filepath.Join(dir, "events"), "--out", out, "--out-format", "xlsx"); code != exitUsage {
		t.Errorf("--out-format xlsx: exit %d, want %d", code, exitUsage)
	}
}

// TestReportLLRLogAxis: LLR scores span decades, so report.html's score
// histogram says it has a log x axis (with a linear one almost every score
// fell into the first bin); cosine scores keep a linear axis.
func TestReportLLRLogAxis(t *testing.T) {
	events := filepath.Join(MustGen(t), "events")
	for _, tt := range []struct {
		metric string
		log    bool
	}{{"llr", true}, {"cosine", false}} {
		out := filepath.Join(t.TempDir(), tt.metric)
		if code, _, stderr := run(t, "run", "--dry-run", "--events", events, "--metric", tt.metric, "--out", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.metric, code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), "Log x axis and bins: the values span"); got != tt.log {
			t.Errorf("%s: the score histogram's caption says a log x axis: %v, want %v", tt.metric, got, tt.log)
		}
	}
}
