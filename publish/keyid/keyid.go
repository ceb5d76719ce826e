// Package keyid is the one definition of a valid item or user id, shared
// by ingest (package features), which drops rows whose ids break it, and by
// the read side (package publish), which refuses requests for them. Every
// id recopub publishes can therefore be read back through its own client
// and HTTP API.
//
// An id is 1 to MaxLen bytes of valid UTF-8 without control characters,
// without the Unicode bidirectional controls (which make an id display as
// another), and without the glob and hash-tag characters * ? [ ] { }.
// Colons and slashes are allowed: ids such as "sku:123" are common, and an
// id is always the last part of a key after a fixed namespace, version and
// family, so no id can name a key of another family, version or namespace.
//
// The package imports only the standard library so that both sides can
// depend on it without depending on each other.
package keyid

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest id in bytes.
const MaxLen = 512

// Reasons an id is refused, as Error.Reason.
const (
	Empty       = "empty"
	TooLong     = "too_long"
	InvalidUTF8 = "invalid_utf8"
	BadChar     = "bad_char"
)

// ErrInvalid is wrapped by every error Check returns.
var ErrInvalid = errors.New("invalid id")

// Error describes why an id was refused.
type Error struct {
	ID     string
	Reason string // Empty, TooLong, InvalidUTF8 or BadChar
	Rune   rune   // the offending character when Reason is BadChar
}

func (e *Error) Error() string {
	switch e.Reason {
	case Empty:
		return "invalid id: empty (want 1 to 512 bytes)"
	case TooLong:
		return fmt.Sprintf("invalid id of %d bytes (want 1 to %d)", len(e.ID), MaxLen)
	case InvalidUTF8:
		return fmt.Sprintf("invalid id %q: not valid UTF-8", e.ID)
	default:
		return fmt.Sprintf("invalid id %q: character %U %q not allowed (no control, bidi or * ? [ ] { } characters)", e.ID, e.Rune, e.Rune)
	}
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Check returns nil if id is a valid id, and otherwise an *Error saying
// why not.
func Check(id string) error {
	if len(id) == 0 {
		return &Error{ID: id, Reason: Empty}
	}
	if len(id) > MaxLen {
		return &Error{ID: id, Reason: TooLong}
	}
	for i := 0; i < len(id); {
		c := id[i]
		if c < utf8.RuneSelf {
			if badASCII[c] {
				return &Error{ID: id, Reason: BadChar, Rune: rune(c)}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(id[i:])
		if r == utf8.RuneError && size == 1 {
			return &Error{ID: id, Reason: InvalidUTF8}
		}
		if unicode.IsControl(r) || isBidiControl(r) {
			return &Error{ID: id, Reason: BadChar, Rune: r}
		}
		i += size
	}
	return nil
}

// Valid reports whether Check accepts id.
// badASCII marks the ASCII bytes an id may not hold: controls, DEL and
// the glob and hash-tag characters. A table lookup per byte instead of
// eight comparisons: every neighbour id of a model is checked.
var badASCII = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == 0x7f || strings.IndexByte("*?[]{}", byte(c)) >= 0
	}
	return t
}()

func Valid(id string) bool { return Check(id) == nil }

// isBidiControl reports whether r is one of Unicode's explicit
// bidirectional formatting characters (UAX #9, table 4) or implicit marks.
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F: // ALM, LRM, RLM
		return true
	case r >= 0x202A && r <= 0x202E: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}
