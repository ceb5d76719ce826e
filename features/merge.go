package features

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// merge reconciles the workers' dictionaries into global, deterministic
// ids and concatenates their interactions in unit order, leaving out
// duplicates and, with Days and no Now, events before cut. It runs in
// three parallel passes: each worker compacts its own events and marks
// the ids they use; the used ids are numbered; each unit's events are
// copied, renumbered, to their place in the Dataset.
func merge(ctx context.Context, workers []*worker, nunits int, cut int64, out *arrays, weighted bool, goroutines int) (*Dataset, error) {
	ds := &Dataset{Stats: Stats{Dropped: make(map[string]int64)}}
	chunks := make([]*chunk, nunits)
	owner := make([]int, nunits)
	parallel(len(workers), goroutines, func(i int) {
		w := workers[i]
		w.compact(cut)
		for k := range w.chunks {
			chunks[w.chunks[k].unit], owner[w.chunks[k].unit] = &w.chunks[k], i
		}
	})
	var counts [numReasons]int64
	for _, w := range workers {
		ds.Stats.Read += w.read
		for r, n := range w.counts {
			counts[r] += n
		}
	}
	for r, n := range counts {
		if n > 0 {
			ds.Stats.Dropped[reasonNames[r]] = n
		}
	}
	ds.Unselected = unselectedByName(workers)

	// Users, and items with event names, are numbered at the same time.
	var userMap, itemMap, eventMap [][]uint32
	done := make(chan struct{})
	go func() {
		defer close(done)
		ds.Items, itemMap = mergeSorted(workers, func(w *worker) (*dict, []uint64) { return &w.items, w.usedItems })
		ds.Events, eventMap = mergeSorted(workers, func(w *worker) (*dict, []uint64) { return &w.events, w.usedEvents })
	}()
	ds.Users, userMap = numberUsers(workers, goroutines)
	<-done
	for _, w := range workers {
		ds.DictBytes += w.users.bytes() + w.items.bytes() + w.events.bytes()
	}
	ds.DictBytes += int64(len(ds.Users)+len(ds.Items)+len(ds.Events)) * int64(unsafe.Sizeof(""))
	if len(ds.Events) > maxEvents {
		return nil, fmt.Errorf("more than %d distinct event names", maxEvents)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	offsets := make([]int, nunits+1)
	inPlace := true
	for u, c := range chunks {
		offsets[u+1] = offsets[u] + c.len()
		inPlace = inPlace && c.inPlace
	}
	total := offsets[nunits]
	if inPlace {
		// Renumber each chunk where it lies, then close the gaps the
		// dropped events left, front to back.
		parallel(nunits, goroutines, func(u int) {
			wi := owner[u]
			chunks[u].renumber(userMap[wi], itemMap[wi], eventMap[wi])
		})
		for u, c := range chunks {
			if o := offsets[u]; unsafe.SliceData(c.user) != unsafe.SliceData(out.user[o:]) {
				copy(out.user[o:], c.user)
				copy(out.item[o:], c.item)
				copy(out.event[o:], c.event)
				copy(out.tm[o:], c.tm)
				if out.weight != nil {
					copy(out.weight[o:], c.weight)
				}
			}
			*c = chunk{}
		}
		ds.User, ds.Item, ds.Event, ds.Time = out.user[:total], out.item[:total], out.event[:total], out.tm[:total]
		if weighted {
			ds.Weight = out.weight[:total]
		}
		if 2*total < len(out.user) {
			ds.clip() // most rows were dropped: do not keep room for them
		}
	} else {
		ds.User = make([]uint32, total)
		ds.Item = make([]uint32, total)
		ds.Event = make([]uint16, total)
		ds.Time = make([]uint32, total)
		if weighted {
			ds.Weight = make([]float32, total)
		}
		parallel(nunits, goroutines, func(u int) {
			wi := owner[u]
			ds.copyChunk(chunks[u], offsets[u], userMap[wi], itemMap[wi], eventMap[wi])
			*chunks[u] = chunk{} // free it
		})
	}
	*out = arrays{}
	ds.Stats.Kept = int64(total)
	ds.Users = firstAppearance(ds.Users, ds.User, goroutines)
	return ds, ctx.Err()
}

// firstAppearance renumbers users in order of their first event, the
// order a reader of the files would meet them in, and returns the users
// in that order. It is one serial pass over the events: a load and a
// rarely taken branch each, which the processor overlaps well.
func firstAppearance(users []string, events []uint32, goroutines int) []string {
	rank := make([]uint32, len(users))
	for i := range rank {
		rank[i] = idNull
	}
	next := uint32(0)
	for _, u := range events {
		if rank[u] == idNull {
			rank[u] = next
			next++
		}
	}
	out := make([]string, len(users))
	for u, r := range rank {
		if r != idNull {
			out[r] = users[u]
		}
	}
	const chunk = 1 << 16
	parallel((len(events)+chunk-1)/chunk, goroutines, func(c int) {
		part := events[c*chunk : min((c+1)*chunk, len(events))]
		for i, u := range part {
			part[i] = rank[u]
		}
	})
	return out[:next]
}

// copyChunk writes a chunk's events at out, renumbered by the maps from
// its worker's ids.
func (ds *Dataset) copyChunk(c *chunk, out int, um, im, em []uint32) {
	n := c.len()
	users, items, events := ds.User[out:out+n], ds.Item[out:out+n], ds.Event[out:out+n]
	for k, lu := range c.user {
		users[k], items[k], events[k] = um[lu], im[c.item[k]], uint16(em[c.event[k]])
	}
	copy(ds.Time[out:out+n], c.tm)
	if ds.Weight == nil {
		return
	}
	if c.weight != nil {
		copy(ds.Weight[out:out+n], c.weight)
		return
	}
	for k := range n {
		ds.Weight[out+k] = 1
	}
}

// renumber maps a chunk's ids in place.
func (c *chunk) renumber(um, im, em []uint32) {
	for k, lu := range c.user {
		c.user[k] = um[lu]
	}
	for k, li := range c.item {
		c.item[k] = im[li]
	}
	for k, le := range c.event {
		c.event[k] = uint16(em[le])
	}
}

// clip copies the interactions into slices of their length.
func (ds *Dataset) clip() {
	ds.User, ds.Item, ds.Event, ds.Time = slices.Clone(ds.User), slices.Clone(ds.Item), slices.Clone(ds.Event), slices.Clone(ds.Time)
	if ds.Weight != nil {
		ds.Weight = slices.Clone(ds.Weight)
	}
}

// parallel calls fn(0..n-1) on up to g goroutines.
func parallel(n, g int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(g, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func bit(b []uint64, i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func setBit(b []uint64, i int)   { b[i/64] |= 1 << (i % 64) }
func bitmap(n int) []uint64      { return make([]uint64, n/64+1) }

// compact removes a worker's duplicate events and events before cut,
// counting them, and marks the user, item and event ids the rest use.
func (w *worker) compact(cut int64) {
	w.usedUsers, w.usedItems, w.usedEvents = bitmap(w.users.len()), bitmap(w.items.len()), bitmap(w.events.len())
	for ci := range w.chunks {
		c := &w.chunks[ci]
		k := 0
		dropRow := false
		for j := range c.len() {
			pos := c.base + j
			if w.dup != nil {
				if w.cont == nil || pos/64 >= len(w.cont) || !bit(w.cont, pos) {
					dropRow = bit(w.dup, pos)
				}
				if dropRow {
					w.counts[rDuplicate]++
					continue
				}
			}
			if int64(c.tm[j]) < cut {
				w.counts[rOutOfWindow]++
				continue
			}
			if k != j {
				c.user[k], c.item[k], c.event[k], c.tm[k] = c.user[j], c.item[j], c.event[j], c.tm[j]
				if c.weight != nil {
					c.weight[k] = c.weight[j]
				}
			}
			setBit(w.usedUsers, int(c.user[k]))
			setBit(w.usedItems, int(c.item[k]))
			setBit(w.usedEvents, int(c.event[k]))
			k++
		}
		c.user, c.item, c.event, c.tm = c.user[:k], c.item[:k], c.event[:k], c.tm[:k]
		if c.weight != nil {
			c.weight = c.weight[:k]
		}
	}
	w.dup, w.cont = nil, nil
}

// numberUsers gives the used users of all workers dense ids in the order
// of their 96-bit hash, computed by a parallel counting sort of hashes
// rather than by looking strings up in a serial pass. It returns the users
// by id and, per worker, the map from local to dense ids.
// (firstAppearance then renumbers them.)
func numberUsers(workers []*worker, goroutines int) ([]string, [][]uint32) {
	type entry struct {
		h   uint64
		h2  uint32
		ref uint32 // base[worker] + local id
	}
	const bucketBits = 12
	const buckets = 1 << bucketBits
	nw := len(workers)
	base := make([]int, nw+1)
	for i, w := range workers {
		base[i+1] = base[i] + w.users.len()
	}
	// Count each worker's used users per bucket of the hash's top bits.
	hashes := make([][]slot, nw)
	counts := make([][]int, nw)
	parallel(nw, goroutines, func(wi int) {
		w := workers[wi]
		hashes[wi], counts[wi] = w.users.hashes(), make([]int, buckets)
		for id, e := range hashes[wi] {
			if bit(w.usedUsers, id) {
				counts[wi][e.h>>(64-bucketBits)]++
			}
		}
	})
	// Bucket b holds worker 0's entries, then worker 1's, ...
	starts := make([][]int, nw)
	bucketStart := make([]int, buckets+1)
	n := 0
	for wi := range starts {
		starts[wi] = make([]int, buckets)
	}
	for b := range buckets {
		bucketStart[b] = n
		for wi := range nw {
			starts[wi][b] = n
			n += counts[wi][b]
		}
	}
	bucketStart[buckets] = n
	entries := make([]entry, n)
	parallel(nw, goroutines, func(wi int) {
		next, used := starts[wi], workers[wi].usedUsers
		for id, e := range hashes[wi] {
			if bit(used, id) {
				b := e.h >> (64 - bucketBits)
				entries[next[b]] = entry{h: e.h, h2: e.h2, ref: uint32(base[wi] + id)}
				next[b]++
			}
		}
	})
	// Sort each bucket and count its distinct users; then number them.
	distinct := make([]int, buckets+1)
	parallel(buckets, goroutines, func(b int) {
		es := entries[bucketStart[b]:bucketStart[b+1]]
		slices.SortFunc(es, func(x, y entry) int {
			if c := cmp.Compare(x.h, y.h); c != 0 {
				return c
			}
			return cmp.Compare(x.h2, y.h2)
		})
		for i := range es {
			if i == 0 || es[i].h != es[i-1].h || es[i].h2 != es[i-1].h2 {
				distinct[b+1]++
			}
		}
	})
	for b := range buckets {
		distinct[b+1] += distinct[b]
	}
	maps := make([][]uint32, nw)
	for i, w := range workers {
		maps[i] = make([]uint32, w.users.len())
	}
	users := make([]string, distinct[buckets])
	parallel(buckets, goroutines, func(b int) {
		es := entries[bucketStart[b]:bucketStart[b+1]]
		id := distinct[b] - 1
		for i, e := range es {
			wi := 0
			for int(e.ref) >= base[wi+1] {
				wi++
			}
			local := int(e.ref) - base[wi]
			if i == 0 || e.h != es[i-1].h || e.h2 != es[i-1].h2 {
				id++
				users[id] = workers[wi].users.str(uint32(local))
			}
			maps[wi][local] = uint32(id)
		}
	})
	return users, maps
}

// mergeSorted unions the used strings of the workers' dictionaries into
// one sorted list and returns, per worker, the map from its local ids to
// positions in it.
func mergeSorted(workers []*worker, pick func(*worker) (*dict, []uint64)) ([]string, [][]uint32) {
	all := newDict()
	local := make([][]uint32, len(workers))
	for i, w := range workers {
		d, used := pick(w)
		local[i] = make([]uint32, d.len())
		for j := range local[i] {
			if bit(used, j) {
				local[i][j] = all.id(d.str(uint32(j)))
			}
		}
	}
	strs := all.strings()
	// Sort by the first 8 bytes as a number, which decides most
	// comparisons without touching the strings.
	type key struct {
		prefix uint64
		id     uint32
	}
	byName := make([]key, len(strs))
	for i, s := range strs {
		var b [8]byte
		copy(b[:], s)
		byName[i] = key{binary.BigEndian.Uint64(b[:]), uint32(i)}
	}
	slices.SortFunc(byName, func(a, b key) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return cmp.Compare(strs[a.id], strs[b.id])
	})
	rank := make([]uint32, len(byName))
	sorted := make([]string, len(byName))
	for r, k := range byName {
		rank[k.id] = uint32(r)
		sorted[r] = strs[k.id]
	}
	for i, l := range local {
		_, used := pick(workers[i])
		for j, id := range l {
			if bit(used, j) {
				l[j] = rank[id]
			}
		}
	}
	return sorted, local
}
