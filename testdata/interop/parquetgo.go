package interop

import (
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
)

var parquetGoCodecs = map[Codec]compress.Codec{
	Snappy: &parquet.Snappy, Gzip: &parquet.Gzip, Zstd: &parquet.Zstd,
	LZ4Raw: &parquet.Lz4Raw, Brotli: &parquet.Brotli, Uncompressed: &parquet.Uncompressed,
}

// writeParquetGo writes the shape's canonical rows with parquet-go.
func writeParquetGo(w io.Writer, s Shape, v Variant) error {
	switch s {
	case TracksShape:
		return parquetGoTracks(w, v)
	case OrderListShape:
		return parquetGoOrders(w, v, orderListRow)
	default:
		return parquetGoOrders(w, v, orderJSONRow)
	}
}

func parquetGoOptions(s Shape, v Variant) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		parquet.Compression(parquetGoCodecs[v.codec()]),
		parquet.MaxRowsPerRowGroup(int64(v.rowGroup(s))),
		parquet.CreatedBy("recopub interop suite", "parquet-go", ""),
	}
	if v.PageV2 {
		opts = append(opts, parquet.DataPageVersion(2))
	} else {
		opts = append(opts, parquet.DataPageVersion(1))
	}
	opts = append(opts, parquet.DataPageStatistics(!v.NoStats))
	if v.NoStats {
		opts = append(opts, parquet.SkipPageStatistics())
	}
	if v.Dict == DictSmall {
		opts = append(opts, parquet.DictionaryMaxBytes(512))
	}
	if v.PageSize > 0 {
		opts = append(opts, parquet.PageBufferSize(v.PageSize))
	}
	return opts
}

// tracksSchema is the flat events table with the variant's types and
// encodings, built node by node.
func tracksSchema(v Variant) *parquet.Schema {
	dict := func(n parquet.Node) parquet.Node {
		if v.Dict == DictOff {
			return parquet.Encoded(n, &parquet.Plain) // not parquet-go's default DELTA_LENGTH_BYTE_ARRAY
		}
		return parquet.Encoded(n, &parquet.RLEDictionary)
	}
	str := func() parquet.Node {
		switch v.Enc {
		case EncDelta:
			return parquet.Encoded(parquet.String(), &parquet.DeltaByteArray)
		case EncDeltaLength:
			return parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray)
		}
		return dict(parquet.String())
	}
	num := func(n parquet.Node, split bool) parquet.Node {
		switch {
		case v.Enc == EncDelta && n.Type().Kind() != parquet.Double:
			return parquet.Encoded(n, &parquet.DeltaBinaryPacked)
		case v.Enc == EncSplit && split:
			return parquet.Encoded(n, &parquet.ByteStreamSplit)
		}
		return n
	}
	var id parquet.Node
	switch {
	case v.IDs == Int32IDs && v.Enc != EncDefault:
		id = num(parquet.Int(32), true)
	case v.IDs == Int64IDs && v.Enc != EncDefault:
		id = num(parquet.Int(64), true)
	case v.IDs == Int32IDs:
		id = dict(parquet.Int(32))
	case v.IDs == Int64IDs:
		id = dict(parquet.Int(64))
	default:
		id = str()
	}
	var ts parquet.Node
	switch {
	case v.Time == TimeInt96:
		ts = parquet.Leaf(parquet.Int96Type)
	case v.Time == TimeEpochMs:
		ts = num(parquet.Int(64), false)
	case isISO(v.Time):
		ts = str()
	default:
		ts = num(parquet.TimestampAdjusted(timeUnit(v.Time), !v.Local), false)
	}
	return parquet.NewSchema("events", parquet.Group{
		"message_id":   str(),
		"user_id":      parquet.Optional(id),
		"anonymous_id": str(),
		"event":        str(),
		"timestamp":    parquet.Optional(ts),
		"product_id":   parquet.Optional(id),
		"quantity":     parquet.Optional(num(parquet.Int(64), false)),
		"weight":       parquet.Optional(num(parquet.Leaf(parquet.DoubleType), true)),
	})
}

func timeUnit(k TimeKind) parquet.TimeUnit {
	switch k {
	case TimeMillis:
		return parquet.Millisecond
	case TimeNanos:
		return parquet.Nanosecond
	}
	return parquet.Microsecond
}

func parquetGoTracks(w io.Writer, v Variant) error {
	schema := tracksSchema(v)
	col := func(name string) (int, int) {
		leaf, ok := schema.Lookup(name)
		if !ok {
			panic("no column " + name)
		}
		return leaf.ColumnIndex, leaf.MaxDefinitionLevel
	}
	names := []string{"message_id", "user_id", "anonymous_id", "event", "timestamp", "product_id", "quantity", "weight"}
	pw := parquet.NewWriter(w, append(parquetGoOptions(TracksShape, v), schema)...)
	for i, t := range Tracks() {
		vals := []parquet.Value{
			parquet.ByteArrayValue([]byte(t.MessageID)),
			pgUser(v.IDs, t.User, t.UserEmpty),
			parquet.ByteArrayValue([]byte(t.Anon)),
			parquet.ByteArrayValue([]byte(t.Event)),
			pgTime(v, i, t),
			pgID(v.IDs, t.Item, v.IDs.ItemText, v.IDs.ItemInt),
			pgOpt(t.Quantity, parquet.Int64Value),
			pgOpt(t.Weight, parquet.DoubleValue),
		}
		row := make(parquet.Row, len(vals))
		for k, val := range vals {
			c, maxDef := col(names[k])
			def := maxDef
			if val.IsNull() {
				def = 0
			}
			row[c] = val.Level(0, def, c)
		}
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return err
		}
	}
	return pw.Close()
}

func pgOpt[T any](p *T, f func(T) parquet.Value) parquet.Value {
	if p == nil {
		return parquet.NullValue()
	}
	return f(*p)
}

func pgUser(k IDKind, u int, empty bool) parquet.Value {
	if u < 0 && empty && k == StringIDs {
		return parquet.ByteArrayValue([]byte{})
	}
	return pgID(k, u, k.UserText, k.UserInt)
}

func pgID(k IDKind, idx int, text func(int) string, num func(int) int64) parquet.Value {
	switch {
	case idx < 0:
		return parquet.NullValue()
	case k == Int32IDs:
		return parquet.Int32Value(int32(num(idx)))
	case k == Int64IDs:
		return parquet.Int64Value(num(idx))
	}
	return parquet.ByteArrayValue([]byte(text(idx)))
}

func pgTime(v Variant, i int, t Track) parquet.Value {
	switch {
	case isISO(v.Time):
		return parquet.ByteArrayValue([]byte(ISOText(v.Time, i, t)))
	case t.BadTime:
		return parquet.NullValue()
	case v.Time == TimeInt96:
		return parquet.Int96Value(Int96(t.Time))
	case v.Time == TimeEpochMs || v.Time == TimeMillis:
		return parquet.Int64Value(t.Time.UnixMilli())
	case v.Time == TimeNanos:
		return parquet.Int64Value(t.Time.UnixNano())
	}
	return parquet.Int64Value(t.Time.UnixMicro())
}

// Int96 is t as Impala, Hive and Spark store timestamps: nanoseconds of
// the day in the low 8 bytes, the Julian day in the high 4.
func Int96(t time.Time) deprecated.Int96 {
	const unixJulianDay = 2440588
	ns := t.UnixNano()
	day, nanos := ns/int64(24*time.Hour), ns%int64(24*time.Hour)
	if nanos < 0 {
		day, nanos = day-1, nanos+int64(24*time.Hour)
	}
	return deprecated.Int96{uint32(nanos), uint32(uint64(nanos) >> 32), uint32(day + unixJulianDay)}
}

// Order rows as parquet-go writes them from Go structs: products as a
// LIST of STRUCT or as JSON text.
type (
	pgProduct struct {
		ProductID *string `parquet:"product_id,optional"`
		SKU       string  `parquet:"sku"`
		Quantity  *int64  `parquet:"quantity,optional"`
		Price     float64 `parquet:"price"`
	}
	pgOrderList struct {
		MessageID   string      `parquet:"message_id"`
		UserID      *string     `parquet:"user_id,optional"`
		AnonymousID string      `parquet:"anonymous_id"`
		Event       string      `parquet:"event"`
		Timestamp   *time.Time  `parquet:"timestamp,timestamp(microsecond)"`
		Products    []pgProduct `parquet:"products,optional,list"`
	}
	pgOrderJSON struct {
		MessageID   string     `parquet:"message_id"`
		UserID      *string    `parquet:"user_id,optional"`
		AnonymousID string     `parquet:"anonymous_id"`
		Event       string     `parquet:"event"`
		Timestamp   *time.Time `parquet:"timestamp,timestamp(microsecond)"`
		Products    *string    `parquet:"products,optional"`
	}
	// The same with INT96 times.
	pgOrderListInt96 struct {
		MessageID   string            `parquet:"message_id"`
		UserID      *string           `parquet:"user_id,optional"`
		AnonymousID string            `parquet:"anonymous_id"`
		Event       string            `parquet:"event"`
		Timestamp   *deprecated.Int96 `parquet:"timestamp,optional"`
		Products    []pgProduct       `parquet:"products,optional,list"`
	}
	pgOrderJSONInt96 struct {
		MessageID   string            `parquet:"message_id"`
		UserID      *string           `parquet:"user_id,optional"`
		AnonymousID string            `parquet:"anonymous_id"`
		Event       string            `parquet:"event"`
		Timestamp   *deprecated.Int96 `parquet:"timestamp,optional"`
		Products    *string           `parquet:"products,optional"`
	}
)

// orderFields are the values of one order row, typed for the structs above.
type orderFields struct {
	user *string
	o    Order
}

func orderListRow(f orderFields, v Variant) any {
	var ps []pgProduct
	if f.o.Products != nil {
		ps = []pgProduct{}
		for _, p := range f.o.Products {
			var id *string
			if p.Item >= 0 {
				id = ptr(StringIDs.ItemText(p.Item))
			}
			ps = append(ps, pgProduct{id, p.SKU, p.Quantity, p.Price})
		}
	}
	if v.Time == TimeInt96 {
		return pgOrderListInt96{f.o.MessageID, f.user, f.o.Anon, OrderEvent, int96Ptr(f.o), ps}
	}
	return pgOrderList{f.o.MessageID, f.user, f.o.Anon, OrderEvent, timePtr(f.o), ps}
}

func orderJSONRow(f orderFields, v Variant) any {
	js := ProductsJSON(f.o.Products)
	if v.Time == TimeInt96 {
		return pgOrderJSONInt96{f.o.MessageID, f.user, f.o.Anon, OrderEvent, int96Ptr(f.o), js}
	}
	return pgOrderJSON{f.o.MessageID, f.user, f.o.Anon, OrderEvent, timePtr(f.o), js}
}

func timePtr(o Order) *time.Time {
	if o.BadTime {
		return nil
	}
	return ptr(o.Time.UTC())
}

func int96Ptr(o Order) *deprecated.Int96 {
	if o.BadTime {
		return nil
	}
	return ptr(Int96(o.Time))
}

func parquetGoOrders(w io.Writer, v Variant, row func(orderFields, Variant) any) error {
	var rows []any
	for _, o := range Orders() {
		var user *string
		switch {
		case o.User >= 0:
			user = ptr(StringIDs.UserText(o.User))
		case o.UserEmpty:
			user = ptr("")
		}
		rows = append(rows, row(orderFields{user, o}, v))
	}
	var tags []parquet.SchemaOption
	for col, tag := range dictTags {
		if v.Dict == DictOff {
			tag = strings.Replace(tag, ",dict", ",plain", 1)
		}
		tags = append(tags, parquet.StructTag(reflect.StructTag(tag), col))
	}
	schema := parquet.SchemaOf(rows[0], tags...)
	pw := parquet.NewWriter(w, append(parquetGoOptions(OrderListShape, v), schema)...)
	for _, r := range rows {
		if err := pw.Write(r); err != nil {
			return err
		}
	}
	return pw.Close()
}

// dictTags dictionary-encode the string columns of the order structs
// (parquet-go writes DELTA_LENGTH_BYTE_ARRAY unless told), by Go field.
var dictTags = map[string]string{
	"MessageID":   `parquet:"message_id,dict"`,
	"UserID":      `parquet:"user_id,optional,dict"`,
	"AnonymousID": `parquet:"anonymous_id,dict"`,
	"Event":       `parquet:"event,dict"`,
}
