package features

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// fastBatch is the number of rows decoded per column before they are
// filtered and appended.
const fastBatch = 32 << 10

// fastCursors are a worker's page-level column readers, kept with their
// buffers from row group to row group.
type fastCursors struct {
	user, item, event             cursor[uint32, *idConv]
	userConv, itemConv, eventConv idConv
	anon                          cursor[uint32, *lazyIDConv]
	anonConv                      lazyIDConv
	time                          cursor[int64, timeConv]
	msg                           cursor[uint64, hashConv]
	weight, qty                   cursor[float32, weightConv]
}

// openCursor points cur at column c of row group rg of the worker's file.
func openCursor[T any, C converter[T]](cur *cursor[T, C], w *worker, rg *metadata.RowGroupMetaData, c *column, conv C) error {
	cc, err := rg.ColumnChunk(c.leaf)
	if err != nil {
		return fmt.Errorf("column %q: %w", c.name, err)
	}
	return cur.reset(w.file, cc, c.name, int(rg.NumRows()), c.desc.PhysicalType(), c.desc.MaxDefinitionLevel(), conv)
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

// readFast reads row group rg of a file whose projected columns are all
// flat, page by page.
func (w *worker) readFast(ctx context.Context, p *filePlan, rg int) error {
	rgr := w.rdr.MetaData().RowGroup(rg)
	rows := int(rgr.NumRows())
	cs, f := &p.cols, &w.fast
	f.userConv.d, f.anonConv.d, f.itemConv.d, f.eventConv.d = &w.users, &w.users, &w.items, &w.events
	ids := []struct {
		cur  *cursor[uint32, *idConv]
		conv *idConv
		col  *column
	}{{&f.user, &f.userConv, &cs.user}, {&f.item, &f.itemConv, &cs.item}, {&f.event, &f.eventConv, &cs.event}}
	for _, x := range ids {
		if x.col.present() {
			if err := openCursor(x.cur, w, rgr, x.col, x.conv); err != nil {
				return err
			}
		}
	}
	if cs.anon.present() {
		if err := openCursor(&f.anon, w, rgr, &cs.anon, &f.anonConv); err != nil {
			return err
		}
	}
	if err := openCursor(&f.time, w, rgr, &cs.time, timeConvFor(&cs.time)); err != nil {
		return err
	}
	if cs.msg.present() {
		if err := openCursor(&f.msg, w, rgr, &cs.msg, hashConv{}); err != nil {
			return err
		}
	}
	for _, x := range []struct {
		cur *cursor[float32, weightConv]
		col *column
	}{{&f.weight, &cs.weight}, {&f.qty, &cs.qty}} {
		if x.col.present() {
			if err := openCursor(x.cur, w, rgr, x.col, weightConv{}); err != nil {
				return err
			}
		}
	}
	b := &w.rows
	for off := 0; off < rows; off += fastBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.fastBatch(p, b, min(fastBatch, rows-off)); err != nil {
			return err
		}
		if b.aid != nil {
			f.anonConv.prepare(b)
		}
		w.appendRows(b)
	}
	return nil
}

// fastBatch decodes the next m rows of every projected column into b.
func (w *worker) fastBatch(p *filePlan, b *batch, m int) error {
	cs, f := &p.cols, &w.fast
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
