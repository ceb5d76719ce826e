package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recopub/recopub/publish"
)

// httpMetrics counts requests by route and status with latency histograms,
// in Prometheus' text format. It is written by hand: a few atomic counters
// do not justify client_golang and its dependencies.
type httpMetrics struct {
	mu     sync.Mutex
	routes map[string]*routeMetrics
	start  time.Time

	lastLog atomic.Int64 // unix seconds of the last logged 5xx, see logError
	quiet   atomic.Int64 // 5xx not logged since
}

// latencyBuckets are the histogram's upper bounds in seconds.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type routeMetrics struct {
	name     string
	inFlight atomic.Int64
	statuses sync.Map // int -> *latencyHist
}

type latencyHist struct {
	count   atomic.Uint64
	sumNano atomic.Int64
	buckets []atomic.Uint64 // not cumulative; len(latencyBuckets)
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{routes: make(map[string]*routeMetrics), start: time.Now()}
}

// route returns the metrics of a route, created once at set-up.
func (m *httpMetrics) route(name string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rm, ok := m.routes[name]; ok {
		return rm
	}
	rm := &routeMetrics{name: name}
	m.routes[name] = rm
	return rm
}

func (rm *routeMetrics) observe(status int, d time.Duration) {
	v, ok := rm.statuses.Load(status)
	if !ok {
		v, _ = rm.statuses.LoadOrStore(status, &latencyHist{buckets: make([]atomic.Uint64, len(latencyBuckets))})
	}
	h := v.(*latencyHist)
	h.count.Add(1)
	h.sumNano.Add(int64(d))
	sec := d.Seconds()
	if i, _ := slices.BinarySearch(latencyBuckets, sec); i < len(latencyBuckets) {
		h.buckets[i].Add(1)
	}
}

// logError logs a failed request, at most once a second, with the count
// of those not logged since: an outage must not flood the log.
func (m *httpMetrics) logError(log *slog.Logger, route string, status int, err error) {
	now := time.Now().Unix()
	last := m.lastLog.Load()
	if now == last || !m.lastLog.CompareAndSwap(last, now) {
		m.quiet.Add(1)
		return
	}
	log.Warn("request failed", "route", route, "status", status, "error", err.Error(), "not_logged_since", m.quiet.Swap(0))
}

// write writes every metric in the text exposition format.
func (m *httpMetrics) write(w io.Writer, cl *publish.Client, live string) {
	m.mu.Lock()
	names := make([]string, 0, len(m.routes))
	for n := range m.routes {
		names = append(names, n)
	}
	m.mu.Unlock()
	slices.Sort(names)

	fmt.Fprint(w, "# HELP recopub_http_requests_total Requests served, by route and status.\n# TYPE recopub_http_requests_total counter\n")
	m.each(names, func(route string, status int, h *latencyHist) {
		fmt.Fprintf(w, "recopub_http_requests_total{route=%q,status=\"%d\"} %d\n", route, status, h.count.Load())
	})
	fmt.Fprint(w, "# HELP recopub_http_request_duration_seconds Time to answer a request, by route and status.\n# TYPE recopub_http_request_duration_seconds histogram\n")
	m.each(names, func(route string, status int, h *latencyHist) {
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.buckets[i].Load()
			fmt.Fprintf(w, "recopub_http_request_duration_seconds_bucket{route=%q,status=\"%d\",le=%q} %d\n", route, status, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		n := h.count.Load()
		fmt.Fprintf(w, "recopub_http_request_duration_seconds_bucket{route=%q,status=\"%d\",le=\"+Inf\"} %d\n", route, status, n)
		fmt.Fprintf(w, "recopub_http_request_duration_seconds_sum{route=%q,status=\"%d\"} %g\n", route, status, time.Duration(h.sumNano.Load()).Seconds())
		fmt.Fprintf(w, "recopub_http_request_duration_seconds_count{route=%q,status=\"%d\"} %d\n", route, status, n)
	})
	fmt.Fprint(w, "# HELP recopub_http_requests_in_flight Requests being answered.\n# TYPE recopub_http_requests_in_flight gauge\n")
	for _, n := range names {
		m.mu.Lock()
		rm := m.routes[n]
		m.mu.Unlock()
		fmt.Fprintf(w, "recopub_http_requests_in_flight{route=%q} %d\n", n, rm.inFlight.Load())
	}

	st := cl.Stats()
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("recopub_redis_errors_total", "Round trips to Redis that failed (refused, timed out, server error).", st.RedisErrors)
	counter("recopub_version_changes_total", "Times the live version the server reads changed.", st.VersionChanges)
	counter("recopub_read_retries_total", "Reads run again on a newer version after a flip and cleanup.", st.Retries)
	counter("recopub_list_cache_hits_total", "Lists answered from the in-memory cache of the live version.", st.CacheHits)
	counter("recopub_list_cache_misses_total", "Lists read from Redis.", st.CacheMisses)
	fmt.Fprint(w, "# HELP recopub_live_version_info The live version the server reads (1), by id.\n# TYPE recopub_live_version_info gauge\n")
	if live != "" {
		fmt.Fprintf(w, "recopub_live_version_info{version=%q} 1\n", live)
	}
	fmt.Fprintf(w, "# HELP recopub_start_time_seconds When the server started.\n# TYPE recopub_start_time_seconds gauge\nrecopub_start_time_seconds %d\n", m.start.Unix())
}

// each calls fn for every (route, status) in a stable order.
func (m *httpMetrics) each(names []string, fn func(route string, status int, h *latencyHist)) {
	for _, n := range names {
		m.mu.Lock()
		rm := m.routes[n]
		m.mu.Unlock()
		var statuses []int
		rm.statuses.Range(func(k, _ any) bool {
			statuses = append(statuses, k.(int))
			return true
		})
		slices.Sort(statuses)
		for _, st := range statuses {
			v, _ := rm.statuses.Load(st)
			fn(n, st, v.(*latencyHist))
		}
	}
}

// serveMetrics answers /metrics. The live version is the client's cached
// one: a scrape never waits for Redis.
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	live := s.cl.CachedVersion()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if r.Method != http.MethodHead {
		s.metrics.write(w, s.cl, live)
	}
	return nil
}
