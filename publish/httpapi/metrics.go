package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/recopub/recopub/publish"
)

// NewRegistry returns a registry with the Go runtime and process
// collectors, the one a Server uses when Options name none.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// latencyBuckets are the request histogram's upper bounds in seconds:
// answers from a list cache take microseconds, from Redis a fraction of a
// millisecond.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// httpMetrics are the server's request metrics, labelled by route (a
// fixed set) and status code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

func newHTTPMetrics(reg prometheus.Registerer, cl *publish.Client) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recopub_http_requests_total",
			Help: "Requests served, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recopub_http_request_duration_seconds",
			Help:    "Time to answer a request, by route and status code.",
			Buckets: latencyBuckets,
		}, []string{"route", "code"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "recopub_http_requests_in_flight",
			Help: "Requests being answered, by route.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, clientCollector{cl})
	return m
}

// instrument wraps the handler of a route with promhttp's counters,
// latency histogram and in-flight gauge.
func (m *httpMetrics) instrument(route string, h http.Handler) http.Handler {
	l := prometheus.Labels{"route": route}
	h = promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(l), h)
	h = promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(l), h)
	return promhttp.InstrumentHandlerInFlight(m.inFlight.With(l), h)
}

// metrics answers /metrics from gat.
func (s *Server) metrics(gat prometheus.Gatherer) handlerFunc {
	h := promhttp.HandlerFor(gat, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := query(r); err != nil {
			return err
		}
		h.ServeHTTP(w, r)
		return nil
	}
}

// slogPrinter lets promhttp report gathering errors through the server's
// logger.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Warn("metrics", "error", v) }

// clientCollector exposes the read client's counters and the live version
// it reads, at scrape time: a scrape never waits for Redis.
type clientCollector struct{ cl *publish.Client }

var (
	descRedisErrors = prometheus.NewDesc("recopub_redis_errors_total",
		"Round trips to Redis that failed (refused, timed out, server error).", nil, nil)
	descVersionChanges = prometheus.NewDesc("recopub_version_changes_total",
		"Times the live version the server reads changed.", nil, nil)
	descRetries = prometheus.NewDesc("recopub_read_retries_total",
		"Reads run again on a newer version after a flip and cleanup.", nil, nil)
	descCacheHits = prometheus.NewDesc("recopub_list_cache_hits_total",
		"Lists answered from the in-memory cache of the live version.", nil, nil)
	descCacheMisses = prometheus.NewDesc("recopub_list_cache_misses_total",
		"Lists read from Redis.", nil, nil)
	descLive = prometheus.NewDesc("recopub_live_version_info",
		"The live version the server reads (1), by id.", []string{"version"}, nil)
)

func (c clientCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRedisErrors, descVersionChanges, descRetries, descCacheHits, descCacheMisses, descLive} {
		ch <- d
	}
}

func (c clientCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.cl.Stats()
	for _, m := range []struct {
		d *prometheus.Desc
		v int64
	}{
		{descRedisErrors, st.RedisErrors},
		{descVersionChanges, st.VersionChanges},
		{descRetries, st.Retries},
		{descCacheHits, st.CacheHits},
		{descCacheMisses, st.CacheMisses},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v))
	}
	if v := c.cl.CachedVersion(); v != "" {
		ch <- prometheus.MustNewConstMetric(descLive, prometheus.GaugeValue, 1, v)
	}
}
