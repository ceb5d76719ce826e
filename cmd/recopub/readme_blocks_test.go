package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/recopub/recopub/publish/redistest"
)

// readmeBlock is one ```sh block of README.md.
type readmeBlock struct {
	line    int    // of the opening fence
	section string // the closest heading above it
	text    string // the block's lines
}

// mustReadmeBlocks returns README's ```sh blocks in order.
func mustReadmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	section, in := "", false
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case !in && strings.HasPrefix(l, "#"):
			section = strings.TrimSpace(strings.TrimLeft(l, "#"))
		case !in && l == "```sh":
			in = true
			cur.Reset()
			out = append(out, readmeBlock{line: n, section: section})
		case in && l == "```":
			in = false
			out[len(out)-1].text = cur.String()
		case in:
			cur.WriteString(l + "\n")
		}
	}
	return out
}

// readmeSectionBlocks returns the ```sh blocks under the heading section.
func readmeSectionBlocks(t *testing.T, section string) []readmeBlock {
	t.Helper()
	var out []readmeBlock
	for _, b := range mustReadmeBlocks(t) {
		if b.section == section {
			out = append(out, b)
		}
	}
	return out
}

// readmeBlockTests names the test that runs each ```sh block README shows
// without `$ ` prompts, by the section it is in. Blocks with prompts are
// TestReadmeExamples'; synopses (options in brackets) are
// TestReadmeSynopses'.
var readmeBlockTests = map[string]string{
	"Set-up: two commands":                                "TestReadmeMakeRun (make run; make test is this test run)",
	"The data scientist's loop: rerun, compare, evaluate": "TestReadmeCompareExample",
	"Security: passwords, TLS and least-privilege users":  "TestReadmeSecurityExamples",
	"Speed": "TestReadmeBenchCommand",
}

// TestReadmeEveryBlockIsRun fails on a ```sh block of README that no test
// runs: one without `$ ` prompts that is neither a synopsis nor named in
// readmeBlockTests.
func TestReadmeEveryBlockIsRun(t *testing.T) {
	for _, b := range mustReadmeBlocks(t) {
		switch {
		case strings.HasPrefix(b.text, "$ "):
		case isSynopsis(b.text):
		case readmeBlockTests[b.section] != "":
		default:
			t.Errorf("README.md:%d (%s): a ```sh block no test runs; give its commands `$ ` prompts and their output, or a test of its own in readmeBlockTests:\n%s", b.line, b.section, b.text)
		}
	}
}

// isSynopsis says whether a block is a synopsis: every line calls recopub
// and some show options in brackets.
func isSynopsis(text string) bool {
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(l, "recopub ") && !strings.HasPrefix(l, " ") {
			return false
		}
	}
	return strings.Contains(text, "[")
}

// TestReadmeSynopses checks README's synopses against the CLI: every
// command exists and every flag a line names is one of its flags (in
// its -h, which lists them all).
func TestReadmeSynopses(t *testing.T) {
	flagRe := regexp.MustCompile(`(?:^|[\s\[])(--?[a-z][a-z0-9-]*)`)
	n := 0
	for _, b := range mustReadmeBlocks(t) {
		if !isSynopsis(b.text) {
			continue
		}
		// Continuation lines (indented, after a `\`) belong to the line above.
		text := strings.ReplaceAll(b.text, "\\\n", " ")
		for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
			l, _, _ = strings.Cut(l, "#")
			cmd := strings.Fields(l)[1]
			code, help, stderr := run(t, cmd, "-h")
			if code != 0 {
				t.Errorf("README.md:%d: %q: recopub %s -h: exit %d: %s", b.line, l, cmd, code, stderr)
				continue
			}
			for _, m := range flagRe.FindAllStringSubmatch(l, -1) {
				f := m[1]
				if f == "-h" || f == "--version" {
					continue
				}
				n++
				// -h lists every flag as --name; Go's flag package takes
				// -name and --name alike.
				name := "--" + strings.TrimLeft(f, "-")
				if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `( |$)`).MatchString(help) {
					t.Errorf("README.md:%d: recopub %s has no flag %s (not in its -h)", b.line, cmd, f)
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("checked %d flags of README's synopses; the CLI section alone names more", n)
	}
}

// TestReadmeSecurityExamples runs README's password and TLS blocks as
// written, in sh: redis.internal:6379 is a private redis-server and
// redis.internal:6380 one that speaks only TLS with a test CA (its CA file
// stands for /etc/ssl/redis-ca.pem), both with README's `recopub` user;
// /etc/recopub is a temporary directory holding testdata's nightly.yaml.
func TestReadmeSecurityExamples(t *testing.T) {
	blocks := readmeSectionBlocks(t, "Security: passwords, TLS and least-privilege users")
	if len(blocks) != 2 || !strings.Contains(blocks[1].text, "rediss://") {
		t.Fatalf("README's security section has %d sh blocks, want the password block and the TLS one", len(blocks))
	}
	const pw = "s3cret#/?%pw"
	plain := redistest.Start(t)
	setUser(t, plain.Client(t), "recopub", readmeACLRule(t, pw))
	files := MustTLSFiles(t)
	tlsAddr, tlsAdmin := startTLS(t, files, "no")
	setUser(t, tlsAdmin, "recopub", readmeACLRule(t, pw))

	etc := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(filepath.Join(etc, "recopub"), 0o755); err != nil {
		t.Fatal(err)
	}
	nightly, err := os.ReadFile("../../testdata/config/nightly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "recopub", "nightly.yaml"), nightly, 0o644); err != nil {
		t.Fatal(err)
	}
	sh := newReadmeShell(t, map[string]string{
		"PW":                      pw,
		"RECOPUB_PUBLISH_SUMMARY": filepath.Join(t.TempDir(), "summary.json"), // nightly.yaml's is /tmp's
	},
		"redis.internal:6379", plain.Addr, "redis.internal:6380", tlsAddr,
		"/etc/recopub/", etc+"/recopub/", "/etc/ssl/redis-ca.pem", files.CA)
	if err := os.Symlink(MustGenSmall(t), filepath.Join(sh.dir, "sample")); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		out, code := sh.run("set -e\n" + b.text)
		if code != 0 {
			t.Fatalf("README.md:%d: exit %d:\n%s\n%s", b.line, code, b.text, out)
		}
		if strings.Contains(out, pw) {
			t.Errorf("README.md:%d: the password shows in the output:\n%s", b.line, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(etc, "recopub", "redis-password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the password file: %v %v; want mode 0600", fi, err)
	}
	ctx := context.Background()
	for name, cur := range map[string]string{
		"plain": plain.Client(t).Get(ctx, "{reco}:current").Val(),
		"TLS":   tlsAdmin.Get(ctx, "{reco}:current").Val(),
	} {
		if cur == "" {
			t.Errorf("the %s server has no live version after README's commands", name)
		}
	}
}

// TestReadmeBenchCommand runs README's ingest benchmark block from the
// repository's root, as written but on a small export: the generator's
// 10M events become 20,000 under a temporary directory for /tmp/s10m,
// -benchtime 5x is 1x, and bin/recopub the test's (the repository's bin/
// may hold none, or an old one).
func TestReadmeBenchCommand(t *testing.T) {
	blocks := readmeSectionBlocks(t, "Speed")
	if len(blocks) != 1 || !strings.Contains(blocks[0].text, "RECOPUB_BENCH_EVENTS") {
		t.Fatalf("README's Speed section has %d sh blocks, want the benchmark command", len(blocks))
	}
	data := filepath.Join(t.TempDir(), "s10m")
	sh := newReadmeShell(t, nil)
	text := strings.NewReplacer("bin/recopub ", filepath.Join(sh.dir, "bin", "recopub")+" ",
		"--users 1000000 --items 200000 --events 10000000", "--users 2000 --items 300 --events 20000",
		"/tmp/s10m", data, "-benchtime 5x", "-benchtime 1x").Replace(blocks[0].text)
	if text == blocks[0].text {
		t.Fatal("nothing of README's benchmark block was made small")
	}
	cmd := exec.Command("sh", "-c", "set -e\n"+text)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = withoutEnv(os.Environ(), "REDIS_URL", "RECOPUB_TEST_MAIN")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README.md:%d: %v:\n%s\n%s", blocks[0].line, err, text, out)
	}
	for _, want := range []string{"wrote 20000 events", "BenchmarkLoad/dedup", "BenchmarkLoad/nodedup", "events/s", "cpu-s/op", "\nok "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README.md:%d: the output has no %q:\n%s", blocks[0].line, want, out)
		}
	}
}

// withoutEnv returns env less the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, k) {
			out = append(out, kv)
		}
	}
	return out
}

// TestReadmeMakeRun runs the set-up's first command, `make run`, with the
// Makefile's variables pointed into a temporary directory (the binary,
// the sample) and at a private redis-server, then at an address where
// nothing answers, which README says falls back to an embedded Redis.
// The second command, `make test`, is the run this test is part of.
func TestReadmeMakeRun(t *testing.T) {
	blocks := readmeSectionBlocks(t, "Set-up: two commands")
	if len(blocks) != 1 || !strings.HasPrefix(blocks[0].text, "make run ") {
		t.Fatalf("README's set-up has %d sh blocks, want make run and make test", len(blocks))
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make not found: %v", err)
	}
	dir := t.TempDir()
	rs := redistest.Start(t)
	for _, tt := range []struct {
		name, url string
		want      []string
	}{
		{"redis", rs.URL(), nil},
		{"nothing answers", "redis://127.0.0.1:" + strconv.Itoa(redistest.FreePort(t)) + "/0",
			[]string{"using an in-process embedded Redis for this run\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("make", "-C", filepath.Join("..", ".."), "run",
				"BIN="+filepath.Join(dir, "bin", "recopub"), "SAMPLE="+filepath.Join(dir, "sample"), "REDIS_URL="+tt.url)
			cmd.Env = withoutEnv(os.Environ(), "REDIS_URL", "RECOPUB_TEST_MAIN", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make run: %v\n%s", err, out)
			}
			want := append(tt.want, "published version ", "events: 200000 read, 200000 kept, dropped: none\n",
				"similar to P", "user U")
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					t.Errorf("make run's output has no %q:\n%s", w, out)
				}
			}
		})
	}
	if cur := rs.Client(t).Get(context.Background(), "{reco}:current").Val(); cur == "" {
		t.Errorf("make run published nothing to REDIS_URL")
	}
}

// TestReadmeErrorMessages produces the messages README's "Bad input"
// section shows (without their commands) and checks them as shown: the
// run's error, with `…` for any text. The corrupt page of the third line
// is features' TestLoadBadInput's ("corrupt page").
func TestReadmeErrorMessages(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	shown := func(prefix string) string {
		t.Helper()
		i := strings.Index(readme, "\n"+prefix)
		if i < 0 {
			t.Fatalf("README shows no message starting %q", prefix)
		}
		line, _, _ := strings.Cut(readme[i+1:], "\n")
		return line
	}
	sample := mustGen(t) // make run's sample, whose counts README shows
	orders, err := os.ReadFile("../../testdata/ingest/order_list/events/part-00000.parquet")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.Mkdir("exports", 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("exports/o.parquet", orders, 0o644)
	type boolTime struct {
		UserID    string `parquet:"user_id"`
		ProductID string `parquet:"product_id"`
		Event     string `parquet:"event"`
		Timestamp bool   `parquet:"timestamp"`
	}
	if err := parquet.WriteFile("exports/e.parquet", []boolTime{{"u1", "p1", "Order Completed", true}}); err != nil {
		t.Fatal(err)
	}
	events, profiles := filepath.Join(sample, "events"), filepath.Join(sample, "profiles")
	for _, tt := range []struct {
		prefix string
		args   []string
	}{
		{`ingest: events file exports/o.parquet:`, []string{"--events", "exports/o.parquet", "--item-col", "products.item_id"}},
		{`ingest: events file exports/e.parquet:`, []string{"--events", "exports/e.parquet"}},
		{`--event-weights "Order Complete":`, []string{"--events", events, "--event-weights", "Order Complete=5"}},
		{`--segment-cols "income_braket":`, []string{"--events", events, "--profiles", profiles, "--segment-cols", "income_braket"}},
	} {
		want := shown(tt.prefix)
		code, _, stderr := run(t, append([]string{"run", "--dry-run"}, tt.args...)...)
		if code != exitRejected {
			t.Errorf("%s: exit %d, want %d: %s", tt.prefix, code, exitRejected, stderr)
			continue
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		var last struct{ Error string }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
			t.Fatalf("%s: the last log line: %v: %s", tt.prefix, err, stderr)
		}
		if !shownOutput([]string{want}).MatchString(last.Error) {
			t.Errorf("the run's error\n%s\nis not what README shows:\n%s", last.Error, want)
		}
	}
}

// TestReadmeSaysWhereTheBinaryIs: README tells a newcomer where `make
// build` puts the binary and how to put it on PATH instead, and its `$ `
// examples call bin/recopub, which exists after make build in a clone,
// never a bare recopub that may not be on PATH.
func TestReadmeSaysWhereTheBinaryIs(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"`make build` writes the binary to `bin/recopub`", "`go install ./cmd/recopub`"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("README does not say %s", want)
		}
	}
	bare := regexp.MustCompile(`(^|[;&|(]\s*|^(\w+=\S*\s+)+)recopub\s`)
	for _, ex := range readmeExamples(string(b)) {
		if bare.MatchString(ex.cmd) {
			t.Errorf("README.md:%d: %q calls recopub from PATH; `$ ` examples call bin/recopub", ex.line, ex.cmd)
		}
	}
}
