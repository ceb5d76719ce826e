package main

import (
	"context"
	"encoding/json"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/httpapi/httpapitest"
	"github.com/recopub/recopub/publish/redistest"
)

// TestUsageErrorsAreOneLine: a mistake on the command line is answered
// with one line on stderr naming it, the closest valid names and the
// command's help, never the whole usage.
func TestUsageErrorsAreOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown command", []string{"simlar", "P1"}, []string{`unknown command "simlar"`, `did you mean "similar"?`, `run 'recopub -h'`}},
		{"unknown flag", []string{"run", "--events", "x", "--itemcol", "p"}, []string{"unknown flag --itemcol", "did you mean --item-col?", "run 'recopub run -h'"}},
		{"unknown value", []string{"run", "--events", "x", "--metric", "cosin"}, []string{`--metric "cosin"`, `did you mean "cosine"?`, "run 'recopub run -h'"}},
		{"bad integer", []string{"similar", "P1", "-n", "ten"}, []string{`--n "ten": want an integer`, "run 'recopub similar -h'"}},
		{"bad duration", []string{"gc", "--grace", "15"}, []string{`--grace "15": want a duration`, "run 'recopub gc -h'"}},
		{"missing value", []string{"recommend", "U1", "--exclude"}, []string{"--exclude needs a value", "run 'recopub recommend -h'"}},
		{"eval metric", []string{"eval", "--events", "x", "--metric", "llr,cosin"}, []string{`--metric "cosin"`, `did you mean "cosine"?`, "run 'recopub eval -h'"}},
		{"eval split", []string{"eval", "--events", "x", "--split", "user-strat"}, []string{`--split "user-strat"`, `did you mean "user-stratified"?`}},
		{"features target", []string{"run", "--events", "x", "--features-target", "lve"}, []string{`--features-target "lve"`, `did you mean "live"?`}},
		{"out format", []string{"run", "--events", "x", "--dry-run", "--out", "d", "--out-format", "parq"}, []string{`--out-format "parq"`, `did you mean "parquet"?`}},
		{"bad log level", []string{"serve", "--log-level", "inf"}, []string{`--log-level "inf"`, `did you mean "info"?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if n := strings.Count(stderr, "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", n, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestHelpOnStdout: -h, --help and 'recopub help CMD' print the command's
// flags on stdout, grouped, and exit 0.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"run", "-h"}, {"run", "--help"}, {"help", "run"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := run(t, args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			last := -1
			for _, w := range []string{"Usage: recopub run", "\nInput:\n", "  --events ", "\nModel:\n", "  --metric ", "\nOutput:\n", "  --out ",
				"\nRedis:\n", "  --redis ", "\nOperations:\n", "  --keep "} {
				i := strings.Index(stdout, w)
				if i <= last {
					t.Errorf("help has %q at %d, want it after %d:\n%s", w, i, last, stdout)
				}
				last = i
			}
		})
	}
	for _, name := range commandNames() {
		if name == "help" {
			continue
		}
		code, stdout, stderr := run(t, name, "-h")
		if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "Usage: recopub "+name) {
			t.Errorf("%s -h: exit %d, stderr %q, stdout %.60q", name, code, stderr, stdout)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		if code, stdout, _ := run(t, args...); code != exitOK || !strings.Contains(stdout, "Commands:") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, stdout, stderr := run(t, arg)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", arg, code, stderr)
		}
		for _, w := range []string{"recopub ", "revision: ", "go: " + runtime.Version()} {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", arg, w, stdout)
			}
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Path: "github.com/recopub/recopub", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	var b strings.Builder
	readBuildInfo(bi).write(&b)
	if got, want := b.String(), "recopub v1.2.3\nrevision: abc123 (modified)\ngo: go1.99\n"; got != want {
		t.Errorf("version:\n%s\nwant:\n%s", got, want)
	}
}

// TestServeStartupUnreachable: serve starts without Redis (healthz says
// 503) and logs the same "unreachable" sentence as every other command.
func TestServeStartupUnreachable(t *testing.T) {
	refused := refusedURL(t)
	var stderr syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--redis", refused}) }()
	waitUntil(t, "serving", func() bool { return strings.Contains(stderr.String(), `"msg":"serving"`) })
	cancel()
	<-done
	want := "Redis at " + strings.TrimSuffix(strings.TrimPrefix(refused, "redis://"), "/0") +
		" is unreachable (connection refused); is redis-server running? check --redis / REDIS_URL"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, stderr.String())
	}
}

// TestReadCommandsJSON: every read command takes --json and prints the
// shape of its HTTP API answer.
func TestReadCommandsJSON(t *testing.T) {
	rs := redistest.Start(t)
	res, err := (&publish.Writer{Client: rs.Client(t)}).Publish(context.Background(), httpapitest.Model())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args  []string
		check func(t *testing.T, got map[string]any)
	}{
		{[]string{"similar", "a", "-n", "2"}, func(t *testing.T, got map[string]any) {
			items, _ := got["items"].([]any)
			if got["item"] != "a" || len(items) != 2 || items[0].(map[string]any)["item"] != "b" {
				t.Errorf("similar: %v", got)
			}
		}},
		{[]string{"user", "alice"}, func(t *testing.T, got map[string]any) {
			f, _ := got["features"].(map[string]any)
			if got["user"] != "alice" || f["membership_status"] != "gold" {
				t.Errorf("user: %v", got)
			}
		}},
		{[]string{"versions"}, func(t *testing.T, got map[string]any) {
			vs, _ := got["versions"].([]any)
			if got["live"] != res.Version || len(vs) != 1 || vs[0].(map[string]any)["id"] != res.Version {
				t.Errorf("versions: %v", got)
			}
		}},
		{[]string{"recommend", "alice", "-n", "2"}, func(t *testing.T, got map[string]any) {
			items, _ := got["items"].([]any)
			if len(items) != 2 {
				t.Errorf("recommend: %v", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			code, stdout, stderr := run(t, append(tt.args, "--json", "--redis", rs.URL())...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON (%v):\n%s", err, stdout)
			}
			if got["version"] != nil && got["version"] != res.Version {
				t.Errorf("version %v, want %s", got["version"], res.Version)
			}
			tt.check(t, got)
		})
	}
}
