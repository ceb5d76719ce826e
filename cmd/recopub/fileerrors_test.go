package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestFoldFileErrors(t *testing.T) {
	joined := errors.Join(
		errors.New(`events file /d/a.parquet: column "x" not found`),
		errors.New(`events file /d/b.parquet: column "x" not found`),
		errors.New(`events file /d/c.parquet: not a readable Parquet file`),
		errors.New("context canceled"),
	)
	err := foldFileErrors(fmt.Errorf("ingest: %w", joined))
	want := "ingest: 2 events files (in /d: a.parquet, b.parquet): column \"x\" not found\n" +
		"events file /d/c.parquet: not a readable Parquet file\ncontext canceled"
	if got := err.Error(); got != want {
		t.Errorf("folded:\n%s\nwant:\n%s", got, want)
	}
	if !errors.Is(err, joined) {
		t.Errorf("the folded error does not unwrap to the original")
	}
	var many []error
	for i := range 12 {
		many = append(many, fmt.Errorf("events file /d/p%02d.parquet: bad", i))
	}
	if got, want := foldFileErrors(errors.Join(many...)).Error(), "12 events files (in /d: p00.parquet, "; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "p09.parquet and 2 more): bad") {
		t.Errorf("folded %q", got)
	}
}

// TestMisspelledColumnReportedOnce: a column no file has is one sentence
// naming the files, not the same sentence once per file.
func TestMisspelledColumnReportedOnce(t *testing.T) {
	dir := MustGen(t)
	code, _, stderr := run(t, "run", "--events", filepath.Join(dir, "events"), "--dry-run", "--item-col", "product")
	if code != exitRejected {
		t.Fatalf("exit %d, want %d: %s", code, exitRejected, stderr)
	}
	if n := strings.Count(stderr, `column \"product\" not found`); n != 1 {
		t.Errorf("the missing column is reported %d times, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "7 events files (in "+filepath.Join(dir, "events")+": dt=") {
		t.Errorf("the files are not listed:\n%s", stderr)
	}
}
