package main

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
)

// fakeTerm is a terminal for bar tests: it keeps the bytes written, under
// a lock since bars and logs write from several goroutines.
type fakeTerm struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (f *fakeTerm) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(b)
}

func (f *fakeTerm) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

// screenLines is what a terminal shows for out, line by line: \r returns
// to the line's start, ESC[K and ESC[J erase to the end of the line,
// other escape sequences draw nothing, and other text overwrites.
func screenLines(out string) []string {
	var lines []string
	var line []rune
	col := 0
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\r':
			col = 0
		case r == '\n':
			lines = append(lines, strings.TrimRight(string(line), " "))
			line, col = nil, 0
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j < len(rs) && (rs[j] == 'K' || rs[j] == 'J') {
				line = line[:min(col, len(line))]
			}
			i = j
		default:
			for len(line) <= col {
				line = append(line, ' ')
			}
			line[col] = r
			col++
		}
	}
	return append(lines, strings.TrimRight(string(line), " "))
}

func TestScreenLines(t *testing.T) {
	got := strings.Join(screenLines("bar 1\rbar 22\r\x1b[Klog\nx\r  \ry"), "|")
	if want := "log|y"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProgressBars(t *testing.T) {
	if (&progressBars{enabled: false}).model() != nil || (*progressBars)(nil).publish() != nil {
		t.Error("bars drawn although stderr is not a terminal")
	}
	term := &fakeTerm{}
	p := &progressBars{w: term, enabled: true}
	f := p.model()
	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f(i*25, 100) }()
	}
	wg.Wait()
	if out := term.String(); !strings.Contains(out, "model") || !strings.Contains(out, "/100") {
		t.Errorf("model bar: %q", out)
	}
	f(100, 100)
	// Every publish stage gets its own bar, drawn as the stage starts.
	pub := p.publish()
	for _, st := range []struct {
		stage, desc string
		total       int64
	}{
		{publish.StageLists, "publish lists", 10},
		{publish.StageHashes, "publish hashes", 7},
		{publish.StageVerify, "verify", 3},
	} {
		before := len(term.String())
		pub(publish.Progress{Stage: st.stage, StageTotal: st.total})
		if out := term.String()[before:]; !strings.Contains(out, st.desc) || !strings.Contains(out, "0/"+strconv.FormatInt(st.total, 10)) {
			t.Errorf("%s bar not drawn when the stage starts: %q", st.stage, out)
		}
		pub(publish.Progress{Stage: st.stage, StageDone: st.total / 2, StageTotal: st.total})
	}
	done := p.step(barFlip)
	if out := term.String(); !strings.Contains(out, "flip") || !strings.Contains(out, "0/1") {
		t.Errorf("flip bar: %q", out)
	}
	done()
}

var rateRE = regexp.MustCompile(`\((\d+)/(\d+), ([0-9.]+) it/s\)`)

// TestProgressRate: a stage that reaches 300 keys 200 ms after it began
// shows about 1,500 keys/s, not a rate computed from a bar created just
// before its first count (what a bar created at the first 10 s report
// showed: 53943190868 it/s).
func TestProgressRate(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(p *progressBars, done int64)
	}{
		{"publish", func(p *progressBars, done int64) {
			p.publish()(publish.Progress{Stage: publish.StageLists, StageDone: done, StageTotal: 1000})
		}},
		{"model", func(p *progressBars, done int64) { p.model()(int(done), 1000) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			term := &fakeTerm{}
			p := &progressBars{w: term, enabled: true}
			start := time.Now()
			if tt.name == "publish" {
				tt.set(p, 0) // the writer announces the stage
			} else {
				p.begin(barModel) // where run starts the model stage
			}
			time.Sleep(200 * time.Millisecond)
			tt.set(p, 300)
			elapsed := time.Since(start).Seconds()
			ms := rateRE.FindAllStringSubmatch(term.String(), -1)
			if len(ms) == 0 {
				t.Fatalf("no rate drawn: %q", term.String())
			}
			last := ms[len(ms)-1]
			rate, _ := strconv.ParseFloat(last[3], 64)
			if last[1] != "300" || rate <= 0 || rate > 300/elapsed*1.5 || rate < 300/elapsed/4 {
				t.Errorf("drew %q: rate %v it/s, want about %.0f", last[0], rate, 300/elapsed)
			}
		})
	}
}

// TestProgressLogsOffBars: log lines written while bars are drawn each
// get a line of their own on the screen.
func TestProgressLogsOffBars(t *testing.T) {
	term := &fakeTerm{}
	p := &progressBars{w: term, enabled: true}
	log := p.logger(slog.New(slog.NewTextHandler(term, nil))).With("run", 1)
	pub := p.publish()
	pub(publish.Progress{Stage: publish.StageLists, StageTotal: 100})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				pub(publish.Progress{Stage: publish.StageLists, StageDone: int64(25*i + j), StageTotal: 100})
				log.Info("wrote lists", "family", "sim", "keys", j)
			}
		})
	}
	wg.Wait()
	pub(publish.Progress{Stage: publish.StageHashes, StageTotal: 10})
	log.Info("between stages")
	var logs int
	for _, l := range screenLines(term.String()) {
		isLog := strings.Contains(l, "msg=")
		if isLog {
			logs++
		}
		if isLog && (strings.Contains(l, "it/s") || strings.Contains(l, "publish") || !strings.HasPrefix(l, "time=")) {
			t.Errorf("a log line shares its line with a bar: %q", l)
		}
	}
	if logs != 101 {
		t.Errorf("%d log lines on the screen, want 101", logs)
	}
}

// countingLists is a publish.CountedLists of n lists of two members.
type countingLists struct{ n int }

func (l countingLists) Len() int { return l.n }
func (l countingLists) List(i int, dst *publish.List) {
	dst.ID = "P" + strconv.Itoa(i)
	dst.Members = append(dst.Members, "P"+strconv.Itoa(i+1), "P"+strconv.Itoa(i+2))
	dst.Scores = append(dst.Scores, 0.5, 0.25)
}
func (l countingLists) Counts(i int, dst []int64) []int64 { return append(dst, int64(i), 1) }

// TestProgressModelFiles: run --dry-run --out's write gets a bar of its
// own, drawn when the write starts (0 of every list and hash), moving as
// ModelWriter reads them at the rate it reads them, and finished; the
// files are those written without bars (co_count kept).
func TestProgressModelFiles(t *testing.T) {
	const lists, hashes = 700, 324
	m := &publish.Model{
		Families: []publish.Family{{Name: publish.FamilySimilar, Lists: countingLists{lists}}},
		Users: publish.FuncHashes{N: hashes, Fn: func(i int, h *publish.Hash) {
			h.ID = "U" + strconv.Itoa(i)
			h.Fields, h.Values = append(h.Fields, "f"), append(h.Values, strconv.Itoa(i))
		}},
	}
	if (&progressBars{enabled: false}).modelFiles(m) != m {
		t.Error("model wrapped although stderr is not a terminal")
	}
	term := &fakeTerm{}
	p := &progressBars{w: term, enabled: true}
	start := time.Now()
	wrapped := p.modelFiles(m)
	if out := term.String(); !strings.Contains(out, "write model") || !strings.Contains(out, "0/1024") {
		t.Fatalf("write model bar not drawn when the write starts: %q", out)
	}
	time.Sleep(200 * time.Millisecond)
	plain, barred := t.TempDir(), t.TempDir()
	ctx := t.Context()
	if _, err := (&publish.ModelWriter{Dir: plain}).Write(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := (&publish.ModelWriter{Dir: barred}).Write(ctx, wrapped, nil); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start).Seconds()
	p.end(barFiles)
	ms := rateRE.FindAllStringSubmatch(term.String(), -1)
	if len(ms) == 0 {
		t.Fatalf("no rate drawn: %q", term.String())
	}
	last := ms[len(ms)-1]
	done, _ := strconv.ParseFloat(last[1], 64)
	rate, _ := strconv.ParseFloat(last[3], 64)
	if last[2] != "1024" || done < readStep || rate > done/0.2*1.5 || rate < done/elapsed/4 {
		t.Errorf("drew %q: want n/1024 at about n/%.1fs per second", last[0], elapsed)
	}
	if got := screenLines(term.String()); strings.TrimSpace(got[len(got)-1]) != "" {
		t.Errorf("the finished bar stays on the screen: %q", got[len(got)-1])
	}
	for _, f := range []string{publish.NeighborsFile, publish.FeaturesFile} {
		a, err := os.ReadFile(filepath.Join(plain, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(barred, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s written through the bar differs from the one written without", f)
		}
	}
}

// TestProgressOnTerminal runs the job with stderr on a terminal (a pty,
// by util-linux's script) and checks what it draws: one bar per stage,
// each first drawn in the order the stages run, and no log line sharing
// a line with a bar.
func TestProgressOnTerminal(t *testing.T) {
	rs := redistest.Start(t)
	sh := newReadmeShell(t, nil)
	data := MustGen(t)
	in := "--events " + filepath.Join(data, "events") + " --profiles " + filepath.Join(data, "profiles")
	for _, tt := range []struct {
		name, args string
		bars       []string
	}{
		{"publish", "run " + in + " --redis " + rs.URL() + " --user-lists 5",
			[]string{"ingest", "model", "user lists", "publish lists", "publish hashes", "verify", "flip"}},
		{"dry run --out", "run --dry-run --out " + filepath.Join(t.TempDir(), "m") + " " + in,
			[]string{"ingest", "model", "write model"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runOnTerminal(t, sh, tt.args)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			at := -1
			for _, b := range tt.bars {
				// A bar: "desc  40% |███   | (4/10, ...)", or before its total
				// is known "| desc  (0/-, ...)".
				loc := regexp.MustCompile(regexp.QuoteMeta(b) + ` +(\d+% \||\(\d+/-)`).FindStringIndex(out)
				if loc == nil {
					t.Errorf("no %q bar drawn:\n%q", b, out)
					continue
				}
				if loc[0] < at {
					t.Errorf("the %q bar first drawn before the stage before it", b)
				}
				at = loc[0]
			}
			for _, l := range screenLines(out) {
				if strings.Contains(l, "it/s") && strings.Contains(l, "=") {
					t.Errorf("a log line shares its line with a bar: %q", l)
				}
			}
		})
	}
}

// runOnTerminal runs recopub with args (no quotes in them) in sh's
// directory with stdout and stderr on a pseudo-terminal, by util-linux's
// script, and returns what was written to it and the exit code.
func runOnTerminal(t *testing.T, sh *readmeShell, args string) (string, int) {
	t.Helper()
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script (util-linux) not found: %v", err)
	}
	return sh.run(scriptBin + " -qfec 'recopub " + args + "' /dev/null")
}
