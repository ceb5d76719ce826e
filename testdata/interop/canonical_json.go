package interop

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
)

// WriteCanonicalJSON writes the canonical rows, string ids, as
// newline-delimited JSON for the Node writers: tracks.ndjson and
// orders.ndjson, times as microseconds since the epoch (null for a bad
// time).
func WriteCanonicalJSON(dir string) error {
	var tracks, orders bytes.Buffer
	te, oe := json.NewEncoder(&tracks), json.NewEncoder(&orders)
	for _, r := range Tracks() {
		item := (*string)(nil)
		if r.Item >= 0 {
			item = ptr(StringIDs.ItemText(r.Item))
		}
		if err := te.Encode(map[string]any{"message_id": r.MessageID, "user_id": jsonUser(r.User, r.UserEmpty),
			"anonymous_id": r.Anon, "event": r.Event, "ts_us": jsonTime(r.Time.UnixMicro(), r.BadTime),
			"product_id": item, "quantity": r.Quantity, "weight": r.Weight}); err != nil {
			return err
		}
	}
	for _, o := range Orders() {
		var ps []map[string]any
		if o.Products != nil {
			ps = []map[string]any{}
		}
		for _, p := range o.Products {
			item := (*string)(nil)
			if p.Item >= 0 {
				item = ptr(StringIDs.ItemText(p.Item))
			}
			ps = append(ps, map[string]any{"product_id": item, "sku": p.SKU, "quantity": p.Quantity, "price": p.Price})
		}
		if err := oe.Encode(map[string]any{"message_id": o.MessageID, "user_id": jsonUser(o.User, o.UserEmpty),
			"anonymous_id": o.Anon, "event": OrderEvent, "ts_us": jsonTime(o.Time.UnixMicro(), o.BadTime),
			"products": ps, "products_json": ProductsJSON(o.Products)}); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tracks.ndjson"), tracks.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "orders.ndjson"), orders.Bytes(), 0o644)
}

func jsonUser(u int, empty bool) *string {
	switch {
	case u >= 0:
		return ptr(StringIDs.UserText(u))
	case empty:
		return ptr("")
	}
	return nil
}

func jsonTime(us int64, bad bool) *int64 {
	if bad {
		return nil
	}
	return &us
}
