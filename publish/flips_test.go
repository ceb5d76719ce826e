package publish

import (
	"sync"
	"testing"
	"time"
)

// TestObserveNotice checks that a version read from Redis never replaces
// one announced on the flips channel after the read was sent.
func TestObserveNotice(t *testing.T) {
	c := NewClient(nil, ClientOptions{TTL: time.Hour})
	cached := func() string { return c.cur.Load().id }

	gen := c.gen.Load()
	c.observe("v1", gen)
	if got, want := cached(), "v1"; got != want {
		t.Fatalf("after observe: %s, want %s", got, want)
	}
	gen = c.gen.Load() // a read is sent...
	c.notice("v3")     // ...a flip is announced...
	c.observe("v2", gen)
	if got, want := cached(), "v3"; got != want {
		t.Fatalf("stale read replaced a notice: %s, want %s", got, want)
	}
	c.observe("v4", c.gen.Load())
	if got, want := cached(), "v4"; got != want {
		t.Fatalf("after a later read: %s, want %s", got, want)
	}
	if got, want := c.Stats().VersionChanges, int64(3); got != want {
		t.Errorf("VersionChanges=%d, want %d", got, want)
	}
}

// TestObserveNoticeRace races reads sent before a flip notice against the
// notice: whatever the order they finish in, the notice stays.
func TestObserveNoticeRace(t *testing.T) {
	for range 200 {
		c := NewClient(nil, ClientOptions{TTL: time.Hour})
		sent := c.gen.Load()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					c.observe("old", sent)
				}
			})
		}
		wg.Go(func() { c.notice("new") })
		wg.Wait()
		if got := c.cur.Load().id; got != "new" {
			t.Fatalf("cache %s after the notice, want new", got)
		}
	}
}
