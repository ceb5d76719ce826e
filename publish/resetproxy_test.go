package publish_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// resetProxy is a TCP proxy in front of each Redis server that resets
// connections mid-write: once a connection has carried after bytes from
// the client, it stops passing replies back, forwards what it has, gives
// the server time to run it, and resets both sides. The client's
// pipeline is then lost after the server ran part of it, and go-redis
// sends it again on a new connection.
type resetProxy struct {
	after  int
	resets atomic.Int32 // resets still to do
	done   atomic.Int32 // resets done

	mu  sync.Mutex
	lns map[string]net.Listener // server address -> proxy listener
}

func newResetProxy(t *testing.T, servers []string, after, resets int) *resetProxy {
	t.Helper()
	p := &resetProxy{after: after, lns: make(map[string]net.Listener)}
	p.resets.Store(int32(resets))
	for _, addr := range servers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		p.lns[addr] = ln
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go p.serve(c, addr)
			}
		}()
	}
	return p
}

// dial is the clients' Dialer: it connects to the proxy of addr.
func (p *resetProxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	p.mu.Lock()
	ln := p.lns[addr]
	p.mu.Unlock()
	if ln != nil {
		addr = ln.Addr().String()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (p *resetProxy) serve(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	var frozen atomic.Bool
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 && !frozen.Load() {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 16<<10)
	sent := 0
	for {
		n, err := c.Read(buf)
		if n > 0 {
			reset := sent+n >= p.after && sent < p.after && p.resets.Add(-1) >= 0
			if reset {
				frozen.Store(true)
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
			sent += n
			if reset {
				time.Sleep(50 * time.Millisecond) // the server runs it; its replies are dropped
				c.(*net.TCPConn).SetLinger(0)
				p.done.Add(1)
				return
			}
		}
		if err != nil {
			_, _ = io.Copy(io.Discard, c)
			return
		}
	}
}

// testResetMidWrite: connections reset in the middle of ZADD/HSET
// pipelines make go-redis resend them; the resent writes add nothing,
// and the version is still written, verified and flipped.
func testResetMidWrite(t *testing.T, tg *redistest.Target, _ redis.UniversalClient, k publish.Keys) {
	ctx := context.Background()
	var addrs []string
	for _, s := range tg.Servers {
		addrs = append(addrs, s.Addr)
	}
	p := newResetProxy(t, addrs, 48<<10, 4)
	var rdb redis.UniversalClient
	if tg.IsCluster() {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Dialer: p.dial, MaxRetries: 5})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: addrs[0], Dialer: p.dial, MaxRetries: 5})
	}
	defer rdb.Close()
	w := &publish.Writer{Client: rdb, Keys: k, NoRestore: true, Conns: 2, PipelineBytes: 16 << 10}
	r, err := w.Publish(ctx, listsModel(3000, 1))
	if err != nil {
		t.Fatalf("publish through resets: %v", err)
	}
	if p.done.Load() == 0 {
		t.Fatal("no connection was reset: the test proves nothing")
	}
	t.Logf("%d connections reset mid-write", p.done.Load())
	if got, want := versionKeys(t, tg, k, r.Version), 6001; got != want {
		t.Errorf("version has %d keys, want %d", got, want)
	}
	if err := publish.VerifyVersion(ctx, tg.Client(t), k, r.Version); err != nil {
		t.Error(err)
	}
}
