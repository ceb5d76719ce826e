package publish

import (
	"context"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestModelWriterCSV writes the same model as Parquet and as CSV and
// checks the CSV tables hold the same rows, in the same order.
func TestModelWriterCSV(t *testing.T) {
	m := randomModel(rand.New(rand.NewPCG(7, 8)), 60, 40)
	pq := MustRoundTrip(t, m, 50)
	dir := t.TempDir()
	man, err := (&ModelWriter{Dir: dir, Format: CSV}).Write(context.Background(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if man.Counts.Neighbors != pq.Counts.Neighbors || man.Counts.Features != pq.Counts.Features {
		t.Fatalf("csv counts %+v, parquet %+v", man.Counts, pq.Counts)
	}
	nb := readCSV(t, filepath.Join(dir, NeighborsCSV))
	if got, want := nb[0], neighborCSVHeader; !slices.Equal(got, want) {
		t.Fatalf("header %q, want %q", got, want)
	}
	if got, want := int64(len(nb)-1), man.Counts.Neighbors; got != want {
		t.Fatalf("%d neighbour rows, want %d", got, want)
	}
	// Rows follow the lists of the model in order, ranked from 1.
	row := 1
	var l List
	for _, fam := range m.Families {
		for i := range fam.Lists.Len() {
			l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
			fam.Lists.List(i, &l)
			for k, member := range l.Members {
				r := nb[row]
				score, _ := strconv.ParseFloat(r[3], 64)
				if r[0] != fam.Name || r[1] != l.ID || r[2] != member || score != l.Scores[k] || r[4] != strconv.Itoa(k+1) {
					t.Fatalf("row %d = %q, want %s %s %s %v rank %d", row, r, fam.Name, l.ID, member, l.Scores[k], k+1)
				}
				row++
			}
		}
	}
	ft := readCSV(t, filepath.Join(dir, FeaturesCSV))
	if got, want := int64(len(ft)-1), man.Counts.Features; got != want {
		t.Fatalf("%d feature rows, want %d", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
		t.Fatalf("no manifest: %v", err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestParseFileFormat(t *testing.T) {
	for in, want := range map[string]FileFormat{"": Parquet, "parquet": Parquet, "CSV": CSV} {
		if got, err := ParseFileFormat(in); err != nil || got != want {
			t.Errorf("ParseFileFormat(%q)=%v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseFileFormat("xlsx"); err == nil {
		t.Error("ParseFileFormat(xlsx) succeeded")
	}
}
