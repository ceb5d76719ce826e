package runmetrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/recopub/recopub/publish/runmetrics"
)

// parse reads a textfile with Prometheus' own parser: whatever the label
// values hold, the file must parse.
func parse(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				if l.GetName() != "namespace" {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestWriteTextfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recopub.prom")
	ns := "we\"ird\\ns\nx" // escaped by the exposition rules, not Go's %q
	ok := runmetrics.Run{
		Namespace: ns, Ended: time.Unix(1000, 0), Stages: map[string]float64{"ingest": 1.5, "publish": 2},
		Counts: &runmetrics.Counts{EventsRead: 10, EventsKept: 9, EventsDropped: map[string]int64{"bad_time": 1},
			Users: 3, Items: 4, ListsWritten: 4, HashesWritten: 3, Version: "v1"},
	}
	if err := runmetrics.WriteTextfile(path, ok); err != nil {
		t.Fatal(err)
	}
	got := parse(t, path)
	for k, want := range map[string]float64{
		"recopub_last_run_success":                    1,
		runmetrics.LastSuccess:                        1000,
		"recopub_stage_duration_seconds,stage=ingest": 1.5,
		"recopub_events_dropped,reason=bad_time":      1,
		"recopub_published_version_info,version=v1":   1,
		"recopub_hashes_written":                      3,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}

	// A failed run keeps the last success of the file it replaces.
	failed := runmetrics.Run{Namespace: ns, Err: errors.New("boom"), ExitCode: 4, Ended: time.Unix(2000, 0)}
	if err := runmetrics.WriteTextfile(path, failed); err != nil {
		t.Fatal(err)
	}
	got = parse(t, path)
	if got["recopub_last_run_success"] != 0 || got["recopub_last_run_exit_code"] != 4 || got[runmetrics.LastSuccess] != 1000 {
		t.Errorf("after a failed run: %v", got)
	}
}

func TestPush(t *testing.T) {
	var methods []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		methods = append(methods, r.Method+" "+r.URL.Path)
		if strings.Contains(r.URL.Path, "fail") {
			http.Error(w, "nope", http.StatusBadGateway)
		}
	}))
	defer gw.Close()
	ctx := context.Background()
	if err := runmetrics.Push(ctx, nil, gw.URL, runmetrics.Run{Namespace: "reco"}); err != nil {
		t.Fatal(err)
	}
	if err := runmetrics.Push(ctx, nil, gw.URL, runmetrics.Run{Namespace: "reco", Err: errors.New("x")}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(methods, "; "), "PUT /metrics/job/recopub; POST /metrics/job/recopub"; got != want {
		t.Errorf("pushes %q, want %q", got, want)
	}
	withCreds := strings.Replace(gw.URL, "http://", "http://user:s3cret@", 1) + "/fail"
	err := runmetrics.Push(ctx, nil, withCreds, runmetrics.Run{Namespace: "reco"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("push to a failing gateway: %v (must fail without the password)", err)
	}
}

// TestDryRunIsNotASuccess: a dry run published nothing, so it must not
// move the last success timestamp that freshness alerts watch, neither in
// the textfile nor at the Pushgateway (POST keeps the group's other
// metrics; PUT would replace them).
func TestDryRunIsNotASuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recopub.prom")
	if err := runmetrics.WriteTextfile(path, runmetrics.Run{Namespace: "reco", Ended: time.Unix(1000, 0)}); err != nil {
		t.Fatal(err)
	}
	dry := runmetrics.Run{Namespace: "reco", Ended: time.Unix(2000, 0), DryRun: true}
	if err := runmetrics.WriteTextfile(path, dry); err != nil {
		t.Fatal(err)
	}
	got := parse(t, path)
	if got, want := got[runmetrics.LastSuccess], 1000.0; got != want {
		t.Errorf("after a dry run %s = %v, want %v", runmetrics.LastSuccess, got, want)
	}
	if got, want := got["recopub_last_run_timestamp_seconds"], 2000.0; got != want {
		t.Errorf("after a dry run last_run_timestamp = %v, want %v", got, want)
	}

	var methods []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), runmetrics.LastSuccess) {
			t.Errorf("dry run pushed %s", runmetrics.LastSuccess)
		}
		methods = append(methods, r.Method)
	}))
	defer gw.Close()
	if err := runmetrics.Push(context.Background(), nil, gw.URL, dry); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(methods, ","), "POST"; got != want {
		t.Errorf("dry run pushed with %q, want %q", got, want)
	}
}
