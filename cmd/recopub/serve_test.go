package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/httpapi/httpapitest"
	"github.com/recopub/recopub/publish/redistest"
)

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
	if _, err := (&publish.Writer{Client: rs.Client(t)}).Publish(context.Background(), httpapitest.Model()); err != nil {
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
	if _, err := (&publish.Writer{Client: rs.Client(t)}).Publish(context.Background(), httpapitest.Model()); err != nil {
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
