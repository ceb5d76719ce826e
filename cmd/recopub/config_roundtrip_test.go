package main

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// effective returns every run flag's value after the command line args
// and the environment env are merged, as run would use them.
func effective(t *testing.T, env map[string]string, args ...string) map[string]string {
	t.Helper()
	m := &Main{Getenv: func(k string) string { return env[k] }}
	rc := &runCommand{m: m}
	fs := rc.flags()
	if _, err := parse(fs, args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	if err := rc.cfg.apply(fs, m.Getenv, nil); err != nil {
		t.Fatalf("apply %v: %v", args, err)
	}
	got := make(map[string]string)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "set" {
			got[f.Name] = f.Value.String()
		}
	})
	return got
}

// TestConfigPrintRoundTrips: what config --print writes, read back with
// --config, is the same configuration.
func TestConfigPrintRoundTrips(t *testing.T) {
	dir := t.TempDir()
	nontrivial := filepath.Join(dir, "nontrivial.yaml")
	os.WriteFile(nontrivial, []byte(`
input:
  events: [a/events, b/events]
  profiles: [p]
  event_weights: {Order Completed: 5, Product Viewed: 1}
  since: 2026-01-01
  now: 2026-11-25T02:00:00Z
  days: 30
  workers: 3
  max_future: 2h
  item_col: products.product_id
model:
  metric: llr
  top_n: 20
  min_score: 0.25
  weighted: true
  half_life_days: 14
  cross_event: [Product Viewed, Product Added]
  segment_cols: membership_status
features:
  target: live
  prefix: rs
publish:
  keep: 0
  grace: 0s
  dry_run: true
redis:
  url: redis://alice@10.0.0.1:6380/2
  namespace: shop
  cluster: true
`), 0o644)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"defaults", nil, nil},
		{"non-trivial", map[string]string{"RECOPUB_MODEL_SEED": "7"}, []string{"--config", nontrivial, "--set", "model.k1=1.5", "--max-user-items", "0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := effective(t, tt.env, tt.args...)
			code, printed, stderr := runEnv(t, tt.env, append([]string{"config", "--print"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("config --print: exit %d: %s", code, stderr)
			}
			path := filepath.Join(t.TempDir(), "printed.yaml")
			if err := os.WriteFile(path, []byte(printed), 0o644); err != nil {
				t.Fatal(err)
			}
			got := effective(t, nil, "--config", path)
			if !maps.Equal(got, want) {
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("--%s: read back %q, want %q", k, got[k], want[k])
					}
				}
				t.Logf("printed:\n%s", printed)
			}
		})
	}
}

// TestConfigPrintsZeroAsZero: a zero number is 0, not false.
func TestConfigPrintsZeroAsZero(t *testing.T) {
	_, printed, _ := run(t, "config", "--print")
	for _, want := range []string{"    days: 0\n", "    workers: 0\n", "    min_score: 0\n", "    weighted: false\n", "    target: versioned\n"} {
		if !strings.Contains(printed, want) {
			t.Errorf("config --print lacks %q:\n%s", want, printed)
		}
	}
	if strings.Contains(printed, "days: false") {
		t.Errorf("a zero printed as false:\n%s", printed)
	}
}

// TestConfigEnvironmentErrors: an unknown RECOPUB_ variable is an error
// naming the closest key; a bad value names the variable, the value and
// the type wanted.
func TestConfigEnvironmentErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  top_n: x\n"), 0o644)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"misspelled", map[string]string{"RECOPUB_MODEL_TOPN": "3"}, nil, `unknown variable RECOPUB_MODEL_TOPN; did you mean "RECOPUB_MODEL_TOP_N"?`},
		{"not an integer", map[string]string{"RECOPUB_MODEL_TOP_N": "abc"}, nil, "RECOPUB_MODEL_TOP_N=abc: want an integer"},
		{"not a number", map[string]string{"RECOPUB_MODEL_MIN_SCORE": "high"}, nil, "RECOPUB_MODEL_MIN_SCORE=high: want a number"},
		{"not a boolean", map[string]string{"RECOPUB_MODEL_WEIGHTED": "yes"}, nil, "RECOPUB_MODEL_WEIGHTED=yes: want true or false"},
		{"not a time", map[string]string{"RECOPUB_INPUT_SINCE": "yesterday"}, nil, "RECOPUB_INPUT_SINCE=yesterday: want RFC 3339"},
		{"bad metric", map[string]string{"RECOPUB_MODEL_METRIC": "cosin"}, nil, "RECOPUB_MODEL_METRIC=cosin: parse metric: unknown metric"},
		{"--set", nil, []string{"--set", "model.top_n=many"}, "--set model.top_n=many: want an integer"},
		{"file", nil, []string{"--config", bad}, `key model.top_n: bad value "x": want an integer`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range []string{"config", "run"} {
				args := append([]string{cmd, "--print"}, tt.args...)
				if cmd == "run" {
					args = append([]string{cmd, "--events", "x", "--dry-run"}, tt.args...)
				}
				code, _, stderr := runEnv(t, tt.env, args...)
				if code != exitUsage || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
					t.Errorf("%s: exit %d, stderr %q; want %d and one line with %q", cmd, code, stderr, exitUsage, tt.want)
				}
			}
		})
	}
	if code, _, stderr := runEnv(t, map[string]string{"RECOPUB_ROOT": "..", "RECOPUB_BENCH_EVENTS": "/tmp/x"}, "config", "--print"); code != exitOK {
		t.Errorf("the notebooks' and benchmarks' variables are refused: %s", stderr)
	}
}
