package features

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/zeebo/xxh3"
)

// TestLoadDedupProperty checks Load against an obvious reference on random
// exports with repeated message ids spread over files and row groups: the
// first occurrence in file order wins, whatever the number of workers and
// whichever path reads the rows.
func TestLoadDedupProperty(t *testing.T) {
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 99))
		dir := t.TempDir()
		var files [][]trackRow
		for f := range 1 + r.IntN(5) {
			var rows []trackRow
			for range r.IntN(60) {
				row := trackRow{
					MessageID:   fmt.Sprintf("m%d", r.IntN(40)),
					UserID:      str(fmt.Sprintf("u%d", r.IntN(8))),
					AnonymousID: fmt.Sprintf("a%d", r.IntN(8)),
					Event:       []string{"Product Viewed", "Order Completed"}[r.IntN(2)],
					Timestamp:   t0.Add(time.Duration(r.IntN(1000)) * time.Second),
					ProductID:   str(fmt.Sprintf("p%d", r.IntN(10))),
				}
				switch r.IntN(10) {
				case 0:
					row.UserID = nil
				case 1:
					row.ProductID = nil
				}
				rows = append(rows, row)
			}
			files = append(files, rows)
			MustWriteParquet(t, filepath.Join(dir, fmt.Sprintf("part-%02d.parquet", f)), rows, 1+r.IntN(20))
		}
		var want []string
		seen := map[string]bool{}
		dups := int64(0)
		for _, rows := range files {
			for _, row := range rows {
				if row.ProductID == nil {
					continue
				}
				if seen[row.MessageID] {
					dups++
					continue
				}
				seen[row.MessageID] = true
				u := row.AnonymousID
				if row.UserID != nil {
					u = *row.UserID
				}
				want = append(want, fmt.Sprintf("%s %s %s %s", u, *row.ProductID, row.Event, row.Timestamp.Format(time.RFC3339)))
			}
		}
		for _, workers := range []int{1, 2, 3} {
			for _, arrowOnly := range []bool{false, true} {
				ds, err := Load(context.Background(), Options{Events: []string{dir}, Now: t0.Add(time.Hour), Workers: workers, arrowOnly: arrowOnly})
				if err != nil {
					t.Fatal(err)
				}
				if got := describe(ds); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("seed %d, %d workers, arrow %v:\n got %q\nwant %q", seed, workers, arrowOnly, got, want)
				}
				if got := ds.Stats.Dropped[DropDuplicate]; got != dups {
					t.Errorf("seed %d: duplicates=%d, want %d", seed, got, dups)
				}
			}
		}
	}
}

// TestLoadDedupExploded checks that a redelivered order drops all its
// items, and that the elements of one order are not duplicates of each
// other.
func TestLoadDedupExploded(t *testing.T) {
	dir := t.TempDir()
	o := orderRow{"o1", str("u1"), "a1", "Order Completed", t0, []product{{str("p1"), "s", nil, 1}, {str("p2"), "s", nil, 1}}}
	o2 := o
	o2.MessageID = "o2"
	MustWriteParquet(t, filepath.Join(dir, "a.parquet"), []orderRow{o, o2}, 1)
	MustWriteParquet(t, filepath.Join(dir, "b.parquet"), []orderRow{o, o}, 1)
	for _, workers := range []int{1, 2, 4} {
		ds, err := Load(context.Background(), Options{Events: []string{dir}, ItemCol: "products.product_id", Now: t0.Add(time.Hour), Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ds.Len(), 4; got != want {
			t.Errorf("workers %d: Len()=%d, want %d", workers, got, want)
		}
		if got, want := ds.Stats.Dropped[DropDuplicate], int64(4); got != want {
			t.Errorf("workers %d: duplicates=%d, want %d", workers, got, want)
		}
	}
}

func TestLoadDedupDisabled(t *testing.T) {
	dir := t.TempDir()
	rows := sampleEvents()[:2]
	MustWriteParquet(t, filepath.Join(dir, "a.parquet"), append(rows, rows...), 10)
	for _, tt := range []struct {
		col  string
		want int
	}{{"", 2}, {"message_id", 2}, {"-", 4}, {"no_such_column", 4}} {
		ds, err := Load(context.Background(), Options{Events: []string{dir}, MessageIDCol: tt.col, Now: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got := ds.Len(); got != tt.want {
			t.Errorf("MessageIDCol %q: Len()=%d, want %d", tt.col, got, tt.want)
		}
	}
}

// BenchmarkDedup files the message-id hashes of n events from two workers
// into their sinks and finds the duplicates (none), for partition counts
// around the one partitionsFor picks: the sinks' tails must stay in the
// nearest caches while filing, the per-partition tables while checking.
func BenchmarkDedup(b *testing.B) {
	for _, n := range []int{10_000_000, 30_000_000} {
		hs := make([]uint64, n)
		for k := range hs {
			hs[k] = xxh3.HashString(strconv.Itoa(k))
		}
		for _, parts := range []int{256, 1024, 4096} {
			b.Run(fmt.Sprintf("events=%dM/parts=%d", n/1_000_000, parts), func(b *testing.B) {
				for b.Loop() {
					workers := []*worker{{total: n / 2}, {total: n / 2}}
					for wi, w := range workers {
						w.dedup = newDedupSink(parts)
						for k, h := range hs[wi*n/2 : (wi+1)*n/2] {
							w.dedup.add(h, uint32(k))
						}
					}
					if err := findDuplicates(context.Background(), workers, func(w int, pos uint32) uint64 { return uint64(w)<<32 | uint64(pos) }, 2); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/event")
			})
		}
	}
}
