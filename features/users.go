package features

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Field names of the features derived from events.
const (
	RecentPurchasesField = "recent_five_purchases" // .purchase_1 (oldest) .. .purchase_5 (newest)
	EventCountField      = "event_count"           // .<event_slug>
	LastSeenField        = "last_seen"             // RFC 3339, UTC
	RecentPurchases      = 5
)

// DefaultPurchaseEvent is the event whose items are purchases unless
// UserOptions say otherwise.
const DefaultPurchaseEvent = NoEventName

// UserOptions configures NewUsers.
type UserOptions struct {
	PurchaseEvent string // default DefaultPurchaseEvent
}

// Users holds everything known about each user: what the events say and
// the profile traits. Users with events come first, in dense id order,
// then users who only have a profile.
type Users struct {
	ds       *Dataset
	profiles *Profiles
	purchase int // event code, -1 when absent

	order   []uint32 // event indices grouped by user, by time within a user
	ptr     []uint32 // user u's events are order[ptr[u]:ptr[u+1]]
	extra   []string // profile-only users
	evSlugs []string
}

// NewUsers indexes a Dataset's events by user and joins the profiles.
// profiles may be nil.
func NewUsers(ds *Dataset, profiles *Profiles, opt UserOptions) *Users {
	u := &Users{ds: ds, profiles: profiles, purchase: ds.EventCode(orDefault(opt.PurchaseEvent, DefaultPurchaseEvent))}
	for _, e := range ds.Events {
		u.evSlugs = append(u.evSlugs, Slug(e))
	}
	u.order, u.ptr = groupByUser(ds)
	known := make(map[string]bool, len(ds.Users))
	for _, id := range ds.Users {
		known[id] = true
	}
	for _, id := range profiles.IDs() {
		if !known[id] {
			u.extra = append(u.extra, id)
		}
	}
	return u
}

// groupByUser counting-sorts event indices by user, then orders each
// user's events by time (stable, so ties keep input order).
func groupByUser(ds *Dataset) (order, ptr []uint32) {
	ptr = make([]uint32, len(ds.Users)+1)
	for _, u := range ds.User {
		ptr[u+1]++
	}
	for i := 1; i < len(ptr); i++ {
		ptr[i] += ptr[i-1]
	}
	order = make([]uint32, len(ds.User))
	next := slices.Clone(ptr[:len(ptr)-1])
	for i, u := range ds.User {
		order[next[u]] = uint32(i)
		next[u]++
	}
	for u := range len(ds.Users) {
		run := order[ptr[u]:ptr[u+1]]
		if !slices.IsSortedFunc(run, func(a, b uint32) int { return cmpUint32(ds.Time[a], ds.Time[b]) }) {
			slices.SortStableFunc(run, func(a, b uint32) int {
				return cmpUint32(ds.Time[a], ds.Time[b])
			})
		}
	}
	return order, ptr
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.ds.Users) + len(u.extra) }

// ID returns user i's external id.
func (u *Users) ID(i int) string {
	if i < len(u.ds.Users) {
		return u.ds.Users[i]
	}
	return u.extra[i-len(u.ds.Users)]
}

// RecentPurchases appends user i's last distinct purchased items, oldest
// first, at most RecentPurchases of them.
func (u *Users) RecentPurchases(i int, dst []uint32) []uint32 {
	if i >= len(u.ds.Users) || u.purchase < 0 {
		return dst
	}
	start := len(dst)
	run := u.order[u.ptr[i]:u.ptr[i+1]]
	for k := len(run) - 1; k >= 0 && len(dst)-start < RecentPurchases; k-- {
		e := run[k]
		if int(u.ds.Event[e]) != u.purchase {
			continue
		}
		if it := u.ds.Item[e]; !slices.Contains(dst[start:], it) {
			dst = append(dst, it)
		}
	}
	slices.Reverse(dst[start:])
	return dst
}

// Fields appends user i's feature fields and values: profile traits, then
// recent_five_purchases.purchase_N, event_count.<event> and last_seen.
// A profile trait with the name of a derived field is replaced by it.
func (u *Users) Fields(i int, fields, values []string) ([]string, []string) {
	id := u.ID(i)
	start := len(fields)
	fields, values, _ = u.profiles.Traits(id, fields, values)
	if i >= len(u.ds.Users) {
		return fields, values
	}
	var derivedF, derivedV []string
	var recent [RecentPurchases]uint32
	for k, it := range u.RecentPurchases(i, recent[:0]) {
		derivedF = append(derivedF, RecentPurchasesField+".purchase_"+strconv.Itoa(k+1))
		derivedV = append(derivedV, u.ds.Items[it])
	}
	run := u.order[u.ptr[i]:u.ptr[i+1]]
	counts := make([]int, len(u.ds.Events))
	var last uint32
	for _, e := range run {
		counts[u.ds.Event[e]]++
		last = max(last, u.ds.Time[e])
	}
	for ev, n := range counts {
		if n > 0 {
			derivedF = append(derivedF, EventCountField+"."+u.evSlugs[ev])
			derivedV = append(derivedV, strconv.Itoa(n))
		}
	}
	if len(run) > 0 {
		derivedF = append(derivedF, LastSeenField)
		derivedV = append(derivedV, time.Unix(int64(last), 0).UTC().Format(time.RFC3339))
	}
	// Drop profile traits shadowed by derived fields.
	for k := len(fields) - 1; k >= start; k-- {
		if slices.Contains(derivedF, fields[k]) {
			fields = slices.Delete(fields, k, k+1)
			values = slices.Delete(values, k, k+1)
		}
	}
	return append(fields, derivedF...), append(values, derivedV...)
}

// Slug turns an event name into a key-safe name: "Order Completed" ->
// "order_completed".
func Slug(s string) string {
	var b strings.Builder
	lastUnderscore := true
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// WithEvents returns the number of users with at least one kept event:
// a run's "users" (README, "Counts").
func (u *Users) WithEvents() int { return len(u.ds.Users) }

// Hashes returns the number of feature hashes a run writes: one per user
// with events (they have last_seen at least) and one per profile-only user
// with at least one trait. Len counts users with no field too.
func (u *Users) Hashes() int {
	n := len(u.ds.Users)
	var fields, values []string
	for _, id := range u.extra {
		fields, values, _ = u.profiles.Traits(id, fields[:0], values[:0])
		if len(fields) > 0 {
			n++
		}
	}
	return n
}
