package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// The fast path reads flat columns page by page, below Arrow: a
// dictionary page is converted once (each id string looked up once per
// dictionary page, each message id hashed once), and its data pages are
// then only bit-unpacked indices into the converted dictionary. Columns
// that are nested, or use an encoding this file does not decode, go
// through the Arrow record-batch path instead (see planUnits).

// maxPageValues bounds the values of one page, so that a corrupt header
// cannot ask for a huge buffer (arrow-go bounds page bytes, not values).
const maxPageValues = 1 << 26

// converter turns a column's raw Parquet values into what the loader
// keeps: dense ids, Unix seconds, message hashes or weights.
type converter[T any] interface {
	fromBytes(b []byte) T
	fromInt(v int64) T
	fromFloat(v float64) T
	null() T
}

// cursor decodes one flat (unrepeated, at most optional) column chunk in
// row order.
type cursor[T any, C converter[T]] struct {
	name   string
	rows   int // rows of the row group: no page holds more
	pr     pageReader
	typ    parquet.Type
	maxDef int16
	conv   C

	dict []T // converted dictionary page
	buf  []T // the current page's values, nulls included
	pos  int // next row in buf

	tmp  []T
	keys []string
	idx  []uint32
	defs []uint32
	ints []int64
}

// reset points the cursor at a column chunk of a file.
func (c *cursor[T, C]) reset(f io.ReaderAt, cc *metadata.ColumnChunkMetaData, name string, rows int, typ parquet.Type, maxDef int16, conv C) error {
	c.name, c.rows, c.typ, c.maxDef, c.conv = name, rows, typ, maxDef, conv
	c.dict, c.buf, c.pos = c.dict[:0], c.buf[:0], 0
	if err := c.pr.open(f, cc); err != nil {
		return fmt.Errorf("column %q: %w", name, err)
	}
	return nil
}

// read fills out with the next len(out) rows.
func (c *cursor[T, C]) read(out []T) error {
	for len(out) > 0 {
		if c.pos == len(c.buf) {
			if err := c.nextPage(); err != nil {
				return fmt.Errorf("column %q: %w", c.name, err)
			}
			continue
		}
		n := copy(out, c.buf[c.pos:])
		c.pos += n
		out = out[n:]
	}
	return nil
}

func (c *cursor[T, C]) nextPage() error {
	for {
		if err := c.pr.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return corruptf("column chunk holds fewer values than the row group has rows")
			}
			return err
		}
		p := &c.pr.page
		data := p.data
		switch p.typ {
		case pageDict:
			if err := c.readDictionary(p); err != nil {
				return err
			}
		case pageData:
			var defs []uint32
			if c.maxDef > 0 {
				if p.defEnc != parquet.Encodings.RLE {
					return fmt.Errorf("definition levels encoded as %s", p.defEnc)
				}
				if len(data) < 4 {
					return corruptf("definition levels past the end of the page")
				}
				m := int(binary.LittleEndian.Uint32(data))
				if m < 0 || m > len(data)-4 {
					return corruptf("definition levels of %d bytes", m)
				}
				var err error
				if defs, err = c.levels(data[4:4+m], p.values); err != nil {
					return err
				}
				data = data[4+m:]
			}
			return c.readData(p.encoding, data, p.values, defs)
		case pageDataV2:
			rep, def := p.repLen, p.defLen
			var defs []uint32
			if c.maxDef > 0 && p.nulls != 0 {
				var err error
				if defs, err = c.levels(data[rep:rep+def], p.values); err != nil {
					return err
				}
			}
			return c.readData(p.encoding, data[rep+def:], p.values, defs)
		}
	}
}

func (c *cursor[T, C]) levels(src []byte, n int) ([]uint32, error) {
	if n < 0 || n > c.rows || n > maxPageValues {
		return nil, corruptf("data page of %d values in a row group of %d rows", n, c.rows)
	}
	h, err := newHybrid(src, bitWidth(uint64(c.maxDef)))
	if err != nil {
		return nil, err
	}
	c.defs = resize(c.defs, n)
	if err := h.decode(c.defs); err != nil {
		return nil, fmt.Errorf("definition levels: %w", err)
	}
	return c.defs, nil
}

func (c *cursor[T, C]) readDictionary(p *page) error {
	if p.encoding != parquet.Encodings.Plain && p.encoding != parquet.Encodings.PlainDict {
		return fmt.Errorf("dictionary page encoded as %s", p.encoding)
	}
	n := p.values
	if n < 0 || n > len(p.data)/4 { // every PLAIN value takes 4 bytes or more
		return corruptf("dictionary of %d values in %d bytes", n, len(p.data))
	}
	c.dict = resize(c.dict, n)
	if l, ok := any(c.conv).(lazyDict); ok && c.typ == parquet.Types.ByteArray {
		return l.setDict(p.data, any(c.dict).([]uint32))
	}
	if b, ok := any(c.conv).(batchIDs); ok && c.typ == parquet.Types.ByteArray {
		return c.plainIDs(p.data, any(c.dict).([]uint32), b)
	}
	return c.plain(p.data, c.dict)
}

// lazyDict is a converter that maps dictionary entries only when asked
// (see lazyIDConv).
type lazyDict interface {
	setDict(page []byte, out []uint32) error
}

// batchIDs is a converter that maps many strings at once faster than one
// by one (see dict.ids).
type batchIDs interface {
	ids(keys []string, out []uint32)
}

// plainIDs converts a PLAIN byte array dictionary page through b.
func (c *cursor[T, C]) plainIDs(data []byte, out []uint32, b batchIDs) error {
	c.keys = resize(c.keys, len(out))
	for i := range out {
		if len(data) < 4 {
			return corruptf("byte array past the end of the page")
		}
		m := binary.LittleEndian.Uint32(data)
		if uint64(m) > uint64(len(data)-4) {
			return corruptf("byte array of %d bytes past the end of the page", m)
		}
		c.keys[i] = bstr(data[4 : 4+m])
		data = data[4+m:]
	}
	b.ids(c.keys, out)
	clear(c.keys) // they alias the page buffer
	return nil
}

// readData decodes a data page of n rows; defs, when not nil, are their
// definition levels.
func (c *cursor[T, C]) readData(enc parquet.Encoding, data []byte, n int, defs []uint32) error {
	if n < 0 || n > c.rows || n > maxPageValues {
		return corruptf("data page of %d values in a row group of %d rows", n, c.rows)
	}
	k := n
	if defs != nil {
		k = 0
		for _, d := range defs {
			if d == uint32(c.maxDef) {
				k++
			}
		}
	}
	c.buf, c.pos = resize(c.buf, n), 0
	vals := c.buf
	if k < n {
		c.tmp = resize(c.tmp, k)
		vals = c.tmp
	}
	if err := c.values(enc, data, vals); err != nil {
		return err
	}
	if k < n {
		j, null := 0, c.conv.null()
		for i, d := range defs {
			if d == uint32(c.maxDef) {
				c.buf[i] = vals[j]
				j++
			} else {
				c.buf[i] = null
			}
		}
	}
	return nil
}

func (c *cursor[T, C]) values(enc parquet.Encoding, data []byte, out []T) error {
	switch enc {
	case parquet.Encodings.RLEDict, parquet.Encodings.PlainDict:
		if len(out) == 0 {
			return nil
		}
		if len(data) < 1 {
			return corruptf("dictionary indices past the end of the page")
		}
		h, err := newHybrid(data[1:], int(data[0]))
		if err != nil {
			return err
		}
		c.idx = resize(c.idx, len(out))
		if err := h.decode(c.idx); err != nil {
			return fmt.Errorf("dictionary indices: %w", err)
		}
		dict := c.dict
		for i, ix := range c.idx {
			if ix >= uint32(len(dict)) {
				return corruptf("dictionary index %d of %d entries", ix, len(dict))
			}
			out[i] = dict[ix]
		}
		return nil
	case parquet.Encodings.Plain:
		return c.plain(data, out)
	case parquet.Encodings.DeltaBinaryPacked:
		if c.typ != parquet.Types.Int32 && c.typ != parquet.Types.Int64 {
			return fmt.Errorf("%s values encoded as %s", c.typ, enc)
		}
		var err error
		if c.ints, _, err = decodeDelta(data, c.ints, len(out)); err != nil {
			return err
		}
		if len(c.ints) != len(out) {
			return corruptf("%d delta values for %d rows", len(c.ints), len(out))
		}
		for i, v := range c.ints {
			out[i] = c.conv.fromInt(v)
		}
		return nil
	case parquet.Encodings.DeltaLengthByteArray:
		return c.deltaLength(data, out)
	case parquet.Encodings.DeltaByteArray:
		return c.deltaByteArray(data, out)
	}
	return fmt.Errorf("values encoded as %s", enc)
}

// plain decodes PLAIN values of the column's physical type.
func (c *cursor[T, C]) plain(data []byte, out []T) error {
	switch c.typ {
	case parquet.Types.ByteArray:
		for i := range out {
			if len(data) < 4 {
				return corruptf("byte array past the end of the page")
			}
			m := binary.LittleEndian.Uint32(data)
			if uint64(m) > uint64(len(data)-4) {
				return corruptf("byte array of %d bytes past the end of the page", m)
			}
			out[i] = c.conv.fromBytes(data[4 : 4+m])
			data = data[4+m:]
		}
	case parquet.Types.Int64:
		if len(data) < 8*len(out) {
			return corruptf("%d INT64 values in %d bytes", len(out), len(data))
		}
		for i := range out {
			out[i] = c.conv.fromInt(int64(binary.LittleEndian.Uint64(data[8*i:])))
		}
	case parquet.Types.Int32:
		if len(data) < 4*len(out) {
			return corruptf("%d INT32 values in %d bytes", len(out), len(data))
		}
		for i := range out {
			out[i] = c.conv.fromInt(int64(int32(binary.LittleEndian.Uint32(data[4*i:]))))
		}
	case parquet.Types.Double:
		if len(data) < 8*len(out) {
			return corruptf("%d DOUBLE values in %d bytes", len(out), len(data))
		}
		for i := range out {
			out[i] = c.conv.fromFloat(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	case parquet.Types.Float:
		if len(data) < 4*len(out) {
			return corruptf("%d FLOAT values in %d bytes", len(out), len(data))
		}
		for i := range out {
			out[i] = c.conv.fromFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))))
		}
	default:
		return fmt.Errorf("physical type %s", c.typ)
	}
	return nil
}

// deltaLength decodes DELTA_LENGTH_BYTE_ARRAY: all lengths, then all
// bytes.
func (c *cursor[T, C]) deltaLength(data []byte, out []T) error {
	if c.typ != parquet.Types.ByteArray {
		return fmt.Errorf("%s values encoded as DELTA_LENGTH_BYTE_ARRAY", c.typ)
	}
	var err error
	c.ints, data, err = decodeDelta(data, c.ints, len(out))
	if err != nil {
		return err
	}
	if len(c.ints) != len(out) {
		return corruptf("%d lengths for %d values", len(c.ints), len(out))
	}
	for i, m := range c.ints {
		if m < 0 || m > int64(len(data)) {
			return corruptf("byte array of %d bytes past the end of the page", m)
		}
		out[i] = c.conv.fromBytes(data[:m])
		data = data[m:]
	}
	return nil
}

// deltaByteArray decodes DELTA_BYTE_ARRAY: prefix lengths, then the
// suffixes as DELTA_LENGTH_BYTE_ARRAY; each value is the previous value's
// prefix followed by its suffix.
func (c *cursor[T, C]) deltaByteArray(data []byte, out []T) error {
	if c.typ != parquet.Types.ByteArray {
		return fmt.Errorf("%s values encoded as DELTA_BYTE_ARRAY", c.typ)
	}
	prefixes, rest, err := decodeDelta(data, nil, len(out))
	if err != nil {
		return err
	}
	suffixes, rest, err := decodeDelta(rest, c.ints, len(out))
	if err != nil {
		return err
	}
	c.ints = suffixes
	if len(prefixes) != len(out) || len(suffixes) != len(out) {
		return corruptf("%d prefixes and %d suffixes for %d values", len(prefixes), len(suffixes), len(out))
	}
	var prev, cur []byte
	for i := range out {
		p, s := prefixes[i], suffixes[i]
		if p < 0 || p > int64(len(prev)) || s < 0 || s > int64(len(rest)) {
			return corruptf("prefix %d or suffix %d out of range", p, s)
		}
		cur = append(append(cur[:0], prev[:p]...), rest[:s]...)
		rest = rest[s:]
		out[i] = c.conv.fromBytes(cur)
		prev, cur = cur, prev
	}
	return nil
}
