package main

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/recopub/recopub/publish"
)

// The two hot answers are written by hand: encoding/json's reflection
// costs more than the rest of the handler. serve_test checks that the
// bytes equal json.Marshal's for random answers.

// appendSimilar appends {"item":..,"version":..,"items":[{"item":..,"score":..},..]}.
func appendSimilar(b []byte, item, version string, nb []publish.Scored) []byte {
	b = append(b, `{"item":`...)
	b = appendString(b, item)
	b = append(b, `,"version":`...)
	b = appendString(b, version)
	b = append(b, `,"items":[`...)
	for i, s := range nb {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"item":`...)
		b = appendString(b, s.Item)
		b = append(b, `,"score":`...)
		b = appendFloat(b, s.Score)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendRecommendations appends r as json.Marshal would.
func appendRecommendations(b []byte, r *publish.Recommendations) []byte {
	b = append(b, `{"user":`...)
	b = appendString(b, r.User)
	b = append(b, `,"version":`...)
	b = appendString(b, r.Version)
	b = append(b, `,"items":`...)
	if r.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, it := range r.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"item":`...)
			b = appendString(b, it.Item)
			b = append(b, `,"score":`...)
			b = appendFloat(b, it.Score)
			b = append(b, `,"source":`...)
			b = appendString(b, it.Source.String())
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"history":`...)
	if r.History == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, h := range r.History {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, h)
		}
		b = append(b, ']')
	}
	if r.HistoryFrom != "" {
		b = append(b, `,"history_from":`...)
		b = appendString(b, r.HistoryFrom)
	}
	if r.Segment != "" {
		b = append(b, `,"segment":`...)
		b = appendString(b, r.Segment)
	}
	return append(b, '}')
}

// appendFloat formats f as encoding/json does; infinities, which JSON
// cannot hold and a sorted set can, become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML characters included, invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
