package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/recopub/recopub/publish/runmetrics"
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

// runReport is what a run reports as metrics. sum is nil when the run
// failed before it had counts.
func runReport(namespace string, sum *summary, stages map[string]float64, err error, code int, now time.Time) runmetrics.Run {
	r := runmetrics.Run{Namespace: namespace, Err: err, ExitCode: code, Ended: now, Stages: stages, DryRun: sum != nil && sum.DryRun}
	if sum != nil {
		r.Counts = &runmetrics.Counts{
			EventsRead: sum.EventsRead, EventsKept: sum.EventsKept, EventsDropped: sum.EventsDropped,
			Users: int64(sum.Users), Items: int64(sum.Items),
			ListsWritten: sum.ListsWritten, HashesWritten: sum.HashesWritten, Version: sum.Version,
		}
	}
	return r
}

// report writes the metrics where the flags say.
func (f *metricsFlags) report(ctx context.Context, r runmetrics.Run) error {
	var errs []error
	if f.textfile != "" {
		errs = append(errs, runmetrics.WriteTextfile(f.textfile, r))
	}
	if f.pushgateway != "" {
		errs = append(errs, runmetrics.Push(ctx, nil, f.pushgateway, r))
	}
	return errors.Join(errs...)
}
