package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish/redistest"
)

// readmeExample is one `$ ` line of a README sh block and the output
// shown under it.
type readmeExample struct {
	line int // in README.md
	cmd  string
	want []string
}

// readmeExamples extracts the `$ ` lines of the ```sh blocks of text
// (a line ending in `\` continues on the next) and the lines shown under
// each, up to the next prompt or the block's end.
func readmeExamples(text string) []readmeExample {
	var out []readmeExample
	in, cur, cont := false, -1, false // cur: the example the block's lines belong to
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case !in && l == "```sh":
			in, cur = true, -1
		case in && l == "```":
			in = false
		case in && cont:
			out[cur].cmd = strings.TrimSuffix(out[cur].cmd, "\\") + strings.TrimSpace(l)
			cont = strings.HasSuffix(l, "\\")
		case in && strings.HasPrefix(l, "$ "):
			out = append(out, readmeExample{line: n, cmd: strings.TrimPrefix(l, "$ ")})
			cur, cont = len(out)-1, strings.HasSuffix(l, "\\")
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

// TestReadmeExamples runs every `$ ` example of README.md, in order, in
// sh in a fresh directory (readmeShell: bin/recopub is this binary, the
// README's Redis a private redis-server, localhost:8080 a free port) and
// checks the output shown: stdout and stderr as a terminal shows them. A
// line ending in `&` starts a server for the lines after it. A command
// must exit 0 unless the README shows its output (an error it documents).
func TestReadmeExamples(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeExamples(string(text))
	if len(examples) < 10 {
		t.Fatalf("README has %d `$ ` examples; the serve section alone has more", len(examples))
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl not found (Debian: apt-get install curl): %v", err)
	}
	rs := redistest.Start(t)
	http := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	// testdata/config/nightly.yaml writes its summary to /tmp: here to a
	// temporary directory, by the variable that overrides the file.
	summary := filepath.Join(t.TempDir(), "recopub-summary.json")
	sh := newReadmeShell(t, map[string]string{"REDIS_URL": rs.URL(), "RECOPUB_PUBLISH_SUMMARY": summary},
		"redis://127.0.0.1:6379/0", rs.URL(), "--addr :8080", "--addr "+http, "localhost:8080", http,
		"/tmp/recopub-summary.json", summary)
	for _, ex := range examples {
		name := fmt.Sprintf("README.md:%d %s", ex.line, ex.cmd)
		if strings.HasSuffix(ex.cmd, "&") {
			sh.start(ex.cmd, http)
			continue
		}
		got, code := sh.run(ex.cmd)
		if code != 0 && len(ex.want) == 0 {
			t.Fatalf("%s: exit %d: %s", name, code, got)
		}
		if len(ex.want) == 0 {
			continue
		}
		if re := shownOutput(ex.want); !re.MatchString(screenText(got)) {
			t.Errorf("%s: exit %d, output\n%s\nis not what README shows:\n%s", name, code, got, strings.Join(ex.want, "\n"))
		}
	}
	// The dry runs and report --compare of the data scientist's loop are
	// run by TestReadmeCompareExample.
	for _, f := range []string{"out/eval.html", "out/sweep/sweep.csv"} {
		if _, err := os.Stat(filepath.Join(sh.dir, filepath.FromSlash(f))); err != nil {
			t.Errorf("README says the examples write %s: %v", f, err)
		}
	}
}

// screenText is out as a terminal shows it for comparing with README:
// without the spaces that end lines, nor the final line break.
func screenText(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
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
