package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/recopub/recopub/publish"
)

// Errors of the HTTP layer itself; the client's errors are mapped in
// statusTable.
var (
	errBadRequest = errors.New("bad request")
	errNoRoute    = errors.New("no such endpoint")
	errMethod     = errors.New("method not allowed")
	errBody       = errors.New("request body not allowed")
)

// statusClientClosed is recorded when the caller hung up; the caller
// never sees it.
const statusClientClosed = 499

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

func errorStatus(err error) (int, string) {
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status, e.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

// writeError answers with err's status and a JSON body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, route string, err error) {
	status, code := errorStatus(err)
	if status == statusClientClosed {
		w.WriteHeader(status) // for the metrics; the caller is gone
		return
	}
	if status >= 500 {
		s.logError(route, status, err)
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
}

// logError logs a failed request, at most once a second, with the count
// of those not logged since: an outage must not flood the log.
func (s *Server) logError(route string, status int, err error) {
	now := time.Now().Unix()
	last := s.lastLog.Load()
	if now == last || !s.lastLog.CompareAndSwap(last, now) {
		s.quiet.Add(1)
		return
	}
	s.log.Warn("request failed", "route", route, "status", status, "error", err.Error(), "not_logged_since", s.quiet.Swap(0))
}
