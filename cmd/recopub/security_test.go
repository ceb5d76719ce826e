package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// MustGenSmall writes a small synthetic export for tests that run the job
// many times.
func MustGenSmall(t *testing.T) string {
	t.Helper()
	return mustGen(t, "--users", "120", "--items", "60", "--events", "3000", "--seed", "3")
}

// readmeACLRule returns the arguments of README's "ACL SETUSER recopub"
// rule, with its password placeholder replaced by pw. The tests use the
// README's rule so that the documented rule is the tested one.
func readmeACLRule(t *testing.T, pw string) []string {
	t.Helper()
	return readmeRule(t, "recopub", pw)
}

// readmeRule returns README's rule for user, with >CHANGE-ME replaced
// by >pw.
func readmeRule(t *testing.T, user, pw string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "ACL SETUSER "+user+" ")
		if !ok {
			continue
		}
		args := strings.Fields(line)
		i := slices.Index(args, ">CHANGE-ME")
		if i < 0 {
			t.Fatalf("README's ACL rule has no >CHANGE-ME password placeholder: %s", line)
		}
		args[i] = ">" + pw
		return args
	}
	t.Fatalf("README has no line starting with 'ACL SETUSER %s '", user)
	return nil
}

// setUser creates (or resets) an ACL user with rule on the server.
func setUser(t *testing.T, admin *redis.Client, name string, rule []string) {
	t.Helper()
	args := []any{"ACL", "SETUSER", name}
	for _, r := range rule {
		args = append(args, r)
	}
	if err := admin.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("ACL SETUSER %s %v: %v", name, rule, err)
	}
}

// deniedCommands returns the commands ACL LOG records as denied for user,
// and the denied keys and channels as "key:NAME" / "channel:NAME".
func deniedCommands(t *testing.T, admin *redis.Client, user string) []string {
	t.Helper()
	entries, err := admin.ACLLog(context.Background(), 1000).Result()
	if err != nil {
		t.Fatalf("ACL LOG: %v", err)
	}
	var out []string
	for _, e := range entries {
		if e.Username != user {
			continue
		}
		d := e.Object
		if e.Reason != "command" {
			d = e.Reason + ":" + e.Object
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// jobSteps is every command of the job an operator runs: two runs, the
// version list, a rollback, reads, a run that removes the older versions
// (its own gc), gc.
func jobSteps(dir, url string, extra ...string) [][]string {
	in := []string{"--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"), "--redis", url, "--top-n", "10"}
	runArgs := func(more ...string) []string {
		return append(append(append([]string{"run"}, in...), extra...), more...)
	}
	return [][]string{
		runArgs(),
		runArgs("--metric", "jaccard"),
		{"versions", "--redis", url},
		{"rollback", "--redis", url},
		{"similar", "P000001", "--redis", url},
		{"user", "U0000001", "--redis", url},
		runArgs("--keep", "0", "--grace", "1ns"),
		{"gc", "--keep", "0", "--grace", "1ns", "--redis", url},
	}
}

// runSteps runs the steps in order and returns the output of all of them
// and the first failure ("" if none).
func runSteps(t *testing.T, env map[string]string, steps [][]string) (string, string) {
	t.Helper()
	var all strings.Builder
	failed := ""
	for _, s := range steps {
		code, stdout, stderr := runEnv(t, env, s...)
		all.WriteString(stdout + stderr)
		if code != 0 && failed == "" {
			failed = fmt.Sprintf("%s: exit %d: %s", s[0], code, stderr)
		}
	}
	return all.String(), failed
}

// firstItem returns an item that has a neighbour list.
func firstItem(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	keys, _, err := rdb.Scan(context.Background(), 0, "reco:*:sim:*", 1000).Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no sim keys (err %v)", err)
	}
	return keys[0][strings.LastIndex(keys[0], ":")+1:]
}

// optionalDenials are commands recopub tries but does without.
var optionalDenials = []string{"client|setinfo", "config|get"}

func TestRestrictedUserRunsWholeJob(t *testing.T) {
	dir := MustGenSmall(t)
	s := redistest.Start(t)
	admin := s.Client(t)
	ctx := context.Background()
	setUser(t, admin, "recopub", readmeACLRule(t, "pw-restricted"))
	u := "redis://recopub:pw-restricted@" + s.Addr + "/0"

	steps := jobSteps(dir, u)
	// Read an item the first run published.
	if code, _, stderr := runEnv(t, nil, steps[0]...); code != 0 {
		t.Fatalf("run as restricted user: exit %d\n%s", code, stderr)
	}
	steps[4][1] = firstItem(t, admin)
	out, failed := runSteps(t, nil, steps[1:])
	if failed != "" {
		t.Fatalf("as restricted user: %s\nall output:\n%s", failed, out)
	}
	for _, d := range deniedCommands(t, admin, "recopub") {
		if !slices.Contains(optionalDenials, d) {
			t.Errorf("ACL denied %s to the job (add it to README's rule or stop using it)", d)
		}
	}

	// A locked namespace names the lock's remaining time (PTTL).
	admin.Set(ctx, "{reco}:lock", "someone-else", time.Minute)
	code, _, stderr := runEnv(t, nil, steps[0]...)
	if code != exitLocked || !strings.Contains(stderr, "expires in 1m") {
		t.Errorf("locked run: exit %d, want %d with the lock's TTL; stderr:\n%s", code, exitLocked, stderr)
	}
}

// TestRestrictedUserOnCluster runs the whole job on Redis Cluster as a
// user with README's rule plus +cluster|slots +command, as README says.
func TestRestrictedUserOnCluster(t *testing.T) {
	dir := MustGenSmall(t)
	tg := redistest.StartTarget(t, true)
	args := []any{"ACL", "SETUSER", "recopub"}
	for _, r := range append(readmeACLRule(t, "pw-cluster"), "+cluster|slots", "+command") {
		args = append(args, r)
	}
	tg.Do(t, args...) // ACL users are per node
	u := strings.Replace(tg.URL(), "redis://", "redis://recopub:pw-cluster@", 1)
	steps := jobSteps(dir, u)
	if code, _, stderr := runEnv(t, nil, steps[0]...); code != 0 {
		t.Fatalf("run on the cluster as restricted user: exit %d\n%s", code, stderr)
	}
	keys := redistest.AllKeys(t, tg.Client(t))
	i := slices.IndexFunc(keys, func(k string) bool { return strings.Contains(k, ":sim:") })
	if i < 0 {
		t.Fatalf("no sim keys among %d", len(keys))
	}
	steps[4][1] = keys[i][strings.LastIndex(keys[i], ":")+1:]
	if out, failed := runSteps(t, nil, steps[1:]); failed != "" {
		t.Fatalf("on the cluster as restricted user: %s\nall output:\n%s", failed, out)
	}
	for _, s := range tg.Servers {
		for _, d := range deniedCommands(t, redis.NewClient(&redis.Options{Addr: s.Addr}), "recopub") {
			if !slices.Contains(optionalDenials, d) {
				t.Errorf("ACL on %s denied %s to the job", s.Addr, d)
			}
		}
	}
}

// TestACLRuleIsMinimal drops each command from README's rule in turn and
// checks that the job then gets it denied: every command in the rule is
// used.
func TestACLRuleIsMinimal(t *testing.T) {
	dir := MustGenSmall(t)
	s := redistest.Start(t)
	admin := s.Client(t)
	ctx := context.Background()
	rule := readmeACLRule(t, "pw")
	setUser(t, admin, "probe", rule)
	if code, _, stderr := runEnv(t, nil, jobSteps(dir, "redis://probe:pw@"+s.Addr+"/0")[0]...); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	item := firstItem(t, admin)
	for i, r := range rule {
		cmd, ok := strings.CutPrefix(r, "+")
		if !ok {
			continue
		}
		t.Run(cmd, func(t *testing.T) {
			// A server of its own: a fresh script cache (else EVALSHA
			// finds the scripts and EVAL is never needed) and ACL log.
			t.Parallel()
			s := redistest.Start(t)
			admin := s.Client(t)
			user := "without-" + strings.ReplaceAll(cmd, "|", "-")
			setUser(t, admin, user, slices.Delete(slices.Clone(rule), i, i+1))
			u := "redis://" + user + ":pw@" + s.Addr + "/0"
			steps := jobSteps(dir, u)
			steps[4][1] = item
			out, _ := runSteps(t, nil, steps)
			if cmd == "pexpire" {
				// Only runs longer than a third of the lock TTL renew the
				// lock; hold it that long as run does, without the CPU
				// load of a run that could delay the renewal past the TTL.
				userClient := redis.NewClient(&redis.Options{Addr: s.Addr, Username: user, Password: "pw"})
				defer userClient.Close()
				if lock, err := publish.AcquireLock(ctx, userClient, publish.Keys{}, publish.LockOptions{TTL: 300 * time.Millisecond}); err == nil {
					time.Sleep(250 * time.Millisecond)
					lock.Release(ctx)
				}
			}
			if cmd == "zcard" || cmd == "hlen" {
				// Only the ZADD/HSET path (--no-restore, or a server
				// refusing RESTORE) counts what it wrote.
				runEnv(t, nil, append(slices.Clone(steps[0]), "--no-restore")...)
			}
			// A run that finds the namespace locked asks the lock's TTL.
			admin.Set(ctx, "{reco}:lock", "someone-else", time.Minute)
			runEnv(t, nil, steps[0]...)
			if denied := deniedCommands(t, admin, user); !slices.Contains(denied, cmd) {
				t.Errorf("without +%s nothing asked for it (denied: %v); drop it from README's rule\n%s", cmd, denied, out)
			}
		})
	}
}

func TestNoRestorePermissionFallsBack(t *testing.T) {
	dir := MustGenSmall(t)
	s := redistest.Start(t)
	admin := s.Client(t)
	rule := slices.DeleteFunc(readmeACLRule(t, "pw"), func(r string) bool { return r == "+restore" })
	setUser(t, admin, "norestore", rule)
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	steps := jobSteps(dir, "redis://norestore:pw@"+s.Addr+"/0")
	code, _, stderr := runEnv(t, nil, append(steps[0], "--summary", sumPath)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "RESTORE not available") {
		t.Errorf("log does not say why RESTORE is not used:\n%s", stderr)
	}
	var sum summary
	b, _ := os.ReadFile(sumPath)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Restore || sum.ListsWritten == 0 || sum.HashesWritten == 0 {
		t.Errorf("summary %+v, want lists and hashes written without RESTORE", sum)
	}
	steps[4][1] = firstItem(t, admin)
	if out, failed := runSteps(t, nil, steps[1:]); failed != "" {
		t.Fatalf("%s\n%s", failed, out)
	}
}

// TestPasswordNeverShown runs the whole job with a password, a few
// failures and -h, and looks for the password in every output, the
// summary, and every key and field in Redis.
func TestPasswordNeverShown(t *testing.T) {
	dir := MustGenSmall(t)
	s := redistest.Start(t)
	admin := s.Client(t)
	const pw = "Hunter2-s3cr3t/p@ss:w%rd"
	setUser(t, admin, "recopub", readmeACLRule(t, pw))
	u := "redis://recopub:" + url.QueryEscape(pw) + "@" + s.Addr + "/0"
	secrets := []string{pw, url.QueryEscape(pw), url.PathEscape(pw), "Hunter2"}

	sumPath := filepath.Join(t.TempDir(), "summary.json")
	steps := jobSteps(dir, u, "--log-level", "debug", "--summary", sumPath, "--show", "2")
	if code, _, stderr := runEnv(t, nil, steps[0]...); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	steps[4][1] = firstItem(t, admin)
	out, failed := runSteps(t, nil, steps)
	if failed != "" {
		t.Fatalf("%s\n%s", failed, out)
	}
	var all strings.Builder
	all.WriteString(out)
	b, _ := os.ReadFile(sumPath)
	all.Write(b)
	// A model directory, published with the password in $REDIS_URL.
	modelDir := filepath.Join(t.TempDir(), "model")
	code, stdout, stderr := runEnv(t, nil, append(slices.Clone(steps[0]), "--dry-run", "--out", modelDir)...)
	all.WriteString(stdout + stderr)
	if code != 0 {
		t.Fatalf("dry run --out: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runEnv(t, map[string]string{"REDIS_URL": u}, "publish", "--from", modelDir, "--log-level", "debug")
	all.WriteString(stdout + stderr)
	if code != 0 {
		t.Fatalf("publish --from: exit %d: %s", code, stderr)
	}
	for _, name := range []string{publish.ManifestFile, publish.NeighborsFile, publish.FeaturesFile} {
		b, _ := os.ReadFile(filepath.Join(modelDir, name))
		all.Write(b)
	}

	// Failures: a wrong password, a bad URL, the password in $REDIS_URL
	// shown by -h, and a server that does not answer.
	wrong := "redis://recopub:" + url.QueryEscape("Hunter2-wrong") + "@" + s.Addr + "/0"
	env := map[string]string{"REDIS_URL": u}
	for _, c := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, append(slices.Clone(steps[0][:5]), "--redis", wrong)},
		{nil, []string{"user", "U0000001", "--redis", wrong}},
		{nil, []string{"versions", "--redis", "redis://recopub:Hunter2@" + s.Addr + ":notaport/0"}},
		{nil, []string{"versions", "--redis", "redis://recopub:Hunter2@127.0.0.1:" + strconv.Itoa(redistest.FreePort(t)) + "/0"}},
		{env, []string{"run", "-h"}},
		{env, []string{"similar", "-h"}},
		{env, []string{"versions"}},
	} {
		code, stdout, stderr := runEnv(t, c.env, c.args...)
		all.WriteString(stdout + stderr)
		if len(c.args) > 1 && c.args[1] != "-h" && c.args[0] != "versions" && code == 0 {
			t.Errorf("%v: exit 0, want a failure", c.args)
		}
	}
	if !strings.Contains(all.String(), "xxxxx") {
		t.Errorf("no redacted URL in any output; did the failures run?")
	}
	// Every key, field and value in Redis, manifests included.
	all.WriteString(redisContent(t, admin))
	text := all.String()
	for _, secret := range secrets {
		if i := strings.Index(text, secret); i >= 0 {
			t.Errorf("password %q shown: ...%s...", secret, text[max(0, i-200):min(len(text), i+100)])
		}
	}
}

// tlsFiles are the PEM files of a test CA and a server certificate it
// signed for 127.0.0.1 and localhost.
type tlsFiles struct{ CA, Cert, Key string }

// MustTLSFiles makes a CA and a server certificate in a temp dir.
func MustTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "recopub test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	f := tlsFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server.key")}
	for path, block := range map[string]*pem.Block{
		f.CA:   {Type: "CERTIFICATE", Bytes: caDER},
		f.Cert: {Type: "CERTIFICATE", Bytes: srvDER},
		f.Key:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// startTLS starts a private redis-server that only speaks TLS, using its
// own TLS support, and returns its address and an admin client.
func startTLS(t *testing.T, f tlsFiles, authClients string) (string, *redis.Client) {
	t.Helper()
	bin := redistest.Binary(t)
	dir := t.TempDir()
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(f.CA)
	pool.AppendCertsFromPEM(caPEM)
	for attempt := 0; attempt < 5; attempt++ {
		port := redistest.FreePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--tls-cert-file", f.Cert, "--tls-key-file", f.Key, "--tls-ca-cert-file", f.CA,
			"--tls-auth-clients", authClients, "--save", "", "--appendonly", "no", "--dir", dir,
			"--logfile", filepath.Join(dir, "redis.log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond,
			TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
		t.Cleanup(func() { c.Close() })
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if c.Ping(context.Background()).Err() == nil {
				return addr, c
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	t.Fatalf("TLS redis-server did not answer:\n%s", log)
	return "", nil
}

func TestTLS(t *testing.T) {
	dir := MustGenSmall(t)
	files := MustTLSFiles(t)
	other := MustTLSFiles(t) // a CA that did not sign the server's certificate
	for _, auth := range []string{"no", "optional"} {
		t.Run("tls-auth-clients="+auth, func(t *testing.T) {
			addr, admin := startTLS(t, files, auth)
			setUser(t, admin, "recopub", readmeACLRule(t, "tls-pw"))
			u := "rediss://recopub:tls-pw@" + addr + "/0"
			sumPath := filepath.Join(t.TempDir(), "summary.json")
			steps := jobSteps(dir, u, "--summary", sumPath)
			for i := range steps {
				steps[i] = append(steps[i], "--redis-ca", files.CA)
			}
			if code, _, stderr := runEnv(t, nil, steps[0]...); code != 0 {
				t.Fatalf("run over TLS: exit %d: %s", code, stderr)
			}
			steps[4][1] = firstItem(t, admin)
			if out, failed := runSteps(t, nil, steps[1:]); failed != "" {
				t.Fatalf("over TLS: %s\n%s", failed, out)
			}
			var sum summary
			b, _ := os.ReadFile(sumPath)
			if err := json.Unmarshal(b, &sum); err != nil || !sum.Restore || sum.ListsWritten == 0 {
				t.Errorf("summary %s (err %v), want lists written with RESTORE", b, err)
			}

			for _, c := range []struct {
				name string
				args []string
				code int
				want string
			}{
				{"system CAs only", []string{"versions", "--redis", u}, exitFailed, "certificate"},
				{"wrong CA", []string{"versions", "--redis", u, "--redis-ca", other.CA}, exitFailed, "certificate"},
				{"plain URL with CA", []string{"versions", "--redis", "redis://" + addr + "/0", "--redis-ca", files.CA}, exitUsage, "rediss://"},
				{"missing CA file", []string{"versions", "--redis", u, "--redis-ca", files.CA + ".nope"}, exitUsage, "no such file"},
				{"not a certificate", []string{"versions", "--redis", u, "--redis-ca", files.Key}, exitUsage, "no PEM certificate"},
			} {
				code, _, stderr := runEnv(t, nil, c.args...)
				if code != c.code || !strings.Contains(stderr, c.want) {
					t.Errorf("%s: exit %d, want %d with %q; stderr:\n%s", c.name, code, c.code, c.want, stderr)
				}
				if strings.Contains(stderr, "tls-pw") {
					t.Errorf("%s: password shown:\n%s", c.name, stderr)
				}
			}
		})
	}
}
