package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
