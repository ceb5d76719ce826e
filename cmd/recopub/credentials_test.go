package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// The password of the credential tests: every character that breaks a
// URL, and non-ASCII ones.
const nastyPassword = "Zq#9?f/r@ag%2Fé€:x"

// secretPieces are parts of nastyPassword that no output may contain,
// whichever way a misparse cut it.
var secretPieces = []string{nastyPassword, "Zq#9", "9?f", "f/r@", "ag%2F", "é€:x", url.QueryEscape(nastyPassword), url.PathEscape(nastyPassword)}

// TestBadURLsNeverShown feeds --redis URLs whose password holds an
// unencoded '#', '?', '/', '@', '%' or non-ASCII character. Each is
// written so that a misparse names only 127.0.0.1 (its intended user is
// "127.0.0.1" and the password "9<c>Sekr1t"), so nothing is looked up in
// DNS. Every one is refused with exit 2, or (the '@', which net/url
// reads right) fails to authenticate, and no output shows the password.
func TestBadURLsNeverShown(t *testing.T) {
	port := strconv.Itoa(redistest.FreePort(t))
	for _, c := range []string{"#", "?", "/", "%", "%zz", "é", "#x?y/z"} {
		raw := "redis://127.0.0.1:9" + c + "Sekr1t@127.0.0.1:" + port + "/0"
		for _, args := range [][]string{
			{"versions", "--redis", raw},
			{"rollback", "--redis", raw},
			{"gc", "--redis", raw},
			{"similar", "P1", "--redis", raw},
			{"recommend", "U1", "--redis", raw},
			{"run", "--events", "nope", "--redis", raw},
			{"config", "--print", "--redis", raw},
			{"versions", "-h"},
		} {
			env := map[string]string{"REDIS_URL": raw}
			code, stdout, stderr := runEnv(t, env, args...)
			out := stdout + stderr
			if strings.Contains(out, "Sekr1t") {
				t.Errorf("%q %v: the password shows:\n%s", c, args, out)
			}
			if args[1] != "-h" && args[0] != "config" && code != exitUsage {
				t.Errorf("%q %v: exit %d, want %d:\n%s", c, args, code, exitUsage, out)
			}
		}
	}
	// '@' in a password is read right (the last '@' ends the user info):
	// it is tried, and refused by the server, without being shown.
	raw := "redis://127.0.0.1:9@Sekr1t@127.0.0.1:" + port + "/0"
	code, stdout, stderr := runEnv(t, nil, "versions", "--redis", raw)
	if code != exitFailed || strings.Contains(stdout+stderr, "Sekr1t") || !strings.Contains(stderr, "127.0.0.1:"+port) {
		t.Errorf("'@' in the password: exit %d, want %d naming the address only:\n%s%s", code, exitFailed, stdout, stderr)
	}
	// A password given twice is ambiguous.
	code, _, stderr = runEnv(t, map[string]string{"REDIS_PASSWORD": "Sekr1t"}, "versions", "--redis", "redis://u:Sekr1t@127.0.0.1:"+port+"/0")
	if code != exitUsage || !strings.Contains(stderr, "give it once") || strings.Contains(stderr, "Sekr1t") {
		t.Errorf("password in the URL and $REDIS_PASSWORD: exit %d, want %d and 'give it once':\n%s", code, exitUsage, stderr)
	}
}

// TestPasswordSources runs the whole job, on a single server and on a
// cluster, as README's user whose password breaks URLs, given by
// --redis-password-file and by $REDIS_PASSWORD, and looks for it in
// every output, the summary, the metrics, the report, the model files
// and every key and value in Redis.
func TestPasswordSources(t *testing.T) {
	dir := MustGenSmall(t)
	redistest.Each(t, func(t *testing.T, tg *redistest.Target) {
		rule := readmeACLRule(t, nastyPassword)
		if tg.IsCluster() {
			rule = append(rule, "+cluster|slots", "+command")
		}
		args := []any{"ACL", "SETUSER", "recopub"}
		for _, r := range rule {
			args = append(args, r)
		}
		tg.Do(t, args...)
		u := strings.Replace(tg.URL(), "redis://", "redis://recopub@", 1)
		pwFile := filepath.Join(t.TempDir(), "redis-password")
		if err := os.WriteFile(pwFile, []byte(nastyPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		sumPath, promPath := filepath.Join(tmp, "summary.json"), filepath.Join(tmp, "recopub.prom")
		var all strings.Builder
		for _, how := range []struct {
			env   map[string]string
			extra []string
		}{
			{nil, []string{"--redis-password-file", pwFile}},
			{map[string]string{"REDIS_PASSWORD": nastyPassword}, nil},
		} {
			steps := jobSteps(dir, u, "--log-level", "debug", "--summary", sumPath, "--metrics-textfile", promPath, "--show", "2")
			for i := range steps {
				steps[i] = append(steps[i], how.extra...)
			}
			if code, stdout, stderr := runEnv(t, how.env, steps[0]...); code != 0 {
				t.Fatalf("run: exit %d: %s%s", code, stdout, stderr)
			}
			steps[4][1] = simItem(t, tg.Client(t))
			out, failed := runSteps(t, how.env, steps)
			all.WriteString(out)
			if failed != "" {
				t.Fatalf("%s\n%s", failed, out)
			}
			outDir := filepath.Join(tmp, "model")
			code, stdout, stderr := runEnv(t, how.env, append(slices.Clone(steps[0]), "--dry-run", "--out", outDir)...)
			all.WriteString(stdout + stderr)
			if code != 0 {
				t.Fatalf("dry run: exit %d: %s", code, stderr)
			}
			for _, p := range []string{sumPath, promPath, filepath.Join(outDir, "report.html"), filepath.Join(outDir, "manifest.json")} {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				all.Write(b)
			}
		}
		all.WriteString(redisContent(t, tg.Client(t)))
		text := all.String()
		for _, secret := range secretPieces {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("password piece %q shown: ...%s...", secret, text[max(0, i-200):min(len(text), i+100)])
			}
		}
	})
}

// simItem returns an item that has a neighbour list, on any target.
func simItem(t *testing.T, rdb redis.UniversalClient) string {
	t.Helper()
	keys := redistest.AllKeys(t, rdb)
	i := slices.IndexFunc(keys, func(k string) bool { return strings.Contains(k, ":sim:") })
	if i < 0 {
		t.Fatalf("no sim keys among %d", len(keys))
	}
	return keys[i][strings.LastIndex(keys[i], ":")+1:]
}

// redisContent is every key, field, member and value in Redis, one a
// line.
func redisContent(t *testing.T, rdb redis.UniversalClient) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, k := range redistest.AllKeys(t, rdb) {
		b.WriteString(k + "\n")
		switch rdb.Type(ctx, k).Val() {
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				b.WriteString(f + "=" + v + "\n")
			}
		case "zset":
			for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
				b.WriteString(m + "\n")
			}
		case "string":
			b.WriteString(rdb.Get(ctx, k).Val() + "\n")
		}
	}
	return b.String()
}
