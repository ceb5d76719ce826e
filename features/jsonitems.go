package features

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// RudderStack's warehouse destinations store an event's "products" array
// as JSON text. parseJSONItems reads it without building a generic tree:
// one pass that validates the whole text (accepting what encoding/json
// accepts) and picks out the item id and quantity of each element.
//
// It is hand-written because encoding/json costs the whole load more than
// twice as much: on realistic Order Completed arrays (BenchmarkJSONItems,
// BenchmarkLoadJSONOrders in jsonitems_bench_test.go, quiet machine, load
// 0.5-0.9) encoding/json with RawMessage elements parsed 7.2x fewer arrays
// per second and loaded a 300,000-order table 4.9x slower (161k against
// 782k events/s), and even json.Unmarshal into a struct of just the two
// fields was 2.6x slower per array; parsing is most of the
// time of such a load. FuzzJSONItems checks it against encoding/json.

// jsonItem is one element of a JSON items array.
type jsonItem struct {
	id     string // item id text: a string as is, a number as written
	hasID  bool
	qty    float64
	hasQty bool // a number, or a string holding one
	badQty bool // present but neither
}

// weight is the element's quantity as a weight: 1 when absent, NaN
// (dropped as bad_weight) when not a number.
func (it jsonItem) weight() float32 {
	switch {
	case it.badQty:
		return float32(nan)
	case it.hasQty:
		return float32(it.qty)
	}
	return 1
}

var nan = func() float64 { var z float64; return z / z }()

var errJSON = errors.New("invalid JSON")

// parseItems is the JSON items parser Load uses; BenchmarkLoadJSONOrders
// swaps in the encoding/json candidate to weigh the two on the whole load.
var parseItems = parseJSONItems

// maxJSONDepth matches encoding/json's nesting limit.
const maxJSONDepth = 10000

// parseJSONItems parses a JSON array of objects, or a single object, and
// appends one jsonItem per element with the values at itemPath and
// qtyPath (nil for none). null, or an empty array, gives no elements.
func parseJSONItems(data []byte, itemPath, qtyPath []string, out []jsonItem) ([]jsonItem, error) {
	p := jsonParser{s: data}
	p.ws()
	switch p.peek() {
	case '[':
		p.i++
		p.depth++
		p.ws()
		if p.peek() == ']' {
			p.i++
			break
		}
		for {
			it, err := p.element(itemPath, qtyPath)
			if err != nil {
				return out, err
			}
			out = append(out, it)
			p.ws()
			c := p.peek()
			p.i++
			if c == ']' {
				break
			}
			if c != ',' {
				return out, errJSON
			}
		}
	case 'n':
		if err := p.literal("null"); err != nil {
			return out, err
		}
	case '{':
		it, err := p.element(itemPath, qtyPath)
		if err != nil {
			return out, err
		}
		out = append(out, it)
	default:
		return out, errJSON
	}
	p.ws()
	if p.i != len(p.s) {
		return out, errJSON
	}
	return out, nil
}

type jsonParser struct {
	s     []byte
	i     int
	depth int
	buf   []byte // unescaped string scratch
	stack []byte
}

func (p *jsonParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// span is a value's kind and bytes.
type span struct {
	kind  byte // '"' string, '0' number, 'l' literal, '{' object, '[' array; 0 absent
	start int
	end   int
	esc   bool // string with escapes
}

// element reads one array element: the fields at the two paths of an
// object, nothing for any other value.
func (p *jsonParser) element(itemPath, qtyPath []string) (jsonItem, error) {
	var it jsonItem
	p.ws()
	if p.peek() != '{' {
		_, err := p.value()
		return it, err
	}
	var found [2]span
	paths := [2][]string{itemPath, qtyPath}
	if err := p.object(paths, &found); err != nil {
		return it, err
	}
	if f := found[0]; f.kind == '"' || f.kind == '0' {
		it.id, it.hasID = p.text(f), true
	}
	switch f := found[1]; f.kind {
	case 0:
	case '0':
		it.qty, _ = strconv.ParseFloat(string(p.s[f.start:f.end]), 64)
		it.hasQty = true
	case '"':
		q, err := strconv.ParseFloat(p.text(f), 64)
		it.qty, it.hasQty, it.badQty = q, err == nil, err != nil
	case 'l':
		if string(p.s[f.start:f.end]) != "null" {
			it.badQty = true
		}
	default:
		it.badQty = true
	}
	return it, nil
}

// object reads an object at p.i, recording in found[k] the value at
// paths[k] (a later duplicate key wins, as in encoding/json).
func (p *jsonParser) object(paths [2][]string, found *[2]span) error {
	p.i++ // '{'
	p.depth++
	if p.depth > maxJSONDepth {
		return errJSON
	}
	p.ws()
	if p.peek() == '}' {
		p.i++
		p.depth--
		return nil
	}
	for {
		p.ws()
		if p.peek() != '"' {
			return errJSON
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if p.peek() != ':' {
			return errJSON
		}
		p.i++
		p.ws()
		var sub [2][]string
		var leafHit [2]bool
		descend := false
		for k, path := range paths {
			if len(path) == 0 || p.text(key) != path[0] {
				continue
			}
			found[k] = span{}
			if len(path) == 1 {
				leafHit[k] = true
			} else {
				sub[k], descend = path[1:], true
			}
		}
		switch {
		case descend && p.peek() == '{':
			var inner [2]span
			if err := p.object(sub, &inner); err != nil {
				return err
			}
			for k := range sub {
				if sub[k] != nil {
					found[k] = inner[k]
				}
			}
		default:
			v, err := p.value()
			if err != nil {
				return err
			}
			for k := range leafHit {
				if leafHit[k] {
					found[k] = v
				}
			}
		}
		p.ws()
		c := p.peek()
		p.i++
		if c == '}' {
			p.depth--
			return nil
		}
		if c != ',' {
			return errJSON
		}
	}
}

// value skips any JSON value, returning its span. Nested arrays and
// objects are skipped with an explicit stack, not recursion.
func (p *jsonParser) value() (span, error) {
	start := p.i
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		end, ok := scanNumber(p.s, start)
		p.i = end
		if !ok {
			return span{}, errJSON
		}
		return span{kind: '0', start: start, end: end}, nil
	case c == 't':
		return span{kind: 'l', start: start, end: start + 4}, p.literal("true")
	case c == 'f':
		return span{kind: 'l', start: start, end: start + 5}, p.literal("false")
	case c == 'n':
		return span{kind: 'l', start: start, end: start + 4}, p.literal("null")
	case c == '[' || c == '{':
		err := p.skipComposite()
		return span{kind: c, start: start, end: p.i}, err
	}
	return span{}, errJSON
}

// skipComposite skips an array or object.
func (p *jsonParser) skipComposite() error {
	const (
		valueOrClose = iota // after '['
		keyOrClose          // after '{'
		value               // after ',' in an array or ':' in an object
		key                 // after ',' in an object
		commaOrClose        // after a value
	)
	stack := p.stack[:0]
	defer func() { p.stack = stack[:0] }()
	open := func(c byte) (int, error) {
		p.i++
		if p.depth+len(stack)+1 > maxJSONDepth {
			return 0, errJSON
		}
		if c == '[' {
			stack = append(stack, ']')
			return valueOrClose, nil
		}
		stack = append(stack, '}')
		return keyOrClose, nil
	}
	st, err := open(p.peek())
	if err != nil {
		return err
	}
	for len(stack) > 0 {
		p.ws()
		c, top := p.peek(), stack[len(stack)-1]
		switch st {
		case valueOrClose, keyOrClose:
			if c == top {
				p.i++
				stack, st = stack[:len(stack)-1], commaOrClose
			} else if st == valueOrClose {
				st = value
			} else {
				st = key
			}
		case key:
			if c != '"' {
				return errJSON
			}
			if _, err := p.str(); err != nil {
				return err
			}
			p.ws()
			if p.peek() != ':' {
				return errJSON
			}
			p.i++
			st = value
		case value:
			if c == '[' || c == '{' {
				if st, err = open(c); err != nil {
					return err
				}
				continue
			}
			if _, err := p.value(); err != nil {
				return err
			}
			st = commaOrClose
		case commaOrClose:
			p.i++
			switch {
			case c == ',' && top == ']':
				st = value
			case c == ',':
				st = key
			case c == top:
				stack = stack[:len(stack)-1]
			default:
				return errJSON
			}
		}
	}
	return nil
}

func (p *jsonParser) literal(lit string) error {
	if len(p.s)-p.i < len(lit) || string(p.s[p.i:p.i+len(lit)]) != lit {
		return errJSON
	}
	p.i += len(lit)
	return nil
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? from
// s[i:] and returns its end.
func scanNumber(s []byte, i int) (int, bool) {
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}

// str scans a string at p.i.
func (p *jsonParser) str() (span, error) {
	s := p.s
	i := p.i + 1
	sp := span{kind: '"', start: i}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			sp.end = i
			p.i = i + 1
			return sp, nil
		case c == '\\':
			sp.esc = true
			if i+1 >= len(s) {
				return sp, errJSON
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex4(s[i+2:i+6]) {
					return sp, errJSON
				}
				i += 6
			default:
				return sp, errJSON
			}
		case c < 0x20:
			return sp, errJSON
		default:
			i++
		}
	}
	return sp, errJSON
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// text returns a string or number span as Go text: strings unescaped,
// integers as written, other numbers as JavaScript prints them.
func (p *jsonParser) text(sp span) string {
	raw := p.s[sp.start:sp.end]
	switch {
	case sp.kind == '0':
		for _, c := range raw {
			if c == '.' || c == 'e' || c == 'E' {
				f, _ := strconv.ParseFloat(string(raw), 64)
				return JSNumber(f)
			}
		}
		return string(raw)
	case !sp.esc:
		return string(raw)
	}
	b := p.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hexRune(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hexRune(raw[i+2 : i+6])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	p.buf = b
	return string(b)
}

func hexRune(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
