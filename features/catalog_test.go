package features

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestLoadCatalog(t *testing.T) {
	type row struct {
		ProductID string  `parquet:"product_id"`
		Name      *string `parquet:"name,optional"`
		Price     float64 `parquet:"price"`
	}
	n := "Red mug"
	path := filepath.Join(t.TempDir(), "catalog.parquet")
	MustWriteParquet(t, path, []row{{"P1", &n, 3}, {"P2", nil, 4}}, 1)
	names, err := LoadCatalog(context.Background(), path, "product_id", "name")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names["P1"], "Red mug"; got != want {
		t.Errorf("names[P1]=%q, want %q", got, want)
	}
	if got, ok := names["P2"]; !ok || got != "" {
		t.Errorf("names[P2]=%q,%v; want empty name", got, ok)
	}
	if _, err := LoadCatalog(context.Background(), path, "product_id", "title"); err == nil || !strings.Contains(err.Error(), `"title" not found`) {
		t.Errorf("missing column: err=%v", err)
	}
	// parquet-go misreads some LZ4_RAW pages without an error: refused.
	lz4 := filepath.Join(t.TempDir(), "lz4.parquet")
	if err := parquet.WriteFile(lz4, []row{{"P1", &n, 3}}, parquet.Compression(&parquet.Lz4Raw)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCatalog(context.Background(), lz4, "product_id", "name"); err == nil || !strings.Contains(err.Error(), "LZ4_RAW") {
		t.Errorf("LZ4_RAW catalog: err=%v, want a refusal", err)
	}
}
