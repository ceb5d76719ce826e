package main

import (
	"context"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
)

// TestJobOnCluster runs the whole job against a three-master Redis
// Cluster, addressed once by go-redis' cluster URL and once by one seed
// address with --cluster, then reads, lists, rolls back and collects.
func TestJobOnCluster(t *testing.T) {
	dir := MustGenSmall(t)
	tg := redistest.StartTarget(t, true)
	rdb := tg.Client(t)
	ctx := context.Background()
	seed := "redis://" + tg.Servers[1].Addr
	runArgs := func(url string, extra ...string) []string {
		return append([]string{"run", "--events", dir + "/events", "--profiles", dir + "/profiles", "--redis", url, "--top-n", "10"}, extra...)
	}
	mustRunOK(t, "run with the cluster URL", runArgs(tg.URL())...)
	sc := &scenario{tg: tg, rdb: rdb, ns: publish.DefaultNamespace, dir: dir}
	first := checkLive(t, sc)
	for _, s := range tg.Servers {
		if n := s.Client(t).DBSize(ctx).Val(); n == 0 {
			t.Errorf("master %s holds none of the version's keys", s.Addr)
		}
	}
	mustRunOK(t, "run with --cluster and a seed", runArgs(seed, "--cluster", "--metric", "jaccard")...)
	second := checkLive(t, sc)
	if second <= first {
		t.Fatalf("second live %s, first %s", second, first)
	}
	item := firstSimItem(t, sc, second)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"similar", item, "-n", "3"}, "# version " + second},
		{[]string{"user", "U0000001"}, "email"},
		{[]string{"versions"}, second},
		{[]string{"rollback"}, "live version is now " + first},
		{[]string{"gc", "--keep", "0", "--grace", "1ms"}, "removed 0 versions"},
	} {
		code, stdout, stderr := run(t, append(tc.args, "--redis", seed, "--cluster")...)
		if code != 0 || !strings.Contains(stdout, tc.want) {
			t.Fatalf("%v: exit %d, want 0 and %q in:\n%s%s", tc.args, code, tc.want, stdout, stderr)
		}
	}
	if got := checkLive(t, sc); got != first {
		t.Errorf("live after rollback %s, want %s", got, first)
	}
	vs, _ := publish.Versions(ctx, rdb, publish.Keys{})
	if len(vs) != 2 {
		t.Errorf("versions after gc: %+v, want the live one and the newer complete one", vs)
	}
}
