package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRunInputShapes runs the job (--dry-run) on each input shape's
// fixture with the flags the README gives for it.
func TestRunInputShapes(t *testing.T) {
	fixture := func(name string) string { return filepath.Join("..", "..", "testdata", "ingest", name, "events") }
	for _, tt := range []struct {
		name    string
		args    []string
		kept    int64
		dropped map[string]int64
	}{
		{"tracks", []string{"--events", fixture("tracks"), "--max-bad-fraction", "0.5"}, 5,
			map[string]int64{"no_item_id": 1, "id_too_long": 1, "invalid_utf8": 1, "future_time": 1, "duplicate_message_id": 1}},
		{"order list", []string{"--events", fixture("order_list"), "--item-col", "products.product_id",
			"--quantity-col", "products.quantity", "--max-bad-fraction", "0.5"}, 4,
			map[string]int64{"no_item_id": 3, "bad_weight": 1, "duplicate_message_id": 2}},
		{"order JSON", []string{"--events", fixture("order_json"), "--item-col", "products.product_id",
			"--quantity-col", "products.quantity", "--max-bad-fraction", "0.5"}, 6,
			map[string]int64{"no_item_id": 3, "bad_weight": 1, "bad_items": 1, "duplicate_message_id": 2}},
		{"weights", []string{"--events", fixture("weights"), "--weight-col", "rating", "--event-col", "-",
			"--message-id-col", "-", "--max-bad-fraction", "0.5"}, 2, map[string]int64{"bad_weight": 1}},
		{"window", []string{"--events", fixture("partitions"), "--since", "2026-11-02", "--until", "2026-11-03T12:00:00Z",
			"--now", "2026-11-04T00:00:00Z"}, 6, map[string]int64{"out_of_window": 2}},
		{"days", []string{"--events", fixture("partitions"), "--days", "1", "--now", "2026-11-03T12:00:00Z"}, 6,
			map[string]int64{"out_of_window": 2}},
		{"selected events", []string{"--events", fixture("partitions"), "--days", "3", "--now", "2026-11-04T00:00:00Z",
			"--event-weights", "Order Completed=5"}, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum := filepath.Join(t.TempDir(), "summary.json")
			args := append([]string{"run", "--dry-run", "--summary", sum, "--now", "2026-11-02T12:00:00Z"}, tt.args...)
			code, _, stderr := run(t, args...)
			if tt.kept == 0 {
				// No row has the selected event: rejected, naming the flag.
				if want := `--event-weights \"Order Completed\": no kept row has this event`; code != exitRejected || !strings.Contains(stderr, want) {
					t.Fatalf("exit %d, want %d and %s; stderr:\n%s", code, exitRejected, want, stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var s summary
			b, err := os.ReadFile(sum)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.EventsKept != tt.kept {
				t.Errorf("events_kept=%d, want %d", s.EventsKept, tt.kept)
			}
			if !reflect.DeepEqual(s.EventsDropped, tt.dropped) && !(len(s.EventsDropped) == 0 && len(tt.dropped) == 0) {
				t.Errorf("events_dropped=%v, want %v", s.EventsDropped, tt.dropped)
			}
		})
	}
}

// TestRunBadFraction checks that rows dropped as bad data count against
// --max-bad-fraction, while duplicates and rows outside the window do not.
func TestRunBadFraction(t *testing.T) {
	tracks := filepath.Join("..", "..", "testdata", "ingest", "tracks", "events")
	code, _, stderr := run(t, "run", "--dry-run", "--events", tracks, "--now", "2026-11-02T12:00:00Z")
	if code != exitRejected || !strings.Contains(stderr, "above --max-bad-fraction") || !strings.Contains(stderr, "invalid_utf8=1") {
		t.Fatalf("exit %d, want %d naming the reasons; stderr:\n%s", code, exitRejected, stderr)
	}
	partitions := filepath.Join("..", "..", "testdata", "ingest", "partitions", "events")
	if code, _, stderr := run(t, "run", "--dry-run", "--events", partitions, "--since", "2026-11-02T11:00:00Z",
		"--now", "2026-11-04T00:00:00Z"); code != 0 {
		t.Fatalf("rows outside the window counted as bad: exit %d: %s", code, stderr)
	}
}

func TestIngestFlagsUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "last week"}, "want RFC 3339"},
		{[]string{"--days", "-2"}, "--days -2"},
		{[]string{"--since", "2026-11-03", "--until", "2026-11-02"}, "is not before --until"},
	} {
		code, _, stderr := run(t, append([]string{"run", "--dry-run", "--events", "x.parquet"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, want %d and %q; stderr:\n%s", tt.args, code, exitUsage, tt.want, stderr)
		}
	}
}
