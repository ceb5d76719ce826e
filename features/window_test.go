package features

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The partitions fixture has three daily dt= partitions, each with one
// event per hour from 10:00 to 13:00, and an old partition holding a file
// that is not Parquet: any run that opened it would fail.
func partitionsFixture(t *testing.T) string {
	t.Helper()
	events := filepath.Join("..", "testdata", "ingest", "partitions", "events")
	if *update {
		if err := os.RemoveAll(events); err != nil {
			t.Fatal(err)
		}
		for d := range 3 {
			day := time.Date(2026, 11, 1+d, 0, 0, 0, 0, time.UTC)
			var rows []trackRow
			for h := 10; h < 14; h++ {
				ts := day.Add(time.Duration(h) * time.Hour)
				rows = append(rows, trackRow{MessageID: ts.Format(time.RFC3339), UserID: str("u1"), AnonymousID: "a1",
					Event: "Product Viewed", Timestamp: ts, ProductID: str("p" + ts.Format("0102T15"))})
			}
			MustWriteParquet(t, filepath.Join(events, "dt="+day.Format(time.DateOnly), "part-00000.parquet"), rows, 10)
		}
		old := filepath.Join(events, "dt=2026-10-01", "part-00000.parquet")
		if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(old, []byte("PAR1 truncated by a failed upload"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return events
}

func TestLoadWindow(t *testing.T) {
	events := partitionsFixture(t)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		name             string
		opt              Options
		first, last      string // item ids of the first and last kept event
		kept, outside    int64
		files, pruned    int
		wantErrSubstring string
	}{
		{name: "since", opt: Options{Since: day(2, 11)}, first: "p1102T11", last: "p1103T13", kept: 7, outside: 1, files: 2, pruned: 2},
		{name: "until", opt: Options{Since: day(1, 0), Until: day(2, 0)}, first: "p1101T10", last: "p1101T13", kept: 4, files: 1, pruned: 3},
		{name: "since and until", opt: Options{Since: day(1, 12), Until: day(3, 11)}, first: "p1101T12", last: "p1103T10", kept: 7, outside: 5, files: 3, pruned: 1},
		{name: "days from now", opt: Options{Days: 1, Now: day(3, 12)}, first: "p1102T12", last: "p1103T13", kept: 6, outside: 2, files: 2, pruned: 2},
		{name: "days from newest", opt: Options{Days: 1, Now: time.Time{}}, first: "p1102T13", last: "p1103T13", kept: 5, outside: 3, files: 2, pruned: 2},
		{name: "days from newest, two", opt: Options{Days: 2}, first: "p1101T13", last: "p1103T13", kept: 9, outside: 3, files: 3, pruned: 1},
		{name: "no window opens the bad file", opt: Options{}, wantErrSubstring: "dt=2026-10-01"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Events = []string{events}
			if opt.Now.IsZero() {
				opt.MaxFuture = 365 * 24 * time.Hour * 10
			}
			ds, err := Load(context.Background(), opt)
			if tt.wantErrSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
					t.Fatalf("err=%v, want one naming %q", err, tt.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ds.Stats.Kept, tt.kept; got != want {
				t.Errorf("Kept=%d, want %d (%v)", got, want, describe(ds))
			}
			if got, want := ds.Stats.Dropped[DropOutOfWindow], tt.outside; got != want {
				t.Errorf("out_of_window=%d, want %d", got, want)
			}
			if got, want := ds.Stats.Files, tt.files; got != want {
				t.Errorf("Files=%d, want %d", got, want)
			}
			if got, want := ds.Stats.Pruned, tt.pruned; got != want {
				t.Errorf("Pruned=%d, want %d", got, want)
			}
			if ds.Len() == 0 {
				t.Fatal("no events")
			}
			if got := ds.Items[ds.Item[0]]; got != tt.first {
				t.Errorf("first event %s, want %s", got, tt.first)
			}
			if got := ds.Items[ds.Item[ds.Len()-1]]; got != tt.last {
				t.Errorf("last event %s, want %s", got, tt.last)
			}
		})
	}
}

func TestLoadAllPruned(t *testing.T) {
	events := partitionsFixture(t)
	_, err := Load(context.Background(), Options{Events: []string{events}, Since: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err == nil || !strings.Contains(err.Error(), "outside the time window") {
		t.Fatalf("err=%v, want all files outside the window", err)
	}
}

func TestPartitionDay(t *testing.T) {
	for _, tt := range []struct {
		path string
		want string
	}{
		{"events/dt=2026-11-01/part-0.parquet", "2026-11-01"},
		{"/data/events/dt=2026-11-01/hour=03/part-0.parquet", "2026-11-01"},
		{"events/dt=2026-11-01/dt=2026-11-02/x.parquet", "2026-11-02"},
		{"events/date=2026-11-01/part-0.parquet", ""},
		{"events/dt=yesterday/part-0.parquet", ""},
		{"dt=2026-11-01.parquet", ""},
	} {
		d, ok := partitionDay(tt.path)
		got := ""
		if ok {
			got = d.Format(time.DateOnly)
		}
		if got != tt.want {
			t.Errorf("partitionDay(%q)=%q, want %q", tt.path, got, tt.want)
		}
	}
}
