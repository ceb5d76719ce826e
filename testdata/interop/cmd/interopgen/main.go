// Command interopgen writes the interoperability suite's files into a
// directory, for looking at them with other tools (parquet-tools, DuckDB,
// pyarrow) or feeding them to recopub by hand:
//
//	go run ./testdata/interop/cmd/interopgen -out /tmp/interop
//	recopub run --events /tmp/interop/arrowgo_tracks_codec_zstd.parquet --dry-run
//
// It also writes the canonical rows as tracks.ndjson and orders.ndjson,
// the input of node/write.mjs.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/recopub/recopub/testdata/interop"
)

func main() {
	out := flag.String("out", "", "directory to write the files into (created)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "interopgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, c := range interop.Cases() {
		if _, err := c.Write(out); err != nil {
			return err
		}
	}
	if err := interop.WriteCanonicalJSON(out); err != nil {
		return err
	}
	fmt.Printf("wrote %d Parquet files and the canonical rows to %s\n", len(interop.Cases()), out)
	return nil
}
