package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/httpapi"
	"github.com/recopub/recopub/publish/httpapi/httpapitest"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// MustServer publishes httpapitest.Model to a private redis-server and returns
// an HTTP test server over it and the version published.
func MustServer(tb testing.TB) (*httptest.Server, string) {
	tb.Helper()
	rdb := redistest.Start(tb).Client(tb)
	res, err := (&publish.Writer{Client: rdb}).Publish(context.Background(), httpapitest.Model())
	if err != nil {
		tb.Fatal(err)
	}
	cl := publish.NewClient(rdb, publish.ClientOptions{})
	ts := httptest.NewServer(httpapi.New(cl, rdb, httpapi.Options{}))
	tb.Cleanup(ts.Close)
	return ts, res.Version
}

func get(tb testing.TB, method, url string) (int, http.Header, []byte) {
	tb.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestServer(t *testing.T) {
	ts, v := MustServer(t)
	tests := []struct {
		method, path string
		status       int
		want         string // substring of the body
	}{
		{"GET", "/v1/similar/a?n=2", 200, `{"item":"a","version":"` + v + `","items":[{"item":"b","score":0.9},{"item":"c","score":0.5}]}`},
		{"GET", "/v1/similar/a", 200, `{"item":"x","score":0.4}`},
		{"HEAD", "/v1/similar/a", 200, ``},
		{"GET", "/v1/similar/x:manifest", 200, `"items":[{"item":"a","score":1}]`},
		{"GET", "/v1/similar/x%3Amanifest", 200, `"items":[{"item":"a","score":1}]`},
		{"GET", "/v1/similar/nope", 404, `"code":"not_found"`},
		{"GET", "/v1/similar/%2F", 404, `"code":"not_found"`}, // the id "/", routed
		{"GET", "/v1/similar/a/b", 404, `"code":"no_route"`},
		{"GET", "/v1/similar/a%2A", 400, `"code":"invalid"`},
		{"GET", "/v1/similar/%7Breco%7D:current", 400, `"code":"invalid"`},
		{"GET", "/v1/similar/a%0Ab", 400, `"code":"invalid"`},
		{"GET", "/v1/similar/" + strings.Repeat("z", 513), 400, `"code":"invalid"`},
		{"GET", "/v1/similar/a?n=0", 400, `n=\"0\"`},
		{"GET", "/v1/similar/a?n=101", 400, `want 1 to 100`},
		{"GET", "/v1/similar/a?n=x", 400, `"code":"invalid"`},
		{"GET", "/v1/similar/a?n=1&n=2", 400, `given 2 times`},
		{"GET", "/v1/similar/a?m=1", 400, `allowed: [n]`},
		{"GET", "/v1/similar/a?n=%zz", 400, `"code":"invalid"`},
		{"GET", "/v1/similar/a?n=1&pad=" + strings.Repeat("p", 3000), 400, `query of`},
		{"GET", "/v1/recommend/alice?n=4", 200, `{"user":"alice","version":"` + v + `","items":[{"item":"b","score":0.9,"source":"similar"},{"item":"d","score":0.5599999999999999,"source":"similar"},{"item":"x","score":0.4,"source":"similar"},{"item":"s1","score":1,"popularity":30,"source":"segment"}],"history":["a","c"],"history_from":"batch","segment":"gold|high"}`},
		{"GET", "/v1/recommend/alice?n=2&exclude=b,x", 200, `"items":[{"item":"d","score":0.5599999999999999,"source":"similar"},{"item":"s1","score":1,"popularity":30,"source":"segment"}]`},
		{"GET", "/v1/recommend/sku:1?n=3", 200, `"items":[{"item":"a","score":0.9,"source":"similar"},{"item":"d","score":0.1,"source":"similar"},{"item":"p1","score":1,"popularity":100,"source":"popular"}]`},
		// erin's batch list, without b (bought).
		{"GET", "/v1/recommend/erin?n=2", 200, `"items":[{"item":"e","score":1,"source":"personal"},{"item":"p1","score":1,"popularity":100,"source":"popular"}],"history":["b"],"history_from":"batch","segment":"|"}`},
		{"GET", "/v1/recommend/nobody?n=2", 200, `"items":[{"item":"p1","score":1,"popularity":100,"source":"popular"},{"item":"s1","score":0.9,"popularity":90,"source":"popular"}],"history":[]}`},
		{"GET", "/v1/recommend/alice?exclude=" + strings.Repeat("q,", 101), 400, `at most 100`},
		{"GET", "/v1/recommend/alice?exclude=a*", 400, `"code":"invalid"`},
		{"GET", "/v1/recommend/", 404, `"code":"no_route"`},
		{"GET", "/v1/versions", 200, `"live":"` + v + `"`},
		{"GET", "/healthz", 200, `{"status":"ok","version":"` + v + `"}`},
		{"GET", "/nope", 404, `"code":"no_route"`},
		{"POST", "/v1/similar/a", 405, `"code":"method_not_allowed"`},
		{"DELETE", "/v1/versions", 405, `use GET`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path[:min(len(tt.path), 60)], func(t *testing.T) {
			status, h, body := get(t, tt.method, ts.URL+tt.path)
			if status != tt.status || !bytes.Contains(body, []byte(tt.want)) {
				t.Fatalf("%s %s: %d %s\nwant %d with %s", tt.method, tt.path, status, body, tt.status, tt.want)
			}
			if got, want := h.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			if tt.method == "GET" && !json.Valid(body) {
				t.Errorf("body is not JSON: %s", body)
			}
		})
	}

	t.Run("body", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/similar/a", strings.NewReader("hello"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusRequestEntityTooLarge; got != want {
			t.Errorf("GET with a body: %d, want %d", got, want)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		status, h, body := get(t, "GET", ts.URL+"/metrics")
		if status != 200 {
			t.Fatalf("/metrics: %d %s", status, body)
		}
		fams := parseMetrics(t, h, body)
		for _, tt := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"recopub_http_requests_total", map[string]string{"route": "similar", "code": "200"}, 5},
			{"recopub_http_requests_total", map[string]string{"route": "similar", "code": "404"}, 3},
			{"recopub_http_requests_total", map[string]string{"route": "recommend", "code": "400"}, 2},
			{"recopub_http_requests_total", map[string]string{"route": "similar", "code": "400"}, 11},
			{"recopub_http_request_duration_seconds_count", map[string]string{"route": "recommend", "code": "200"}, 5},
			{"recopub_http_requests_in_flight", map[string]string{"route": "similar"}, 0},
			{"recopub_live_version_info", map[string]string{"version": v}, 1},
			{"recopub_redis_errors_total", nil, 0},
		} {
			if got, ok := sample(fams, tt.name, tt.labels); !ok || got != tt.want {
				t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
			}
		}
		for _, name := range []string{"go_goroutines", "process_start_time_seconds", "recopub_http_request_duration_seconds"} {
			if _, ok := fams[name]; !ok {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})
}

// parseMetrics parses a /metrics answer with Prometheus' own parser.
func parseMetrics(tb testing.TB, h http.Header, body []byte) map[string]*dto.MetricFamily {
	tb.Helper()
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		tb.Fatalf("/metrics Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// sample returns the value of the series of family name (or, for a
// histogram, name_count) whose labels include labels.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	base, count := name, strings.HasSuffix(name, "_count")
	if count {
		base = strings.TrimSuffix(name, "_count")
	}
	f, ok := fams[base]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case count:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestServerRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t)), MaxRetries: -1})
	defer rdb.Close()
	ts := httptest.NewServer(httpapi.New(publish.NewClient(rdb, publish.ClientOptions{}), rdb, httpapi.Options{}))
	defer ts.Close()
	for _, path := range []string{"/v1/similar/a", "/v1/recommend/u", "/v1/versions", "/healthz"} {
		status, _, body := get(t, "GET", ts.URL+path)
		if status != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"code":"redis_unavailable"`)) {
			t.Errorf("%s with Redis down: %d %s, want 503 redis_unavailable", path, status, body)
		}
	}
	_, h, body := get(t, "GET", ts.URL+"/metrics")
	if got, ok := sample(parseMetrics(t, h, body), "recopub_redis_errors_total", nil); !ok || got != 2 {
		t.Errorf("recopub_redis_errors_total = %v (found %v), want 2", got, ok)
	}
}

// BenchmarkHandler measures the recommend endpoint in-process, without
// the network on the HTTP side: the handler's own cost (routing, metrics,
// encoding/json) and garbage per request, on top of one Redis round trip.
//
//	go test -run XXX -bench BenchmarkHandler ./publish/httpapi/
func BenchmarkHandler(b *testing.B) {
	ts, _ := MustServer(b)
	h := ts.Config.Handler
	for _, path := range []string{"/v1/recommend/alice?n=10", "/v1/similar/a?n=10"} {
		b.Run(strings.Split(path, "/")[2], func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
				if w.status != 0 && w.status != 200 {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
