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
	ItemCol  string // default "product_id"
	EventCol string // default "event"; "-" when the table has no event column
	TimeCol  string // default "timestamp"

	// EventWeights, when not empty, selects events: rows whose event is not
	// named are dropped as unknown_event.
	EventWeights map[string]float32

	Now       time.Time     // reference for MaxFuture; default time.Now()
	MaxFuture time.Duration // rows later than Now+MaxFuture are dropped; default 1h

	Workers int // parallel readers; default GOMAXPROCS
}

// MaxIDLen is the longest user or item id accepted, in bytes.
const MaxIDLen = 512

func (o *Options) userCol() string  { return orDefault(o.UserCol, "user_id") }
func (o *Options) anonCol() string  { return orDefault(o.AnonCol, "anonymous_id") }
func (o *Options) itemCol() string  { return orDefault(o.ItemCol, "product_id") }
func (o *Options) eventCol() string { return orDefault(o.EventCol, "event") }
func (o *Options) timeCol() string  { return orDefault(o.TimeCol, "timestamp") }

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
		return time.Hour
	}
	return o.MaxFuture
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
