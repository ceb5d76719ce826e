package features

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// LoadCatalog reads an item catalog (Parquet, one row per item) and
// returns item id -> name. idCol and nameCol name its columns; ids may be
// strings or integers, like event item ids.
func LoadCatalog(ctx context.Context, path, idCol, nameCol string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("catalog %s: not a readable Parquet file: %w", path, err)
	}
	if err := refuseLZ4Raw(pf); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	cols := make([]int, 2)
	fmts := make([]func(parquet.Value) string, 2)
	for i, name := range []string{idCol, nameCol} {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok || leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("catalog %s: column %q not found or repeated; the file has columns %s",
				path, name, catalogColumns(pf.Schema()))
		}
		cols[i] = leaf.ColumnIndex
		fmts[i] = catalogText(leaf.Node)
	}
	names := make(map[string]string)
	rows := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", path, err)
		}
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				var id, name string
				for _, v := range row {
					switch {
					case v.IsNull():
					case v.Column() == cols[0]:
						id = fmts[0](v)
					case v.Column() == cols[1]:
						name = fmts[1](v)
					}
				}
				if id != "" {
					names[id] = name
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rr.Close()
				return nil, fmt.Errorf("catalog %s: %w", path, err)
			}
		}
		rr.Close()
	}
	return names, nil
}

func catalogText(n parquet.Node) func(parquet.Value) string {
	switch n.Type().Kind() {
	case parquet.Int32:
		return func(v parquet.Value) string { return fmt.Sprint(v.Int32()) }
	case parquet.Int64:
		return func(v parquet.Value) string { return fmt.Sprint(v.Int64()) }
	case parquet.Double:
		return func(v parquet.Value) string { return JSNumber(v.Double()) }
	}
	return func(v parquet.Value) string { return string(v.ByteArray()) }
}

func catalogColumns(sc *parquet.Schema) string {
	var names []string
	for _, f := range sc.Fields() {
		names = append(names, f.Name())
	}
	return strings.Join(names, ", ")
}

// refuseLZ4Raw fails for a file with LZ4_RAW column chunks: parquet-go
// v0.32.0 decodes some of them into wrong values without an error (see
// pageLeaf in pagepath.go), and the catalog is read with its row reader.
func refuseLZ4Raw(pf *parquet.File) error {
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec == format.Lz4Raw {
				return fmt.Errorf("column %q is LZ4_RAW-compressed, which parquet-go cannot read reliably; rewrite the file with snappy or zstd (e.g. DuckDB: COPY ... (FORMAT parquet, COMPRESSION zstd))",
					strings.Join(c.MetaData.PathInSchema, "."))
			}
		}
	}
	return nil
}
