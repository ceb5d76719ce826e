package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Source says which list a recommended item came from.
type Source uint8

// Sources, in the order Recommend fills from them.
const (
	SourceSimilar  Source = iota + 1 // neighbours of the user's recent purchases
	SourceSegment                    // popular in the user's segment
	SourcePopular                    // popular overall
	SourcePersonal                   // the user's batch list (rec:<user>), maybe raised by newer purchases
)

var sourceNames = [...]string{SourceSimilar: "similar", SourceSegment: "segment", SourcePopular: "popular", SourcePersonal: "personal"}

func (s Source) String() string {
	if int(s) < len(sourceNames) && sourceNames[s] != "" {
		return sourceNames[s]
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the source's name.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a source's name.
func (s *Source) UnmarshalText(b []byte) error {
	for i, name := range sourceNames {
		if name != "" && name == string(b) {
			*s = Source(i)
			return nil
		}
	}
	return fmt.Errorf("source %q: want personal, similar, segment or popular", b)
}

// Recommended is one recommended item.
//
// Score means one thing per source: for personal items the model's score
// for the user (plus the blended neighbours of newer purchases), for
// similar items the similarities summed over the purchases with their age
// weights, and for segment and popular items the item's popularity
// relative to the top item of the same list (1 for the most popular, in
// (0, 1]); Popularity then holds the popularity itself: the number of
// distinct users (with run --weighted, their summed event weights).
type Recommended struct {
	Item       string  `json:"item"`
	Score      float64 `json:"score"`
	Popularity float64 `json:"popularity,omitempty"` // segment and popular items only
	Source     Source  `json:"source"`
}

// History sources: where the purchases behind similar items were read.
const (
	HistoryLive  = "live"  // the RudderStack hash, updated as events arrive
	HistoryBatch = "batch" // the version's feature hash, as of the last run
)

// Recommendations is Recommend's answer. Every item and score comes from
// Version.
type Recommendations struct {
	User    string        `json:"user"`
	Version string        `json:"version"`
	Items   []Recommended `json:"items"`
	// History holds the purchases the similar items were drawn from,
	// newest first; HistoryFrom says where they were read ("" when the
	// user has none).
	History     []string `json:"history"`
	HistoryFrom string   `json:"history_from,omitempty"`
	// Newer holds the live purchases, newest first, that the version's
	// feature hash does not have, when the user has a batch list: their
	// neighbours were blended into it.
	Newer []string `json:"newer,omitempty"`
	// Segment is the id of the user's segment list ("" without segment
	// columns, and for a user neither hash knows, who gets no segment).
	Segment string `json:"segment,omitempty"`
}

// RecommendOptions tune one Recommend call; the zero value is the default.
type RecommendOptions struct {
	// Decay is the weight of each purchase relative to the next newer
	// one: the newest counts 1, the one before Decay, then Decay², ...
	// Default 0.8; must be in (0, 1].
	Decay float64
	// Depth is how many members of each neighbour list are merged (of
	// the user's batch list, Depth plus one per excluded item and per
	// purchase slot, since those may be in it); default n+10. Lists are
	// written best first and are short (top-N), so reading the head is
	// enough and keeps replies small.
	Depth int
	// Exclude lists more items not to recommend, such as the cart. The
	// user's recent purchases are always excluded.
	Exclude []string
}

func (o RecommendOptions) withDefaults(n int) (RecommendOptions, error) {
	if o.Decay == 0 {
		o.Decay = 0.8
	}
	if !(o.Decay > 0 && o.Decay <= 1) {
		return o, fmt.Errorf("decay %v: %w (want 0 < decay <= 1)", o.Decay, ErrInvalid)
	}
	if o.Depth <= 0 {
		o.Depth = n + 10
	}
	for _, it := range o.Exclude {
		if err := ValidID(it); err != nil {
			return o, fmt.Errorf("exclude: %w", err)
		}
	}
	return o, nil
}

// Recommend returns up to n items for user from the live version: the
// neighbours of the user's most recent purchases, merged with weights that
// decay with the age of the purchase, without what the user bought; then,
// when those are fewer than n, the best of the user's segment list and of
// global popularity.
//
// When the version has the user's batch list (rec:<user>, run
// --user-lists), that list replaces the neighbours of the purchases the
// run knew: an item's score is its batch score plus, for each live
// purchase the version's feature hash does not have (Newer, newest
// first), decay^age times the item's score in that purchase's neighbour
// list. Items of the batch list are SourcePersonal, items only from the
// newer purchases SourceSimilar; both the live and the batch purchases
// are left out. Segment and popularity fill up as above.
//
// The purchases are read from the RudderStack hash when it has any, which
// follows events as they arrive, and otherwise from the version's feature
// hash; segment traits likewise, field by field. A user nobody knows gets
// the popular items.
//
// It costs at most two pipelined round trips: the two user hashes, then
// the lists the cache lacks with the live version id, which tells whether
// the version was flipped away from meanwhile (no second trip when the
// cache holds every list and the user's batch hash was found); plus one to
// resolve the version when its cache is cold.
func (c *Client) Recommend(ctx context.Context, user string, n int, opt RecommendOptions) (*Recommendations, error) {
	if err := ValidID(user); err != nil {
		return nil, err
	}
	if err := checkN(n); err != nil {
		return nil, err
	}
	opt, err := opt.withDefaults(n)
	if err != nil {
		return nil, err
	}
	v, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	r, moved, err := c.recommendAt(ctx, v, user, n, &opt)
	if err != nil || moved == "" {
		return r, err
	}
	c.stats.retries.Add(1)
	r, _, err = c.recommendAt(ctx, moved, user, n, &opt)
	return r, err
}

// profile is what Recommend needs to know about a user.
type profile struct {
	history []string // newest first
	from    string
	segment string
	seg     bool // read the segment list: segment columns and a known user
	batch   bool // the version's feature hash had any of the fields, or the user has a batch list
	// rec is the head of the user's batch list, best first (nil when the
	// version has none for the user); then expand is the newer purchases,
	// otherwise the history, and bought every purchase, live or batch.
	rec    []redis.Z
	expand []string
	bought []string
}

// recommendAt reads everything from version v. When something was missing
// and v is no longer live (a flip, maybe followed by cleanup, happened
// while reading), it returns the new live version in moved so the caller
// can run once more there.
func (c *Client) recommendAt(ctx context.Context, v, user string, n int, opt *RecommendOptions) (r *Recommendations, moved string, err error) {
	p, err := c.profile(ctx, v, user, opt.Depth+len(opt.Exclude)+purchaseSlots)
	if err != nil {
		return nil, "", err
	}
	lists, live, err := c.lists(ctx, v, p, n, opt)
	if err != nil {
		return nil, "", err
	}
	missing := !p.batch || slices.ContainsFunc(lists, func(zs []redis.Z) bool { return len(zs) == 0 })
	if missing && live != "" && live != v {
		return nil, live, nil
	}
	r = &Recommendations{User: user, Version: v, History: p.history, HistoryFrom: p.from, Segment: p.segment}
	if r.History == nil {
		r.History = []string{}
	}
	if p.rec != nil {
		r.Newer = p.expand
	}
	r.Items = assemble(lists, p, n, opt)
	return r, "", nil
}

// profile reads the user's fields from the RudderStack hash and the
// version's feature hash, and the head (depth members) of the user's batch
// list, in one round trip.
func (c *Client) profile(ctx context.Context, v, user string, depth int) (profile, error) {
	cctx, cancel := c.call(ctx)
	defer cancel()
	pl := c.rdb.Pipeline()
	var live *redis.SliceCmd
	if !c.live.off {
		live = pl.HMGet(cctx, c.keys.LiveUser(c.live.prefix, user), c.profileF...)
	}
	batch := pl.HMGet(cctx, c.keys.User(v, user), c.profileF...)
	rec := pl.ZRevRangeWithScores(cctx, c.keys.List(v, FamilyRec, user), 0, int64(depth-1))
	_, _ = pl.Exec(cctx)
	if err := cmp.Or(batch.Err(), rec.Err()); err != nil {
		return profile{}, c.unavailable(ctx, fmt.Sprintf("read user %q", user), err)
	}
	var lv []any
	if live != nil {
		// A key of another type where the RudderStack hash would be is
		// not ours to fail on: the user then has no live data.
		var reply redis.Error
		switch err := live.Err(); {
		case err == nil:
			lv = live.Val()
		case !errors.As(err, &reply):
			return profile{}, c.unavailable(ctx, fmt.Sprintf("read user %q", user), err)
		}
	}
	p := c.makeProfile(lv, batch.Val())
	if len(rec.Val()) > 0 {
		p.blend(rec.Val(), purchases(lv), purchases(batch.Val()))
	}
	return p, nil
}

// makeProfile picks the history from the live fields when they have any
// purchase, else from the batch fields, and each segment trait from the
// live fields when set there.
func (c *Client) makeProfile(live, batch []any) profile {
	var p profile
	p.batch = slices.ContainsFunc(batch, func(x any) bool { return x != nil })
	p.history, p.from = purchases(live), HistoryLive
	if len(p.history) == 0 {
		p.history, p.from = purchases(batch), HistoryBatch
	}
	if len(p.history) == 0 {
		p.from = ""
	}
	p.expand, p.bought = p.history, p.history
	known := p.batch || slices.ContainsFunc(live, func(x any) bool { return x != nil })
	if len(c.segCols) > 0 && known {
		vals := make([]string, len(c.segCols))
		for i := range c.segCols {
			vals[i] = fieldAt(live, purchaseSlots+i)
			if vals[i] == "" {
				vals[i] = fieldAt(batch, purchaseSlots+i)
			}
		}
		p.segment, p.seg = SegmentID(vals...), true
	}
	return p
}

// blend makes p use the user's batch list rec: the neighbours of the live
// purchases the batch hash does not have are merged into it, and every
// purchase, live or batch, is left out.
func (p *profile) blend(rec []redis.Z, live, batch []string) {
	p.rec, p.batch = rec, true
	p.expand = make([]string, 0, len(live))
	for _, it := range live {
		if !slices.Contains(batch, it) {
			p.expand = append(p.expand, it)
		}
	}
	p.bought = append(slices.Clone(live), batch...)
}

// lists reads, in one round trip, the neighbour list of each purchase,
// the segment list, the popularity list and the live version id, except
// the lists the cache holds; when it holds them all and the user's batch
// hash was found, it makes no round trip. It returns the lists in that
// order (the segment list only with segment columns) and the live version
// ("" when there is none or it was not read).
func (c *Client) lists(ctx context.Context, v string, p profile, n int, opt *RecommendOptions) ([][]redis.Z, string, error) {
	keys := make([]string, 0, len(p.expand)+2)
	need := make([]int, 0, len(p.expand)+2)
	for _, it := range p.expand {
		keys, need = append(keys, c.keys.List(v, FamilySimilar, it)), append(need, opt.Depth)
	}
	fill := n + len(p.bought) + len(opt.Exclude)
	if p.seg {
		keys, need = append(keys, c.keys.List(v, FamilySegment, p.segment)), append(need, fill)
	}
	keys, need = append(keys, c.keys.List(v, FamilyPopular, "")), append(need, fill)

	gen := c.gen.Load()
	cctx, cancel := c.call(ctx)
	defer cancel()
	pl := c.rdb.Pipeline()
	out := make([][]redis.Z, len(keys))
	cmds := make([]*redis.ZSliceCmd, len(keys))
	for i, key := range keys {
		if zs, ok := c.cache.get(v, key, need[i]); ok {
			out[i] = zs
			continue
		}
		cmds[i] = pl.ZRevRangeWithScores(cctx, key, 0, int64(c.cache.depth(need[i])-1))
	}
	if pl.Len() == 0 && p.batch {
		// Everything came from the cache, so nothing can be missing: the
		// user's batch hash was there and cached lists are whole.
		return out, "", nil
	}
	cur := pl.Get(cctx, c.keys.Current())
	if _, err := pl.Exec(cctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", c.unavailable(ctx, "read lists", err)
	}
	live := cur.Val()
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		zs := cmd.Val()
		if live == v {
			c.cache.put(v, keys[i], zs, c.cache.depth(need[i]))
		}
		out[i] = zs[:min(need[i], len(zs))]
	}
	if live != "" {
		c.observe(live, gen)
	}
	return out, live, nil
}

// assemble merges the user's batch list (when it has one) and the
// neighbour lists (the first len(p.expand) of lists), weighting list k by
// decay^k, then fills up from the segment and popularity lists.
func assemble(lists [][]redis.Z, p profile, n int, opt *RecommendOptions) []Recommended {
	skip := newItemSet(len(p.bought) + len(opt.Exclude) + n)
	for _, it := range p.bought {
		skip.add(it)
	}
	for _, it := range opt.Exclude {
		skip.add(it)
	}
	out := mergeSimilar(p.rec, lists[:len(p.expand)], opt.Decay, skip, n)
	for _, it := range out {
		skip.add(it.Item)
	}
	fills := lists[len(p.expand):]
	srcs := []Source{SourceSegment, SourcePopular}
	if len(fills) == 1 {
		srcs = srcs[1:] // no segment columns
	}
	for f, zs := range fills {
		for _, z := range zs {
			if len(out) == n {
				return out
			}
			it := z.Member.(string)
			if skip.add(it) {
				out = append(out, Recommended{Item: it, Score: relative(z.Score, zs[0].Score), Popularity: z.Score, Source: srcs[f]})
			}
		}
	}
	return out
}

// relative is a fill item's popularity over top, its list's first item's.
func relative(count, top float64) float64 {
	if top <= 0 {
		return 0
	}
	return count / top
}

// mergeSimilar sums each item's scores over the batch list rec (weight
// 1) and the lists, list k weighted by decay^k, and returns the n best not
// in skip, ties broken by item id. Items of rec are SourcePersonal.
func mergeSimilar(rec []redis.Z, lists [][]redis.Z, decay float64, skip itemSet, n int) []Recommended {
	sc := mergePool.Get().(*mergeScratch)
	defer mergePool.Put(sc)
	clear(sc.at)
	cands := sc.cands[:0]
	for _, z := range rec {
		it := z.Member.(string)
		if _, dup := sc.at[it]; !dup && !skip.has(it) {
			sc.at[it] = len(cands)
			cands = append(cands, Recommended{Item: it, Score: z.Score, Source: SourcePersonal})
		}
	}
	w := 1.0
	for _, zs := range lists {
		for _, z := range zs {
			it := z.Member.(string)
			if skip.has(it) {
				continue
			}
			if i, ok := sc.at[it]; ok {
				cands[i].Score += w * z.Score
				continue
			}
			sc.at[it] = len(cands)
			cands = append(cands, Recommended{Item: it, Score: w * z.Score, Source: SourceSimilar})
		}
		w *= decay
	}
	slices.SortFunc(cands, func(a, b Recommended) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Item, b.Item)
	})
	out := make([]Recommended, min(n, len(cands)), n)
	copy(out, cands)
	sc.cands = cands
	return out
}

// mergeScratch is mergeSimilar's working memory, reused across calls.
type mergeScratch struct {
	at    map[string]int
	cands []Recommended
}

var mergePool = sync.Pool{New: func() any {
	return &mergeScratch{at: make(map[string]int, 128), cands: make([]Recommended, 0, 128)}
}}

// itemSet is a set of item ids: a slice while small, a map beyond.
type itemSet struct {
	small []string
	big   map[string]struct{}
}

func newItemSet(capacity int) itemSet {
	if capacity > 32 {
		return itemSet{big: make(map[string]struct{}, capacity)}
	}
	return itemSet{small: make([]string, 0, capacity)}
}

func (s *itemSet) has(it string) bool {
	if s.big != nil {
		_, ok := s.big[it]
		return ok
	}
	return slices.Contains(s.small, it)
}

// add adds it and reports whether it was new.
func (s *itemSet) add(it string) bool {
	if s.has(it) {
		return false
	}
	if s.big != nil {
		s.big[it] = struct{}{}
	} else {
		s.small = append(s.small, it)
	}
	return true
}

// purchaseSlots is how many recent purchases a feature hash holds:
// recent_five_purchases.purchase_1 (oldest) .. purchase_5 (newest).
const purchaseSlots = 5

// purchaseFields returns recent_five_purchases.purchase_1 .. purchase_5,
// the fields the feature hashes and the RudderStack traits (flattened with
// dots) hold a user's last purchases in, the first the oldest.
func purchaseFields() []string {
	out := make([]string, purchaseSlots)
	for i := range out {
		out[i] = "recent_five_purchases.purchase_" + strconv.Itoa(i+1)
	}
	return out
}

// purchases returns the distinct purchases in HMGET values of
// purchaseFields (then anything), newest first.
func purchases(vals []any) []string {
	var out []string
	for i := min(purchaseSlots, len(vals)) - 1; i >= 0; i-- {
		it := fieldAt(vals, i)
		if it == "" || ValidID(it) != nil || slices.Contains(out, it) {
			continue
		}
		out = append(out, it)
	}
	return out
}

func fieldAt(vals []any, i int) string {
	if i >= len(vals) {
		return ""
	}
	s, _ := vals[i].(string)
	return s
}

// liveSource says whether and where the RudderStack hashes are read.
type liveSource struct {
	prefix string
	off    bool
}
