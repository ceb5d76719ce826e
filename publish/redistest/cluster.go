package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters without replicas, each
// owning a third of the hash slots in the order of Servers.
type Cluster struct {
	Servers []*Server
}

// clusterMasters is the number of masters StartCluster starts.
const clusterMasters = 3

// StartCluster starts three redis-servers with cluster-enabled yes on
// private ports (client and cluster bus), assigns each a third of the
// slots with CLUSTER ADDSLOTSRANGE, joins them with CLUSTER MEET and waits
// until every node reports cluster_state:ok. args are extra directives for
// every node, as for Start.
func StartCluster(tb testing.TB, args ...string) *Cluster {
	tb.Helper()
	c := &Cluster{}
	for range clusterMasters {
		c.Servers = append(c.Servers, startNode(tb, args))
	}
	ctx := context.Background()
	per := 16384 / clusterMasters
	for i, s := range c.Servers {
		lo, hi := i*per, (i+1)*per-1
		if i == clusterMasters-1 {
			hi = 16383
		}
		if err := nodeDo(ctx, s.Addr, "CLUSTER", "ADDSLOTSRANGE", lo, hi); err != nil {
			tb.Fatalf("cluster addslotsrange on %s: %v", s.Addr, err)
		}
	}
	for _, s := range c.Servers[1:] {
		if err := nodeDo(ctx, c.Servers[0].Addr, "CLUSTER", "MEET", "127.0.0.1", s.Port(), s.busPort()); err != nil {
			tb.Fatalf("cluster meet %s: %v", s.Addr, err)
		}
	}
	c.WaitOK(tb)
	return c
}

// startNode starts one cluster node on a free port and a free bus port.
func startNode(tb testing.TB, args []string) *Server {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, bus := FreePort(tb), FreePort(tb)
		if bus == port {
			continue
		}
		nodeArgs := append([]string{
			"cluster-enabled", "yes",
			"cluster-config-file", "nodes.conf",
			"cluster-port", strconv.Itoa(bus),
			"cluster-node-timeout", "5000",
		}, args...)
		s, err := start(bin, dir, port, nodeArgs)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("start cluster node: %v", lastErr)
	return nil
}

// busPort returns the cluster-port directive the server was started with.
func (s *Server) busPort() int {
	for i := 0; i+1 < len(s.args); i += 2 {
		if strings.TrimPrefix(s.args[i], "--") == "cluster-port" {
			n, _ := strconv.Atoi(s.args[i+1])
			return n
		}
	}
	return 0
}

// WaitOK waits until every node knows all three masters, all slots are
// served and cluster_state is ok, as after start or a node's restart.
func (c *Cluster) WaitOK(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("cluster not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) check() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, s := range c.Servers {
		rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		info, err := rdb.ClusterInfo(ctx).Result()
		if err == nil {
			var slots []redis.ClusterSlot
			slots, err = rdb.ClusterSlots(ctx).Result()
			if err == nil && len(slots) != clusterMasters {
				err = fmt.Errorf("%s serves %d slot ranges, want %d", s.Addr, len(slots), clusterMasters)
			}
		}
		rdb.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", s.Addr, err)
		}
		for _, want := range []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:" + strconv.Itoa(clusterMasters)} {
			if !strings.Contains(info, want+"\r\n") {
				return fmt.Errorf("%s: cluster info lacks %s", s.Addr, want)
			}
		}
	}
	return nil
}

// Addrs returns the masters' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		out[i] = s.Addr
	}
	return out
}

// URL returns the cluster as go-redis' cluster URL,
// redis://h1:p1?addr=h2:p2&addr=h3:p3.
func (c *Cluster) URL() string {
	u := "redis://" + c.Servers[0].Addr
	for i, s := range c.Servers[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + s.Addr
	}
	return u
}

// Client returns a cluster client, closed at cleanup.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

func nodeDo(ctx context.Context, addr string, args ...any) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	return rdb.Do(ctx, args...).Err()
}
