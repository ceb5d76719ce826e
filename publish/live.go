package publish

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// LiveFeatures merges per-user features into the hashes RudderStack's Redis
// destination writes identify traits to, Keys.LiveUser(Prefix, user), so
// that online services read one hash that both the nightly job and the
// real-time stream keep current.
//
// It only ever sets fields with HSET: fields it does not write, such as
// traits the stream set, are left alone, and no key is deleted. The one
// exception is a source implementing StaleFields, which names fields an
// earlier run wrote that no longer hold; those are removed with HDEL.
// There is no version, flip or rollback for these hashes: each field holds
// the last value written by either side.
type LiveFeatures struct {
	Client redis.UniversalClient
	Keys   Keys   // only LiveUser is used: the hashes belong to no namespace
	Prefix string // the RudderStack destination's key prefix; "" for user:<id>

	Conns         int          // parallel pipelines; default DefaultConns
	PipelineBytes int          // a pipeline is sent once it holds this many bytes; default DefaultPipelineBytes
	SampleSize    int          // hashes read back after writing; default 1000
	Seed          int64        // seeds the sample
	Logger        *slog.Logger // nil discards
}

// StaleFields is implemented by a HashSource that knows which fields an
// earlier run may have left in hash i that the new values h no longer
// hold: a purchase slot now empty, a count of an event the user no longer
// has. Stale appends those field names to dst.
type StaleFields interface {
	Stale(i int, h *Hash, dst []string) []string
}

// LiveResult describes a LiveFeatures write.
type LiveResult struct {
	Hashes    int64   `json:"hashes"`     // hashes written to
	Fields    int64   `json:"fields"`     // fields set
	NewFields int64   `json:"new_fields"` // of those, fields the hash did not have
	Removed   int64   `json:"stale_fields_removed"`
	Verified  int     `json:"verified"` // hashes read back
	Changed   int     `json:"changed"`  // of those, hashes where a field read back differs (a concurrent update)
	Seconds   float64 `json:"seconds"`
}

func (lf *LiveFeatures) conns() int         { return positive(lf.Conns, DefaultConns) }
func (lf *LiveFeatures) pipelineBytes() int { return positive(lf.PipelineBytes, DefaultPipelineBytes) }
func (lf *LiveFeatures) sampleSize() int    { return positive(lf.SampleSize, 1000) }

func (lf *LiveFeatures) logger() *slog.Logger {
	if lf.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return lf.Logger
}

// Write merges every hash of src into its live key, then reads a seeded
// sample back. A read-back value that differs is counted, not an error:
// the stream may have updated the field meanwhile. It is an error when no
// sampled hash reads back as written.
func (lf *LiveFeatures) Write(ctx context.Context, src HashSource) (*LiveResult, error) {
	start := time.Now()
	res := &LiveResult{}
	var next atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range lf.conns() {
		wg.Go(func() {
			var r LiveResult
			if err := lf.worker(ctx, src, &next, &r); err != nil {
				cancel(err)
			}
			mu.Lock()
			res.Hashes, res.Fields, res.NewFields, res.Removed = res.Hashes+r.Hashes, res.Fields+r.Fields, res.NewFields+r.NewFields, res.Removed+r.Removed
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("write live features: %w", err)
	}
	if err := lf.verify(ctx, src, res); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	lf.logger().Info("wrote live user hashes", "prefix", lf.Prefix, "hashes", res.Hashes, "fields", res.Fields,
		"new_fields", res.NewFields, "stale_fields_removed", res.Removed, "verified", res.Verified, "changed_meanwhile", res.Changed,
		"seconds", res.Seconds)
	return res, nil
}

// worker takes chunks of hashes and sends them in pipelines cut by bytes.
func (lf *LiveFeatures) worker(ctx context.Context, src HashSource, next *atomic.Int64, res *LiveResult) error {
	const chunk = 256
	stale, _ := src.(StaleFields)
	p := lf.Client.Pipeline()
	var sets []*redis.IntCmd
	var dels []*redis.IntCmd
	var h Hash
	var old []string
	size := 0
	flush := func() error {
		if p.Len() == 0 {
			return nil
		}
		_, err := p.Exec(ctx)
		for _, c := range append(sets, dels...) {
			if c.Err() != nil {
				return fmt.Errorf("%s %v: %w", c.Name(), c.Args()[1], c.Err())
			}
		}
		if err != nil {
			return err
		}
		for _, c := range sets {
			res.NewFields += c.Val()
		}
		for _, c := range dels {
			res.Removed += c.Val()
		}
		sets, dels, size = sets[:0], dels[:0], 0
		return nil
	}
	n := src.Len()
	for {
		lo := int(next.Add(chunk)) - chunk
		if lo >= n {
			return flush()
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		for i := lo; i < min(lo+chunk, n); i++ {
			h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
			src.Hash(i, &h)
			if len(h.Fields) == 0 {
				continue
			}
			key := lf.Keys.LiveUser(lf.Prefix, h.ID)
			// go-redis keeps args until the pipeline runs: no reuse.
			args := make([]any, 0, 2*len(h.Fields))
			for f, field := range h.Fields {
				args = append(args, field, h.Values[f])
				size += len(field) + len(h.Values[f])
			}
			sets = append(sets, p.HSet(ctx, key, args...))
			res.Hashes++
			res.Fields += int64(len(h.Fields))
			if stale != nil {
				if old = stale.Stale(i, &h, old[:0]); len(old) > 0 {
					dels = append(dels, p.HDel(ctx, key, old...))
				}
			}
			if size += len(key); size >= lf.pipelineBytes() {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}

// verify reads a seeded sample of the hashes back.
func (lf *LiveFeatures) verify(ctx context.Context, src HashSource, res *LiveResult) error {
	rng := rand.New(rand.NewPCG(uint64(lf.Seed), 0x6c697665))
	var h Hash
	for _, i := range sample(rng, src.Len(), lf.sampleSize()) {
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		src.Hash(i, &h)
		if len(h.Fields) == 0 {
			continue
		}
		key := lf.Keys.LiveUser(lf.Prefix, h.ID)
		got, err := lf.Client.HGetAll(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("verify %s: %w", key, err)
		}
		res.Verified++
		for f, field := range h.Fields {
			if v, ok := got[field]; !ok || v != h.Values[f] {
				res.Changed++
				break
			}
		}
	}
	if res.Verified > 0 && res.Changed == res.Verified {
		return fmt.Errorf("verify live features: none of %d sampled hashes reads back as written", res.Verified)
	}
	return nil
}
