package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/schollz/progressbar/v3"
)

// progressBars draws a bar per stage on stderr when a person is watching
// (stderr is a terminal, so logs are text); schedulers get JSON logs and
// no bars. github.com/schollz/progressbar/v3 draws them: rate, counts and
// ETA on one redrawn line, which is not worth hand-writing.
//
// Each stage (ingest, model, user lists, write model (run --dry-run --out),
// publish lists, publish hashes, verify, flip) gets its own bar, created when the stage starts, so its rate and ETA
// count from then. Bars and log lines share the terminal through mu: a log
// line first clears the bar's line (logger), so it never lands on it.
type progressBars struct {
	w        io.Writer // the terminal
	enabled  bool
	throttle time.Duration // least time between redraws

	mu     sync.Mutex // the terminal's current line
	dirty  bool       // the line holds a bar's drawing
	stages map[string]*stageBar
	cur    *stageBar // the stage drawn last
}

func (m *Main) progressBars() *progressBars {
	return &progressBars{w: m.Stderr, enabled: isTerminal(m.Stderr), throttle: 100 * time.Millisecond}
}

func (p *progressBars) on() bool { return p != nil && p.enabled }

// Write draws a bar: the line is then dirty until a newline.
func (p *progressBars) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(b) > 0 {
		p.dirty = b[len(b)-1] != '\n'
	}
	return p.w.Write(b)
}

// clearLine erases a bar's drawing; p.mu is held.
func (p *progressBars) clearLine() {
	if p.dirty {
		io.WriteString(p.w, "\r\x1b[K")
		p.dirty = false
	}
}

// stageBar is the bar of one stage.
type stageBar struct {
	p    *progressBars
	desc string
	mu   sync.Mutex
	b    *progressbar.ProgressBar
	max  int64
	done bool
}

// stage returns the bar of desc, the same one for every call.
func (p *progressBars) stage(desc string) *stageBar {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stages == nil {
		p.stages = make(map[string]*stageBar)
	}
	s := p.stages[desc]
	if s == nil {
		s = &stageBar{p: p, desc: desc}
		p.stages[desc] = s
	}
	return s
}

// begin draws desc's bar now, its total still unknown (-1 until set
// learns it), so that rate and ETA count from the stage's start.
func (p *progressBars) begin(desc string) {
	if p.on() {
		p.stage(desc).set(0, -1)
	}
}

// end finishes desc's bar, whatever its count.
func (p *progressBars) end(desc string) {
	if p.on() {
		p.stage(desc).finish()
	}
}

// set moves the bar to done of total (total < 0: not known yet),
// creating it on the first call, and finishes it at total.
func (s *stageBar) set(done, total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if s.b == nil {
		s.b = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(s.p),
			progressbar.OptionSetDescription(s.desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(s.p.throttle),
			progressbar.OptionClearOnFinish(),
		)
		s.max = total
		s.p.mu.Lock()
		s.p.cur = s
		s.p.mu.Unlock()
		s.b.RenderBlank()
	}
	if total >= 0 && total != s.max {
		s.b.ChangeMax64(total)
		s.max = total
	}
	s.b.Set64(done)
	if total >= 0 && done >= total {
		s.b.Finish()
		s.done = true
	}
}

// finish ends the bar at its total (a stage that ended early or whose
// last count was not reported).
func (s *stageBar) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != nil && !s.done {
		s.b.Finish()
		s.done = true
	}
}

// redraw draws the current bar again after a log line.
func (s *stageBar) redraw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != nil && !s.done {
		s.b.RenderBlank()
	}
}

// counter returns a callback that sets desc's bar to (done, total); nil
// when bars are off, so callers skip the work.
func (p *progressBars) counter(desc string) func(done, total int64) {
	if !p.on() {
		return nil
	}
	return func(done, total int64) { p.stage(desc).set(done, total) }
}

// Bar descriptions, padded so that the bars line up.
const (
	barIngest = "ingest        "
	barModel  = "model         "
	barFlip   = "flip          "
	barUsers  = "user lists    "
	barFiles  = "write model   "
)

// ingest is for features.Options.Progress.
func (p *progressBars) ingest() func(done, total int64) { return p.counter(barIngest) }

// model is for model.Options.Progress.
func (p *progressBars) model() func(done, total int) {
	f := p.counter(barModel)
	if f == nil {
		return nil
	}
	return func(done, total int) { f(int64(done), int64(total)) }
}

// publishStages names the bar of each publish.Progress stage.
var publishStages = map[string]string{
	publish.StageLists:  "publish lists ",
	publish.StageHashes: "publish hashes",
	publish.StageVerify: "verify        ",
}

// publish is for publish.Writer.Progress: a bar per stage, each started
// when the writer announces it and finished when the next one starts.
func (p *progressBars) publish() func(publish.Progress) {
	if !p.on() {
		return nil
	}
	var mu sync.Mutex
	var last *stageBar
	return func(pr publish.Progress) {
		desc, ok := publishStages[pr.Stage]
		if !ok {
			desc = "publish " + pr.Stage
		}
		s := p.stage(desc)
		mu.Lock()
		if last != nil && last != s {
			last.finish()
		}
		last = s
		mu.Unlock()
		s.set(pr.StageDone, pr.StageTotal)
	}
}

// step draws a one-step bar for desc (the flip) and returns the function
// that completes it.
func (p *progressBars) step(desc string) (done func()) {
	if !p.on() {
		return func() {}
	}
	s := p.stage(desc)
	s.set(0, 1)
	return func() { s.set(1, 1) }
}

// logger returns log writing through the bars: each record first clears a
// bar's line and the bar is drawn again after it. Without bars it is log.
func (p *progressBars) logger(log *slog.Logger) *slog.Logger {
	if !p.on() {
		return log
	}
	return slog.New(barHandler{log.Handler(), p})
}

// barHandler is a slog.Handler that keeps log lines off the bars' line.
type barHandler struct {
	slog.Handler
	p *progressBars
}

func (h barHandler) Handle(ctx context.Context, r slog.Record) error {
	h.p.mu.Lock()
	h.p.clearLine()
	err := h.Handler.Handle(ctx, r)
	cur := h.p.cur
	h.p.mu.Unlock()
	if cur != nil {
		cur.redraw()
	}
	return err
}

func (h barHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return barHandler{h.Handler.WithAttrs(as), h.p}
}

func (h barHandler) WithGroup(name string) slog.Handler {
	return barHandler{h.Handler.WithGroup(name), h.p}
}

// modelFiles returns m with its lists and feature hashes counted on the
// "write model" bar as they are read, for publish.ModelWriter (run
// --dry-run --out): the bar is drawn now, its total every list of every
// family plus every hash. m itself is unchanged; without bars it is m.
func (p *progressBars) modelFiles(m *publish.Model) *publish.Model {
	if !p.on() {
		return m
	}
	var total int64
	for _, f := range m.Families {
		total += int64(f.Lists.Len())
	}
	if m.Users != nil {
		total += int64(m.Users.Len())
	}
	c := &readCounter{s: p.stage(barFiles), total: total}
	c.s.set(0, total)
	out := *m
	out.Families = make([]publish.Family, len(m.Families))
	for i, f := range m.Families {
		out.Families[i] = publish.Family{Name: f.Name, Lists: c.lists(f.Lists)}
	}
	if m.Users != nil {
		out.Users = countedHashes{m.Users, c}
	}
	return &out
}

// readCounter moves a bar by one for each list or hash read, redrawing
// every readStep reads (the bar throttles its drawing too).
type readCounter struct {
	s     *stageBar
	total int64
	n     atomic.Int64
}

const readStep = 256

func (c *readCounter) tick() {
	if n := c.n.Add(1); n%readStep == 0 || n == c.total {
		c.s.set(n, c.total)
	}
}

// lists wraps src, keeping publish.CountedLists when src has it.
func (c *readCounter) lists(src publish.ListSource) publish.ListSource {
	if cl, ok := src.(publish.CountedLists); ok {
		return countedCountedLists{countedLists{cl, c}, cl}
	}
	return countedLists{src, c}
}

type countedLists struct {
	publish.ListSource
	c *readCounter
}

func (l countedLists) List(i int, dst *publish.List) {
	l.ListSource.List(i, dst)
	l.c.tick()
}

type countedCountedLists struct {
	countedLists
	counts publish.CountedLists
}

func (l countedCountedLists) Counts(i int, dst []int64) []int64 { return l.counts.Counts(i, dst) }

type countedHashes struct {
	publish.HashSource
	c *readCounter
}

func (h countedHashes) Hash(i int, dst *publish.Hash) {
	h.HashSource.Hash(i, dst)
	h.c.tick()
}
