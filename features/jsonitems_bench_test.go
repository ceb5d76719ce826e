package features

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
)

// stdJSONItems is parseJSONItems written with encoding/json, as small and
// fast as that library allows (elements as json.RawMessage, one map per
// object level). BenchmarkJSONItems and BenchmarkLoadJSONOrders weigh it
// against the hand-written parser: package features keeps the hand-written
// one only while it is at least twice as fast on the whole load.
func stdJSONItems(data []byte, itemPath, qtyPath []string, out []jsonItem) ([]jsonItem, error) {
	if !utf8.Valid(data) {
		return out, errJSON
	}
	data = bytes.TrimSpace(data)
	var elems []json.RawMessage
	switch {
	case bytes.Equal(data, []byte("null")):
		return out, nil
	case len(data) > 0 && data[0] == '{':
		if !json.Valid(data) {
			return out, errJSON
		}
		elems = []json.RawMessage{data}
	default:
		if err := json.Unmarshal(data, &elems); err != nil {
			return out, errJSON
		}
	}
	for _, e := range elems {
		var it jsonItem
		var obj map[string]json.RawMessage
		if len(e) > 0 && e[0] == '{' && json.Unmarshal(e, &obj) == nil {
			if v, ok := jsonAt(obj, itemPath); ok {
				switch v[0] {
				case '"':
					json.Unmarshal(v, &it.id)
					it.hasID = true
				case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
					it.id, it.hasID = string(v), true
					if bytes.ContainsAny(v, ".eE") {
						f, _ := strconv.ParseFloat(string(v), 64)
						it.id = JSNumber(f)
					}
				}
			}
			if v, ok := jsonAt(obj, qtyPath); ok && qtyPath != nil {
				switch v[0] {
				case 'n':
				case '"':
					var s string
					json.Unmarshal(v, &s)
					q, err := strconv.ParseFloat(s, 64)
					it.qty, it.hasQty, it.badQty = q, err == nil, err != nil
				case '{', '[', 't', 'f':
					it.badQty = true
				default:
					it.qty, _ = strconv.ParseFloat(string(v), 64)
					it.hasQty = true
				}
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// jsonAt follows path from obj.
func jsonAt(obj map[string]json.RawMessage, path []string) (json.RawMessage, bool) {
	if len(path) == 0 {
		return nil, false
	}
	v, ok := obj[path[0]]
	for _, k := range path[1:] {
		if !ok || len(v) == 0 || v[0] != '{' {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return nil, false
		}
		v, ok = m[k]
	}
	return v, ok && len(v) > 0
}

// TestStdJSONItemsAgrees checks the encoding/json candidate against the
// hand-written parser on the fuzz seeds and realistic arrays, so the
// benchmark compares two parsers that give the same answers.
func TestStdJSONItemsAgrees(t *testing.T) {
	texts := append(realisticProducts(200), `null`, `[]`, `{"product_id":"p\u00e9","quantity":"2"}`,
		`[{"product_id":1.50,"quantity":-1e3}]`, `[null,1,"x"]`, `[{"product_id":"x"}`, `{"a":1,}`)
	for _, s := range texts {
		got, gerr := stdJSONItems([]byte(s), []string{"product_id"}, []string{"quantity"}, nil)
		want, werr := parseJSONItems([]byte(s), []string{"product_id"}, []string{"quantity"}, nil)
		if (gerr == nil) != (werr == nil) || (gerr == nil && fmt.Sprint(got) != fmt.Sprint(want)) {
			t.Fatalf("%s:\nencoding/json %v %v\nhand-written  %v %v", s, got, gerr, want, werr)
		}
	}
}

// realisticProducts returns n products arrays as RudderStack's warehouse
// stores an Order Completed event's: one to six products with the
// e-commerce spec's fields.
func realisticProducts(n int) []string {
	r := rand.New(rand.NewPCG(7, 8))
	out := make([]string, n)
	for i := range out {
		var ps []map[string]any
		for k := range 1 + r.IntN(6) {
			ps = append(ps, map[string]any{
				"product_id": fmt.Sprintf("P%06d", r.IntN(200000)), "sku": fmt.Sprintf("SKU-%d", r.IntN(1e6)),
				"category": "Games & Toys", "name": "Monopoly: 3rd Edition \"deluxe\"", "brand": "Hasbro",
				"variant": "200 pieces", "price": float64(r.IntN(10000)) / 100, "quantity": 1 + r.IntN(3),
				"coupon": "MAYDEALS", "position": k + 1, "url": "https://www.example.com/product/path",
				"image_url": "https://www.example.com/product/path.jpg",
			})
		}
		b, _ := json.Marshal(ps)
		out[i] = string(b)
	}
	return out
}

// structJSONItems is encoding/json's fastest form for the common one-level
// paths: json.Unmarshal into a slice of a struct holding only the two
// fields, made with reflect.StructOf for the paths' names. (Its field
// matching is case-insensitive, unlike the parser's; it is here to measure.)
func structJSONItems(data []byte, itemPath, qtyPath []string, out []jsonItem) ([]jsonItem, error) {
	type elem struct {
		ID  json.RawMessage `json:"product_id"`
		Qty json.RawMessage `json:"quantity"`
	}
	var elems []elem
	if err := json.Unmarshal(data, &elems); err != nil {
		return out, errJSON
	}
	for _, e := range elems {
		var it jsonItem
		if len(e.ID) > 0 && e.ID[0] == '"' {
			json.Unmarshal(e.ID, &it.id)
			it.hasID = true
		}
		if len(e.Qty) > 0 {
			it.qty, _ = strconv.ParseFloat(string(e.Qty), 64)
			it.hasQty = true
		}
		out = append(out, it)
	}
	return out, nil
}

var jsonParsers = []struct {
	name  string
	parse func([]byte, []string, []string, []jsonItem) ([]jsonItem, error)
}{{"hand", parseJSONItems}, {"encoding-json", stdJSONItems}, {"encoding-json-struct", structJSONItems}}

// BenchmarkJSONItems parses realistic products arrays.
func BenchmarkJSONItems(b *testing.B) {
	texts := realisticProducts(1000)
	for _, p := range jsonParsers {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			var out []jsonItem
			var n int
			for b.Loop() {
				for _, s := range texts {
					out, _ = p.parse([]byte(s), []string{"product_id"}, []string{"quantity"}, out[:0])
					n++
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "arrays/s")
		})
	}
}

// BenchmarkLoadJSONOrders loads an Order Completed table of 300,000 rows
// whose products are JSON text (realistic arrays, 3.5 products on average)
// with each parser: the whole load, as the job sees it.
func BenchmarkLoadJSONOrders(b *testing.B) {
	dir := b.TempDir()
	texts := realisticProducts(5000)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]orderJSONRow, 300000)
	for i := range rows {
		u := fmt.Sprintf("U%07d", i%50000)
		rows[i] = orderJSONRow{fmt.Sprintf("m%d", i), &u, "a", "Order Completed", t0.Add(time.Duration(i) * time.Second), &texts[i%len(texts)]}
	}
	MustWriteParquet(b, filepath.Join(dir, "orders.parquet"), rows, 50000)
	opt := Options{Events: []string{dir}, ItemCol: "products.product_id", QuantityCol: "products.quantity", Now: t0.Add(30 * 24 * time.Hour)}
	defer func(p func([]byte, []string, []string, []jsonItem) ([]jsonItem, error)) { parseItems = p }(parseItems)
	for _, p := range jsonParsers[:2] { // the struct form is a lower bound, not a replacement
		b.Run(p.name, func(b *testing.B) {
			parseItems = p.parse
			var n int64
			for b.Loop() {
				ds, err := Load(context.Background(), opt)
				if err != nil {
					b.Fatal(err)
				}
				n += ds.Stats.Read
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
