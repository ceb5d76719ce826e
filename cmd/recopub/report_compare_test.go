package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recopub/recopub/model/report/reporttest"
)

// MustTwoRuns writes two model directories of the same sample with
// 'run --dry-run --out': llr top 50 and cosine top 20.
func MustTwoRuns(t *testing.T) (sample, llr, cosine string) {
	t.Helper()
	sample = MustGen(t)
	base := t.TempDir()
	llr, cosine = filepath.Join(base, "llr"), filepath.Join(base, "cosine")
	for _, r := range []struct{ dir, metric, topN string }{{llr, "llr", "50"}, {cosine, "cosine", "20"}} {
		if code, _, stderr := run(t, "run", "--dry-run", "--events", filepath.Join(sample, "events"), "--out", r.dir,
			"--metric", r.metric, "--top-n", r.topN, "--log-level", "warn"); code != 0 {
			t.Fatalf("run --metric %s: exit %d: %s", r.metric, code, stderr)
		}
	}
	return sample, llr, cosine
}

func TestReportCompare(t *testing.T) {
	sample, llr, cosine := MustTwoRuns(t)
	out := filepath.Join(t.TempDir(), "compare.html")
	code, stdout, stderr := run(t, "report", "--compare", llr, cosine, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("stdout %q does not name the page", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		`<tr class="differ"><th>metric</th><td>llr</td><td>cosine</td></tr>`,
		`<tr class="differ"><th>top_n</th><td>50</td><td>20</td></tr>`,
		`<tr><th>seed</th><td>42</td><td>42</td></tr>`,
		`<th>median list length</th><td class="n">50</td><td class="n">20</td><td class="n delta">−30 (−60.0%)</td>`,
		`id="no-eval"`, "recopub eval --events PATH --metric METRIC --json &gt; DIR/eval.json",
		`id="cmp-scores"`, `id="cmp-lengths"`, `id="cmp-popularity"`,
		`<td class="differ">`, // a neighbour in one run's list and not the other's
	} {
		if !strings.Contains(html, want) {
			t.Errorf("compare page lacks %q", want)
		}
	}
	if n := strings.Count(html, `<div class="sample">`); n != 8 {
		t.Errorf("%d sample items side by side, want 8", n)
	}

	// With an evaluation saved next to one model, the page shows it and
	// marks the other run's as missing.
	code, evalJSON, stderr := run(t, "eval", "--events", filepath.Join(sample, "events"), "--metric", "cosine", "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(cosine, "eval.json"), []byte(evalJSON), 0o644)
	if code, _, stderr := run(t, "report", "--compare", llr, cosine, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ = os.ReadFile(out)
	html = string(b)
	if !regexp.MustCompile(`<tr><td>cosine</td><th>ndcg@k</th><td class="n">–</td><td class="n">0\.\d{4}</td><td class="n delta">–</td></tr>`).MatchString(html) {
		t.Errorf("compare page lacks cosine's ndcg from eval.json")
	}
	if strings.Contains(html, `id="no-eval"`) {
		t.Errorf("compare page says no run carries an evaluation")
	}
}

func TestReportCompareArgs(t *testing.T) {
	sample, llr, _ := MustTwoRuns(t)
	notModel := t.TempDir()
	csvDir := filepath.Join(t.TempDir(), "csv")
	if code, _, stderr := run(t, "run", "--dry-run", "--events", filepath.Join(sample, "events"), "--out", csvDir, "--out-format", "csv"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"one dir", []string{"report", "--compare", llr}, exitUsage, "two or more model directories"},
		{"no --compare", []string{"report", llr, llr}, exitUsage, "want --compare"},
		{"not a model dir", []string{"report", "--compare", llr, notModel, "--out", filepath.Join(t.TempDir(), "x.html")}, exitRejected, "manifest.json"},
		{"csv dir", []string{"report", "--compare", llr, csvDir, "--out", filepath.Join(t.TempDir(), "x.html")}, exitRejected, "rerun with --out-format parquet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.msg)
			}
		})
	}
}

// TestReportCompareInChromium opens the comparison of two sample runs in
// headless Chromium: every image decodes and no plot is blank.
func TestReportCompareInChromium(t *testing.T) {
	_, llr, cosine := MustTwoRuns(t)
	out := filepath.Join(t.TempDir(), "compare.html")
	if code, _, stderr := run(t, "report", "--compare", llr, cosine, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	imgs := reporttest.Render(t, b)
	var figs []string
	for _, im := range imgs {
		figs = append(figs, im.Fig)
	}
	if got, want := strings.Join(figs, ","), "cmp-scores,cmp-lengths,cmp-popularity"; got != want {
		t.Errorf("images %s, want %s", got, want)
	}
}

// TestReadmeCompareExample runs README's "data scientist's loop" block
// as written (in a directory holding the sample), in-process: the compare
// command is shown as it works.
func TestReadmeCompareExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## The data scientist's loop")
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme[start:])
	if start < 0 || block == nil || !strings.Contains(block[1], "report --compare") {
		t.Fatalf("README's data scientist's loop has no report --compare example")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	sample := MustGen(t)
	for _, line := range strings.Split(strings.TrimSpace(block[1]), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimPrefix(strings.TrimSpace(line), "make build && ")
		if line == "" {
			continue
		}
		line, redirect, _ := strings.Cut(line, " > ")
		args := strings.Fields(line)
		if args[0] != "bin/recopub" {
			t.Fatalf("README line %q does not run bin/recopub", line)
		}
		if args[1] == "gen" {
			os.Symlink(sample, filepath.Join(dir, "sample")) // MustGen's smaller sample
			continue
		}
		code, stdout, stderr := run(t, args[1:]...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", line, code, stderr)
		}
		if redirect != "" {
			os.WriteFile(strings.TrimSpace(redirect), []byte(stdout), 0o644)
		}
	}
	b, err = os.ReadFile(filepath.Join(dir, "out", "compare.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<table id="eval">`) {
		t.Errorf("the README's compare page shows no evaluation from eval.json")
	}
}
