package features

import (
	"context"
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
)

// Fuzz targets for everything that decodes input: whole event files
// (mutated fixtures through both read paths, whose Parquet decoding is the
// libraries'), ISO times and JSON items (against time.Parse and
// encoding/json). Seeds are in testdata/fuzz/<target>/; run one with
//
//	go test ./features -run XXX -fuzz FuzzDecodeFile -fuzztime 60s -fuzzminimizetime 5s
//
// (By default each new interesting input is minimized for up to 60s, which
// on inputs of a few kilobytes leaves no time to fuzz.)

// FuzzDecodeFile loads mutated event files through both read paths:
// errors are expected, a crash or hang is not, and what loads adds up.
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
// paths within a deadline.
func TestLoadMutatedFiles(t *testing.T) {
	seeds := []string{"tracks/events/part-00000.parquet", "tracks_arrow/events/part-00000.parquet",
		"order_list/events/part-00000.parquet", "order_json/events/part-00000.parquet", "time/events/e_iso.parquet"}
	r := rand.New(rand.NewPCG(3, 5))
	path := filepath.Join(t.TempDir(), "f.parquet")
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
