package features

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// randomUsers is a random Dataset and profile table: users with few and
// with many events (past the insertion sort's limit), times with ties,
// in time order or not, and profiles that share ids with the users,
// repeat ids (a later row wins) or have no traits.
func randomUsers(rng *rand.Rand, timeOrdered bool) (*Dataset, *Profiles) {
	nUsers, nItems := 1+rng.IntN(60), 1+rng.IntN(30)
	ds := &Dataset{Events: []string{"", "Order Completed", "Product Viewed"}}
	for u := range nUsers {
		ds.Users = append(ds.Users, "u"+strconv.Itoa(u))
	}
	for i := range nItems {
		ds.Items = append(ds.Items, fmt.Sprintf("p%03d", i))
	}
	n := nUsers + rng.IntN(2000)
	for k := range n {
		u := rng.IntN(nUsers)
		switch {
		case k < nUsers:
			u = k // every user has an event, as in a loaded Dataset
		case rng.IntN(4) == 0:
			u = 0 // one user with a long history
		}
		ds.User = append(ds.User, uint32(u))
		ds.Item = append(ds.Item, uint32(rng.IntN(nItems)))
		ds.Event = append(ds.Event, uint16(rng.IntN(len(ds.Events))))
		ds.Time = append(ds.Time, uint32(1_700_000_000+rng.IntN(50))) // ties
		ds.Weight = append(ds.Weight, float32(rng.IntN(1000)))
	}
	if rng.IntN(2) == 0 {
		ds.Weight = nil
	}
	if timeOrdered {
		slices.Sort(ds.Time)
	}
	p := &Profiles{colIndex: map[string]uint16{}, ptr: []int32{0}}
	cols := []string{"email", "status", "last_seen"} // a trait a derived field shadows
	for k, c := range cols {
		p.colIndex[c] = uint16(k)
		p.Columns = append(p.Columns, c)
		p.interned = append(p.interned, map[string]uint32{})
	}
	for range rng.IntN(80) {
		id := "u" + strconv.Itoa(rng.IntN(nUsers+40)) // some without events
		p.addRow(id)
		for k := range cols {
			if rng.IntN(3) > 0 {
				p.addValue(uint16(k), fmt.Sprintf("%s-%d", cols[k], rng.IntN(5)))
			}
		}
		p.ptr = append(p.ptr, int32(len(p.val)))
	}
	return ds, p
}

// groupByUserObvious is groupByUser as a stable sort by (user, time).
func groupByUserObvious(ds *Dataset) []uint32 {
	order := make([]uint32, ds.Len())
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortStableFunc(order, func(a, b uint32) int {
		if c := cmpUint32(ds.User[a], ds.User[b]); c != 0 {
			return c
		}
		return cmpUint32(ds.Time[a], ds.Time[b])
	})
	return order
}

func TestGroupByUserMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		ds, _ := randomUsers(rng, i%2 == 0)
		want := groupByUserObvious(ds)
		in := &Dataset{User: slices.Clone(ds.User), Item: slices.Clone(ds.Item), Event: slices.Clone(ds.Event),
			Time: slices.Clone(ds.Time), Weight: slices.Clone(ds.Weight)}
		ev := groupByUser(ds)
		for k, e := range want {
			u := in.User[e]
			if k < int(ev.ptr[u]) || k >= int(ev.ptr[u+1]) {
				t.Fatalf("case %d: event %d (user %d) at %d, outside the user's [%d, %d)", i, e, u, k, ev.ptr[u], ev.ptr[u+1])
			}
			if ds.User[k] != u || ds.Item[k] != in.Item[e] || ds.Event[k] != in.Event[e] || ds.Time[k] != in.Time[e] ||
				(in.Weight != nil && ds.Weight[k] != in.Weight[e]) {
				t.Fatalf("case %d: position %d holds a different event than %d", i, k, e)
			}
			if ev.item[k] != ds.Item[k] || ev.event[k] != ds.Event[k] || ev.tm[k] != ds.Time[k] {
				t.Fatalf("case %d: the users' columns are not the Dataset's at %d", i, k)
			}
		}
	}
}

// usersObvious is what NewUsers joins, the obvious way: a map of the
// users with events, the profile-only users in the order of their last
// row, each user's traits looked up by id.
type usersObvious struct {
	ids    []string
	traits map[string][2][]string
}

func newUsersObvious(ds *Dataset, p *Profiles) usersObvious {
	known := make(map[string]bool)
	for _, id := range ds.Users {
		known[id] = true
	}
	o := usersObvious{ids: slices.Clone(ds.Users), traits: map[string][2][]string{}}
	for _, id := range p.IDs() {
		if !known[id] {
			o.ids = append(o.ids, id)
		}
	}
	for _, id := range o.ids {
		if f, v, ok := p.Traits(id, nil, nil); ok {
			o.traits[id] = [2][]string{f, v}
		}
	}
	return o
}

// derivedObvious is user u's derived fields computed the obvious way from
// the events in input order.
func derivedObvious(ds *Dataset, order []uint32, u uint32, purchase int) map[string]string {
	var run []uint32
	for _, e := range order {
		if ds.User[e] == u {
			run = append(run, e)
		}
	}
	out := map[string]string{}
	var recent []string
	seen := map[uint32]bool{}
	for k := len(run) - 1; k >= 0 && len(recent) < RecentPurchases; k-- {
		e := run[k]
		if int(ds.Event[e]) == purchase && !seen[ds.Item[e]] {
			seen[ds.Item[e]] = true
			recent = append([]string{ds.Items[ds.Item[e]]}, recent...)
		}
	}
	for k, it := range recent {
		out[RecentPurchasesField+".purchase_"+strconv.Itoa(k+1)] = it
	}
	counts := map[uint16]int{}
	var last uint32
	for _, e := range run {
		counts[ds.Event[e]]++
		last = max(last, ds.Time[e])
	}
	for ev, n := range counts {
		out[EventCountField+"."+Slug(ds.Events[ev])] = strconv.Itoa(n)
	}
	if len(run) > 0 {
		out[LastSeenField] = time.Unix(int64(last), 0).UTC().Format(time.RFC3339)
	}
	return out
}

func TestNewUsersJoinMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		ds, p := randomUsers(rng, i%2 == 0)
		if i%7 == 0 {
			p = nil
		}
		want := newUsersObvious(ds, p)
		order := groupByUserObvious(ds)
		derived := make([]map[string]string, len(ds.Users))
		for k := range ds.Users {
			derived[k] = derivedObvious(ds, order, uint32(k), ds.EventCode("Order Completed"))
		}
		u := NewUsers(ds, p, UserOptions{PurchaseEvent: "Order Completed"})
		if got, want := u.Len(), len(want.ids); got != want {
			t.Fatalf("case %d: Len()=%d, want %d", i, got, want)
		}
		hashes := 0
		for k, id := range want.ids {
			if got := u.ID(k); got != id {
				t.Fatalf("case %d: ID(%d)=%q, want %q", i, k, got, id)
			}
			f, v, ok := u.Traits(k, nil, nil)
			tw, wok := want.traits[id]
			if ok != wok || !reflect.DeepEqual(f, tw[0]) || !reflect.DeepEqual(v, tw[1]) {
				t.Fatalf("case %d: Traits(%d)=%v %v %v, want %v %v", i, k, f, v, ok, tw, wok)
			}
			f, v = u.Fields(k, nil, nil)
			if len(f) > 0 {
				hashes++
			}
			if k < len(derived) {
				got := map[string]string{}
				for n := range f {
					got[f[n]] = v[n]
				}
				for name, val := range derived[k] {
					if got[name] != val {
						t.Fatalf("case %d: user %d field %s=%q, want %q (fields %v)", i, k, name, got[name], val, got)
					}
				}
				n := 0
				for name := range got {
					if name == LastSeenField || strings.HasPrefix(name, RecentPurchasesField+".") || strings.HasPrefix(name, EventCountField+".") {
						n++
					}
				}
				if n != len(derived[k]) || len(got) != len(f) {
					t.Fatalf("case %d: user %d has %d derived fields of %d (%d distinct), want %d", i, k, n, len(f), len(got), len(derived[k]))
				}
			}
		}
		if got := u.Hashes(); got != hashes {
			t.Fatalf("case %d: Hashes()=%d, want %d (users with a field)", i, got, hashes)
		}
	}
}

// TestProfilesIndex checks the open-addressing id index against a map
// through growth, with repeated ids.
func TestProfilesIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := &Profiles{colIndex: map[string]uint16{}, ptr: []int32{0}}
	want := map[string]uint32{}
	for r := range uint32(20000) {
		id := "id" + strconv.Itoa(rng.IntN(12000))
		p.addRow(id)
		p.ptr = append(p.ptr, int32(len(p.val)))
		want[id] = r
	}
	if got, want := p.Len(), len(want); got != want {
		t.Fatalf("Len()=%d, want %d", got, want)
	}
	for id, r := range want {
		if got, ok := p.row(id); !ok || got != r {
			t.Fatalf("row(%q)=%d %v, want %d", id, got, ok, r)
		}
	}
	for _, id := range []string{"", "id12000", "nope"} {
		if _, ok := p.row(id); ok {
			t.Errorf("row(%q) found, want none", id)
		}
	}
	last := 0
	for r := range uint32(p.rows()) {
		if p.isLast(r) != (want[p.ids.at(r)] == r) {
			t.Fatalf("isLast(%d)=%v", r, p.isLast(r))
		}
		if p.isLast(r) {
			last++
		}
	}
	if last != len(want) {
		t.Errorf("%d last rows, want %d", last, len(want))
	}
}
