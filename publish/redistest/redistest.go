// Package redistest starts private redis-server processes for tests: a
// single server (Start) or a three-master Redis Cluster (StartCluster), and
// runs the same test against both (Each).
//
// Every server is started on a free loopback port chosen by the kernel, with
// persistence off and its working directory in the test's temp dir, and is
// shut down in the test's cleanup. It never connects to a Redis it did not
// start: tests that need Redis get one of their own.
//
// When redis-server is not on PATH and the CI environment variable is set,
// the test fails (CI installs it in .ci/run); otherwise the test fails with a
// one-line hint on how to install it. Integration tests never skip.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by a test.
type Server struct {
	Addr string // host:port
	Dir  string // working directory: redis-<port>.log, and dump.rdb after SAVE

	bin  string
	args []string // extra directives, kept for Restart

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// URL returns a redis:// URL for the server's database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Client returns a go-redis client for the server, closed at cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Binary returns the path of redis-server or fails the test with a hint.
func Binary(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server not found on PATH: install it (Debian: apt-get install -y redis-server) or run 'make test', which does so in CI")
	}
	return p
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a private redis-server with the given extra config
// directives, as name/value pairs (for example "rdbcompression", "no"; a
// leading "--" is optional), and waits until it answers PING. The server is
// stopped when the test ends.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := FreePort(tb)
		s, err := start(bin, dir, port, args)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return nil
}

// StartAt starts a server on a given port.
func StartAt(tb testing.TB, port int, args ...string) *Server {
	tb.Helper()
	s, err := start(Binary(tb), tb.TempDir(), port, args)
	if err != nil {
		tb.Fatalf("start redis-server on port %d: %v", port, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func start(bin, dir string, port int, args []string) (*Server, error) {
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, bin: bin, args: args}
	if err := s.exec(); err != nil {
		return nil, err
	}
	return s, nil
}

// directives is the server's command line: private, no persistence, then
// the caller's directives.
func (s *Server) directives() []string {
	port := s.Port()
	full := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.Dir,
		"--logfile", s.logPath(),
		"--daemonize", "no",
	}
	for i, a := range s.args {
		if i%2 == 0 && !strings.HasPrefix(a, "--") {
			a = "--" + a
		}
		full = append(full, a)
	}
	return full
}

func (s *Server) logPath() string {
	return filepath.Join(s.Dir, fmt.Sprintf("redis-%d.log", s.Port()))
}

// exec starts the process and waits until it answers PING.
func (s *Server) exec() error {
	cmd := exec.Command(s.bin, s.directives()...)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr) == nil {
			return nil
		}
		select {
		case <-exited:
			deadline = time.Time{}
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.Stop()
	return fmt.Errorf("redis-server on %s did not answer PING (log: %s)", s.Addr, tail(s.logPath()))
}

func ping(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Stop kills the server with SIGKILL, so nothing is saved, and waits for
// it to exit. It is safe to call twice.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart kills the server if it runs and starts it again on the same
// port, in the same directory and with the same directives, so it loads
// the dump.rdb of an earlier SAVE and, in a cluster, its nodes.conf.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	var err error
	for attempt := 0; attempt < 3; attempt++ { // the port may linger a moment
		if err = s.exec(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("restart redis-server: %v", err)
}

// Port returns the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 5 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, " | ")
}
