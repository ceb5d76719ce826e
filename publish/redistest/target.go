package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Target is what an integration test runs against: one server or a
// cluster. Suites take a *Target so the same assertions run on both (see
// Each).
type Target struct {
	Name    string    // "single" or "cluster"
	Servers []*Server // the server, or the cluster's masters
	cluster *Cluster
}

// Each runs fn as the subtests "single", against a fresh server, and
// "cluster", against a fresh three-master cluster. args are extra
// directives for every server.
func Each(t *testing.T, fn func(t *testing.T, tg *Target), args ...string) {
	t.Run("single", func(t *testing.T) { fn(t, StartTarget(t, false, args...)) })
	t.Run("cluster", func(t *testing.T) { fn(t, StartTarget(t, true, args...)) })
}

// StartTarget starts a single server or, with cluster, a cluster.
func StartTarget(tb testing.TB, cluster bool, args ...string) *Target {
	tb.Helper()
	if !cluster {
		return &Target{Name: "single", Servers: []*Server{Start(tb, args...)}}
	}
	c := StartCluster(tb, args...)
	return &Target{Name: "cluster", Servers: c.Servers, cluster: c}
}

// IsCluster reports whether the target is a cluster.
func (tg *Target) IsCluster() bool { return tg.cluster != nil }

// URL returns the target's redis:// URL; a cluster's lists every master
// as go-redis' cluster URL does.
func (tg *Target) URL() string {
	if tg.cluster != nil {
		return tg.cluster.URL()
	}
	return tg.Servers[0].URL()
}

// Client returns a client for the target, closed at cleanup: a
// *redis.ClusterClient for a cluster.
func (tg *Target) Client(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	if tg.cluster != nil {
		return tg.cluster.Client(tb)
	}
	return tg.Servers[0].Client(tb)
}

// Do runs a command on every server, such as CONFIG SET or SAVE.
func (tg *Target) Do(tb testing.TB, args ...any) {
	tb.Helper()
	for _, s := range tg.Servers {
		if err := nodeDo(context.Background(), s.Addr, args...); err != nil {
			tb.Fatalf("%v on %s: %v", args, s.Addr, err)
		}
	}
}

// Restart restarts server i (see Server.Restart) and, for a cluster, waits
// until the cluster is whole again.
func (tg *Target) Restart(tb testing.TB, i int) {
	tb.Helper()
	tg.Servers[i].Restart(tb)
	if tg.cluster != nil {
		tg.cluster.WaitOK(tb)
	}
}
