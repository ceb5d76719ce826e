package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/model/report"
	"github.com/recopub/recopub/model/report/reporttest"
)

// MustInput builds a small model: 40 items, users with overlapping
// baskets.
func MustInput(tb testing.TB) *report.Input {
	tb.Helper()
	var users, items []uint32
	for u := range 300 {
		for k := range 2 + u%5 {
			users = append(users, uint32(u))
			items = append(items, uint32((u*7+k*k*3)%40))
		}
	}
	m := model.NewMatrix(300, 40, users, items, nil)
	nb, err := model.Similar(context.Background(), m, model.Options{Metric: model.Cosine, TopN: 10})
	if err != nil {
		tb.Fatal(err)
	}
	in := &report.Input{
		Title:      "recopub model report",
		Generated:  time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC),
		Parameters: map[string]any{"metric": "cosine", "top_n": 10},
		Counts:     map[string]any{"events_read": len(users)},
		Neighbors:  nb,
		Names:      map[string]string{},
		Eval: []report.EvalRow{
			{Name: "popular", Precision: 0.05, Recall: 0.1, NDCG: 0.08, MAP: 0.03, MAPAtK: 0.03, Coverage: 0.1},
			{Name: "cosine", Precision: 0.12, Recall: 0.2, NDCG: 0.18, MAP: 0.09, MAPAtK: 0.08, Coverage: 0.7, MeanPopularity: 0.1196, Best: true},
		},
	}
	for i := range 40 {
		id := fmt.Sprintf("P%03d", i)
		in.Items = append(in.Items, id)
		in.Names[id] = fmt.Sprintf("Item <%d> & co", i)
		in.Popularity = append(in.Popularity, float64(m.ItemPtr[i+1]-m.ItemPtr[i]))
	}
	return in
}

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, MustInput(t)); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		`id="plot-scores"`, `id="plot-lengths"`, `id="plot-bias"`, `id="plot-eval"`,
		`src="data:image/png;base64,`, `<table id="eval">`, `class="best"`,
		"Item &lt;", // names from the catalog, escaped
		"<th>metric</th><td>cosine</td>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Errorf("report refers to external resources")
	}
}

// TestWriteEvalSection: mean popularity keeps its digits (it is a small
// share: 0.1196, not 0.1), and the evaluation figure follows its table,
// its caption pointing up at it.
func TestWriteEvalSection(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, MustInput(t)); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if !strings.Contains(html, `<td class="n">0.1196</td>`) {
		t.Errorf("mean popularity 0.1196 not shown with four digits")
	}
	table, fig, plots := strings.Index(html, `<table id="eval">`), strings.Index(html, `id="plot-eval"`), strings.Index(html, "<h2>Plots")
	if table < 0 || !(table < fig && fig < plots) {
		t.Errorf("eval table at %d, its figure at %d, plots at %d: want the figure right after the table", table, fig, plots)
	}
	if strings.Contains(html, "table below") {
		t.Errorf("a caption points at a table below")
	}
}

// TestWriteOthers: more models' lists are overlaid and named.
func TestWriteOthers(t *testing.T) {
	in := MustInput(t)
	other := MustInput(t).Neighbors
	in.Name, in.Others = "cosine", []report.Lists{{Name: "llr", Neighbors: other}}
	var buf bytes.Buffer
	if err := report.Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Lists of cosine, llr, overlaid") {
		t.Errorf("report does not say which models are overlaid")
	}
	in.Others[0].Neighbors = &model.Neighbors{Ptr: []int64{0}}
	if err := report.Write(&bytes.Buffer{}, in); err == nil {
		t.Errorf("Write accepted other lists over different items")
	}
}

// TestHistogramRounding is the case that made plotter.NewHist panic: a
// value a rounding error below the maximum.
func TestHistogramRounding(t *testing.T) {
	in := MustInput(t)
	nb := in.Neighbors
	for i := range nb.Score {
		nb.Score[i] = 0.12126781251816648 + float64(i%7)*0.1139
	}
	nb.Score[0], nb.Score[1] = 0.8045472782871613, 0.8045472782871614
	if err := report.Write(&bytes.Buffer{}, in); err != nil {
		t.Fatal(err)
	}
}

func TestWriteMismatch(t *testing.T) {
	in := MustInput(t)
	in.Items = in.Items[:3]
	if err := report.Write(&bytes.Buffer{}, in); err == nil {
		t.Fatal("Write succeeded with lists that do not match the items")
	}
}

// TestRenderInChromium opens the report in headless Chromium, as a person
// would, and checks that every plot is an image the browser decoded and
// that none is blank.
func TestRenderInChromium(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, MustInput(t)); err != nil {
		t.Fatal(err)
	}
	imgs := reporttest.Render(t, buf.Bytes())
	want := map[string]bool{"plot-scores": false, "plot-lengths": false, "plot-bias": false, "plot-eval": false}
	for _, im := range imgs {
		want[im.Fig] = true
	}
	for fig, seen := range want {
		if !seen {
			t.Errorf("plot %s not rendered", fig)
		}
	}
	// A screenshot, kept with -keep, for a person to look at.
	if *keep != "" {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "report.html"), buf.Bytes(), 0o644)
		shot := append(reporttest.Flags(t), "--window-size=1200,4000", "--screenshot="+*keep, "file://"+filepath.Join(dir, "report.html"))
		if out, err := exec.Command(reporttest.Chromium(t), shot...).CombinedOutput(); err != nil {
			t.Fatalf("screenshot: %v\n%s", err, out)
		}
	}
}
