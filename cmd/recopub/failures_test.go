package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// TestMain makes the test binary recopub itself when RECOPUB_TEST_MAIN
// is set, so the failure tests can run the job as a child process and
// kill -9 it.
func TestMain(m *testing.M) {
	if os.Getenv("RECOPUB_TEST_MAIN") == "1" {
		main()
	}
	code := m.Run()
	if failuresExport.dir != "" {
		os.RemoveAll(failuresExport.dir)
	}
	os.Exit(code)
}

// child is recopub running as a separate process.
type child struct {
	cmd    *exec.Cmd
	lines  chan string // stderr, line by line; closed at exit
	exited chan struct{}

	mu     sync.Mutex
	stderr strings.Builder
}

// startChild runs recopub with args as a child process.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RECOPUB_TEST_MAIN=1", "REDIS_URL=")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default: // nobody waits for lines any more
			}
		}
		close(c.lines)
		_ = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() { c.kill() })
	return c
}

// waitFor reads stderr until a line contains s; false if the process
// ended first.
func (c *child) waitFor(s string) bool {
	for line := range c.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// kill sends SIGKILL and reports whether the process was still running.
// mustReachPublish waits until the child has planned its version (its
// publish stage began) and fails the test if it ended before.
func (c *child) mustReachPublish(t *testing.T) {
	t.Helper()
	if !c.waitFor(`"msg":"plan"`) {
		code, stderr := c.wait()
		t.Fatalf("run ended (exit %d) before publishing: %s", code, stderr)
	}
}

func (c *child) kill() bool {
	select {
	case <-c.exited:
		return false
	default:
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
	return !c.cmd.ProcessState.Exited() // killed, not exited by itself
}

// lastMsg returns the msg of the last log line written so far.
func (c *child) lastMsg() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var line struct{ Msg string }
	_ = json.Unmarshal([]byte(lastLine(c.stderr.String())), &line)
	return line.Msg
}

// wait waits for the process and returns its exit code and stderr.
func (c *child) wait() (int, string) {
	for range c.lines {
	}
	<-c.exited
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd.ProcessState.ExitCode(), c.stderr.String()
}

// failuresExport is the export every failure test runs the job on,
// generated once.
var failuresExport struct {
	once sync.Once
	dir  string
	err  error
}

// MustFailuresExport returns an export big enough that publishing takes a
// noticeable fraction of a second, so kills land in it.
func MustFailuresExport(t *testing.T) string {
	t.Helper()
	failuresExport.once.Do(func() {
		dir, err := os.MkdirTemp("", "recopub-failures-")
		if err != nil {
			failuresExport.err = err
			return
		}
		failuresExport.dir = dir
		var out strings.Builder
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := m.Run(context.Background(), []string{"gen", "--out", dir, "--users", "3000", "--items", "1500", "--events", "30000", "--seed", "5"}); code != 0 {
			failuresExport.err = fmt.Errorf("gen exit %d: %s", code, out.String())
		}
	})
	if failuresExport.err != nil {
		t.Fatal(failuresExport.err)
	}
	return failuresExport.dir
}

// scenario is one failure test's job: its arguments and namespace on a
// shared target.
type scenario struct {
	tg  *redistest.Target
	rdb redis.UniversalClient
	ns  string
	dir string
}

func (sc *scenario) keys() publish.Keys { return publish.Keys{Namespace: sc.ns} }

func (sc *scenario) args(extra ...string) []string {
	return append([]string{"run", "--events", filepath.Join(sc.dir, "events"), "--profiles", filepath.Join(sc.dir, "profiles"),
		"--redis", sc.tg.URL(), "--namespace", sc.ns, "--top-n", "50", "--grace", "1h"}, extra...)
}

// TestFailures runs the failure scenarios against a single server and a
// three-master cluster, each in its own namespace.
func TestFailures(t *testing.T) {
	dir := MustFailuresExport(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		for _, tc := range []struct {
			name string
			fn   func(t *testing.T, sc *scenario)
		}{
			{"ConcurrentRuns", testConcurrentRuns},
			{"KillDuringPublish", testKillDuringPublish},
			{"MemoryRefusals", testMemoryRefusals},
			{"ServerRestart", testServerRestart},
			{"LockedGCAndRollback", testLockedGCAndRollback},
			{"StalledRun", testStalledRun},
			{"OrphanAfterLostEntry", testOrphanAfterLostEntry},
			{"Eviction", testEviction},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.fn(t, &scenario{tg: tg, rdb: rdb, ns: strings.ToLower(tc.name), dir: dir})
			})
		}
	})
}

// checkLive fails unless the live version is complete, holds exactly the
// keys its manifest counts on every master, and reads through the client.
// firstRun runs the scenario's job once and returns its arguments and the
// version it made live.
func (sc *scenario) firstRun(t *testing.T) ([]string, string) {
	t.Helper()
	args := sc.args()
	mustRunOK(t, "first run", args...)
	return args, checkLive(t, sc)
}

func checkLive(t *testing.T, sc *scenario) string {
	t.Helper()
	ctx := context.Background()
	vs, err := publish.Versions(ctx, sc.rdb, sc.keys())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if !v.Live {
			continue
		}
		if v.Status != publish.StatusComplete {
			t.Fatalf("live version %s has status %s", v.ID, v.Status)
		}
		want := v.Hashes + 1 // the manifest
		for _, n := range v.Lists {
			want += n
		}
		prefix := sc.keys().VersionPrefix(v.ID)
		keys := namespaceKeys(t, sc.tg, prefix+"*")
		if got := int64(len(keys)); got != want {
			t.Fatalf("live version %s has %d keys, its manifest counts %d", v.ID, got, want)
		}
		item := firstSimItem(t, sc, v.ID)
		cl := publish.NewClient(sc.rdb, publish.ClientOptions{Namespace: sc.ns})
		if _, got, err := cl.Neighbors(ctx, item, 5); err != nil || got != v.ID {
			t.Fatalf("Neighbors(%s) read version %s, err %v; live is %s", item, got, err, v.ID)
		}
		return v.ID
	}
	t.Fatalf("no live version among %d", len(vs))
	return ""
}

// namespaceKeys lists the keys matching pattern on every master, leaving
// out keys with a TTL (the RESTORE probe expires by itself).
func namespaceKeys(t *testing.T, tg *redistest.Target, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, s := range tg.Servers {
		c := s.Client(t)
		keys, err := c.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		ttls := make([]*redis.DurationCmd, len(keys))
		p := c.Pipeline()
		for i, k := range keys {
			ttls[i] = p.PTTL(ctx, k)
		}
		if _, err := p.Exec(ctx); err != nil && len(keys) > 0 {
			t.Fatal(err)
		}
		for i, k := range keys {
			if ttls[i].Val() < 0 {
				out = append(out, k)
			}
		}
	}
	return out
}

func firstSimItem(t *testing.T, sc *scenario, version string) string {
	t.Helper()
	prefix := sc.keys().List(version, publish.FamilySimilar, "")
	keys := namespaceKeys(t, sc.tg, prefix+":*")
	if len(keys) == 0 {
		t.Fatalf("version %s has no sim lists", version)
	}
	return strings.TrimPrefix(keys[0], prefix+":")
}

// waitUnlocked waits until the lock of a killed run has expired.
func waitUnlocked(t *testing.T, sc *scenario) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sc.rdb.Exists(context.Background(), sc.keys().Lock()).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("run lock not released or expired after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishSeconds runs the job to completion as a child and returns its
// publish stage.
func publishSeconds(t *testing.T, args []string) float64 {
	t.Helper()
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	c := startChild(t, append(args, "--summary", sumPath)...)
	if code, stderr := c.wait(); code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	var sum summary
	b, _ := os.ReadFile(sumPath)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	return sum.Stages["publish"]
}

// testKillDuringPublish kills the job with SIGKILL at random points of its
// publish stage, ten times: the live version stays complete and readable
// after each kill, gc --grace 0s then removes every key the killed runs
// left, and the next run succeeds.
func testKillDuringPublish(t *testing.T, sc *scenario) {
	args := sc.args("--lock-ttl", "1s")
	window := time.Duration(publishSeconds(t, args) * float64(time.Second))
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	start, kills, attempt := time.Now(), 0, 0
	after := make(map[string]int) // the last log line before each kill
	for ; kills < 10; attempt++ {
		if attempt == 40 {
			t.Fatalf("only %d of 40 runs were still running when killed", kills)
		}
		// Stands in for waiting out the killed run's lock TTL, which the
		// run after the loop does.
		sc.rdb.Del(context.Background(), sc.keys().Lock())
		c := startChild(t, args...)
		c.mustReachPublish(t)
		time.Sleep(time.Duration(rng.Int64N(int64(window))))
		if c.kill() {
			kills++
			after[c.lastMsg()]++
		}
		checkLive(t, sc)
	}
	t.Logf("seed %d: %d kills in %d runs within %s (the publish stage) of the plan line, %s; killed after these log lines: %v",
		seed, kills, attempt, window, time.Since(start).Round(time.Millisecond), after)
	waitUnlocked(t, sc)
	// gc --grace 0s right after the kills leaves the live and kept
	// versions only, every key of the killed runs gone.
	if code, out := sc.ctl(t, "gc", "--grace", "0s"); code != 0 {
		t.Fatalf("gc exit %d: %s", code, out)
	}
	onlyLiveAndKept(t, sc, 2)
	mustRunOK(t, "run after the kills", args...)
	live := checkLive(t, sc)
	if code, out := sc.ctl(t, "gc", "--keep", "0", "--grace", "0"); code != 0 {
		t.Fatalf("gc exit %d: %s", code, out)
	}
	vs, _ := publish.Versions(context.Background(), sc.rdb, sc.keys())
	if len(vs) != 1 || vs[0].ID != live {
		t.Errorf("after gc: versions %+v, want only %s", vs, live)
	}
	onlyLiveAndKept(t, sc, 0)
}

// testServerRestart restarts a Redis server while the job publishes: the
// victim is paused (CLIENT PAUSE WRITE) when the job has planned its
// version, so the restart lands in the publish, then killed and started
// again from its SAVE. The job exits 1 and the live version is unchanged.
func testServerRestart(t *testing.T, sc *scenario) {
	args, live := sc.firstRun(t)
	sc.tg.Do(t, "SAVE")
	victim := len(sc.tg.Servers) - 1
	c := startChild(t, args...)
	c.mustReachPublish(t)
	if err := sc.tg.Servers[victim].Client(t).Do(context.Background(), "CLIENT", "PAUSE", 10000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	sc.tg.Restart(t, victim)
	code, stderr := c.wait()
	// A cluster may still be down when the run ends: then it says it did
	// not flip instead.
	last := lastLine(stderr)
	if code != exitFailed || !strings.Contains(last, "live version unchanged ("+live+")") && !strings.Contains(last, "this run did not flip, "+live+" was live") {
		t.Fatalf("exit %d, want %d and 'live version unchanged (%s)':\n%s", code, exitFailed, live, stderr)
	}
	t.Log(lastLine(stderr))
	if got := checkLive(t, sc); got != live {
		t.Errorf("live %s, want %s", got, live)
	}
}

// testMemoryRefusals: with maxmemory just above used_memory the preflight
// refuses with both numbers; with --force the run runs out of memory,
// removes its partial version and says so. The live version stays.
func testMemoryRefusals(t *testing.T, sc *scenario) {
	args, live := sc.firstRun(t)
	t.Cleanup(func() { sc.tg.Do(t, "CONFIG", "SET", "maxmemory", "0") })
	for _, s := range sc.tg.Servers {
		c := s.Client(t)
		used, _ := publish.MemoryInfo(context.Background(), c)
		c.ConfigSet(context.Background(), "maxmemory", strconv.FormatInt(used[0].Used+256<<10, 10))
	}
	code, _, stderr := run(t, args...)
	for _, want := range []string{"preflight", "maxmemory", "used_memory", "--force", "live version unchanged"} {
		if code != exitFailed || !strings.Contains(stderr, want) {
			t.Fatalf("exit %d, want %d and %q:\n%s", code, exitFailed, want, stderr)
		}
	}
	t.Log(lastLine(stderr))
	code, _, stderr = run(t, append(args, "--force")...)
	for _, want := range []string{"ran out of memory", "removed the partial version", "live version unchanged"} {
		if code != exitFailed || !strings.Contains(stderr, want) {
			t.Fatalf("--force: exit %d, want %d and %q:\n%s", code, exitFailed, want, stderr)
		}
	}
	t.Log(lastLine(stderr))
	if got := checkLive(t, sc); got != live {
		t.Errorf("live %s, want %s", got, live)
	}
	if n, want := len(namespaceKeys(t, sc.tg, sc.ns+":*")), len(namespaceKeys(t, sc.tg, sc.keys().VersionPrefix(live)+"*")); n != want {
		t.Errorf("%d keys in the namespace, want the live version's %d", n, want)
	}
}

// testConcurrentRuns: while one run holds the lock, a second exits 3 and
// says the namespace is locked; the first publishes.
func testConcurrentRuns(t *testing.T, sc *scenario) {
	args := sc.args()
	first := startChild(t, args...)
	deadline := time.Now().Add(10 * time.Second)
	for sc.rdb.Exists(context.Background(), sc.keys().Lock()).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first run never took the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	code, _, stderr := run(t, args...)
	if code != exitLocked || !strings.Contains(stderr, "another run holds the lock") {
		t.Errorf("second run: exit %d, want %d and 'another run holds the lock':\n%s", code, exitLocked, stderr)
	}
	t.Log(lastLine(stderr))
	if code, stderr := first.wait(); code != 0 {
		t.Fatalf("first run exit %d: %s", code, stderr)
	}
	checkLive(t, sc)
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}
