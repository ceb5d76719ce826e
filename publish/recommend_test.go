package publish_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// fixture describes a model with every family Recommend reads: items
// i0..i(Items-1) with Depth neighbours each, users u0..u(Users-1) with 0 to
// 5 purchases, segment lists by membership_status x income_bracket and a
// popularity list.
type fixture struct {
	Items, Users, Depth int
	// Tag is encoded in every score (Tag + a multiple of 1/64 below 1) and,
	// with Tagged, in every list member ("i7~3"), so a reader can tell
	// which version an answer came from.
	Tag    int
	Tagged bool
	Seed   uint64
	// Personal is the length of the users' batch lists (rec:<user>), which
	// three users in four have; 0: none.
	Personal int
}

var (
	fixtureStatus  = []string{"gold", "silver", "bronze", ""}
	fixtureIncome  = []string{"low", "mid", "high", ""}
	fixtureSegment = 60 // members of a segment list
	fixturePopular = 80 // members of the popularity list
)

func (f fixture) member(i int) string {
	if f.Tagged {
		return "i" + strconv.Itoa(i) + "~" + strconv.Itoa(f.Tag)
	}
	return "i" + strconv.Itoa(i)
}

// fill writes count distinct items (never skip) drawn by rng into l, best
// first, with scores that are exact binary fractions so sums are exact.
func (f fixture) fill(l *publish.List, rng *rand.Rand, count, skip int) {
	seen := make(map[int]bool, count)
	for len(l.Members) < count {
		it := rng.IntN(f.Items)
		if it == skip || seen[it] {
			continue
		}
		seen[it] = true
		l.Members = append(l.Members, f.member(it))
		l.Scores = append(l.Scores, float64(f.Tag)+float64(count-len(l.Scores))/64)
	}
}

func (f fixture) rng(family, i int) *rand.Rand {
	return rand.New(rand.NewPCG(f.Seed, uint64(family)<<32|uint64(i)))
}

// Model returns the fixture's model.
func (f fixture) Model() *publish.Model {
	m := f.model()
	if f.Personal > 0 {
		m.Families = append(m.Families, publish.Family{Name: publish.FamilyRec, Lists: publish.FuncLists{N: f.Users, Fn: func(j int, l *publish.List) {
			if j%4 != 3 {
				l.ID = "u" + strconv.Itoa(j)
				f.fill(l, f.rng(5, j), f.Personal, -1)
			}
		}}})
	}
	return m
}

func (f fixture) model() *publish.Model {
	segs := len(fixtureStatus) * len(fixtureIncome)
	return &publish.Model{
		Families: []publish.Family{
			{Name: publish.FamilySimilar, Lists: publish.FuncLists{N: f.Items, Fn: func(i int, l *publish.List) {
				l.ID = "i" + strconv.Itoa(i)
				f.fill(l, f.rng(1, i), f.Depth, i)
			}}},
			{Name: publish.FamilySegment, Lists: publish.FuncLists{N: segs, Fn: func(i int, l *publish.List) {
				l.ID = publish.SegmentID(fixtureStatus[i/len(fixtureIncome)], fixtureIncome[i%len(fixtureIncome)])
				f.fill(l, f.rng(2, i), min(fixtureSegment, f.Items), -1)
			}}},
			{Name: publish.FamilyPopular, Lists: publish.FuncLists{N: 1, Fn: func(i int, l *publish.List) {
				f.fill(l, f.rng(3, i), min(fixturePopular, f.Items), -1)
			}}},
		},
		Users: publish.FuncHashes{N: f.Users, Fn: f.user},
	}
}

func (f fixture) user(j int, h *publish.Hash) {
	h.ID = "u" + strconv.Itoa(j)
	rng := f.rng(4, j)
	if s := fixtureStatus[rng.IntN(len(fixtureStatus))]; s != "" {
		h.Fields, h.Values = append(h.Fields, "membership_status"), append(h.Values, s)
	}
	if s := fixtureIncome[rng.IntN(len(fixtureIncome))]; s != "" {
		h.Fields, h.Values = append(h.Fields, "income_bracket"), append(h.Values, s)
	}
	for k := range j % 6 {
		h.Fields = append(h.Fields, "recent_five_purchases.purchase_"+strconv.Itoa(k+1))
		h.Values = append(h.Values, "i"+strconv.Itoa(rng.IntN(f.Items)))
	}
	h.Fields, h.Values = append(h.Fields, "event_count.order_completed"), append(h.Values, strconv.Itoa(j%6))
}

// MustPublish publishes m and returns its version.
func MustPublish(tb testing.TB, rdb redis.UniversalClient, m *publish.Model) string {
	tb.Helper()
	w := &publish.Writer{Client: rdb, SampleSize: 50}
	r, err := w.Publish(context.Background(), m)
	if err != nil {
		tb.Fatal(err)
	}
	return r.Version
}

// slowRecommend is the obvious reading of Recommend's contract: whole
// hashes and whole lists read one by one, weights by math.Pow. With a
// batch list, its scores are summed with those of the neighbours of the
// live purchases the batch hash lacks.
func slowRecommend(tb testing.TB, rdb redis.UniversalClient, v, livePrefix, user string, n int, decay float64, exclude []string) []publish.Recommended {
	tb.Helper()
	ctx := context.Background()
	k := publish.Keys{}
	liveKey := "user:" + user
	if livePrefix != "" {
		liveKey = livePrefix + ":user:" + user
	}
	live := rdb.HGetAll(ctx, liveKey).Val()
	batch := rdb.HGetAll(ctx, k.User(v, user)).Val()
	history := func(h map[string]string) []string {
		var out []string
		for i := 5; i >= 1; i-- {
			if it := h["recent_five_purchases.purchase_"+strconv.Itoa(i)]; it != "" && !slices.Contains(out, it) {
				out = append(out, it)
			}
		}
		return out
	}
	hist := history(live)
	if len(hist) == 0 {
		hist = history(batch)
	}
	skip := append(slices.Clone(hist), exclude...)
	sum := map[string]float64{}
	src := map[string]publish.Source{}
	expand := hist
	if rec := rdb.ZRangeWithScores(ctx, k.List(v, publish.FamilyRec, user), 0, -1).Val(); len(rec) > 0 {
		expand = nil
		for _, it := range history(live) {
			if !slices.Contains(history(batch), it) {
				expand = append(expand, it)
			}
		}
		skip = append(skip, history(live)...)
		skip = append(skip, history(batch)...)
		for _, z := range rec {
			sum[z.Member.(string)], src[z.Member.(string)] = z.Score, publish.SourcePersonal
		}
	}
	trait := func(f string) string {
		if s := live[f]; s != "" {
			return s
		}
		return batch[f]
	}
	for age, it := range expand {
		for _, z := range rdb.ZRangeWithScores(ctx, k.List(v, publish.FamilySimilar, it), 0, -1).Val() {
			sum[z.Member.(string)] += math.Pow(decay, float64(age)) * z.Score
		}
	}
	var out []publish.Recommended
	for it, s := range sum {
		if !slices.Contains(skip, it) {
			out = append(out, publish.Recommended{Item: it, Score: s, Source: cmp.Or(src[it], publish.SourceSimilar)})
		}
	}
	slices.SortFunc(out, func(a, b publish.Recommended) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Item, b.Item))
	})
	out = out[:min(n, len(out))]
	fills := []struct {
		key string
		src publish.Source
	}{
		{k.List(v, publish.FamilySegment, publish.SegmentID(trait("membership_status"), trait("income_bracket"))), publish.SourceSegment},
		{k.List(v, publish.FamilyPopular, ""), publish.SourcePopular},
	}
	// A user neither hash has a field of (purchases, segment traits) for
	// has no segment.
	known := false
	for _, f := range []string{"membership_status", "income_bracket", "recent_five_purchases.purchase_1", "recent_five_purchases.purchase_2",
		"recent_five_purchases.purchase_3", "recent_five_purchases.purchase_4", "recent_five_purchases.purchase_5"} {
		_, inLive := live[f]
		_, inBatch := batch[f]
		known = known || inLive || inBatch
	}
	if !known {
		fills = fills[1:]
	}
	for _, f := range fills {
		zs := rdb.ZRevRangeWithScores(ctx, f.key, 0, -1).Val()
		for _, z := range zs {
			it := z.Member.(string)
			if len(out) < n && !slices.Contains(skip, it) && !slices.ContainsFunc(out, func(r publish.Recommended) bool { return r.Item == it }) {
				out = append(out, publish.Recommended{Item: it, Score: z.Score / zs[0].Score, Popularity: z.Score, Source: f.src})
			}
		}
	}
	return out
}

func TestRecommendMatchesSlow(t *testing.T) {
	t.Run("neighbours", func(t *testing.T) { testRecommendMatchesSlow(t, 0) })
	// With batch lists, blended with the live purchases newer than them.
	t.Run("personal", func(t *testing.T) { testRecommendMatchesSlow(t, 15) })
}

func testRecommendMatchesSlow(t *testing.T, personal int) {
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		ctx := context.Background()
		f := fixture{Items: 300, Users: 400, Depth: 20, Tag: 1, Seed: 1, Personal: personal}
		v := MustPublish(t, rdb, f.Model())
		// A third of the users also have a RudderStack hash, some with
		// other purchases and traits than last night's.
		for j := 0; j < f.Users; j += 3 {
			h := map[string]any{"membership_status": fixtureStatus[j%4]}
			for k := range (j / 3) % 6 {
				h["recent_five_purchases.purchase_"+strconv.Itoa(k+1)] = "i" + strconv.Itoa((j*7+k*13)%f.Items)
			}
			rdb.HSet(ctx, "rs:user:u"+strconv.Itoa(j), h)
		}
		// A key of another type where a live hash could be is ignored.
		rdb.Set(ctx, "rs:user:u1", "not a hash", 0)
		c := publish.NewClient(rdb, publish.ClientOptions{LivePrefix: "rs"})
		blended := 0
		for j := range f.Users + 10 { // and ten users nobody knows
			user := "u" + strconv.Itoa(j)
			n := 1 + j%25
			opt := publish.RecommendOptions{Decay: 0.5, Depth: 1000}
			if j%7 == 0 {
				opt.Exclude = []string{"i" + strconv.Itoa(j%f.Items)}
			}
			got, err := c.Recommend(ctx, user, n, opt)
			if err != nil {
				t.Fatalf("Recommend(%s): %v", user, err)
			}
			want := slowRecommend(t, rdb, v, "rs", user, n, 0.5, opt.Exclude)
			if got.Version != v || !slices.Equal(got.Items, want) {
				t.Fatalf("Recommend(%s, %d)\n got %s %v\nwant %s %v", user, n, got.Version, got.Items, v, want)
			}
			if len(got.Newer) > 0 && slices.ContainsFunc(got.Items, func(r publish.Recommended) bool { return r.Source == publish.SourcePersonal }) {
				blended++
			}
		}
		if got := blended > 0; got != (personal > 0) {
			t.Errorf("%d answers blend a batch list with newer purchases; personal lists of %d", blended, personal)
		}
	})
}

func TestRecommend(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	m := &publish.Model{
		Families: []publish.Family{
			{Name: publish.FamilySimilar, Lists: lists(map[string]string{
				"a": "b:0.9 c:0.5 x:0.4",
				"b": "a:0.9 c:0.8 d:0.1",
				"c": "d:0.7 a:0.5",
			})},
			{Name: publish.FamilySegment, Lists: lists(map[string]string{
				"gold|high": "s1:30 a:20 s2:10",
				"gold|":     "g1:5",
			})},
			{Name: publish.FamilyPopular, Lists: lists(map[string]string{"": "p1:100 s1:90 p2:80 p3:70"})},
			{Name: publish.FamilyRec, Lists: lists(map[string]string{
				"erin":  "b:3 e:1 a:0.5",
				"frank": "x:2 e:1.5",
			})},
		},
		Users: hashes(map[string]string{
			"alice": "membership_status=gold income_bracket=high recent_five_purchases.purchase_1=c recent_five_purchases.purchase_2=a",
			"bob":   "membership_status=gold recent_five_purchases.purchase_1=b",
			"carol": "income_bracket=high",
			"erin":  "membership_status=gold recent_five_purchases.purchase_1=b",
			"frank": "recent_five_purchases.purchase_1=a",
		}),
	}
	v := MustPublish(t, rdb, m)
	// dave exists only in RudderStack; bob bought c since last night.
	rdb.HSet(ctx, "user:dave", "recent_five_purchases.purchase_1", "a", "membership_status", "gold")
	rdb.HSet(ctx, "user:bob", "recent_five_purchases.purchase_1", "b", "recent_five_purchases.purchase_2", "c")
	rdb.HSet(ctx, "user:erin", "recent_five_purchases.purchase_1", "b", "recent_five_purchases.purchase_2", "c")
	c := publish.NewClient(rdb, publish.ClientOptions{})

	tests := []struct {
		user    string
		n       int
		opt     publish.RecommendOptions
		want    string // item/source, in order
		history string
		from    string
		segment string
		newer   string
	}{
		// a newest (weight 1), c older (0.8): b 0.9, d 0.8*0.7=0.56, x 0.4.
		{"alice", 3, publish.RecommendOptions{}, "b/similar d/similar x/similar", "a c", "batch", "gold|high", ""},
		{"alice", 6, publish.RecommendOptions{}, "b/similar d/similar x/similar s1/segment s2/segment p1/popular", "a c", "batch", "gold|high", ""},
		{"alice", 3, publish.RecommendOptions{Exclude: []string{"d"}}, "b/similar x/similar s1/segment", "a c", "batch", "gold|high", ""},
		// c newest: d 0.7, a 0.5+0.8*0.9=1.22; b bought.
		{"bob", 4, publish.RecommendOptions{}, "a/similar d/similar g1/segment p1/popular", "c b", "live", "gold|", ""},
		{"carol", 2, publish.RecommendOptions{}, "p1/popular s1/popular", "", "", "|high", ""},
		{"dave", 3, publish.RecommendOptions{}, "b/similar c/similar x/similar", "a", "live", "gold|", ""},
		// nobody is known to either hash: no segment, popularity only.
		{"nobody", 2, publish.RecommendOptions{}, "p1/popular s1/popular", "", "", "", ""},
		{"alice", 1, publish.RecommendOptions{Depth: 1}, "b/similar", "a c", "batch", "gold|high", ""},
		// erin's batch list, without b (bought), plus c's neighbours (c
		// is newer than the version): a 0.5+0.5 ties e 1 (ids break it),
		// d 0.7 only from c.
		{"erin", 4, publish.RecommendOptions{}, "a/personal e/personal d/similar g1/segment", "c b", "live", "gold|", "c"},
		{"frank", 3, publish.RecommendOptions{}, "x/personal e/personal p1/popular", "a", "batch", "|", ""},
		{"frank", 2, publish.RecommendOptions{Exclude: []string{"x"}}, "e/personal p1/popular", "a", "batch", "|", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/n=%d/%+v", tt.user, tt.n, tt.opt), func(t *testing.T) {
			r, err := c.Recommend(ctx, tt.user, tt.n, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range r.Items {
				got = append(got, it.Item+"/"+it.Source.String())
			}
			if got, want := strings.Join(got, " "), tt.want; got != want {
				t.Errorf("items %q, want %q (%+v)", got, want, r.Items)
			}
			if got, want := strings.Join(r.History, " "), tt.history; got != want {
				t.Errorf("history %q, want %q", got, want)
			}
			if got, want := strings.Join(r.Newer, " "), tt.newer; got != want {
				t.Errorf("newer %q, want %q", got, want)
			}
			if r.HistoryFrom != tt.from || r.Segment != tt.segment || r.Version != v || r.User != tt.user {
				t.Errorf("from %q segment %q version %s user %s, want %q %q %s %s", r.HistoryFrom, r.Segment, r.Version, r.User, tt.from, tt.segment, v, tt.user)
			}
		})
	}

	t.Run("scores", func(t *testing.T) {
		r, _ := c.Recommend(ctx, "bob", 2, publish.RecommendOptions{})
		if got, want := r.Items[0].Score, 0.5+0.8*0.9; math.Abs(got-want) > 1e-12 {
			t.Errorf("score of a=%v, want %v", got, want)
		}
		if r.Items[0].Popularity != 0 {
			t.Errorf("similar item a has popularity %v, want none", r.Items[0].Popularity)
		}
	})
	// Fill items carry their popularity (users) in Popularity and, in
	// Score, that relative to the list's top item, so Score never holds a
	// count.
	t.Run("fill counts", func(t *testing.T) {
		r, err := c.Recommend(ctx, "alice", 7, publish.RecommendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type fill struct {
			item  string
			score float64
			count float64
		}
		var got []fill
		for _, it := range r.Items[3:] {
			got = append(got, fill{it.Item, it.Score, it.Popularity})
		}
		// s1:30 a:20 (bought) s2:10 in gold|high; p1:100 s1:90 p2:80 in pop.
		want := []fill{{"s1", 1, 30}, {"s2", 10.0 / 30, 10}, {"p1", 1, 100}, {"p2", 0.8, 80}}
		if len(got) != len(want) {
			t.Fatalf("fill items %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].item != want[i].item || got[i].count != want[i].count || math.Abs(got[i].score-want[i].score) > 1e-12 {
				t.Errorf("fill item %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	})
	t.Run("options", func(t *testing.T) {
		c := publish.NewClient(rdb, publish.ClientOptions{NoLive: true, SegmentColumns: []string{}})
		r, err := c.Recommend(ctx, "dave", 2, publish.RecommendOptions{})
		if err != nil || r.Segment != "" || r.HistoryFrom != "" || r.Items[0].Source != publish.SourcePopular {
			t.Errorf("NoLive, no segments: %+v err %v", r, err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, call := range []func() error{
			func() error { _, err := c.Recommend(ctx, "", 5, publish.RecommendOptions{}); return err },
			func() error { _, err := c.Recommend(ctx, "a*", 5, publish.RecommendOptions{}); return err },
			func() error { _, err := c.Recommend(ctx, "alice", 0, publish.RecommendOptions{}); return err },
			func() error {
				_, err := c.Recommend(ctx, "alice", publish.MaxResults+1, publish.RecommendOptions{})
				return err
			},
			func() error { _, err := c.Recommend(ctx, "alice", 5, publish.RecommendOptions{Decay: 1.5}); return err },
			func() error {
				_, err := c.Recommend(ctx, "alice", 5, publish.RecommendOptions{Exclude: []string{"{x}"}})
				return err
			},
		} {
			if err := call(); !errors.Is(err, publish.ErrInvalid) {
				t.Errorf("err=%v, want ErrInvalid", err)
			}
		}
	})
}

// lists turns {"id": "member:score ..."} into a ListSource.
func lists(m map[string]string) publish.ListSource {
	ids := slices.Sorted(maps.Keys(m))
	return publish.FuncLists{N: len(ids), Fn: func(i int, l *publish.List) {
		l.ID = ids[i]
		for _, f := range strings.Fields(m[ids[i]]) {
			member, score, _ := strings.Cut(f, ":")
			s, _ := strconv.ParseFloat(score, 64)
			l.Members, l.Scores = append(l.Members, member), append(l.Scores, s)
		}
	}}
}

// hashes turns {"user": "field=value ..."} into a HashSource.
func hashes(m map[string]string) publish.HashSource {
	ids := slices.Sorted(maps.Keys(m))
	return publish.FuncHashes{N: len(ids), Fn: func(i int, h *publish.Hash) {
		h.ID = ids[i]
		for _, f := range strings.Fields(m[ids[i]]) {
			k, v, _ := strings.Cut(f, "=")
			h.Fields, h.Values = append(h.Fields, k), append(h.Values, v)
		}
	}}
}

func TestSourceText(t *testing.T) {
	for _, s := range []publish.Source{publish.SourceSimilar, publish.SourceSegment, publish.SourcePopular, publish.SourcePersonal} {
		b, _ := s.MarshalText()
		var got publish.Source
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("round trip of %v: %v, %v", s, got, err)
		}
	}
	var s publish.Source
	if err := s.UnmarshalText([]byte("nope")); err == nil || !strings.Contains(err.Error(), "similar, segment or popular") {
		t.Errorf("UnmarshalText(nope) err=%v", err)
	}
}

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
