package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recopub/recopub/features"
)

// mustImport writes csv to a file, imports it and loads the result.
func mustImport(t *testing.T, format, csv string, extra ...string) *features.Dataset {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.parquet")
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, append([]string{"import-csv", "--format", format, "--in", in, "--out", out}, extra...)...)
	if code != 0 {
		t.Fatalf("import-csv exit %d: %s", code, stderr)
	}
	opt := features.Options{Events: []string{out}}
	if format == formatRatings {
		opt.ItemCol, opt.EventCol = "item_id", "-"
	}
	ds, err := features.Load(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestImportCSV(t *testing.T) {
	t.Run("online-retail", func(t *testing.T) {
		ds := mustImport(t, formatOnlineRetail, `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,"WHITE HANGING HEART T-LIGHT HOLDER, LARGE",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom
536380,22961,JAM MAKING SET PRINTED,-24,2010-12-01 09:41:00,1.45,14527.0,United Kingdom
536381,22139,RETROSPOT TEA SET,2,2010-12-01 09:45:00,4.95,15311.0,United Kingdom
`)
		if got, want := ds.Len(), 2; got != want {
			t.Fatalf("%d events, want %d (no customer, cancellation and negative quantity dropped)", got, want)
		}
		if got, want := strings.Join(slices.Sorted(slices.Values(ds.Users)), ","), "15311,17850"; got != want {
			t.Errorf("users %s, want %s", got, want)
		}
		if got, want := strings.Join(ds.Items, ","), "22139,85123A"; got != want {
			t.Errorf("items %s, want %s", got, want)
		}
		if got, want := ds.Time[0], uint32(1291191960); got != want { // 2010-12-01 08:26:00 UTC
			t.Errorf("time %d, want %d", got, want)
		}
	})
	t.Run("groceries", func(t *testing.T) {
		ds := mustImport(t, formatGroceries, "citrus fruit,margarine,citrus fruit\nwhole milk\n")
		if got, want := ds.Len(), 3; got != want {
			t.Fatalf("%d events, want %d (a repeated item counts once)", got, want)
		}
		if got, want := strings.Join(slices.Sorted(slices.Values(ds.Users)), ","), "B00001,B00002"; got != want {
			t.Errorf("users %s, want %s", got, want)
		}
	})
	t.Run("ratings", func(t *testing.T) {
		ds := mustImport(t, formatRatings, "user\titem\trating\tts\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
			"--sep", `\t`, "--header")
		if got, want := ds.Len(), 2; got != want {
			t.Fatalf("%d events, want %d", got, want)
		}
		if got, want := strings.Join(ds.Items, ","), "242,302"; got != want {
			t.Errorf("items %s, want %s", got, want)
		}
		if got, want := ds.Time[0], uint32(881250949); got != want {
			t.Errorf("time %d, want %d", got, want)
		}
	})
}

func TestImportCSVErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("a,b,c\n1,2,3\n"), 0o644)
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"--format", "online-retail", "--in", bad}, exitUsage}, // no --out
		{[]string{"--format", "xml", "--in", bad, "--out", filepath.Join(dir, "x")}, exitUsage},
		{[]string{"--format", "ratings", "--sep", "::", "--in", bad, "--out", filepath.Join(dir, "x")}, exitUsage},
		{[]string{"--format", "online-retail", "--in", bad, "--out", filepath.Join(dir, "x")}, exitFailed},
		{[]string{"--format", "ratings", "--in", bad, "--out", filepath.Join(dir, "x")}, exitFailed},
		{[]string{"--format", "groceries", "--in", filepath.Join(dir, "missing"), "--out", filepath.Join(dir, "x")}, exitFailed},
	} {
		if code, _, stderr := run(t, append([]string{"import-csv"}, tt.args...)...); code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a failed import left its output")
	}
}

// TestImportCSVFixtures checks that testdata/eval holds what import-csv
// makes of the shared CSVs, when they are there (next to the repository).
func TestImportCSVFixtures(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "data")
	for _, tt := range []struct{ format, csv, fixture string }{
		{formatOnlineRetail, "online-retail/OnlineRetail_first10000.csv", "online-retail.parquet"},
		{formatGroceries, "groceries/groceries.csv", "groceries.parquet"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			in := filepath.Join(shared, tt.csv)
			if _, err := os.Stat(in); err != nil {
				t.Skipf("%s not found", in)
			}
			out := filepath.Join(t.TempDir(), "out.parquet")
			mustRunOK(t, "", "import-csv", "--format", tt.format, "--in", in, "--out", out)
			got, _ := os.ReadFile(out)
			want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "eval", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/eval/%s differs from a fresh import of %s; rerun the command in testdata/eval/README.md", tt.fixture, tt.csv)
			}
		})
	}
}
