package features

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Options configures Load. The zero value reads RudderStack's column names.
type Options struct {
	Events []string // files, directories (searched recursively) or globs

	UserCol  string // default "user_id"
	AnonCol  string // fallback when the user id is null or empty; default "anonymous_id"; "-" disables
	EventCol string // default "event"; "-" when the table has no event column
	TimeCol  string // default "timestamp"

	// ItemCol names the item id, default "product_id". A dotted path
	// such as "products.product_id" reaches into a STRUCT, a LIST of
	// STRUCT (one interaction per element) or, when "products" is a string
	// column, a JSON array of objects.
	ItemCol string

	// MessageIDCol names the column whose repeats are duplicates: of the
	// rows sharing a message id only the first in input order is kept.
	// Default "message_id"; "-" disables; a file without it is not
	// deduplicated.
	MessageIDCol string

	// WeightCol and QuantityCol name numeric columns that weight each
	// interaction (Dataset.Weight); both may be set and then multiply.
	// They take paths like ItemCol: a QuantityCol such as
	// "products.quantity" weights each list element. A null weight counts
	// as 1; a negative or non-finite one drops the event as bad_weight.
	WeightCol   string
	QuantityCol string

	// EventWeights, when not empty, selects events: rows whose event is not
	// named are dropped as unknown_event.
	EventWeights map[string]float32

	// Since and Until bound event time to [Since, Until); zero values
	// leave that side open. Days keeps the Days days up to Now when Now is
	// set, else up to the newest kept event. Hive partition directories
	// dt=YYYY-MM-DD (taken to hold that UTC day's events) that lie wholly
	// outside the window are skipped without opening their files.
	Since, Until time.Time
	Days         int

	Now       time.Time     // reference for MaxFuture and Days; default time.Now() (Days: the newest event)
	MaxFuture time.Duration // rows later than Now+MaxFuture are dropped; default 1h

	Workers int // parallel readers; default GOMAXPROCS

	// Progress, when set, is called as row groups are read, with the rows
	// (or list elements) read so far and the total planned from the
	// files' footers. It is called from the reading goroutines, so it must
	// be safe for concurrent use.
	Progress func(done, total int64)

	arrowOnly bool // tests: read every row group through Arrow
}

// MaxIDLen is the longest user or item id accepted, in bytes.
const MaxIDLen = 512

// The defaults of Options, applied when a field is zero (recopub's flags
// take them too): RudderStack's warehouse column names.
const (
	DefaultUserCol      = "user_id"
	DefaultAnonCol      = "anonymous_id"
	DefaultItemCol      = "product_id"
	DefaultEventCol     = "event"
	DefaultTimeCol      = "timestamp"
	DefaultMessageIDCol = "message_id"
	DefaultMaxFuture    = time.Hour
)

func (o *Options) userCol() string  { return orDefault(o.UserCol, DefaultUserCol) }
func (o *Options) anonCol() string  { return orDefault(o.AnonCol, DefaultAnonCol) }
func (o *Options) itemCol() string  { return orDefault(o.ItemCol, DefaultItemCol) }
func (o *Options) eventCol() string { return orDefault(o.EventCol, DefaultEventCol) }
func (o *Options) timeCol() string  { return orDefault(o.TimeCol, DefaultTimeCol) }
func (o *Options) msgCol() string   { return orDefault(o.MessageIDCol, DefaultMessageIDCol) }

func (o *Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (o *Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o *Options) maxFuture() time.Duration {
	if o.MaxFuture == 0 {
		return DefaultMaxFuture
	}
	return o.MaxFuture
}

// window returns the time bounds known before reading, in Unix seconds:
// rows with t < lo or t >= hi are out of the window. With Days and no Now,
// the lower bound is only known after the load (see Load).
func (o *Options) window() (lo, hi int64) {
	lo, hi = minTime, maxTime
	if !o.Since.IsZero() {
		lo = o.Since.Unix()
	}
	if !o.Until.IsZero() {
		hi = o.Until.Unix()
	}
	if o.Days > 0 && !o.Now.IsZero() {
		lo = max(lo, o.Now.Unix()-int64(o.Days)*86400)
	}
	return lo, hi
}

const (
	minTime = -1 << 62
	maxTime = 1 << 62
)

func (o *Options) validate() error {
	if o.Days < 0 {
		return fmt.Errorf("days %d: want a positive number of days", o.Days)
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		return fmt.Errorf("since %s is not before until %s", o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}
	for name, w := range o.EventWeights {
		if !(w >= 0) {
			return fmt.Errorf("event weights: weight of %q must be a non-negative number", name)
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ParseEventWeights parses "Order Completed=5,Product Added=3".
func ParseEventWeights(s string) (map[string]float32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := make(map[string]float32)
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("event weights: %q is not name=weight", part)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(w), 32)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("event weights: weight of %q must be a non-negative number, got %q", name, w)
		}
		m[name] = float32(f)
	}
	return m, nil
}

// ParseTime parses a --since/--until value: RFC 3339 or a date
// (YYYY-MM-DD, midnight UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-11-25T02:00:00Z) or a date (2026-11-25)", s)
}
