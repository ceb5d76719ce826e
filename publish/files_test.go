package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/recopub/recopub/publish/keyid"
)

// memLists is an in-memory CountedLists.
type memLists struct {
	lists  []List
	counts [][]int64
}

func (m *memLists) Len() int { return len(m.lists) }
func (m *memLists) List(i int, l *List) {
	l.ID = m.lists[i].ID
	l.Members = append(l.Members, m.lists[i].Members...)
	l.Scores = append(l.Scores, m.lists[i].Scores...)
}
func (m *memLists) Counts(i int, dst []int64) []int64 { return append(dst, m.counts[i]...) }

// memHashes is an in-memory HashSource.
type memHashes []Hash

func (m memHashes) Len() int { return len(m) }
func (m memHashes) Hash(i int, h *Hash) {
	h.ID = m[i].ID
	h.Fields = append(h.Fields, m[i].Fields...)
	h.Values = append(h.Values, m[i].Values...)
}

var _ CountedLists = (*memLists)(nil)

// randomModel returns a model with a sim family (some lists empty), a
// single-list pop family and users (some without fields).
func randomModel(rng *rand.Rand, items, users int) *Model {
	sim := &memLists{}
	for i := range items {
		var l List
		l.ID = fmt.Sprintf("P%d", i)
		var counts []int64
		for k, n := 0, rng.IntN(8); k < n; k++ {
			l.Members = append(l.Members, fmt.Sprintf("P%d", i+k+1))
			l.Scores = append(l.Scores, math.Round(rng.Float64()*1e6)/1e6/float64(k+1))
			counts = append(counts, int64(rng.IntN(100)))
		}
		sim.lists, sim.counts = append(sim.lists, l), append(sim.counts, counts)
	}
	pop := &memLists{lists: []List{{ID: "", Members: []string{"P1", "P2"}, Scores: []float64{9, 3.5}}}, counts: [][]int64{{0, 7}}}
	var hs memHashes
	for u := range users {
		h := Hash{ID: fmt.Sprintf("U%d", u)}
		for f, n := 0, rng.IntN(5); f < n; f++ {
			h.Fields = append(h.Fields, fmt.Sprintf("field.%d", f))
			h.Values = append(h.Values, strings.Repeat("v", rng.IntN(3))+fmt.Sprint(u*f))
		}
		hs = append(hs, h)
	}
	return &Model{
		Families:   []Family{{Name: FamilySimilar, Lists: sim}, {Name: FamilyPopular, Lists: pop}},
		Users:      hs,
		Parameters: map[string]any{"metric": "cosine", "top_n": 50, "min_score": 0.01, "seed": int64(1) << 60},
		Inputs:     []Input{{Path: "/data/events/part-0.parquet", Rows: 1234}},
		Counts:     map[string]any{"events_read": 1234, "events_dropped": map[string]int64{"no_id": 3}},
	}
}

// nonEmptyLists returns the family's lists that have members, with counts.
func nonEmptyLists(src ListSource) ([]List, [][]int64) {
	var out []List
	var counts [][]int64
	for i := range src.Len() {
		var l List
		src.List(i, &l)
		if len(l.Members) == 0 {
			continue
		}
		out = append(out, l)
		if c, ok := src.(CountedLists); ok {
			counts = append(counts, c.Counts(i, nil))
		}
	}
	return out, counts
}

func nonEmptyHashes(src HashSource) []Hash {
	var out []Hash
	for i := range src.Len() {
		var h Hash
		src.Hash(i, &h)
		if len(h.Fields) > 0 {
			out = append(out, h)
		}
	}
	return out
}

// MustRoundTrip writes m to a temp dir and reads it back.
func MustRoundTrip(tb testing.TB, m *Model, rowGroupRows int64) *ModelDir {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := (&ModelWriter{Dir: dir, RowGroupRows: rowGroupRows}).Write(context.Background(), m, map[string]float64{"model": 1.5}); err != nil {
		tb.Fatal(err)
	}
	d, err := ReadModelDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// sameModel compares what two models would write to Redis and record in
// the manifest.
func sameModel(tb testing.TB, got, want *Model) {
	tb.Helper()
	var wantFams []Family
	for _, f := range want.Families {
		if l, _ := nonEmptyLists(f.Lists); len(l) > 0 {
			wantFams = append(wantFams, f)
		}
	}
	if len(got.Families) != len(wantFams) {
		tb.Fatalf("%d families, want %d", len(got.Families), len(wantFams))
	}
	for i, f := range wantFams {
		gl, gc := nonEmptyLists(got.Families[i].Lists)
		wl, wc := nonEmptyLists(f.Lists)
		if got.Families[i].Name != f.Name || !slices.EqualFunc(gl, wl, equalLists) || !slices.EqualFunc(gc, wc, slices.Equal) {
			tb.Fatalf("family %s: got %v %v, want %s %v %v", got.Families[i].Name, gl, gc, f.Name, wl, wc)
		}
	}
	gh, wh := nonEmptyHashes(got.Users), nonEmptyHashes(want.Users)
	if !slices.EqualFunc(gh, wh, func(a, b Hash) bool {
		return a.ID == b.ID && slices.Equal(a.Fields, b.Fields) && slices.Equal(a.Values, b.Values)
	}) {
		tb.Fatalf("hashes %v, want %v", gh, wh)
	}
	for name, pair := range map[string][2]any{
		"parameters": {got.Parameters, want.Parameters},
		"inputs":     {got.Inputs, want.Inputs},
		"counts":     {got.Counts, want.Counts},
	} {
		g, _ := json.Marshal(pair[0])
		w, _ := json.Marshal(pair[1])
		if string(g) != string(w) {
			tb.Errorf("%s %s, want %s", name, g, w)
		}
	}
}

func equalLists(a, b List) bool {
	return a.ID == b.ID && slices.Equal(a.Members, b.Members) && slices.Equal(a.Scores, b.Scores)
}

func TestModelDirRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name         string
		items, users int
		rowGroupRows int64
	}{
		{"empty", 0, 0, 0},
		{"small", 20, 30, 0},
		{"many row groups", 500, 400, 97},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := randomModel(rand.New(rand.NewPCG(1, uint64(c.items))), c.items, c.users)
			d := MustRoundTrip(t, m, c.rowGroupRows)
			sameModel(t, d.Model, m)
			if err := d.Err(); err != nil {
				t.Fatal(err)
			}
			wl, _ := nonEmptyLists(m.Families[0].Lists)
			if got, want := d.Counts.Lists[FamilySimilar], int64(len(wl)); got != want {
				t.Errorf("Counts.Lists[sim] = %d, want %d", got, want)
			}
			if got, want := d.Counts.Hashes, int64(len(nonEmptyHashes(m.Users))); got != want {
				t.Errorf("Counts.Hashes = %d, want %d", got, want)
			}
			if got, want := d.Manifest.Counts.Hashes, d.Counts.Hashes; got != want {
				t.Errorf("manifest counts %d hashes, files hold %d", got, want)
			}
			if c.users > 0 && !slices.Contains(d.Fields, "field.0") || slices.Contains(d.Fields, "field.5") {
				t.Errorf("Fields %v", d.Fields)
			}
			if d.Manifest.Timings["model"] != 1.5 || d.Manifest.Timings["write_files"] <= 0 {
				t.Errorf("timings %v", d.Manifest.Timings)
			}
		})
	}
}

// TestModelDirConcurrentReads reads lists from many goroutines in an
// order like the Writer's (runs of consecutive lists) and at random.
func TestModelDirConcurrentReads(t *testing.T) {
	m := randomModel(rand.New(rand.NewPCG(2, 2)), 3000, 10)
	d := MustRoundTrip(t, m, 1000)
	want, _ := nonEmptyLists(m.Families[0].Lists)
	src := d.Model.Families[0].Lists
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			var l List
			for range 100 {
				lo := rng.IntN(src.Len())
				for i := lo; i < min(lo+rng.IntN(20), src.Len()); i++ {
					l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
					src.List(i, &l)
					if !equalLists(l, want[i]) {
						t.Errorf("list %d = %v, want %v", i, l, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
}

// writeRows writes rows as name in dir with a manifest.
func writeRows[T any](t *testing.T, dir, name string, rows []T) {
	t.Helper()
	if err := parquet.WriteFile(filepath.Join(dir, name), rows); err != nil {
		t.Fatal(err)
	}
}

func TestReadModelDirRejects(t *testing.T) {
	good := func(t *testing.T) string {
		dir := t.TempDir()
		if _, err := (&ModelWriter{Dir: dir}).Write(context.Background(), randomModel(rand.New(rand.NewPCG(3, 3)), 5, 5), nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	nb := func(fam, item, nbr string, rank int32) NeighborRow {
		return NeighborRow{Family: fam, Item: item, Neighbor: nbr, Score: 1, Rank: rank}
	}
	for _, c := range []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		want    string
	}{
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ManifestFile)) }, "not finished"},
		{"future format", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"format": 2}`), 0o644)
		}, "format 2"},
		{"not parquet", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, NeighborsFile), []byte("PAR1 nope"), 0o644)
		}, "not a readable Parquet file"},
		{"missing column", func(t *testing.T, dir string) {
			writeRows(t, dir, FeaturesFile, []struct {
				User  string `parquet:"user"`
				Field string `parquet:"field"`
			}{{"U1", "a"}})
		}, `no column "value"`},
		{"wrong type", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []struct {
				Family   string `parquet:"family"`
				Item     string `parquet:"item"`
				Neighbor string `parquet:"neighbor"`
				Score    string `parquet:"score"`
				Rank     int32  `parquet:"rank"`
			}{{"sim", "a", "b", "high", 1}})
		}, "wrong type"},
		{"list not consecutive", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a", "b", 1), nb("sim", "b", "a", 1), nb("sim", "a", "c", 1)})
		}, "a second list"},
		{"rank gap", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a", "b", 1), nb("sim", "a", "c", 3)})
		}, "rank 3 follows"},
		{"list without rank 1", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a", "b", 2)})
		}, "rank 2 follows"},
		{"neighbour twice", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a", "b", 1), nb("sim", "a", "b", 2)})
		}, "appears twice"},
		{"family not consecutive", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a", "b", 1), nb("pop", "", "b", 1), nb("sim", "b", "a", 1)})
		}, `family "sim" again`},
		{"user not consecutive", func(t *testing.T, dir string) {
			writeRows(t, dir, FeaturesFile, []FeatureRow{{"U1", "a", "1"}, {"U2", "a", "1"}, {"U1", "b", "2"}})
		}, `user "U1" again`},
		{"lz4_raw", func(t *testing.T, dir string) {
			// parquet-go misreads some LZ4_RAW pages silently; refused.
			if err := parquet.WriteFile(filepath.Join(dir, NeighborsFile), []NeighborRow{nb("sim", "a", "b", 1)},
				parquet.Compression(&parquet.Lz4Raw)); err != nil {
				t.Fatal(err)
			}
		}, "LZ4_RAW"},
		{"neighbour id breaks keyid", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a", "b", 1), nb("sim", "a", "c*", 2)})
		}, `neighbour in the list of family "sim" item "a": invalid id "c*"`},
		{"empty neighbour", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("pop", "", "", 1)})
		}, "invalid id: empty"},
		{"list id breaks keyid", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "a\x01", "b", 1)})
		}, `item of family "sim": invalid id`},
		{"empty list id", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("sim", "", "b", 1)})
		}, `item of family "sim": invalid id: empty`},
		{"user id breaks keyid", func(t *testing.T, dir string) {
			writeRows(t, dir, FeaturesFile, []FeatureRow{{"U1", "a", "1"}, {"U\u202e2", "a", "1"}})
		}, "row 1: user: invalid id"},
		{"family user", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("user", "U1", "b", 1)})
		}, `family "user" is the feature hashes'`},
		{"empty family", func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{nb("", "a", "b", 1)})
		}, "family: invalid id: empty"},
		{"field twice", func(t *testing.T, dir string) {
			writeRows(t, dir, FeaturesFile, []FeatureRow{{"U1", "a", "1"}, {"U1", "a", "2"}})
		}, `field "a" appears twice`},
		{"field twice among many", func(t *testing.T, dir string) {
			// past fewFields the fields of a user are kept in a map
			var rows []FeatureRow
			for i := range 2 * fewFields {
				rows = append(rows, FeatureRow{"U1", fmt.Sprintf("f%d", i), "1"})
			}
			writeRows(t, dir, FeaturesFile, append(rows, FeatureRow{"U1", "f3", "2"}))
		}, `field "f3" appears twice`},
		{"field twice at the threshold", func(t *testing.T, dir string) {
			var rows []FeatureRow
			for i := range fewFields {
				rows = append(rows, FeatureRow{"U1", fmt.Sprintf("f%d", i), "1"})
			}
			writeRows(t, dir, FeaturesFile, append(rows, FeatureRow{"U1", "f0", "2"}))
		}, `field "f0" appears twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := good(t)
			c.breakIt(t, dir)
			d, err := ReadModelDir(dir)
			if err == nil {
				d.Close()
				t.Fatalf("no error, want one with %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want one with %q", err, c.want)
			}
		})
	}
}

// TestReadModelDirForeignWriter reads files written by another tool with
// its own column order, no co_count and int64 ranks: a data scientist may
// rewrite the files, with DuckDB say, before publishing them.
func TestReadModelDirForeignWriter(t *testing.T) {
	dir := t.TempDir()
	if _, err := (&ModelWriter{Dir: dir}).Write(context.Background(), &Model{}, nil); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Score    float64 `parquet:"score"`
		Rank     int64   `parquet:"rank"`
		Neighbor string  `parquet:"neighbor"`
		Item     string  `parquet:"item"`
		Family   string  `parquet:"family"`
	}
	writeRows(t, dir, NeighborsFile, []row{{0.5, 1, "b", "a", "sim"}, {0.25, 2, "c", "a", "sim"}})
	d, err := ReadModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, counts := nonEmptyLists(d.Model.Families[0].Lists)
	want := []List{{ID: "a", Members: []string{"b", "c"}, Scores: []float64{0.5, 0.25}}}
	if !slices.EqualFunc(got, want, equalLists) || len(counts[0]) != 0 {
		t.Fatalf("lists %v counts %v, want %v and no counts", got, counts, want)
	}
}

func TestModelWriterCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := (&ModelWriter{Dir: dir}).Write(ctx, randomModel(rand.New(rand.NewPCG(4, 4)), 10, 10), nil)
	if err == nil {
		t.Fatal("no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left %d files behind", len(entries))
	}
}

// FuzzModelDirRoundTrip writes lists and hashes made from the input and
// reads them back.
func FuzzModelDirRoundTrip(f *testing.F) {
	f.Add([]byte("a\x00b\x01c"), 0.5)
	f.Add([]byte{}, math.Inf(-1))
	f.Add([]byte("\xff\xfe\x00\x00"), -0.0)
	f.Fuzz(func(t *testing.T, data []byte, score float64) {
		if math.IsNaN(score) {
			score = 0
		}
		parts := strings.Split(string(data), "\x00")
		sim := &memLists{}
		var hs memHashes
		for i, p := range parts {
			// A list of the distinct runes of p, a hash of its bytes.
			l := List{ID: fmt.Sprint(i, p)}
			var counts []int64
			for _, r := range p {
				m := string(r)
				if slices.Contains(l.Members, m) {
					continue
				}
				l.Members, l.Scores = append(l.Members, m), append(l.Scores, score/float64(len(l.Members)+1))
				counts = append(counts, int64(r))
			}
			sim.lists, sim.counts = append(sim.lists, l), append(sim.counts, counts)
			h := Hash{ID: l.ID}
			for k := range min(len(p), 4) {
				h.Fields, h.Values = append(h.Fields, fmt.Sprint("f", k)), append(h.Values, p[k:])
			}
			hs = append(hs, h)
		}
		m := &Model{Families: []Family{{Name: "sim", Lists: sim}}, Users: hs}
		if !validIDs(sim.lists) {
			// ReadModelDir refuses what the client could not read.
			dir := t.TempDir()
			if _, err := (&ModelWriter{Dir: dir, RowGroupRows: 3}).Write(context.Background(), m, nil); err != nil {
				t.Fatal(err)
			}
			d, err := ReadModelDir(dir)
			if err == nil {
				d.Close()
				t.Fatal("ReadModelDir accepted ids that break keyid")
			}
			if !errors.Is(err, keyid.ErrInvalid) {
				t.Fatalf("ReadModelDir: %v, want keyid.ErrInvalid", err)
			}
			return
		}
		d := MustRoundTrip(t, m, 3)
		sameModel(t, d.Model, m)
	})
}

// validIDs reports whether every list id and member of ls follows keyid;
// the fuzzed hashes take the lists' ids.
func validIDs(ls []List) bool {
	for _, l := range ls {
		if !keyid.Valid(l.ID) {
			return false
		}
		for _, m := range l.Members {
			if !keyid.Valid(m) {
				return false
			}
		}
	}
	return true
}

// BenchmarkModelDirLists reads every list the way the Writer's workers
// do: four goroutines taking runs of 256 consecutive lists.
func BenchmarkModelDirLists(b *testing.B) {
	const items, topN = 20000, 50
	sim := &memLists{}
	for i := range items {
		l := List{ID: fmt.Sprintf("P%07d", i)}
		for k := range topN {
			l.Members = append(l.Members, fmt.Sprintf("P%07d", (i*7+k*13)%items))
			l.Scores = append(l.Scores, 1/float64(k+1))
		}
		slices.Sort(l.Members)
		l.Members = slices.Compact(l.Members)
		l.Scores = l.Scores[:len(l.Members)]
		sim.lists, sim.counts = append(sim.lists, l), append(sim.counts, make([]int64, len(l.Members)))
	}
	m := &Model{Families: []Family{{Name: "sim", Lists: sim}}}
	dir := b.TempDir()
	mw := &ModelWriter{Dir: dir}
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mw.Write(context.Background(), m, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(items*topN*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	d, err := ReadModelDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		name string
		src  ListSource
	}{{"memory", sim}, {"files", d.Model.Families[0].Lists}} {
		b.Run("read/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var next atomic.Int64
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						var l List
						for {
							lo := int(next.Add(256)) - 256
							if lo >= c.src.Len() {
								return
							}
							for i := lo; i < min(lo+256, c.src.Len()); i++ {
								l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
								c.src.List(i, &l)
							}
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(items*b.N)/b.Elapsed().Seconds(), "lists/s")
		})
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			d, err := ReadModelDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			d.Close()
		}
		b.ReportMetric(float64(items*topN*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// TestModelWriterFileModes: every file of a model directory is readable
// by the other tools and users that inspect it, like report.html (0644).
func TestModelWriterFileModes(t *testing.T) {
	for _, format := range []FileFormat{Parquet, CSV} {
		dir := t.TempDir()
		m := randomModel(rand.New(rand.NewPCG(1, 2)), 20, 30)
		mw := &ModelWriter{Dir: dir, Format: format}
		if _, err := mw.Write(context.Background(), m, nil); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), os.FileMode(0o644); got != want {
				t.Errorf("format %d: %s mode %v, want %v", format, e.Name(), got, want)
			}
		}
	}
}

// TestIDSet: the set finds a repeat whether it comes before, at or after
// the point where it grows its table, exact or by hash, and keeps its
// table at most half full.
func TestIDSet(t *testing.T) {
	for _, exact := range []bool{false, true} {
		for _, repeatAt := range []int{5, 511, 512, 513, 3000} {
			var s idSet
			s.exact = exact
			for i := range 4000 {
				id := fmt.Sprintf("U%d", i)
				want := idNew
				if i == repeatAt {
					id, want = "U3", idRepeated
					if !exact {
						want = idUnsure // a hash alone cannot tell
					}
				}
				if got := s.insert(id); got != want {
					t.Fatalf("exact %v, repeat at %d: insert %d (%s) = %v, want %v", exact, repeatAt, i, id, got, want)
				}
			}
			if !exact && (s.n != 3999 || 2*s.n > len(s.table)) {
				t.Fatalf("%d ids in a table of %d", s.n, len(s.table))
			}
		}
	}
}

// TestModelDirHashCollisions: when ids share their hashes (here every
// id of a length does), the check starts again with exact sets, accepts a
// valid directory and still names a real repeat.
func TestModelDirHashCollisions(t *testing.T) {
	defer func(h func(string) uint64) { idHash = h }(idHash)
	idHash = func(s string) uint64 { return uint64(len(s)) | 1 }
	m := randomModel(rand.New(rand.NewPCG(3, 4)), 40, 30)
	d := MustRoundTrip(t, m, 7)
	sameModel(t, d.Model, m)

	for _, c := range []struct {
		write func(t *testing.T, dir string)
		want  string
	}{
		{func(t *testing.T, dir string) {
			writeRows(t, dir, FeaturesFile, []FeatureRow{{"U1", "a", "1"}, {"U2", "a", "1"}, {"U1", "b", "2"}})
		}, `user "U1" again`},
		{func(t *testing.T, dir string) {
			writeRows(t, dir, NeighborsFile, []NeighborRow{{Family: "sim", Item: "A", Neighbor: "B", Score: 1, Rank: 1},
				{Family: "sim", Item: "C", Neighbor: "B", Score: 1, Rank: 1}, {Family: "sim", Item: "A", Neighbor: "C", Score: 1, Rank: 1}})
		}, `a second list for family "sim" item "A"`},
	} {
		dir := t.TempDir()
		if _, err := (&ModelWriter{Dir: dir}).Write(context.Background(), m, nil); err != nil {
			t.Fatal(err)
		}
		c.write(t, dir)
		if _, err := ReadModelDir(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("ReadModelDir: %v, want %s", err, c.want)
		}
	}
}
