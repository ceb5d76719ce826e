package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// readmeShell is a directory where README's commands run as a user's
// shell runs them, in sh: bin/recopub (and recopub, on PATH) is this test
// binary acting as recopub (TestMain), testdata is the repository's.
// Addresses and paths README names for a machine of its own (the Redis
// on 127.0.0.1:6379, localhost:8080, /etc/recopub) are replaced by the
// test's own, in the commands and back in their output.
type readmeShell struct {
	t        *testing.T
	dir      string
	env      []string
	in, back *strings.Replacer
}

// newReadmeShell makes the directory; subst is pairs of README text and
// what stands for it in the test.
func newReadmeShell(t *testing.T, env map[string]string, subst ...string) *readmeShell {
	t.Helper()
	dir := t.TempDir()
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nRECOPUB_TEST_MAIN=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "recopub"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(repo, "testdata"), filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("duckdb"); err != nil {
		// npm has no DuckDB CLI: README's `duckdb -csv -c SQL` runs the SQL
		// in npm's DuckDB (testdata/interop/node/duckdb-cli.mjs).
		node, err := exec.LookPath("node")
		if err == nil {
			_, err = os.Stat(filepath.Join(warehouseNodeDir, "node_modules", "@duckdb", "node-api"))
		}
		if err != nil {
			t.Fatalf("README runs duckdb: neither the DuckDB CLI nor npm's DuckDB (%v); `make interop-node` installs the latter", err)
		}
		cli := filepath.Join(repo, "testdata", "interop", "node", "duckdb-cli.mjs")
		script := "#!/bin/sh\nexec '" + node + "' '" + cli + "' \"$@\"\n"
		if err := os.WriteFile(filepath.Join(bin, "duckdb"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &readmeShell{t: t, dir: dir}
	// A clean environment: nothing of the caller's REDIS_URL or
	// RECOPUB_* reaches the commands.
	s.env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + os.TempDir()}
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	var back []string
	for i := 0; i+1 < len(subst); i += 2 {
		back = append(back, subst[i+1], subst[i])
	}
	s.in, s.back = strings.NewReplacer(subst...), strings.NewReplacer(back...)
	return s
}

// command is cmd as the test runs it.
func (s *readmeShell) command(cmd string) *exec.Cmd {
	c := exec.Command("sh", "-c", s.in.Replace(cmd))
	c.Dir, c.Env = s.dir, s.env
	return c
}

// run runs cmd in sh and returns what a terminal would show (stdout and
// stderr as written), with the test's addresses turned back into
// README's, and the exit code.
func (s *readmeShell) run(cmd string) (string, int) {
	s.t.Helper()
	c := s.command(cmd)
	var out lockedBuffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("%s: %v", cmd, err)
	}
	return s.back.Replace(out.String()), code
}

// start runs cmd, a server README starts with `&`, until the test ends,
// and waits until it accepts connections on addr.
func (s *readmeShell) start(cmd, addr string) {
	s.t.Helper()
	c := s.command("exec " + strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cmd), "&")))
	var out lockedBuffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		s.t.Fatalf("%s: %v", cmd, err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	s.t.Cleanup(func() { c.Process.Kill(); <-done })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			s.t.Fatalf("%s: exited: %s", cmd, out.String())
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return
		}
	}
	s.t.Fatalf("%s: nothing listens on %s after 20s: %s", cmd, addr, out.String())
}

// lockedBuffer is a bytes.Buffer two writers can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
