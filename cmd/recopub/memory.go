package main

import "runtime/debug"

// runGCPercent is the garbage collector's target for run (not publish --from)
// unless GOGC is set: the heap may grow 20% past what is live between
// collections, not the default 100%. Most of a run's heap is a few large
// arrays without pointers (interactions, matrices, lists, the profile
// table), which a collection does not scan, so collecting more often costs
// little time, while the default lets peak memory reach twice what the run
// holds.
const runGCPercent = 20

// tightenGC sets runGCPercent unless the environment sets GOGC, makes
// clock return freed memory to the operating system at each stage's end,
// and returns what undoes the GC setting.
func tightenGC(getenv func(string) string, clock *stageClock) (restore func()) {
	clock.release = true
	if getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(runGCPercent)
	return func() { debug.SetGCPercent(old) }
}
