package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalJSON(t *testing.T) {
	dir := MustGen(t)
	code, stdout, stderr := run(t, "eval", "--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"),
		"--metric", "jaccard,cosine,ease", "--segment-cols", "membership_status", "--half-life-days", "2", "--k", "5", "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	for _, key := range []string{"precision", "recall", "ndcg", "map", "map_at_k", "coverage"} {
		v, ok := rep[key].(float64)
		if !ok || v < 0 || v > 1 {
			t.Errorf("%s = %v, want a number in [0, 1]", key, rep[key])
		}
	}
	models, _ := rep["models"].([]any)
	var names []string
	for _, m := range models {
		row := m.(map[string]any)
		names = append(names, row["model"].(string))
		if row["precision"].(float64) <= 0 {
			t.Errorf("%s: precision %v", row["model"], row["precision"])
		}
	}
	if got, want := strings.Join(names, ","), "popular,segment,jaccard,cosine,ease"; got != want {
		t.Errorf("models %s, want %s", got, want)
	}
	// The top level repeats the first metric's figures.
	if rep["precision"] != models[2].(map[string]any)["precision"] {
		t.Errorf("top-level precision %v is not jaccard's", rep["precision"])
	}
}

func TestEvalTable(t *testing.T) {
	dir := MustGen(t)
	for _, args := range [][]string{
		{"--split", "last-n", "--n", "2", "--metric", "llr", "--affinity", "binary"},
		{"--split", "temporal", "--cutoff", "2026-11-24", "--metric", "count", "--now", "2026-11-25T00:00:00Z", "--half-life-days", "1"},
		{"--metric", "ease", "--max-dense-items", "10"},
	} {
		code, stdout, stderr := run(t, append([]string{"eval", "--events", filepath.Join(dir, "events")}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if !strings.Contains(stdout, "precision@k") || !strings.Contains(stdout, "popular") {
			t.Errorf("%v: table lacks the header or the baseline:\n%s", args, stdout)
		}
		if args[1] == "ease" && !strings.Contains(stdout, "max-dense-items is 10") {
			t.Errorf("ease over the limit does not say so:\n%s", stdout)
		}
	}
}

func TestEvalUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--metric", "cosinus"},
		{"--split", "random"},
		{"--split", "temporal"},
		{"--affinity", "decayed"},
		{"--k", "0"},
		{"--ratio", "1"},
		{"--user-lists", "-1"},
		{"--user-depth", "0"},
		{"--beta", "-0.5"},
		{"--alpha", "NaN"},
		{"--segment-cols", "membership_status"}, // no --profiles
	} {
		dir := "testdata-does-not-matter"
		if args[0] == "--segment-cols" {
			dir = MustGen(t)
		}
		code, _, stderr := run(t, append([]string{"eval", "--events", filepath.Join(dir, "events")}, args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr)
		}
	}
}

func TestEvalExportInteractions(t *testing.T) {
	dir := MustGen(t)
	path := filepath.Join(t.TempDir(), "pairs.u32")
	code, _, stderr := run(t, "eval", "--events", filepath.Join(dir, "events"), "--export-interactions", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(b), 20000*8; got != want {
		t.Fatalf("%d bytes, want %d (one pair per event)", got, want)
	}
	if u := binary.LittleEndian.Uint32(b); u >= 500 {
		t.Errorf("first user id %d is not a dense id", u)
	}
}

// TestEvalUserLists: --user-lists adds a per-user row after each metric's
// item-list row. With --user-depth equal to --top-n and lists as long as
// k, the per-user lists from neighbour lists are exactly what the item-list
// row scores, so the two rows agree; EASE's come from the whole model.
func TestEvalUserLists(t *testing.T) {
	groceries := filepath.Join("..", "..", "testdata", "eval", "groceries.parquet")
	code, stdout, stderr := run(t, "eval", "--events", groceries, "--metric", "jaccard,rp3beta,ease",
		"--user-lists", "10", "--user-depth", "50", "--top-n", "50", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	var names []string
	for _, row := range rep.Models {
		names = append(names, row.Model)
	}
	if got, want := strings.Join(names, ","), "popular,jaccard,jaccard users@10,rp3beta,rp3beta users@10,ease,ease users@10"; got != want {
		t.Fatalf("models %s, want %s", got, want)
	}
	if got, want := rep.UserLists, 10; got != want {
		t.Errorf("user_lists %d, want %d", got, want)
	}
	for _, i := range []int{1, 3} {
		item, users := rep.Models[i], rep.Models[i+1]
		if item.Evaluation != users.Evaluation {
			t.Errorf("%s: item-list figures %+v, per-user %+v; want the same lists", item.Model, item.Evaluation, users.Evaluation)
		}
	}
	if ease := rep.Models[6]; ease.NDCG <= 0 || ease.Users != rep.Users {
		t.Errorf("ease users@10: ndcg %g for %d users, want > 0 for all %d", ease.NDCG, ease.Users, rep.Users)
	}
}
