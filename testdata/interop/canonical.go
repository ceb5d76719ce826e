package interop

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Now is the reference time the files are loaded with
// (features.Options.Now): a few canonical events lie after it.
var Now = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// base is the earliest canonical event time.
var base = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)

// Track is one canonical row of a tracks table: one item per row. Each row
// has at most one defect, so the reason it is dropped does not depend on
// the order in which a reader checks them.
type Track struct {
	MessageID string
	User      int  // index into the users; -1 when the user id is null
	UserEmpty bool // with User -1 and string ids: written as "" instead of null
	Anon      string
	Event     string
	Time      time.Time
	BadTime   bool // written as null (typed columns) or unparseable text
	Item      int  // index into the items; -1 when null
	Quantity  *int64
	Weight    *float64
}

// Order is one canonical row of an order_completed table: a list of
// products, exploded into one event per product.
type Order struct {
	MessageID string
	User      int
	UserEmpty bool
	Anon      string
	Time      time.Time
	BadTime   bool
	Products  []Product // nil: null list; empty: empty list
}

// Product is one element of an order's products.
type Product struct {
	Item     int // -1 when product_id is null
	SKU      string
	Quantity *int64
	Price    float64
}

// OrderEvent is the event name of every order.
const OrderEvent = "Order Completed"

// Sizes of the canonical data set.
const (
	NumUsers  = 80
	NumItems  = 60
	NumTracks = 1200
	NumOrders = 300

	// TrackGroup and OrderGroup are the rows per row group of the files
	// that do not choose otherwise; the whole-null ranges below are
	// aligned to them, so some row groups have only nulls in a column.
	TrackGroup = 100
	OrderGroup = 50
)

// Whole row groups with a null user id (falling back to anonymous_id) and
// with a null item id.
var (
	tracksNoUser = [2]int{400, 500}
	tracksNoItem = [2]int{700, 800}
	ordersNoUser = [2]int{100, 150}
)

var eventNames = []string{"Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Product Added", OrderEvent, "Cart Viewed"}

// Tracks returns the canonical tracks rows; the same on every call.
func Tracks() []Track {
	rng := rand.New(rand.NewPCG(10, 20))
	out := make([]Track, 0, NumTracks)
	var good []int // rows without a defect, which duplicates copy
	for i := range NumTracks {
		u := pickUser(rng)
		r := Track{
			MessageID: fmt.Sprintf("m-%05d", i),
			User:      u,
			Anon:      fmt.Sprintf("anon-%03d", u),
			Event:     eventNames[rng.IntN(len(eventNames))],
			Time:      randTime(rng),
			Item:      pickItem(rng, u),
			Quantity:  optInt(rng, 1+rng.Int64N(4)),
			Weight:    optFloat(rng, []float64{0.5, 1, 1.5, 2, 3}[rng.IntN(5)]),
		}
		ok := true
		switch d := rng.IntN(100); {
		case in(i, tracksNoUser):
			r.User, r.Anon = -1, visitor(rng)
		case in(i, tracksNoItem):
			r.Item, ok = -1, false
		case d < 6:
			r.User, r.UserEmpty, r.Anon = -1, d%2 == 0, visitor(rng)
		case d < 8:
			r.User, r.UserEmpty, r.Anon, ok = -1, d%2 == 0, "", false
		case d < 11:
			r.Item, ok = -1, false
		case d < 12:
			r.Quantity, ok = ptr(int64(-1)), false
		case d < 13:
			r.BadTime, ok = true, false
		case d < 14:
			r.Time, ok = Now.Add(48*time.Hour+time.Duration(i)*time.Second), false
		case d < 17 && len(good) > 0:
			r = out[good[rng.IntN(len(good))]] // redelivered: same message id
		}
		if ok {
			good = append(good, i)
		}
		out = append(out, r)
	}
	return out
}

// Orders returns the canonical order rows; the same on every call.
func Orders() []Order {
	rng := rand.New(rand.NewPCG(30, 40))
	out := make([]Order, 0, NumOrders)
	var good []int
	for i := range NumOrders {
		u := pickUser(rng)
		r := Order{
			MessageID: fmt.Sprintf("o-%04d", i),
			User:      u,
			Anon:      fmt.Sprintf("anon-%03d", u),
			Time:      randTime(rng),
		}
		for range 1 + rng.IntN(4) {
			it := pickItem(rng, u)
			r.Products = append(r.Products, Product{Item: it, SKU: fmt.Sprintf("SKU-%d", it),
				Quantity: optInt(rng, 1+rng.Int64N(3)), Price: float64(1+rng.IntN(400)) / 4})
		}
		ok := true
		switch d := rng.IntN(100); {
		case in(i, ordersNoUser):
			r.User, r.Anon = -1, visitor(rng)
		case d < 3:
			r.Products, ok = nil, false
		case d < 6:
			r.Products, ok = []Product{}, false
		case d < 9:
			r.User, r.UserEmpty, r.Anon, ok = -1, d%2 == 0, "", false
		case d < 11:
			r.BadTime, ok = true, false
		case d < 14:
			r.Products[rng.IntN(len(r.Products))].Item, ok = -1, false
		case d < 16:
			r.Products[rng.IntN(len(r.Products))].Quantity, ok = ptr(int64(-1)), false
		case d < 19 && len(good) > 0:
			r = out[good[rng.IntN(len(good))]]
		case d < 27:
			r.User, r.UserEmpty, r.Anon = -1, d%2 == 0, visitor(rng)
		}
		if ok {
			good = append(good, i)
		}
		out = append(out, r)
	}
	return out
}

func in(i int, r [2]int) bool { return i >= r[0] && i < r[1] }

// pickUser favours low user numbers, so some users have many events.
func pickUser(rng *rand.Rand) int { return min(rng.IntN(NumUsers), rng.IntN(NumUsers)) }

// pickItem picks mostly from the user's own neighbourhood of items, so
// items co-occur in a pattern the lists must reproduce.
func pickItem(rng *rand.Rand, u int) int {
	if rng.IntN(4) == 0 {
		return rng.IntN(NumItems)
	}
	return (u*7 + rng.IntN(6)) % NumItems
}

// visitor is the anonymous id of someone without a user id.
func visitor(rng *rand.Rand) string { return fmt.Sprintf("anon-v%02d", rng.IntN(30)) }

// randTime is a time in February 2025 with millisecond precision.
func randTime(rng *rand.Rand) time.Time {
	return base.Add(time.Duration(rng.Int64N(27*86400*1000)) * time.Millisecond)
}

func optInt(rng *rand.Rand, v int64) *int64 {
	if rng.IntN(5) == 0 {
		return nil
	}
	return &v
}

func optFloat(rng *rand.Rand, v float64) *float64 {
	if rng.IntN(5) == 0 {
		return nil
	}
	return &v
}

func ptr[T any](v T) *T { return &v }

// IDKind is how user and item ids are typed in a file.
type IDKind int

// The id kinds. Integer ids span their type's whole signed range, in no
// particular order, so consecutive values differ by more than the type
// holds (the deltas of DELTA_BINARY_PACKED wrap around).
const (
	StringIDs IDKind = iota
	Int32IDs
	Int64IDs
)

func (k IDKind) String() string { return [...]string{"string", "int32", "int64"}[k] }

// UserInt and ItemInt are the integer ids of Int32IDs and Int64IDs.
func (k IDKind) UserInt(u int) int64 { return spread(k, u, NumUsers, 3) }
func (k IDKind) ItemInt(i int) int64 { return spread(k, i, NumItems, 11) }

// UserText and ItemText are the ids as text: what a reader must give back
// (integer ids as their decimal text).
func (k IDKind) UserText(u int) string {
	if k == StringIDs {
		return fmt.Sprintf("user-%03d", u)
	}
	return strconv.FormatInt(k.UserInt(u), 10)
}

func (k IDKind) ItemText(i int) string {
	switch {
	case k != StringIDs:
		return strconv.FormatInt(k.ItemInt(i), 10)
	case i%10 == 3:
		return fmt.Sprintf("prodé-%03d", i) // not ASCII
	}
	return fmt.Sprintf("SKU-%03d", i)
}

// spread places n ids evenly over the kind's signed range, the first and
// last at its ends, with two small ones among them.
func spread(k IDKind, i, n int, small int64) int64 {
	switch i {
	case 1:
		return -small
	case 2:
		return small
	}
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	if k == Int64IDs {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	step := (uint64(hi) - uint64(lo)) / uint64(n-1)
	if i == n-1 {
		return hi
	}
	return int64(uint64(lo) + uint64(i)*step)
}
