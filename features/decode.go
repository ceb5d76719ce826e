package features

import (
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// batchScratch holds per-batch buffers reused across batches.
type batchScratch struct {
	uid, aid, iid, eid []uint32
	ts                 []int64
}

const badTime = math.MinInt64

// decode appends the usable rows of one record batch to the worker's
// slices and counts the rest by reason.
func (w *worker) decode(p *filePlan, rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	s := &w.scratch
	get := func(c column) arrow.Array {
		if !c.present() {
			return nil
		}
		idx := rec.Schema().FieldIndices(c.name)
		if len(idx) == 0 {
			return nil
		}
		return rec.Column(idx[0])
	}
	userCol, anonCol, itemCol := get(p.cols.user), get(p.cols.anon), get(p.cols.item)
	eventCol, timeCol := get(p.cols.event), get(p.cols.time)
	if userCol == nil || itemCol == nil || timeCol == nil {
		return fmt.Errorf("record batch lacks a projected column")
	}
	s.uid = w.users.mapIDs(userCol, s.uid)
	if anonCol != nil {
		s.aid = w.users.mapIDs(anonCol, s.aid)
	}
	s.iid = w.items.mapIDs(itemCol, s.iid)
	if eventCol != nil {
		s.eid = w.events.mapIDs(eventCol, s.eid)
	} else {
		s.eid = resize(s.eid, n)
		clear(s.eid)
		if len(w.events.strs) == 0 {
			w.events.id(NoEventName)
		}
	}
	var err error
	if s.ts, err = timeSeconds(timeCol, s.ts); err != nil {
		return fmt.Errorf("column %q: %w", p.cols.time.name, err)
	}
	w.appendRows(n, anonCol != nil)
	return nil
}

// NoEventName names the events of a table that has no event column.
const NoEventName = "Order Completed"

func (w *worker) appendRows(n int, hasAnon bool) {
	s := &w.scratch
	st := &w.stats
	st.Read += int64(n)
	now := w.opt.now()
	maxTime := now.Add(w.opt.maxFuture()).Unix()
	keepEvent := w.eventFilter()
	for i := range n {
		u := s.uid[i]
		if u == idNull && hasAnon {
			u = s.aid[i]
		}
		it, ev, t := s.iid[i], s.eid[i], s.ts[i]
		var reason string
		switch {
		case u == idNull:
			reason = DropNoUser
		case it == idNull:
			reason = DropNoItem
		case u == idTooLong || it == idTooLong:
			reason = DropIDTooLong
		case u == idBadUTF8 || it == idBadUTF8 || ev == idBadUTF8:
			reason = DropInvalidUTF8
		case ev >= idMax || !keepEvent(ev):
			reason = DropUnknownEvent
		case t == badTime || t < 0 || t > math.MaxUint32:
			reason = DropBadTime
		case t > maxTime:
			reason = DropFutureTime
		}
		if reason != "" {
			st.Dropped[reason]++
			continue
		}
		w.user = append(w.user, u)
		w.item = append(w.item, it)
		w.event = append(w.event, uint8(ev))
		w.tm = append(w.tm, uint32(t))
	}
	st.Kept = int64(len(w.user))
}

// eventFilter returns whether an event code is kept: all are when no
// weights are given, otherwise only the named ones.
func (w *worker) eventFilter() func(uint32) bool {
	if len(w.opt.EventWeights) == 0 {
		return func(ev uint32) bool { return ev < 256 }
	}
	return func(ev uint32) bool {
		if int(ev) >= len(w.events.strs) {
			return false
		}
		_, ok := w.opt.EventWeights[w.events.strs[ev]]
		return ok
	}
}

// timeSeconds converts a time column to Unix seconds, badTime for nulls
// and unparseable values.
func timeSeconds(col arrow.Array, out []int64) ([]int64, error) {
	n := col.Len()
	out = resize(out, n)
	switch a := col.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		div := int64(unit.Multiplier()) // units per second: 1, 1e3, 1e6, 1e9
		div = int64(time.Second) / div
		for i, v := range a.TimestampValues() {
			out[i] = floorDiv(int64(v), div)
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
	case *array.String:
		for i := range n {
			out[i] = parseTime(a.Value(i))
		}
	case *array.LargeString:
		for i := range n {
			out[i] = parseTime(a.Value(i))
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

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// isoLayouts are the ISO-8601 shapes accepted in string time columns,
// tried in order. Times without a zone are taken as UTC.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02",
}

func parseTime(s string) int64 {
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Unix()
		}
	}
	return badTime
}
