package interop

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var arrowCodecs = map[Codec]compress.Compression{
	Snappy: compress.Codecs.Snappy, Gzip: compress.Codecs.Gzip, Zstd: compress.Codecs.Zstd,
	LZ4Raw: compress.Codecs.Lz4Raw, Brotli: compress.Codecs.Brotli, Uncompressed: compress.Codecs.Uncompressed,
}

// writeArrow writes the shape's canonical rows with arrow-go's pqarrow.
func writeArrow(w io.Writer, s Shape, v Variant) error {
	mem := memory.NewGoAllocator()
	var rec arrow.RecordBatch
	switch s {
	case TracksShape:
		rec = arrowTracks(mem, v)
	default:
		rec = arrowOrders(mem, s, v)
	}
	defer rec.Release()
	fw, err := pqarrow.NewFileWriter(rec.Schema(), w, arrowProps(s, v), arrowWriterProps(v))
	if err != nil {
		return err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return err
	}
	return fw.Close()
}

func arrowWriterProps(v Variant) pqarrow.ArrowWriterProperties {
	opts := []pqarrow.WriterOption{pqarrow.WithStoreSchema()}
	if v.Time == TimeInt96 {
		opts = append(opts, pqarrow.WithDeprecatedInt96Timestamps(true))
	}
	return pqarrow.NewArrowWriterProperties(opts...)
}

func arrowProps(s Shape, v Variant) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(arrowCodecs[v.codec()]),
		parquet.WithStats(!v.NoStats),
		parquet.WithMaxRowGroupLength(int64(v.rowGroup(s))),
		parquet.WithDictionaryDefault(v.Dict != DictOff),
		parquet.WithCreatedBy("recopub interop suite (arrow-go)"),
	}
	if v.PageV2 {
		opts = append(opts, parquet.WithDataPageVersion(parquet.DataPageV2))
	}
	if v.Dict == DictSmall {
		// Checked between batches: small batches fall back mid-chunk, once
		// arrow-go's check that a dictionary saves space is off.
		opts = append(opts, parquet.WithDictionaryPageSizeLimit(512), parquet.WithBatchSize(16))
		for _, c := range []string{"message_id", "anonymous_id", "user_id", "product_id"} {
			opts = append(opts, parquet.WithDictionaryCostFallbackFor(c, false))
		}
	}
	if v.PageSize > 0 {
		// Page sizes are checked between batches of values.
		opts = append(opts, parquet.WithDataPageSize(int64(v.PageSize)), parquet.WithBatchSize(16))
	}
	ints, strs := []string{"timestamp", "quantity"}, []string{"message_id", "anonymous_id", "event"}
	if v.IDs == StringIDs {
		strs = append(strs, "user_id", "product_id")
	} else {
		ints = append(ints, "user_id", "product_id")
	}
	switch v.Enc {
	case EncDelta:
		opts = withEncoding(opts, parquet.Encodings.DeltaBinaryPacked, ints...)
		opts = withEncoding(opts, parquet.Encodings.DeltaByteArray, strs...)
	case EncDeltaLength:
		opts = withEncoding(opts, parquet.Encodings.DeltaLengthByteArray, strs...)
	case EncSplit:
		opts = withEncoding(opts, parquet.Encodings.ByteStreamSplit, "weight")
		if v.IDs != StringIDs {
			opts = withEncoding(opts, parquet.Encodings.ByteStreamSplit, "user_id", "product_id")
		}
	}
	return parquet.NewWriterProperties(opts...)
}

func withEncoding(opts []parquet.WriterProperty, e parquet.Encoding, cols ...string) []parquet.WriterProperty {
	for _, c := range cols {
		opts = append(opts, parquet.WithEncodingFor(c, e), parquet.WithDictionaryFor(c, false))
	}
	return opts
}

// arrowTimeType is the Arrow type of the timestamp column.
func arrowTimeType(v Variant) arrow.DataType {
	tz := "UTC"
	if v.Local {
		tz = ""
	}
	switch v.Time {
	case TimeSeconds:
		return &arrow.TimestampType{Unit: arrow.Second, TimeZone: tz}
	case TimeMillis:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: tz}
	case TimeNanos, TimeInt96:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: tz}
	case TimeEpochMs:
		return arrow.PrimitiveTypes.Int64
	}
	if isISO(v.Time) {
		return arrow.BinaryTypes.String
	}
	return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: tz}
}

func arrowIDType(k IDKind) arrow.DataType {
	switch k {
	case Int32IDs:
		return arrow.PrimitiveTypes.Int32
	case Int64IDs:
		return arrow.PrimitiveTypes.Int64
	}
	return arrow.BinaryTypes.String
}

// appendTime appends t (or null) to a builder of arrowTimeType(v).
func appendTime(b array.Builder, v Variant, i int, t Track) {
	if isISO(v.Time) {
		b.(*array.StringBuilder).Append(ISOText(v.Time, i, t))
		return
	}
	if t.BadTime {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		b.Append(t.Time.UnixMilli())
	case *array.TimestampBuilder:
		unit := b.Type().(*arrow.TimestampType).Unit
		ts, err := arrow.TimestampFromTime(t.Time, unit)
		if err != nil {
			panic(err)
		}
		b.Append(ts)
	}
}

// appendID appends an id (or null when idx < 0) to a builder of arrowIDType.
func appendID(b array.Builder, idx int, text func(int) string, num func(int) int64) {
	if idx < 0 {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(text(idx))
	case *array.Int32Builder:
		b.Append(int32(num(idx)))
	case *array.Int64Builder:
		b.Append(num(idx))
	}
}

// appendUser appends the user id column's value of a row.
func appendUser(b array.Builder, k IDKind, u int, empty bool) {
	if u < 0 && empty && k == StringIDs {
		b.(*array.StringBuilder).Append("")
		return
	}
	appendID(b, u, k.UserText, k.UserInt)
}

func arrowTracks(mem memory.Allocator, v Variant) arrow.RecordBatch {
	idt := arrowIDType(v.IDs)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "message_id", Type: arrow.BinaryTypes.String},
		{Name: "user_id", Type: idt, Nullable: true},
		{Name: "anonymous_id", Type: arrow.BinaryTypes.String},
		{Name: "event", Type: arrow.BinaryTypes.String},
		{Name: "timestamp", Type: arrowTimeType(v), Nullable: true},
		{Name: "product_id", Type: idt, Nullable: true},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, t := range Tracks() {
		b.Field(0).(*array.StringBuilder).Append(t.MessageID)
		appendUser(b.Field(1), v.IDs, t.User, t.UserEmpty)
		b.Field(2).(*array.StringBuilder).Append(t.Anon)
		b.Field(3).(*array.StringBuilder).Append(t.Event)
		appendTime(b.Field(4), v, i, t)
		appendID(b.Field(5), t.Item, v.IDs.ItemText, v.IDs.ItemInt)
		appendOpt(b.Field(6).(*array.Int64Builder), t.Quantity)
		appendOpt(b.Field(7).(*array.Float64Builder), t.Weight)
	}
	return b.NewRecordBatch()
}

type appender[T any] interface {
	Append(T)
	AppendNull()
}

func appendOpt[T any](b appender[T], p *T) {
	if p == nil {
		b.AppendNull()
		return
	}
	b.Append(*p)
}

// productType is the element of an order's products list.
var productType = arrow.StructOf(
	arrow.Field{Name: "product_id", Type: arrow.BinaryTypes.String, Nullable: true},
	arrow.Field{Name: "sku", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "quantity", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	arrow.Field{Name: "price", Type: arrow.PrimitiveTypes.Float64},
)

func arrowOrders(mem memory.Allocator, s Shape, v Variant) arrow.RecordBatch {
	prodType := arrow.DataType(arrow.ListOf(productType))
	if s == OrderJSONShape {
		prodType = arrow.BinaryTypes.String
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "message_id", Type: arrow.BinaryTypes.String},
		{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "anonymous_id", Type: arrow.BinaryTypes.String},
		{Name: "event", Type: arrow.BinaryTypes.String},
		{Name: "timestamp", Type: arrowTimeType(v), Nullable: true},
		{Name: "products", Type: prodType, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, o := range Orders() {
		b.Field(0).(*array.StringBuilder).Append(o.MessageID)
		appendUser(b.Field(1), StringIDs, o.User, o.UserEmpty)
		b.Field(2).(*array.StringBuilder).Append(o.Anon)
		b.Field(3).(*array.StringBuilder).Append(OrderEvent)
		appendTime(b.Field(4), v, i, Track{Time: o.Time, BadTime: o.BadTime})
		switch pb := b.Field(5).(type) {
		case *array.StringBuilder:
			appendOpt(pb, ProductsJSON(o.Products))
		case *array.ListBuilder:
			appendProducts(pb, o.Products)
		}
	}
	return b.NewRecordBatch()
}

func appendProducts(lb *array.ListBuilder, ps []Product) {
	if ps == nil {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	sb := lb.ValueBuilder().(*array.StructBuilder)
	for _, p := range ps {
		sb.Append(true)
		appendID(sb.FieldBuilder(0), p.Item, StringIDs.ItemText, nil)
		sb.FieldBuilder(1).(*array.StringBuilder).Append(p.SKU)
		appendOpt(sb.FieldBuilder(2).(*array.Int64Builder), p.Quantity)
		sb.FieldBuilder(3).(*array.Float64Builder).Append(p.Price)
	}
}

// ProductsJSON is an order's products as RudderStack's warehouse writes
// them: a JSON array of objects, null for a null list. Keys of null values
// are left out, and every fifth quantity is a numeric string, as some
// sources send it.
func ProductsJSON(ps []Product) *string {
	if ps == nil {
		return nil
	}
	elems := make([]map[string]any, 0, len(ps))
	for k, p := range ps {
		m := map[string]any{"sku": p.SKU, "price": p.Price}
		if p.Item >= 0 {
			m["product_id"] = StringIDs.ItemText(p.Item)
		}
		if p.Quantity != nil {
			m["quantity"] = *p.Quantity
			if k%5 == 4 {
				m["quantity"] = fmt.Sprint(*p.Quantity)
			}
		}
		elems = append(elems, m)
	}
	b, err := json.Marshal(elems)
	if err != nil {
		panic(err)
	}
	s := string(b)
	return &s
}
