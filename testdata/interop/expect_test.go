package interop

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// expectation is what any correct reader must make of a file, computed
// here from the canonical rows with maps and loops, without recopub's
// reader.
type expectation struct {
	users, items, events []string // sorted
	interactions         map[string]int
	read, kept           int64
	dropped              map[string]int64
}

// interaction is one kept event as a comparable key.
func interaction(user, item, event string, t int64, w float32) string {
	return fmt.Sprintf("%s|%s|%s|%d|%g", user, item, event, t, w)
}

// tally classifies events as a reader must; each canonical event has at
// most one defect, so the order of the checks does not matter.
type tally struct {
	e    expectation
	seen map[string]bool // message ids of kept rows
	set  map[string]map[string]bool
}

func newTally() *tally {
	return &tally{
		e:    expectation{interactions: map[string]int{}, dropped: map[string]int64{}},
		seen: map[string]bool{},
		set:  map[string]map[string]bool{"users": {}, "items": {}, "events": {}},
	}
}

// event counts one event; it returns whether it was kept (before dedup).
func (t *tally) event(user, item, event string, badTime bool, ts int64, badWeight bool, w float32, dup bool) bool {
	t.e.read++
	reason := ""
	switch {
	case user == "":
		reason = "no_user_id"
	case item == "":
		reason = "no_item_id"
	case badWeight:
		reason = "bad_weight"
	case badTime:
		reason = "bad_time"
	case ts > Now.Unix()+3600:
		reason = "future_time"
	case dup:
		reason = "duplicate_message_id"
	}
	if reason != "" {
		t.e.dropped[reason]++
		return false
	}
	t.e.kept++
	t.e.interactions[interaction(user, item, event, ts, w)]++
	t.set["users"][user], t.set["items"][item], t.set["events"][event] = true, true, true
	return true
}

func (t *tally) done() expectation {
	sorted := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	t.e.users, t.e.items, t.e.events = sorted(t.set["users"]), sorted(t.set["items"]), sorted(t.set["events"])
	return t.e
}

func userOf(k IDKind, u int, anon string) string {
	if u >= 0 {
		return k.UserText(u)
	}
	return anon
}

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// expectTracks is the expectation for a tracks file with ids of kind k.
func expectTracks(k IDKind) expectation {
	t := newTally()
	for _, r := range Tracks() {
		item := ""
		if r.Item >= 0 {
			item = k.ItemText(r.Item)
		}
		q, w := valueOr(r.Quantity, 1), valueOr(r.Weight, 1)
		if t.event(userOf(k, r.User, r.Anon), item, r.Event, r.BadTime, r.Time.Unix(), q < 0, float32(w)*float32(q), t.seen[r.MessageID]) {
			t.seen[r.MessageID] = true
		}
	}
	return t.done()
}

// expectOrders is the expectation for both order shapes: one event per
// product, one event without an item for a null or empty list.
func expectOrders() expectation {
	t := newTally()
	for _, o := range Orders() {
		user, dup, kept := userOf(StringIDs, o.User, o.Anon), t.seen[o.MessageID], false
		if len(o.Products) == 0 {
			t.event(user, "", OrderEvent, o.BadTime, o.Time.Unix(), false, 1, dup)
			continue
		}
		for _, p := range o.Products {
			item := ""
			if p.Item >= 0 {
				item = StringIDs.ItemText(p.Item)
			}
			q := valueOr(p.Quantity, 1)
			kept = t.event(user, item, OrderEvent, o.BadTime, o.Time.Unix(), q < 0, float32(q), dup) || kept
		}
		if kept {
			t.seen[o.MessageID] = true
		}
	}
	return t.done()
}

// neighbor is one entry of a brute-force neighbour list.
type neighbor struct {
	item  string
	score float64
	count int
}

// bruteNeighbors computes every item's neighbours under count or cosine
// from the kept interactions, best first: c_ij is the number of users who
// have both items, ties go to the smaller item id.
func bruteNeighbors(e expectation, cosine bool) map[string][]neighbor {
	users := map[string]map[string]bool{} // item -> users
	for key := range e.interactions {
		parts := strings.SplitN(key, "|", 3)
		if users[parts[1]] == nil {
			users[parts[1]] = map[string]bool{}
		}
		users[parts[1]][parts[0]] = true
	}
	out := map[string][]neighbor{}
	for i, ui := range users {
		var list []neighbor
		for j, uj := range users {
			if i == j {
				continue
			}
			c := 0
			for u := range ui {
				if uj[u] {
					c++
				}
			}
			if c == 0 {
				continue
			}
			s := float64(c)
			if cosine {
				s = float64(c) / math.Sqrt(float64(len(ui))*float64(len(uj)))
			}
			list = append(list, neighbor{j, s, c})
		}
		slices.SortFunc(list, func(a, b neighbor) int {
			if c := cmp.Compare(b.score, a.score); c != 0 {
				return c
			}
			return strings.Compare(a.item, b.item)
		})
		out[i] = list
	}
	return out
}
