package main

import (
	"runtime/debug"
	"time"
)

// stageClock times a run's stages back to back: each stage begins where
// the previous one ended (the first where the command started), so no
// step falls between two stages and the stages add up to the wall time.
type stageClock struct {
	now    func() time.Time // time.Now unless a test says otherwise
	start  time.Time
	mark   time.Time // where the current stage began
	stages map[string]float64

	// release returns the memory a stage freed to the operating system as
	// it ends (debug.FreeOSMemory): the next stage's large arrays are of
	// other sizes, and without it the freed pages stay in the process's
	// RSS until the runtime's background scavenger gets to them.
	release bool
}

func newStageClock() *stageClock { return newStageClockAt(time.Now) }

func newStageClockAt(now func() time.Time) *stageClock {
	t := now()
	return &stageClock{now: now, start: t, mark: t, stages: make(map[string]float64)}
}

// end closes the current stage as name (adding to it when name was
// closed before) and begins the next; it returns name's seconds so far.
func (c *stageClock) end(name string) float64 {
	if c.release {
		debug.FreeOSMemory()
	}
	t := c.now()
	c.stages[name] += t.Sub(c.mark).Seconds()
	c.mark = t
	return c.stages[name]
}

// wall returns the seconds from the start to the end of the last stage:
// the sum of the stages.
func (c *stageClock) wall() float64 { return c.mark.Sub(c.start).Seconds() }
