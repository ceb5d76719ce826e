package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeWriters has DuckDB (node/write.mjs) write the
// canonical events and checks each file like the Go-written ones. It needs
// node and the packages `make interop-node` installs; without them it
// skips, except under CI, where it fails.
func TestNodeWriters(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("node", "node_modules", "@duckdb", "node-api"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node writers unavailable under CI (%v): make interop-node installs them", err)
		}
		t.Skipf("node writers unavailable (%v); run `make interop-node` (needs node and npm) to include DuckDB", err)
	}
	in, out := t.TempDir(), t.TempDir()
	if err := WriteCanonicalJSON(in); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "write.mjs", in, out)
	cmd.Dir = "node"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node write.mjs: %v\n%s", err, stderr.String())
	}
	shapes := map[string]Shape{"tracks": TracksShape, "orders": OrderListShape, "orderjson": OrderJSONShape}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		var f struct{ File, Shape string }
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("write.mjs said %q: %v", sc.Text(), err)
		}
		n++
		t.Run(f.File, func(t *testing.T) {
			t.Parallel()
			checkFile(t, filepath.Join(out, f.File), shapes[f.Shape], StringIDs)
		})
	}
	if n < 10 {
		t.Errorf("write.mjs wrote %d files, want DuckDB's", n)
	}
}
