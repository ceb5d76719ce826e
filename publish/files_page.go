package publish

import (
	"github.com/parquet-go/parquet-go"
)

// Reading a page from its arrays.
//
// Reading values one by one (parquet.Value, 24 bytes each, then a string
// made of each) was the most expensive part of publishing a model
// directory, paid twice: once to check every row, once to write. A page
// without nulls holds its values as arrays: indexes into the row group's
// dictionary for the dictionary-encoded text columns (family, item,
// neighbor, field), bytes and offsets for the others, numbers as they
// are. pageData reads those arrays directly, and a dictionary entry
// becomes a string once per row group (shared by the readers of the
// column) instead of once per row. Pages with nulls (an optional column from another tool) are read
// value by value as before.

// pageData is a page without nulls, read from its arrays.
type pageData struct {
	spec    colSpec
	wide    bool
	n, pos  int
	idx     []int32  // dictionary indexes
	dict    []string // the row group's dictionary as strings
	data    []byte   // byte array values ...
	offsets []uint32 // ... value i is data[offsets[i]:offsets[i+1]]
	f64     []float64
	f32     []float32
	i64     []int64
	i32     []int32
	isDict  bool
}

// dictStrings returns the entries of dict, the dictionary of column k
// in row group g, as strings, made once per column and row group while
// its readers read it: the columnFile keeps the strings of the
// maxDicts row groups last asked for, which covers readers walking the
// file in step, and the memory stays that of a few dictionaries however
// many row groups the file has.
func (cf *columnFile) dictStrings(k, g int, dict parquet.Dictionary) []string {
	cf.dictMu.Lock()
	defer cf.dictMu.Unlock()
	for _, e := range cf.dicts {
		if e.k == k && e.g == g {
			return e.strs
		}
	}
	strs := make([]string, dict.Len())
	for i := range strs {
		strs[i] = string(dict.Index(int32(i)).ByteArray())
	}
	if len(cf.dicts) == maxDicts {
		cf.dicts = cf.dicts[1:]
	}
	cf.dicts = append(cf.dicts, dictEntry{k: k, g: g, strs: strs})
	return strs
}

// maxDicts is how many row groups' dictionaries a columnFile keeps as
// strings, over all its columns.
const maxDicts = 8

// dictEntry is the dictionary of column k in row group g as strings.
type dictEntry struct {
	k, g int
	strs []string
}

// pageArrays returns page's arrays for column k, or nil when the page
// must be read value by value.
func (cf *columnFile) pageArrays(r *colReader, k int, page parquet.Page) *pageData {
	n := page.NumRows()
	if page.NumNulls() != 0 || page.NumValues() != n {
		return nil
	}
	pd := &pageData{spec: cf.specs[k], wide: cf.wide[k], n: int(n)}
	data := page.Data()
	have := 0
	switch dict := page.Dictionary(); {
	case dict != nil:
		if pd.spec.kind != textCol || dict.Type().Kind() != parquet.ByteArray {
			return nil
		}
		pd.isDict, pd.dict, pd.idx = true, cf.dictStrings(k, r.group, dict), data.Int32()
		have = len(pd.idx)
		for _, i := range pd.idx[:min(have, pd.n)] {
			if i < 0 || int(i) >= dict.Len() {
				return nil // let the value reader report it
			}
		}
	case pd.spec.kind == textCol:
		pd.data, pd.offsets = data.ByteArray()
		have = len(pd.offsets) - 1
	case pd.spec.kind == floatCol && pd.wide:
		pd.f32 = data.Float()
		have = len(pd.f32)
	case pd.spec.kind == floatCol:
		pd.f64 = data.Double()
		have = len(pd.f64)
	case pd.spec.kind == intCol && pd.wide:
		pd.i32 = data.Int32()
		have = len(pd.i32)
	default:
		pd.i64 = data.Int64()
		have = len(pd.i64)
	}
	if have < pd.n {
		return nil
	}
	return pd
}

func (pd *pageData) done() bool { return pd.pos >= pd.n }

// take appends up to want values to d and returns how many.
func (pd *pageData) take(d *colData, want int) int {
	end := min(pd.pos+want, pd.n)
	for i := pd.pos; i < end; i++ {
		switch {
		case pd.isDict:
			d.text = append(d.text, pd.dict[pd.idx[i]])
		case pd.spec.kind == textCol:
			// Items and users repeat row after row: share the string.
			b := pd.data[pd.offsets[i]:pd.offsets[i+1]]
			if n := len(d.text); n > 0 && d.text[n-1] == string(b) {
				d.text = append(d.text, d.text[n-1])
			} else {
				d.text = append(d.text, string(b))
			}
		case pd.f64 != nil:
			d.num = append(d.num, pd.f64[i])
		case pd.f32 != nil:
			d.num = append(d.num, float64(pd.f32[i]))
		case pd.i64 != nil:
			d.ints = append(d.ints, pd.i64[i])
		default:
			d.ints = append(d.ints, int64(pd.i32[i]))
		}
		if pd.spec.optional {
			d.valid = append(d.valid, true)
		}
	}
	n := end - pd.pos
	pd.pos = end
	return n
}
