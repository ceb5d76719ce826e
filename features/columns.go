package features

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// column is one projected input column: its name, leaf index in the
// Parquet schema, and Arrow type as the reader will produce it.
type column struct {
	name string
	leaf int // -1 when the column is optional and absent
	typ  arrow.DataType
}

func (c column) present() bool { return c.leaf >= 0 }

// columnSet is the projection of an events file.
type columnSet struct {
	user, anon, item, event, time column
}

func (s *columnSet) all() []*column {
	return []*column{&s.user, &s.anon, &s.item, &s.event, &s.time}
}

func (s *columnSet) leaves() []int {
	var out []int
	for _, c := range s.all() {
		if c.present() {
			out = append(out, c.leaf)
		}
	}
	return out
}

// stringLeaves lists the leaves to read as Arrow dictionaries, so ids are
// mapped once per dictionary rather than once per row.
func (s *columnSet) stringLeaves() []int {
	var out []int
	for _, c := range s.all() {
		if c.present() && isStringType(c.typ) {
			out = append(out, c.leaf)
		}
	}
	return out
}

func isStringType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

func isIDType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64:
		return true
	case arrow.DICTIONARY:
		return isIDType(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

func isTimeType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.TIMESTAMP, arrow.INT64, arrow.DATE32, arrow.DATE64,
		arrow.STRING, arrow.LARGE_STRING:
		return true
	}
	return false
}

const (
	wantID   = "a string or integer id"
	wantTime = "TIMESTAMP (any unit), DATE, INT64 epoch milliseconds or an ISO-8601 string"
)

// resolveColumns finds the projected columns in a file's schema and checks
// their types, so a wrong export fails before any row is read.
func resolveColumns(rdr *file.Reader, opt *Options) (columnSet, error) {
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return columnSet{}, err
	}
	sc, err := fr.Schema()
	if err != nil {
		return columnSet{}, fmt.Errorf("read schema: %w", err)
	}
	find := func(name string, required bool, want string, ok func(arrow.DataType) bool) (column, error) {
		c := column{name: name, leaf: -1}
		if name == "-" {
			return c, nil
		}
		idx := rdr.MetaData().Schema.ColumnIndexByName(name)
		fields := sc.FieldIndices(name)
		if idx < 0 || len(fields) == 0 {
			if !required {
				return c, nil
			}
			return c, fmt.Errorf("column %q not found; the file has %s", name, columnNames(sc))
		}
		c.leaf, c.typ = idx, sc.Field(fields[0]).Type
		if !ok(c.typ) {
			return c, fmt.Errorf("column %q has type %s; want %s", name, c.typ, want)
		}
		return c, nil
	}
	var s columnSet
	if s.user, err = find(opt.userCol(), true, wantID, isIDType); err != nil {
		return s, err
	}
	if s.anon, err = find(opt.anonCol(), false, wantID, isIDType); err != nil {
		return s, err
	}
	if s.item, err = find(opt.itemCol(), true, wantID, isIDType); err != nil {
		return s, err
	}
	if s.event, err = find(opt.eventCol(), opt.eventCol() != "-", "a string", isStringType); err != nil {
		return s, err
	}
	if s.time, err = find(opt.timeCol(), true, wantTime, isTimeType); err != nil {
		return s, err
	}
	return s, nil
}

func columnNames(sc *arrow.Schema) string {
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	return "columns " + strings.Join(names, ", ")
}
