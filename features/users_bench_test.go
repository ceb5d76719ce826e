package features

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchDataset is a Dataset of n events over n/10 users and n/50 items,
// in time order within each day as exports come, and a profile for every
// user and as many again without events.
func benchDataset(n int) (*Dataset, *Profiles) {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	users, items := n/10, n/50
	ds := &Dataset{Events: []string{"", "Order Completed", "Product Viewed"}}
	for u := range users {
		ds.Users = append(ds.Users, "U"+strconv.Itoa(u))
	}
	for i := range items {
		ds.Items = append(ds.Items, fmt.Sprintf("P%07d", i))
	}
	ds.User, ds.Item, ds.Event, ds.Time = make([]uint32, n), make([]uint32, n), make([]uint16, n), make([]uint32, n)
	for k := range n {
		ds.User[k], ds.Item[k] = uint32(rng.IntN(users)), uint32(rng.IntN(items))
		ds.Event[k], ds.Time[k] = uint16(rng.IntN(3)), uint32(1_700_000_000+k/100)
	}
	p := &Profiles{colIndex: map[string]uint16{"status": 0}, Columns: []string{"status"}, ptr: []int32{0},
		interned: []map[string]uint32{{}}}
	for u := range 2 * users {
		p.addRow("U" + strconv.Itoa(u))
		p.addValue(0, []string{"gold", "silver", "bronze"}[u%3])
		p.ptr = append(p.ptr, int32(len(p.val)))
	}
	return ds, p
}

// benchEvents are the sizes BenchmarkNewUsers runs at.
var benchEvents = []int{1_000_000, 10_000_000, 30_000_000}

// BenchmarkNewUsers groups the events by user and joins the profiles. The
// work is linear, but ns/event rises from 1M events, whose columns fit in
// the caches, to 10M, whose random scatter by user misses them; from 10M
// on it should stay about flat.
func BenchmarkNewUsers(b *testing.B) {
	for _, n := range benchEvents {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			ds, p := benchDataset(n)
			user, item, event, tm := ds.User, ds.Item, ds.Event, ds.Time
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				d := *ds
				d.User, d.Item, d.Event, d.Time = append([]uint32(nil), user...), append([]uint32(nil), item...),
					append([]uint16(nil), event...), append([]uint32(nil), tm...)
				b.StartTimer()
				NewUsers(&d, p, UserOptions{PurchaseEvent: "Order Completed"})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/event")
		})
	}
}

// BenchmarkUsersFields builds every user's feature fields, as a publish
// asks for them.
func BenchmarkUsersFields(b *testing.B) {
	ds, p := benchDataset(1_000_000)
	u := NewUsers(ds, p, UserOptions{PurchaseEvent: "Order Completed"})
	var f, v []string
	b.ReportAllocs()
	for b.Loop() {
		for i := range u.Len() {
			f, v = u.Fields(i, f[:0], v[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(u.Len()), "ns/user")
}
