package features

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Files written by arrow-go in shapes the old hand-written page decoder
// read wrongly: the page path (parquet-go) and the Arrow path must both
// read them exactly.

// mustWriteArrow writes one record of the given columns with arrow-go's
// pqarrow writer and the given writer properties.
func mustWriteArrow(tb testing.TB, path string, fields []arrow.Field, cols []arrow.Array, opts ...parquet.WriterProperty) {
	tb.Helper()
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, cols, int64(cols[0].Len()))
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(opts...), pqarrow.DefaultWriterProps())
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

func stringArray(vals []*string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for _, v := range vals {
		appendOpt(b, v)
	}
	return b.NewArray()
}

func timestampArray(n int) arrow.Array {
	b := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"})
	defer b.Release()
	for i := range n {
		b.Append(arrow.Timestamp(t0.Add(time.Duration(-i) * time.Minute).UnixMilli()))
	}
	return b.NewArray()
}

// loadBoth loads opt through the page path and the Arrow path and checks
// they agree; it returns the first. wantPages says which path the files'
// row groups must be planned for.
func loadBoth(t *testing.T, opt Options, wantPages bool) *Dataset {
	t.Helper()
	_, units, _, err := planFiles(context.Background(), opt.Events, &opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.pages != wantPages {
			t.Fatalf("row group %d of file %d planned for the page path: %v, want %v", u.rowGroup, u.file, u.pages, wantPages)
		}
	}
	var first *Dataset
	for _, arrowOnly := range []bool{false, true} {
		opt.arrowOnly = arrowOnly
		ds, err := Load(context.Background(), opt)
		if err != nil {
			t.Fatalf("arrow only %v: %v", arrowOnly, err)
		}
		if first == nil {
			first = ds
			continue
		}
		if got, want := describe(ds), describe(first); !slices.Equal(got, want) {
			t.Errorf("the Arrow path gave\n%q\nthe page path\n%q", got, want)
		}
	}
	return first
}

// TestLoadDeltaIntIDs reads integer ids written with DELTA_BINARY_PACKED
// spanning the signed range. The Parquet spec has INT32 deltas wrap around
// in 32 bits (arrow-go writes them so); the old decoder added them in 64
// bits and read 2000000000 as -2294967296.
func TestLoadDeltaIntIDs(t *testing.T) {
	tests := []struct {
		name string
		typ  arrow.DataType
		ids  []int64
	}{
		{"int32", arrow.PrimitiveTypes.Int32, []int64{-2000000000, 2000000000, 7, -5}},
		{"int64", arrow.PrimitiveTypes.Int64, []int64{-9000000000000000000, 9000000000000000000, 7, -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tt.ids)
			ib := array.NewBuilder(memory.DefaultAllocator, tt.typ)
			ub := array.NewBuilder(memory.DefaultAllocator, tt.typ)
			for i, v := range tt.ids {
				switch b := ib.(type) {
				case *array.Int32Builder:
					b.Append(int32(v))
					ub.(*array.Int32Builder).Append(int32(tt.ids[n-1-i]))
				case *array.Int64Builder:
					b.Append(v)
					ub.(*array.Int64Builder).Append(tt.ids[n-1-i])
				}
			}
			ev := make([]*string, n)
			for i := range ev {
				ev[i] = str("Product Viewed")
			}
			path := filepath.Join(t.TempDir(), "e.parquet")
			mustWriteArrow(t, path, []arrow.Field{
				{Name: "user_id", Type: tt.typ}, {Name: "event", Type: arrow.BinaryTypes.String},
				{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
				{Name: "product_id", Type: tt.typ},
			}, []arrow.Array{ub.NewArray(), stringArray(ev), timestampArray(n), ib.NewArray()},
				parquet.WithDictionaryDefault(false),
				parquet.WithEncodingFor("product_id", parquet.Encodings.DeltaBinaryPacked),
				parquet.WithEncodingFor("user_id", parquet.Encodings.DeltaBinaryPacked))
			ds := loadBoth(t, Options{Events: []string{path}, Now: t0.Add(time.Hour)}, true)
			var want []string
			for i, v := range tt.ids {
				want = append(want, fmt.Sprintf("%d %d Product Viewed %s", tt.ids[n-1-i], v,
					t0.Add(time.Duration(-i)*time.Minute).Format(time.RFC3339)))
			}
			wantEvents(t, ds, want)
			wantItems := make([]string, n)
			for i, v := range tt.ids {
				wantItems[i] = strconv.FormatInt(v, 10)
			}
			slices.Sort(wantItems)
			if !slices.Equal(ds.Items, wantItems) {
				t.Errorf("Items=%q, want %q", ds.Items, wantItems)
			}
		})
	}
}

// TestLoadV2Pages reads data pages V2 with null user ids and weights.
// Without statistics arrow-go writes num_nulls=0 in the page headers even
// for pages with nulls: the definition levels are the truth. The old
// decoder trusted num_nulls and failed ("corrupt page"); parquet-go
// trusts it too, so such chunks are planned for arrow-go (hasNullCount).
// With statistics they take the page path.
func TestLoadV2Pages(t *testing.T) {
	users := []*string{str("u1"), nil, str("u2"), nil, nil, str("u3"), str("u1"), nil}
	items := []*string{str("p1"), str("p2"), nil, str("p3"), str("p4"), str("p5"), str("p6"), str("p7")}
	n := len(users)
	ev := make([]*string, n)
	for i := range ev {
		ev[i] = str("Product Viewed")
	}
	for _, stats := range []bool{false, true} {
		for _, dict := range []bool{true, false} {
			t.Run(fmt.Sprintf("statistics=%v/dictionary=%v", stats, dict), func(t *testing.T) {
				wb := array.NewFloat64Builder(memory.DefaultAllocator)
				defer wb.Release()
				for i := range n {
					if i%2 == 0 {
						wb.AppendNull() // weight 1
					} else {
						wb.Append(float64(i))
					}
				}
				path := filepath.Join(t.TempDir(), "e.parquet")
				mustWriteArrow(t, path, []arrow.Field{
					{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
					{Name: "event", Type: arrow.BinaryTypes.String},
					{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
					{Name: "product_id", Type: arrow.BinaryTypes.String, Nullable: true},
					{Name: "w", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
				}, []arrow.Array{stringArray(users), stringArray(ev), timestampArray(n), stringArray(items), wb.NewArray()},
					parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithStats(stats),
					parquet.WithDictionaryDefault(dict))
				ds := loadBoth(t, Options{Events: []string{path}, Now: t0.Add(time.Hour), WeightCol: "w"}, stats)
				var want []string
				for i := range n {
					if users[i] != nil && items[i] != nil {
						want = append(want, fmt.Sprintf("%s %s Product Viewed %s w=%d", *users[i], *items[i],
							t0.Add(time.Duration(-i)*time.Minute).Format(time.RFC3339), max(1, i%2*i)))
					}
				}
				wantEvents(t, ds, want)
				wantDropped(t, ds, map[string]int64{DropNoUser: 4, DropNoItem: 1})
			})
		}
	}
}

// TestLoadIDRule drops rows whose user or item id publish/keyid refuses,
// by reason, and counts them as unusable; event names keep their own
// rule. Ids are written both dictionary-encoded and PLAIN.
func TestLoadIDRule(t *testing.T) {
	long := strings.Repeat("x", MaxIDLen+1)
	tests := []struct {
		user, item string
		reason     string // "" when kept
	}{
		{"u1", "p1", ""},
		{"u1", "W{tag}", DropBadID},
		{"u1", "W*star", DropBadID},
		{"tab\tx", "p1", DropBadID},
		{"u1", "a\x01ctl", DropBadID},
		{"abc\u202Efdp.exe", "p1", DropBadID},
		{"u2", "W{tag}", DropBadID}, // the same bad id again
		{"u1", "", DropNoItem},
		{long, "p1", DropIDTooLong},
		{"u1", "p\xff", DropInvalidUTF8},
		{"u2", "café-ü 商品", ""},
	}
	n := len(tests)
	users, items, ev := make([]*string, n), make([]*string, n), make([]*string, n)
	for i, tt := range tests {
		users[i], items[i], ev[i] = str(tt.user), str(tt.item), str("Cart {Viewed}")
	}
	for _, dict := range []bool{true, false} {
		t.Run(fmt.Sprintf("dictionary=%v", dict), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "e.parquet")
			mustWriteArrow(t, path, []arrow.Field{
				{Name: "user_id", Type: arrow.BinaryTypes.Binary},
				{Name: "event", Type: arrow.BinaryTypes.String},
				{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
				{Name: "product_id", Type: arrow.BinaryTypes.Binary},
			}, []arrow.Array{binaryArray(users), stringArray(ev), timestampArray(n), binaryArray(items)},
				parquet.WithDictionaryDefault(dict))
			ds := loadBoth(t, Options{Events: []string{path}, Now: t0.Add(time.Hour)}, true)
			var want []string
			dropped := map[string]int64{}
			for i, tt := range tests {
				if tt.reason != "" {
					dropped[tt.reason]++
					continue
				}
				want = append(want, fmt.Sprintf("%s %s Cart {Viewed} %s", tt.user, tt.item,
					t0.Add(time.Duration(-i)*time.Minute).Format(time.RFC3339)))
			}
			wantEvents(t, ds, want)
			wantDropped(t, ds, dropped)
			if got, want := ds.Stats.Unusable(), int64(n-len(want)); got != want {
				t.Errorf("Unusable()=%d, want %d", got, want)
			}
		})
	}
}

// binaryArray builds a BINARY column: a STRING one could not hold the
// invalid UTF-8.
func binaryArray(vals []*string) arrow.Array {
	b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		b.AppendString(*v)
	}
	return b.NewArray()
}

// TestLoadPageChecksum flips one byte in the last page of a column chunk
// (parquet-go writes page CRCs): without the check the flipped index or
// byte could load as another id and exit 0; with it the load fails
// naming the file, row group and column.
func TestLoadPageChecksum(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	MustWriteParquet(t, good, sampleEvents(), 10)
	for _, col := range []string{"product_id", "user_id"} {
		t.Run(col, func(t *testing.T) {
			b, err := os.ReadFile(good)
			if err != nil {
				t.Fatal(err)
			}
			rdr, err := file.OpenParquetFile(good, false)
			if err != nil {
				t.Fatal(err)
			}
			cc, err := rdr.MetaData().RowGroup(0).ColumnChunk(rdr.MetaData().Schema.ColumnIndexByName(col))
			rdr.Close()
			if err != nil {
				t.Fatal(err)
			}
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() {
				start = cc.DictionaryPageOffset()
			}
			b[start+cc.TotalCompressedSize()-1] ^= 0x01
			path := filepath.Join(dir, col+".parquet")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Load(context.Background(), Options{Events: []string{path}, Now: t0.Add(time.Hour)})
			if err == nil {
				t.Fatal("Load succeeded, want a checksum error")
			}
			for _, w := range []string{path, "row group 0:", fmt.Sprintf("column %q", col), "checksum mismatch"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
