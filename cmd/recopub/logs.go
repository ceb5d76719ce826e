package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Logs go to stderr: JSON for the log collectors of schedulers, and on a
// terminal a text a person reads, with nothing escaped. In both, a map
// is a group of attributes (dropped.bad_time=3, not dropped=map[...]) and
// a duration is in seconds (timeout_seconds=10, not 10000000000).

// replaceAttr is the HandlerOptions.ReplaceAttr of both handlers.
func replaceAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindDuration:
		if !strings.HasSuffix(a.Key, "seconds") {
			a.Key += "_seconds"
		}
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	case slog.KindAny:
		if g, ok := mapGroup(a.Value.Any()); ok {
			return slog.Attr{Key: a.Key, Value: g}
		}
	}
	return a
}

// mapGroup turns a map with string keys into a group, keys sorted.
func mapGroup(v any) (slog.Value, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return slog.Value{}, false
	}
	attrs := make([]slog.Attr, 0, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		attrs = append(attrs, slog.Any(it.Key().String(), it.Value().Interface()))
	}
	slices.SortFunc(attrs, func(a, b slog.Attr) int { return cmp.Compare(a.Key, b.Key) })
	return slog.GroupValue(attrs...), true
}

// humanHandler writes one line per record for a person at a terminal:
// "15:04:05 INFO  msg key=value ...". A value with spaces, quotes or
// line breaks goes on a line of its own below, as it is ("  error: ..."),
// so that an error quoting a column reads as written.
type humanHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	level slog.Leveler
	attrs []slog.Attr // from WithAttrs, keys already prefixed by their groups
	group string      // prefix of the groups opened by WithGroup, "a.b."
}

func newHumanHandler(w io.Writer, level slog.Leveler) *humanHandler {
	return &humanHandler{w: w, mu: new(sync.Mutex), level: level}
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *humanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range as {
		c.attrs = flatten(c.attrs, h.group, a)
	}
	return &c
}

func (h *humanHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group += name + "."
	return &c
}

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := slices.Clone(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		attrs = flatten(attrs, h.group, a)
		return true
	})
	var b bytes.Buffer
	if !r.Time.IsZero() {
		b.WriteString(r.Time.Format(time.TimeOnly) + " ")
	}
	fmt.Fprintf(&b, "%-5s %s", r.Level.String(), r.Message)
	var below []slog.Attr
	for _, a := range attrs {
		s := a.Value.String()
		if s == "" || strings.ContainsAny(s, " \t\n\"") || len(s) > 80 {
			below = append(below, a)
			continue
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, s)
	}
	for _, a := range below {
		s := strings.ReplaceAll(strings.TrimRight(a.Value.String(), "\n"), "\n", "\n    ")
		fmt.Fprintf(&b, "\n  %s: %s", a.Key, s)
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b.Bytes())
	return err
}

// flatten appends a, its groups expanded to dotted keys, after
// replaceAttr.
func flatten(dst []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() != slog.KindGroup {
		a = replaceAttr(nil, a)
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, m := range a.Value.Group() {
			dst = flatten(dst, prefix, m)
		}
		return dst
	}
	if a.Equal(slog.Attr{}) {
		return dst
	}
	a.Key = prefix + a.Key
	return append(dst, a)
}

var _ slog.Handler = (*humanHandler)(nil)
