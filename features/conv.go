package features

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/zeebo/xxh3"
)

// Converters from decoded Parquet values (see converter in pagepath.go).

// idConv maps values to dense ids of a dict. Integer ids become their
// decimal text, so 17850 and "17850" are the same user.
type idConv struct {
	d   *dict
	buf [24]byte
}

func (c *idConv) fromBytes(b []byte) uint32 { return c.d.id(bstr(b)) }
func (c *idConv) fromInt(v int64) uint32 {
	return c.d.id(bstr(strconv.AppendInt(c.buf[:0], v, 10)))
}
func (c *idConv) fromFloat(v float64) uint32 { return c.d.id(JSNumber(v)) }
func (c *idConv) null() uint32               { return idNull }
func (c *idConv) ids(keys []string, out []uint32) {
	c.d.ids(keys, out)
}

// lazyIDConv maps the anonymous id column: its dictionary entries get
// codes, and only the entries a row falls back to (its user id missing)
// are looked up. Most rows have a user id, so most anonymous ids are never
// needed; mapping them all was a third of the dictionary lookups.
type lazyIDConv struct {
	idConv
	data []byte   // the dictionary's values, copied
	offs []uint32 // entry i is data[offs[i]:offs[i+1]]
	ids  []uint32 // entry -> id+1; 0 until looked up

	keys     []string // prepare's scratch
	idx, out []uint32
}

// Lazy codes are lazyBase+entry, below the sentinels.
const lazyBase = 1 << 31

func isLazy(id uint32) bool { return id >= lazyBase && id < idMax }

// setDict takes a dictionary's byte array values (value i is
// data[offsets[i]:offsets[i+1]]) and gives its entries codes.
func (c *lazyIDConv) setDict(data []byte, offsets []uint32, out []uint32) {
	c.data = append(c.data[:0], data...)
	c.offs = append(c.offs[:0], offsets...)
	for i := range out {
		out[i] = lazyBase + uint32(i)
	}
	c.ids = resize(c.ids, len(out))
	clear(c.ids)
}

// prepare looks up, in one batch, the entries rows of b fall back to, so
// that resolve finds them mapped (see dict.ids for why a batch).
func (c *lazyIDConv) prepare(b *batch) {
	keys, idx := c.keys[:0], c.idx[:0]
	for i, u := range b.uid {
		if u != idNull {
			continue
		}
		if a := b.aid[i]; isLazy(a) && c.ids[a-lazyBase] == 0 {
			e := a - lazyBase
			c.ids[e] = pending
			keys = append(keys, bstr(c.data[c.offs[e]:c.offs[e+1]]))
			idx = append(idx, e)
		}
	}
	c.out = resize(c.out, len(keys))
	c.d.ids(keys, c.out)
	for k, e := range idx {
		c.ids[e] = c.out[k] + 1
	}
	clear(keys)
	c.keys, c.idx = keys[:0], idx[:0]
}

// pending marks an entry being looked up by prepare.
const pending = ^uint32(0)

// resolve returns the id of a code.
func (c *lazyIDConv) resolve(code uint32) uint32 {
	i := code - lazyBase
	if v := c.ids[i]; v != 0 && v != pending {
		return v - 1
	}
	id := c.d.id(bstr(c.data[c.offs[i]:c.offs[i+1]]))
	c.ids[i] = id + 1
	return id
}

// timeConv converts times to Unix seconds, badTime when unusable.
type timeConv struct {
	perSecond int64 // integer units per second; 0 for INT32 days (DATE)
}

func (c timeConv) fromBytes(b []byte) int64 { return parseTime(bstr(b)) }
func (c timeConv) fromInt(v int64) int64 {
	if c.perSecond == 0 {
		return v * 86400
	}
	return floorDiv(v, c.perSecond)
}
func (c timeConv) fromFloat(float64) int64 { return badTime }
func (c timeConv) null() int64             { return badTime }

// hashConv hashes message ids; 0 means none.
type hashConv struct{}

func (hashConv) fromBytes(b []byte) uint64 { return nonZero(xxh3.Hash(b)) }
func (hashConv) fromInt(v int64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	return nonZero(xxh3.Hash(b[:]))
}
func (c hashConv) fromFloat(v float64) uint64 { return c.fromInt(int64(math.Float64bits(v))) }
func (hashConv) null() uint64                 { return 0 }

func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// weightConv reads numeric weights; a null weight is 1 and anything that
// is not a number is NaN (dropped as bad_weight).
type weightConv struct{}

func (weightConv) fromBytes([]byte) float32    { return float32(math.NaN()) }
func (weightConv) fromInt(v int64) float32     { return float32(v) }
func (weightConv) fromFloat(v float64) float32 { return float32(v) }
func (weightConv) null() float32               { return 1 }

// badTime marks a null or unparseable time.
const badTime = math.MinInt64

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// isoLayouts are the ISO-8601 shapes accepted in string time columns,
// tried in order: T or a space between date and time, and a zone of Z,
// ±hh:mm, ±hhmm or ±hh (DuckDB prints TIMESTAMPTZ as
// "2025-02-09 06:39:06.299+00") or none. Times without a zone are taken
// as UTC. time.Parse accepts a fraction of any length after the seconds.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02",
}

// parseTime returns the Unix seconds of an ISO-8601 time, or badTime.
// The common shapes are parsed by hand; the rest by time.Parse.
func parseTime(s string) int64 {
	if t, ok := parseISOFast(s); ok {
		return t
	}
	return parseTimeSlow(s)
}

func parseTimeSlow(s string) int64 {
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Unix()
		}
	}
	return badTime
}

// parseISOFast parses YYYY-MM-DD, optionally followed by T or a space,
// hh:mm:ss, a fraction of any number of digits and a zone (see zoneOffset).
// ok is false for anything else, including values time.Parse would reject.
func parseISOFast(s string) (int64, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, false
	}
	secs := daysFromCivil(y, mo, d) * 86400
	if len(s) == 10 {
		return secs, true
	}
	if len(s) < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	hh, ok1 := digits(s[11:13])
	mm, ok2 := digits(s[14:16])
	ss, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	secs += int64(hh*3600 + mm*60 + ss)
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return 0, false
		}
		rest = rest[n:]
	}
	off, ok := zoneOffset(rest)
	if !ok {
		return 0, false
	}
	return secs - off, true
}

// zoneOffset reads an ISO-8601 zone designator: none or Z (UTC), ±hh,
// ±hhmm or ±hh:mm. It returns the offset east of UTC in seconds.
func zoneOffset(z string) (int64, bool) {
	if z == "" || z == "Z" {
		return 0, true
	}
	if len(z) < 3 || (z[0] != '+' && z[0] != '-') {
		return 0, false
	}
	var oh, om int
	var ok1, ok2 bool
	switch len(z) {
	case 3: // ±hh
		oh, ok1 = digits(z[1:3])
		ok2 = true
	case 5: // ±hhmm
		oh, ok1 = digits(z[1:3])
		om, ok2 = digits(z[3:5])
	case 6: // ±hh:mm
		if z[3] != ':' {
			return 0, false
		}
		oh, ok1 = digits(z[1:3])
		om, ok2 = digits(z[4:6])
	default:
		return 0, false
	}
	if !ok1 || !ok2 || oh > 23 || om > 59 {
		return 0, false
	}
	off := int64(oh*3600 + om*60)
	if z[0] == '-' {
		off = -off
	}
	return off, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}
