package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeWriters has DuckDB (node/write.mjs) write the
// canonical events and checks each file like the Go-written ones. It needs
// node and the packages `make interop-node` installs; without them it
// skips, except under CI, where it fails.
func TestNodeWriters(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("node", "node_modules", "@duckdb", "node-api"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node writers unavailable under CI (%v): make interop-node installs them", err)
		}
		t.Skipf("node writers unavailable (%v); run `make interop-node` (needs node and npm) to include DuckDB", err)
	}
	in, out := t.TempDir(), t.TempDir()
	if err := writeCanonicalJSON(in); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "write.mjs", in, out)
	cmd.Dir = "node"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node write.mjs: %v\n%s", err, stderr.String())
	}
	shapes := map[string]Shape{"tracks": TracksShape, "orders": OrderListShape, "orderjson": OrderJSONShape}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		var f struct{ File, Shape string }
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("write.mjs said %q: %v", sc.Text(), err)
		}
		n++
		t.Run(f.File, func(t *testing.T) {
			t.Parallel()
			checkFile(t, filepath.Join(out, f.File), shapes[f.Shape], StringIDs)
		})
	}
	if n < 10 {
		t.Errorf("write.mjs wrote %d files, want DuckDB's", n)
	}
}

// writeCanonicalJSON writes the canonical rows, string ids, as
// newline-delimited JSON for the Node writers: tracks.ndjson and
// orders.ndjson, times as microseconds since the epoch (null for a bad
// time).
func writeCanonicalJSON(dir string) error {
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
