package interop

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Shape is the table layout of a file.
type Shape int

// The shapes: one item per row, or orders with their products as a LIST
// of STRUCT or as RudderStack's JSON text.
const (
	TracksShape Shape = iota
	OrderListShape
	OrderJSONShape
)

func (s Shape) String() string { return [...]string{"tracks", "orders", "orderjson"}[s] }

// Codec is a Parquet compression codec.
type Codec string

// The codecs users meet.
const (
	Snappy       Codec = "snappy"
	Gzip         Codec = "gzip"
	Zstd         Codec = "zstd"
	LZ4Raw       Codec = "lz4_raw"
	Brotli       Codec = "brotli"
	Uncompressed Codec = "none"
)

// Codecs lists every codec.
var Codecs = []Codec{Snappy, Gzip, Zstd, LZ4Raw, Brotli, Uncompressed}

// DictMode says how a writer dictionary-encodes columns.
type DictMode int

// Dictionary modes: DictSmall limits the dictionary page to a few hundred
// bytes, so the writer falls back to PLAIN in the middle of a column chunk.
const (
	DictOn DictMode = iota
	DictOff
	DictSmall
)

// Enc is the value encoding asked for the id and number columns, beyond
// what the dictionary mode gives.
type Enc int

// Encodings: Delta is DELTA_BINARY_PACKED on integer columns and
// DELTA_BYTE_ARRAY on strings; DeltaLength is DELTA_LENGTH_BYTE_ARRAY on
// strings; Split is BYTE_STREAM_SPLIT on the weight (DOUBLE) and, where
// the writer allows it, on integer columns.
const (
	EncDefault Enc = iota
	EncDelta
	EncDeltaLength
	EncSplit
)

// TimeKind is how the timestamp column is typed.
type TimeKind int

// The time kinds. The ISO text kinds write each row with a different
// offset, so a reader that ignores the offset gets the time wrong.
const (
	TimeMicros   TimeKind = iota // TIMESTAMP(MICROS)
	TimeSeconds                  // Arrow timestamp[s] (Parquet stores it as MILLIS)
	TimeMillis                   // TIMESTAMP(MILLIS)
	TimeNanos                    // TIMESTAMP(NANOS)
	TimeInt96                    // INT96, as Spark and Hive write it
	TimeEpochMs                  // plain INT64 milliseconds since the epoch
	TimeISOZ                     // 2025-02-09T06:39:06.299Z
	TimeISOHH                    // 2025-02-09T11:39:06.299+05
	TimeISOHHMM                  // 2025-02-09T12:09:06.299+0530
	TimeISOColon                 // 2025-02-09T12:09:06.299+05:30
	TimeISOSpace                 // 2025-02-09 06:39:06.299+00 (DuckDB's TIMESTAMPTZ text)
	TimeISONaive                 // 2025-02-09 06:39:06.299 (no zone: UTC)
)

// Variant is one combination of writer settings.
type Variant struct {
	Codec    Codec // default Snappy
	PageV2   bool
	NoStats  bool
	Dict     DictMode
	Enc      Enc
	IDs      IDKind
	Time     TimeKind
	Local    bool // TIMESTAMP with isAdjustedToUTC = false
	PageSize int  // bytes per data page; 0: the writer's default
	RowGroup int  // rows per row group; 0: TrackGroup or OrderGroup
}

func (v Variant) codec() Codec {
	if v.Codec == "" {
		return Snappy
	}
	return v.Codec
}

func (v Variant) rowGroup(s Shape) int {
	switch {
	case v.RowGroup > 0:
		return v.RowGroup
	case s == TracksShape:
		return TrackGroup
	}
	return OrderGroup
}

// Writer names a library that writes Parquet.
type Writer string

// The Go writers; the Node writers are in node/write.mjs.
const (
	ArrowGo   Writer = "arrowgo"
	ParquetGo Writer = "parquetgo"
)

// Case is one file of the suite.
type Case struct {
	Name    string // the file name, unique: writer_shape_variant.parquet
	Writer  Writer
	Shape   Shape
	Variant Variant
}

// Write writes the case's file into dir and returns its path.
func (c Case) Write(dir string) (path string, err error) {
	defer func() {
		if r := recover(); r != nil { // the writers panic on options they refuse
			err = fmt.Errorf("write %s: %v", c.Name, r)
		}
	}()
	path = filepath.Join(dir, c.Name)
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	switch c.Writer {
	case ArrowGo:
		err = writeArrow(struct{ io.Writer }{f}, c.Shape, c.Variant) // pqarrow closes what it can
	case ParquetGo:
		err = writeParquetGo(f, c.Shape, c.Variant)
	default:
		err = fmt.Errorf("unknown writer %q", c.Writer)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", c.Name, err)
	}
	return path, nil
}

// Cases lists every Go-written file of the suite.
func Cases() []Case {
	var out []Case
	add := func(w Writer, s Shape, name string, v Variant) {
		out = append(out, Case{Name: fmt.Sprintf("%s_%s_%s.parquet", w, s, name), Writer: w, Shape: s, Variant: v})
	}
	for _, w := range []Writer{ArrowGo, ParquetGo} {
		for _, c := range Codecs {
			add(w, TracksShape, "codec_"+string(c), Variant{Codec: c})
		}
		add(w, TracksShape, "pagev2", Variant{PageV2: true})
		add(w, TracksShape, "pagev2_nostats", Variant{PageV2: true, NoStats: true})
		add(w, TracksShape, "pagev1_nostats", Variant{NoStats: true})
		add(w, TracksShape, "dict_off", Variant{Dict: DictOff})
		add(w, TracksShape, "dict_small", Variant{Dict: DictSmall, PageSize: 1024, RowGroup: 600})
		add(w, TracksShape, "dict_small_pagev2", Variant{Dict: DictSmall, PageSize: 1024, RowGroup: 600, PageV2: true})
		for _, ids := range []IDKind{StringIDs, Int32IDs, Int64IDs} {
			add(w, TracksShape, "ids_"+ids.String(), Variant{IDs: ids})
			add(w, TracksShape, "ids_"+ids.String()+"_plain", Variant{IDs: ids, Dict: DictOff})
			add(w, TracksShape, "ids_"+ids.String()+"_delta", Variant{IDs: ids, Dict: DictOff, Enc: EncDelta})
			add(w, TracksShape, "ids_"+ids.String()+"_delta_pagev2", Variant{IDs: ids, Dict: DictOff, Enc: EncDelta, PageV2: true})
		}
		add(w, TracksShape, "ids_string_deltalength", Variant{Dict: DictOff, Enc: EncDeltaLength})
		add(w, TracksShape, "byte_stream_split", Variant{Dict: DictOff, Enc: EncSplit})
		add(w, TracksShape, "byte_stream_split_int64", Variant{IDs: Int64IDs, Dict: DictOff, Enc: EncSplit})
		add(w, TracksShape, "pages_1k", Variant{PageSize: 1024, RowGroup: 600})
		add(w, TracksShape, "pages_1k_pagev2_nostats", Variant{PageSize: 1024, RowGroup: 600, PageV2: true, NoStats: true})
		add(w, TracksShape, "pages_1k_dict_small_zstd", Variant{PageSize: 1024, RowGroup: 600, Dict: DictSmall, Codec: Zstd})
		add(w, TracksShape, "rowgroups_4", Variant{RowGroup: 4})
		add(w, TracksShape, "rowgroups_7_pagev2_nostats", Variant{RowGroup: 7, PageV2: true, NoStats: true})
		for _, t := range []struct {
			name string
			kind TimeKind
		}{{"millis", TimeMillis}, {"micros", TimeMicros}, {"nanos", TimeNanos}} {
			add(w, TracksShape, "time_"+t.name+"_utc", Variant{Time: t.kind})
			add(w, TracksShape, "time_"+t.name+"_local", Variant{Time: t.kind, Local: true})
		}
		add(w, TracksShape, "time_int96", Variant{Time: TimeInt96})
		add(w, TracksShape, "time_epoch_ms", Variant{Time: TimeEpochMs})
		add(w, TracksShape, "time_epoch_ms_delta", Variant{Time: TimeEpochMs, Enc: EncDelta, Dict: DictOff})
		for _, t := range isoKinds {
			add(w, TracksShape, "time_"+t.name, Variant{Time: t.kind})
		}
		for _, s := range []Shape{OrderListShape, OrderJSONShape} {
			add(w, s, "codec_snappy", Variant{})
			add(w, s, "codec_zstd_dict_off", Variant{Codec: Zstd, Dict: DictOff})
			add(w, s, "pagev2_nostats", Variant{PageV2: true, NoStats: true})
			add(w, s, "pages_1k_gzip", Variant{PageSize: 1024, RowGroup: NumOrders, Codec: Gzip})
			add(w, s, "rowgroups_3", Variant{RowGroup: 3})
			add(w, s, "time_int96", Variant{Time: TimeInt96})
		}
	}
	// Arrow's second unit and local-time seconds exist only in arrow-go.
	add(ArrowGo, TracksShape, "time_seconds_utc", Variant{Time: TimeSeconds})
	add(ArrowGo, TracksShape, "time_seconds_local", Variant{Time: TimeSeconds, Local: true})
	return out
}

var isoKinds = []struct {
	name string
	kind TimeKind
}{
	{"iso_z", TimeISOZ}, {"iso_hh", TimeISOHH}, {"iso_hhmm", TimeISOHHMM},
	{"iso_hh_colon", TimeISOColon}, {"iso_space", TimeISOSpace}, {"iso_naive", TimeISONaive},
}

// isoOffsets are the zone offsets, in minutes, each ISO kind cycles
// through; ±hh can only say whole hours.
var isoOffsets = map[TimeKind][]int{
	TimeISOHH:    {0, 5 * 60, -3 * 60, 14 * 60, -12 * 60},
	TimeISOHHMM:  {0, 5*60 + 30, -(9*60 + 30), 12*60 + 45},
	TimeISOColon: {0, 5*60 + 30, -(3 * 60), -(9*60 + 30)},
	TimeISOSpace: {0, 60, -(5 * 60)},
}

// ISOText renders the i-th row's time as the kind's text; badTime rows get
// text no ISO parser accepts.
func ISOText(k TimeKind, i int, t Track) string {
	if t.BadTime {
		return "not a time"
	}
	tm := t.Time.UTC()
	offs := isoOffsets[k]
	if len(offs) > 0 {
		off := offs[i%len(offs)]
		tm = tm.In(time.FixedZone("", off*60))
	}
	frac := ".000"
	if i%3 == 0 {
		frac = "" // a whole second in some rows, as JavaScript and Go print them
		tm = tm.Truncate(1e9)
	}
	switch k {
	case TimeISOZ:
		return tm.Format("2006-01-02T15:04:05" + frac + "Z")
	case TimeISOHH:
		return tm.Format("2006-01-02T15:04:05" + frac + "-07")
	case TimeISOHHMM:
		return tm.Format("2006-01-02T15:04:05" + frac + "-0700")
	case TimeISOColon:
		return tm.Format("2006-01-02T15:04:05" + frac + "-07:00")
	case TimeISOSpace:
		return tm.Format("2006-01-02 15:04:05" + frac + "-07")
	case TimeISONaive:
		return tm.Format("2006-01-02 15:04:05" + frac)
	}
	panic(fmt.Sprintf("time kind %d is not text", k))
}

func isISO(k TimeKind) bool { return k >= TimeISOZ }
