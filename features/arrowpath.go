package features

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The Arrow path reads a row group as Arrow record batches of the
// projected leaves. It handles every shape: nested structs, a list of
// structs exploded into one event per element, JSON items, INT96 and
// DECIMAL columns, any encoding arrow-go reads.

// batchRows is the number of rows per Arrow record batch.
const batchRows = 64 * 1024

func (w *worker) arrowReader(p *filePlan) (*pqarrow.FileReader, error) {
	if w.fr != nil {
		return w.fr, nil
	}
	props := pqarrow.ArrowReadProperties{BatchSize: batchRows}
	for _, c := range p.cols.dictLeaves() {
		props.SetReadDict(c, true)
	}
	fr, err := pqarrow.NewFileReader(w.rdr, props, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	w.fr = fr
	return fr, nil
}

func (w *worker) readArrow(ctx context.Context, p *filePlan, rg int) error {
	fr, err := w.arrowReader(p)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, p.cols.leaves(), []int{rg})
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.decodeRecord(p, rr.RecordBatch()); err != nil {
			return err
		}
	}
	return rr.Err()
}

// decodeRecord turns one record batch into events.
func (w *worker) decodeRecord(p *filePlan, rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	cs := &p.cols
	r := &w.rows
	r.n, r.first = n, nil
	var err error
	if r.uid, err = rowIDs(rec, &cs.user, &w.users, r.uid); err != nil {
		return err
	}
	r.aid = nil
	if cs.anon.present() {
		if w.aidBuf, err = rowIDs(rec, &cs.anon, &w.users, w.aidBuf); err != nil {
			return err
		}
		r.aid = w.aidBuf
	}
	r.eid = nil
	if cs.event.present() {
		if w.eidBuf, err = rowIDs(rec, &cs.event, &w.events, w.eidBuf); err != nil {
			return err
		}
		r.eid = w.eidBuf
	}
	leaf, anc, _, err := walk(rec, &cs.time)
	if err != nil {
		return err
	}
	if r.ts, err = timeSeconds(leaf, r.ts); err != nil {
		return fmt.Errorf("column %q: %w", cs.time.name, err)
	}
	applyNulls(anc, func(i int) { r.ts[i] = badTime })
	r.h = nil
	if cs.msg.present() {
		leaf, anc, _, err := walk(rec, &cs.msg)
		if err != nil {
			return err
		}
		w.hBuf = hashValues(leaf, w.hBuf)
		applyNulls(anc, func(i int) { w.hBuf[i] = 0 })
		r.h = w.hBuf
	}
	r.w = nil
	for _, c := range []*column{&cs.weight, &cs.qty} {
		if c.mode != modeFlat && c.mode != modeNested {
			continue
		}
		if err := w.rowWeights(rec, c, r); err != nil {
			return err
		}
	}
	switch cs.item.mode {
	case modeList:
		return w.explodeList(rec, p)
	case modeJSON:
		return w.explodeJSON(rec, p)
	}
	if r.iid, err = rowIDs(rec, &cs.item, &w.items, r.iid); err != nil {
		return err
	}
	w.appendRows(r)
	return nil
}

// rowWeights multiplies a row-level weight column into r.w.
func (w *worker) rowWeights(rec arrow.RecordBatch, c *column, r *batch) error {
	leaf, anc, _, err := walk(rec, c)
	if err != nil {
		return err
	}
	vals := weightValues(leaf, w.wTmp)
	w.wTmp = vals
	applyNulls(anc, func(i int) { vals[i] = 1 })
	if r.w == nil {
		w.wBuf = resize(w.wBuf, r.n)
		copy(w.wBuf, vals)
		r.w = w.wBuf
		return nil
	}
	for i := range r.w {
		r.w[i] *= vals[i]
	}
	return nil
}

// rowIDs maps a row-level id column.
func rowIDs(rec arrow.RecordBatch, c *column, d *dict, out []uint32) ([]uint32, error) {
	leaf, anc, _, err := walk(rec, c)
	if err != nil {
		return nil, err
	}
	out = d.mapIDs(leaf, out)
	applyNulls(anc, func(i int) { out[i] = idNull })
	return out, nil
}

// walk follows a column's steps from its top-level array down to the leaf,
// or to the first list: then list is that list array and leaf is nil.
// anc are the structs passed on the way, whose nulls null the leaf.
func walk(rec arrow.RecordBatch, c *column) (leaf arrow.Array, anc []arrow.Array, list array.ListLike, err error) {
	idx := rec.Schema().FieldIndices(c.top)
	if len(idx) == 0 {
		return nil, nil, nil, fmt.Errorf("record batch lacks column %q", c.top)
	}
	leaf, anc, _, list, err = descend(rec.Column(idx[0]), c.steps)
	if err != nil || list != nil {
		return nil, anc, list, err
	}
	return leaf, anc, nil, nil
}

// descend follows steps from a; it stops at a list step, returning the
// list and the steps after it.
func descend(a arrow.Array, steps []string) (arrow.Array, []arrow.Array, []string, array.ListLike, error) {
	var anc []arrow.Array
	for i, s := range steps {
		if s == "" {
			l, ok := a.(array.ListLike)
			if !ok {
				return nil, nil, nil, nil, fmt.Errorf("want a list, got %s", a.DataType())
			}
			return nil, anc, steps[i+1:], l, nil
		}
		st, ok := a.(*array.Struct)
		if !ok {
			return nil, nil, nil, nil, fmt.Errorf("want a struct with field %q, got %s", s, a.DataType())
		}
		fi, ok := st.DataType().(*arrow.StructType).FieldIdx(s)
		if !ok {
			return nil, nil, nil, nil, fmt.Errorf("struct lacks field %q", s)
		}
		if st.NullN() > 0 {
			anc = append(anc, st)
		}
		a = st.Field(fi)
	}
	return a, anc, nil, nil, nil
}

func applyNulls(anc []arrow.Array, set func(i int)) {
	for _, a := range anc {
		for i := range a.Len() {
			if a.IsNull(i) {
				set(i)
			}
		}
	}
}

// explodeList turns each row's list elements into events; a row with a
// null or empty list becomes one event without an item.
func (w *worker) explodeList(rec arrow.RecordBatch, p *filePlan) error {
	cs := &p.cols
	_, rowAnc, list, err := walk(rec, &cs.item)
	if err != nil {
		return err
	}
	if err := w.elementValues(list, &cs.item, func(leaf arrow.Array, anc []arrow.Array) {
		w.elemIDs = w.items.mapIDs(leaf, w.elemIDs)
		applyNulls(anc, func(i int) { w.elemIDs[i] = idNull })
	}); err != nil {
		return err
	}
	var qty []float32
	if cs.qty.mode == modeList {
		_, _, qlist, err := walk(rec, &cs.qty)
		if err != nil {
			return err
		}
		if err := w.elementValues(qlist, &cs.qty, func(leaf arrow.Array, anc []arrow.Array) {
			w.elemQty = weightValues(leaf, w.elemQty)
			applyNulls(anc, func(i int) { w.elemQty[i] = 1 })
		}); err != nil {
			return err
		}
		qty = w.elemQty
	}
	rowNull := func(i int) bool { return list.IsNull(i) }
	for _, a := range rowAnc {
		prev := rowNull
		rowNull = func(i int) bool { return a.IsNull(i) || prev(i) }
	}
	e := w.startElems()
	for i := range w.rows.n {
		start, end := list.ValueOffsets(i)
		if rowNull(i) || start >= end {
			e.add(&w.rows, i, idNull, 1)
			continue
		}
		for k := start; k < end; k++ {
			q := float32(1)
			if qty != nil {
				q = qty[k]
			}
			e.add(&w.rows, i, lookupIndex(w.elemIDs, k), q)
		}
	}
	w.appendRows(e.done())
	return nil
}

// elementValues walks from a list's elements to the column's leaf and
// hands it to fn.
func (w *worker) elementValues(list array.ListLike, c *column, fn func(leaf arrow.Array, anc []arrow.Array)) error {
	steps := c.steps
	for i, s := range steps {
		if s == "" {
			steps = steps[i+1:]
			break
		}
	}
	leaf, anc, _, l2, err := descend(list.ListValues(), steps)
	if err != nil {
		return fmt.Errorf("column %q: %w", c.name, err)
	}
	if l2 != nil {
		return fmt.Errorf("column %q: nested lists", c.name)
	}
	fn(leaf, anc)
	return nil
}

// explodeJSON parses each row's JSON items text into events.
func (w *worker) explodeJSON(rec arrow.RecordBatch, p *filePlan) error {
	cs := &p.cols
	leaf, anc, _, err := walk(rec, &cs.item)
	if err != nil {
		return err
	}
	var qtyPath []string
	if cs.qty.mode == modeJSON {
		qtyPath = cs.qty.json
	}
	text := stringValues(leaf)
	e := w.startElems()
	for i := range w.rows.n {
		if leaf.IsNull(i) || ancNull(anc, i) {
			e.add(&w.rows, i, idNull, 1)
			continue
		}
		var err error
		w.jsonItems, err = parseItems(text(i), cs.item.json, qtyPath, w.jsonItems[:0])
		if err != nil {
			e.add(&w.rows, i, idBadItems, 1)
			continue
		}
		if len(w.jsonItems) == 0 {
			e.add(&w.rows, i, idNull, 1)
			continue
		}
		for _, it := range w.jsonItems {
			id := idNull
			if it.hasID {
				id = w.items.id(it.id)
			}
			e.add(&w.rows, i, id, it.weight())
		}
	}
	w.appendRows(e.done())
	return nil
}

func ancNull(anc []arrow.Array, i int) bool {
	for _, a := range anc {
		if a.IsNull(i) {
			return true
		}
	}
	return false
}

// sbytes views s as bytes without copying; they must not be written.
func sbytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// stringValues returns a row -> text accessor of a string column. The
// bytes alias the column's buffer: read them, do not keep them.
func stringValues(a arrow.Array) func(int) []byte {
	switch s := a.(type) {
	case *array.String:
		return func(i int) []byte { return sbytes(s.Value(i)) }
	case *array.LargeString:
		return func(i int) []byte { return sbytes(s.Value(i)) }
	case *array.Binary:
		return s.Value
	case *array.LargeBinary:
		return s.Value
	case *array.Dictionary:
		inner := stringValues(s.Dictionary())
		return func(i int) []byte { return inner(s.GetValueIndex(i)) }
	}
	return func(int) []byte { return nil }
}

// elemBuilder builds the element-level batch of an exploded record in
// the worker's w.elems, one element at a time.
type elemBuilder struct {
	w    *worker
	b    *batch
	last int // row of the previous element
}

func (w *worker) startElems() *elemBuilder {
	b := &w.elems
	r := &w.rows
	b.n = 0
	b.uid, b.iid, b.ts, b.first = b.uid[:0], b.iid[:0], b.ts[:0], b.first[:0]
	b.aid, b.eid, b.h, b.w = nil, nil, nil, nil
	if r.aid != nil {
		b.aid = empty(w.elemAid)
	}
	if r.eid != nil {
		b.eid = empty(w.elemEid)
	}
	if r.h != nil {
		b.h = empty(w.elemH)
	}
	if r.w != nil || w.opt.QuantityCol != "" {
		b.w = empty(w.elemW)
	}
	w.eb = elemBuilder{w: w, b: b, last: -1}
	return &w.eb
}

// empty returns s emptied, never nil: a nil column means "absent".
func empty[T any](s []T) []T {
	if s == nil {
		return make([]T, 0, 256)
	}
	return s[:0]
}

// add appends an element of row i with item id and per-element weight q.
func (e *elemBuilder) add(r *batch, i int, id uint32, q float32) {
	b := e.b
	b.first = append(b.first, i != e.last)
	e.last = i
	b.uid = append(b.uid, r.uid[i])
	b.iid = append(b.iid, id)
	b.ts = append(b.ts, r.ts[i])
	if b.aid != nil {
		b.aid = append(b.aid, r.aid[i])
	}
	if b.eid != nil {
		b.eid = append(b.eid, r.eid[i])
	}
	if b.h != nil {
		b.h = append(b.h, r.h[i])
	}
	if b.w != nil {
		if r.w != nil {
			q *= r.w[i]
		}
		b.w = append(b.w, q)
	}
	b.n++
}

// done returns the batch, keeping grown buffers for the next record.
func (e *elemBuilder) done() *batch {
	w, b := e.w, e.b
	if b.aid != nil {
		w.elemAid = b.aid
	}
	if b.eid != nil {
		w.elemEid = b.eid
	}
	if b.h != nil {
		w.elemH = b.h
	}
	if b.w != nil {
		w.elemW = b.w
	}
	return b
}

// timeSeconds converts a time column to Unix seconds, badTime for nulls
// and unparseable values.
func timeSeconds(col arrow.Array, out []int64) ([]int64, error) {
	n := col.Len()
	out = resize(out, n)
	switch a := col.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		perSecond := int64(time.Second) / int64(unit.Multiplier())
		for i, v := range a.TimestampValues() {
			out[i] = floorDiv(int64(v), perSecond)
		}
	case *array.Int64:
		for i, v := range a.Int64Values() {
			out[i] = floorDiv(v, 1000)
		}
	case *array.Date32:
		for i, v := range a.Date32Values() {
			out[i] = int64(v) * 86400
		}
	case *array.Date64:
		for i, v := range a.Date64Values() {
			out[i] = floorDiv(int64(v), 1000)
		}
	case *array.String, *array.LargeString, *array.Binary, *array.LargeBinary:
		text := stringValues(a)
		for i := range n {
			out[i] = parseTime(bstr(text(i)))
		}
	case *array.Dictionary:
		vals, err := timeSeconds(a.Dictionary(), nil)
		if err != nil {
			return nil, err
		}
		for i := range n {
			if a.IsValid(i) {
				out[i] = vals[a.GetValueIndex(i)]
			}
		}
	default:
		return nil, fmt.Errorf("type %s; want %s", col.DataType(), wantTime)
	}
	if col.NullN() > 0 {
		for i := range n {
			if col.IsNull(i) {
				out[i] = badTime
			}
		}
	}
	return out, nil
}

// hashValues hashes message ids; 0 for nulls.
func hashValues(col arrow.Array, out []uint64) []uint64 {
	n := col.Len()
	out = resize(out, n)
	var h hashConv
	switch a := col.(type) {
	case *array.String, *array.LargeString, *array.Binary, *array.LargeBinary:
		text := stringValues(a)
		for i := range n {
			out[i] = h.fromBytes(text(i))
		}
	case *array.Dictionary:
		vals := hashValues(a.Dictionary(), nil)
		for i := range n {
			if a.IsValid(i) {
				out[i] = vals[a.GetValueIndex(i)]
			}
		}
	default:
		for i := range n {
			if col.IsValid(i) {
				out[i] = h.fromBytes([]byte(numberText(col, i)))
			}
		}
	}
	if col.NullN() > 0 {
		for i := range n {
			if col.IsNull(i) {
				out[i] = 0
			}
		}
	}
	return out
}

// weightValues reads a numeric column as float32; nulls are 1.
func weightValues(col arrow.Array, out []float32) []float32 {
	n := col.Len()
	out = resize(out, n)
	switch a := col.(type) {
	case *array.Float64:
		for i, v := range a.Float64Values() {
			out[i] = float32(v)
		}
	case *array.Float32:
		copy(out, a.Float32Values())
	case *array.Int64:
		for i, v := range a.Int64Values() {
			out[i] = float32(v)
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			out[i] = float32(v)
		}
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		for i := range n {
			out[i] = float32(a.Value(i).ToFloat64(scale))
		}
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		for i := range n {
			out[i] = float32(a.Value(i).ToFloat64(scale))
		}
	default:
		for i := range n {
			out[i] = float32(math.NaN())
			if col.IsValid(i) {
				if f, err := strconv.ParseFloat(numberText(col, i), 64); err == nil {
					out[i] = float32(f)
				}
			}
		}
	}
	if col.NullN() > 0 {
		for i := range n {
			if col.IsNull(i) {
				out[i] = 1
			}
		}
	}
	return out
}
