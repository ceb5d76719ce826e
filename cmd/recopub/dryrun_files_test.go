package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDryRunFilesAndMetrics: a dry run's files are all 0644 (the Parquet
// tables were 0600 next to a 0644 report.html), and its metrics say the
// run succeeded without claiming a last success: nothing was published.
func TestDryRunFilesAndMetrics(t *testing.T) {
	dir := MustGen(t)
	out := filepath.Join(t.TempDir(), "model")
	prom := filepath.Join(t.TempDir(), "recopub.prom")
	code, _, stderr := run(t, "run", "--dry-run", "--events", filepath.Join(dir, "events"), "--out", out, "--metrics-textfile", prom)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, _ := e.Info()
		if got, want := fi.Mode().Perm(), os.FileMode(0o644); got != want {
			t.Errorf("%s mode %v, want %v", e.Name(), got, want)
		}
	}
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, `recopub_last_run_success{namespace="reco"} 1`) {
		t.Errorf("dry run's textfile lacks last_run_success 1:\n%s", text)
	}
	if strings.Contains(text, "recopub_last_success_timestamp_seconds") {
		t.Errorf("dry run set the last success timestamp:\n%s", text)
	}
}
