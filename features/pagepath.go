package features

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// The page path reads flat columns through parquet-go's page API:
// parquet-go reads the page headers, checks page CRCs, decompresses, and
// decodes levels and values (its bit-unpacking is vectorized). What it
// hands back is converted here: a dictionary-encoded page comes as int32
// indexes into its column chunk's dictionary, whose values are converted
// once (each id string looked up once per dictionary, each message id
// hashed once), so that rows become index lookups. Other pages come as
// decoded values and are converted one by one. Columns that are nested,
// of a type read with Arrow's logical types, or in files parquet-go does
// not read, go through the Arrow path instead (see planFile).

// pageBatch is the number of rows converted per column before they are
// filtered and appended.
const pageBatch = 32 << 10

// converter turns a column's Parquet values into what the loader keeps:
// dense ids, Unix seconds, message hashes or weights.
type converter[T any] interface {
	fromBytes(b []byte) T
	fromInt(v int64) T
	fromFloat(v float64) T
	null() T
}

// lazyDict is a converter that maps dictionary entries only when asked
// (see lazyIDConv).
type lazyDict interface {
	setDict(data []byte, offsets []uint32, out []uint32)
}

// batchIDs is a converter that maps many strings at once faster than one
// by one (see dict.ids).
type batchIDs interface {
	ids(keys []string, out []uint32)
}

// pageCursor reads one flat (unrepeated, at most optional) column chunk
// in row order.
type pageCursor[T any, C converter[T]] struct {
	name   string
	pages  pq.Pages
	maxDef byte
	conv   C

	dict     pq.Dictionary // the dictionary dictVals was converted from
	dictVals []T
	buf      []T // the current page's values, one per row
	pos      int // next row in buf

	tmp  []T
	keys []string
}

// reset points the cursor at a column chunk.
func (c *pageCursor[T, C]) reset(cc pq.ColumnChunk, name string, maxDef int16, conv C) {
	c.close()
	c.name, c.maxDef, c.conv = name, byte(maxDef), conv
	c.pages = cc.Pages()
	c.dict, c.dictVals, c.buf, c.pos = nil, c.dictVals[:0], c.buf[:0], 0
}

func (c *pageCursor[T, C]) close() {
	if c.pages != nil {
		c.pages.Close()
		c.pages, c.dict = nil, nil
	}
}

// read fills out with the next len(out) rows.
func (c *pageCursor[T, C]) read(out []T) error {
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

func (c *pageCursor[T, C]) nextPage() error {
	p, err := c.pages.ReadPage()
	if errors.Is(err, io.EOF) {
		return corruptf("column chunk holds fewer values than the row group has rows")
	}
	if err != nil {
		return err
	}
	defer pq.Release(p)
	n := int(p.NumValues())
	defs := p.DefinitionLevels()
	if c.maxDef > 0 && len(defs) != n {
		return corruptf("page of %d values with %d definition levels", n, len(defs))
	}
	k := n
	if c.maxDef > 0 {
		k = 0
		for _, d := range defs {
			if d == c.maxDef {
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
	data := p.Data()
	if d := p.Dictionary(); d != nil {
		err = c.lookup(d, &data, vals)
	} else {
		err = c.convert(&data, vals)
	}
	if err != nil {
		return err
	}
	if k < n {
		j, null := 0, c.conv.null()
		for i, d := range defs {
			if d == c.maxDef {
				c.buf[i] = vals[j]
				j++
			} else {
				c.buf[i] = null
			}
		}
	}
	return nil
}

// lookup fills out from a dictionary-encoded page's indexes, converting
// the dictionary first if it is new.
func (c *pageCursor[T, C]) lookup(d pq.Dictionary, data *encoding.Values, out []T) error {
	if d != c.dict {
		if err := c.convertDict(d); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		c.dict = d
	}
	if data.Kind() != encoding.Int32 {
		return fmt.Errorf("dictionary indexes of kind %v", data.Kind())
	}
	idx := data.Int32()
	if len(idx) < len(out) {
		return corruptf("%d dictionary indexes for %d values", len(idx), len(out))
	}
	dict := c.dictVals
	for i := range out {
		ix := idx[i]
		if uint32(ix) >= uint32(len(dict)) {
			return corruptf("dictionary index %d of %d entries", ix, len(dict))
		}
		out[i] = dict[ix]
	}
	return nil
}

// convertDict converts a column chunk's dictionary into c.dictVals.
func (c *pageCursor[T, C]) convertDict(d pq.Dictionary) error {
	n := d.Len()
	c.dictVals = resize(c.dictVals, n)
	v := d.Page().Data()
	if l, ok := any(c.conv).(lazyDict); ok && v.Kind() == encoding.ByteArray {
		data, offs := v.ByteArray()
		if len(offs) < n+1 {
			return corruptf("%d values decoded for %d", max(len(offs)-1, 0), n)
		}
		l.setDict(data, offs[:n+1], any(c.dictVals).([]uint32))
		return nil
	}
	return c.convert(&v, c.dictVals)
}

// convert fills out with the first len(out) decoded values.
func (c *pageCursor[T, C]) convert(v *encoding.Values, out []T) error {
	short := func(have int) error {
		return corruptf("%d values decoded for %d", have, len(out))
	}
	switch v.Kind() {
	case encoding.ByteArray:
		data, offs := v.ByteArray()
		if len(offs) < len(out)+1 && len(out) > 0 {
			return short(max(len(offs)-1, 0))
		}
		if b, ok := any(c.conv).(batchIDs); ok {
			c.keys = resize(c.keys, len(out))
			for i := range out {
				c.keys[i] = bstr(data[offs[i]:offs[i+1]])
			}
			b.ids(c.keys, any(out).([]uint32))
			clear(c.keys) // they alias the page's buffer
			return nil
		}
		for i := range out {
			out[i] = c.conv.fromBytes(data[offs[i]:offs[i+1]])
		}
	case encoding.Int32:
		vals := v.Int32()
		if len(vals) < len(out) {
			return short(len(vals))
		}
		for i := range out {
			out[i] = c.conv.fromInt(int64(vals[i]))
		}
	case encoding.Int64:
		vals := v.Int64()
		if len(vals) < len(out) {
			return short(len(vals))
		}
		for i := range out {
			out[i] = c.conv.fromInt(vals[i])
		}
	case encoding.Float:
		vals := v.Float()
		if len(vals) < len(out) {
			return short(len(vals))
		}
		for i := range out {
			out[i] = c.conv.fromFloat(float64(vals[i]))
		}
	case encoding.Double:
		vals := v.Double()
		if len(vals) < len(out) {
			return short(len(vals))
		}
		for i := range out {
			out[i] = c.conv.fromFloat(vals[i])
		}
	default:
		return fmt.Errorf("values of kind %v", v.Kind())
	}
	return nil
}

// pageCursors are a worker's page-path column readers, kept with their
// buffers from row group to row group.
type pageCursors struct {
	user, item, event             pageCursor[uint32, *idConv]
	userConv, itemConv, eventConv idConv
	anon                          pageCursor[uint32, *lazyIDConv]
	anonConv                      lazyIDConv
	time                          pageCursor[int64, timeConv]
	msg                           pageCursor[uint64, hashConv]
	weight, qty                   pageCursor[float32, weightConv]
}

func (f *pageCursors) close() {
	f.user.close()
	f.item.close()
	f.event.close()
	f.anon.close()
	f.time.close()
	f.msg.close()
	f.weight.close()
	f.qty.close()
}

// openCursor points cur at column c of a row group.
func openCursor[T any, C converter[T]](cur *pageCursor[T, C], rg pq.RowGroup, c *column, conv C) error {
	ccs := rg.ColumnChunks()
	if c.leaf < 0 || c.leaf >= len(ccs) {
		return fmt.Errorf("column %q: leaf %d of %d", c.name, c.leaf, len(ccs))
	}
	cur.reset(ccs[c.leaf], c.name, c.desc.MaxDefinitionLevel(), conv)
	return nil
}

// timeConvFor returns the converter of a flat time column.
func timeConvFor(c *column) timeConv {
	switch t := c.typ.(type) {
	case *arrow.TimestampType:
		return timeConv{perSecond: int64(time.Second) / int64(t.Unit.Multiplier())}
	case *arrow.Date32Type:
		return timeConv{perSecond: 0}
	}
	return timeConv{perSecond: 1000} // INT64 epoch milliseconds; strings ignore it
}

// pageLeaf reports whether a column can be read by the page path in a
// column chunk of the given codec and encodings: a flat column of a
// physical type whose values need no Arrow logical type, in a codec and
// encodings parquet-go reads.
//
// LZ4_RAW is not among the codecs: parquet-go v0.32.0 misreads its pages
// silently. Column.decompress (column.go) takes a page buffer of
// uncompressed_page_size bytes and keeps the codec's result only when its
// length differs from that size; lz4.Codec.Decode (compress/lz4/lz4.go)
// allocates a new buffer whenever the page buffer's capacity is below 3x
// the compressed size, which is every page that compresses less than
// about 3:1. The decompressed bytes are then dropped and the page is
// decoded from the pooled buffer's stale contents: wrong values with no
// error for required columns and V2 pages, "PLAIN: cannot decode INT64
// from input of size 9604" or "decoding definition levels" for V1
// optional ones. arrow-go reads those chunks (TestLoadLZ4Raw).
func pageLeaf(c *column, codec compress.Compression, encs []parquet.Encoding) bool {
	if c.mode != modeFlat || c.desc == nil || c.desc.MaxRepetitionLevel() != 0 || c.desc.MaxDefinitionLevel() > 1 {
		return false
	}
	switch c.typ.ID() {
	case arrow.UINT32, arrow.UINT64, arrow.DECIMAL128, arrow.DECIMAL256, arrow.TIME32, arrow.TIME64, arrow.DATE64:
		return false // read with their logical type by Arrow
	}
	switch c.desc.PhysicalType() {
	case parquet.Types.ByteArray, parquet.Types.Int32, parquet.Types.Int64, parquet.Types.Float, parquet.Types.Double:
	default:
		return false
	}
	switch codec {
	case compress.Codecs.Uncompressed, compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Brotli,
		compress.Codecs.Zstd:
	default:
		return false
	}
	for _, e := range encs {
		if _, no := pq.LookupEncoding(format.Encoding(e)).(encoding.NotSupported); no {
			return false
		}
	}
	return true
}

// readPages reads row group rg of a file whose projected columns are all
// flat, page by page.
func (w *worker) readPages(ctx context.Context, p *filePlan, rgi int) error {
	rg := w.pf.RowGroups()[rgi]
	rows := int(rg.NumRows())
	cs, f := &p.cols, &w.pages
	defer f.close()
	f.userConv.d, f.anonConv.d, f.itemConv.d, f.eventConv.d = &w.users, &w.users, &w.items, &w.events
	ids := []struct {
		cur  *pageCursor[uint32, *idConv]
		conv *idConv
		col  *column
	}{{&f.user, &f.userConv, &cs.user}, {&f.item, &f.itemConv, &cs.item}, {&f.event, &f.eventConv, &cs.event}}
	for _, x := range ids {
		if x.col.present() {
			if err := openCursor(x.cur, rg, x.col, x.conv); err != nil {
				return err
			}
		}
	}
	if cs.anon.present() {
		if err := openCursor(&f.anon, rg, &cs.anon, &f.anonConv); err != nil {
			return err
		}
	}
	if err := openCursor(&f.time, rg, &cs.time, timeConvFor(&cs.time)); err != nil {
		return err
	}
	if cs.msg.present() {
		if err := openCursor(&f.msg, rg, &cs.msg, hashConv{}); err != nil {
			return err
		}
	}
	for _, x := range []struct {
		cur *pageCursor[float32, weightConv]
		col *column
	}{{&f.weight, &cs.weight}, {&f.qty, &cs.qty}} {
		if x.col.present() {
			if err := openCursor(x.cur, rg, x.col, weightConv{}); err != nil {
				return err
			}
		}
	}
	b := &w.rows
	for off := 0; off < rows; off += pageBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.pageBatch(p, b, min(pageBatch, rows-off)); err != nil {
			return err
		}
		if b.aid != nil {
			f.anonConv.prepare(b)
		}
		w.appendRows(b)
	}
	return nil
}

// pageBatch converts the next m rows of every projected column into b.
func (w *worker) pageBatch(p *filePlan, b *batch, m int) error {
	cs, f := &p.cols, &w.pages
	b.n, b.first = m, nil
	b.uid, b.iid, b.ts = resize(b.uid, m), resize(b.iid, m), resize(b.ts, m)
	b.aid, b.eid, b.h, b.w = nil, nil, nil, nil
	if err := f.user.read(b.uid); err != nil {
		return err
	}
	if err := f.item.read(b.iid); err != nil {
		return err
	}
	if err := f.time.read(b.ts); err != nil {
		return err
	}
	if cs.anon.present() {
		w.aidBuf = resize(w.aidBuf, m)
		if err := f.anon.read(w.aidBuf); err != nil {
			return err
		}
		b.aid = w.aidBuf
	}
	if cs.event.present() {
		w.eidBuf = resize(w.eidBuf, m)
		if err := f.event.read(w.eidBuf); err != nil {
			return err
		}
		b.eid = w.eidBuf
	}
	if cs.msg.present() {
		w.hBuf = resize(w.hBuf, m)
		if err := f.msg.read(w.hBuf); err != nil {
			return err
		}
		b.h = w.hBuf
	}
	if cs.weight.present() {
		w.wBuf = resize(w.wBuf, m)
		if err := f.weight.read(w.wBuf); err != nil {
			return err
		}
		b.w = w.wBuf
	}
	if cs.qty.present() {
		w.wTmp = resize(w.wTmp, m)
		if err := f.qty.read(w.wTmp); err != nil {
			return err
		}
		if b.w == nil {
			b.w = w.wTmp
		} else {
			for i, q := range w.wTmp {
				b.w[i] *= q
			}
		}
	}
	return nil
}
