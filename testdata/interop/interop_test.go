package interop

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
)

// TestInterop writes every Go case into a temporary directory and checks
// what recopub loads from it, and the lists it computes, against the
// expectation computed from the canonical rows.
func TestInterop(t *testing.T) {
	dir := t.TempDir()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			path, err := c.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkWriter(t, path, c.Shape, c.Variant)
			checkFile(t, path, c.Shape, c.Variant.IDs)
		})
	}
}

// TestCasesAreDistinct guards the suite itself: unique names, and a file
// for every codec and id kind from both Go writers.
func TestCasesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		seen[c.Name] = true
	}
	for _, w := range []Writer{ArrowGo, ParquetGo} {
		for _, codec := range Codecs {
			if name := fmt.Sprintf("%s_tracks_codec_%s.parquet", w, codec); !seen[name] {
				t.Errorf("no case %s", name)
			}
		}
	}
}

var (
	expectOnce   sync.Once
	expectations map[string]expectation
)

func expected(s Shape, k IDKind) expectation {
	expectOnce.Do(func() {
		expectations = map[string]expectation{"orders": expectOrders()}
		for _, k := range []IDKind{StringIDs, Int32IDs, Int64IDs} {
			expectations["tracks/"+k.String()] = expectTracks(k)
		}
	})
	if s == TracksShape {
		return expectations["tracks/"+k.String()]
	}
	return expectations["orders"]
}

// loadOptions are the flags a user gives for the shape (README, "Input
// shapes"): --item-col products.product_id --quantity-col
// products.quantity for orders, whether products is a list or JSON text.
func loadOptions(path string, s Shape) features.Options {
	opt := features.Options{Events: []string{path}, Now: Now, Workers: 2}
	if s == TracksShape {
		opt.ItemCol, opt.QuantityCol, opt.WeightCol = "product_id", "quantity", "weight"
	} else {
		opt.ItemCol, opt.QuantityCol = "products.product_id", "products.quantity"
	}
	return opt
}

// checkFile loads path and compares the Dataset, its counts and the count
// and cosine neighbour lists with the expectation.
func checkFile(t *testing.T, path string, s Shape, k IDKind) {
	t.Helper()
	want := expected(s, k)
	ds, err := features.Load(context.Background(), loadOptions(path, s))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ok := checkStats(t, ds.Stats, want)
	ok = checkNames(t, "items", ds.Items, want.items) && ok
	ok = checkNames(t, "event names", ds.Events, want.events) && ok
	ok = checkNames(t, "users", slices.Sorted(slices.Values(ds.Users)), want.users) && ok
	ok = checkInteractions(t, ds, want) && ok
	if !ok {
		return // the lists cannot agree either
	}
	checkLists(t, ds, want, model.Count)
	checkLists(t, ds, want, model.Cosine)
}

func checkStats(t *testing.T, got features.Stats, want expectation) bool {
	t.Helper()
	ok := true
	if got.Read != want.read || got.Kept != want.kept {
		t.Errorf("events read/kept = %d/%d, want %d/%d", got.Read, got.Kept, want.read, want.kept)
		ok = false
	}
	dropped := maps.Clone(got.Dropped)
	maps.DeleteFunc(dropped, func(_ string, n int64) bool { return n == 0 })
	if !maps.Equal(dropped, want.dropped) {
		t.Errorf("dropped = %v, want %v", dropped, want.dropped)
		ok = false
	}
	return ok
}

func checkNames(t *testing.T, what string, got, want []string) bool {
	t.Helper()
	if slices.Equal(got, want) {
		return true
	}
	missing, extra := diff(want, got), diff(got, want)
	t.Errorf("%s: got %d, want %d; missing %s; unexpected %s", what, len(got), len(want), head(missing), head(extra))
	return false
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

func head(s []string) string {
	if len(s) > 5 {
		return fmt.Sprintf("%q and %d more", s[:5], len(s)-5)
	}
	return fmt.Sprintf("%q", s)
}

// checkInteractions compares the (user, item, event, time, weight)
// multisets.
func checkInteractions(t *testing.T, ds *features.Dataset, want expectation) bool {
	t.Helper()
	got := map[string]int{}
	for i := range ds.Len() {
		w := float32(1)
		if ds.Weight != nil {
			w = ds.Weight[i]
		}
		got[interaction(ds.Users[ds.User[i]], ds.Items[ds.Item[i]], ds.Events[ds.Event[i]], int64(ds.Time[i]), w)]++
	}
	if maps.Equal(got, want.interactions) {
		return true
	}
	var missing, extra []string
	for k, n := range want.interactions {
		if got[k] < n {
			missing = append(missing, k)
		}
	}
	for k, n := range got {
		if want.interactions[k] < n {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	t.Errorf("interactions differ: %d missing, e.g. %s; %d unexpected, e.g. %s", len(missing), head(missing), len(extra), head(extra))
	return false
}

// listTopN is the length of the neighbour lists compared.
const listTopN = 8

// checkLists computes the metric's lists with the model package, as
// recopub run does, and compares them, by item id, with the brute-force
// lists. Cosine scores are compared within 1e-9 so that ties broken by
// the last bit of a float do not matter: the list at each position must
// have the score the brute-force list has there, and each listed item
// must really score that.
func checkLists(t *testing.T, ds *features.Dataset, want expectation, metric model.Metric) {
	t.Helper()
	m := model.NewMatrix(len(ds.Users), len(ds.Items), ds.User, ds.Item, nil)
	nb, err := model.Similar(context.Background(), m, model.Options{Metric: metric, TopN: listTopN, Workers: 1})
	if err != nil {
		t.Fatalf("Similar %s: %v", metric, err)
	}
	brute := bruteNeighbors(want, metric == model.Cosine)
	bad := 0
	for i, name := range ds.Items {
		items, scores, counts := nb.List(i)
		all := brute[name]
		wantList := all[:min(listTopN, len(all))]
		if err := compareList(ds.Items, items, scores, counts, wantList, all, metric == model.Count); err != nil {
			if bad++; bad <= 3 {
				t.Errorf("%s list of %q: %v", metric, name, err)
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d lists differ", metric, bad, len(ds.Items))
	}
}

// compareList checks one list against the brute-force one. With exact
// (count), items and order must match; otherwise scores are compared
// within 1e-9, so that ties broken by the last bit of a float do not
// matter.
func compareList(names []string, items []uint32, scores []float64, counts []uint32, want, all []neighbor, exact bool) error {
	if len(items) != len(want) {
		return fmt.Errorf("%d neighbours, want %d", len(items), len(want))
	}
	byItem := map[string]neighbor{}
	for _, n := range all {
		byItem[n.item] = n
	}
	seen := map[string]bool{}
	for k := range items {
		name := names[items[k]]
		n, ok := byItem[name]
		switch {
		case !ok:
			return fmt.Errorf("position %d: %q does not co-occur", k, name)
		case seen[name]:
			return fmt.Errorf("position %d: %q twice", k, name)
		case int(counts[k]) != n.count:
			return fmt.Errorf("position %d: %q count %d, want %d", k, name, counts[k], n.count)
		case exact && (name != want[k].item || scores[k] != want[k].score):
			return fmt.Errorf("position %d: %q (%g), want %q (%g)", k, name, scores[k], want[k].item, want[k].score)
		case !near(scores[k], n.score) || !near(scores[k], want[k].score):
			return fmt.Errorf("position %d: %q score %g, want %g (%q at that position)", k, name, scores[k], want[k].score, want[k].item)
		}
		seen[name] = true
	}
	return nil
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
