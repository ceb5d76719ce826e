package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSweep(t *testing.T) {
	axes, err := parseSweep("metric=cosine,llr; min_support=1,2,5")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(grid(axes)), 6; got != want {
		t.Fatalf("grid has %d points, want %d", got, want)
	}
	if got, want := grid(axes)[1], []string{"cosine", "2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("grid[1]=%q, want %q", got, want)
	}
	for _, bad := range []string{"", "metric", "metric=", "color=red,blue"} {
		if _, err := parseSweep(bad); err == nil {
			t.Errorf("parseSweep(%q) succeeded", bad)
		}
	}
}

func TestEvalSweep(t *testing.T) {
	out := t.TempDir()
	groceries := filepath.Join("..", "..", "testdata", "eval", "groceries.parquet")
	code, stdout, stderr := run(t, "eval", "--events", groceries, "--event-col", "-",
		"--sweep", "metric=cosine,jaccard;min_support=1,3", "--rank-by", "precision", "--sweep-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "ranked by precision") || !strings.Contains(stdout, "1 *") {
		t.Errorf("table:\n%s", stdout)
	}
	var rep sweepReport
	b, err := os.ReadFile(filepath.Join(out, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 4 || !rep.Rows[0].Best {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for i := 1; i < len(rep.Rows); i++ {
		if rep.Rows[i].Precision > rep.Rows[i-1].Precision {
			t.Errorf("row %d ranks above a better one", i)
		}
		if rep.Rows[i].Best {
			t.Errorf("row %d also marked best", i)
		}
	}
	recs := readCSV(t, filepath.Join(out, "sweep.csv"))
	if len(recs) != 5 || recs[0][2] != "metric" || recs[1][1] != "true" {
		t.Errorf("csv %q", recs)
	}
	if code, _, _ := run(t, "eval", "--events", groceries, "--event-col", "-", "--sweep", "colour=red"); code != exitUsage {
		t.Errorf("bad sweep: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := run(t, "eval", "--events", groceries, "--event-col", "-", "--sweep", "metric=rp3beta;beta=-1"); code != exitUsage {
		t.Errorf("negative beta: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := run(t, "eval", "--events", groceries, "--event-col", "-", "--rank-by", "fun"); code != exitUsage {
		t.Errorf("bad rank-by: exit %d, want %d", code, exitUsage)
	}
}

func TestEvalReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	groceries := filepath.Join("..", "..", "testdata", "eval", "groceries.parquet")
	code, _, stderr := run(t, "eval", "--events", groceries, "--event-col", "-", "--metric", "cosine,llr", "--report", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<table id="eval">`, "(best)", `id="plot-eval"`, "popular", "llr"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestEvalSweepUserLists: with --user-lists every grid point gives two
// rows, told apart by the lists column, and alpha and beta are sweepable.
func TestEvalSweepUserLists(t *testing.T) {
	out := t.TempDir()
	groceries := filepath.Join("..", "..", "testdata", "eval", "groceries.parquet")
	code, stdout, stderr := run(t, "eval", "--events", groceries, "--sweep", "metric=rp3beta;alpha=1;beta=0,0.5",
		"--user-lists", "20", "--sweep-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "users@20") {
		t.Errorf("table lacks the per-user rows:\n%s", stdout)
	}
	recs := readCSV(t, filepath.Join(out, "sweep.csv"))
	if got, want := recs[0][2:6], []string{"metric", "alpha", "beta", "lists"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("csv header %q, want %q after rank, best", recs[0], want)
	}
	seen := make(map[string]bool)
	for _, r := range recs[1:] {
		seen[r[4]+"/"+r[5]] = true
	}
	if len(recs) != 5 || len(seen) != 4 {
		t.Errorf("rows %q, want one per beta and list kind", recs[1:])
	}
}

// readCSV returns the records of a CSV file.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
