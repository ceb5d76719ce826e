package features

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Sentinel ids for values that cannot be used; real ids are smaller.
const (
	idNull    = ^uint32(0)     // null or empty
	idTooLong = ^uint32(0) - 1 // longer than MaxIDLen
	idBadUTF8 = ^uint32(0) - 2 // not valid UTF-8
	idMax     = ^uint32(0) - 3
)

// dict numbers the distinct strings a worker has seen.
type dict struct {
	ids  map[string]uint32
	strs []string

	// cache of mapped Arrow dictionaries: a column chunk's dictionary is
	// shared by all its batches, so it is mapped once.
	cache []mappedDict
}

type mappedDict struct {
	data arrow.ArrayData
	vals []uint32
}

const dictCacheSize = 4

// mapDictionary maps an Arrow dictionary's values, reusing the result for
// the same dictionary data.
func (d *dict) mapDictionary(values arrow.Array) []uint32 {
	data := values.Data()
	for _, m := range d.cache {
		if m.data == data {
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

func (d *dict) release() {
	for _, m := range d.cache {
		m.data.Release()
	}
	d.cache = nil
}

func newDict() dict { return dict{ids: make(map[string]uint32)} }

// id returns s's id, adding it if new. s may alias an Arrow buffer: it is
// copied before it is kept. Invalid strings map to sentinels, and the
// verdict is cached like any other id so each distinct string is checked
// once.
func (d *dict) id(s string) uint32 {
	if id, ok := d.ids[s]; ok {
		return id
	}
	var id uint32
	switch {
	case s == "":
		return idNull
	case len(s) > MaxIDLen:
		id = idTooLong
	case !utf8.ValidString(s):
		id = idBadUTF8
	default:
		id = uint32(len(d.strs))
		d.strs = append(d.strs, strings.Clone(s))
	}
	d.ids[strings.Clone(s)] = id
	return id
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
	case *array.String:
		for i := range n {
			out[i] = d.id(a.Value(i))
		}
	case *array.LargeString:
		for i := range n {
			out[i] = d.id(a.Value(i))
		}
	case *array.Binary:
		for i := range n {
			out[i] = d.id(string(a.Value(i)))
		}
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
			out[i] = vals[v]
		}
	case *array.Int64:
		for i, v := range idx.Int64Values() {
			out[i] = vals[v]
		}
	default:
		for i := range out {
			out[i] = vals[a.GetValueIndex(i)]
		}
	}
	nullsToSentinel(a, out)
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
