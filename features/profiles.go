package features

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// DefaultProfileIDCol is the profile table's user id column unless
// ProfileOptions say otherwise.
const DefaultProfileIDCol = "user_id"

// Profiles is a profile table: for each user, the traits a reverse-ETL
// export carries, already formatted as a RudderStack Redis destination
// would write them: numbers as JavaScript prints them, true/false, nested
// structs flattened into fields joined with ".", lists and maps as JSON
// text (an empty list as "[]"), nulls and empty maps left out, empty
// strings kept.
//
// The table is kept compactly, for the tens of millions of traits of a
// large export: ids and values are copied out of the Arrow batches into
// two byte slices, a column's repeated short values (a status, a bracket)
// are stored once, and ids are indexed by open addressing over 4-byte
// slots.
type Profiles struct {
	Columns []string // trait names, nested structs flattened with "."

	colIndex map[string]uint16 // trait name -> index in Columns
	ids      texts             // row -> user id
	index    rowIndex          // user id -> its last row
	replaced []uint64          // bit r: a later row of the same user replaced row r
	ptr      []int32           // row r's traits are [ptr[r], ptr[r+1])
	col      []uint16
	val      []uint32 // index in values
	values   texts
	interned []map[string]uint32 // by column: short values stored so far, while few
}

// Len returns the number of users with a profile.
func (p *Profiles) Len() int {
	if p == nil {
		return 0
	}
	return p.index.n
}

// Traits appends user's traits to fields and values. ok is false when the
// user has no profile.
func (p *Profiles) Traits(user string, fields, values []string) ([]string, []string, bool) {
	r, ok := p.row(user)
	if !ok {
		return fields, values, false
	}
	fields, values = p.rowTraits(r, fields, values)
	return fields, values, true
}

// row returns user's last row.
func (p *Profiles) row(user string) (uint32, bool) {
	if p == nil {
		return 0, false
	}
	return p.index.get(&p.ids, user)
}

// rowTraits appends the traits of row r.
func (p *Profiles) rowTraits(r uint32, fields, values []string) ([]string, []string) {
	for k := p.ptr[r]; k < p.ptr[r+1]; k++ {
		fields = append(fields, p.Columns[p.col[k]])
		values = append(values, p.values.at(p.val[k]))
	}
	return fields, values
}

// rowTraitCount returns the number of traits of row r.
func (p *Profiles) rowTraitCount(r uint32) int { return int(p.ptr[r+1] - p.ptr[r]) }

// isLast reports whether row r is its user's last row.
func (p *Profiles) isLast(r uint32) bool { return p.replaced[r/64]&(1<<(r%64)) == 0 }

// rows returns the number of rows read, replaced ones included.
func (p *Profiles) rows() int {
	if p == nil {
		return 0
	}
	return p.ids.len()
}

// IDs returns the user ids that have a profile, each once, in the order
// of their last row.
func (p *Profiles) IDs() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, p.Len())
	for r := range uint32(p.rows()) {
		if p.isLast(r) {
			out = append(out, p.ids.at(r))
		}
	}
	return out
}

// ProfileOptions configures LoadProfiles.
type ProfileOptions struct {
	Paths   []string
	IDCol   string   // default DefaultProfileIDCol
	Columns []string // traits to keep, by top-level or flattened name; default all but the id
}

// LoadProfiles reads profile tables. A user that appears more than once
// keeps the traits of its last row; rows without an id are skipped.
func LoadProfiles(ctx context.Context, opt ProfileOptions) (*Profiles, error) {
	paths, err := ResolvePaths(opt.Paths)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	p := &Profiles{colIndex: make(map[string]uint16), ptr: []int32{0}}
	for _, path := range paths {
		if err := p.readFile(ctx, path, &opt); err != nil {
			return nil, fmt.Errorf("profiles file %s: %w", path, err)
		}
	}
	return p, nil
}

func (p *Profiles) readFile(ctx context.Context, path string, opt *ProfileOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCorrupt, r)
		}
	}()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("not a readable Parquet file: %w", err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: batchRows}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	idName := orDefault(opt.IDCol, DefaultProfileIDCol)
	idIdx := sc.FieldIndices(idName)
	if len(idIdx) == 0 {
		return &MissingColumnError{Kind: "column", Column: idName, Have: topNames(sc)}
	}
	if t := sc.Field(idIdx[0]).Type; !isIDType(t) {
		return fmt.Errorf("column %q has type %s; want %s", idName, t, wantID)
	}
	fields, err := p.pickFields(sc, idName, opt.Columns)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.addBatch(rr.RecordBatch(), idIdx[0], fields)
	}
	return rr.Err()
}

// traitField is a top-level column and the traits it gives.
type traitField struct {
	index int
	name  string
	keep  func(name string) bool // of the flattened names below it
}

// pickFields chooses the top-level columns to read and checks that every
// requested trait exists.
func (p *Profiles) pickFields(sc *arrow.Schema, idName string, want []string) ([]traitField, error) {
	var out []traitField
	found := make(map[string]bool)
	for i, f := range sc.Fields() {
		if f.Name == idName {
			continue
		}
		names := flatNames(f.Name, f.Type)
		keep := func(string) bool { return true }
		if len(want) > 0 {
			if slices.Contains(want, f.Name) {
				found[f.Name] = true
			} else {
				var picked []string
				for _, n := range names {
					if slices.Contains(want, n) {
						picked = append(picked, n)
						found[n] = true
					}
				}
				if len(picked) == 0 {
					continue
				}
				names = picked
				keep = func(n string) bool { return slices.Contains(picked, n) }
			}
		}
		for _, n := range names {
			if _, ok := p.colIndex[n]; !ok {
				if len(p.Columns) > math.MaxUint16 {
					return nil, fmt.Errorf("more than %d profile columns", math.MaxUint16+1)
				}
				p.colIndex[n] = uint16(len(p.Columns))
				p.Columns = append(p.Columns, n)
				p.interned = append(p.interned, make(map[string]uint32))
			}
		}
		out = append(out, traitField{index: i, name: f.Name, keep: keep})
	}
	for _, w := range want {
		if !found[w] {
			return nil, &MissingColumnError{Kind: "profile column", Column: w, Have: traitNames(sc)}
		}
	}
	return out, nil
}

// flatNames lists the trait names a column gives: a struct's fields
// joined with ".", anything else by its own name.
func flatNames(name string, t arrow.DataType) []string {
	st, ok := t.(*arrow.StructType)
	if !ok {
		return []string{name}
	}
	var out []string
	for _, f := range st.Fields() {
		out = append(out, flatNames(name+"."+f.Name, f.Type)...)
	}
	return out
}

func topNames(sc *arrow.Schema) []string {
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	return names
}

// traitNames lists the names a profile column can be asked for by: the
// top-level columns and, below structs, the flattened trait names.
func traitNames(sc *arrow.Schema) []string {
	var names []string
	for _, f := range sc.Fields() {
		names = append(names, f.Name)
		if _, ok := f.Type.(*arrow.StructType); ok {
			names = append(names, flatNames(f.Name, f.Type)...)
		}
	}
	return names
}

func (p *Profiles) addBatch(rec arrow.RecordBatch, idCol int, fields []traitField) {
	ids := rec.Column(idCol)
	var buf []byte
	for i := range int(rec.NumRows()) {
		if ids.IsNull(i) {
			continue
		}
		id, _ := scalarText(ids, i)
		if id == "" {
			continue
		}
		p.addRow(id)
		for _, f := range fields {
			p.addTraits(f.name, rec.Column(f.index), i, f.keep, &buf)
		}
		p.ptr = append(p.ptr, int32(len(p.val)))
	}
}

// addTraits adds row i of column a as the trait name, or as one trait per
// field when a is a struct. Nulls add nothing.
func (p *Profiles) addTraits(name string, a arrow.Array, i int, keep func(string) bool, buf *[]byte) {
	if a.IsNull(i) {
		return
	}
	if st, ok := a.(*array.Struct); ok {
		typ := st.DataType().(*arrow.StructType)
		for k := range st.NumField() {
			p.addTraits(name+"."+typ.Field(k).Name, st.Field(k), i, keep, buf)
		}
		return
	}
	if !keep(name) || emptyMap(a, i) {
		return
	}
	text, ok := scalarText(a, i)
	if !ok {
		*buf = appendJSON((*buf)[:0], a, i)
		text = string(*buf)
	}
	p.addValue(p.colIndex[name], text)
}

// addRow starts a row for user id, replacing the user's earlier row.
func (p *Profiles) addRow(id string) {
	r := p.ids.add(id)
	if r%64 == 0 {
		p.replaced = append(p.replaced, 0)
	}
	if old, ok := p.index.put(&p.ids, r); ok {
		p.replaced[old/64] |= 1 << (old % 64)
	}
}

// Interning limits: a column's values up to internLen bytes are stored
// once each, for the first internMax distinct ones (a status or a bracket
// repeats; an email does not, and stops being looked for soon).
const (
	internLen = 64
	internMax = 4096
)

// addValue adds a trait of column c to the current row.
func (p *Profiles) addValue(c uint16, text string) {
	p.col = append(p.col, c)
	seen := p.interned[c]
	if len(text) <= internLen {
		if v, ok := seen[text]; ok {
			p.val = append(p.val, v)
			return
		}
	}
	v := p.values.add(text)
	if len(text) <= internLen && len(seen) < internMax {
		seen[p.values.at(v)] = v
	}
	p.val = append(p.val, v)
}

// emptyMap reports whether row i of a is an empty map: left out, like a
// null. RudderStack's Redis destination flattens objects into fields, so
// an empty one leaves nothing (its processValues deletes what is still an
// object after flattening). An empty list is not left out: flattening with
// safe: true keeps arrays whole, and JSON.stringify writes "[]".
func emptyMap(a arrow.Array, i int) bool {
	if v, ok := a.(*array.Map); ok {
		start, end := v.ValueOffsets(i)
		return start == end
	}
	return false
}

// scalarText formats a non-null scalar as RudderStack writes it; ok is
// false for lists, maps and structs.
func scalarText(a arrow.Array, i int) (string, bool) {
	switch v := a.(type) {
	case *array.String:
		return v.Value(i), true
	case *array.LargeString:
		return v.Value(i), true
	case *array.Binary:
		return string(v.Value(i)), true
	case *array.LargeBinary:
		return string(v.Value(i)), true
	case *array.Boolean:
		return strconv.FormatBool(v.Value(i)), true
	case *array.Float64:
		return traitNumber(v.Value(i)), true
	case *array.Float32:
		return traitNumber(float64(v.Value(i))), true
	case *array.Float16:
		return traitNumber(float64(v.Value(i).Float32())), true
	case *array.Decimal128:
		return JSNumber(v.Value(i).ToFloat64(v.DataType().(*arrow.Decimal128Type).Scale)), true
	case *array.Decimal256:
		return JSNumber(v.Value(i).ToFloat64(v.DataType().(*arrow.Decimal256Type).Scale)), true
	case *array.Timestamp:
		unit := v.DataType().(*arrow.TimestampType).Unit
		return v.Value(i).ToTime(unit).UTC().Format("2006-01-02T15:04:05.000Z"), true
	case *array.Date32:
		return v.Value(i).ToTime().UTC().Format(time.DateOnly), true
	case *array.Date64:
		return v.Value(i).ToTime().UTC().Format(time.DateOnly), true
	case *array.Dictionary:
		return scalarText(v.Dictionary(), v.GetValueIndex(i))
	case *array.Struct, array.ListLike, *array.Map:
		return "", false
	}
	if isIntType(a.DataType()) {
		return numberText(a, i), true
	}
	return a.ValueStr(i), true
}

// appendJSON renders row i of a as JSON, the way JSON.stringify would:
// strings quoted, numbers as JavaScript prints them (non-finite as null),
// structs and maps as objects, lists as arrays.
func appendJSON(b []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(b, "null"...)
	}
	switch v := a.(type) {
	case *array.Struct:
		typ := v.DataType().(*arrow.StructType)
		b = append(b, '{')
		for k := range v.NumField() {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, typ.Field(k).Name)
			b = append(b, ':')
			b = appendJSON(b, v.Field(k), i)
		}
		return append(b, '}')
	case *array.Map:
		start, end := v.ValueOffsets(i)
		keys, items := v.Keys(), v.Items()
		b = append(b, '{')
		for k := start; k < end; k++ {
			if k > start {
				b = append(b, ',')
			}
			key, _ := scalarText(keys, int(k))
			b = appendJSONString(b, key)
			b = append(b, ':')
			b = appendJSON(b, items, int(k))
		}
		return append(b, '}')
	case array.ListLike:
		start, end := v.ValueOffsets(i)
		vals := v.ListValues()
		b = append(b, '[')
		for k := start; k < end; k++ {
			if k > start {
				b = append(b, ',')
			}
			b = appendJSON(b, vals, int(k))
		}
		return append(b, ']')
	case *array.Boolean:
		return strconv.AppendBool(b, v.Value(i))
	case *array.Float64:
		return appendJSONNumber(b, v.Value(i))
	case *array.Float32:
		return appendJSONNumber(b, float64(v.Value(i)))
	}
	text, _ := scalarText(a, i)
	if isNumberType(a.DataType()) {
		return append(b, text...)
	}
	return appendJSONString(b, text)
}

// traitNumber formats a number trait as lodash.toString does, which is
// JavaScript's String(f) except that -0 stays "-0".
func traitNumber(f float64) string {
	if f == 0 && math.Signbit(f) {
		return "-0"
	}
	return JSNumber(f)
}

func appendJSONNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return append(b, JSNumber(f)...)
}

// appendJSONString quotes s as JSON.stringify does: only quotes,
// backslashes and control characters are escaped (Go's encoding/json also
// escapes <, >, & and U+2028).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
