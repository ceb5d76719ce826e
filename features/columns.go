package features

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// colMode says where a column's values sit in a row.
type colMode uint8

const (
	modeAbsent colMode = iota // optional column not in this file
	modeFlat                  // top-level leaf: one value per row
	modeNested                // leaf inside structs: one value per row
	modeList                  // leaf inside one list: one value per element
	modeJSON                  // field of the JSON text in a string column
)

// column is one projected input column as found in one file.
type column struct {
	name string  // as given in Options
	mode colMode //
	leaf int     // Parquet leaf index (modeJSON: the string column)
	top  string  // top-level field of the Arrow schema holding the leaf
	// steps from the top-level array down to the leaf: a struct field
	// name, or "" to step into a list's elements.
	steps []string
	json  []string       // modeJSON: field path inside each JSON object
	typ   arrow.DataType // the leaf's Arrow type (modeJSON: the string column's)
	desc  *schema.Column // the leaf's Parquet descriptor
}

func (c *column) present() bool { return c.mode != modeAbsent }

// columnSet is the projection of an events file.
type columnSet struct {
	user, anon, item, event, time, msg, weight, qty column
}

func (s *columnSet) all() []*column {
	return []*column{&s.user, &s.anon, &s.item, &s.event, &s.time, &s.msg, &s.weight, &s.qty}
}

func (s *columnSet) leaves() []int {
	var out []int
	for _, c := range s.all() {
		if c.present() && !containsInt(out, c.leaf) {
			out = append(out, c.leaf)
		}
	}
	return out
}

// dictLeaves lists the flat string leaves to read as Arrow dictionaries,
// so ids are mapped once per dictionary rather than once per row.
func (s *columnSet) dictLeaves() []int {
	var out []int
	for _, c := range []*column{&s.user, &s.anon, &s.item, &s.event} {
		if c.mode == modeFlat && isStringType(c.typ) {
			out = append(out, c.leaf)
		}
	}
	return out
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func isStringType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	case arrow.DICTIONARY:
		return isStringType(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

func isIntType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isNumberType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return isIntType(t)
}

func isIDType(t arrow.DataType) bool {
	return isStringType(t) || isIntType(t) || t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64
}

func isTimeType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.TIMESTAMP, arrow.INT64, arrow.DATE32, arrow.DATE64:
		return true
	}
	return isStringType(t)
}

const (
	wantID     = "a string or integer id"
	wantTime   = "TIMESTAMP (any unit), DATE, INT64 epoch milliseconds or an ISO-8601 string"
	wantString = "a string"
	wantNumber = "a number"
	wantMsgID  = "a string or integer message id"
)

// columnRule says what a role accepts.
type columnRule struct {
	name     string
	required bool
	want     string
	ok       func(arrow.DataType) bool
	perItem  bool // may sit in the item's list or JSON column
}

// resolveColumns finds the projected columns in a file's schema and checks
// their types, so a wrong export fails before any row is read.
func resolveColumns(fr *pqarrow.FileReader, opt *Options) (columnSet, error) {
	var s columnSet
	var err error
	m, sc := fr.Manifest, fr.ParquetReader().MetaData().Schema
	find := func(r columnRule) (column, error) { return findColumn(m, sc, r) }
	if s.item, err = find(columnRule{opt.itemCol(), true, wantID, isIDType, true}); err != nil {
		return s, err
	}
	rules := []struct {
		dst  *column
		rule columnRule
	}{
		{&s.user, columnRule{opt.userCol(), true, wantID, isIDType, false}},
		{&s.anon, columnRule{opt.anonCol(), false, wantID, isIDType, false}},
		{&s.event, columnRule{opt.eventCol(), opt.eventCol() != "-", wantString, isStringType, false}},
		{&s.time, columnRule{opt.timeCol(), true, wantTime, isTimeType, false}},
		{&s.msg, columnRule{opt.msgCol(), false, wantMsgID, isIDType, false}},
		{&s.weight, columnRule{opt.WeightCol, opt.WeightCol != "", wantNumber, isNumberType, true}},
		{&s.qty, columnRule{opt.QuantityCol, opt.QuantityCol != "", wantNumber, isNumberType, true}},
	}
	for _, r := range rules {
		if *r.dst, err = find(r.rule); err != nil {
			return s, err
		}
		c := r.dst
		if c.mode == modeList || c.mode == modeJSON {
			if !r.rule.perItem {
				return s, fmt.Errorf("column %q is inside a list; want one value per row", c.name)
			}
			if c.mode != s.item.mode || c.top != s.item.top {
				return s, fmt.Errorf("column %q is a list element but the item column %q is not in the same list; want both in one list", c.name, s.item.name)
			}
		}
	}
	return s, nil
}

// findColumn resolves a dotted name in the Arrow schema: a top-level
// column of that exact name, or a path through structs and at most one
// list, or a string column holding JSON followed by a path inside it.
func findColumn(m *pqarrow.SchemaManifest, sc *schema.Schema, r columnRule) (column, error) {
	c := column{name: r.name, leaf: -1}
	if r.name == "" || r.name == "-" {
		return c, nil
	}
	cur, rest := topField(m, r.name)
	if cur == nil {
		if !r.required {
			return c, nil
		}
		return c, &MissingColumnError{Kind: "column", Column: r.name, Have: fieldList(m)}
	}
	c.top, c.mode = cur.Field.Name, modeFlat
	cur, rest, lists, depth, err := c.descend(cur, rest, r.want)
	if err != nil {
		return c, err
	}
	if !cur.IsLeaf() {
		return c, fmt.Errorf("column %q has type %s; want %s", r.name, cur.Field.Type, r.want)
	}
	c.leaf, c.typ, c.desc = cur.ColIndex, cur.Field.Type, sc.Column(cur.ColIndex)
	if lists > 1 {
		return c, fmt.Errorf("column %q is inside %d nested lists; want at most one", r.name, lists)
	}
	if len(rest) > 0 {
		if lists > 0 || !isStringType(c.typ) || !r.perItem {
			return c, fmt.Errorf("column %q: %q has type %s; want a struct, a list of structs or JSON text", r.name, strings.TrimSuffix(r.name, "."+strings.Join(rest, ".")), c.typ)
		}
		c.mode, c.json = modeJSON, rest
		return c, nil
	}
	if !r.ok(c.typ) {
		return c, fmt.Errorf("column %q has type %s; want %s", r.name, c.typ, r.want)
	}
	switch {
	case lists > 0:
		c.mode = modeList
	case depth > 0:
		c.mode = modeNested
	}
	return c, nil
}

// topField finds the top-level field a name starts in: the field of that
// exact name, else the one named by its first dotted part.
func topField(m *pqarrow.SchemaManifest, name string) (*pqarrow.SchemaField, []string) {
	for i := range m.Fields {
		if m.Fields[i].Field.Name == name {
			return &m.Fields[i], nil
		}
	}
	parts := strings.Split(name, ".")
	for i := range m.Fields {
		if m.Fields[i].Field.Name == parts[0] {
			return &m.Fields[i], parts[1:]
		}
	}
	return nil, nil
}

// descend follows the path below a top-level field through lists (implicit
// steps) and struct fields (named by rest), recording the steps, and stops
// at a leaf. It returns the field reached, the unused path, and how many
// lists and structs it passed.
func (c *column) descend(cur *pqarrow.SchemaField, rest []string, want string) (*pqarrow.SchemaField, []string, int, int, error) {
	lists, depth := 0, 0
	for {
		switch cur.Field.Type.ID() {
		case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
			lists++
			c.steps = append(c.steps, "")
			cur = &cur.Children[0]
			continue
		case arrow.STRUCT:
			if len(rest) == 0 {
				return nil, nil, 0, 0, fmt.Errorf("column %q is a struct; want %s (name one of its fields: %s)", c.name, want, childNames(cur))
			}
			var next *pqarrow.SchemaField
			for i := range cur.Children {
				if cur.Children[i].Field.Name == rest[0] {
					next = &cur.Children[i]
				}
			}
			if next == nil {
				return nil, nil, 0, 0, fmt.Errorf("column %q: field %q not found; the struct has %s", c.name, rest[0], childNames(cur))
			}
			c.steps = append(c.steps, rest[0])
			cur, rest, depth = next, rest[1:], depth+1
			continue
		}
		return cur, rest, lists, depth, nil
	}
}

func fieldNames(m *pqarrow.SchemaManifest) string {
	names := make([]string, len(m.Fields))
	for i, f := range m.Fields {
		names[i] = f.Field.Name
	}
	return "columns " + strings.Join(names, ", ")
}

func childNames(f *pqarrow.SchemaField) string {
	names := make([]string, len(f.Children))
	for i, ch := range f.Children {
		names[i] = ch.Field.Name
	}
	return strings.Join(names, ", ")
}
