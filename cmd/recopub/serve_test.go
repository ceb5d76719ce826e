package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// serveModel has items a..e, segment and popularity lists and two users.
func serveModel() *publish.Model {
	list := func(id string, pairs ...any) publish.List {
		l := publish.List{ID: id}
		for i := 0; i < len(pairs); i += 2 {
			l.Members = append(l.Members, pairs[i].(string))
			l.Scores = append(l.Scores, pairs[i+1].(float64))
		}
		return l
	}
	fam := func(name string, ls ...publish.List) publish.Family {
		return publish.Family{Name: name, Lists: publish.FuncLists{N: len(ls), Fn: func(i int, l *publish.List) {
			l.ID, l.Members, l.Scores = ls[i].ID, append(l.Members, ls[i].Members...), append(l.Scores, ls[i].Scores...)
		}}}
	}
	users := [][]string{
		{"alice", "membership_status", "gold", "income_bracket", "high", "recent_five_purchases.purchase_1", "c", "recent_five_purchases.purchase_2", "a"},
		{"sku:1", "recent_five_purchases.purchase_1", "b"},
	}
	return &publish.Model{
		Families: []publish.Family{
			fam(publish.FamilySimilar, list("a", "b", 0.9, "c", 0.5, "x", 0.4), list("b", "a", 0.9, "d", 0.1), list("c", "d", 0.7, "a", 0.5),
				list("x:manifest", "a", 1.0)),
			fam(publish.FamilySegment, list("gold|high", "s1", 30.0, "a", 20.0)),
			fam(publish.FamilyPopular, list("", "p1", 100.0, "s1", 90.0, "p2", 80.0)),
		},
		Users: publish.FuncHashes{N: len(users), Fn: func(i int, h *publish.Hash) {
			h.ID = users[i][0]
			for k := 1; k < len(users[i]); k += 2 {
				h.Fields, h.Values = append(h.Fields, users[i][k]), append(h.Values, users[i][k+1])
			}
		}},
	}
}

// MustServer publishes serveModel to a private redis-server and returns
// an HTTP test server over it.
func MustServer(t *testing.T) (*httptest.Server, *redis.Client, string) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	res, err := (&publish.Writer{Client: rdb}).Publish(context.Background(), serveModel())
	if err != nil {
		t.Fatal(err)
	}
	var cf clientFlags
	fs := (&Main{Stderr: io.Discard}).newFlagSet("serve", "")
	cf.register(fs, time.Second)
	s := &server{
		cl: publish.NewClient(rdb, cf.options("")), rdb: rdb, keys: publish.Keys{}, maxN: 100,
		timeout: time.Second, log: slog.New(slog.DiscardHandler), metrics: newHTTPMetrics(),
	}
	ts := httptest.NewServer(s.routes())
	t.Cleanup(ts.Close)
	return ts, rdb, res.Version
}

func TestServeAPI(t *testing.T) {
	ts, _, v := MustServer(t)
	tests := []struct {
		method, path string
		status       int
		want         string // substring of the body
	}{
		{"GET", "/v1/similar/a?n=2", 200, `{"item":"a","version":"` + v + `","items":[{"item":"b","score":0.9},{"item":"c","score":0.5}]}`},
		{"GET", "/v1/similar/a", 200, `{"item":"x","score":0.4}`},
		{"HEAD", "/v1/similar/a", 200, ``},
		{"GET", "/v1/similar/x:manifest", 200, `"items":[{"item":"a","score":1}]`},
		{"GET", "/v1/similar/nope", 404, `"code":"not_found"`},
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
		{"GET", "/v1/recommend/alice?n=4", 200, `{"user":"alice","version":"` + v + `","items":[{"item":"b","score":0.9,"source":"similar"},{"item":"d","score":0.5599999999999999,"source":"similar"},{"item":"x","score":0.4,"source":"similar"},{"item":"s1","score":30,"source":"segment"}],"history":["a","c"],"history_from":"batch","segment":"gold|high"}`},
		{"GET", "/v1/recommend/alice?n=2&exclude=b,x", 200, `"items":[{"item":"d","score":0.5599999999999999,"source":"similar"},{"item":"s1","score":30,"source":"segment"}]`},
		{"GET", "/v1/recommend/sku:1?n=3", 200, `"items":[{"item":"a","score":0.9,"source":"similar"},{"item":"d","score":0.1,"source":"similar"},{"item":"p1","score":100,"source":"popular"}]`},
		{"GET", "/v1/recommend/nobody?n=2", 200, `"items":[{"item":"p1","score":100,"source":"popular"},{"item":"s1","score":90,"source":"popular"}],"history":[],"segment":"|"}`},
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
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !bytes.Contains(body, []byte(tt.want)) {
				t.Fatalf("%s %s: %d %s\nwant %d with %s", tt.method, tt.path, resp.StatusCode, body, tt.status, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.method == "GET" && !json.Valid(body) {
				t.Errorf("body is not JSON: %s", body)
			}
		})
	}

	t.Run("body", func(t *testing.T) {
		resp, err := http.Post(ts.URL+"/v1/similar/a", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		req, _ := http.NewRequest("GET", ts.URL+"/v1/similar/a", strings.NewReader("hello"))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusRequestEntityTooLarge; got != want {
			t.Errorf("GET with a body: %d, want %d", got, want)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`recopub_http_requests_total{route="similar",status="200"} 4`,
			`recopub_http_requests_total{route="similar",status="404"} 1`,
			`recopub_http_requests_total{route="recommend",status="400"} 2`,
			`recopub_http_request_duration_seconds_bucket{route="recommend",status="200",le="+Inf"} 4`,
			`recopub_http_request_duration_seconds_count{route="similar",status="400"} 11`,
			`recopub_live_version_info{version="` + v + `"} 1`,
			`recopub_redis_errors_total 0`,
			"# TYPE recopub_http_request_duration_seconds histogram",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		checkExposition(t, string(body))
	})
}

// checkExposition checks the shape of every line of Prometheus' text
// format and that histogram buckets are cumulative.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	sample := regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$`)
	last := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		if strings.HasSuffix(m[1], "_bucket") {
			series := regexp.MustCompile(`,le="[^"]*"`).ReplaceAllString(m[2], "")
			var v float64
			fmt.Sscan(m[4], &v)
			if v < last[series] {
				t.Fatalf("bucket counts decrease: %q", line)
			}
			last[series] = v
		}
	}
}

func TestServeRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t)), MaxRetries: -1})
	defer rdb.Close()
	s := &server{
		cl: publish.NewClient(rdb, publish.ClientOptions{}), rdb: rdb, maxN: 100, timeout: time.Second,
		log: slog.New(slog.DiscardHandler), metrics: newHTTPMetrics(),
	}
	ts := httptest.NewServer(s.routes())
	defer ts.Close()
	for _, path := range []string{"/v1/similar/a", "/v1/recommend/u", "/v1/versions", "/healthz"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"code":"redis_unavailable"`)) {
			t.Errorf("%s with Redis down: %d %s, want 503 redis_unavailable", path, resp.StatusCode, body)
		}
	}
	var metrics strings.Builder
	s.metrics.write(&metrics, s.cl, "")
	if !strings.Contains(metrics.String(), "recopub_redis_errors_total 2") {
		t.Errorf("metrics:\n%s", metrics.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand runs 'recopub serve' in-process, answers a request,
// and shuts down gracefully when its context ends, as on SIGTERM.
func TestServeCommand(t *testing.T) {
	rs := redistest.Start(t)
	if _, err := (&publish.Writer{Client: rs.Client(t)}).Publish(context.Background(), serveModel()); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--redis", rs.URL()}) }()

	addr := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	var base string
	waitUntil(t, "serving", func() bool {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		}
		return base != ""
	})
	resp, err := http.Get(base + "/v1/recommend/alice?n=2")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"item":"b"`)) {
		t.Fatalf("recommend: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exit %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
	for _, want := range []string{"shutting down", "stopped", "protocol=2"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRecommendCommand(t *testing.T) {
	rs := redistest.Start(t)
	if _, err := (&publish.Writer{Client: rs.Client(t)}).Publish(context.Background(), serveModel()); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "recommend", "alice", "-n", "2", "--redis", rs.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := bufio.NewScanner(strings.NewReader(stdout))
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	if len(got) != 5 || got[1] != "# history (batch, newest first) a c" || got[2] != "# segment gold|high" ||
		got[3] != "b\t0.9\tsimilar" || got[4] != "d\t0.56\tsimilar" {
		t.Errorf("output:\n%s", stdout)
	}
	code, stdout, _ = run(t, "recommend", "alice", "--json", "--redis", rs.URL())
	var r publish.Recommendations
	if err := json.Unmarshal([]byte(stdout), &r); code != 0 || err != nil || r.User != "alice" || r.Items[0].Source != publish.SourceSimilar {
		t.Errorf("--json: exit %d, %v, %+v", code, err, r)
	}
	if code, _, stderr := run(t, "recommend", "a*", "--redis", rs.URL()); code != exitFailed || !strings.Contains(stderr, "invalid argument") {
		t.Errorf("bad user: exit %d %s", code, stderr)
	}
	if code, _, _ := run(t, "recommend", "--redis", rs.URL()); code != exitUsage {
		t.Errorf("no user: exit %d, want %d", code, exitUsage)
	}
}

// TestJSONAppendersMatchEncoding checks the hand-written answers against
// encoding/json on random values.
func TestJSONAppendersMatchEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		alphabet := []string{"a", "Z", "9", ":", "|", "\"", "\\", "<", ">", "&", "\n", "\t", "\x01", "\x7f", "é", "€", "\u2028", "\u2029", "\xff", "😀", " "}
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	float := func() float64 {
		switch rng.IntN(6) {
		case 0:
			return 0
		case 1:
			return rng.Float64() * 1e-8
		case 2:
			return rng.NormFloat64() * 1e22
		case 3:
			return float64(rng.IntN(1000))
		}
		return rng.NormFloat64()
	}
	for range 2000 {
		r := &publish.Recommendations{User: str(), Version: str(), HistoryFrom: str(), Segment: str()}
		if rng.IntN(4) > 0 {
			r.History = []string{}
			for range rng.IntN(4) {
				r.History = append(r.History, str())
			}
		}
		var nb []publish.Scored
		for range rng.IntN(5) {
			r.Items = append(r.Items, publish.Recommended{Item: str(), Score: float(), Source: publish.Source(1 + rng.IntN(3))})
			nb = append(nb, publish.Scored{Item: str(), Score: float()})
		}
		want, _ := json.Marshal(r)
		if got := appendRecommendations(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("appendRecommendations\n got %s\nwant %s", got, want)
		}
		item, v := str(), str()
		want, _ = json.Marshal(struct {
			Item    string           `json:"item"`
			Version string           `json:"version"`
			Items   []publish.Scored `json:"items"`
		}{item, v, append([]publish.Scored{}, nb...)})
		if got := appendSimilar(nil, item, v, nb); !bytes.Equal(got, want) {
			t.Fatalf("appendSimilar\n got %s\nwant %s", got, want)
		}
	}
	if got := string(appendFloat(nil, math.Inf(1))); got != "null" {
		t.Errorf("appendFloat(+Inf)=%s, want null", got)
	}
}
