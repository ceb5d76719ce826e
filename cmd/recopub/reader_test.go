package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// aclUser creates user name on every server of tg with rule (plus the
// commands README adds on a cluster) and returns tg's URL naming it.
func aclUser(t *testing.T, tg *redistest.Target, name string, rule []string) string {
	t.Helper()
	if tg.IsCluster() {
		rule = append(slices.Clone(rule), "+cluster|slots", "+command")
	}
	args := []any{"ACL", "SETUSER", name}
	for _, r := range rule {
		args = append(args, r)
	}
	tg.Do(t, args...)
	return strings.Replace(tg.URL(), "redis://", "redis://"+name+"@", 1)
}

// readerSteps does, as the reader at readerURL with password pw, what
// online services do: similar, user, recommend, serve with every
// endpoint, and a Go client whose Watch sees a flip made by the job
// (writerStep). It returns everything printed and the first failure.
func readerSteps(t *testing.T, tg *redistest.Target, readerURL, pw string, writerStep []string) (string, string) {
	t.Helper()
	env := map[string]string{"REDIS_PASSWORD": pw}
	item := simItem(t, tg.Client(t))
	var all strings.Builder
	failed := ""
	note := func(what string, err string) {
		all.WriteString(err)
		if failed == "" {
			failed = what + ": " + err
		}
	}
	for _, args := range [][]string{
		{"similar", item}, {"user", "U0000001"}, {"recommend", "U0000001"},
	} {
		code, stdout, stderr := runEnv(t, env, append(args, "--redis", readerURL)...)
		all.WriteString(stdout + stderr)
		if code != 0 {
			note(args[0], stderr)
		}
	}
	if out, err := serveAll(t, env, readerURL, item); err != "" {
		note("serve", err)
	} else {
		all.WriteString(out)
	}
	if err := watchFlip(t, tg, readerURL, pw, writerStep); err != "" {
		note("Watch", err)
	}
	return all.String(), failed
}

// serveAll runs serve and asks each endpoint once.
func serveAll(t *testing.T, env map[string]string, redisURL, item string) (string, string) {
	t.Helper()
	var stderr syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--redis", redisURL}) }()
	defer func() { cancel(); <-done }()
	addr := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		return "", "serve did not start: " + stderr.String()
	}
	var out strings.Builder
	for _, path := range []string{"/v1/similar/" + item, "/v1/recommend/U0000001", "/v1/versions", "/healthz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			return "", err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out.Write(body)
		if resp.StatusCode != 200 {
			return "", path + ": " + resp.Status + " " + string(body)
		}
	}
	return out.String(), ""
}

// watchFlip runs a Go client with Watch as the reader and checks that it
// sees the version the job publishes next, without asking for it.
func watchFlip(t *testing.T, tg *redistest.Target, readerURL, pw string, writerStep []string) string {
	t.Helper()
	u, _ := parseRedisURL(readerURL)
	var rdb redis.UniversalClient
	if tg.IsCluster() {
		var addrs []string
		for _, s := range tg.Servers {
			addrs = append(addrs, s.Addr)
		}
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Username: u.User.Username(), Password: pw})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: u.Host, Username: u.User.Username(), Password: pw})
	}
	defer rdb.Close()
	cl := publish.NewClient(rdb, publish.ClientOptions{TTL: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cl.Watch(ctx)
	live, _ := publish.Live(ctx, tg.Client(t), publish.Keys{})
	if !waitFor(func() bool { return cl.CachedVersion() == live }) {
		return "Watch never read the live version " + live
	}
	if code, _, stderr := runEnv(t, nil, writerStep...); code != 0 {
		return "the job's run failed: " + stderr
	}
	next, _ := publish.Live(ctx, tg.Client(t), publish.Keys{})
	if !waitFor(func() bool { return cl.CachedVersion() == next }) {
		return "Watch did not see the flip to " + next + "; cached " + cl.CachedVersion()
	}
	return ""
}

func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// TestReaderUser publishes as README's job user and reads as README's
// reader user, on a single server and on a cluster: every reading path
// works and ACL LOG records no denial.
func TestReaderUser(t *testing.T) {
	dir := MustGenSmall(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		writerURL := aclUser(t, tg, "recopub", readmeACLRule(t, "pw-job"))
		writerURL = strings.Replace(writerURL, "recopub@", "recopub:pw-job@", 1)
		readerURL := aclUser(t, tg, "recopub-reader", readmeRule(t, "recopub-reader", "pw-read"))
		step := jobSteps(dir, writerURL)[0]
		if code, _, stderr := runEnv(t, nil, step...); code != 0 {
			t.Fatalf("run as the job user: exit %d: %s", code, stderr)
		}
		out, failed := readerSteps(t, tg, readerURL, "pw-read", step)
		if failed != "" {
			t.Fatalf("as the reader: %s\n%s", failed, out)
		}
		for _, s := range tg.Servers {
			admin := redis.NewClient(&redis.Options{Addr: s.Addr})
			defer admin.Close()
			for _, d := range deniedCommands(t, admin, "recopub-reader") {
				if !slices.Contains(optionalDenials, d) {
					t.Errorf("ACL on %s denied %s to the reader (add it to README's rule or stop using it)", s.Addr, d)
				}
			}
		}
	})
}

// TestReaderRuleIsMinimal drops each command from README's reader rule
// in turn: the reader then gets it denied, so every command is used.
func TestReaderRuleIsMinimal(t *testing.T) {
	dir := MustGenSmall(t)
	rule := readmeRule(t, "recopub-reader", "pw")
	for i, r := range rule {
		cmd, ok := strings.CutPrefix(r, "+")
		if !ok {
			continue
		}
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			tg := redistest.StartTarget(t, false)
			writerURL := strings.Replace(aclUser(t, tg, "recopub", readmeACLRule(t, "pw")), "recopub@", "recopub:pw@", 1)
			step := jobSteps(dir, writerURL)[0]
			if code, _, stderr := runEnv(t, nil, step...); code != 0 {
				t.Fatalf("run: exit %d: %s", code, stderr)
			}
			readerURL := aclUser(t, tg, "without", slices.Delete(slices.Clone(rule), i, i+1))
			out, _ := readerSteps(t, tg, readerURL, "pw", step)
			admin := tg.Servers[0].Client(t)
			if denied := deniedCommands(t, admin, "without"); !slices.Contains(denied, cmd) {
				t.Errorf("without +%s nothing asked for it (denied: %v); drop it from README's reader rule\n%s", cmd, denied, out)
			}
		})
	}
}
