package features

import (
	"context"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// Duplicate events (the same message id) are found after the load, so the
// first occurrence in input order wins whatever the schedule. While
// reading, each worker files a 64-bit hash of every kept row's message id,
// with the row's position, into one of P partitions by the hash's top
// bits: 12 bytes per event, appended to preallocated slices. Afterwards
// each partition's hashes go into a small open-addressing set that stays
// in the L2 cache, so finding duplicates costs a few nanoseconds per event
// instead of a cache miss into one table of all ids. Duplicates are rare:
// only partitions that have some are scanned again to decide which
// occurrence comes first. The partitions are freed as they are checked;
// what remains is one bit per event marking the duplicates.
//
// Hashes are 64-bit xxh3: two distinct message ids among 10^8 collide with
// probability below 3e-4, and then one event too many is dropped.

// dedupSink is one worker's partitioned (hash, position) pairs.
type dedupSink struct {
	shift uint // 64 - log2(partitions)
	hs    [][]uint64
	ps    [][]uint32
}

// partitionsFor picks a partition count that leaves about 32K events per
// partition for the expected number of rows, and at most 256 so that the
// tails being appended to stay in the L1 cache.
func partitionsFor(rows int64) int {
	p := max(1, int(rows/32768))
	return 1 << min(bits.Len(uint(p-1)), 8)
}

// newDedupSink makes a sink for about rows events.
func newDedupSink(parts int, rows int64) dedupSink {
	rows = min(rows, maxPrealloc)
	per := int(rows/int64(parts)) + int(rows/int64(parts))/8 + 16
	d := dedupSink{
		shift: uint(64 - bits.TrailingZeros(uint(parts))),
		hs:    make([][]uint64, parts),
		ps:    make([][]uint32, parts),
	}
	for p := range parts {
		d.hs[p] = make([]uint64, 0, per)
		d.ps[p] = make([]uint32, 0, per)
	}
	return d
}

func (d *dedupSink) add(h uint64, pos uint32) {
	p := h >> d.shift
	d.hs[p] = append(d.hs[p], h)
	d.ps[p] = append(d.ps[p], pos)
}

// findDuplicates marks, in each worker's dup bitmap, the events whose
// message id occurred before in input order. order(w, pos) gives an
// event's rank in input order (only compared, never stored).
func findDuplicates(ctx context.Context, workers []*worker, order func(w int, pos uint32) uint64, goroutines int) error {
	parts := len(workers[0].dedup.hs)
	if parts == 0 {
		return nil
	}
	for _, w := range workers {
		w.dup = make([]uint64, w.total/64+1)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t dedupTable
			for {
				p := int(next.Add(1) - 1)
				if p >= parts || ctx.Err() != nil {
					return
				}
				t.check(workers, p, order)
			}
		}()
	}
	wg.Wait()
	for _, w := range workers {
		w.dedup = dedupSink{}
	}
	return ctx.Err()
}

// dedupTable is an open-addressing set of hashes.
type dedupTable struct {
	keys []uint64
	dups map[uint64]uint64 // hash seen twice -> earliest worker<<32|position
}

func (t *dedupTable) check(workers []*worker, p int, order func(int, uint32) uint64) {
	n := 0
	for _, w := range workers {
		n += len(w.dedup.hs[p])
	}
	size := 1 << bits.Len(uint(2*n))
	if cap(t.keys) < size {
		t.keys = make([]uint64, size)
	}
	keys := t.keys[:size]
	clear(keys)
	mask := uint64(size - 1)
	clear(t.dups)
	for _, w := range workers {
		for _, h := range w.dedup.hs[p] {
			// The top bits chose the partition; the low bits spread it.
			i := h & mask
			for keys[i] != 0 && keys[i] != h {
				i = (i + 1) & mask
			}
			if keys[i] == 0 {
				keys[i] = h
				continue
			}
			if t.dups == nil {
				t.dups = make(map[uint64]uint64)
			}
			t.dups[h] = ^uint64(0)
		}
	}
	if len(t.dups) > 0 {
		t.resolve(workers, p, order)
	}
	for _, w := range workers {
		w.dedup.hs[p], w.dedup.ps[p] = nil, nil
	}
}

// resolve keeps the earliest occurrence of each repeated hash and marks
// the others.
func (t *dedupTable) resolve(workers []*worker, p int, order func(int, uint32) uint64) {
	for wi, w := range workers {
		ps := w.dedup.ps[p]
		for j, h := range w.dedup.hs[p] {
			first, ok := t.dups[h]
			if !ok {
				continue
			}
			v := uint64(wi)<<32 | uint64(ps[j])
			if first == ^uint64(0) {
				t.dups[h] = v
				continue
			}
			fw, fpos := int(first>>32), uint32(first)
			if order(wi, ps[j]) < order(fw, fpos) {
				t.dups[h] = v
				markDup(workers[fw], fpos)
			} else {
				markDup(w, ps[j])
			}
		}
	}
}

func markDup(w *worker, pos uint32) {
	atomic.OrUint64(&w.dup[pos/64], 1<<(pos%64))
}

// unitOrder returns order(w, pos) for findDuplicates: the unit index in
// the high bits, the position in the low bits. A worker's units are in
// increasing unit order, so its positions are too.
func unitOrder(workers []*worker) func(int, uint32) uint64 {
	return func(w int, pos uint32) uint64 {
		cs := workers[w].chunks
		i, found := slices.BinarySearchFunc(cs, int(pos), func(c chunk, p int) int {
			switch {
			case c.base+c.len() <= p:
				return -1
			case c.base > p:
				return 1
			}
			return 0
		})
		if !found {
			i = min(i, len(cs)-1)
		}
		return uint64(cs[i].unit)<<32 | uint64(pos)
	}
}
