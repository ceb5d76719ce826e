// Package runmetrics reports the outcome of a batch run to Prometheus, for
// schedulers that run recopub as a job: a textfile for node_exporter's
// textfile collector, or a push to a Pushgateway. Both are written by
// client_golang (prometheus.WriteToTextfile, push.Pusher), so the
// exposition format, label escaping and atomic file replacement are the
// library's.
//
// A failed run must not erase when the job last succeeded, which is what
// the usual alert (time() - recopub_last_success_timestamp_seconds > …)
// watches: a failed run's textfile carries the previous file's
// recopub_last_success_timestamp_seconds, and its push is a POST, which
// replaces only the metrics it sends, where a success PUTs the whole
// group.
package runmetrics

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Job is the Pushgateway job name runs are pushed under.
const Job = "recopub"

// LastSuccess is the metric that survives failed runs.
const LastSuccess = "recopub_last_success_timestamp_seconds"

// Run is what a run reports.
type Run struct {
	Namespace string    // the key namespace, a label of every metric
	Err       error     // nil if the run succeeded
	ExitCode  int       // the process's exit code
	Ended     time.Time // when the run ended
	// DryRun marks a run that published nothing: it never counts as the
	// last success, which alerts use to tell whether Redis is fresh.
	DryRun bool
	// Stages are the seconds spent in each stage.
	Stages map[string]float64
	// Counts are nil when the run failed before it had any.
	Counts *Counts
}

// Counts are a run's sizes.
type Counts struct {
	EventsRead    int64
	EventsKept    int64
	EventsDropped map[string]int64 // by reason
	Users         int64
	Items         int64
	ListsWritten  int64
	HashesWritten int64
	Version       string // the version made live; empty for a dry run
}

// Registry returns a registry holding r's metrics.
func (r Run) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	ns := prometheus.Labels{"namespace": r.Namespace}
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: ns}, nil)
		g.With(nil).Set(v)
		reg.MustRegister(g)
	}
	success := 0.0
	if r.Err == nil {
		success = 1
	}
	gauge("recopub_last_run_success", "1 if the last run published (or dry-ran) successfully, else 0.", success)
	gauge("recopub_last_run_exit_code", "Exit code of the last run (0 ok, 1 failed, 2 usage, 3 locked, 4 input rejected).", float64(r.ExitCode))
	gauge("recopub_last_run_timestamp_seconds", "When the last run ended.", float64(r.Ended.Unix()))
	if r.published() {
		gauge(LastSuccess, "When the last successful run ended.", float64(r.Ended.Unix()))
	}
	vec := func(name, help, label string, values map[string]float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: ns}, []string{label})
		for _, k := range slices.Sorted(maps.Keys(values)) {
			g.WithLabelValues(k).Set(values[k])
		}
		reg.MustRegister(g)
	}
	vec("recopub_stage_duration_seconds", "Seconds spent in each stage of the last run.", "stage", r.Stages)
	c := r.Counts
	if c == nil {
		return reg
	}
	gauge("recopub_events_read", "Event rows read by the last run.", float64(c.EventsRead))
	gauge("recopub_events_kept", "Event rows used by the last run.", float64(c.EventsKept))
	gauge("recopub_users", "Users with at least one kept event in the last run.", float64(c.Users))
	gauge("recopub_items", "Items with at least one kept event in the last run.", float64(c.Items))
	gauge("recopub_lists_written", "Neighbour lists written by the last run.", float64(c.ListsWritten))
	gauge("recopub_hashes_written", "User feature hashes written by the last run.", float64(c.HashesWritten))
	dropped := make(map[string]float64, len(c.EventsDropped))
	for k, v := range c.EventsDropped {
		dropped[k] = float64(v)
	}
	vec("recopub_events_dropped", "Event rows dropped by the last run, by reason.", "reason", dropped)
	if c.Version != "" {
		vec("recopub_published_version_info", "The version the last successful run made live.", "version", map[string]float64{c.Version: 1})
	}
	return reg
}

// published says whether r made a version live (or would have, for
// callers that do not report versions): a successful run that is not dry.
func (r Run) published() bool { return r.Err == nil && !r.DryRun }

// WriteTextfile writes r's metrics to path for node_exporter's textfile
// collector, replacing the file atomically. A failed or dry run keeps the
// last success timestamp of the file it replaces.
func WriteTextfile(path string, r Run) error {
	reg := r.Registry()
	if !r.published() {
		if t, ok := lastSuccess(path, r.Namespace); ok {
			g := prometheus.NewGauge(prometheus.GaugeOpts{
				Name: LastSuccess, Help: "When the last successful run ended.",
				ConstLabels: prometheus.Labels{"namespace": r.Namespace},
			})
			g.Set(t)
			reg.MustRegister(g)
		}
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	// WriteToTextfile creates the file 0600; node_exporter may run as
	// another user.
	if err := os.Chmod(path, 0o644); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	return nil
}

// lastSuccess reads the last success timestamp of namespace from an
// earlier textfile.
func lastSuccess(path, namespace string) (float64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return 0, false
	}
	fam, ok := fams[LastSuccess]
	if !ok {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "namespace" && l.GetValue() == namespace {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// Push sends r's metrics to the Pushgateway at gateway under job Job: a
// success replaces the group (PUT), a failure only the metrics it has
// (POST), so the last success timestamp survives; so does a dry run.
func Push(ctx context.Context, client *http.Client, gateway string, r Run) error {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	p := push.New(gateway, Job).Gatherer(r.Registry()).Client(client)
	var err error
	if r.published() {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("pushgateway: %s", redact(err.Error(), gateway))
	}
	return nil
}

// redact removes the user information of gateway from msg: the library's
// errors name the URL it pushed to.
func redact(msg, gateway string) string {
	u, err := url.Parse(gateway)
	if err != nil || u.User == nil {
		return msg
	}
	return strings.ReplaceAll(msg, u.User.String()+"@", "xxxxx@")
}
