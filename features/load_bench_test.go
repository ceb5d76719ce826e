package features

import (
	"context"
	"github.com/recopub/recopub/features/gen"
	"os"
	"syscall"
	"testing"
)

// cpuSeconds is the process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkLoad reads a generated export (1M events) with and without
// message-id deduplication (the page path: parquet-go's pages), and
// through the Arrow path alone (arrow-go's pqarrow, the path of nested
// columns). RECOPUB_BENCH_EVENTS sets a directory to read instead, e.g.
// one written by
//
//	go run ./cmd/recopub gen --out /tmp/s10m --users 1000000 --items 200000 --events 10000000
//	RECOPUB_BENCH_EVENTS=/tmp/s10m/events go test -run XXX -bench 'BenchmarkLoad/(dedup|nodedup)$' -benchtime 3x ./features/
//
// It reports events/s (events read over wall time), CPU seconds per load
// (the figure to compare on a shared machine) and the bytes per event the
// Dataset's interaction slices take.
func BenchmarkLoad(b *testing.B) {
	dir := os.Getenv("RECOPUB_BENCH_EVENTS")
	if dir == "" {
		dir = b.TempDir()
		if _, err := gen.Generate(context.Background(), gen.Options{Out: dir, Events: 1_000_000, Users: 100_000, Items: 20_000}); err != nil {
			b.Fatal(err)
		}
		dir += "/events"
	}
	for _, bc := range []struct {
		name      string
		msgID     string
		arrowOnly bool
	}{{"dedup", "", false}, {"nodedup", "-", false}, {"arrow", "", true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			var ds *Dataset
			cpu0 := cpuSeconds()
			for b.Loop() {
				var err error
				ds, err = Load(context.Background(), Options{Events: []string{dir}, MessageIDCol: bc.msgID, arrowOnly: bc.arrowOnly})
				if err != nil {
					b.Fatal(err)
				}
				n += ds.Stats.Read
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			// CPU time tells more than wall time on a shared machine.
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
			bytes := 4*cap(ds.User) + 4*cap(ds.Item) + 2*cap(ds.Event) + 4*cap(ds.Time) + 4*cap(ds.Weight)
			b.ReportMetric(float64(bytes)/float64(ds.Len()), "bytes/event")
		})
	}
}
