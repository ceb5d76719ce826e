package features

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go/deprecated"
)

var update = flag.Bool("update", false, "rewrite the fixtures under testdata/ingest and their golden files")

// The input shapes users have, one fixture directory each under
// ../testdata/ingest/<shape>/: events/ holds the Parquet files (written by
// the functions below when -update is given) and want.json the loaded
// Dataset in readable form.

// product is an element of an order's products list.
type product struct {
	ProductID *string `parquet:"product_id,optional"`
	SKU       string  `parquet:"sku"`
	Quantity  *int64  `parquet:"quantity,optional"`
	Price     float64 `parquet:"price"`
}

// orderRow is an order_completed row with products as a LIST of STRUCT.
type orderRow struct {
	MessageID   string    `parquet:"message_id"`
	UserID      *string   `parquet:"user_id,optional"`
	AnonymousID string    `parquet:"anonymous_id"`
	Event       string    `parquet:"event"`
	Timestamp   time.Time `parquet:"timestamp,timestamp(microsecond)"`
	Products    []product `parquet:"products,optional,list"`
}

// orderJSONRow is the same table as RudderStack's warehouse writes it.
type orderJSONRow struct {
	MessageID   string    `parquet:"message_id"`
	UserID      *string   `parquet:"user_id,optional"`
	AnonymousID string    `parquet:"anonymous_id"`
	Event       string    `parquet:"event"`
	Timestamp   time.Time `parquet:"timestamp,timestamp(microsecond)"`
	Products    *string   `parquet:"products,optional"`
}

func i64(v int64) *int64 { return &v }

// orders are the rows of both order shapes; the JSON text is derived.
func orders() []orderRow {
	return []orderRow{
		{"o1", str("u1"), "a1", "Order Completed", t0, []product{
			{str("p1"), "sku-1", i64(2), 9.5}, {str("p2"), "sku-2", nil, 20}}},
		{"o2", nil, "a2", "Order Completed", t0.Add(time.Hour), []product{
			{str("p3"), "sku-3", i64(1), 5}}},
		{"o3", str("u3"), "a3", "Order Completed", t0.Add(2 * time.Hour), nil},         // null list
		{"o4", str("u4"), "a4", "Order Completed", t0.Add(3 * time.Hour), []product{}}, // empty list
		{"o5", str("u1"), "a1", "Order Completed", t0.Add(4 * time.Hour), []product{
			{nil, "sku-x", i64(1), 1}, {str("p2"), "sku-2", i64(3), 20}}},
		{"o1", str("u1"), "a1", "Order Completed", t0, []product{ // redelivered
			{str("p1"), "sku-1", i64(2), 9.5}, {str("p2"), "sku-2", nil, 20}}},
		{"o6", str("u6"), "a6", "Order Completed", t0.Add(5 * time.Hour), []product{
			{str("p4"), "sku-4", i64(-1), 3}}}, // negative quantity
	}
}

func ordersJSON() []orderJSONRow {
	var out []orderJSONRow
	for _, o := range orders() {
		r := orderJSONRow{o.MessageID, o.UserID, o.AnonymousID, o.Event, o.Timestamp, nil}
		if o.Products != nil {
			var elems []map[string]any
			for _, p := range o.Products {
				m := map[string]any{"sku": p.SKU, "price": p.Price}
				if p.ProductID != nil {
					m["product_id"] = *p.ProductID
				}
				if p.Quantity != nil {
					m["quantity"] = *p.Quantity
				}
				elems = append(elems, m)
			}
			b, _ := json.Marshal(elems)
			if len(elems) == 0 {
				b = []byte("[]")
			}
			r.Products = str(string(b))
		}
		out = append(out, r)
	}
	out = append(out, orderJSONRow{"o7", str("u7"), "a7", "Order Completed", t0.Add(6 * time.Hour), str(`[{"product_id": 17850, "quantity": "2"}, {"product_id": "p\u00e9"}]`)})
	out = append(out, orderJSONRow{"o8", str("u8"), "a8", "Order Completed", t0.Add(7 * time.Hour), str(`[{"product_id": "p1"`)})
	return out
}

// Time columns of every kind RudderStack exports carry.
type (
	timeMillis struct {
		UserID    string    `parquet:"user_id"`
		ProductID string    `parquet:"product_id"`
		Event     string    `parquet:"event"`
		Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
	}
	timeMicros struct {
		UserID    string    `parquet:"user_id"`
		ProductID string    `parquet:"product_id"`
		Event     string    `parquet:"event"`
		Timestamp time.Time `parquet:"timestamp,timestamp(microsecond)"`
	}
	timeNanos struct {
		UserID    string    `parquet:"user_id"`
		ProductID string    `parquet:"product_id"`
		Event     string    `parquet:"event"`
		Timestamp time.Time `parquet:"timestamp,timestamp(nanosecond)"`
	}
	timeEpochMillis struct {
		UserID    string `parquet:"user_id"`
		ProductID string `parquet:"product_id"`
		Event     string `parquet:"event"`
		Timestamp int64  `parquet:"timestamp"`
	}
	timeISO struct {
		UserID    string `parquet:"user_id"`
		ProductID string `parquet:"product_id"`
		Event     string `parquet:"event"`
		Timestamp string `parquet:"timestamp,dict"`
	}
	timeDate struct {
		UserID    string `parquet:"user_id"`
		ProductID string `parquet:"product_id"`
		Event     string `parquet:"event"`
		Timestamp int32  `parquet:"timestamp,date"` // days; parquet-go garbles a time.Time here
	}
	timeInt96 struct {
		UserID    string           `parquet:"user_id"`
		ProductID string           `parquet:"product_id"`
		Event     string           `parquet:"event"`
		Timestamp deprecated.Int96 `parquet:"timestamp"`
	}
)

// weightRow carries a rating (--weight-col) and a quantity.
type weightRow struct {
	UserID    string    `parquet:"user_id"`
	ProductID int64     `parquet:"product_id"` // integer ids
	Event     string    `parquet:"event"`
	Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Rating    *float64  `parquet:"rating,optional"`
	Quantity  int32     `parquet:"quantity"`
}

// structRow nests the item in a properties STRUCT.
type structRow struct {
	UserID     string    `parquet:"user_id"`
	Event      string    `parquet:"event"`
	Timestamp  time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Properties *struct {
		ProductID string `parquet:"product_id"`
		Quantity  int64  `parquet:"quantity"`
	} `parquet:"properties,optional"`
}

func f64(v float64) *float64 { return &v }

// int96Time encodes t as Impala/Spark INT96: nanoseconds of the day, then
// the Julian day.
func int96Time(t time.Time) deprecated.Int96 {
	day := t.Unix() / 86400
	nanos := uint64(t.UnixNano() - day*86400*1e9)
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(day + 2440588)}
}

type shape struct {
	name  string
	opt   Options
	write func(tb testing.TB, dir string) // writes the Parquet files under dir
	check func(t *testing.T, ds *Dataset) // shape-specific assertions
}

var shapes = []shape{{
	name: "tracks", // flat tracks-style table, dictionary-encoded ids, nulls
	opt:  Options{Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		rows := sampleEvents()
		rows = append(rows, rows[1]) // redelivered: same message id
		MustWriteParquet(tb, filepath.Join(dir, "part-00000.parquet"), rows[:5], 3)
		MustWriteParquet(tb, filepath.Join(dir, "part-00001.parquet"), rows[5:], 2)
	},
	check: func(t *testing.T, ds *Dataset) {
		wantDropped(t, ds, map[string]int64{DropNoItem: 1, DropIDTooLong: 1, DropInvalidUTF8: 1, DropFutureTime: 1, DropDuplicate: 1})
		wantEvents(t, ds, []string{
			"u1 p1 Order Completed 2026-11-01T12:00:00Z",
			"u1 p2 Product Viewed 2026-11-01T12:01:00Z",
			"a2 p1 Product Viewed 2026-11-01T12:02:00Z",  // null user_id: anonymous_id
			"a3 p3 Order Completed 2026-11-01T12:03:00Z", // empty user_id: anonymous_id
			"u2 p3 Product Added 2026-11-01T12:07:00Z",
		})
	},
}, {
	name: "tracks_arrow", // the same table written by arrow-go: V1 pages, PLAIN fallback
	opt:  Options{Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		mustWriteArrowTracks(tb, filepath.Join(dir, "part-00000.parquet"), sampleEvents())
	},
	check: func(t *testing.T, ds *Dataset) {
		wantDropped(t, ds, map[string]int64{DropNoItem: 1, DropIDTooLong: 1, DropInvalidUTF8: 1, DropFutureTime: 1})
		if got, want := ds.Len(), 5; got != want {
			t.Errorf("Len()=%d, want %d", got, want)
		}
	},
}, {
	name: "order_list", // products as LIST<STRUCT>, exploded, quantity as weight
	opt:  Options{ItemCol: "products.product_id", QuantityCol: "products.quantity", Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		MustWriteParquet(tb, filepath.Join(dir, "part-00000.parquet"), orders(), 4)
	},
	check: checkOrders,
}, {
	name: "order_json", // products as the JSON text RudderStack's warehouse writes
	opt:  Options{ItemCol: "products.product_id", QuantityCol: "products.quantity", Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		MustWriteParquet(tb, filepath.Join(dir, "part-00000.parquet"), ordersJSON(), 4)
	},
	check: func(t *testing.T, ds *Dataset) {
		checkOrders(t, ds)
		if got, want := ds.Stats.Dropped[DropBadItems], int64(1); got != want {
			t.Errorf("bad_items=%d, want %d", got, want)
		}
		wantEvent(t, ds, "u7 17850 Order Completed 2026-11-01T18:00:00Z w=2")
		wantEvent(t, ds, "u7 p\u00e9 Order Completed 2026-11-01T18:00:00Z w=1")
	},
}, {
	name: "time", // every time type: TIMESTAMP ms/us/ns, INT96, DATE, INT64 epoch ms, ISO strings
	opt:  Options{Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		row := func(u string) (string, string, string) { return u, "p-" + u, "Product Viewed" }
		u, p, e := row("ms")
		MustWriteParquet(tb, filepath.Join(dir, "a_millis.parquet"), []timeMillis{{u, p, e, t0.Add(1500 * time.Millisecond)}}, 1)
		u, p, e = row("us")
		MustWriteParquet(tb, filepath.Join(dir, "b_micros.parquet"), []timeMicros{{u, p, e, t0.Add(2 * time.Second)}}, 1)
		u, p, e = row("ns")
		MustWriteParquet(tb, filepath.Join(dir, "c_nanos.parquet"), []timeNanos{{u, p, e, t0.Add(3 * time.Second)}}, 1)
		u, p, e = row("epoch")
		MustWriteParquet(tb, filepath.Join(dir, "d_epoch.parquet"), []timeEpochMillis{{u, p, e, t0.Add(4*time.Second).UnixMilli() + 999}}, 1)
		var iso []timeISO
		for i, s := range []string{"2026-11-01T12:00:05Z", "2026-11-01T12:00:06.123456Z", "2026-11-01 12:00:07",
			"2026-11-01T13:00:08+01:00", "2026-11-01", "2026-11-01 12:00:09.5 +0000 UTC", "yesterday", ""} {
			iso = append(iso, timeISO{fmt.Sprintf("iso%d", i), "p-iso", "Product Viewed", s})
		}
		MustWriteParquet(tb, filepath.Join(dir, "e_iso.parquet"), iso, 10)
		u, p, e = row("date")
		MustWriteParquet(tb, filepath.Join(dir, "f_date.parquet"), []timeDate{{u, p, e, int32(t0.Unix() / 86400)}}, 1)
		u, p, e = row("int96")
		MustWriteParquet(tb, filepath.Join(dir, "g_int96.parquet"), []timeInt96{{u, p, e, int96Time(t0.Add(10 * time.Second))}}, 1)
	},
	check: func(t *testing.T, ds *Dataset) {
		wantDropped(t, ds, map[string]int64{DropBadTime: 2})
		for _, e := range []string{
			"ms p-ms Product Viewed 2026-11-01T12:00:01Z",
			"us p-us Product Viewed 2026-11-01T12:00:02Z",
			"ns p-ns Product Viewed 2026-11-01T12:00:03Z",
			"epoch p-epoch Product Viewed 2026-11-01T12:00:04Z",
			"iso0 p-iso Product Viewed 2026-11-01T12:00:05Z",
			"iso1 p-iso Product Viewed 2026-11-01T12:00:06Z",
			"iso2 p-iso Product Viewed 2026-11-01T12:00:07Z",
			"iso3 p-iso Product Viewed 2026-11-01T12:00:08Z",
			"iso4 p-iso Product Viewed 2026-11-01T00:00:00Z",
			"iso5 p-iso Product Viewed 2026-11-01T12:00:09Z",
			"date p-date Product Viewed 2026-11-01T00:00:00Z",
			"int96 p-int96 Product Viewed 2026-11-01T12:00:10Z",
		} {
			wantEvent(t, ds, e)
		}
	},
}, {
	name: "weights", // --weight-col with nulls; integer item ids
	opt:  Options{WeightCol: "rating", EventCol: "-", MessageIDCol: "-", Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		MustWriteParquet(tb, filepath.Join(dir, "part-00000.parquet"), []weightRow{
			{"u1", 17850, "Order Completed", t0, f64(4.5), 2},
			{"u1", 17851, "Order Completed", t0, nil, 1},
			{"u2", 17850, "Order Completed", t0, f64(-1), 1},
		}, 2)
	},
	check: func(t *testing.T, ds *Dataset) {
		wantDropped(t, ds, map[string]int64{DropBadWeight: 1})
		wantEvents(t, ds, []string{
			"u1 17850 Order Completed 2026-11-01T12:00:00Z w=4.5",
			"u1 17851 Order Completed 2026-11-01T12:00:00Z w=1",
		})
	},
}, {
	name: "struct", // item inside a properties STRUCT
	opt:  Options{ItemCol: "properties.product_id", QuantityCol: "properties.quantity", Now: t0.Add(24 * time.Hour)},
	write: func(tb testing.TB, dir string) {
		type props = struct {
			ProductID string `parquet:"product_id"`
			Quantity  int64  `parquet:"quantity"`
		}
		MustWriteParquet(tb, filepath.Join(dir, "part-00000.parquet"), []structRow{
			{"u1", "Product Added", t0, &props{"p1", 3}},
			{"u2", "Product Added", t0, nil},
		}, 2)
	},
	check: func(t *testing.T, ds *Dataset) {
		wantDropped(t, ds, map[string]int64{DropNoItem: 1})
		wantEvents(t, ds, []string{"u1 p1 Product Added 2026-11-01T12:00:00Z w=3"})
	},
}}

func checkOrders(t *testing.T, ds *Dataset) {
	t.Helper()
	for _, e := range []string{
		"u1 p1 Order Completed 2026-11-01T12:00:00Z w=2",
		"u1 p2 Order Completed 2026-11-01T12:00:00Z w=1", // no quantity: 1
		"a2 p3 Order Completed 2026-11-01T13:00:00Z w=1",
		"u1 p2 Order Completed 2026-11-01T16:00:00Z w=3",
	} {
		wantEvent(t, ds, e)
	}
	for r, n := range map[string]int64{DropNoItem: 3, DropDuplicate: 2, DropBadWeight: 1} {
		if got := ds.Stats.Dropped[r]; got != n {
			t.Errorf("%s=%d, want %d (dropped %v)", r, got, n, ds.Stats.Dropped)
		}
	}
}

// mustWriteArrowTracks writes tracks rows with arrow-go's writer (data
// page V1, dictionary with a small size limit so later pages fall back to
// PLAIN).
func mustWriteArrowTracks(tb testing.TB, path string, rows []trackRow) {
	tb.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "message_id", Type: arrow.BinaryTypes.String},
		{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "anonymous_id", Type: arrow.BinaryTypes.String},
		{Name: "event", Type: arrow.BinaryTypes.String},
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "product_id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.MessageID)
		appendOpt(b.Field(1).(*array.StringBuilder), r.UserID)
		b.Field(2).(*array.StringBuilder).Append(r.AnonymousID)
		b.Field(3).(*array.StringBuilder).Append(r.Event)
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(r.Timestamp.UnixMilli()))
		appendOpt(b.Field(5).(*array.StringBuilder), r.ProductID)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithDictionaryPageSizeLimit(64), parquet.WithDataPageSize(64),
		parquet.WithDataPageVersion(parquet.DataPageV1), parquet.WithMaxRowGroupLength(4))
	w, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

func appendOpt(b *array.StringBuilder, s *string) {
	if s == nil {
		b.AppendNull()
		return
	}
	b.Append(*s)
}

// describe renders a Dataset's events as "user item event time [w=weight]"
// lines in Dataset order.
func describe(ds *Dataset) []string {
	out := make([]string, ds.Len())
	for i := range out {
		out[i] = fmt.Sprintf("%s %s %s %s", ds.Users[ds.User[i]], ds.Items[ds.Item[i]], ds.Events[ds.Event[i]],
			time.Unix(int64(ds.Time[i]), 0).UTC().Format(time.RFC3339))
		if ds.Weight != nil {
			out[i] += fmt.Sprintf(" w=%g", ds.Weight[i])
		}
	}
	return out
}

func wantEvents(t *testing.T, ds *Dataset, want []string) {
	t.Helper()
	if got := describe(ds); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func wantEvent(t *testing.T, ds *Dataset, want string) {
	t.Helper()
	for _, e := range describe(ds) {
		if e == want {
			return
		}
	}
	t.Errorf("no event %q among:\n%s", want, strings.Join(describe(ds), "\n"))
}

func wantDropped(t *testing.T, ds *Dataset, want map[string]int64) {
	t.Helper()
	if !reflect.DeepEqual(ds.Stats.Dropped, want) {
		t.Errorf("Dropped=%v, want %v", ds.Stats.Dropped, want)
	}
	if got := ds.Stats.Kept + ds.Stats.DroppedTotal(); got != ds.Stats.Read {
		t.Errorf("Kept+Dropped=%d, Read=%d", got, ds.Stats.Read)
	}
}

// golden is the readable form of a loaded Dataset kept in want.json.
type golden struct {
	Events []string `json:"events"`
	Items  []string `json:"items"`
	Names  []string `json:"event_names"`
	Stats  Stats    `json:"stats"`
	Files  []string `json:"files"`
}

func goldenOf(ds *Dataset, root string) golden {
	g := golden{Events: describe(ds), Items: ds.Items, Names: ds.Events, Stats: ds.Stats}
	for _, f := range ds.Files {
		rel, _ := filepath.Rel(root, f.Path)
		g.Files = append(g.Files, fmt.Sprintf("%s %d", filepath.ToSlash(rel), f.Rows))
	}
	return g
}

func TestShapes(t *testing.T) {
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			root := filepath.Join("..", "testdata", "ingest", sh.name)
			events := filepath.Join(root, "events")
			if *update {
				if err := os.RemoveAll(events); err != nil {
					t.Fatal(err)
				}
				sh.write(t, events)
			}
			var first golden
			for _, arrowOnly := range []bool{false, true} {
				opt := sh.opt
				opt.Events, opt.arrowOnly = []string{events}, arrowOnly
				ds, err := Load(context.Background(), opt)
				if err != nil {
					t.Fatal(err)
				}
				sh.check(t, ds)
				g := goldenOf(ds, events)
				if !arrowOnly {
					first = g
					continue
				}
				if !reflect.DeepEqual(g, first) {
					t.Errorf("the Arrow path gave\n%+v\nthe page path\n%+v", g, first)
				}
			}
			wantFile := filepath.Join(root, "want.json")
			b, _ := json.MarshalIndent(first, "", "  ")
			if *update {
				if err := os.WriteFile(wantFile, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(append(b, '\n')); got != string(want) {
				t.Errorf("golden %s differs (rerun with -update if intended):\ngot\n%s", wantFile, got)
			}
		})
	}
}
