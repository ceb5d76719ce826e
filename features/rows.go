package features

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// errCorrupt marks input the libraries decoded but that does not add up
// (a chunk with fewer values than its rows, an index past its
// dictionary), and panics of the libraries on corrupt input.
var errCorrupt = errors.New("corrupt page")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
}

// batch is a run of decoded events in a worker's scratch buffers: one
// entry per row, or per list element when items are exploded.
type batch struct {
	n             int
	uid, aid, iid []uint32 // aid is nil without an anonymous id column
	eid           []uint32 // nil without an event column
	ts            []int64
	h             []uint64  // message id hashes; nil without a message id column
	w             []float32 // weights; nil without weight columns
	first         []bool    // first[i]: event i starts a row; nil when each event is a row
}

// drop reasons, indexing worker counters; reasonNames gives their names.
const (
	rNoUser = iota
	rNoItem
	rNoEvent
	rIDTooLong
	rInvalidUTF8
	rBadID
	rUnknownEvent
	rBadItems
	rBadWeight
	rBadTime
	rFutureTime
	rOutOfWindow
	rDuplicate
	numReasons
)

var reasonNames = [numReasons]string{
	rNoUser: DropNoUser, rNoItem: DropNoItem, rNoEvent: DropNoEvent, rIDTooLong: DropIDTooLong,
	rInvalidUTF8: DropInvalidUTF8, rBadID: DropBadID, rUnknownEvent: DropUnknownEvent, rBadItems: DropBadItems,
	rBadWeight: DropBadWeight, rBadTime: DropBadTime, rFutureTime: DropFutureTime,
	rOutOfWindow: DropOutOfWindow, rDuplicate: DropDuplicate,
}

// idBadItems marks an element of a JSON items column that did not parse.
const idBadItems = idMax

// maxEvents is the number of distinct event names a Dataset can hold.
const maxEvents = math.MaxUint16 + 1

// appendRows appends the usable events of b to the worker's output and
// counts the rest by reason.
func (w *worker) appendRows(b *batch) {
	n := b.n
	w.read += int64(n)
	c := &w.cur
	k := len(c.user)
	c.user = slices.Grow(c.user, n)[:k+n]
	c.item = slices.Grow(c.item, n)[:k+n]
	c.event = slices.Grow(c.event, n)[:k+n]
	c.tm = slices.Grow(c.tm, n)[:k+n]
	if b.w != nil {
		c.weight = slices.Grow(c.weight, n)[:k+n]
	}
	user, item, event, tm := c.user, c.item, c.event, c.tm
	keep := w.eventKeep(b)
	lo, hi, future := w.lo, w.hi, w.future
	counts := &w.counts
	rowKept := false
	for i := range n {
		if b.first != nil && b.first[i] {
			rowKept = false
		}
		u := b.uid[i]
		if u == idNull && b.aid != nil {
			if u = b.aid[i]; isLazy(u) {
				u = w.pages.anonConv.resolve(u)
			}
		}
		it, t := b.iid[i], b.ts[i]
		ev := uint32(0)
		if b.eid != nil {
			ev = b.eid[i]
		}
		r := -1
		switch {
		case u == idNull:
			r = rNoUser
		case it == idNull:
			r = rNoItem
		case it == idBadItems:
			r = rBadItems
		case u == idTooLong || it == idTooLong || ev == idTooLong:
			r = rIDTooLong
		case u == idBadUTF8 || it == idBadUTF8 || ev == idBadUTF8:
			r = rInvalidUTF8
		case u == idBadChar || it == idBadChar:
			r = rBadID
		case ev == idNull:
			r = rNoEvent
		case !keep[ev]:
			r = rUnknownEvent
			w.unselected[ev]++
		case b.w != nil && !(b.w[i] >= 0 && b.w[i] <= math.MaxFloat32):
			r = rBadWeight
		case t == badTime || t < 0 || t > math.MaxUint32:
			r = rBadTime
		case t > future:
			r = rFutureTime
		case t < lo || t >= hi:
			r = rOutOfWindow
		}
		if r >= 0 {
			counts[r]++
			continue
		}
		user[k], item[k], event[k], tm[k] = u, it, uint16(ev), uint32(t)
		if b.w != nil {
			c.weight[k] = b.w[i]
		}
		w.maxT = max(w.maxT, t)
		if b.h != nil {
			switch {
			case b.first == nil || !rowKept:
				if h := b.h[i]; h != 0 {
					w.dedup.add(h, uint32(c.base+k))
				}
				rowKept = true
			default:
				w.setCont(c.base + k)
			}
		}
		k++
	}
	c.user, c.item, c.event, c.tm = user[:k], item[:k], event[:k], tm[:k]
	if b.w != nil {
		c.weight = c.weight[:k]
	}
}

// setCont records that event k (a position among all the worker's events)
// belongs to the same row as event k-1, so dropping a duplicated row drops
// all its elements.
func (w *worker) setCont(k int) {
	for len(w.cont)*64 <= k {
		w.cont = append(w.cont, 0)
	}
	w.cont[k/64] |= 1 << (k % 64)
}

// eventKeep returns, indexed by the worker's event ids, whether each event
// is selected. Without EventWeights every event is; without an event
// column the one implicit event is.
func (w *worker) eventKeep(b *batch) []bool {
	if b.eid == nil && w.events.len() == 0 {
		w.events.id(NoEventName)
	}
	for len(w.keep) < w.events.len() {
		name := w.events.str(uint32(len(w.keep)))
		_, named := w.opt.EventWeights[name]
		w.keep = append(w.keep, len(w.opt.EventWeights) == 0 || named)
		w.unselected = append(w.unselected, 0)
	}
	return w.keep
}

// NoEventName names the events of a table that has no event column.
const NoEventName = "Order Completed"
