package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
)

// TestRunFamilies publishes cross-occurrence, popularity and segment lists
// next to the neighbour lists and checks their keys and shapes.
func TestRunFamilies(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	code, stdout, stderr := run(t, "run", "--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"),
		"--redis", s.URL(), "--top-n", "10", "--half-life-days", "3", "--weighted",
		"--cross-event", "Product Viewed", "--segment-cols", "membership_status,income_bracket")
	if code != 0 {
		t.Fatalf("run exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	live, err := publish.Live(ctx, rdb, publish.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := "reco:" + live + ":"

	cross := rdb.Keys(ctx, prefix+"cross:product_viewed:*").Val()
	if len(cross) == 0 {
		t.Fatal("no cross:product_viewed lists")
	}
	for _, k := range cross {
		zs := rdb.ZRevRangeWithScores(ctx, k, 0, -1).Val()
		if len(zs) < 1 || len(zs) > 10 || zs[0].Score <= 0 {
			t.Fatalf("%s: %v", k, zs)
		}
	}

	pop := rdb.ZRevRangeWithScores(ctx, prefix+publish.FamilyPopular, 0, -1).Val()
	if len(pop) != 10 {
		t.Fatalf("pop has %d members, want 10", len(pop))
	}
	for i := 1; i < len(pop); i++ {
		if pop[i].Score > pop[i-1].Score {
			t.Fatalf("pop scores increase at %d: %v", i, pop)
		}
	}

	segs := rdb.Keys(ctx, prefix+"seg:*").Val()
	if len(segs) < 2 {
		t.Fatalf("%d segment lists: %v", len(segs), segs)
	}
	for _, k := range segs {
		id := strings.TrimPrefix(k, prefix+"seg:")
		if strings.Count(id, publish.SegmentSeparator) != 1 {
			t.Errorf("segment id %q does not join two values", id)
		}
	}
	var params string
	if params, err = rdb.HGet(ctx, prefix+"manifest", "parameters").Result(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"half_life_days":3`, `"weighted":true`, `"cross_events":["Product Viewed"]`} {
		if !strings.Contains(params, want) {
			t.Errorf("manifest parameters lack %s: %s", want, params)
		}
	}
}

func TestSegments(t *testing.T) {
	dir := MustGen(t)
	profiles, err := features.LoadProfiles(context.Background(), features.ProfileOptions{Paths: []string{filepath.Join(dir, "profiles")}})
	if err != nil {
		t.Fatal(err)
	}
	ids := profiles.IDs()
	users := append([]string{"nobody"}, ids[:20]...)
	group, segIDs := segments(users, profiles, []string{"membership_status", "no_such_column"})
	if got, want := group[0], int32(-1); got != want {
		t.Errorf("user without a profile in group %d, want %d", got, want)
	}
	if !slices.IsSorted(segIDs) {
		t.Errorf("segment ids not sorted: %v", segIDs)
	}
	for u, g := range group[1:] {
		fields, values, _ := profiles.Traits(users[u+1], nil, nil)
		want := ""
		if p := slices.Index(fields, "membership_status"); p >= 0 {
			want = values[p]
		}
		if got := segIDs[g]; got != want+"|" {
			t.Errorf("user %s in segment %q, want %q", users[u+1], got, want+"|")
		}
	}
}
