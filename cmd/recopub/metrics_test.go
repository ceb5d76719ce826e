package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/recopub/recopub/publish/redistest"
)

func TestMetricsTextfileAndPushgateway(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	var mu sync.Mutex
	var pushes []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		pushes = append(pushes, r.Method+" "+r.URL.Path+"\n"+string(b))
		mu.Unlock()
	}))
	defer gw.Close()
	prom := filepath.Join(t.TempDir(), "recopub.prom")
	args := []string{"run", "--events", filepath.Join(dir, "events"), "--redis", s.URL(),
		"--metrics-textfile", prom, "--pushgateway", gw.URL}
	mustRunOK(t, "", args...)
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		`recopub_last_run_success{namespace="reco"} 1`,
		`recopub_last_success_timestamp_seconds{namespace="reco"}`,
		`recopub_stage_duration_seconds{namespace="reco",stage="ingest"}`,
		`recopub_stage_duration_seconds{namespace="reco",stage="publish"}`,
		`recopub_events_read{namespace="reco"} 20000`,
		`recopub_published_version_info{namespace="reco",version="`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("textfile lacks %q:\n%s", want, text)
		}
	}
	if len(pushes) != 1 || !strings.HasPrefix(pushes[0], "PUT /metrics/job/recopub") {
		t.Fatalf("pushes %q", pushes)
	}

	// A failed run: exit 4, success 0, the last success timestamp kept,
	// and a POST so the gateway keeps it too.
	bad := filepath.Join(t.TempDir(), "bad.parquet")
	os.WriteFile(bad, []byte("nope"), 0o644)
	if code, _, _ := run(t, "run", "--events", bad, "--redis", s.URL(), "--metrics-textfile", prom, "--pushgateway", gw.URL); code != exitRejected {
		t.Fatalf("exit %d, want %d", code, exitRejected)
	}
	b, _ = os.ReadFile(prom)
	text = string(b)
	for _, want := range []string{
		`recopub_last_run_success{namespace="reco"} 0`,
		`recopub_last_run_exit_code{namespace="reco"} 4`,
		`recopub_last_success_timestamp_seconds{namespace="reco"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("failed run's textfile lacks %q:\n%s", want, text)
		}
	}
	if len(pushes) != 2 || !strings.HasPrefix(pushes[1], "POST ") || strings.Contains(pushes[1], "last_success") {
		t.Errorf("failed run push %q", pushes[len(pushes)-1])
	}
}
