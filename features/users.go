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
	ds       *Dataset // its dictionaries; NewUsers took its events
	profiles *Profiles
	purchase int // event code, -1 when absent

	sum      eventSummary
	prow     []uint32 // profile row+1 of each user with events; 0: none
	extra    []uint32 // profile rows of the profile-only users
	hashes   int
	evFields []string // event_count.<event slug> by event code
}

// userEvents are a Dataset's events grouped by user, by time within a
// user: user u's are [ptr[u], ptr[u+1]) of the columns, which are the
// Dataset's own.
type userEvents struct {
	ptr   []uint32
	item  []uint32
	event []uint16
	tm    []uint32
}

// NewUsers groups a Dataset's events by user and joins the profiles.
// profiles may be nil. It reorders ds's events in place: afterwards they
// are grouped by user, ds.User ascending, by time within a user (ties in
// input order), and the users read them there, with no index beside them.
// Anything computed from the events as a multiset (a model.Matrix) is the
// same in either order. The users do not read ds.User, which the caller
// may drop once nothing else needs it. It takes time linear in the events
// and users: a counting sort by user and one id lookup per user.
func NewUsers(ds *Dataset, profiles *Profiles, opt UserOptions) *Users {
	u := &Users{ds: ds, profiles: profiles, purchase: ds.EventCode(orDefault(opt.PurchaseEvent, DefaultPurchaseEvent))}
	for _, e := range ds.Events {
		u.evFields = append(u.evFields, EventCountField+"."+Slug(e))
	}
	u.sum = summarize(groupByUser(ds), len(ds.Events), u.purchase)
	u.join()
	return u
}

// eventSummary is what the feature hashes say of each user's events, kept
// instead of the events themselves: the recent purchases, the count of
// each event and the last time seen. At thirty million events it is about
// a quarter of the grouped events' memory, and the events can be dropped
// before the similarity kernel runs (Users.Fields reads only this).
type eventSummary struct {
	recentPtr []uint32 // user u's recent purchases are recent[recentPtr[u]:recentPtr[u+1]], oldest first
	recent    []uint32
	countPtr  []uint32 // user u's event counts are countEv and count [countPtr[u]:countPtr[u+1]], by event code
	countEv   []uint16
	count     []uint32
	last      []uint32 // the time of user u's newest event
}

// summarize reads the grouped events once, user by user.
func summarize(ev userEvents, events, purchase int) eventSummary {
	n := len(ev.ptr) - 1
	s := eventSummary{
		recentPtr: make([]uint32, 1, n+1),
		countPtr:  make([]uint32, 1, n+1),
		last:      make([]uint32, n),
	}
	counts := make([]uint32, events)
	var touched []uint16 // the event codes of the user's events
	for u := range n {
		lo, hi := int(ev.ptr[u]), int(ev.ptr[u+1])
		start := len(s.recent)
		for e := hi - 1; e >= lo && purchase >= 0 && len(s.recent)-start < RecentPurchases; e-- {
			if int(ev.event[e]) != purchase {
				continue
			}
			if it := ev.item[e]; !slices.Contains(s.recent[start:], it) {
				s.recent = append(s.recent, it)
			}
		}
		slices.Reverse(s.recent[start:])
		s.recentPtr = append(s.recentPtr, uint32(len(s.recent)))
		var last uint32
		touched = touched[:0]
		for e := lo; e < hi; e++ {
			code := ev.event[e]
			if counts[code] == 0 {
				touched = append(touched, code)
			}
			counts[code]++
			last = max(last, ev.tm[e])
		}
		s.last[u] = last
		// In code order, touching only the user's events: an export
		// can have hundreds of event names.
		slices.Sort(touched)
		for _, code := range touched {
			s.countEv, s.count = append(s.countEv, code), append(s.count, counts[code])
			counts[code] = 0
		}
		s.countPtr = append(s.countPtr, uint32(len(s.count)))
	}
	return s
}

// join finds the profile row of each user with events; the rows no such
// user has are the profile-only users, in the order of their last row.
func (u *Users) join() {
	u.hashes = len(u.ds.Users)
	if u.profiles.Len() == 0 {
		return
	}
	u.prow = make([]uint32, len(u.ds.Users))
	joined := make([]uint64, (u.profiles.rows()+63)/64)
	for i, id := range u.ds.Users {
		if r, ok := u.profiles.row(id); ok {
			u.prow[i] = r + 1
			joined[r/64] |= 1 << (r % 64)
		}
	}
	for r := range uint32(u.profiles.rows()) {
		if u.profiles.isLast(r) && joined[r/64]&(1<<(r%64)) == 0 {
			u.extra = append(u.extra, r)
			if u.profiles.rowTraitCount(r) > 0 {
				u.hashes++
			}
		}
	}
}

// groupByUser puts ds's events into user order with a stable counting
// sort by user, one column at a time so that no more than one column is
// held twice, then orders each user's events by time (stable, so ties
// keep input order). The per-user sort is an insertion sort, linear when
// the events come in time order (as exports do) and on the few events most
// users have.
func groupByUser(ds *Dataset) userEvents {
	ptr := make([]uint32, len(ds.Users)+1)
	for _, u := range ds.User {
		ptr[u+1]++
	}
	for i := 1; i < len(ptr); i++ {
		ptr[i] += ptr[i-1]
	}
	next := make([]uint32, len(ds.Users))
	ds.Time = scatterByUser(ds.User, ptr, next, ds.Time)
	ds.Item = scatterByUser(ds.User, ptr, next, ds.Item)
	ds.Event = scatterByUser(ds.User, ptr, next, ds.Event)
	if ds.Weight != nil {
		ds.Weight = scatterByUser(ds.User, ptr, next, ds.Weight)
	}
	for u := range len(ds.Users) {
		users := ds.User[ptr[u]:ptr[u+1]]
		for k := range users {
			users[k] = uint32(u)
		}
	}
	ev := userEvents{ptr: ptr, item: ds.Item, event: ds.Event, tm: ds.Time}
	var scratch timeSort
	for u := range len(ds.Users) {
		scratch.sort(&ev, ds.Weight, int(ptr[u]), int(ptr[u+1]))
	}
	return ev
}

// scatterByUser returns col in user order, stable within a user.
func scatterByUser[T any](users, ptr, next []uint32, col []T) []T {
	copy(next, ptr)
	out := make([]T, len(col))
	for i, u := range users {
		out[next[u]] = col[i]
		next[u]++
	}
	return out
}

// timeSort sorts one user's events by time, stably, moving the three
// columns together; it keeps scratch space for the rare long histories.
type timeSort struct {
	idx  []int
	item []uint32
	ev   []uint16
	tm   []uint32
	w    []float32
}

// sort sorts events [lo, hi) of e, and of weight when not nil.
func (s *timeSort) sort(e *userEvents, weight []float32, lo, hi int) {
	const insertionMax = 64
	tm := e.tm[lo:hi]
	if slices.IsSorted(tm) {
		return
	}
	if hi-lo <= insertionMax {
		item, ev := e.item[lo:hi], e.event[lo:hi]
		var w []float32
		if weight != nil {
			w = weight[lo:hi]
		}
		for i := 1; i < len(tm); i++ {
			t, it, v := tm[i], item[i], ev[i]
			var wi float32
			if w != nil {
				wi = w[i]
			}
			j := i
			for ; j > 0 && tm[j-1] > t; j-- {
				tm[j], item[j], ev[j] = tm[j-1], item[j-1], ev[j-1]
				if w != nil {
					w[j] = w[j-1]
				}
			}
			tm[j], item[j], ev[j] = t, it, v
			if w != nil {
				w[j] = wi
			}
		}
		return
	}
	s.idx = s.idx[:0]
	for k := lo; k < hi; k++ {
		s.idx = append(s.idx, k)
	}
	slices.SortStableFunc(s.idx, func(a, b int) int { return cmpUint32(e.tm[a], e.tm[b]) })
	s.item, s.ev, s.tm, s.w = s.item[:0], s.ev[:0], s.tm[:0], s.w[:0]
	for _, k := range s.idx {
		s.item, s.ev, s.tm = append(s.item, e.item[k]), append(s.ev, e.event[k]), append(s.tm, e.tm[k])
		if weight != nil {
			s.w = append(s.w, weight[k])
		}
	}
	copy(e.item[lo:hi], s.item)
	copy(e.event[lo:hi], s.ev)
	copy(e.tm[lo:hi], s.tm)
	if weight != nil {
		copy(weight[lo:hi], s.w)
	}
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
	return u.profiles.ids.at(u.extra[i-len(u.ds.Users)])
}

// Traits appends user i's profile traits; ok is false when the user has
// no profile.
func (u *Users) Traits(i int, fields, values []string) ([]string, []string, bool) {
	var r uint32
	switch {
	case i >= len(u.ds.Users):
		r = u.extra[i-len(u.ds.Users)]
	case u.prow != nil && u.prow[i] > 0:
		r = u.prow[i] - 1
	default:
		return fields, values, false
	}
	fields, values = u.profiles.rowTraits(r, fields, values)
	return fields, values, true
}

// RecentPurchases appends user i's last distinct purchased items, oldest
// first, at most RecentPurchases of them.
func (u *Users) RecentPurchases(i int, dst []uint32) []uint32 {
	if i >= len(u.ds.Users) {
		return dst
	}
	return append(dst, u.sum.recent[u.sum.recentPtr[i]:u.sum.recentPtr[i+1]]...)
}

// Fields appends user i's feature fields and values: profile traits, then
// recent_five_purchases.purchase_N, event_count.<event> and last_seen.
// A profile trait with the name of a derived field is replaced by it.
func (u *Users) Fields(i int, fields, values []string) ([]string, []string) {
	start := len(fields)
	fields, values, _ = u.Traits(i, fields, values)
	if i >= len(u.ds.Users) {
		return fields, values
	}
	traits := len(fields) // the derived fields follow
	var recent [RecentPurchases]uint32
	for k, it := range u.RecentPurchases(i, recent[:0]) {
		fields = append(fields, recentFields[k])
		values = append(values, u.ds.Items[it])
	}
	s := &u.sum
	for k := s.countPtr[i]; k < s.countPtr[i+1]; k++ {
		fields = append(fields, u.evFields[s.countEv[k]])
		values = append(values, strconv.FormatUint(uint64(s.count[k]), 10))
	}
	if s.countPtr[i+1] > s.countPtr[i] { // the user has events
		fields = append(fields, LastSeenField)
		values = append(values, time.Unix(int64(s.last[i]), 0).UTC().Format(time.RFC3339))
	}
	// Drop profile traits shadowed by derived fields.
	for k := traits - 1; k >= start; k-- {
		if slices.Contains(fields[traits:], fields[k]) {
			fields = slices.Delete(fields, k, k+1)
			values = slices.Delete(values, k, k+1)
			traits--
		}
	}
	return fields, values
}

// recentFields are the names of the recent purchase fields, oldest first.
var recentFields = func() []string {
	out := make([]string, RecentPurchases)
	for k := range out {
		out[k] = RecentPurchasesField + ".purchase_" + strconv.Itoa(k+1)
	}
	return out
}()

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
func (u *Users) Hashes() int { return u.hashes }
