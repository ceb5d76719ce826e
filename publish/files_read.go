package publish

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// colKind is what a column of a model file holds.
type colKind int

const (
	textCol  colKind = iota // BYTE_ARRAY
	floatCol                // DOUBLE or FLOAT
	intCol                  // INT32 or INT64
)

// colSpec is a column a model file must (or, if optional, may) have.
type colSpec struct {
	name     string
	kind     colKind
	optional bool // may be missing, or null
}

// colData holds one column's values of a range of rows; which slice is
// filled depends on the column's kind. For an optional column, valid is
// false where the value is null or the column is missing.
type colData struct {
	text  []string
	num   []float64
	ints  []int64
	valid []bool
}

func (d *colData) reset() {
	d.text, d.num, d.ints, d.valid = d.text[:0], d.num[:0], d.ints[:0], d.valid[:0]
}

// columnFile reads ranges of rows of a Parquet file column by column, for
// concurrent callers: the Writer's workers ask for lists in any order.
// Reading columns directly is about ten times faster than decoding rows
// into structs. Each caller borrows a cursor, a reader per column with its
// own position; a caller asking for the rows right after the ones a
// cursor just read gets that cursor and reads on without seeking, which
// is how the Writer's workers walk the file: each takes runs of
// consecutive lists.
type columnFile struct {
	path       string
	file       *os.File
	pf         *parquet.File
	specs      []colSpec
	leaf       []int   // leaf column index of each spec; -1 when missing
	wide       []bool  // the leaf is FLOAT (not DOUBLE) or INT32 (not INT64)
	groupStart []int64 // first row of each row group, then the row count

	dictMu sync.Mutex
	dicts  []dictEntry // see dictStrings

	mu    sync.Mutex
	free  []*cursor
	first error // first read error, see ModelDir.Err
}

// openColumns opens path and checks that it has the columns of specs with
// usable types.
func openColumns(path string, specs []colSpec) (*columnFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model dir: %w", err)
	}
	cf, err := newColumnFile(f, path, specs)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("model dir: %s: %w", path, err)
	}
	return cf, nil
}

func newColumnFile(f *os.File, path string, specs []colSpec) (*columnFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	// parquet-go v0.32.0 decodes some LZ4_RAW pages into wrong values
	// without an error (it keeps a pooled buffer instead of the codec's
	// output); a model table from another tool must not be misread.
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec == format.Lz4Raw {
				return nil, fmt.Errorf("column %q is LZ4_RAW-compressed, which parquet-go cannot read reliably; rewrite the file with snappy or zstd", strings.Join(c.MetaData.PathInSchema, "."))
			}
		}
	}
	cf := &columnFile{path: path, file: f, pf: pf, specs: specs}
	var names []string
	for _, s := range specs {
		names = append(names, s.name)
	}
	for _, s := range specs {
		leaf, ok := pf.Schema().Lookup(s.name)
		if !ok {
			if !s.optional {
				return nil, fmt.Errorf("no column %q; want columns %v", s.name, names)
			}
			cf.leaf, cf.wide = append(cf.leaf, -1), append(cf.wide, false)
			continue
		}
		if leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("column %q is repeated; want one value per row", s.name)
		}
		kind := leaf.Node.Type().Kind()
		ok, wide := columnKindOK(s.kind, kind)
		if !ok {
			return nil, fmt.Errorf("column %q holds %s values of the wrong type", s.name, kind)
		}
		cf.leaf, cf.wide = append(cf.leaf, leaf.ColumnIndex), append(cf.wide, wide)
	}
	cf.groupStart = []int64{0}
	for _, rg := range pf.RowGroups() {
		cf.groupStart = append(cf.groupStart, cf.groupStart[len(cf.groupStart)-1]+rg.NumRows())
	}
	return cf, nil
}

func columnKindOK(want colKind, got parquet.Kind) (ok, narrow bool) {
	switch want {
	case textCol:
		return got == parquet.ByteArray, false
	case floatCol:
		return got == parquet.Double || got == parquet.Float, got == parquet.Float
	case intCol:
		return got == parquet.Int64 || got == parquet.Int32, got == parquet.Int32
	}
	return false, false
}

func (cf *columnFile) numRows() int64 { return cf.groupStart[len(cf.groupStart)-1] }

// cursor reads some columns of a columnFile.
type cursor struct {
	cols []colReader
	data []colData
}

// colReader reads one column, positioned at row next of the file.
type colReader struct {
	group  int
	next   int64
	pages  parquet.Pages
	values parquet.ValueReader // the page being read, value by value
	buf    []parquet.Value
	page   *pageData // or the page being read from its arrays (files_page.go)
}

// drop forgets the page being read. Its buffers are left to the garbage
// collector, not handed back to parquet-go's pools (parquet.Release).
// Releasing saved about 55 of 440 ms checking a 5M-event model, but a
// buffer a pool hands out again too early is how parquet-go has misread
// files before (see the LZ4_RAW note in newColumnFile), and a misread
// page here would be published.
func (r *colReader) drop() { r.values, r.page = nil, nil }

// rows calls fn with columns cols of rows [lo, hi), indexed like the
// file's specs (others left empty). A read error is kept for Err, and fn
// is not called.
func (cf *columnFile) rows(lo, hi int64, cols []int, fn func([]colData)) {
	c := cf.borrow(lo, cols[0])
	defer cf.giveBack(c) // after fn: the data is the cursor's
	if err := cf.read(c, lo, hi, cols); err != nil {
		cf.fail(fmt.Errorf("%s: %w", cf.path, err))
		return
	}
	fn(c.data)
}

// scan calls fn for every batch of rows, in order, with columns cols.
func (cf *columnFile) scan(cols []int, fn func(lo int64, d []colData) error) error {
	c := cf.borrow(0, cols[0])
	defer cf.giveBack(c)
	const batch = 4096
	for lo := int64(0); lo < cf.numRows(); lo += batch {
		if err := cf.read(c, lo, min(lo+batch, cf.numRows()), cols); err != nil {
			return err
		}
		if err := fn(lo, c.data); err != nil {
			return err
		}
	}
	return nil
}

func (cf *columnFile) read(c *cursor, lo, hi int64, cols []int) error {
	for _, k := range cols {
		d := &c.data[k]
		d.reset()
		if cf.leaf[k] < 0 {
			for range hi - lo {
				d.ints, d.num, d.valid = append(d.ints, 0), append(d.num, 0), append(d.valid, false)
			}
			continue
		}
		if err := cf.readColumn(&c.cols[k], k, lo, hi, d); err != nil {
			return fmt.Errorf("column %s, rows %d to %d: %w", cf.specs[k].name, lo, hi, err)
		}
	}
	return nil
}

func (cf *columnFile) readColumn(r *colReader, k int, lo, hi int64, d *colData) error {
	if r.next != lo || r.pages == nil {
		if err := cf.seek(r, k, lo); err != nil {
			return err
		}
	}
	for r.next < hi {
		if r.next == cf.groupStart[r.group+1] {
			if err := cf.openGroup(r, k, r.group+1); err != nil {
				return err
			}
		}
		if r.values == nil && r.page == nil {
			page, err := r.pages.ReadPage()
			if err != nil {
				r.next = -1
				return fmt.Errorf("read page: %w", err)
			}
			if r.page = cf.pageArrays(r, k, page); r.page == nil {
				r.values = page.Values()
			}
		}
		want := min(hi, cf.groupStart[r.group+1]) - r.next
		if r.page != nil {
			r.next += int64(r.page.take(d, int(want)))
			if r.page.done() {
				r.drop()
			}
			continue
		}
		n, err := r.values.ReadValues(r.buf[:min(int64(len(r.buf)), want)])
		if cerr := cf.convert(k, r.buf[:n], d); cerr != nil {
			r.next = -1
			return cerr
		}
		r.next += int64(n)
		switch {
		case errors.Is(err, io.EOF):
			r.drop()
		case err != nil:
			r.next = -1
			return err
		case n == 0:
			r.next = -1
			return errors.New("page returned no values")
		}
	}
	return nil
}

// seek positions r at row.
func (cf *columnFile) seek(r *colReader, k int, row int64) error {
	g, _ := slices.BinarySearch(cf.groupStart, row+1)
	g-- // the group whose start is the last one <= row
	if g != r.group || r.pages == nil {
		if err := cf.openGroup(r, k, g); err != nil {
			return err
		}
	}
	if err := r.pages.SeekToRow(row - cf.groupStart[g]); err != nil {
		r.next = -1
		return fmt.Errorf("seek to row %d: %w", row, err)
	}
	r.drop()
	r.next = row
	return nil
}

func (cf *columnFile) openGroup(r *colReader, k, g int) error {
	r.drop()
	if r.pages != nil {
		r.pages.Close()
		r.pages = nil
	}
	if g >= len(cf.groupStart)-1 {
		return io.ErrUnexpectedEOF
	}
	r.pages = cf.pf.RowGroups()[g].ColumnChunks()[cf.leaf[k]].Pages()
	r.group, r.next = g, cf.groupStart[g]
	if r.buf == nil {
		r.buf = make([]parquet.Value, 1024)
	}
	return nil
}

func (cf *columnFile) convert(k int, vals []parquet.Value, d *colData) error {
	s, wide := cf.specs[k], cf.wide[k]
	for _, v := range vals {
		if v.IsNull() {
			if !s.optional {
				return fmt.Errorf("null value in column %s", s.name)
			}
			d.ints, d.num, d.valid = append(d.ints, 0), append(d.num, 0), append(d.valid, false)
			continue
		}
		switch s.kind {
		case textCol:
			// Families, items and users repeat row after row: share the
			// string rather than allocate it again.
			if b, n := v.ByteArray(), len(d.text); n > 0 && d.text[n-1] == string(b) {
				d.text = append(d.text, d.text[n-1])
			} else {
				d.text = append(d.text, string(b))
			}
		case floatCol:
			f := v.Double()
			if wide {
				f = float64(v.Float())
			}
			d.num = append(d.num, f)
		case intCol:
			n := v.Int64()
			if wide {
				n = int64(v.Int32())
			}
			d.ints = append(d.ints, n)
		}
		if s.optional {
			d.valid = append(d.valid, true)
		}
	}
	return nil
}

// borrow returns a free cursor whose column col is at lo, else any free
// cursor, else a new one.
func (cf *columnFile) borrow(lo int64, col int) *cursor {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if len(cf.free) == 0 {
		c := &cursor{cols: make([]colReader, len(cf.specs)), data: make([]colData, len(cf.specs))}
		for i := range c.cols {
			c.cols[i].group, c.cols[i].next = -1, -1
		}
		return c
	}
	best := len(cf.free) - 1
	for i, c := range cf.free {
		if c.cols[col].next == lo {
			best = i
			break
		}
	}
	c := cf.free[best]
	cf.free = slices.Delete(cf.free, best, best+1)
	return c
}

func (cf *columnFile) giveBack(c *cursor) {
	cf.mu.Lock()
	cf.free = append(cf.free, c)
	cf.mu.Unlock()
}

func (cf *columnFile) fail(err error) {
	cf.mu.Lock()
	if cf.first == nil {
		cf.first = err
	}
	cf.mu.Unlock()
}

func (cf *columnFile) err() error {
	if cf == nil {
		return nil
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return cf.first
}

func (cf *columnFile) close() error {
	if cf == nil {
		return nil
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	var errs []error
	for _, c := range cf.free {
		for _, r := range c.cols {
			if r.pages != nil {
				errs = append(errs, r.pages.Close())
			}
		}
	}
	cf.free = nil
	return errors.Join(append(errs, cf.file.Close())...)
}
