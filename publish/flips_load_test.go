package publish_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// flipper publishes tagged versions of a fixture, flips to each and
// removes the one before, as fast as it can, remembering each version's
// tag so readers can check what they got.
type flipper struct {
	rdb  redis.UniversalClient
	f    fixture
	tags sync.Map // version id -> tag
}

// MustStart publishes the first version (tag 1).
func (fl *flipper) MustStart(tb testing.TB) {
	tb.Helper()
	fl.f.Tagged, fl.f.Tag = true, 1
	v := MustPublish(tb, fl.rdb, fl.f.Model())
	fl.tags.Store(v, 1)
}

// Run does n flips, each followed by the cleanup of the version it
// replaced.
func (fl *flipper) Run(ctx context.Context, n int) error {
	k := publish.Keys{}
	for range n {
		fl.f.Tag++
		w := &publish.Writer{Client: fl.rdb, SampleSize: 20}
		res, err := w.Write(ctx, fl.f.Model())
		if err != nil {
			return err
		}
		fl.tags.Store(res.Version, fl.f.Tag)
		prev, err := publish.Flip(ctx, fl.rdb, k, res.Version, false)
		if err != nil {
			return err
		}
		if _, err := publish.DeleteVersion(ctx, fl.rdb, k, prev); err != nil {
			return err
		}
	}
	return nil
}

// tag returns a version's tag.
func (fl *flipper) tag(version string) (int, bool) {
	t, ok := fl.tags.Load(version)
	if !ok {
		return 0, false
	}
	return t.(int), true
}

// checkNeighbors reports how an answer of Neighbors mixes versions: every
// member must carry the version's tag and every score must be tag + x,
// 0 <= x < 1.
func (fl *flipper) checkNeighbors(nb []publish.Scored, version string) error {
	tag, ok := fl.tag(version)
	if !ok {
		return fmt.Errorf("unknown version %s", version)
	}
	suffix := "~" + strconv.Itoa(tag)
	for _, s := range nb {
		if !strings.HasSuffix(s.Item, suffix) || int(s.Score) != tag {
			return fmt.Errorf("version %s (tag %d) answered %s with score %v", version, tag, s.Item, s.Score)
		}
	}
	return nil
}

// checkRecommend is checkNeighbors for Recommend: the merged scores of
// similar items are sums, so only their members tell the version.
func (fl *flipper) checkRecommend(r *publish.Recommendations) error {
	tag, ok := fl.tag(r.Version)
	if !ok {
		return fmt.Errorf("unknown version %s", r.Version)
	}
	suffix := "~" + strconv.Itoa(tag)
	for _, it := range r.Items {
		raw := it.Score // a fill item's list score is its Popularity
		if it.Source == publish.SourceSegment || it.Source == publish.SourcePopular {
			raw = it.Popularity
		}
		if !strings.HasSuffix(it.Item, suffix) || (it.Source != publish.SourceSimilar && int(raw) != tag) {
			return fmt.Errorf("version %s (tag %d) answered %s from %s with score %v", r.Version, tag, it.Item, it.Source, it.Score)
		}
	}
	return nil
}

// loadResult counts what a load run saw.
type loadResult struct {
	calls, errs, mixed, short atomic.Int64
	firstErr                  atomic.Value
}

func (r *loadResult) fail(err error, mixed bool) {
	if mixed {
		r.mixed.Add(1)
	} else {
		r.errs.Add(1)
	}
	r.firstErr.CompareAndSwap(nil, err)
}

// readUnderFlips calls Neighbors and Recommend through c from workers
// goroutines until stop is closed, checking every answer.
func readUnderFlips(ctx context.Context, c *publish.Client, fl *flipper, workers int, stop <-chan struct{}, res *loadResult) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				res.calls.Add(1)
				if rng.IntN(2) == 0 {
					nb, v, err := c.Neighbors(ctx, "i"+strconv.Itoa(rng.IntN(fl.f.Items)), 10)
					if err != nil {
						res.fail(err, false)
					} else if err := fl.checkNeighbors(nb, v); err != nil {
						res.fail(err, true)
					}
					continue
				}
				r, err := c.Recommend(ctx, "u"+strconv.Itoa(rng.IntN(fl.f.Users)), 10, publish.RecommendOptions{})
				switch {
				case err != nil:
					res.fail(err, false)
				case fl.checkRecommend(r) != nil:
					res.fail(fl.checkRecommend(r), true)
				case len(r.Items) < 10:
					res.short.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

// TestConsistencyUnderFlips reads while 100 versions are flipped to and
// their predecessors removed: no call fails and no answer mixes versions,
// through a client that follows the flips channel and one that only
// learns of flips from its reads.
func TestConsistencyUnderFlips(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := context.Background()
	fl := &flipper{rdb: rdb, f: fixture{Items: 100, Users: 100, Depth: 10, Seed: 5}}
	fl.MustStart(t)

	watched := publish.NewClient(rdb, publish.ClientOptions{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go watched.Watch(wctx)
	unwatched := publish.NewClient(rdb, publish.ClientOptions{TTL: time.Hour})

	stop := make(chan struct{})
	var res loadResult
	var wg sync.WaitGroup
	wg.Go(func() { readUnderFlips(ctx, watched, fl, 2, stop, &res) })
	wg.Go(func() { readUnderFlips(ctx, unwatched, fl, 2, stop, &res) })
	t0 := time.Now()
	err := fl.Run(ctx, 100)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("100 flips and cleanups in %v: %d calls, %d errors, %d mixed, %d short; retries %d (watched) %d (unwatched)",
		time.Since(t0).Round(time.Millisecond), res.calls.Load(), res.errs.Load(), res.mixed.Load(), res.short.Load(),
		watched.Stats().Retries, unwatched.Stats().Retries)
	if res.errs.Load() != 0 || res.mixed.Load() != 0 {
		t.Fatalf("%d errors, %d mixed answers; first: %v", res.errs.Load(), res.mixed.Load(), res.firstErr.Load())
	}
	if res.calls.Load() < 200 {
		t.Errorf("only %d calls during the flips", res.calls.Load())
	}
}
