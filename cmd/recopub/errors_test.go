package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refusedURL is a Redis URL on a private port nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "redis://" + addr + "/0"
}

// TestEveryCommandReportsItsError runs each command with an input it must
// refuse and checks the error is printed once, on stderr, with the
// documented exit code (README "Logs, exit codes, metrics").
func TestEveryCommandReportsItsError(t *testing.T) {
	dir := MustGen(t)
	tmp := t.TempDir()
	refused := refusedURL(t)
	// One wording for a Redis that does not answer, in every command.
	unreachable := "Redis at " + strings.TrimSuffix(strings.TrimPrefix(refused, "redis://"), "/0") +
		" is unreachable (connection refused); is redis-server running? check --redis / REDIS_URL"
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notADir := filepath.Join(tmp, "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	events := filepath.Join(dir, "events")
	tests := []struct {
		name string
		args []string
		code int
		msg  string // in stderr, once
	}{
		{"gen", []string{"gen", "--out", filepath.Join(notADir, "out"), "--users", "10", "--items", "10", "--events", "100"}, exitFailed, "not a directory"},
		{"gen usage", []string{"gen", "--users", "x"}, exitUsage, `--users "x": want an integer`},
		{"run", []string{"run", "--events", "/nonexistent/x.parquet", "--dry-run"}, exitRejected, "no such file or directory"},
		{"run refused", []string{"run", "--events", events, "--redis", refused}, exitFailed, unreachable},
		{"run usage", []string{"run", "--events", events, "--metric", "nope"}, exitUsage, "unknown metric"},
		{"publish", []string{"publish", "--from", filepath.Join(tmp, "missing"), "--redis", refused}, exitRejected, "manifest.json"},
		{"similar", []string{"similar", "P1", "--redis", refused}, exitFailed, unreachable},
		{"user", []string{"user", "U1", "--redis", refused}, exitFailed, unreachable},
		{"recommend", []string{"recommend", "U1", "--redis", refused}, exitFailed, unreachable},
		{"versions", []string{"versions", "--redis", refused}, exitFailed, unreachable},
		{"rollback", []string{"rollback", "--redis", refused}, exitFailed, unreachable},
		{"gc", []string{"gc", "--redis", refused}, exitFailed, unreachable},
		{"eval", []string{"eval", "--events", "/nonexistent/x.parquet"}, exitRejected, "no such file or directory"},
		{"import-csv", []string{"import-csv", "--format", "groceries", "--in", filepath.Join(tmp, "missing.csv"), "--out", filepath.Join(tmp, "x.parquet")}, exitFailed, "missing.csv"},
		{"serve", []string{"serve", "--addr", busy.Addr().String(), "--redis", refused}, exitFailed, "address already in use"},
		{"config", []string{"config", "--print", "--config", filepath.Join(tmp, "missing.yaml")}, exitUsage, "missing.yaml"},
		{"report", []string{"report", "--compare", filepath.Join(tmp, "missing-a"), filepath.Join(tmp, "missing-b")}, exitRejected, "manifest.json"},
		{"unknown", []string{"nope"}, exitUsage, `unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			if got := strings.Count(stderr, tt.msg); got != 1 {
				t.Errorf("stderr names %q %d times, want once:\n%s", tt.msg, got, stderr)
			}
		})
	}
}

// TestEvalReportIntoMissingFolder: the results table is printed before the
// report that cannot be written, and the error is reported.
func TestEvalReportIntoMissingFolder(t *testing.T) {
	dir := MustGen(t)
	report := filepath.Join(t.TempDir(), "out", "eval.html")
	code, stdout, stderr := run(t, "eval", "--events", filepath.Join(dir, "events"), "--report", report)
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stdout, "cosine") {
		t.Errorf("stdout has no results table:\n%s", stdout)
	}
	if want := "recopub eval: write report: open " + report; strings.Count(stderr, want) != 1 {
		t.Errorf("stderr does not name the report once (%q):\n%s", want, stderr)
	}
}
