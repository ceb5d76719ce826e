package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// featuresTarget is where per-user features go.
type featuresTarget int

const (
	// targetVersioned writes reco:<version>:user:<id> with the lists: one
	// consistent version, flipped and rolled back together.
	targetVersioned featuresTarget = iota
	// targetLive merges into RudderStack's [prefix:]user:<id> hashes, which
	// the real-time stream also updates.
	targetLive
)

var featuresTargetNames = []string{"versioned", "live"}

func (t featuresTarget) String() string { return featuresTargetNames[t] }

// MarshalText and UnmarshalText make featuresTarget a flag.TextVar.
func (t featuresTarget) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *featuresTarget) UnmarshalText(b []byte) (err error) {
	*t, err = parseFeaturesTarget(string(b))
	return err
}

func parseFeaturesTarget(s string) (featuresTarget, error) {
	if i := slices.Index(featuresTargetNames, s); i >= 0 {
		return featuresTarget(i), nil
	}
	return 0, fmt.Errorf("%q: want %s", s, strings.Join(featuresTargetNames, " or "))
}

// featuresFlags are --features-target and --features-prefix.
type featuresFlags struct {
	target featuresTarget
	prefix string

	// The names derived fields can have, for staleDerived: the export's
	// event names (run) or the fields of a model directory (publish).
	events, fields []string
}

func (f *featuresFlags) register(fs *flag.FlagSet) {
	// A typed flag, so that config --print shows its value.
	fs.TextVar(&f.target, "features-target", targetVersioned, `where user features go: "versioned" (reco:<version>:user:<id>, flipped with the lists) or "live" (merged into RudderStack's [prefix:]user:<id> hashes)`)
	fs.StringVar(&f.prefix, "features-prefix", "", "with --features-target live: the key prefix of the RudderStack Redis destination (keys P:user:<id>)")
}

// publishModel publishes m. With --features-target live the user features
// are merged into the live hashes first, and the version holds the lists
// only: if the lists then fail, the live version is unchanged, as the
// failure message says, and the features (which have no versions) are
// simply newer.
func (c *runCommand) publishModel(ctx context.Context, rdb redis.UniversalClient, m *publish.Model, sum *summary) error {
	if c.feat.target != targetLive || m.Users == nil {
		return c.publish(ctx, rdb, m, sum)
	}
	users := newStaleDerived(m.Users, c.feat.events, c.feat.fields)
	m.Users = nil
	if err := c.writeLive(ctx, rdb, users, sum); err != nil {
		return err
	}
	hashes := sum.HashesWritten
	err := c.publish(ctx, rdb, m, sum)
	sum.HashesWritten = hashes
	return err
}

func (c *runCommand) writeLive(ctx context.Context, rdb redis.UniversalClient, users publish.HashSource, sum *summary) error {
	lf := &publish.LiveFeatures{Client: rdb, Keys: c.redis.keys(), Prefix: c.feat.prefix, Conns: c.pub.conns,
		Seed: c.model.opt.Seed, Logger: c.log}
	res, err := lf.Write(ctx, users)
	if err != nil {
		return redisError(c.redis.url, err)
	}
	c.clock.end("live_features")
	sum.HashesWritten = res.Hashes
	return nil
}

// staleDerived is a HashSource of user features that names, for users
// whose derived features were recomputed (they have events, hence
// last_seen), the derived fields an earlier run may have written that
// they no longer have: a purchase slot now empty, a count of an event not
// in this export. Profile traits and anything else in the hash are never
// named.
type staleDerived struct {
	publish.HashSource
	derived []string
}

// newStaleDerived lists the derived field names from the export's event
// names (a run) or from the fields of a model directory (publish --from).
func newStaleDerived(src publish.HashSource, events, fields []string) staleDerived {
	s := staleDerived{HashSource: src}
	for k := range features.RecentPurchases {
		s.derived = append(s.derived, features.RecentPurchasesField+".purchase_"+strconv.Itoa(k+1))
	}
	for _, e := range events {
		s.derived = append(s.derived, features.EventCountField+"."+features.Slug(e))
	}
	for _, f := range fields {
		if strings.HasPrefix(f, features.EventCountField+".") && !slices.Contains(s.derived, f) {
			s.derived = append(s.derived, f)
		}
	}
	return s
}

func (s staleDerived) Stale(i int, h *publish.Hash, dst []string) []string {
	if !slices.Contains(h.Fields, features.LastSeenField) {
		return dst
	}
	for _, f := range s.derived {
		if !slices.Contains(h.Fields, f) {
			dst = append(dst, f)
		}
	}
	return dst
}

var _ publish.StaleFields = staleDerived{}
