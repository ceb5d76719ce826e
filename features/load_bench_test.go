package features

import (
	"context"
	"os"
	"testing"
)

// BenchmarkLoad reads a generated export. RECOPUB_BENCH_EVENTS sets a
// directory to read instead (for larger runs).
func BenchmarkLoad(b *testing.B) {
	dir := os.Getenv("RECOPUB_BENCH_EVENTS")
	if dir == "" {
		dir = b.TempDir()
		if _, err := Generate(context.Background(), GenOptions{Out: dir, Events: 1_000_000, Users: 100_000, Items: 20_000}); err != nil {
			b.Fatal(err)
		}
		dir += "/events"
	}
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		ds, err := Load(context.Background(), Options{Events: []string{dir}})
		if err != nil {
			b.Fatal(err)
		}
		n += ds.Stats.Read
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
