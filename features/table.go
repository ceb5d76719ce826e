package features

import (
	"hash/maphash"
	"unsafe"
)

// texts is an append-only list of strings kept in one byte slice: no
// string header or allocation per string, and no reference into the
// Arrow buffers they were read from (which would keep whole record
// batches alive).
type texts struct {
	buf []byte
	end []uint64 // string i is buf[end[i-1]:end[i]]
}

// add appends s and returns its index.
func (t *texts) add(s string) uint32 {
	t.buf = append(t.buf, s...)
	t.end = append(t.end, uint64(len(t.buf)))
	return uint32(len(t.end) - 1)
}

func (t *texts) len() int { return len(t.end) }

// at returns string i without copying: buf is only ever appended to, so
// the bytes a returned string sees never change (a grown buf leaves them
// in the old array, which the string keeps alive).
func (t *texts) at(i uint32) string {
	start := uint64(0)
	if i > 0 {
		start = t.end[i-1]
	}
	if start == t.end[i] {
		return ""
	}
	return unsafe.String(&t.buf[start], int(t.end[i]-start))
}

// bytes returns the memory t holds.
func (t *texts) bytes() int { return cap(t.buf) + 8*cap(t.end) }

// rowIndex maps the strings of a texts (user ids) to the last index that
// holds each: open addressing over 4-byte slots, a fraction of what a
// map[string]int32 takes for millions of ids.
type rowIndex struct {
	seed  maphash.Seed
	slots []uint32 // row+1; 0 is empty; len is a power of two
	n     int      // distinct strings
}

// find returns the slot for s: the one holding it, or the empty one where
// it would go.
func (x *rowIndex) find(keys *texts, s string) (slot int, row uint32, ok bool) {
	mask := len(x.slots) - 1
	for i := int(maphash.String(x.seed, s)) & mask; ; i = (i + 1) & mask {
		r := x.slots[i]
		if r == 0 {
			return i, 0, false
		}
		if keys.at(r-1) == s {
			return i, r - 1, true
		}
	}
}

// get returns the last row holding s.
func (x *rowIndex) get(keys *texts, s string) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	_, r, ok := x.find(keys, s)
	return r, ok
}

// put makes row the last one holding keys.at(row); it returns the row it
// replaces, if any.
func (x *rowIndex) put(keys *texts, row uint32) (old uint32, replaced bool) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.grow(keys)
	}
	slot, old, replaced := x.find(keys, keys.at(row))
	if !replaced {
		x.n++
	}
	x.slots[slot] = row + 1
	return old, replaced
}

func (x *rowIndex) grow(keys *texts) {
	if len(x.slots) == 0 {
		x.seed = maphash.MakeSeed()
	}
	old := x.slots
	x.slots = make([]uint32, max(16, 2*len(old)))
	mask := len(x.slots) - 1
	for _, r := range old {
		if r == 0 {
			continue
		}
		i := int(maphash.String(x.seed, keys.at(r-1))) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = r
	}
}
