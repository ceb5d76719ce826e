package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConfigCoversEveryRunFlag keeps the config file able to say anything
// the command line can: a new run flag must be put in a section.
func TestConfigCoversEveryRunFlag(t *testing.T) {
	rc := &runCommand{m: NewMain()}
	fs := rc.flags()
	inSection := make(map[string]bool)
	for _, name := range configKeys() {
		inSection[name] = true
		if fs.Lookup(name) == nil {
			t.Errorf("config maps to %q, which is not a run flag", name)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || f.Name == "set" {
			return
		}
		if !inSection[f.Name] {
			t.Errorf("run flag --%s is in no config section (cmd/recopub/config.go configSections)", f.Name)
		}
	})
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(`
input:
  events: [a, b]
  event_weights: {Order Completed: 5, Product Viewed: 1}
model:
  metric: llr
  top_n: 20
  min_support: 3
redis:
  url: redis://u:s3cret@10.0.0.1:6379/0
`), 0o644)
	env := map[string]string{"RECOPUB_MODEL_TOP_N": "25", "REDIS_URL": "redis://u:s3cret@127.0.0.1:7000/0"}
	var out strings.Builder
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	code := m.Run(t.Context(), []string{"config", "--print", "--config", path, "--min-support", "4", "--set", "model.metric=jaccard"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"metric: jaccard",    // --set beats the file
		"top_n: 25",          // environment beats the file
		"min_support: 4",     // a plain flag beats the file
		"127.0.0.1:7000",     // REDIS_URL beats the file
		"- a\n        - b",   // lists
		"Order Completed=5,", // maps of weights
	} {
		if !strings.Contains(got, want) {
			t.Errorf("merged config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "s3cret") {
		t.Errorf("password printed:\n%s", got)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  metric: cosinus\n"), 0o644)
	unknown := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknown, []byte("model:\n  topn: 3\n"), 0o644)
	section := filepath.Join(dir, "section.yaml")
	os.WriteFile(section, []byte("modle:\n  top_n: 3\n"), 0o644)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--config", bad}, []string{"model.metric", "cosinus", "cosine, jaccard"}},
		{[]string{"--config", unknown}, []string{`unknown key "model.topn"`, "model.top_n"}},
		{[]string{"--config", section}, []string{`unknown key "modle.top_n"`, "input, job, log, metrics, model, publish, redis"}},
		{[]string{"--set", "model.top_n=many"}, []string{"model.top_n", "many"}},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, []string{"missing.yaml", "no such file"}},
	} {
		code, _, stderr := run(t, append([]string{"config", "--print"}, tt.args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tt.args, code, exitUsage)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tt.args, w, stderr)
			}
		}
	}
}

func TestExampleConfigs(t *testing.T) {
	for _, name := range []string{"nightly.yaml", "experiment.yaml"} {
		path := filepath.Join("..", "..", "testdata", "config", name)
		code, stdout, stderr := run(t, "config", "--print", "--config", path)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if !slices.ContainsFunc(strings.Split(stdout, "\n"), func(l string) bool { return strings.Contains(l, "metric:") }) {
			t.Errorf("%s: no metric in\n%s", name, stdout)
		}
	}
}
