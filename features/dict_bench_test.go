package features

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkDictIDs looks up a dictionary page's worth of ids at a time in
// a dict that already holds 2M of them, as a worker does at 10M events.
func BenchmarkDictIDs(b *testing.B) {
	const n = 2_000_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rand.Uint32(), rand.Uint32()&0xffff, rand.Uint32()&0xffff, rand.Uint32()&0xffff, rand.Uint64()&0xffffffffffff)
	}
	d := newDict()
	for _, k := range keys {
		d.id(k)
	}
	// Pages of 20K ids whose bytes are contiguous, like a dictionary page.
	r := rand.New(rand.NewPCG(1, 2))
	pages := make([][]string, 50)
	for p := range pages {
		var buf []byte
		for range 20000 {
			buf = append(buf, keys[r.IntN(n)]...)
		}
		s := string(buf)
		for i := range 20000 {
			pages[p] = append(pages[p], s[36*i:36*i+36])
		}
	}
	out := make([]uint32, 20000)
	for _, batched := range []bool{false, true} {
		b.Run(fmt.Sprintf("batched=%v", batched), func(b *testing.B) {
			looked := 0
			for i := 0; b.Loop(); i++ {
				page := pages[i%len(pages)]
				if batched {
					d.ids(page, out)
				} else {
					for i, k := range page {
						out[i] = d.id(k)
					}
				}
				looked += len(page)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(looked), "ns/id")
		})
	}
}
