package publish_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"P1", true},
		{"sku:123", true},
		{"gid://shop/Product/9", true},
		{"Blue shirt", true},
		{"café-ü", true},
		{strings.Repeat("x", publish.MaxIDLen), true},
		{"", false},
		{strings.Repeat("x", publish.MaxIDLen+1), false},
		{"a*", false},
		{"a?", false},
		{"[a]", false},
		{"{reco}", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\x7f", false},
		{"a\u0085b", false}, // C1 control
		{"\xff\xfe", false},
	}
	for _, tt := range tests {
		err := publish.ValidID(tt.id)
		if got := err == nil; got != tt.ok {
			t.Errorf("ValidID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, publish.ErrInvalid) {
			t.Errorf("ValidID(%q) = %v, want ErrInvalid", tt.id, err)
		}
	}
}

// FuzzValidIDKeys checks that every id ValidID accepts names a key inside
// its family of the version: the key is the family prefix followed by the
// id, byte for byte.
func FuzzValidIDKeys(f *testing.F) {
	for _, s := range []string{"P1", "a:b", "../x", ":manifest", "x:sim:y", "ü"} {
		f.Add(s)
	}
	k := publish.Keys{}
	f.Fuzz(func(t *testing.T, id string) {
		if publish.ValidID(id) != nil {
			return
		}
		for _, fam := range []string{publish.FamilySimilar, publish.FamilySegment} {
			prefix := "reco:V:" + fam + ":"
			if got := k.List("V", fam, id); got != prefix+id {
				t.Fatalf("List(%q)=%q, want %q", id, got, prefix+id)
			}
		}
		if got, want := k.User("V", id), "reco:V:user:"+id; got != want {
			t.Fatalf("User(%q)=%q, want %q", id, got, want)
		}
	})
}

func TestClient(t *testing.T) {
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		ctx := context.Background()
		c := publish.NewClient(rdb, publish.ClientOptions{})
		if _, _, err := c.Neighbors(ctx, "i1", 5); !errors.Is(err, publish.ErrNoVersion) {
			t.Fatalf("before any publish: err=%v, want ErrNoVersion", err)
		}
		f := fixture{Items: 50, Users: 20, Depth: 10, Tag: 3, Seed: 2}
		v := MustPublish(t, rdb, f.Model())
		got, gotV, err := c.Neighbors(ctx, "i1", 4)
		if err != nil || gotV != v || len(got) != 4 {
			t.Fatalf("Neighbors(i1, 4)=%v %s %v, want 4 from %s", got, gotV, err, v)
		}
		for i, s := range got {
			if int(s.Score) != 3 || (i > 0 && s.Score > got[i-1].Score) {
				t.Errorf("Neighbors(i1)[%d]=%v: want scores 3.x, best first", i, s)
			}
		}
		u, _, err := c.User(ctx, "u5")
		if err != nil || u["recent_five_purchases.purchase_5"] == "" {
			t.Errorf("User(u5)=%v %v", u, err)
		}
		for _, call := range []struct {
			name string
			err  error
			want error
		}{
			{"unknown item", second(c.Neighbors(ctx, "nope", 5)), publish.ErrNotFound},
			{"unknown user", second(c.User(ctx, "nope")), publish.ErrNotFound},
			{"bad item", second(c.Neighbors(ctx, "i*", 5)), publish.ErrInvalid},
			{"bad n", second(c.Neighbors(ctx, "i1", 0)), publish.ErrInvalid},
			{"bad user", second(c.User(ctx, "{u}")), publish.ErrInvalid},
		} {
			if !errors.Is(call.err, call.want) {
				t.Errorf("%s: err=%v, want %v", call.name, call.err, call.want)
			}
		}
	})
}

func second[A, B any](_ A, _ B, err error) error { return err }

func errOf[A any](_ A, err error) error { return err }

// TestFlipThenCleanup reads through a client whose cached version is
// flipped away from and removed: calls succeed on the new version.
func TestFlipThenCleanup(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	f := fixture{Items: 50, Users: 30, Depth: 10, Tag: 1, Tagged: true, Seed: 3}
	v1 := MustPublish(t, rdb, f.Model())
	// Only a miss makes this client look for a new version: no Watch, a
	// long TTL, no cache (which would still answer from version 1).
	c := publish.NewClient(rdb, publish.ClientOptions{TTL: time.Hour, CacheLists: -1})
	if _, v, err := c.Neighbors(ctx, "i1", 3); err != nil || v != v1 {
		t.Fatalf("Neighbors=%s %v", v, err)
	}
	f.Tag = 2
	v2 := MustPublish(t, rdb, f.Model())
	if _, err := publish.DeleteVersion(ctx, rdb, publish.Keys{}, v1); err != nil {
		t.Fatal(err)
	}
	nb, v, err := c.Neighbors(ctx, "i1", 3)
	if err != nil || v != v2 || int(nb[0].Score) != 2 {
		t.Fatalf("after flip and cleanup: Neighbors=%v %s %v, want version %s", nb, v, err, v2)
	}
	f.Tag = 3
	v3 := MustPublish(t, rdb, f.Model())
	if _, err := publish.DeleteVersion(ctx, rdb, publish.Keys{}, v2); err != nil {
		t.Fatal(err)
	}
	r, err := c.Recommend(ctx, "u5", 10, publish.RecommendOptions{})
	if err != nil || r.Version != v3 || len(r.Items) != 10 {
		t.Fatalf("after flip and cleanup: Recommend=%+v %v, want version %s", r, err, v3)
	}
	for _, it := range r.Items {
		if !strings.HasSuffix(it.Item, "~3") {
			t.Errorf("item %s not from version 3", it.Item)
		}
	}
	if st := c.Stats(); st.Retries != 2 || st.VersionChanges != 3 {
		t.Errorf("stats %+v, want 2 retries and 3 version changes", st)
	}
}

func TestWatch(t *testing.T) {
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		ctx, cancel := context.WithCancel(context.Background())
		f := fixture{Items: 20, Users: 5, Depth: 5, Seed: 4}
		MustPublish(t, rdb, f.Model())
		c := publish.NewClient(rdb, publish.ClientOptions{TTL: time.Hour})
		done := make(chan error)
		go func() { done <- c.Watch(ctx) }()

		for round := range 3 {
			if round == 2 {
				// A lost subscription is re-established; flips announced
				// meanwhile are caught by the read after resubscribing.
				tg.Do(t, "CLIENT", "KILL", "TYPE", "pubsub")
			}
			v := MustPublish(t, rdb, f.Model())
			waitFor(t, fmt.Sprintf("round %d: cached version %s", round, v), func() bool {
				got, err := c.Version(ctx) // never asks Redis: the TTL is an hour
				return err == nil && got == v
			})
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Watch did not return after cancel")
		}
	})
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t)), MaxRetries: -1})
		defer rdb.Close()
		c := publish.NewClient(rdb, publish.ClientOptions{})
		for name, err := range map[string]error{
			"Neighbors": second(c.Neighbors(ctx, "i1", 5)),
			"Recommend": errOf(c.Recommend(ctx, "u1", 5, publish.RecommendOptions{})),
			"Version":   errOf(c.Version(ctx)),
		} {
			if !errors.Is(err, publish.ErrUnavailable) {
				t.Errorf("%s: err=%v, want ErrUnavailable", name, err)
			}
		}
		if got := c.Stats().RedisErrors; got != 3 {
			t.Errorf("RedisErrors=%d, want 3", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := redistest.Start(t)
		rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
		defer rdb.Close()
		MustPublish(t, rdb, fixture{Items: 20, Users: 5, Depth: 5}.Model())
		c := publish.NewClient(rdb, publish.ClientOptions{Timeout: 50 * time.Millisecond})
		if _, _, err := c.Neighbors(ctx, "i1", 5); err != nil {
			t.Fatal(err)
		}
		if err := s.Client(t).Do(ctx, "CLIENT", "PAUSE", "500", "ALL").Err(); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err := c.Recommend(ctx, "u1", 5, publish.RecommendOptions{})
		if !errors.Is(err, publish.ErrUnavailable) || time.Since(t0) > 300*time.Millisecond {
			t.Errorf("err=%v after %v, want ErrUnavailable within the 50ms timeout", err, time.Since(t0))
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := redistest.Start(t)
		c := publish.NewClient(s.Client(t), publish.ClientOptions{})
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Version(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, publish.ErrUnavailable) {
			t.Errorf("err=%v, want context.Canceled and not ErrUnavailable", err)
		}
	})
}

// ExampleClient_Recommend publishes a tiny model to an in-process Redis
// and asks for a user's recommendations.
func ExampleClient_Recommend() {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	w := &publish.Writer{Client: rdb}
	if _, err := w.Publish(ctx, &publish.Model{
		Families: []publish.Family{
			{Name: publish.FamilySimilar, Lists: lists(map[string]string{"tent": "stove:0.8 lamp:0.5", "stove": "pot:0.9 tent:0.7"})},
			{Name: publish.FamilySegment, Lists: lists(map[string]string{"gold|high": "kayak:40"})},
			{Name: publish.FamilyPopular, Lists: lists(map[string]string{"": "socks:900 lamp:800"})},
		},
		Users: hashes(map[string]string{"ann": "membership_status=gold income_bracket=high recent_five_purchases.purchase_1=tent"}),
	}); err != nil {
		panic(err)
	}
	// Since last night ann also bought a stove: RudderStack's hash knows.
	rdb.HSet(ctx, "user:ann", "recent_five_purchases.purchase_1", "tent", "recent_five_purchases.purchase_2", "stove")

	c := publish.NewClient(rdb, publish.ClientOptions{})
	r, err := c.Recommend(ctx, "ann", 4, publish.RecommendOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("history", r.History, "from", r.HistoryFrom)
	for _, it := range r.Items {
		// Segment and popular items: Score is relative to the list's top
		// item, Popularity the distinct users.
		fmt.Printf("%-6s %-8s %.2f %g\n", it.Item, it.Source, it.Score, it.Popularity)
	}
	// Output:
	// history [stove tent] from live
	// pot    similar  0.90 0
	// lamp   similar  0.40 0
	// kayak  segment  1.00 40
	// socks  popular  1.00 900
}
