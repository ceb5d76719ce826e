package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Flipping a version just written without counting its keys again.
//
// Lock.Flip counts a version's keys on every master by SCAN before making
// it live (VerifyVersion), so that a version that lost keys is never
// served. SCAN walks every key of the database, all versions included,
// and costs the server about as much as writing the version did. Right
// after a Writer wrote the version, in the same process and under the
// same lock, most of that is known already:
//
//   - every key was written: each RESTORE answered OK, each ZADD and HSET
//     was followed by a ZCARD or HLEN with the expected count, and the
//     counts recorded in the manifest are those of the replies;
//   - a key written can only go missing afterwards if a server loses data
//     (a restart, or a failover to a replica that lacked the writes), if
//     it evicts keys under memory pressure, or if a client deletes (or
//     sets a TTL on) a key of a version that is not live yet.
//
// writeEvidence records what rules out the first two exactly: each
// master's run_id (a restart or failover changes it, and the set of
// masters) and its evicted_keys counter, both noted before the first key
// was written. At the flip they are read again: a change in either, a
// server that refuses INFO, a manifest whose counts differ from what the
// writer wrote, or any of the keys the verify stage read back now
// missing or holding another number of entries (ZCARD, HLEN) sends the
// flip back to the full count by SCAN. A deletion by
// another client between the write and the flip is caught by that sample
// (a flush or a deletion by pattern empties it) and otherwise is an
// operator deleting keys of a version being published under the lock;
// Writer.CountBeforeFlip (recopub --verify-keys) counts every key by SCAN
// for whoever wants that ruled out too. Rollbacks and flips of versions
// written by another process (Lock.Flip, Flip) always count.

// writeEvidence is what a Writer saw while writing a version.
type writeEvidence struct {
	version string
	servers map[string]string // run_id by master, before the first write
	evicted map[string]int64  // evicted_keys by master, before the first write
	lists   map[string]int64  // keys written, by family
	hashes  int64
	sample  []sampled // keys read back and compared before completing
}

// sampled is a key the verify stage read back: a hash (else a sorted
// set) of want entries.
type sampled struct {
	key  string
	hash bool
	want int64
}

// masterStats returns every master's evicted_keys.
func masterStats(ctx context.Context, c redis.UniversalClient) (map[string]int64, error) {
	var mu sync.Mutex
	out := make(map[string]int64)
	err := forEachMaster(ctx, c, func(ctx context.Context, node redis.UniversalClient, addr string) error {
		info, err := node.Info(ctx, "stats").Result()
		if err != nil {
			return fmt.Errorf("info stats on %s: %w", addr, err)
		}
		n, err := strconv.ParseInt(infoField(info, "evicted_keys"), 10, 64)
		if err != nil {
			return fmt.Errorf("info stats on %s: evicted_keys: %w", addr, err)
		}
		mu.Lock()
		out[addr] = n
		mu.Unlock()
		return nil
	})
	return out, err
}

// holds reports whether ev still shows every key of its version in place
// (see above); false means the keys must be counted. An error is the
// connection's.
func (ev *writeEvidence) holds(ctx context.Context, c redis.UniversalClient, k Keys) (bool, error) {
	if ev == nil || ev.servers == nil || ev.evicted == nil {
		return false, nil
	}
	ids, err := runIDs(ctx, c)
	if err != nil || !maps.Equal(ids, ev.servers) {
		return false, nil
	}
	evicted, err := masterStats(ctx, c)
	if err != nil || !maps.Equal(evicted, ev.evicted) {
		return false, nil
	}
	counts, err := c.HGet(ctx, k.Manifest(ev.version), "counts").Result()
	if err != nil {
		return false, nil
	}
	lists, hashes := parseCounts(counts)
	if hashes != ev.hashes || !maps.Equal(nonZero(lists), nonZero(ev.lists)) {
		return false, nil
	}
	return ev.sampleIntact(ctx, c)
}

// sampleIntact checks that every sampled key still holds its entries
// (ZCARD, HLEN: commands the job's ACL rule allows), in pipelines of
// verifyBatch keys. A refused command means counting instead.
func (ev *writeEvidence) sampleIntact(ctx context.Context, c redis.UniversalClient) (bool, error) {
	for lo := 0; lo < len(ev.sample); lo += verifyBatch {
		p := c.Pipeline()
		keys := ev.sample[lo:min(lo+verifyBatch, len(ev.sample))]
		cmds := make([]*redis.IntCmd, len(keys))
		for i, s := range keys {
			if s.hash {
				cmds[i] = p.HLen(ctx, s.key)
			} else {
				cmds[i] = p.ZCard(ctx, s.key)
			}
		}
		_, err := p.Exec(ctx)
		var rerr redis.Error
		switch {
		case errors.As(err, &rerr):
			return false, nil
		case err != nil:
			return false, err
		}
		for i, cmd := range cmds {
			if cmd.Val() != keys[i].want {
				return false, nil
			}
		}
	}
	return true, nil
}

func nonZero(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
