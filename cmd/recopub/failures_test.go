package main

import (
	"bufio"
	"context"
	"encoding/json"
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
	os.Exit(m.Run())
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

// wait waits for the process and returns its exit code and stderr.
func (c *child) wait() (int, string) {
	for range c.lines {
	}
	<-c.exited
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd.ProcessState.ExitCode(), c.stderr.String()
}

// MustGenFailures writes an export big enough that publishing takes a
// noticeable fraction of a second, so kills land in it.
func MustGenFailures(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if code, _, stderr := run(t, "gen", "--out", dir, "--users", "6000", "--items", "3000", "--events", "60000", "--seed", "5"); code != 0 {
		t.Fatalf("gen exit %d: %s", code, stderr)
	}
	return dir
}

func runArgs(dir string, tg *redistest.Target, extra ...string) []string {
	return append([]string{"run", "--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"),
		"--redis", tg.URL(), "--top-n", "50", "--grace", "1h"}, extra...)
}

// checkLive fails unless the live version is complete, holds exactly the
// keys its manifest counts on every master, and reads through the client.
func checkLive(t *testing.T, tg *redistest.Target, rdb redis.UniversalClient) string {
	t.Helper()
	ctx := context.Background()
	vs, err := publish.Versions(ctx, rdb, publish.Keys{})
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
		if got := int64(len(namespaceKeys(t, tg, "reco:"+v.ID+":*"))); got != want {
			t.Fatalf("live version %s has %d keys, its manifest counts %d", v.ID, got, want)
		}
		item := firstSimItem(t, tg, v.ID)
		if _, got, err := publish.NewClient(rdb, publish.ClientOptions{}).Neighbors(ctx, item, 5); err != nil || got != v.ID {
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

func firstSimItem(t *testing.T, tg *redistest.Target, version string) string {
	t.Helper()
	keys := namespaceKeys(t, tg, "reco:"+version+":sim:*")
	if len(keys) == 0 {
		t.Fatalf("version %s has no sim lists", version)
	}
	return strings.TrimPrefix(keys[0], "reco:"+version+":sim:")
}

// waitUnlocked waits until the lock of a killed run has expired.
func waitUnlocked(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Exists(context.Background(), "{reco}:lock").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("run lock not released or expired after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishSeconds runs the job to completion and returns its publish stage.
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

// TestKillDuringPublish kills the job with SIGKILL at random points of its
// publish stage, ten times on a single server and ten on a cluster: the
// live version stays complete and readable after each kill, the next run
// succeeds, and gc removes every key the killed runs left.
func TestKillDuringPublish(t *testing.T) {
	dir := MustGenFailures(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		args := runArgs(dir, tg, "--lock-ttl", "1s")
		window := time.Duration(publishSeconds(t, args) * float64(time.Second))
		seed := uint64(time.Now().UnixNano())
		rng := rand.New(rand.NewPCG(seed, 0))
		t.Logf("seed %d, kills within %s (the publish stage) of the plan line", seed, window)
		kills := 0
		start := time.Now()
		attempt := 0
		for ; kills < 10; attempt++ {
			if attempt == 40 {
				t.Fatalf("only %d of 40 runs were still running when killed", kills)
			}
			// Stands in for waiting out the killed run's lock TTL, which
			// the run after the loop does.
			rdb.Del(context.Background(), "{reco}:lock")
			c := startChild(t, args...)
			if !c.waitFor(`"msg":"plan"`) {
				code, stderr := c.wait()
				t.Fatalf("run ended (exit %d) before publishing: %s", code, stderr)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(window))))
			if c.kill() {
				kills++
			}
			checkLive(t, tg, rdb)
		}
		t.Logf("%d kills in %d runs, %s", kills, attempt, time.Since(start))
		waitUnlocked(t, rdb)
		if code, _, stderr := run(t, args...); code != 0 {
			t.Fatalf("run after the kills: exit %d: %s", code, stderr)
		}
		live := checkLive(t, tg, rdb)
		if code, stdout, stderr := run(t, "gc", "--keep", "0", "--grace", "1ms", "--redis", tg.URL()); code != 0 {
			t.Fatalf("gc exit %d: %s%s", code, stdout, stderr)
		}
		vs, _ := publish.Versions(context.Background(), rdb, publish.Keys{})
		if len(vs) != 1 || vs[0].ID != live {
			t.Errorf("after gc: versions %+v, want only %s", vs, live)
		}
		for _, k := range namespaceKeys(t, tg, "reco:*") {
			if !strings.HasPrefix(k, "reco:"+live+":") {
				t.Fatalf("after gc: %s remains (live is %s)", k, live)
			}
		}
	})
}

// TestServerRestartDuringRun restarts a Redis server while the job
// publishes: the job exits 1 and the live version (reloaded from the
// server's SAVE) is unchanged.
func TestServerRestartDuringRun(t *testing.T) {
	dir := MustGenFailures(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		args := runArgs(dir, tg, "--no-restore", "--conns", "1")
		if code, _, stderr := run(t, args...); code != 0 {
			t.Fatalf("first run exit %d: %s", code, stderr)
		}
		live := checkLive(t, tg, rdb)
		tg.Do(t, "SAVE")
		c := startChild(t, args...)
		if !c.waitFor(`"msg":"wrote lists"`) {
			code, stderr := c.wait()
			t.Fatalf("run ended (exit %d) before writing: %s", code, stderr)
		}
		tg.Restart(t, len(tg.Servers)-1)
		code, stderr := c.wait()
		if code != exitFailed || !strings.Contains(stderr, "live version unchanged") {
			t.Fatalf("exit %d, want %d and 'live version unchanged':\n%s", code, exitFailed, stderr)
		}
		t.Log(lastLine(stderr))
		if got := checkLive(t, tg, rdb); got != live {
			t.Errorf("live %s, want %s", got, live)
		}
	})
}

// TestMemoryRefusals: with maxmemory just above used_memory the preflight
// refuses with both numbers; with --force the run runs out of memory,
// removes its partial version and says so. The live version stays.
func TestMemoryRefusals(t *testing.T) {
	dir := MustGenFailures(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		args := runArgs(dir, tg)
		if code, _, stderr := run(t, args...); code != 0 {
			t.Fatalf("first run exit %d: %s", code, stderr)
		}
		live := checkLive(t, tg, rdb)
		for _, s := range tg.Servers {
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
		if got := checkLive(t, tg, rdb); got != live {
			t.Errorf("live %s, want %s", got, live)
		}
		if n := len(namespaceKeys(t, tg, "reco:*")); n != len(namespaceKeys(t, tg, "reco:"+live+":*")) {
			t.Errorf("%d keys in the namespace besides the live version's", n)
		}
		tg.Do(t, "CONFIG", "SET", "maxmemory", "0")
	})
}

// TestConcurrentRuns: while one run holds the lock, a second exits 3 and
// says the namespace is locked; the first publishes.
func TestConcurrentRuns(t *testing.T) {
	dir := MustGenFailures(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rdb := tg.Client(t)
		args := runArgs(dir, tg, "--no-restore", "--conns", "1")
		first := startChild(t, args...)
		deadline := time.Now().Add(10 * time.Second)
		for rdb.Exists(context.Background(), "{reco}:lock").Val() == 0 {
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
		checkLive(t, tg, rdb)
	})
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}
