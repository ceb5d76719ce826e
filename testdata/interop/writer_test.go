package interop

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// facts is what a file holds, as arrow-go's page reader sees it: every
// page of every column chunk is read and decompressed, so a file the
// writer got wrong fails here, not in recopub's reader.
type facts struct {
	rowGroups int
	codecs    map[string]bool
	pageTypes map[string]bool            // DATA_PAGE, DATA_PAGE_V2, DICTIONARY_PAGE
	encodings map[string]map[string]bool // column -> encodings of its data pages
	mixed     map[string]bool            // column -> a chunk has dictionary and plain data pages
	maxPages  int                        // most data pages in one chunk
}

func readFacts(path string) (f facts, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("arrow-go: %v", r)
		}
	}()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return f, err
	}
	defer rdr.Close()
	f = facts{rowGroups: rdr.NumRowGroups(), codecs: map[string]bool{}, pageTypes: map[string]bool{},
		encodings: map[string]map[string]bool{}, mixed: map[string]bool{}}
	sc := rdr.MetaData().Schema
	for rg := range rdr.NumRowGroups() {
		r := rdr.RowGroup(rg)
		for c := range sc.NumColumns() {
			if err := f.addChunk(r, c, sc.Column(c).Path()); err != nil {
				return f, fmt.Errorf("row group %d column %s: %w", rg, sc.Column(c).Path(), err)
			}
		}
	}
	return f, nil
}

func (f *facts) addChunk(r *file.RowGroupReader, c int, col string) error {
	md, err := r.MetaData().ColumnChunk(c)
	if err != nil {
		return err
	}
	f.codecs[strings.ToLower(md.Compression().String())] = true
	pr, err := r.GetColumnPageReader(c)
	if err != nil {
		return err
	}
	if f.encodings[col] == nil {
		f.encodings[col] = map[string]bool{}
	}
	pages, dict, plain := 0, false, false
	for pr.Next() {
		p := pr.Page()
		typ := p.Type().String()
		f.pageTypes[typ] = true
		if typ == "DATA_PAGE" || typ == "DATA_PAGE_V2" {
			pages++
			enc := p.Encoding().String()
			f.encodings[col][enc] = true
			dict = dict || strings.Contains(enc, "DICTIONARY")
			plain = plain || enc == "PLAIN"
		}
	}
	f.maxPages = max(f.maxPages, pages)
	f.mixed[col] = f.mixed[col] || (dict && plain)
	return pr.Err()
}

// checkWriter fails when the file does not have what the variant asked
// for, so that a writer silently ignoring an option cannot make the suite
// pass on files that do not test anything.
func checkWriter(t *testing.T, path string, s Shape, v Variant) {
	t.Helper()
	f, err := readFacts(path)
	if err != nil {
		t.Fatalf("the writer's file is not readable by arrow-go: %v", err)
	}
	codec := map[Codec]string{Uncompressed: "uncompressed"}[v.codec()]
	if codec == "" {
		codec = string(v.codec())
	}
	if !f.codecs[codec] || len(f.codecs) != 1 {
		t.Errorf("writer: codecs %v, want %s", f.codecs, codec)
	}
	wantPage, otherPage := "DATA_PAGE", "DATA_PAGE_V2"
	if v.PageV2 {
		wantPage, otherPage = otherPage, wantPage
	}
	if !f.pageTypes[wantPage] || f.pageTypes[otherPage] {
		t.Errorf("writer: page types %v, want %s", f.pageTypes, wantPage)
	}
	rows := NumTracks
	if s != TracksShape {
		rows = NumOrders
	}
	if want := (rows + v.rowGroup(s) - 1) / v.rowGroup(s); f.rowGroups != want {
		t.Errorf("writer: %d row groups, want %d", f.rowGroups, want)
	}
	if v.PageSize > 0 && f.maxPages < 4 {
		t.Errorf("writer: at most %d data pages per chunk, want small pages", f.maxPages)
	}
	want := map[string]string{}
	switch {
	case v.Enc == EncDelta && v.IDs == StringIDs:
		want["user_id"] = "DELTA_BYTE_ARRAY"
	case v.Enc == EncDelta:
		want["user_id"] = "DELTA_BINARY_PACKED"
	case v.Enc == EncDeltaLength:
		want["user_id"] = "DELTA_LENGTH_BYTE_ARRAY"
	case v.Enc == EncSplit:
		want["weight"] = "BYTE_STREAM_SPLIT"
	case v.Dict == DictOff:
		want["message_id"] = "PLAIN"
	}
	if v.Time == TimeEpochMs && v.Enc == EncDelta {
		want["timestamp"] = "DELTA_BINARY_PACKED"
	}
	for col, enc := range want {
		if !f.encodings[col][enc] {
			t.Errorf("writer: column %s has encodings %v, want %s", col, f.encodings[col], enc)
		}
	}
	if v.Dict == DictSmall && !f.mixed["message_id"] && !f.mixed["product_id"] && !f.mixed["user_id"] {
		t.Errorf("writer: no id column falls back from dictionary to PLAIN within a chunk (encodings %v)", f.encodings)
	}
	if v.Dict == DictOn && v.Enc == EncDefault && s == TracksShape && !slices.ContainsFunc(mapKeys(f.encodings["event"]), func(e string) bool { return strings.Contains(e, "DICTIONARY") }) {
		t.Errorf("writer: event has encodings %v, want a dictionary", f.encodings["event"])
	}
}

func mapKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
