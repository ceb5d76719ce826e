package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultMaxN    = 100
	DefaultTimeout = time.Second
)

// Limits of a request. URLs are also bounded by the http.Server's
// MaxHeaderBytes.
const (
	maxQueryBytes = 2048 // raw query string
	maxExclude    = 100  // items in ?exclude=
)

// Options configure a Server. The zero value works.
type Options struct {
	// MaxN is the largest n a request may ask for; DefaultMaxN if zero.
	MaxN int
	// Timeout bounds the Redis calls of /v1/versions and /healthz, which
	// the client's own deadline does not cover; DefaultTimeout if zero.
	Timeout time.Duration
	// Keys names the namespace /v1/versions lists.
	Keys publish.Keys
	// Logger receives failed requests (rate-limited); none if nil.
	Logger *slog.Logger
	// Registerer is where the server registers its metrics, and Gatherer
	// what /metrics exposes. If both are nil the server uses a registry of
	// its own with the Go and process collectors.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

func (o Options) maxN() int {
	if o.MaxN <= 0 {
		return DefaultMaxN
	}
	return o.MaxN
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// Server is the HTTP API over a read client. It is safe for concurrent
// use.
type Server struct {
	cl   *publish.Client
	rdb  redis.UniversalClient
	opt  Options
	log  *slog.Logger
	mux  *http.ServeMux
	http *httpMetrics

	lastLog atomic.Int64 // unix seconds of the last logged 5xx, see logError
	quiet   atomic.Int64 // 5xx not logged since
}

var _ http.Handler = (*Server)(nil)

// New returns a Server answering from cl. rdb is the connection cl reads
// through, used for /healthz and /v1/versions. It panics only if the
// metrics cannot be registered with opt.Registerer (a name taken twice).
func New(cl *publish.Client, rdb redis.UniversalClient, opt Options) *Server {
	reg, gat := opt.Registerer, opt.Gatherer
	if reg == nil && gat == nil {
		r := NewRegistry()
		reg, gat = r, r
	}
	s := &Server{cl: cl, rdb: rdb, opt: opt, log: opt.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.http = newHTTPMetrics(reg, cl)
	s.mux = http.NewServeMux()
	// The id is taken from the escaped path by pathID, not by a {wildcard}:
	// ServeMux does not route /v1/similar/%2F (the id "/").
	s.handle(similarPrefix, "similar", s.similar)
	s.handle(recommendPrefix, "recommend", s.recommend)
	s.handle("/v1/versions", "versions", s.versions)
	s.handle("/healthz", "healthz", s.healthz)
	s.handle("/metrics", "metrics", s.metrics(gat))
	s.handle("/", "other", func(http.ResponseWriter, *http.Request) error { return errNoRoute })
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// handlerFunc is an endpoint: it writes a successful answer or returns
// an error for the route to map.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers an endpoint with the checks every request gets, error
// mapping and its route's metrics.
func (s *Server) handle(pattern, route string, h handlerFunc) {
	fn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := check(r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, route, err)
		}
	})
	s.mux.Handle(pattern, s.http.instrument(route, fn))
}

func check(r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fmt.Errorf("%s: %w (use GET)", r.Method, errMethod)
	}
	if r.ContentLength != 0 {
		return errBody
	}
	if len(r.URL.RawQuery) > maxQueryBytes {
		return fmt.Errorf("query of %d bytes: %w (at most %d)", len(r.URL.RawQuery), errBadRequest, maxQueryBytes)
	}
	return nil
}

// query parses the query string, allowing only the named parameters,
// each at most once.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %w: %v", errBadRequest, err)
	}
	for k, vs := range q {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return nil, fmt.Errorf("query parameter %q: %w (allowed: %v)", k, errBadRequest, allowed)
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("query parameter %q given %d times: %w", k, len(vs), errBadRequest)
		}
	}
	return q, nil
}

// count parses ?n=, default 10, at most MaxN.
func (s *Server) count(q url.Values) (int, error) {
	maxN := s.opt.maxN()
	v := q.Get("n")
	if v == "" {
		return min(10, maxN), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxN {
		return 0, fmt.Errorf("n=%q: %w (want 1 to %d)", v, errBadRequest, maxN)
	}
	return n, nil
}

const (
	similarPrefix   = "/v1/similar/"
	recommendPrefix = "/v1/recommend/"
)

// pathID returns the id that follows prefix in the request's path: one
// percent-encoded path segment, so any valid id can be asked for (W%2Fx
// for W/x, %20 for a space, %2E%2E for ..). An empty or missing segment,
// or more than one, is no route.
func pathID(r *http.Request, prefix string) (string, error) {
	seg, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
	if !ok || seg == "" || strings.Contains(seg, "/") {
		return "", errNoRoute
	}
	id, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("path segment %q: %w", seg, errBadRequest)
	}
	return id, nil
}

// writeJSON writes v as the answer.
func writeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	return nil
}

// score is a similarity or count as JSON: infinities, which a sorted set
// can hold and JSON cannot, become null.
type score float64

func (f score) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// withTimeout bounds a Redis call the client's deadline does not cover.
func (s *Server) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opt.timeout())
}
