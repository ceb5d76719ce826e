package main

import (
	"io"
	"sync"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/schollz/progressbar/v3"
)

// progressBars draws a bar per stage on stderr when a person is watching
// (stderr is a terminal, so logs are text); schedulers get JSON logs and
// no bars. github.com/schollz/progressbar/v3 draws them: rate, counts and
// ETA on one redrawn line, which is not worth hand-writing.
type progressBars struct {
	w        io.Writer
	enabled  bool
	throttle time.Duration // least time between redraws
}

func (m *Main) progressBars() *progressBars {
	return &progressBars{w: m.Stderr, enabled: isTerminal(m.Stderr), throttle: 100 * time.Millisecond}
}

func (p *progressBars) bar(total int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(p.throttle),
		progressbar.OptionClearOnFinish(),
	)
}

// counter returns a callback that sets a bar to (done, total); nil when
// bars are off, so callers skip the work.
func (p *progressBars) counter(desc string) func(done, total int64) {
	if p == nil || !p.enabled {
		return nil
	}
	var mu sync.Mutex
	var b *progressbar.ProgressBar
	return func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if b == nil {
			b = p.bar(total, desc)
		}
		b.Set64(done)
		if done >= total {
			b.Finish()
		}
	}
}

// ingest is for features.Options.Progress.
func (p *progressBars) ingest() func(done, total int64) { return p.counter("ingest ") }

// model is for model.Options.Progress.
func (p *progressBars) model() func(done, total int) {
	f := p.counter("model  ")
	if f == nil {
		return nil
	}
	return func(done, total int) { f(int64(done), int64(total)) }
}

// publish is for publish.Writer.Progress.
func (p *progressBars) publish() func(publish.Progress) {
	f := p.counter("publish")
	if f == nil {
		return nil
	}
	return func(pr publish.Progress) { f(pr.Done, pr.Total) }
}
