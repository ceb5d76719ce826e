package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLogJSONGroupsAndSeconds: maps are logged as groups (objects), not
// Go's map syntax, and durations in seconds.
func TestLogJSONGroupsAndSeconds(t *testing.T) {
	var buf bytes.Buffer
	m := &Main{Stderr: &buf}
	log, err := m.newLogger("info")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("publish", "lists", map[string]int64{"sim": 93627, "pop": 1}, "dropped", map[string]int64{},
		"timeout", 10*time.Second, "seconds", 1.5)
	var got struct {
		Lists          map[string]int64 `json:"lists"`
		TimeoutSeconds float64          `json:"timeout_seconds"`
		Seconds        float64          `json:"seconds"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if got.Lists["sim"] != 93627 || got.Lists["pop"] != 1 || got.TimeoutSeconds != 10 || got.Seconds != 1.5 {
		t.Errorf("logged %s", buf.String())
	}
	if strings.Contains(buf.String(), "map[") {
		t.Errorf("Go map syntax in the log: %s", buf.String())
	}
}

// TestLogHumanOnTerminal: the terminal's text shows errors as written
// (no \" or \n escapes), groups as dotted keys and durations in seconds.
func TestLogHumanOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newHumanHandler(&buf, slog.LevelInfo)).With("run", "r1").WithGroup("ingest")
	log.Debug("hidden")
	log.Error("run failed; live version unchanged", "error", "--item-col \"product\": no such column\nin 7 files",
		"dropped", map[string]int64{"bad_time": 3, "no_item": 2}, "timeout", 10*time.Second, "files", 7)
	got := buf.String()
	for _, want := range []string{
		"ERROR run failed; live version unchanged run=r1 ingest.dropped.bad_time=3 ingest.dropped.no_item=2 ingest.timeout_seconds=10 ingest.files=7\n",
		"\n  ingest.error: --item-col \"product\": no such column\n    in 7 files\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{`\"`, `\n`, "map[", "hidden", "10000000000"} {
		if strings.Contains(got, bad) {
			t.Errorf("log has %q:\n%s", bad, got)
		}
	}
}

// TestRunLogHasNoGoMaps: a run's JSON log has its counts by reason and
// family as objects.
func TestRunLogHasNoGoMaps(t *testing.T) {
	dir := MustGen(t)
	out := filepath.Join(t.TempDir(), "model")
	code, _, stderr := run(t, "run", "--events", filepath.Join(dir, "events"), "--dry-run", "--out", out, "--max-future", "1h")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "map[") {
		t.Errorf("Go map syntax in the log:\n%s", stderr)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if rec["msg"] == "wrote model files" {
			lists, ok := rec["lists"].(map[string]any)
			found = ok && lists["sim"] != nil
		}
	}
	if !found {
		t.Errorf("no 'wrote model files' line with lists as an object:\n%s", stderr)
	}
}

// TestLogsOnTerminal runs the job with stderr on a terminal (a pty):
// human text, no Go map syntax, no escaped JSON text (\" or a literal \n),
// and an error several files share written once.
func TestLogsOnTerminal(t *testing.T) {
	sh := newReadmeShell(t, nil)
	events := filepath.Join(MustGen(t), "events")
	out, code := runOnTerminal(t, sh, "run --dry-run --events "+events)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, bad := range []string{"map[", `"msg":`, `"time":`} {
		if strings.Contains(out, bad) {
			t.Errorf("%q on the terminal:\n%s", bad, out)
		}
	}
	screen := strings.Join(screenLines(out), "\n")
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d INFO +ingest .*events_read=20000`).MatchString(screen) {
		t.Errorf("no human ingest line on the terminal:\n%s", out)
	}
	out, code = runOnTerminal(t, sh, "run --dry-run --item-col product --events "+events)
	if code != exitRejected {
		t.Fatalf("misspelled --item-col: exit %d, want %d:\n%s", code, exitRejected, out)
	}
	if strings.Contains(out, `\"`) || strings.Contains(out, `\n`) {
		t.Errorf("escaped text on the terminal:\n%s", out)
	}
	if n := strings.Count(out, `column "product" not found`); n != 1 {
		t.Errorf("the misspelled column reported %d times, want once naming the files:\n%s", n, out)
	}
}
