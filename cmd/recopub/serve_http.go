package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// Limits of a request. URLs are also bounded by the server's
// MaxHeaderBytes.
const (
	maxQueryBytes = 2048 // raw query string
	maxExclude    = 100  // items in ?exclude=
)

// Errors of the HTTP layer itself; the client's errors are mapped in
// statusTable.
var (
	errBadRequest = errors.New("bad request")
	errNoRoute    = errors.New("no such endpoint")
	errMethod     = errors.New("method not allowed")
	errBody       = errors.New("request body not allowed")
)

// statusTable maps error kinds to HTTP statuses and the code in the JSON
// error body, first match wins. Anything else is a 500.
var statusTable = []struct {
	err    error
	status int
	code   string
}{
	{publish.ErrInvalid, http.StatusBadRequest, "invalid"},
	{errBadRequest, http.StatusBadRequest, "invalid"},
	{errBody, http.StatusRequestEntityTooLarge, "body_not_allowed"},
	{publish.ErrNotFound, http.StatusNotFound, "not_found"},
	{errNoRoute, http.StatusNotFound, "no_route"},
	{errMethod, http.StatusMethodNotAllowed, "method_not_allowed"},
	{publish.ErrNoVersion, http.StatusServiceUnavailable, "no_version"},
	{publish.ErrUnavailable, http.StatusServiceUnavailable, "redis_unavailable"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "timeout"},
	{context.Canceled, statusClientClosed, "canceled"},
}

// statusClientClosed is recorded, never sent, when the caller hung up.
const statusClientClosed = 499

func errorStatus(err error) (int, string) {
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status, e.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

// server is the HTTP API over a read client.
type server struct {
	cl      *publish.Client
	rdb     redis.UniversalClient
	keys    publish.Keys
	maxN    int
	timeout time.Duration // of the Redis calls of /v1/versions and /healthz
	log     *slog.Logger
	metrics *httpMetrics

	bufs sync.Pool // *[]byte for JSON answers
}

// handlerFunc is an endpoint: it writes a successful answer or returns
// an error for route to map.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	// The id is taken from the escaped path by pathID, not by a {wildcard}:
	// ServeMux does not route /v1/similar/%2F (the id "/").
	mux.Handle(similarPrefix, s.route("similar", s.similar))
	mux.Handle(recommendPrefix, s.route("recommend", s.recommend))
	mux.Handle("/v1/versions", s.route("versions", s.versions))
	mux.Handle("/healthz", s.route("healthz", s.healthz))
	mux.Handle("/metrics", s.route("metrics", s.serveMetrics))
	mux.Handle("/", s.route("other", func(http.ResponseWriter, *http.Request) error { return errNoRoute }))
	return mux
}

// route wraps an endpoint with the checks every request gets, error
// mapping and metrics.
func (s *server) route(name string, h handlerFunc) http.Handler {
	rm := s.metrics.route(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		rm.inFlight.Add(1)
		err := s.check(r)
		if err == nil {
			err = h(w, r)
		}
		status := http.StatusOK
		if err != nil {
			status = s.writeError(w, r, name, err)
		}
		rm.inFlight.Add(-1)
		rm.observe(status, time.Since(t0))
	})
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

func (s *server) check(r *http.Request) error {
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

func (s *server) writeError(w http.ResponseWriter, r *http.Request, route string, err error) int {
	status, code := errorStatus(err)
	if status == statusClientClosed {
		return status
	}
	if status >= 500 {
		s.metrics.logError(s.log, route, status, err)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, HEAD")
	}
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{err.Error(), code})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(append(b, '\n'))
	}
	return status
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

// count parses ?n=, default 10, at most s.maxN.
func (s *server) count(q url.Values) (int, error) {
	v := q.Get("n")
	if v == "" {
		return min(10, s.maxN), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > s.maxN {
		return 0, fmt.Errorf("n=%q: %w (want 1 to %d)", v, errBadRequest, s.maxN)
	}
	return n, nil
}

func (s *server) similar(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "n")
	if err != nil {
		return err
	}
	n, err := s.count(q)
	if err != nil {
		return err
	}
	item, err := pathID(r, similarPrefix)
	if err != nil {
		return err
	}
	nb, v, err := s.cl.Neighbors(r.Context(), item, n)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, func(b []byte) []byte { return appendSimilar(b, item, v, nb) })
}

func (s *server) recommend(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "n", "exclude")
	if err != nil {
		return err
	}
	n, err := s.count(q)
	if err != nil {
		return err
	}
	var opt publish.RecommendOptions
	if ex := q.Get("exclude"); ex != "" {
		opt.Exclude = splitList(ex)
		if len(opt.Exclude) > maxExclude {
			return fmt.Errorf("exclude: %d items: %w (at most %d)", len(opt.Exclude), errBadRequest, maxExclude)
		}
	}
	user, err := pathID(r, recommendPrefix)
	if err != nil {
		return err
	}
	rec, err := s.cl.Recommend(r.Context(), user, n, opt)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, func(b []byte) []byte { return appendRecommendations(b, rec) })
}

// versionJSON is one version as /v1/versions shows it: no manifest, whose
// inputs name files of the machine that ran the job.
type versionJSON struct {
	ID        string           `json:"id"`
	CreatedAt time.Time        `json:"created_at"`
	Status    string           `json:"status"`
	Live      bool             `json:"live"`
	Lists     map[string]int64 `json:"lists,omitempty"`
	Hashes    int64            `json:"hashes"`
}

func (s *server) versions(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	vs, err := publish.Versions(ctx, s.rdb, s.keys)
	if err != nil {
		return fmt.Errorf("%w: %w", publish.ErrUnavailable, err)
	}
	out := struct {
		Live     string        `json:"live"`
		Versions []versionJSON `json:"versions"`
	}{Versions: make([]versionJSON, 0, len(vs))}
	for _, v := range vs {
		if v.Live {
			out.Live = v.ID
		}
		out.Versions = append(out.Versions, versionJSON{v.ID, v.CreatedAt, v.Status, v.Live, v.Lists, v.Hashes})
	}
	return s.writeJSON(w, r, func(b []byte) []byte {
		j, _ := json.Marshal(out)
		return append(b, j...)
	})
}

// healthz answers 200 when Redis answers and a version is live.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping: %w: %w", publish.ErrUnavailable, err)
	}
	v, err := s.cl.Version(ctx)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, func(b []byte) []byte {
		b = append(b, `{"status":"ok","version":`...)
		return append(appendString(b, v), '}')
	})
}

// writeJSON writes the answer fill appends, from a pooled buffer.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, fill func([]byte) []byte) error {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := append(fill((*bp)[:0]), '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b
		s.bufs.Put(bp)
	}
	return nil
}
