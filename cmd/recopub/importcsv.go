package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// importCSVCommand converts public datasets shipped as CSV into event
// exports that eval and run read, so real data can be evaluated with the
// same code path as a warehouse export.
type importCSVCommand struct {
	m *Main

	format string
	in     string
	out    string
	sep    string
	header bool
}

// The formats import-csv knows.
const (
	formatOnlineRetail = "online-retail"
	formatGroceries    = "groceries"
	formatRatings      = "ratings"
)

func (c *importCSVCommand) flags() *flag.FlagSet {
	fs := c.m.newFlagSet("import-csv", "import-csv --format online-retail|groceries|ratings --in FILE.csv --out FILE.parquet")
	fs.StringVar(&c.format, "format", "", `input layout: "online-retail" (UCI Online Retail), "groceries" (one basket per line) or "ratings" (user,item,rating,unix seconds, as MovieLens)`)
	fs.StringVar(&c.in, "in", "", "CSV file to read")
	fs.StringVar(&c.out, "out", "", "Parquet file to write")
	fs.StringVar(&c.sep, "sep", ",", `ratings: field separator ("\t" for MovieLens u.data, "::" is not supported)`)
	fs.BoolVar(&c.header, "header", false, "ratings: the first line is a header")
	return fs
}

func (c *importCSVCommand) Run(ctx context.Context, args []string) error {
	if _, err := parse(c.flags(), args); err != nil {
		return err
	}
	if c.in == "" || c.out == "" {
		return usagef("--in and --out are required")
	}
	sep := strings.ReplaceAll(c.sep, `\t`, "\t")
	if len([]rune(sep)) != 1 {
		return usagef("--sep %q: want one character", c.sep)
	}
	f, err := os.Open(c.in)
	if err != nil {
		return err // names the file
	}
	defer f.Close()
	var n int
	switch c.format {
	case formatOnlineRetail:
		var rows []retailRow
		if rows, err = readOnlineRetail(f); err == nil {
			n, err = len(rows), writeParquet(c.out, rows)
		}
	case formatGroceries:
		var rows []basketRow
		if rows, err = readGroceries(f); err == nil {
			n, err = len(rows), writeParquet(c.out, rows)
		}
	case formatRatings:
		var rows []ratingRow
		if rows, err = readRatings(f, []rune(sep)[0], c.header); err == nil {
			n, err = len(rows), writeParquet(c.out, rows)
		}
	default:
		return usagef("--format %q: want %s, %s or %s", c.format, formatOnlineRetail, formatGroceries, formatRatings)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.in, err)
	}
	fmt.Fprintf(c.m.Stdout, "wrote %d events to %s\n", n, c.out)
	return nil
}

// retailRow is one purchased line of an Online Retail invoice.
type retailRow struct {
	UserID    string  `parquet:"user_id,dict"`
	Event     string  `parquet:"event,dict"`
	Timestamp int64   `parquet:"timestamp,timestamp(millisecond:utc)"`
	ProductID string  `parquet:"product_id,dict"`
	Quantity  float64 `parquet:"quantity"`
	Invoice   string  `parquet:"invoice,dict"`
}

// readOnlineRetail keeps invoice lines with a customer and a positive
// quantity: cancellations (InvoiceNo starting with C) and stock
// adjustments are dropped. CustomerID "17850.0" becomes "17850".
func readOnlineRetail(r io.Reader) ([]retailRow, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	head, err := cr.Read()
	if err != nil {
		return nil, err
	}
	col := make(map[string]int)
	for i, h := range head {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	for _, name := range []string{"InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("header lacks %s: %v", name, head)
		}
	}
	var rows []retailRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		inv, cust := rec[col["InvoiceNo"]], strings.TrimSuffix(rec[col["CustomerID"]], ".0")
		qty, err := strconv.ParseFloat(rec[col["Quantity"]], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: quantity %q", len(rows)+2, rec[col["Quantity"]])
		}
		if strings.HasPrefix(inv, "C") || cust == "" || qty <= 0 {
			continue
		}
		t, err := time.Parse(time.DateTime, rec[col["InvoiceDate"]])
		if err != nil {
			return nil, fmt.Errorf("invoice %s: %w", inv, err)
		}
		rows = append(rows, retailRow{UserID: cust, Event: "Order Completed", Timestamp: t.UnixMilli(),
			ProductID: strings.TrimSpace(rec[col["StockCode"]]), Quantity: qty, Invoice: inv})
	}
}

// basketRow is one item of a grocery basket; the basket is the user.
type basketRow struct {
	UserID    string `parquet:"user_id"`
	Event     string `parquet:"event,dict"`
	Timestamp int64  `parquet:"timestamp,timestamp(millisecond:utc)"`
	ProductID string `parquet:"product_id,dict"`
}

// basketEpoch is the made-up time of the first basket; basket b is b
// seconds later, so the file order survives as time order.
var basketEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// readGroceries reads one comma-separated basket per line. Each basket is
// a pseudo-user "B<line>"; an item repeated within a basket counts once.
func readGroceries(r io.Reader) ([]basketRow, error) {
	sc := bufio.NewScanner(r)
	var rows []basketRow
	for line := 1; sc.Scan(); line++ {
		seen := make(map[string]bool)
		for _, item := range strings.Split(sc.Text(), ",") {
			item = strings.TrimSpace(item)
			if item == "" || seen[item] {
				continue
			}
			seen[item] = true
			rows = append(rows, basketRow{UserID: fmt.Sprintf("B%05d", line), Event: "Order Completed",
				Timestamp: basketEpoch.Add(time.Duration(line) * time.Second).UnixMilli(), ProductID: item})
		}
	}
	return rows, sc.Err()
}

// ratingRow is one rating, in the columns MovieLens exports use.
type ratingRow struct {
	UserID    int64   `parquet:"user_id"`
	ItemID    int64   `parquet:"item_id"`
	Rating    float64 `parquet:"rating"`
	Timestamp int64   `parquet:"timestamp,timestamp(millisecond:utc)"`
}

// readRatings reads user, item, rating, Unix seconds per line.
func readRatings(r io.Reader, sep rune, header bool) ([]ratingRow, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.Comma, cr.FieldsPerRecord = sep, 4
	var rows []ratingRow
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if header && line == 1 {
			continue
		}
		var v [4]float64
		for i, s := range rec {
			if v[i], err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				return nil, fmt.Errorf("line %d: field %d %q is not a number", line, i+1, s)
			}
		}
		rows = append(rows, ratingRow{UserID: int64(v[0]), ItemID: int64(v[1]), Rating: v[2], Timestamp: int64(v[3]) * 1000})
	}
}

// writeParquet writes rows to path, through a temporary file so a failed
// import leaves nothing half-written.
func writeParquet[T any](path string, rows []T) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[T](f, parquet.Compression(&parquet.Zstd))
	if _, err := w.Write(rows); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
