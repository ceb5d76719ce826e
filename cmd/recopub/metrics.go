package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// metricsFlags say where a run reports its metrics for schedulers.
type metricsFlags struct {
	textfile    string
	pushgateway string
}

func (f *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.textfile, "metrics-textfile", "", "write run metrics to this file in node_exporter textfile format (*.prom)")
	fs.StringVar(&f.pushgateway, "pushgateway", "", "push run metrics to this Prometheus Pushgateway URL")
}

const lastSuccessMetric = "recopub_last_success_timestamp_seconds"

// runMetrics renders the metrics of a run. sum is nil when the run failed
// before it had counts.
func runMetrics(namespace string, sum *summary, stages map[string]float64, err error, code int, now time.Time) string {
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	ns := fmt.Sprintf("namespace=%q", namespace)
	gauge("recopub_last_run_success", "1 if the last run published (or dry-ran) successfully, else 0.")
	fmt.Fprintf(&b, "recopub_last_run_success{%s} %d\n", ns, boolInt(err == nil))
	gauge("recopub_last_run_exit_code", "Exit code of the last run (0 ok, 1 failed, 2 usage, 3 locked, 4 input rejected).")
	fmt.Fprintf(&b, "recopub_last_run_exit_code{%s} %d\n", ns, code)
	gauge("recopub_last_run_timestamp_seconds", "When the last run ended.")
	fmt.Fprintf(&b, "recopub_last_run_timestamp_seconds{%s} %d\n", ns, now.Unix())
	if err == nil {
		gauge(lastSuccessMetric, "When the last successful run ended.")
		fmt.Fprintf(&b, "%s{%s} %d\n", lastSuccessMetric, ns, now.Unix())
	}
	gauge("recopub_stage_duration_seconds", "Seconds spent in each stage of the last run.")
	for _, st := range slices.Sorted(maps.Keys(stages)) {
		fmt.Fprintf(&b, "recopub_stage_duration_seconds{%s,stage=%q} %g\n", ns, st, stages[st])
	}
	if sum == nil {
		return b.String()
	}
	counts := []struct {
		name, help string
		v          int64
	}{
		{"recopub_events_read", "Event rows read by the last run.", sum.EventsRead},
		{"recopub_events_kept", "Event rows used by the last run.", sum.EventsKept},
		{"recopub_users", "Users with at least one kept event in the last run.", int64(sum.Users)},
		{"recopub_items", "Items with at least one kept event in the last run.", int64(sum.Items)},
		{"recopub_lists_written", "Neighbour lists written by the last run.", sum.ListsWritten},
		{"recopub_hashes_written", "User feature hashes written by the last run.", sum.HashesWritten},
	}
	for _, c := range counts {
		gauge(c.name, c.help)
		fmt.Fprintf(&b, "%s{%s} %d\n", c.name, ns, c.v)
	}
	gauge("recopub_events_dropped", "Event rows dropped by the last run, by reason.")
	for _, r := range slices.Sorted(maps.Keys(sum.EventsDropped)) {
		fmt.Fprintf(&b, "recopub_events_dropped{%s,reason=%q} %d\n", ns, r, sum.EventsDropped[r])
	}
	if sum.Version != "" {
		gauge("recopub_published_version_info", "The version the last successful run made live.")
		fmt.Fprintf(&b, "recopub_published_version_info{%s,version=%q} 1\n", ns, sum.Version)
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// report writes the metrics where the flags say. A failed run keeps the
// last success timestamp of the file it replaces.
func (f *metricsFlags) report(ctx context.Context, text string, success bool) error {
	var errs []string
	if f.textfile != "" {
		file := text
		if !success {
			file += carriedLastSuccess(f.textfile)
		}
		if err := writeAtomic(f.textfile, []byte(file)); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if f.pushgateway != "" {
		if err := push(ctx, f.pushgateway, text, success); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("report metrics: %s", strings.Join(errs, "; "))
	}
	return nil
}

// carriedLastSuccess returns the last-success lines of an earlier file.
func carriedLastSuccess(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if strings.Contains(sc.Text(), lastSuccessMetric) {
			out.WriteString(sc.Text() + "\n")
		}
	}
	return out.String()
}

// writeAtomic writes through a temporary file and a rename, so
// node_exporter never reads half a file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("metrics textfile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	return nil
}

// push sends the metrics to a Pushgateway under job "recopub". A success
// replaces the group (PUT); a failure only updates the metrics it has
// (POST), so the last success timestamp survives.
func push(ctx context.Context, gateway, text string, success bool) error {
	u, err := url.Parse(strings.TrimSuffix(gateway, "/") + "/metrics/job/recopub")
	if err != nil {
		return fmt.Errorf("pushgateway %q: %w", gateway, err)
	}
	method := http.MethodPut
	if !success {
		method = http.MethodPost
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(text))
	if err != nil {
		return fmt.Errorf("pushgateway: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pushgateway %s: %w", u.Redacted(), err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("pushgateway %s: %s", u.Redacted(), resp.Status)
	}
	return nil
}
