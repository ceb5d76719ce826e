package gen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// smallGen is a run big enough for several files and row groups per day.
var smallGen = Options{
	Users: 2_000, Items: 500, Events: 60_000, Days: 3,
	FileEvents: 7_000, RowGroupEvents: 3_000,
}

// MustGenerate runs Generate into a fresh temporary directory.
func MustGenerate(tb testing.TB, opt Options) (Options, Stats) {
	tb.Helper()
	opt.Out = tb.TempDir()
	st, err := Generate(tb.Context(), opt)
	if err != nil {
		tb.Fatalf("Generate: %v", err)
	}
	return opt, st
}

// eventFiles lists the events part files by partition, in name order.
func eventFiles(tb testing.TB, out string) map[string][]string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(out, "events", "dt=*", "part-*.parquet"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(paths)
	byDay := map[string][]string{}
	for _, p := range paths {
		day := strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "dt=")
		byDay[day] = append(byDay[day], p)
	}
	return byDay
}

// readEvents reads every event row, partition by partition, in file order.
func readEvents(tb testing.TB, out string) map[string][]eventRow {
	tb.Helper()
	rows := map[string][]eventRow{}
	for day, paths := range eventFiles(tb, out) {
		for _, p := range paths {
			r, err := parquet.ReadFile[eventRow](p)
			if err != nil {
				tb.Fatalf("read %s: %v", p, err)
			}
			rows[day] = append(rows[day], r...)
		}
	}
	return rows
}

// wantEventColumns is the events file schema, in column order.
var wantEventColumns = []struct {
	name     string
	kind     parquet.Kind
	optional bool
	logical  string
	dict     bool
}{
	{"message_id", parquet.ByteArray, false, "STRING", false},
	{"user_id", parquet.ByteArray, true, "STRING", true},
	{"anonymous_id", parquet.ByteArray, false, "STRING", true},
	{"event", parquet.ByteArray, false, "STRING", true},
	{"timestamp", parquet.Int64, false, "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)", false},
	{"product_id", parquet.ByteArray, false, "STRING", true},
}

func TestGenerateEventSchema(t *testing.T) {
	opt, st := MustGenerate(t, smallGen)
	byDay := eventFiles(t, opt.Out)
	if got, want := len(byDay), opt.Days; got != want {
		t.Fatalf("partitions=%d, want %d", got, want)
	}
	files := 0
	for _, paths := range byDay {
		if len(paths) < 2 {
			t.Errorf("%d files in a partition, want several (FileEvents=%d)", len(paths), opt.FileEvents)
		}
		for _, p := range paths {
			files++
			checkEventFile(t, p, opt)
		}
	}
	if got, want := files+1, st.Files; got != want {
		t.Errorf("files on disk + profiles=%d, Stats.Files=%d", got, want)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(opt.Out, "*", "*", "*.tmp")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// checkEventFile checks one part file's schema, column chunk metadata and
// sizes.
func checkEventFile(t *testing.T, p string, opt Options) {
	t.Helper()
	want := wantEventColumns
	f := mustOpenParquet(t, p)
	fields := f.Schema().Fields()
	if got := len(fields); got != len(want) {
		t.Fatalf("%s: %d columns, want %d", p, got, len(want))
	}
	for i, w := range want {
		fd := fields[i]
		if got := fd.Name(); got != w.name {
			t.Errorf("column %d name=%q, want %q", i, got, w.name)
		}
		if got := fd.Type().Kind(); got != w.kind {
			t.Errorf("%s kind=%v, want %v", w.name, got, w.kind)
		}
		if got := fd.Optional(); got != w.optional {
			t.Errorf("%s optional=%v, want %v", w.name, got, w.optional)
		}
		if got := fd.Type().LogicalType().String(); got != w.logical {
			t.Errorf("%s logical type=%s, want %s", w.name, got, w.logical)
		}
	}
	for _, rg := range f.Metadata().RowGroups {
		if got := rg.NumRows; got > int64(opt.RowGroupEvents) {
			t.Errorf("%s: row group of %d rows, want <= %d", p, got, opt.RowGroupEvents)
		}
		for i, c := range rg.Columns {
			md := c.MetaData
			if got := []string(md.PathInSchema); !slices.Equal(got, []string{want[i].name}) {
				t.Errorf("%s: column %d path_in_schema=%q, want [%q]", p, i, got, want[i].name)
			}
			if got := slices.Contains(md.Encoding, format.RLEDictionary); got != want[i].dict {
				t.Errorf("%s: dictionary encoded=%v, want %v (encodings %v)", want[i].name, got, want[i].dict, md.Encoding)
			}
			if got, want := md.Codec, format.Snappy; got != want {
				t.Errorf("%s codec=%v, want %v", md.PathInSchema, got, want)
			}
		}
	}
	if got := f.NumRows(); got > int64(opt.FileEvents) {
		t.Errorf("%s: %d rows, want <= %d", p, got, opt.FileEvents)
	}
}

func mustOpenParquet(tb testing.TB, path string) *parquet.File {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fh.Close() })
	fi, err := fh.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	f, err := parquet.OpenFile(fh, fi.Size())
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	return f
}

func TestGenerateEventContent(t *testing.T) {
	opt, st := MustGenerate(t, smallGen)
	byDay := readEvents(t, opt.Out)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	kinds := map[string]int{}
	total, nullUsers := 0, 0
	for day, rows := range byDay {
		start, _ := time.Parse(time.DateOnly, day)
		lo, hi := start.UnixMilli(), start.AddDate(0, 0, 1).UnixMilli()
		for i, r := range rows {
			if i > 0 && r.Timestamp < rows[i-1].Timestamp {
				t.Fatalf("%s row %d: timestamp %d before %d", day, i, r.Timestamp, rows[i-1].Timestamp)
			}
			if r.Timestamp < lo || r.Timestamp >= hi {
				t.Fatalf("%s row %d: timestamp %v outside the day", day, i, time.UnixMilli(r.Timestamp).UTC())
			}
			if !uuid.MatchString(r.MessageID) || seen[r.MessageID] {
				t.Fatalf("message_id %q malformed or repeated", r.MessageID)
			}
			seen[r.MessageID] = true
			if r.AnonymousID == "" || r.ProductID == "" {
				t.Fatalf("row %+v: empty anonymous_id or product_id", r)
			}
			if r.UserID == "" {
				nullUsers++
			}
			kinds[r.Event]++
		}
		total += len(rows)
	}
	if got, want := total, opt.Events; got != want {
		t.Errorf("rows=%d, want %d", got, want)
	}
	if got, want := st.Events, opt.Events; got != want {
		t.Errorf("Stats.Events=%d, want %d", got, want)
	}
	if got, want := kinds[EventPurchased], st.Purchases; got != want {
		t.Errorf("purchases in files=%d, Stats.Purchases=%d", got, want)
	}
	share := func(n int) float64 { return float64(n) / float64(total) }
	checks := []struct {
		what   string
		got    float64
		lo, hi float64
	}{
		{"null user_id share", share(nullUsers), 0.10, 0.20},
		{EventViewed, share(kinds[EventViewed]), 0.70, 0.80},
		{EventAdded, share(kinds[EventAdded]), 0.14, 0.20},
		{EventPurchased, share(kinds[EventPurchased]), 0.06, 0.10},
	}
	for _, c := range checks {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s=%.3f, want in [%.2f, %.2f]", c.what, c.got, c.lo, c.hi)
		}
	}
	if got, want := len(kinds), 3; got != want {
		t.Errorf("event kinds=%v, want %d", kinds, want)
	}
}

// An anonymous_id maps to at most one user_id, and most visitors who are
// anonymous in some rows are identified in others: ingest can stitch them.
func TestGenerateIdentity(t *testing.T) {
	opt, _ := MustGenerate(t, smallGen)
	user := map[string]string{}
	anonRows := map[string]bool{}
	for _, rows := range readEvents(t, opt.Out) {
		for _, r := range rows {
			if r.UserID == "" {
				anonRows[r.AnonymousID] = true
				continue
			}
			if u, ok := user[r.AnonymousID]; ok && u != r.UserID {
				t.Fatalf("anonymous_id %s has users %s and %s", r.AnonymousID, u, r.UserID)
			}
			user[r.AnonymousID] = r.UserID
		}
	}
	stitched := 0
	for a := range anonRows {
		if user[a] != "" {
			stitched++
		}
	}
	if stitched == 0 || stitched == len(anonRows) {
		t.Errorf("%d of %d anonymous visitors also seen logged in, want some but not all", stitched, len(anonRows))
	}
}

func TestGenerateDeterministic(t *testing.T) {
	opt := smallGen
	opt.Events = 20_000
	a, _ := MustGenerate(t, opt)
	// A different worker count must not change a byte.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b, _ := MustGenerate(t, opt)
	opt.Seed = 2
	c, _ := MustGenerate(t, opt)
	filesA := allFiles(t, a.Out)
	if got, want := filesA, allFiles(t, b.Out); !slices.Equal(got, want) {
		t.Fatalf("file lists differ:\n%v\n%v", got, want)
	}
	sameAsOtherSeed := 0
	for _, rel := range filesA {
		x := mustRead(t, filepath.Join(a.Out, rel))
		if !bytes.Equal(x, mustRead(t, filepath.Join(b.Out, rel))) {
			t.Errorf("%s differs between two runs with the same options", rel)
		}
		if y, err := os.ReadFile(filepath.Join(c.Out, rel)); err == nil && bytes.Equal(x, y) {
			sameAsOtherSeed++
		}
	}
	if sameAsOtherSeed > 0 {
		t.Errorf("%d files identical for seeds 1 and 2", sameAsOtherSeed)
	}
}

func allFiles(tb testing.TB, root string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestGenerateItemPopularity(t *testing.T) {
	opt, _ := MustGenerate(t, smallGen)
	count := map[string]int{}
	for _, rows := range readEvents(t, opt.Out) {
		for _, r := range rows {
			count[r.ProductID]++
		}
	}
	ids := make([]string, 0, len(count))
	counts := make([]int, 0, len(count))
	for id, n := range count {
		ids = append(ids, id)
		counts = append(counts, n)
	}
	slices.Sort(counts)
	top, median := counts[len(counts)-1], counts[len(counts)/2]
	if top < 20*median {
		t.Errorf("top item %d events, median %d: want a Zipf-like head (top >= 20x median)", top, median)
	}
	// Popularity must not follow the id order.
	var topID string
	for id, n := range count {
		if n == top {
			topID = id
		}
	}
	if topID == "P000000" {
		t.Errorf("most popular item is P000000: ids look ordered by popularity")
	}
}

// Users' events concentrate in a few hidden clusters (so item-item
// similarity is learnable), and a visitor's consecutive events are close in
// time (sessions).
func TestGenerateStructure(t *testing.T) {
	opt, _ := MustGenerate(t, smallGen)
	w := newGenWorld(opt.withDefaults())
	clusterOf := map[string]int{}
	for ci, c := range w.clusters {
		for _, it := range c.items {
			clusterOf[w.items[it]] = ci
		}
	}
	perUser := map[string]map[int]int{}
	last := map[string]int64{}
	var gaps []int64
	for _, rows := range readEvents(t, opt.Out) {
		for _, r := range rows {
			if perUser[r.AnonymousID] == nil {
				perUser[r.AnonymousID] = map[int]int{}
			}
			perUser[r.AnonymousID][clusterOf[r.ProductID]]++
			if t0, ok := last[r.AnonymousID]; ok {
				gaps = append(gaps, r.Timestamp-t0)
			}
			last[r.AnonymousID] = r.Timestamp
		}
	}
	var inTop, all int
	for _, cs := range perUser {
		n, best := 0, 0
		for _, k := range cs {
			n += k
			best = max(best, k)
		}
		if n >= 20 {
			inTop += best
			all += n
		}
	}
	if all == 0 {
		t.Fatal("no visitor with 20+ events")
	}
	if got := float64(inTop) / float64(all); got < 0.4 {
		t.Errorf("share of active visitors' events in their top cluster=%.2f, want >= 0.4 (%d clusters)", got, len(w.clusters))
	}
	slices.Sort(gaps)
	if got := time.Duration(gaps[len(gaps)/2]) * time.Millisecond; got > 2*time.Minute {
		t.Errorf("median gap between a visitor's events=%v, want sessions (<= 2m)", got)
	}
}

func TestGenerateProfiles(t *testing.T) {
	opt, st := MustGenerate(t, smallGen)
	path := filepath.Join(opt.Out, "profiles", "part-00000.parquet")
	f := mustOpenParquet(t, path)
	want := []struct {
		name     string
		optional bool
	}{{"user_id", false}, {"email", true}, {"membership_status", true}, {"income_bracket", true}}
	fields := f.Schema().Fields()
	if got := len(fields); got != len(want) {
		t.Fatalf("%d columns, want %d", got, len(want))
	}
	for i, w := range want {
		if got := fields[i].Name(); got != w.name {
			t.Errorf("column %d=%q, want %q", i, got, w.name)
		}
		if got := fields[i].Optional(); got != w.optional {
			t.Errorf("%s optional=%v, want %v", w.name, got, w.optional)
		}
		if got := fields[i].Type().LogicalType().String(); got != "STRING" {
			t.Errorf("%s logical type=%s, want STRING", w.name, got)
		}
	}
	rows, err := parquet.ReadFile[profileRow](path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), opt.Users; got != want || st.Profiles != want {
		t.Fatalf("profiles=%d, Stats.Profiles=%d, want %d", got, st.Profiles, want)
	}
	values := map[string]map[string]int{"email": {}, "membership": {}, "income": {}}
	for i, r := range rows {
		if got, want := r.UserID, fmt.Sprintf("U%07d", i); got != want {
			t.Fatalf("row %d user_id=%q, want %q", i, got, want)
		}
		values["email"][fmt.Sprint(r.Email != "")]++
		values["membership"][r.MembershipStatus]++
		values["income"][r.IncomeBracket]++
	}
	wantValues := map[string][]string{
		"email":      {"false", "true"},
		"membership": {"", "gold", "silver", "bronze", "none"},
		"income":     {"", "<25k", "25-50k", "50-100k", "100k+"},
	}
	for col, vs := range wantValues {
		for _, v := range vs {
			if values[col][v] == 0 {
				t.Errorf("%s: no row with %q (got %v)", col, v, values[col])
			}
		}
		if got, want := len(values[col]), len(vs); got != want {
			t.Errorf("%s: values %v, want only %v", col, values[col], vs)
		}
	}
}

// The ingest reader uses arrow-go; it must see millisecond UTC timestamps
// and string (or, when asked, dictionary) columns.
func TestGenerateArrowReadable(t *testing.T) {
	opt, _ := MustGenerate(t, smallGen)
	var paths []string
	for _, day := range eventFiles(t, opt.Out) {
		paths = append(paths, day...)
	}
	for _, readDict := range []bool{false, true} {
		for _, path := range paths {
			t.Run(fmt.Sprintf("readDict=%v/%s", readDict, filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path)), func(t *testing.T) {
				testArrowRead(t, path, readDict)
			})
		}
	}
}

func testArrowRead(t *testing.T, path string, readDict bool) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	props := pqarrow.ArrowReadProperties{BatchSize: 1024}
	for _, col := range []int{1, 2, 3, 5} {
		props.SetReadDict(col, readDict)
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	strType := arrow.DataType(arrow.BinaryTypes.String)
	if readDict {
		strType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	}
	want := []struct {
		name     string
		typ      arrow.DataType
		nullable bool
	}{
		{"message_id", arrow.BinaryTypes.String, false},
		{"user_id", strType, true},
		{"anonymous_id", strType, false},
		{"event", strType, false},
		{"timestamp", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, false},
		{"product_id", strType, false},
	}
	sc := tbl.Schema()
	if got := sc.NumFields(); got != len(want) {
		t.Fatalf("%d fields, want %d: %v", got, len(want), sc)
	}
	for i, w := range want {
		fd := sc.Field(i)
		if fd.Name != w.name || !arrow.TypeEqual(fd.Type, w.typ) || fd.Nullable != w.nullable {
			t.Errorf("field %d = %s %v nullable=%v, want %s %v nullable=%v",
				i, fd.Name, fd.Type, fd.Nullable, w.name, w.typ, w.nullable)
		}
	}
	if got, want := tbl.NumRows(), pf.NumRows(); got != want {
		t.Errorf("rows=%d, want %d", got, want)
	}
	if tbl.Column(1).NullN() == 0 {
		t.Error("no null user_id read back")
	}
}

func TestGenerateCancel(t *testing.T) {
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		opt := smallGen
		opt.Out = t.TempDir()
		if _, err := Generate(ctx, opt); !errors.Is(err, context.Canceled) {
			t.Fatalf("Generate=%v, want context.Canceled", err)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		opt := Options{Out: t.TempDir(), Events: 200_000_000, RowGroupEvents: 10_000}
		start := time.Now()
		st, err := Generate(ctx, opt)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Generate=%v, want context.DeadlineExceeded", err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("Generate took %v after cancel", el)
		}
		if st.Events >= opt.Events {
			t.Errorf("Stats.Events=%d after cancel", st.Events)
		}
		if tmp, _ := filepath.Glob(filepath.Join(opt.Out, "events", "*", "*.tmp")); len(tmp) > 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	})
}

func TestGenerateOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"no out", Options{}},
		{"negative", Options{Out: "x", Events: -1}},
		{"too many days", Options{Out: "x", Days: 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate(t.Context(), tc.opt); err == nil {
				t.Fatal("Generate succeeded, want an error")
			}
		})
	}
}

func TestSplitEvents(t *testing.T) {
	for _, tc := range []struct{ events, days int }{
		{0, 3}, {2, 7}, {7, 7}, {1000, 1}, {1_000_003, 7}, {99, 30},
	} {
		t.Run(fmt.Sprintf("%d/%d", tc.events, tc.days), func(t *testing.T) {
			opt := Options{Events: tc.events, Days: tc.days, Out: "x"}.withDefaults()
			opt.Events = tc.events
			got := splitEvents(opt)
			sum := 0
			for _, n := range got {
				if n < 0 {
					t.Fatalf("negative day: %v", got)
				}
				sum += n
			}
			if len(got) != tc.days || sum != tc.events {
				t.Fatalf("splitEvents=%v (sum %d), want %d days summing to %d", got, sum, tc.days, tc.events)
			}
		})
	}
}

// The alias table must sample like the obvious cumulative-sum search.
func TestAliasTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 2, 3, 10, 257} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := make([]float64, n)
			var sum float64
			for i := range w {
				w[i] = rng.ExpFloat64() * float64(rng.IntN(3)) // some zero weights
				sum += w[i]
			}
			if sum == 0 {
				w[0], sum = 1, 1
			}
			a := newAliasTable(w)
			const draws = 400_000
			got := make([]int, n)
			for range draws {
				got[a.sample(rng.Uint64())]++
			}
			for i := range w {
				want := w[i] / sum * draws
				if w[i] == 0 && got[i] != 0 {
					t.Fatalf("index %d has weight 0 but was drawn %d times", i, got[i])
				}
				if diff := float64(got[i]) - want; diff*diff > 25*(want+1) { // 5 sigma
					t.Errorf("index %d drawn %d times, want ~%.0f", i, got[i], want)
				}
			}
		})
	}
}

func TestMix62Bijective(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[uint64]uint64{}
	for i := range 200_000 {
		x := uint64(i)
		if i%2 == 1 {
			x = rng.Uint64() & (1<<62 - 1)
		}
		y := mix62(x)
		if y >= 1<<62 {
			t.Fatalf("mix62(%#x)=%#x, not 62 bits", x, y)
		}
		if prev, ok := seen[y]; ok && prev != x {
			t.Fatalf("mix62(%#x)=mix62(%#x)", x, prev)
		}
		seen[y] = x
	}
}

func TestDayOffsetMs(t *testing.T) {
	prev := int64(-1)
	for q := 0.0; q < 1; q += 1e-4 {
		got := dayOffsetMs(q)
		if got < prev || got < 0 || got >= 86_400_000 {
			t.Fatalf("dayOffsetMs(%v)=%d after %d, want increasing within the day", q, got, prev)
		}
		prev = got
	}
}

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "recopub-gen")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	st, err := Generate(context.Background(), Options{Out: dir, Events: 50_000, Days: 2})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d events, %d purchases, %d users (%d anonymous ids), %d items, %d profiles, %d files\n",
		st.Events, st.Purchases, st.Users, st.AnonymousIDs, st.Items, st.Profiles, st.Files)
	// Output:
	// 50000 events, 3955 purchases, 4852 users (986 anonymous ids), 1863 items, 10000 profiles, 3 files
}

func BenchmarkGenerate(b *testing.B) {
	for _, events := range []int{1_000_000} {
		b.Run(fmt.Sprint(events), func(b *testing.B) {
			opt := Options{Out: b.TempDir(), Events: events, Users: 100_000, Items: 20_000}
			b.ReportAllocs()
			var total int
			for b.Loop() {
				st, err := Generate(b.Context(), opt)
				if err != nil {
					b.Fatal(err)
				}
				total += st.Events
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
