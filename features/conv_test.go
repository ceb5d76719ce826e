package features

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestParseTimeISO covers the ISO-8601 shapes other writers produce in
// text time columns: DuckDB prints TIMESTAMPTZ as "2025-02-09
// 06:39:06.299+00", and ±hh, ±hhmm and ±hh:mm are all ISO 8601 zones.
func TestParseTimeISO(t *testing.T) {
	base := time.Date(2025, 2, 9, 6, 39, 6, 0, time.UTC).Unix()
	tests := []struct {
		in   string
		want int64
	}{
		{"2025-02-09 06:39:06.299+00", base},
		{"2025-02-09T06:39:06.299+00", base},
		{"2025-02-09 06:39:06+00", base},
		{"2025-02-09 06:39:06-00", base},
		{"2025-02-09 06:39:06.299+01", base - 3600},
		{"2025-02-09 06:39:06.299-05", base + 5*3600},
		{"2025-02-09T06:39:06+0530", base - 5*3600 - 30*60},
		{"2025-02-09T06:39:06.1-0930", base + 9*3600 + 30*60},
		{"2025-02-09T06:39:06+05:30", base - 5*3600 - 30*60},
		{"2025-02-09 06:39:06-03:00", base + 3*3600},
		{"2025-02-09T06:39:06Z", base},
		{"2025-02-09 06:39:06Z", base},
		{"2025-02-09 06:39:06", base},
		{"2025-02-09T06:39:06.123456789012Z", base},
		{"2025-02-09T06:39:06.9999999999999+00", base},
		{"2025-02-09T06:39:06.5", base},
		{"2025-02-09", time.Date(2025, 2, 9, 0, 0, 0, 0, time.UTC).Unix()},
		{"1969-12-31 23:59:59.5+00", -1},
		{"2025-02-09 06:39:06+0", badTime},
		{"2025-02-09 06:39:06+053", badTime},
		{"2025-02-09 06:39:06+05:3", badTime},
		{"2025-02-09 06:39:06+05-30", badTime},
		{"2025-02-09 06:39:06.+00", badTime},
		{"2025-02-09 06:39:06 +00", badTime},
		{"2025-02-09X06:39:06", badTime},
		{"2025-02-09 06:39", badTime},
		{"", badTime},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got, want := parseTime(tc.in), tc.want; got != want {
				t.Errorf("parseTime(%q)=%d, want %d", tc.in, got, want)
			}
			if got, want := parseTimeSlow(tc.in), tc.want; got != want {
				t.Errorf("parseTimeSlow(%q)=%d, want %d", tc.in, got, want)
			}
		})
	}
}

// FuzzParseTimeZones builds ISO-8601 times from random parts (either
// separator, a fraction of 0 to 15 digits, every zone form) and checks
// both parsers against the instant computed with time.Date: independent
// of the layouts parseTimeSlow tries.
func FuzzParseTimeZones(f *testing.F) {
	f.Add(int64(1739083146), uint64(299), uint8(3), true, uint8(2), int16(0))
	f.Add(int64(0), uint64(0), uint8(0), false, uint8(0), int16(-330))
	f.Add(int64(-86401), uint64(123456789012), uint8(12), false, uint8(3), int16(840))
	f.Fuzz(func(t *testing.T, sec int64, frac uint64, digits uint8, space bool, form uint8, offMin int16) {
		sec %= 1 << 37 // years 0..6000 around 1970
		if sec < -62135596800 {
			sec = -sec
		}
		in, want := isoText(sec, frac, int(digits%16), space, form%5, int(offMin)%(24*60))
		if got := parseTime(in); got != want {
			t.Fatalf("parseTime(%q)=%d, want %d", in, got, want)
		}
		if got := parseTimeSlow(in); got != want {
			t.Fatalf("parseTimeSlow(%q)=%d, want %d", in, got, want)
		}
	})
}

// isoText writes the wall time of the instant sec at offset offMin in
// one of the zone forms (0 none, 1 Z, 2 ±hh, 3 ±hhmm, 4 ±hh:mm) and
// returns it with the Unix seconds it denotes.
func isoText(sec int64, frac uint64, digits int, space bool, form uint8, offMin int) (string, int64) {
	switch form {
	case 0, 1:
		offMin = 0
	case 2:
		offMin -= offMin % 60
	}
	zone := time.FixedZone("", offMin*60)
	wall := time.Unix(sec, 0).In(zone)
	var b strings.Builder
	b.WriteString(wall.Format("2006-01-02"))
	if space {
		b.WriteByte(' ')
	} else {
		b.WriteByte('T')
	}
	b.WriteString(wall.Format("15:04:05"))
	if digits > 0 {
		fmt.Fprintf(&b, ".%0*d", digits, frac%pow10(digits))
	}
	sign, abs := '+', offMin
	if offMin < 0 {
		sign, abs = '-', -offMin
	}
	switch form {
	case 1:
		b.WriteByte('Z')
	case 2:
		fmt.Fprintf(&b, "%c%02d", sign, abs/60)
	case 3:
		fmt.Fprintf(&b, "%c%02d%02d", sign, abs/60, abs%60)
	case 4:
		fmt.Fprintf(&b, "%c%02d:%02d", sign, abs/60, abs%60)
	}
	return b.String(), sec
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
