package features

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
)

// Fuzz targets for everything that decodes input: the RLE/bit-packing and
// delta decoders (round trips against parquet-go's encoders), page
// headers, whole event files (mutated fixtures through both read paths),
// ISO times and JSON items (against time.Parse and encoding/json). Seeds
// are in testdata/fuzz/<target>/; run one with
//
//	go test ./features -run XXX -fuzz FuzzDecodeFile -fuzztime 60s -fuzzminimizetime 5s
//
// (By default each new interesting input is minimized for up to 60s, which
// on inputs of a few kilobytes leaves no time to fuzz.)

// FuzzHybrid round-trips values through parquet-go's RLE encoder and
// decodes arbitrary bytes without panicking.
func FuzzHybrid(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0})
	f.Add([]byte{0})
	f.Add([]byte{32, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		w := int(data[0] % 33)
		// Arbitrary bytes: errors are fine, panics are not.
		if h, err := newHybrid(data[1:], w); err == nil {
			_ = h.decode(make([]uint32, min(4*len(data), 1<<12)))
		}
		if w == 0 {
			return
		}
		vals := make([]int32, 0, len(data))
		for i := 1; i < len(data); i++ {
			v := uint32(data[i]) * 0x01010101 >> (i % 8)
			if w < 32 {
				v &= 1<<w - 1
			}
			vals = append(vals, int32(v))
		}
		enc, err := (&rle.Encoding{BitWidth: w}).EncodeInt32(nil, vals)
		if err != nil {
			t.Skip(err)
		}
		h, err := newHybrid(enc, w)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]uint32, len(vals))
		if err := h.decode(got); err != nil {
			t.Fatalf("width %d: %v", w, err)
		}
		for i := range vals {
			if got[i] != uint32(vals[i]) {
				t.Fatalf("width %d: value %d is %d, want %d", w, i, got[i], uint32(vals[i]))
			}
		}
	})
}

// FuzzDelta round-trips int64 values through parquet-go's
// DELTA_BINARY_PACKED encoder and decodes arbitrary bytes without
// panicking.
func FuzzDelta(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(bytes.Repeat([]byte{0x80, 0x7f}, 300))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = decodeDelta(data, nil, 1<<12)
		var vals []int64
		for len(data) >= 3 {
			v := int64(int16(binary.LittleEndian.Uint16(data))) << (data[2] % 64)
			vals, data = append(vals, v), data[3:]
		}
		enc, err := (&delta.BinaryPackedEncoding{}).EncodeInt64(nil, vals)
		if err != nil {
			t.Skip(err)
		}
		got, rest, err := decodeDelta(enc, nil, len(vals))
		if err != nil {
			t.Fatalf("%v for %v", err, vals)
		}
		if len(rest) != 0 {
			t.Errorf("%d bytes left after the values", len(rest))
		}
		if !reflect.DeepEqual(got, vals) && len(vals) > 0 {
			t.Fatalf("got %v, want %v", got, vals)
		}
	})
}

// FuzzPageHeader parses arbitrary page headers and walks arbitrary column
// chunks without panicking.
func FuzzPageHeader(f *testing.F) {
	f.Add([]byte{0x15, 0x00, 0x15, 0x10, 0x15, 0x10, 0x2c, 0x15, 0x04, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00})
	f.Add([]byte{0x19, 0xfc, 0x0f, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var h pageHeader
		_, _ = h.parse(data)
		for _, c := range []codecName{"uncompressed", "snappy", "gzip", "zstd"} {
			r := pageReader{chunk: data}
			r.codec, r.plain = c.codec(t)
			for range 8 {
				if r.next() != nil {
					break
				}
			}
		}
	})
}

// FuzzDecodeFile loads mutated event files through both read paths:
// errors are expected, panics are not. The fast path runs without the
// recover that turns panics into errors.
func FuzzDecodeFile(f *testing.F) {
	for _, name := range []string{"tracks/events/part-00000.parquet", "tracks_arrow/events/part-00000.parquet",
		"order_list/events/part-00000.parquet", "order_json/events/part-00000.parquet", "time/events/e_iso.parquet"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "ingest", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasPrefix(name, "order"))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, orders bool) {
		path := filepath.Join(dir, "f.parquet")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		recoverFastPath = false
		defer func() { recoverFastPath = true }()
		for _, arrowOnly := range []bool{false, true} {
			opt := Options{Events: []string{path}, Now: t0.Add(24 * time.Hour), Workers: 1, arrowOnly: arrowOnly}
			if orders {
				opt.ItemCol, opt.QuantityCol = "products.product_id", "products.quantity"
			}
			ds, err := Load(context.Background(), opt)
			if err == nil && ds.Stats.Kept+ds.Stats.DroppedTotal() != ds.Stats.Read {
				t.Fatalf("kept %d + dropped %d != read %d", ds.Stats.Kept, ds.Stats.DroppedTotal(), ds.Stats.Read)
			}
		}
	})
}

// FuzzParseTime checks the hand-written ISO-8601 parser against the
// time.Parse layouts it shortcuts.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-01T12:00:05Z", "2026-11-01T12:00:06.123456Z", "2026-11-01 12:00:07",
		"2026-11-01T13:00:08+01:00", "2026-11-01", "2026-02-29", "2024-02-29T23:59:59.999999999-23:59",
		"0000-01-01T00:00:00Z", "2026-11-01 12:00:09.5 +0000 UTC", "2026-13-01", "2026-11-01T24:00:00Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := parseTime(s), parseTimeSlow(s); got != want {
			t.Fatalf("parseTime(%q)=%d, time.Parse gives %d", s, got, want)
		}
	})
}

// FuzzJSONItems checks parseJSONItems against encoding/json: the same
// texts are valid, and the same ids and quantities come out.
func FuzzJSONItems(f *testing.F) {
	for _, s := range []string{
		`[{"product_id":"p1","sku":"s","quantity":2,"price":9.5},{"product_id":17850,"quantity":"3"}]`,
		`{"product_id":"p\u00e9\ud83d\ude00","quantity":null}`, `null`, `[]`, `[null,1,"x",[{"product_id":"no"}]]`,
		`[{"product_id":"a","product_id":"b","quantity":true}]`, `[{"product_id":1.50,"quantity":-1e3}]`,
		`[{"nested":{"product_id":"n"}}]`, `[{"product_id":"\ud800"}]`, ` [ { } ] `, `[{"a":[1,{"b":[]}]}]`,
		`[{"product_id":"x"}`, `[01]`, `[1.]`, `{"a":1,}`, `["\x01"]`, `[{"product_id":12345678901234567890}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := parseJSONItems([]byte(s), []string{"product_id"}, []string{"quantity"}, nil)
		if !utf8.ValidString(s) {
			return // encoding/json replaces invalid UTF-8; parseJSONItems keeps the bytes
		}
		want, werr := referenceItems(s)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: err=%v, encoding/json: %v", s, err, werr)
		}
		if err == nil && !reflect.DeepEqual(items, want) && !(len(items) == 0 && len(want) == 0) {
			t.Fatalf("%q:\n got %+v\nwant %+v", s, items, want)
		}
	})
}

type codecName string

func (c codecName) codec(t *testing.T) (compress.Codec, bool) {
	kind := map[codecName]compress.Compression{"uncompressed": compress.Codecs.Uncompressed,
		"snappy": compress.Codecs.Snappy, "gzip": compress.Codecs.Gzip, "zstd": compress.Codecs.Zstd}[c]
	codec, err := compress.GetCodec(kind)
	if err != nil {
		t.Fatal(err)
	}
	return codec, c == "uncompressed"
}

// referenceItems is parseJSONItems written with encoding/json.
func referenceItems(s string) ([]jsonItem, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if rest := s[d.InputOffset():]; strings.Trim(rest, " \t\n\r") != "" {
		return nil, fmt.Errorf("trailing data %q", rest)
	}
	var elems []any
	switch x := v.(type) {
	case nil:
	case []any:
		elems = x
	case map[string]any:
		elems = []any{x}
	default:
		return nil, fmt.Errorf("not an array or object")
	}
	var out []jsonItem
	for _, e := range elems {
		var it jsonItem
		if m, ok := e.(map[string]any); ok {
			switch id := m["product_id"].(type) {
			case string:
				it.id, it.hasID = id, true
			case json.Number:
				it.id, it.hasID = string(id), true
				if strings.ContainsAny(string(id), ".eE") {
					f, _ := strconv.ParseFloat(string(id), 64)
					it.id = JSNumber(f)
				}
			}
			switch q := m["quantity"].(type) {
			case nil:
			case json.Number:
				it.qty, _ = strconv.ParseFloat(string(q), 64)
				it.hasQty = true
			case string:
				f, err := strconv.ParseFloat(q, 64)
				it.qty, it.hasQty, it.badQty = f, err == nil, err != nil
			default:
				it.badQty = true
			}
		}
		out = append(out, it)
	}
	return out, nil
}

func TestJSONItemsWeight(t *testing.T) {
	for _, tt := range []struct {
		in   jsonItem
		want float32
	}{{jsonItem{}, 1}, {jsonItem{qty: 3, hasQty: true}, 3}} {
		if got := tt.in.weight(); got != tt.want {
			t.Errorf("%+v.weight()=%v, want %v", tt.in, got, tt.want)
		}
	}
	if w := (jsonItem{badQty: true}).weight(); !math.IsNaN(float64(w)) {
		t.Errorf("bad quantity weight %v, want NaN", w)
	}
}

// TestLoadMutatedFiles is FuzzDecodeFile's loop run as a plain test: a few
// hundred fixtures with random bytes overwritten, each loaded through both
// paths within a deadline. The fast path runs without its recover.
func TestLoadMutatedFiles(t *testing.T) {
	seeds := []string{"tracks/events/part-00000.parquet", "tracks_arrow/events/part-00000.parquet",
		"order_list/events/part-00000.parquet", "order_json/events/part-00000.parquet", "time/events/e_iso.parquet"}
	r := rand.New(rand.NewPCG(3, 5))
	path := filepath.Join(t.TempDir(), "f.parquet")
	recoverFastPath = false
	defer func() { recoverFastPath = true }()
	for range 300 {
		name := seeds[r.IntN(len(seeds))]
		b, err := os.ReadFile(filepath.Join("..", "testdata", "ingest", name))
		if err != nil {
			t.Fatal(err)
		}
		for range 1 + r.IntN(8) {
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, arrowOnly := range []bool{false, true} {
			opt := Options{Events: []string{path}, Now: t0.Add(24 * time.Hour), Workers: 1, arrowOnly: arrowOnly}
			if strings.HasPrefix(name, "order") {
				opt.ItemCol, opt.QuantityCol = "products.product_id", "products.quantity"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = Load(ctx, opt)
			if ctx.Err() != nil {
				os.WriteFile(filepath.Join(t.TempDir(), "slow.parquet"), b, 0o644)
				t.Fatalf("loading a mutated %s (arrow %v) took over 10s", name, arrowOnly)
			}
			cancel()
		}
	}
}
