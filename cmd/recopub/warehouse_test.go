package main

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
)

// The SQL, its manifest template, and the directory of the DuckDB script
// that runs them (testdata/interop/node/cooccurrence.mjs).
var (
	warehouseNodeDir = filepath.Join("..", "..", "testdata", "interop", "node")
	warehouseSQL     = filepath.Join("..", "..", "docs", "warehouse", "cooccurrence.sql")
	warehouseMan     = filepath.Join("..", "..", "docs", "warehouse", "manifest.json")
)

// mustNodeDuckDB returns the node binary when DuckDB's npm package is
// installed (make interop-node). Without it the test skips, except under
// CI, where it fails.
func mustNodeDuckDB(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(warehouseNodeDir, "node_modules", "@duckdb", "node-api"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("DuckDB via node unavailable under CI (%v): make interop-node installs it", err)
		}
		t.Skipf("DuckDB via node unavailable (%v); run `make interop-node` (needs node and npm) to include the warehouse SQL", err)
	}
	return node
}

// TestWarehouseSQL runs docs/warehouse/cooccurrence.sql in DuckDB over a
// generated export for each metric it offers, and checks that publish
// --from accepts the model directory it produces and that its lists are
// recopub's own (run --dry-run --out on the same export): same lists,
// same members in the same order, ties included, same scores and counts.
func TestWarehouseSQL(t *testing.T) {
	node := mustNodeDuckDB(t)
	data := mustGen(t, "--users", "400", "--items", "150", "--events", "12000", "--seed", "11")
	events := filepath.Join(data, "events")
	s := redistest.Start(t)
	for _, c := range []struct {
		metric     string
		topN       int
		minSupport int
	}{
		{"count", 8, 1},
		{"cosine", 12, 1},
		{"jaccard", 10, 1},
		{"cosine", 6, 3},
	} {
		name := c.metric + "/min-support=" + strconv.Itoa(c.minSupport)
		t.Run(name, func(t *testing.T) {
			topN, minSup := strconv.Itoa(c.topN), strconv.Itoa(c.minSupport)
			want := filepath.Join(t.TempDir(), "recopub")
			mustRunOK(t, "run --dry-run", "run", "--dry-run", "--out", want, "--events", events,
				"--metric", c.metric, "--top-n", topN, "--min-support", minSup, "--max-user-items", "0")

			got := filepath.Join(t.TempDir(), "sql")
			// The script runs in its own directory: absolute paths.
			cmd := exec.Command(node, "cooccurrence.mjs", mustAbs(t, warehouseSQL), mustAbs(t, warehouseMan),
				filepath.Join(events, "**", "*.parquet"), got, c.metric, topN, minSup)
			cmd.Dir = warehouseNodeDir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if out, err := cmd.Output(); err != nil {
				t.Fatalf("node cooccurrence.mjs: %v\n%s%s", err, out, stderr.String())
			}

			gotLists, wantLists := readLists(t, got), readLists(t, want)
			n := sameLists(t, gotLists, wantLists)
			if n < 500 {
				t.Fatalf("only %d neighbours compared", n)
			}

			code, _, stderr2 := run(t, "publish", "--from", got, "--redis", s.URL())
			if code != 0 {
				t.Fatalf("publish --from the SQL's directory: exit %d: %s", code, stderr2)
			}
			checkPublished(t, s, gotLists[publish.FamilySimilar])
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// modelLists is one list of a model directory, with co_count when known.
type modelLists struct {
	publish.List
	counts []int64
}

// readLists reads a model directory as publish --from does (so with its
// checks) and returns its lists by family and list id.
func readLists(t *testing.T, dir string) map[string]map[string]modelLists {
	t.Helper()
	d, err := publish.ReadModelDir(dir)
	if err != nil {
		t.Fatalf("ReadModelDir %s: %v", dir, err)
	}
	defer d.Close()
	out := make(map[string]map[string]modelLists)
	for _, fam := range d.Model.Families {
		lists := make(map[string]modelLists)
		counted, _ := fam.Lists.(publish.CountedLists)
		for i := range fam.Lists.Len() {
			var l modelLists
			fam.Lists.List(i, &l.List)
			if counted != nil {
				l.counts = counted.Counts(i, nil)
			}
			lists[l.ID] = l
		}
		out[fam.Name] = lists
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameLists compares the sim and pop families of got (the SQL's) with
// want (recopub's) and returns the number of neighbours compared. Scores
// must be equal to the bit: the SQL follows recopub's order of operations
// (cosine's textbook c_ij / sqrt(c_i c_j) differs in the last bit for
// some pairs), which is what makes equal scores, and so the order of ties,
// the same.
func sameLists(t *testing.T, got, want map[string]map[string]modelLists) int {
	t.Helper()
	n := 0
	for _, fam := range []string{publish.FamilySimilar, publish.FamilyPopular} {
		g, w := got[fam], want[fam]
		if len(g) != len(w) || len(w) == 0 {
			t.Errorf("family %s: %d lists from the SQL, %d from recopub", fam, len(g), len(w))
		}
		for id, wl := range w {
			gl, ok := g[id]
			switch {
			case !ok:
				t.Errorf("%s %q: no list from the SQL", fam, id)
				continue
			case strings.Join(gl.Members, " ") != strings.Join(wl.Members, " "):
				t.Errorf("%s %q: members from the SQL\n%v, recopub's\n%v (scores %v and %v)", fam, id, gl.Members, wl.Members, gl.Scores, wl.Scores)
				continue
			case len(wl.counts) != len(wl.Members):
				t.Errorf("%s %q: recopub's list has %d co_counts for %d members", fam, id, len(wl.counts), len(wl.Members))
			case !slices.Equal(gl.counts, wl.counts):
				t.Errorf("%s %q: co_count %v from the SQL, recopub's %v", fam, id, gl.counts, wl.counts)
			}
			for k := range wl.Scores {
				if gl.Scores[k] != wl.Scores[k] {
					t.Errorf("%s %q: score of %s %v from the SQL, recopub's %v", fam, id, wl.Members[k], gl.Scores[k], wl.Scores[k])
				}
			}
			n += len(wl.Members)
		}
	}
	return n
}

// checkPublished reads every sim list back through the client: the
// version publish --from flipped to serves the SQL's lists, the same
// members with the same scores, best first. (Equal scores come back in
// Redis' order, descending member bytes, not in the file's.)
func checkPublished(t *testing.T, s *redistest.Server, lists map[string]modelLists) {
	t.Helper()
	cl := publish.NewClient(s.Client(t), publish.ClientOptions{})
	for id, l := range lists {
		got, _, err := cl.Neighbors(context.Background(), id, len(l.Members))
		if err != nil {
			t.Fatalf("Neighbors(%q): %v", id, err)
		}
		want := make([]publish.Scored, len(l.Members))
		for k, m := range l.Members {
			want[k] = publish.Scored{Item: m, Score: l.Scores[k]}
		}
		byItem := func(a, b publish.Scored) int { return strings.Compare(a.Item, b.Item) }
		if !slices.IsSortedFunc(got, func(a, b publish.Scored) int { return cmp.Compare(b.Score, a.Score) }) {
			t.Fatalf("Neighbors(%q) = %v: not best first", id, got)
		}
		slices.SortFunc(got, byItem)
		slices.SortFunc(want, byItem)
		if !slices.Equal(got, want) {
			t.Fatalf("Neighbors(%q) = %v, the SQL's list is %v", id, got, want)
		}
	}
}
