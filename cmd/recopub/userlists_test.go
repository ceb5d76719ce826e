package main

import (
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRunUserLists checks that run --user-lists publishes, for every
// user with history, exactly what model.UserLists computes from the same
// export, in the live version, counted in its manifest; that the CLI's
// recommend serves them; and that a flip refuses a version that lost one.
func TestRunUserLists(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	args := []string{"run", "--events", filepath.Join(dir, "events"), "--redis", s.URL(),
		"--top-n", "15", "--seed", "9", "--user-lists", "5", "--user-depth", "40", "--affinity", "binary"}
	code, stdout, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	live, err := publish.Live(ctx, rdb, publish.Keys{})
	if err != nil {
		t.Fatal(err)
	}

	want := referenceUserLists(t, filepath.Join(dir, "events"))
	k := publish.Keys{}
	for user, zs := range want {
		// A sorted set orders ties by member: compare in one order.
		got := rdb.ZRevRangeWithScores(ctx, k.List(live, publish.FamilyRec, user), 0, -1).Val()
		slices.SortStableFunc(got, byScoreThenMember)
		slices.SortStableFunc(zs, byScoreThenMember)
		if !slices.Equal(got, zs) {
			t.Fatalf("rec:%s = %v, want %v", user, got, zs)
		}
	}
	keys := rdb.Keys(ctx, k.List(live, publish.FamilyRec, "*")).Val()
	if got, want := len(keys), len(want); got != want || got < 400 {
		t.Fatalf("%d rec keys, want %d (one per user with a non-empty list, of 500)", got, want)
	}
	if got, want := rdb.HGet(ctx, k.Manifest(live), "counts").Val(), `"rec":`+strconv.Itoa(len(want)); !strings.Contains(got, want) {
		t.Errorf("manifest counts %s lack %s", got, want)
	}
	if !strings.Contains(stdout, "user lists: "+strconv.Itoa(len(want))) {
		t.Errorf("run output does not count the user lists:\n%s", stdout)
	}

	// A user with a batch list and nothing newer is served it.
	user := strings.TrimPrefix(keys[0], k.List(live, publish.FamilyRec, ""))
	code, stdout, stderr = run(t, "recommend", "--redis", s.URL(), "--n", "5", user)
	if code != 0 {
		t.Fatalf("recommend exit %d: %s", code, stderr)
	}
	for _, z := range want[user] {
		if !strings.Contains(stdout, z.Member.(string)+"\t") || !strings.Contains(stdout, "\tpersonal\n") {
			t.Fatalf("recommend %s does not serve its list %v:\n%s", user, want[user], stdout)
		}
	}

	// A newer version is published; the first, once it lost a rec key,
	// is refused as a rollback target, the error naming the family.
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
	rdb.Del(ctx, keys[0])
	_, err = publish.Flip(ctx, rdb, k, live, true)
	if msg := "rec has " + strconv.Itoa(len(want)-1) + " of " + strconv.Itoa(len(want)) + " keys"; !errors.Is(err, publish.ErrDamaged) || !strings.Contains(err.Error(), msg) {
		t.Errorf("rollback to a version missing a rec key: err=%v, want ErrDamaged with %q", err, msg)
	}
}

// referenceUserLists computes the lists run --user-lists 5 --user-depth 40
// --affinity binary --top-n 15 --seed 9 should publish, with the model
// package directly; only non-empty lists, by user id.
func referenceUserLists(t *testing.T, events string) map[string][]redis.Z {
	t.Helper()
	ds, err := features.Load(t.Context(), features.Options{Events: []string{events}})
	if err != nil {
		t.Fatal(err)
	}
	// Binary affinity and an unweighted metric: the event weights do not
	// matter.
	mat := model.NewMatrix(len(ds.Users), len(ds.Items), ds.User, ds.Item, nil)
	fit, err := model.NewFit(t.Context(), mat, model.Options{Metric: model.Cosine, TopN: 15, MinSupport: 1, MaxUserItems: 500, Seed: 9}, 40)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]redis.Z)
	err = model.UserLists(t.Context(), mat, fit.Users, model.UserListOptions{K: 5, Affinity: model.AffinityBinary}, func(b *model.UserBlock) error {
		for x := range b.Len() {
			u, items, scores := b.List(x)
			for j, it := range items {
				out[ds.Users[u]] = append(out[ds.Users[u]], redis.Z{Member: ds.Items[it], Score: scores[j]})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func byScoreThenMember(a, b redis.Z) int {
	return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Member.(string), b.Member.(string)))
}
