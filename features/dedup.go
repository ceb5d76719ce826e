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
// bits: 12 bytes per event, appended to blocks of dedupBlock entries taken
// as they fill (no room is reserved up front, so an estimate that was off,
// or one worker reading more than its share, costs nothing). Afterwards
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
	shift uint        // 64 - log2(partitions)
	tail  []dedupTail // each partition's block being filled
	full  [][]dedupBlockPair
}

// dedupTail is the block a partition is filling; kept apart from the full
// blocks so that the tails of all partitions stay in the L1 cache.
type dedupTail struct {
	hs []uint64
	ps []uint32
}

// dedupBlockPair is a full block of a partition.
type dedupBlockPair struct {
	hs []uint64
	ps []uint32
}

// dedupBlock is the number of entries of a block: 48 KiB, small enough
// that the partly filled tails waste little (at most 12 MiB per worker
// with 256 partitions, half that on average) and large enough that
// taking one is rare.
const dedupBlock = 4096

// partitionsFor picks a partition count that leaves about 32K events per
// partition for the expected number of rows, and at most 256 so that the
// tails being appended to stay in the L1 cache (BenchmarkDedup: 256
// partitions file and check thirty million events in 12 ns each, 1024 in
// 19 ns, 4096 in 22 ns).
func partitionsFor(rows int64) int {
	p := max(1, int(rows/32768))
	return 1 << min(bits.Len(uint(p-1)), 8)
}

// newDedupSink makes a sink with parts partitions.
func newDedupSink(parts int) dedupSink {
	return dedupSink{
		shift: uint(64 - bits.TrailingZeros(uint(parts))),
		tail:  make([]dedupTail, parts),
		full:  make([][]dedupBlockPair, parts),
	}
}

func (d *dedupSink) add(h uint64, pos uint32) {
	t := &d.tail[h>>d.shift]
	if len(t.hs) == cap(t.hs) {
		d.next(t, int(h>>d.shift))
	}
	t.hs = append(t.hs, h)
	t.ps = append(t.ps, pos)
}

// next files partition p's full tail t and starts a new block.
func (d *dedupSink) next(t *dedupTail, p int) {
	if len(t.hs) > 0 {
		d.full[p] = append(d.full[p], dedupBlockPair{t.hs, t.ps})
	}
	t.hs, t.ps = make([]uint64, 0, dedupBlock), make([]uint32, 0, dedupBlock)
}

// blocks calls fn with partition p's blocks, in the order they were
// filled.
func (d *dedupSink) blocks(p int, fn func(hs []uint64, ps []uint32)) {
	for _, b := range d.full[p] {
		fn(b.hs, b.ps)
	}
	fn(d.tail[p].hs, d.tail[p].ps)
}

// len returns the number of entries of partition p.
func (d *dedupSink) len(p int) int {
	return len(d.full[p])*dedupBlock + len(d.tail[p].hs)
}

// free drops partition p.
func (d *dedupSink) free(p int) { d.full[p], d.tail[p] = nil, dedupTail{} }

// findDuplicates marks, in each worker's dup bitmap, the events whose
// message id occurred before in input order. order(w, pos) gives an
// event's rank in input order (only compared, never stored).
func findDuplicates(ctx context.Context, workers []*worker, order func(w int, pos uint32) uint64, goroutines int) error {
	parts := len(workers[0].dedup.tail)
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
		n += w.dedup.len(p)
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
		w.dedup.blocks(p, func(hs []uint64, _ []uint32) {
			for _, h := range hs {
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
		})
	}
	if len(t.dups) > 0 {
		t.resolve(workers, p, order)
	}
	for _, w := range workers {
		w.dedup.free(p)
	}
}

// resolve keeps the earliest occurrence of each repeated hash and marks
// the others.
func (t *dedupTable) resolve(workers []*worker, p int, order func(int, uint32) uint64) {
	for wi, w := range workers {
		w.dedup.blocks(p, func(hs []uint64, ps []uint32) {
			for j, h := range hs {
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
		})
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
