package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recopub/recopub/publish/redistest"
)

func TestStageClock(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	now := t0
	c := newStageClockAt(func() time.Time { return now })
	steps := []struct {
		advance time.Duration
		name    string
		want    float64 // name's seconds after the step
	}{
		{10 * time.Millisecond, "setup", 0.01},
		{2 * time.Second, "ingest", 2},
		{500 * time.Millisecond, "model", 0.5},
		{0, "users", 0},
		{250 * time.Millisecond, "model", 0.75}, // a stage closed twice adds up
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if got := c.end(s.name); math.Abs(got-s.want) > 1e-9 {
			t.Errorf("end(%q)=%g, want %g", s.name, got, s.want)
		}
	}
	if got, want := c.wall(), 2.76; math.Abs(got-want) > 1e-9 {
		t.Errorf("wall()=%g, want %g", got, want)
	}
	if got, want := sumStages(c.stages), c.wall(); math.Abs(got-want) > 1e-9 {
		t.Errorf("stages add up to %g, want the wall time %g", got, want)
	}
}

func sumStages(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// TestRunStagesCoverWall: every step of a run is inside a stage of the
// summary, so the stages add up to its wall time, and the wall time is
// the run's (measured around it here) but for what precedes the clock.
func TestRunStagesCoverWall(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	events, profiles := filepath.Join(dir, "events"), filepath.Join(dir, "profiles")
	tests := []struct {
		name  string
		args  []string
		want  []string // stages the summary has
		wantN int      // and how many
	}{
		{"dry run", []string{"--dry-run"}, []string{"setup", "ingest", "profiles", "model", "users", "popular"}, 6},
		{"dry run with files", []string{"--dry-run", "--out", filepath.Join(t.TempDir(), "model")},
			[]string{"setup", "ingest", "profiles", "model", "users", "popular", "write_files"}, 7},
		{"publish", []string{"--redis", s.URL(), "--user-lists", "5", "--show", "1"},
			[]string{"setup", "ingest", "profiles", "model", "user_lists", "users", "popular", "publish", "gc", "show"}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "summary.json")
			args := append([]string{"run", "--events", events, "--profiles", profiles, "--summary", path, "--log-level", "warn"}, tt.args...)
			start := time.Now()
			code, _, stderr := run(t, args...)
			outside := time.Since(start).Seconds()
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var sum summary
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &sum); err != nil {
				t.Fatal(err)
			}
			for _, st := range tt.want {
				if _, ok := sum.Stages[st]; !ok {
					t.Errorf("summary lacks stage %q: %v", st, sum.Stages)
				}
			}
			if got := len(sum.Stages); got != tt.wantN {
				t.Errorf("%d stages %v, want %d", got, sortedKeys(sum.Stages), tt.wantN)
			}
			if got, want := sumStages(sum.Stages), sum.WallSeconds; math.Abs(got-want) > 1e-6 {
				t.Errorf("stages add up to %g s, want wall_seconds %g", got, want)
			}
			// Only flag parsing before the clock starts and the summary
			// after it ends are outside; a second is a generous bound.
			if sum.WallSeconds <= 0 || sum.WallSeconds > outside || outside-sum.WallSeconds > 1 {
				t.Errorf("wall_seconds %g, measured around the run %g", sum.WallSeconds, outside)
			}
		})
	}
}
