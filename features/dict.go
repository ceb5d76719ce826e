package features

import (
	"bytes"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/recopub/recopub/publish/keyid"
	"github.com/zeebo/xxh3"
)

// Sentinel ids for values that cannot be used; real ids are smaller.
const (
	idNull    = ^uint32(0)     // null or empty
	idTooLong = ^uint32(0) - 1 // longer than MaxIDLen
	idBadUTF8 = ^uint32(0) - 2 // not valid UTF-8
	idBadChar = ^uint32(0) - 3 // a character keyid refuses (ids only)
	idMax     = ^uint32(0) - 4
)

// dict numbers the distinct valid id strings a worker has seen. It is an
// open-addressing table keyed by a 96-bit xxh3 hash of the string: a
// lookup touches one 16-byte slot and never the string itself, which
// matters when millions of ids make every string access a cache miss. Two
// distinct ids would have to share all 96 bits to be confused; among ten
// million ids that happens with probability about 1e-15. Strings are kept
// (for output) in a few large blocks rather than one allocation each,
// which keeps millions of ids cheap for the garbage collector.
type dict struct {
	keys   bool // values are user or item ids: keyid's rule applies
	slots  []slot
	mask   uint64
	n      int        // number of ids
	chunks [][]string // id -> string, in chunks of chunkSize that never move
	block  []byte     // free tail of the current string block
	blocks int64      // bytes of all string blocks
	sink   uint64     // keeps the loads of ids from being optimized away

	// cache of mapped Arrow dictionaries: a column chunk's dictionary is
	// shared by all its batches, so it is mapped once.
	cache   []mappedDict
	scratch []string // mapIDs' scratch
}

// slot is a table entry: h is the low 64 bits of the hash (0 marks an
// empty slot), h2 32 more bits.
type slot struct {
	h  uint64
	h2 uint32
	id uint32
}

type mappedDict struct {
	data arrow.ArrayData
	vals []uint32
}

const (
	dictCacheSize = 4
	blockSize     = 256 << 10
	chunkBits     = 14
	chunkSize     = 1 << chunkBits
)

// bytes returns the memory d holds: its table, its id -> string chunks
// and its string blocks.
func (d *dict) bytes() int64 {
	return int64(len(d.slots))*int64(unsafe.Sizeof(slot{})) +
		int64(len(d.chunks))*chunkSize*int64(unsafe.Sizeof("")) + d.blocks
}

// len returns the number of ids.
func (d *dict) len() int { return d.n }

// str returns the string of an id.
func (d *dict) str(id uint32) string { return d.chunks[id>>chunkBits][id&(chunkSize-1)] }

// strings returns all strings in id order.
func (d *dict) strings() []string {
	out := make([]string, 0, d.n)
	for _, c := range d.chunks {
		out = append(out, c...)
	}
	return out
}

func newDict() dict { return newDictFor(0) }

// newDictFor makes a dict with room for about n ids, so that a big one
// does not rehash a dozen times on the way (a tenth of the load's time at
// ten million events).
func newDictFor(n int) dict {
	size := 1 << 10
	for 3*size < 4*n && size < 1<<23 {
		size *= 2
	}
	return dict{slots: make([]slot, size), mask: uint64(size - 1)}
}

// newIDDict makes a dict of user or item ids, which keyid's rule applies
// to.
func newIDDict(n int) dict {
	d := newDictFor(n)
	d.keys = true
	return d
}

// hash96 returns the 96 bits a dict keys on.
func hash96(s string) (uint64, uint32) {
	h := xxh3.HashString128(s)
	lo := h.Lo
	if lo == 0 {
		lo = 1
	}
	return lo, uint32(h.Hi)
}

// bstr views b as a string without copying; the string must not outlive
// b's contents.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// id returns s's id, adding it if new. s may alias a page buffer: it is
// copied before it is kept. Invalid strings map to sentinels and are not
// stored.
func (d *dict) id(s string) uint32 {
	h, h2 := hash96(s)
	return d.idHashed(s, h, h2)
}

func (d *dict) idHashed(s string, h uint64, h2 uint32) uint32 {
	i := h & d.mask
	for {
		e := &d.slots[i]
		if e.h == h && e.h2 == h2 {
			return e.id
		}
		if e.h == 0 {
			break
		}
		i = (i + 1) & d.mask
	}
	if bad := d.invalid(s); bad != 0 {
		return bad
	}
	id := uint32(d.n)
	if d.n&(chunkSize-1) == 0 {
		d.chunks = append(d.chunks, make([]string, 0, chunkSize))
	}
	c := &d.chunks[len(d.chunks)-1]
	*c = append(*c, d.clone(s))
	d.n++
	d.slots[i] = slot{h: h, h2: h2, id: id}
	if 4*d.n > 3*len(d.slots) {
		d.grow()
	}
	return id
}

// invalid returns the sentinel of a string that cannot be an id, or 0.
// It runs once per string a worker has not seen (valid strings are found
// in the table), so a dictionary's values are checked once each.
func (d *dict) invalid(s string) uint32 {
	if d.keys {
		err := keyid.Check(s)
		if err == nil {
			return 0
		}
		switch err.(*keyid.Error).Reason {
		case keyid.Empty:
			return idNull
		case keyid.TooLong:
			return idTooLong
		case keyid.InvalidUTF8:
			return idBadUTF8
		}
		return idBadChar
	}
	switch {
	case s == "":
		return idNull
	case len(s) > MaxIDLen:
		return idTooLong
	case !utf8.ValidString(s):
		return idBadUTF8
	}
	return 0
}

// ids maps many strings at once, as id would. The lookups of a dictionary
// page are independent, so they are done in three loops: hash every key,
// load every key's first slot (a loop so small that the processor keeps
// dozens of those cache misses in flight at once), then resolve each key
// with its slot most likely in cache. One by one, each lookup would wait
// for its own miss.
func (d *dict) ids(keys []string, out []uint32) {
	const group = 256
	var hs [group]uint64
	var h2s [group]uint32
	for g := 0; g < len(keys); g += group {
		batch := keys[g:min(g+group, len(keys))]
		for i, s := range batch {
			hs[i], h2s[i] = hash96(s)
		}
		var sink uint64
		slots, mask := d.slots, d.mask
		for _, h := range hs[:len(batch)] {
			sink += slots[h&mask].h
		}
		d.sink += sink
		for i, s := range batch {
			out[g+i] = d.idHashed(s, hs[i], h2s[i])
		}
	}
}

func (d *dict) grow() {
	old := d.slots
	n := 2 * len(old)
	d.slots, d.mask = make([]slot, n), uint64(n-1)
	for _, e := range old {
		if e.h == 0 {
			continue
		}
		i := e.h & d.mask
		for d.slots[i].h != 0 {
			i = (i + 1) & d.mask
		}
		d.slots[i] = e
	}
}

// hashes returns each id's slot (its hash), in id order.
func (d *dict) hashes() []slot {
	out := make([]slot, d.n)
	for _, e := range d.slots {
		if e.h != 0 {
			out[e.id] = e
		}
	}
	return out
}

func (d *dict) clone(s string) string {
	if len(s) > len(d.block) {
		// Blocks grow with the dictionary: small inputs stay small.
		d.block = make([]byte, max(min(blockSize, 64*d.n+4096), len(s)))
		d.blocks += int64(len(d.block))
	}
	n := copy(d.block, s)
	out := unsafe.String(&d.block[0], n)
	d.block = d.block[n:]
	return out
}

// mapDictionary maps an Arrow dictionary's values, reusing the result for
// the same dictionary. pqarrow rebuilds a column chunk's dictionary for
// every record batch, so "the same" means equal buffers, not the same
// ArrayData: comparing the bytes is much cheaper than looking up every
// value again.
func (d *dict) mapDictionary(values arrow.Array) []uint32 {
	data := values.Data()
	for _, m := range d.cache {
		if m.data == data || sameData(m.data, data) {
			return m.vals
		}
	}
	vals := d.mapIDs(values, nil)
	if len(d.cache) == dictCacheSize {
		d.cache[0].data.Release()
		copy(d.cache, d.cache[1:])
		d.cache = d.cache[:dictCacheSize-1]
	}
	data.Retain()
	d.cache = append(d.cache, mappedDict{data: data, vals: vals})
	return vals
}

// sameData reports whether two arrays hold the same values in the same
// buffers' bytes.
func sameData(a, b arrow.ArrayData) bool {
	if a.Len() != b.Len() || a.Offset() != b.Offset() || a.NullN() != b.NullN() || !arrow.TypeEqual(a.DataType(), b.DataType()) {
		return false
	}
	ab, bb := a.Buffers(), b.Buffers()
	if len(ab) != len(bb) || len(a.Children()) > 0 || a.Dictionary() != nil {
		return false
	}
	for i := range ab {
		if (ab[i] == nil) != (bb[i] == nil) || ab[i] != nil && !bytes.Equal(ab[i].Bytes(), bb[i].Bytes()) {
			return false
		}
	}
	return true
}

func (d *dict) release() {
	for _, m := range d.cache {
		m.data.Release()
	}
	d.cache = nil
}

// mapIDs maps every row of an id column to its dictionary id, writing into
// out (resized to the column's length). Dictionary-encoded columns map each
// dictionary entry once and then only index.
func (d *dict) mapIDs(col arrow.Array, out []uint32) []uint32 {
	n := col.Len()
	out = resize(out, n)
	switch a := col.(type) {
	case *array.Dictionary:
		vals := d.mapDictionary(a.Dictionary())
		mapIndices(a, vals, out)
		return out
	case *array.String, *array.LargeString, *array.Binary, *array.LargeBinary:
		text := stringValues(a)
		d.scratch = resize(d.scratch, n)
		for i := range n {
			d.scratch[i] = bstr(text(i))
		}
		d.ids(d.scratch, out)
		clear(d.scratch) // they alias the column's buffers
	default:
		for i := range n {
			if col.IsNull(i) {
				continue
			}
			out[i] = d.id(numberText(col, i))
		}
	}
	nullsToSentinel(col, out)
	return out
}

func mapIndices(a *array.Dictionary, vals, out []uint32) {
	switch idx := a.Indices().(type) {
	case *array.Int32:
		for i, v := range idx.Int32Values() {
			out[i] = lookupIndex(vals, int64(v))
		}
	case *array.Int64:
		for i, v := range idx.Int64Values() {
			out[i] = lookupIndex(vals, v)
		}
	default:
		for i := range out {
			out[i] = lookupIndex(vals, int64(a.GetValueIndex(i)))
		}
	}
	nullsToSentinel(a, out)
}

// lookupIndex is vals[i], or idNull for an index out of range (a null
// slot's index may hold anything).
func lookupIndex(vals []uint32, i int64) uint32 {
	if uint64(i) < uint64(len(vals)) {
		return vals[i]
	}
	return idNull
}

func nullsToSentinel(col arrow.Array, out []uint32) {
	if col.NullN() == 0 {
		return
	}
	for i := range out {
		if col.IsNull(i) {
			out[i] = idNull
		}
	}
}

// numberText formats a numeric id the way a user would write it: integers
// without a fraction, so a CustomerID stored as 17850.0 becomes "17850".
func numberText(col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10)
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Float64:
		return JSNumber(a.Value(i))
	case *array.Float32:
		return JSNumber(float64(a.Value(i)))
	}
	return col.ValueStr(i)
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
