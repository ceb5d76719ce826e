package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
)

// The lifecycle scenarios of TestFailures: the run lock shared by gc and
// rollback, a stalled run fenced off, orphans, eviction.

// ctl runs a command other than run (gc, rollback) on the scenario's
// namespace.
func (sc *scenario) ctl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, stdout, stderr := run(t, append(args, "--redis", sc.tg.URL(), "--namespace", sc.ns)...)
	return code, stdout + stderr
}

// otherKeys lists the namespace's keys that do not belong to one of
// versions.
func otherKeys(t *testing.T, sc *scenario, versions ...string) []string {
	t.Helper()
	var out []string
	for _, k := range namespaceKeys(t, sc.tg, sc.ns+":*") {
		mine := false
		for _, v := range versions {
			mine = mine || strings.HasPrefix(k, sc.keys().VersionPrefix(v))
		}
		if !mine {
			out = append(out, k)
		}
	}
	return out
}

// onlyLiveAndKept fails unless the namespace holds complete versions
// only, the live one among them, each with exactly the keys its manifest
// counts, and no key of any other version.
func onlyLiveAndKept(t *testing.T, sc *scenario, keep int) {
	t.Helper()
	live := checkLive(t, sc)
	vs, err := publish.Versions(context.Background(), sc.rdb, sc.keys())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		if v.Status != publish.StatusComplete {
			t.Errorf("version %s (%s) remains", v.ID, v.Status)
		}
		if err := publish.VerifyVersion(context.Background(), sc.rdb, sc.keys(), v.ID); err != nil {
			t.Error(err)
		}
		ids = append(ids, v.ID)
	}
	if len(vs) == 0 || len(vs) > keep+1 || vs[len(vs)-1].ID != live {
		t.Errorf("versions %v: want the live %s last and at most %d kept", ids, live, keep)
	}
	if other := otherKeys(t, sc, ids...); len(other) > 0 {
		t.Errorf("%d keys of no listed version remain, such as %s", len(other), other[0])
	}
}

// testLockedGCAndRollback: gc and rollback take the run's lock; while a
// run holds it they exit 3 naming the run's process and since when.
func testLockedGCAndRollback(t *testing.T, sc *scenario) {
	args := sc.args()
	mustRunOK(t, "first run", args...)
	c := startChild(t, args...)
	c.mustReachPublish(t)
	holder := "recopub run (pid " + strconv.Itoa(c.cmd.Process.Pid) + " on "
	since := " since " + time.Now().UTC().Format("2006-01-02T")
	for _, cmd := range [][]string{{"gc", "--grace", "0s", "--keep", "0"}, {"rollback"}} {
		code, out := sc.ctl(t, cmd...)
		if code != exitLocked || !strings.Contains(out, holder) || !strings.Contains(out, since) {
			t.Errorf("%s during a run: exit %d, want %d naming %q and %q:\n%s", cmd[0], code, exitLocked, holder, since, out)
		}
	}
	if code, stderr := c.wait(); code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	onlyLiveAndKept(t, sc, 2)
}

// testStalledRun stops a run (SIGSTOP) in its publish stage until its
// lock has expired and another run has published, then lets it go on:
// the server refuses its steps, it exits 1, its last line names the
// version live at that moment, and gc --grace 0s removes what it wrote.
func testStalledRun(t *testing.T, sc *scenario) {
	args, first := sc.firstRun(t)
	c := startChild(t, args...)
	c.mustReachPublish(t)
	c.mustStop(t)
	sc.rdb.Del(context.Background(), sc.keys().Lock()) // expired while it stalled
	mustRunOK(t, "run while the other stalled", args...)
	second := checkLive(t, sc)
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	code, stderr := c.wait()
	last := lastLine(stderr)
	t.Log(last)
	if code != exitFailed || !strings.Contains(last, "lock") {
		t.Fatalf("stalled run: exit %d, want %d and the lost lock:\n%s", code, exitFailed, stderr)
	}
	if want := "live version is now " + second + " (it was " + first + " when the run started)"; !strings.Contains(last, want) {
		t.Errorf("last line lacks %q:\n%s", want, last)
	}
	if got := checkLive(t, sc); got != second {
		t.Errorf("live %s, want %s", got, second)
	}
	waitUnlocked(t, sc)
	if code, out := sc.ctl(t, "gc", "--grace", "0s"); code != 0 {
		t.Fatalf("gc exit %d: %s", code, out)
	}
	onlyLiveAndKept(t, sc, 2)
}

// testOrphanAfterLostEntry: a run stalls past its lock's expiry, gc
// --grace 0s drops its entry, the run goes on writing and is killed: the
// keys it wrote after gc are listed nowhere, and the next gc removes
// them. A run stopped after it wrote its last key writes nothing more, so
// the scenario is tried again until one leaves orphans.
func testOrphanAfterLostEntry(t *testing.T, sc *scenario) {
	args, live := sc.firstRun(t)
	var orphans []string
	for attempt := 0; len(orphans) == 0; attempt++ {
		if attempt == 5 {
			t.Fatal("in 5 tries the resumed run wrote nothing before it was killed: no orphans to collect")
		}
		orphans = stallGCKill(t, sc, args, live)
	}
	if vs, _ := publish.Versions(context.Background(), sc.rdb, sc.keys()); len(vs) != 1 {
		t.Fatalf("versions %+v: want only the live one listed (the orphan's entry is gone)", vs)
	}
	t.Logf("%d orphan keys, such as %s", len(orphans), orphans[0])
	if code, out := sc.ctl(t, "gc", "--grace", "0s"); code != 0 || !strings.Contains(out, "1 orphans") {
		t.Fatalf("gc: exit %d, want 0 and 1 orphan removed:\n%s", code, out)
	}
	onlyLiveAndKept(t, sc, 2)
}

// stallGCKill starts a run, stops it once its version is registered,
// lets its lock expire and gc --grace 0s remove its version, resumes it
// until it writes keys again (or ends) and kills it. It returns the keys
// it wrote after gc.
func stallGCKill(t *testing.T, sc *scenario, args []string, live string) []string {
	t.Helper()
	c := startChild(t, args...)
	c.mustReachPublish(t)
	for !slices.Contains(sc.rdb.HVals(context.Background(), sc.keys().Status()).Val(), publish.StatusWriting) {
		time.Sleep(time.Millisecond)
	}
	c.mustStop(t)
	sc.rdb.Del(context.Background(), sc.keys().Lock()) // expired while it stalled
	code, out := sc.ctl(t, "gc", "--grace", "0s")
	if code != 0 || !strings.Contains(out, "removed 1 versions") {
		t.Fatalf("gc of the stalled run's version: exit %d, want 0 and 1 version removed:\n%s", code, out)
	}
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(otherKeys(t, sc, live)) > 0 {
			break
		}
		select {
		case <-c.exited:
			return otherKeys(t, sc, live)
		default:
		}
	}
	c.kill()
	return otherKeys(t, sc, live)
}

// testEviction: with maxmemory-policy allkeys-lru a run exits 2 naming
// the policy, --force or not; a version that lost keys is refused by
// rollback, which names what is missing.
func testEviction(t *testing.T, sc *scenario) {
	args := sc.args()
	for range 2 {
		mustRunOK(t, "run", args...)
	}
	live := checkLive(t, sc)
	t.Cleanup(func() { sc.tg.Do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction") })
	sc.tg.Do(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	code, _, stderr := run(t, append(args, "--force")...)
	for _, want := range []string{"allkeys-lru", "noeviction", "--force does not", "live version unchanged (" + live + ")"} {
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Fatalf("run --force under allkeys-lru: exit %d, want %d and %q:\n%s", code, exitUsage, want, stderr)
		}
	}
	sc.tg.Do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")

	vs, _ := publish.Versions(context.Background(), sc.rdb, sc.keys())
	older := vs[len(vs)-2]
	sims := namespaceKeys(t, sc.tg, sc.keys().List(older.ID, publish.FamilySimilar, "")+":*")
	for _, k := range sims[:5] {
		sc.rdb.Del(context.Background(), k)
	}
	want := "sim has " + strconv.Itoa(len(sims)-5) + " of " + strconv.Itoa(len(sims)) + " keys"
	code, out := sc.ctl(t, "rollback")
	if code != exitFailed || !strings.Contains(out, want) || !strings.Contains(out, older.ID) {
		t.Fatalf("rollback to a damaged version: exit %d, want %d naming %s and %q:\n%s", code, exitFailed, older.ID, want, out)
	}
	if got := checkLive(t, sc); got != live {
		t.Errorf("live %s, want %s", got, live)
	}
}

// mustStop stops the child (SIGSTOP) and waits until the kernel reports
// it stopped: the signal is asynchronous, and a child still running when
// the test takes its lock away would fail before the scenario is set up.
func (c *child) mustStop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stat := fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name in parentheses: "pid (comm) T ...".
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
	}
	t.Fatalf("child %d did not stop within 5s", c.cmd.Process.Pid)
}
