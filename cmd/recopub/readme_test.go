package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/httpapi"
	"github.com/recopub/recopub/publish/redistest"
)

// readmeExample is one `$ ` line of a README sh block and the output
// shown under it.
type readmeExample struct {
	line int // in README.md
	cmd  string
	want []string
}

// readmeExamples extracts the `$ ` lines of the ```sh blocks of text and
// the lines shown under each, up to the next prompt or the block's end.
func readmeExamples(text string) []readmeExample {
	var out []readmeExample
	in, cur := false, -1 // cur: the example the block's lines belong to
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case !in && l == "```sh":
			in, cur = true, -1
		case in && l == "```":
			in = false
		case in && strings.HasPrefix(l, "$ "):
			out = append(out, readmeExample{line: n, cmd: strings.TrimPrefix(l, "$ ")})
			cur = len(out) - 1
		case in && cur >= 0:
			out[cur].want = append(out[cur].want, l)
		}
	}
	return out
}

// shownOutput turns the shown lines into a regexp for the whole output:
// `…` stands for any text within a line, a line that is only `…` for any
// lines.
func shownOutput(want []string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	for i, l := range want {
		if l == "…" {
			b.WriteString(`(?s:.*?)`)
			continue
		}
		parts := strings.Split(l, "…")
		for j, p := range parts {
			if j > 0 {
				b.WriteString(`[^\n]*?`)
			}
			b.WriteString(regexp.QuoteMeta(p))
		}
		if i < len(want)-1 {
			b.WriteString(`\n`)
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// shellWords splits a command line as sh would for the quoting the
// README uses: single and double quotes, no expansions.
func shellWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	word, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, word = r, true
		case r == ' ' || r == '\t':
			if word {
				out, word = append(out, cur.String()), false
				cur.Reset()
			}
		case strings.ContainsRune("|&;<>$`\\*?", r):
			return nil, fmt.Errorf("%q: shell syntax %q the README runner does not take", s, r)
		default:
			cur.WriteRune(r)
			word = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q: unterminated quote", s)
	}
	if word {
		out = append(out, cur.String())
	}
	return out, nil
}

// TestReadmeExamples runs every `$ ` example of README.md in a fresh
// directory against a private redis-server and checks the output shown.
// bin/recopub (or recopub) runs in-process; `bin/recopub serve ... &`
// starts the HTTP API in-process; curl lines run in sh. The README's
// Redis URL and localhost:8080 stand for the private server and the test's
// HTTP server.
func TestReadmeExamples(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeExamples(string(text))
	if len(examples) < 10 {
		t.Fatalf("README has %d `$ ` examples; the serve section alone has more", len(examples))
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl not found (Debian: apt-get install curl): %v", err)
	}
	rs := redistest.Start(t)
	t.Chdir(t.TempDir())
	var srv *httptest.Server
	t.Cleanup(func() {
		if srv != nil {
			srv.Close()
		}
	})
	for _, ex := range examples {
		cmd := strings.ReplaceAll(ex.cmd, "redis://127.0.0.1:6379/0", rs.URL())
		if srv != nil {
			cmd = strings.ReplaceAll(cmd, "localhost:8080", strings.TrimPrefix(srv.URL, "http://"))
		}
		name := fmt.Sprintf("README.md:%d %s", ex.line, ex.cmd)
		var got string
		switch {
		case strings.HasPrefix(cmd, "curl "):
			if srv == nil {
				t.Fatalf("%s: curl before serve", name)
			}
			c := exec.Command("sh", "-c", strings.Replace(cmd, "curl", curl, 1))
			var stderr bytes.Buffer
			c.Stderr = &stderr
			b, err := c.Output()
			if err != nil {
				t.Fatalf("%s: %v: %s", name, err, stderr.String())
			}
			got = string(b)
		case strings.HasPrefix(cmd, "bin/recopub serve ") && strings.HasSuffix(cmd, " &"):
			rdb := rs.Client(t)
			srv = httptest.NewServer(httpapi.New(publish.NewClient(rdb, publish.ClientOptions{}), rdb, httpapi.Options{}))
			continue
		case strings.HasPrefix(cmd, "bin/recopub ") || strings.HasPrefix(cmd, "recopub "):
			args, err := shellWords(cmd)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var stdout, stderr bytes.Buffer
			m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
			if code := m.Run(context.Background(), args[1:]); code != 0 {
				t.Fatalf("%s: exit %d: %s", name, code, stderr.String())
			}
			got = stdout.String()
		default:
			t.Fatalf("%s: the README runner takes bin/recopub, recopub and curl commands only", name)
		}
		if len(ex.want) == 0 {
			continue
		}
		if re := shownOutput(ex.want); !re.MatchString(strings.TrimSuffix(got, "\n")) {
			t.Errorf("%s: output\n%s\nis not what README shows:\n%s", name, got, strings.Join(ex.want, "\n"))
		}
	}
	// The dry runs and report --compare of the same section are run by
	// TestReadmeCompareExample.
	for _, f := range []string{"out/eval.html", "out/sweep/sweep.csv"} {
		if _, err := os.Stat(filepath.FromSlash(f)); err != nil {
			t.Errorf("README says the examples write %s: %v", f, err)
		}
	}
}

func TestShownOutput(t *testing.T) {
	tests := []struct {
		want []string
		got  string
		ok   bool
	}{
		{[]string{"a 1", "b …"}, "a 1\nb 22", true},
		{[]string{"a 1", "b …"}, "a 1\nb 22\nc", false},
		{[]string{"a …", "…", "z"}, "a 1\nb\nc\nz", true},
		{[]string{"x.y"}, "xzy", false},
		{[]string{`{"v":"…","n":1}`}, `{"v":"20261127T1Z","n":1}`, true},
	}
	for _, tt := range tests {
		if got := shownOutput(tt.want).MatchString(tt.got); got != tt.ok {
			t.Errorf("%q against %q: %v, want %v", tt.want, tt.got, got, tt.ok)
		}
	}
}
