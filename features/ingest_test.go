package features

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/parquet-go/parquet-go"
)

// trackRow is a tracks-style event row as RudderStack's warehouse holds it.
type trackRow struct {
	MessageID   string    `parquet:"message_id"`
	UserID      *string   `parquet:"user_id"`
	AnonymousID string    `parquet:"anonymous_id"`
	Event       string    `parquet:"event,dict"`
	Timestamp   time.Time `parquet:"timestamp,timestamp(millisecond)"`
	ProductID   *string   `parquet:"product_id,dict"`
}

func str(s string) *string { return &s }

// MustWriteParquet writes rows to path (creating directories) with
// parquet-go, in row groups of rowGroup rows.
func MustWriteParquet[T any](tb testing.TB, path string, rows []T, rowGroup int) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f)
	for len(rows) > 0 {
		n := min(rowGroup, len(rows))
		if _, err := w.Write(rows[:n]); err != nil {
			tb.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func sampleEvents() []trackRow {
	return []trackRow{
		{"m1", str("u1"), "a1", "Order Completed", t0, str("p1")},
		{"m2", str("u1"), "a1", "Product Viewed", t0.Add(time.Minute), str("p2")},
		{"m3", nil, "a2", "Product Viewed", t0.Add(2 * time.Minute), str("p1")},
		{"m4", str(""), "a3", "Order Completed", t0.Add(3 * time.Minute), str("p3")},
		{"m5", str("u2"), "a4", "Order Completed", t0.Add(4 * time.Minute), nil},
		{"m6", str("u2"), "a4", "Order Completed", t0.Add(5 * time.Minute), str(strings.Repeat("x", MaxIDLen+1))},
		{"m7", str("u2"), "a4", "Order Completed", t0.Add(6 * time.Minute), str("bad\xff")},
		{"m8", str("u2"), "a4", "Order Completed", t0.Add(90 * 24 * time.Hour), str("p1")},
		{"m9", str("u2"), "a4", "Product Added", t0.Add(7 * time.Minute), str("p3")},
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	rows := sampleEvents()
	MustWriteParquet(t, filepath.Join(dir, "events", "dt=2026-11-01", "part-00000.parquet"), rows[:4], 2)
	MustWriteParquet(t, filepath.Join(dir, "events", "dt=2026-11-02", "part-00000.parquet"), rows[4:], 3)

	ds, err := Load(context.Background(), Options{Events: []string{filepath.Join(dir, "events")}, Now: t0.Add(24 * time.Hour), Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantEvents(t, ds, []string{
		"u1 p1 Order Completed 2026-11-01T12:00:00Z",
		"u1 p2 Product Viewed 2026-11-01T12:01:00Z",
		"a2 p1 Product Viewed 2026-11-01T12:02:00Z",
		"a3 p3 Order Completed 2026-11-01T12:03:00Z",
		"u2 p3 Product Added 2026-11-01T12:07:00Z",
	})
	if got, want := ds.Items, []string{"p1", "p2", "p3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Items=%q, want %q", got, want)
	}
	if got, want := ds.Events, []string{"Order Completed", "Product Added", "Product Viewed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Events=%q, want %q", got, want)
	}
	if got, want := ds.Users, []string{"u1", "a2", "a3", "u2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Users=%q, want %q (in order of first appearance)", got, want)
	}
	if got, want := ds.User, []uint32{0, 0, 1, 2, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("User=%v, want %v", got, want)
	}
	want := map[string]int64{DropNoItem: 1, DropIDTooLong: 1, DropInvalidUTF8: 1, DropFutureTime: 1}
	if !reflect.DeepEqual(ds.Stats.Dropped, want) {
		t.Errorf("Dropped=%v, want %v", ds.Stats.Dropped, want)
	}
	if got, want := ds.Stats.Read, int64(9); got != want {
		t.Errorf("Read=%d, want %d", got, want)
	}
	if got, want := len(ds.Files), 2; got != want {
		t.Errorf("len(Files)=%d, want %d", got, want)
	}
}

func TestLoadDeterministic(t *testing.T) {
	dir := t.TempDir()
	rows := sampleEvents()
	for i := range 6 {
		MustWriteParquet(t, filepath.Join(dir, "part-0000"+string(rune('0'+i))+".parquet"), rows, 2)
	}
	var first *Dataset
	for _, w := range []int{1, 2, 5} {
		ds, err := Load(context.Background(), Options{Events: []string{dir}, Now: t0.Add(24 * time.Hour), Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = ds
			continue
		}
		if !reflect.DeepEqual(ds.Users, first.Users) || !reflect.DeepEqual(ds.User, first.User) ||
			!reflect.DeepEqual(ds.Item, first.Item) || !reflect.DeepEqual(ds.Time, first.Time) {
			t.Fatalf("Workers=%d gave a different dataset", w)
		}
	}
}

func TestLoadEventWeightsSelect(t *testing.T) {
	dir := t.TempDir()
	MustWriteParquet(t, filepath.Join(dir, "e.parquet"), sampleEvents()[:4], 10)
	ds, err := Load(context.Background(), Options{Events: []string{dir}, Now: t0.Add(time.Hour), EventWeights: map[string]float32{"Order Completed": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ds.Stats.Dropped[DropUnknownEvent], int64(2); got != want {
		t.Errorf("unknown_event=%d, want %d", got, want)
	}
	if got, want := ds.Len(), 2; got != want {
		t.Errorf("Len()=%d, want %d", got, want)
	}
}

func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	MustWriteParquet(t, good, sampleEvents(), 10)
	corrupt := filepath.Join(dir, "corrupt.parquet")
	os.WriteFile(corrupt, []byte("PAR1 this is not parquet"), 0o644)
	truncated := filepath.Join(dir, "truncated.parquet")
	b, _ := os.ReadFile(good)
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	type wrongType struct {
		UserID    string `parquet:"user_id"`
		ProductID string `parquet:"product_id"`
		Timestamp bool   `parquet:"timestamp"`
		Event     string `parquet:"event"`
	}
	wrong := filepath.Join(dir, "wrong.parquet")
	MustWriteParquet(t, wrong, []wrongType{{"u", "p", true, "e"}}, 1)
	type noItem struct {
		UserID    string    `parquet:"user_id"`
		Timestamp time.Time `parquet:"timestamp"`
		Event     string    `parquet:"event"`
	}
	missing := filepath.Join(dir, "missing.parquet")
	MustWriteParquet(t, missing, []noItem{{"u", t0, "e"}}, 1)

	type listRow struct {
		UserID    string      `parquet:"user_id"`
		Event     string      `parquet:"event"`
		Timestamp time.Time   `parquet:"timestamp,timestamp(millisecond)"`
		Products  []product   `parquet:"products,list"`
		Other     []product   `parquet:"other,list"`
		Nested    [][]product `parquet:"nested,list"`
		MessageID bool        `parquet:"message_id"`
	}
	orders := filepath.Join(dir, "orders.parquet")
	MustWriteParquet(t, orders, []listRow{{UserID: "u", Event: "e", Timestamp: t0}}, 1)
	pageBroken := filepath.Join(dir, "page.parquet")
	os.WriteFile(pageBroken, corruptColumn(t, good, "product_id"), 0o644)

	for _, tt := range []struct {
		name  string
		paths []string
		opt   Options
		want  []string
	}{
		{"missing struct field", []string{orders}, Options{ItemCol: "products.item_id"},
			[]string{orders, `column "products.item_id": field "item_id" not found`, "product_id, sku, quantity, price"}},
		{"struct not leaf", []string{orders}, Options{ItemCol: "products"},
			[]string{orders, `column "products" is a struct`, "name one of its fields: product_id"}},
		{"other list", []string{orders}, Options{ItemCol: "products.product_id", QuantityCol: "other.quantity", MessageIDCol: "-"},
			[]string{orders, `column "other.quantity"`, "not in the same list"}},
		{"nested lists", []string{orders}, Options{ItemCol: "nested.product_id", MessageIDCol: "-"},
			[]string{orders, `column "nested.product_id" is inside 2 nested lists`}},
		{"row column in a list", []string{orders}, Options{ItemCol: "products.product_id", TimeCol: "products.sku", MessageIDCol: "-"},
			[]string{orders, `column "products.sku" is inside a list; want one value per row`}},
		{"weight not a number", []string{good}, Options{WeightCol: "event"},
			[]string{good, `column "event" has type`, "want a number"}},
		{"message id wrong type", []string{orders}, Options{ItemCol: "products.product_id"},
			[]string{orders, `column "message_id" has type bool`, "message id"}},
		{"JSON path in a number", []string{orders}, Options{ItemCol: "products.price.x", MessageIDCol: "-"},
			[]string{orders, `column "products.price.x"`, "want a struct, a list of structs or JSON text"}},
		{"corrupt page", []string{pageBroken}, Options{},
			[]string{pageBroken, "row group 0", `column "product_id"`}},
		{"corrupt", []string{corrupt}, Options{}, []string{corrupt, "not a readable Parquet file"}},
		{"truncated", []string{truncated}, Options{}, []string{truncated}},
		{"wrong type", []string{wrong}, Options{}, []string{wrong, `column "timestamp" has type bool`, "TIMESTAMP"}},
		{"missing column", []string{missing}, Options{}, []string{missing, `column "product_id" not found`, "user_id"}},
		{"no such path", []string{filepath.Join(dir, "nope")}, Options{}, []string{"nope", "no such file"}},
		{"empty glob", []string{filepath.Join(dir, "*.csv")}, Options{}, []string{"no Parquet files match", "*.csv"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Events = tt.paths
			_, err := Load(context.Background(), opt)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	_, err := Load(context.Background(), Options{Events: []string{filepath.Join(dir, "*.csv")}})
	if !errors.Is(err, ErrNoInput) {
		t.Errorf("err=%v, want ErrNoInput", err)
	}
}

// corruptColumn returns a copy of a Parquet file with the body of a
// column's first page overwritten.
func corruptColumn(tb testing.TB, path, col string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	defer rdr.Close()
	cc, err := rdr.MetaData().RowGroup(0).ColumnChunk(rdr.MetaData().Schema.ColumnIndexByName(col))
	if err != nil {
		tb.Fatal(err)
	}
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() {
		start = cc.DictionaryPageOffset()
	}
	end := start + cc.TotalCompressedSize()
	for i := start + (end-start)/3; i < end; i++ {
		b[i] = 0xff
	}
	return b
}

func TestUsersFields(t *testing.T) {
	dir := t.TempDir()
	MustWriteParquet(t, filepath.Join(dir, "e.parquet"), []trackRow{
		{"1", str("u1"), "a", "Order Completed", t0, str("p1")},
		{"2", str("u1"), "a", "Order Completed", t0.Add(1 * time.Minute), str("p2")},
		{"3", str("u1"), "a", "Order Completed", t0.Add(2 * time.Minute), str("p1")},
		{"4", str("u1"), "a", "Order Completed", t0.Add(3 * time.Minute), str("p3")},
		{"5", str("u1"), "a", "Order Completed", t0.Add(4 * time.Minute), str("p4")},
		{"6", str("u1"), "a", "Order Completed", t0.Add(5 * time.Minute), str("p5")},
		{"7", str("u1"), "a", "Order Completed", t0.Add(6 * time.Minute), str("p6")},
		{"8", str("u1"), "a", "Product Viewed", t0.Add(7 * time.Minute), str("p7")},
	}, 3)
	ds, err := Load(context.Background(), Options{Events: []string{dir}, Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	u := NewUsers(ds, nil, UserOptions{})
	f, v := u.Fields(0, nil, nil)
	got := map[string]string{}
	for i := range f {
		got[f[i]] = v[i]
	}
	want := map[string]string{
		"recent_five_purchases.purchase_1": "p1",
		"recent_five_purchases.purchase_2": "p3",
		"recent_five_purchases.purchase_3": "p4",
		"recent_five_purchases.purchase_4": "p5",
		"recent_five_purchases.purchase_5": "p6",
		"event_count.order_completed":      "7",
		"event_count.product_viewed":       "1",
		"last_seen":                        "2026-11-01T12:07:00Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fields=%v\nwant %v", got, want)
	}
}

// TestLoadRowDrops has one row per drop reason and checks each is counted
// under its name, through both read paths.
func TestLoadRowDrops(t *testing.T) {
	ok := trackRow{"", str("u"), "a", "Product Viewed", t0, str("p")}
	row := func(id string, edit func(r *trackRow)) trackRow {
		r := ok
		r.MessageID = id
		edit(&r)
		return r
	}
	rows := []trackRow{
		row("keep", func(*trackRow) {}),
		row("no user", func(r *trackRow) { r.UserID, r.AnonymousID = nil, "" }),
		row("no item", func(r *trackRow) { r.ProductID = str("") }),
		row("no event", func(r *trackRow) { r.Event = "" }),
		row("long user", func(r *trackRow) { r.UserID = str(strings.Repeat("u", MaxIDLen+1)) }),
		row("bad utf8 event", func(r *trackRow) { r.Event = "View\xc0" }),
		row("future", func(r *trackRow) { r.Timestamp = t0.Add(2 * time.Hour) }),
		row("before epoch", func(r *trackRow) { r.Timestamp = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }),
		row("keep", func(*trackRow) {}), // a duplicate of the first
		row("unknown", func(r *trackRow) { r.Event = "Cart Viewed" }),
	}
	path := filepath.Join(t.TempDir(), "e.parquet")
	MustWriteParquet(t, path, rows, 4)
	want := map[string]int64{DropNoUser: 1, DropNoItem: 1, DropNoEvent: 1, DropIDTooLong: 1, DropInvalidUTF8: 1,
		DropFutureTime: 1, DropBadTime: 1, DropDuplicate: 1, DropUnknownEvent: 1}
	for _, arrowOnly := range []bool{false, true} {
		ds, err := Load(context.Background(), Options{Events: []string{path}, Now: t0, arrowOnly: arrowOnly,
			EventWeights: map[string]float32{"Product Viewed": 1, "": 1, "View\xc0": 1}})
		if err != nil {
			t.Fatal(err)
		}
		wantDropped(t, ds, want)
		if got, want := ds.Stats.Unusable(), int64(7); got != want {
			t.Errorf("Unusable()=%d, want %d (not duplicates or unselected events)", got, want)
		}
	}
}

// TestLoadPaths reads files, directories and globs given together, each
// file once and in path order.
func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	rows := sampleEvents()[:2]
	for _, p := range []string{"a/1.parquet", "a/b/2.parquet", "c/3.parquet", "c/_SUCCESS/x.parquet", "c/.hidden.parquet"} {
		MustWriteParquet(t, filepath.Join(dir, p), rows, 10)
	}
	ds, err := Load(context.Background(), Options{Now: t0.Add(time.Hour), MessageIDCol: "-",
		Events: []string{filepath.Join(dir, "c", "*.parquet"), filepath.Join(dir, "a"), filepath.Join(dir, "a", "1.parquet")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range ds.Files {
		rel, _ := filepath.Rel(dir, f.Path)
		got = append(got, fmt.Sprintf("%s:%d", filepath.ToSlash(rel), f.Rows))
	}
	if want := []string{"a/1.parquet:2", "a/b/2.parquet:2", "c/3.parquet:2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Files=%q, want %q", got, want)
	}
	if got, want := ds.Len(), 6; got != want {
		t.Errorf("Len()=%d, want %d", got, want)
	}
}
