package features

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// pageReader walks the pages of one column chunk. The fast path reads a
// whole chunk with one ReadAt into a buffer it keeps, parses the page
// headers itself and decompresses each page straight from that buffer
// into a second one: no allocation per page or chunk, and no copy of the
// compressed bytes. (arrow-go's page reader allocates buffers per chunk
// and copies every page before decompressing it: some 15% of the load
// time at 10M events.)
type pageReader struct {
	chunk []byte // the column chunk's bytes
	pos   int
	codec compress.Codec
	plain bool // uncompressed: pages alias chunk
	out   []byte

	page page
}

// page is the current page.
type page struct {
	typ      int32 // pageData, pageDataV2 or pageDict
	values   int   // values, nulls included (levels count)
	nulls    int   // V2 only: -1 when unknown
	encoding parquet.Encoding
	defEnc   parquet.Encoding // V1 only
	repLen   int              // V2: bytes of repetition levels
	defLen   int              // V2: bytes of definition levels
	data     []byte           // decompressed body (V2: levels then values)
}

// Parquet page types (parquet.thrift PageType).
const (
	pageData   = 0
	pageIndex  = 1
	pageDict   = 2
	pageDataV2 = 3
)

// maxPageSize bounds a page's uncompressed size, as arrow-go does.
const maxPageSize = 256 << 20

// open reads column chunk cc of a file into the reader's buffer. (Mapping
// the file instead costs as much in page faults as the copy: reading the
// page cache is a tenth of the load's time at 10M events either way.)
func (r *pageReader) open(f io.ReaderAt, cc *metadata.ColumnChunkMetaData) error {
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
		start = cc.DictionaryPageOffset()
	}
	n := cc.TotalCompressedSize()
	if start < 0 || n < 0 || n > 1<<31 {
		return corruptf("column chunk at %d of %d bytes", start, n)
	}
	r.chunk = resize(r.chunk, int(n))
	if _, err := f.ReadAt(r.chunk, start); err != nil {
		return fmt.Errorf("read column chunk: %w", err)
	}
	r.pos = 0
	r.plain = cc.Compression() == compress.Codecs.Uncompressed
	codec, err := compress.GetCodec(cc.Compression())
	if err != nil {
		return err
	}
	r.codec = codec
	return nil
}

// next moves to the next page; io.EOF at the end of the chunk.
func (r *pageReader) next() error {
	if r.pos >= len(r.chunk) {
		return io.EOF
	}
	var h pageHeader
	n, err := h.parse(r.chunk[r.pos:])
	if err != nil {
		return fmt.Errorf("page header: %w", err)
	}
	r.pos += n
	if h.compressed < 0 || h.uncompressed < 0 || h.uncompressed > maxPageSize || h.compressed > len(r.chunk)-r.pos {
		return corruptf("page of %d bytes (%d uncompressed) in a chunk with %d left", h.compressed, h.uncompressed, len(r.chunk)-r.pos)
	}
	body := r.chunk[r.pos : r.pos+h.compressed]
	r.pos += h.compressed
	p := &r.page
	*p = page{typ: h.typ, values: int(h.values), nulls: -1, encoding: parquet.Encoding(h.encoding),
		defEnc: parquet.Encoding(h.defEnc), repLen: int(h.repLen), defLen: int(h.defLen)}
	if h.values < 0 || h.repLen < 0 || h.defLen < 0 {
		return corruptf("page header with negative sizes")
	}
	switch h.typ {
	case pageData, pageDict:
		p.data, err = r.decompress(body, h.uncompressed)
	case pageDataV2:
		p.nulls = int(h.nulls)
		levels := p.repLen + p.defLen
		if levels > len(body) || levels > h.uncompressed {
			return corruptf("levels of %d bytes in a page of %d", levels, len(body))
		}
		if !h.v2Compressed || r.plain {
			if len(body) != h.uncompressed {
				return corruptf("page of %d bytes, header says %d", len(body), h.uncompressed)
			}
			p.data = body
			return nil
		}
		r.out = resize(r.out, h.uncompressed)
		copy(r.out, body[:levels])
		var vals []byte
		vals, err = r.decode(r.out[levels:levels], body[levels:], h.uncompressed-levels)
		p.data = r.out[:levels+len(vals)]
	default:
		return r.next() // index pages and unknown kinds carry no rows
	}
	return err
}

func (r *pageReader) decompress(body []byte, size int) ([]byte, error) {
	if r.plain {
		if len(body) != size {
			return nil, corruptf("page of %d bytes, header says %d", len(body), size)
		}
		return body, nil
	}
	r.out = resize(r.out, size)
	return r.decode(r.out[:0], body, size)
}

// decode decompresses src into dst's spare capacity, which must hold size
// bytes, and checks the size.
func (r *pageReader) decode(dst, src []byte, size int) (out []byte, err error) {
	defer func() {
		// Some codecs panic on corrupt input.
		if v := recover(); v != nil {
			out, err = nil, corruptf("decompress: %v", v)
		}
	}()
	dst = dst[:size]
	if ec, ok := r.codec.(compress.ErrorCodec); ok {
		out, err = ec.DecodeWithError(dst, src)
		if err != nil {
			return nil, corruptf("decompress: %v", err)
		}
	} else {
		out = r.codec.Decode(dst, src)
	}
	if len(out) != size {
		return nil, corruptf("page decompressed to %d bytes, header says %d", len(out), size)
	}
	return out, nil
}

// pageHeader holds the fields of parquet.thrift's PageHeader the fast
// path needs.
type pageHeader struct {
	typ                      int32
	uncompressed, compressed int
	values, nulls            int32
	encoding, defEnc         int32
	repLen, defLen           int32
	v2Compressed             bool
}

// parse decodes a Thrift compact-protocol PageHeader and returns its
// length.
func (h *pageHeader) parse(b []byte) (int, error) {
	t := thriftReader{b: b}
	h.v2Compressed = true
	err := t.structFields(func(id int16, typ byte) error {
		switch id {
		case 1:
			v, err := t.i32(typ)
			h.typ = v
			return err
		case 2:
			v, err := t.i32(typ)
			h.uncompressed = int(v)
			return err
		case 3:
			v, err := t.i32(typ)
			h.compressed = int(v)
			return err
		case 5, 7, 8: // data, dictionary and data v2 page headers
			if typ != thriftStruct {
				return corruptf("page header field %d of type %d", id, typ)
			}
			return t.structFields(func(fid int16, ftyp byte) error { return h.subField(&t, id, fid, ftyp) })
		}
		return t.skip(typ, 0)
	})
	return t.i, err
}

func (h *pageHeader) subField(t *thriftReader, kind, id int16, typ byte) error {
	var dst *int32
	switch {
	case id == 1:
		dst = &h.values
	case kind == 5 && id == 2, kind == 7 && id == 2, kind == 8 && id == 4:
		dst = &h.encoding
	case kind == 5 && id == 3:
		dst = &h.defEnc
	case kind == 8 && id == 2:
		dst = &h.nulls
	case kind == 8 && id == 5:
		dst = &h.defLen
	case kind == 8 && id == 6:
		dst = &h.repLen
	case kind == 8 && id == 7:
		v, err := t.boolean(typ)
		h.v2Compressed = v
		return err
	default:
		return t.skip(typ, 0)
	}
	v, err := t.i32(typ)
	*dst = v
	return err
}

// thriftReader decodes the Thrift compact protocol.
type thriftReader struct {
	b []byte
	i int
}

// Thrift compact protocol type codes.
const (
	thriftTrue   = 1
	thriftFalse  = 2
	thriftByte   = 3
	thriftI16    = 4
	thriftI32    = 5
	thriftI64    = 6
	thriftDouble = 7
	thriftBinary = 8
	thriftList   = 9
	thriftSet    = 10
	thriftMap    = 11
	thriftStruct = 12
)

const maxThriftDepth = 32

// structFields calls fn for each field of a struct until its stop byte.
func (t *thriftReader) structFields(fn func(id int16, typ byte) error) error {
	var last int16
	for {
		if t.i >= len(t.b) {
			return corruptf("thrift struct past the end")
		}
		c := t.b[t.i]
		t.i++
		if c == 0 {
			return nil
		}
		typ := c & 0x0f
		id := last + int16(c>>4)
		if c>>4 == 0 {
			v, err := t.varint()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		last = id
		if err := fn(id, typ); err != nil {
			return err
		}
	}
}

func (t *thriftReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(t.b[t.i:])
	if n <= 0 {
		return 0, corruptf("thrift varint")
	}
	t.i += n
	return v, nil
}

func (t *thriftReader) varint() (int64, error) {
	v, err := t.uvarint()
	return int64(v>>1) ^ -int64(v&1), err
}

func (t *thriftReader) i32(typ byte) (int32, error) {
	if typ != thriftI32 && typ != thriftI16 && typ != thriftByte {
		return 0, corruptf("thrift field of type %d, want an integer", typ)
	}
	if typ == thriftByte {
		if t.i >= len(t.b) {
			return 0, corruptf("thrift byte past the end")
		}
		t.i++
		return int32(int8(t.b[t.i-1])), nil
	}
	v, err := t.varint()
	if v < -1<<31 || v >= 1<<31 {
		return 0, corruptf("thrift i32 %d", v)
	}
	return int32(v), err
}

func (t *thriftReader) boolean(typ byte) (bool, error) {
	switch typ {
	case thriftTrue:
		return true, nil
	case thriftFalse:
		return false, nil
	}
	return false, corruptf("thrift field of type %d, want a bool", typ)
}

// skip skips a value of a type; in lists a bool takes a byte.
func (t *thriftReader) skip(typ byte, depth int) error {
	if depth > maxThriftDepth {
		return corruptf("thrift nesting too deep")
	}
	need := func(n int) error {
		if n < 0 || n > len(t.b)-t.i {
			return corruptf("thrift value past the end")
		}
		t.i += n
		return nil
	}
	switch typ {
	case thriftTrue, thriftFalse:
		return nil
	case thriftByte:
		return need(1)
	case thriftI16, thriftI32, thriftI64:
		_, err := t.uvarint()
		return err
	case thriftDouble:
		return need(8)
	case thriftBinary:
		n, err := t.uvarint()
		if err != nil {
			return err
		}
		return need(int(min(n, 1<<31)))
	case thriftList, thriftSet:
		if t.i >= len(t.b) {
			return corruptf("thrift list past the end")
		}
		c := t.b[t.i]
		t.i++
		n, et := int(c>>4), c&0x0f
		if n == 15 {
			v, err := t.uvarint()
			if err != nil {
				return err
			}
			if v > uint64(len(t.b)) {
				return corruptf("thrift list of %d elements", v)
			}
			n = int(v)
		}
		for range n {
			if err := t.skipElem(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case thriftMap:
		n, err := t.uvarint()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if n > uint64(len(t.b)) || t.i >= len(t.b) {
			return corruptf("thrift map of %d entries", n)
		}
		kv := t.b[t.i]
		t.i++
		for range n {
			if err := t.skipElem(kv>>4, depth+1); err != nil {
				return err
			}
			if err := t.skipElem(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case thriftStruct:
		return t.structFields(func(_ int16, ft byte) error { return t.skip(ft, depth+1) })
	}
	return corruptf("thrift type %d", typ)
}

// skipElem skips a list, set or map element: there a bool is a byte.
func (t *thriftReader) skipElem(typ byte, depth int) error {
	if typ == thriftTrue || typ == thriftFalse {
		return t.skip(thriftByte, depth)
	}
	return t.skip(typ, depth)
}
