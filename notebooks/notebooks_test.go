// Package notebooks_test checks the notebooks' structure; 'make
// notebooks' executes them (and their asserts that the plots carry
// information) with nbconvert.
package notebooks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type notebook struct {
	Cells []struct {
		CellType string `json:"cell_type"`
		Metadata struct {
			Tags []string `json:"tags"`
		} `json:"metadata"`
		Source []string `json:"source"`
	} `json:"cells"`
}

// TestParametersCell: each notebook's settings are in one code cell
// tagged "parameters" (papermill's convention), the first code cell, and
// no other cell reads the environment: what a run used is in that cell.
func TestParametersCell(t *testing.T) {
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks: %v", err)
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var nb notebook
			if err := json.Unmarshal(b, &nb); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			params, first := -1, -1
			for i, c := range nb.Cells {
				if c.CellType != "code" {
					continue
				}
				if first < 0 {
					first = i
				}
				src := strings.Join(c.Source, "")
				if slices.Contains(c.Metadata.Tags, "parameters") {
					if params >= 0 {
						t.Errorf("cells %d and %d are both tagged parameters", params, i)
					}
					params = i
					continue
				}
				if strings.Contains(src, "os.environ") {
					t.Errorf("cell %d reads the environment; settings belong in the parameters cell", i)
				}
			}
			if params < 0 || params != first {
				t.Fatalf("parameters cell at %d, first code cell at %d: want one tagged cell, first", params, first)
			}
			src := strings.Join(nb.Cells[params].Source, "")
			for _, want := range []string{"recopub_bin", "sample_dir", "work_dir"} {
				if !strings.Contains(src, want+" = ") {
					t.Errorf("parameters cell does not set %s", want)
				}
			}
		})
	}
}
