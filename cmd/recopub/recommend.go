package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/recopub/recopub/publish"
)

// clientFlags configure the read client for serve and recommend.
type clientFlags struct {
	livePrefix  string
	noLive      bool
	segmentCols string
	ttl         time.Duration
	timeout     time.Duration
	cacheLists  int
}

// register adds the flags; timeout is the default of --redis-timeout.
func (f *clientFlags) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.StringVar(&f.livePrefix, "live-prefix", "", "key prefix of the RudderStack Redis destination: live hashes are <prefix>:user:<id> (default user:<id>)")
	fs.BoolVar(&f.noLive, "no-live", false, "do not read the RudderStack hashes, only the published features")
	fs.StringVar(&f.segmentCols, "segment-cols", strings.Join(publish.DefaultSegmentColumns, ","),
		"user traits naming the segment lists, as given to run's --segment-cols; \"\" for none")
	fs.DurationVar(&f.ttl, "version-ttl", time.Second, "how long the live version id is reused before asking Redis again (flips are also announced on {ns}:flips)")
	fs.DurationVar(&f.timeout, "redis-timeout", timeout, "deadline of every Redis round trip")
	fs.IntVar(&f.cacheLists, "cache-lists", 10000, "list heads of the live version kept in memory; 0 or less turns the cache off")
}

func (f *clientFlags) options(namespace string) publish.ClientOptions {
	cache := f.cacheLists
	if cache <= 0 {
		cache = -1
	}
	return publish.ClientOptions{
		Namespace:      namespace,
		TTL:            f.ttl,
		Timeout:        f.timeout,
		LivePrefix:     f.livePrefix,
		NoLive:         f.noLive,
		SegmentColumns: append([]string{}, splitList(f.segmentCols)...),
		CacheLists:     cache,
	}
}

// recommendCommand prints a user's recommendations, as the HTTP API
// computes them.
type recommendCommand struct{ m *Main }

func (c *recommendCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("recommend", "recommend USER [-n 10] [--exclude ITEM,...] [--json] [--redis URL]")
	var rf redisFlags
	rf.register(fs, c.m.Getenv)
	var cf clientFlags
	cf.register(fs, time.Second)
	n := fs.Int("n", 10, "items to recommend")
	exclude := fs.String("exclude", "", "items not to recommend besides the user's purchases, comma-separated")
	asJSON := fs.Bool("json", false, "print the answer as the HTTP API does")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one USER, got %d arguments", len(pos))
	}
	rdb, err := rf.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	cl := publish.NewClient(rdb, cf.options(rf.namespace))
	r, err := cl.Recommend(ctx, pos[0], *n, publish.RecommendOptions{Exclude: splitList(*exclude)})
	if err != nil {
		return redisError(rf.url, err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(c.m.Stdout, "%s\n", b)
		return nil
	}
	fmt.Fprintf(c.m.Stdout, "# version %s\n", r.Version)
	if len(r.History) > 0 {
		fmt.Fprintf(c.m.Stdout, "# history (%s, newest first) %s\n", r.HistoryFrom, strings.Join(r.History, " "))
	}
	if len(r.Newer) > 0 {
		fmt.Fprintf(c.m.Stdout, "# newer than the version %s\n", strings.Join(r.Newer, " "))
	}
	if r.Segment != "" {
		fmt.Fprintf(c.m.Stdout, "# segment %s\n", r.Segment)
	}
	for _, it := range r.Items {
		if it.Popularity > 0 {
			fmt.Fprintf(c.m.Stdout, "%s\t%s\t%s\tpopularity %s\n", it.Item, publishScore(it.Score), it.Source, publishScore(it.Popularity))
			continue
		}
		fmt.Fprintf(c.m.Stdout, "%s\t%s\t%s\n", it.Item, publishScore(it.Score), it.Source)
	}
	return nil
}
