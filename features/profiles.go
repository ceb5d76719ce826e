package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Profiles is a profile table: for each user, the traits a reverse-ETL
// export carries, already formatted as a RudderStack Redis destination
// would write them (numbers as JavaScript prints them, true/false, arrays
// as JSON text, nulls left out, empty strings kept).
type Profiles struct {
	Columns []string // trait names, nested structs flattened with "."

	index  map[string]int32 // user id -> row
	ids    []string
	ptr    []int32 // row r's traits are [ptr[r], ptr[r+1])
	col    []uint16
	values []string
}

// Len returns the number of users with a profile.
func (p *Profiles) Len() int {
	if p == nil {
		return 0
	}
	return len(p.index)
}

// Traits appends user's traits to fields and values. ok is false when the
// user has no profile.
func (p *Profiles) Traits(user string, fields, values []string) ([]string, []string, bool) {
	if p == nil {
		return fields, values, false
	}
	r, ok := p.index[user]
	if !ok {
		return fields, values, false
	}
	for k := p.ptr[r]; k < p.ptr[r+1]; k++ {
		fields = append(fields, p.Columns[p.col[k]])
		values = append(values, p.values[k])
	}
	return fields, values, true
}

// IDs returns the user ids that have a profile, each once, in the order
// of their last row.
func (p *Profiles) IDs() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.index))
	for r, id := range p.ids {
		if p.index[id] == int32(r) {
			out = append(out, id)
		}
	}
	return out
}

// ProfileOptions configures LoadProfiles.
type ProfileOptions struct {
	Paths   []string
	IDCol   string   // default "user_id"
	Columns []string // traits to keep; default all but the id
}

// LoadProfiles reads profile tables. A user that appears more than once
// keeps the traits of its last row.
func LoadProfiles(opt ProfileOptions) (*Profiles, error) {
	paths, err := ResolvePaths(opt.Paths)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	p := &Profiles{index: make(map[string]int32), ptr: []int32{0}}
	for _, path := range paths {
		if err := p.readFile(path, &opt); err != nil {
			return nil, fmt.Errorf("profiles file %s: %w", path, err)
		}
	}
	return p, nil
}

// leafReader formats one leaf column of the profile table.
type leafReader struct {
	name     string // trait name
	column   int    // leaf column index
	repeated bool
	maxDef   int
	format   func(parquet.Value) (string, bool) // text, quoted in JSON
}

func (p *Profiles) readFile(path string, opt *ProfileOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return fmt.Errorf("not a readable Parquet file: %w", err)
	}
	idName := orDefault(opt.IDCol, "user_id")
	idLeaf, ok := pf.Schema().Lookup(idName)
	if !ok {
		return fmt.Errorf("column %q not found; the file has columns %s", idName, strings.Join(topLevel(pf.Schema()), ", "))
	}
	if idLeaf.MaxRepetitionLevel > 0 {
		return fmt.Errorf("column %q is repeated; want a string or integer id", idName)
	}
	leaves, err := p.planLeaves(pf.Schema(), idName, opt.Columns)
	if err != nil {
		return err
	}
	idFmt := valueFormatter(idLeaf.Node)
	rows := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				p.addRow(row, idLeaf.ColumnIndex, idFmt, leaves)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rr.Close()
				return err
			}
		}
		rr.Close()
	}
	return nil
}

// planLeaves maps the schema's leaves to trait names and checks that the
// requested columns exist.
func (p *Profiles) planLeaves(sc *parquet.Schema, idName string, want []string) ([]leafReader, error) {
	var leaves []leafReader
	found := make(map[string]bool)
	for _, path := range sc.Columns() {
		leaf, _ := sc.Lookup(path...)
		name := traitName(path)
		if name == idName {
			continue
		}
		top := path[0]
		if len(want) > 0 && !slices.Contains(want, name) && !slices.Contains(want, top) {
			continue
		}
		found[name], found[top] = true, true
		leaves = append(leaves, leafReader{
			name:     name,
			column:   leaf.ColumnIndex,
			repeated: leaf.MaxRepetitionLevel > 0,
			maxDef:   leaf.MaxDefinitionLevel,
			format:   valueFormatter(leaf.Node),
		})
	}
	for _, w := range want {
		if !found[w] {
			return nil, fmt.Errorf("profile column %q not found; the file has columns %s", w, strings.Join(topLevel(sc), ", "))
		}
	}
	for _, l := range leaves {
		if !slices.Contains(p.Columns, l.name) {
			p.Columns = append(p.Columns, l.name)
		}
	}
	return leaves, nil
}

func (p *Profiles) addRow(row parquet.Row, idCol int, idFmt func(parquet.Value) (string, bool), leaves []leafReader) {
	// Values of a row come grouped by leaf column.
	byCol := make(map[int][]parquet.Value, len(leaves)+1)
	for _, v := range row {
		byCol[v.Column()] = append(byCol[v.Column()], v)
	}
	idv := byCol[idCol]
	if len(idv) == 0 || idv[0].IsNull() {
		return
	}
	id, _ := idFmt(idv[0])
	if id == "" {
		return
	}
	p.index[id] = int32(len(p.ids))
	p.ids = append(p.ids, id)
	for _, l := range leaves {
		vals := byCol[l.column]
		var text string
		if l.repeated {
			text = jsonArray(vals, l)
			if text == "" {
				continue
			}
		} else {
			if len(vals) == 0 || vals[0].IsNull() {
				continue
			}
			text, _ = l.format(vals[0])
		}
		p.col = append(p.col, uint16(slices.Index(p.Columns, l.name)))
		p.values = append(p.values, text)
	}
	p.ptr = append(p.ptr, int32(len(p.values)))
}

// jsonArray renders a repeated leaf as JSON text, the way RudderStack
// stores an array trait. A null list is left out.
func jsonArray(vals []parquet.Value, l leafReader) string {
	if len(vals) == 0 || (len(vals) == 1 && vals[0].DefinitionLevel() == 0) {
		return ""
	}
	elems := make([]json.RawMessage, 0, len(vals))
	for _, v := range vals {
		switch {
		case v.DefinitionLevel() == l.maxDef:
			s, quoted := l.format(v)
			if quoted {
				b, _ := json.Marshal(s)
				s = string(b)
			}
			elems = append(elems, json.RawMessage(s))
		case v.DefinitionLevel() == l.maxDef-1 && len(vals) > 1 || v.RepetitionLevel() > 0:
			elems = append(elems, json.RawMessage("null"))
		}
	}
	b, _ := json.Marshal(elems)
	return string(b)
}

// traitName flattens a leaf path: structs join with ".", and the
// list/element (or bag/array) wrappers of Parquet LIST columns vanish.
func traitName(path []string) string {
	var parts []string
	for i := 0; i < len(path); i++ {
		if i+1 < len(path) && ((path[i] == "list" && path[i+1] == "element") || (path[i] == "list" && path[i+1] == "item") || (path[i] == "bag" && path[i+1] == "array_element")) {
			i++
			continue
		}
		parts = append(parts, path[i])
	}
	return strings.Join(parts, ".")
}

func topLevel(sc *parquet.Schema) []string {
	var names []string
	for _, f := range sc.Fields() {
		names = append(names, f.Name())
	}
	return names
}

// valueFormatter returns how a leaf's values are written: the text and
// whether it is a string (quoted inside JSON arrays).
func valueFormatter(n parquet.Node) func(parquet.Value) (string, bool) {
	lt := n.Type().LogicalType()
	var ltv format.LogicalTypeValue
	if lt != nil {
		ltv = lt.Value
	}
	switch t := ltv.(type) {
	case *format.TimestampType:
		unit := t.Unit.Value.Duration()
		return func(v parquet.Value) (string, bool) {
			return time.Unix(0, v.Int64()*int64(unit)).UTC().Format("2006-01-02T15:04:05.000Z"), true
		}
	case *format.DateType:
		return func(v parquet.Value) (string, bool) {
			return time.Unix(int64(v.Int32())*86400, 0).UTC().Format("2006-01-02"), true
		}
	case *format.DecimalType:
		scale := int(t.Scale)
		return func(v parquet.Value) (string, bool) { return decimalText(v, scale), false }
	}
	switch n.Type().Kind() {
	case parquet.Boolean:
		return func(v parquet.Value) (string, bool) { return strconv.FormatBool(v.Boolean()), false }
	case parquet.Int32:
		return func(v parquet.Value) (string, bool) { return strconv.FormatInt(int64(v.Int32()), 10), false }
	case parquet.Int64:
		return func(v parquet.Value) (string, bool) { return strconv.FormatInt(v.Int64(), 10), false }
	case parquet.Float:
		return func(v parquet.Value) (string, bool) { return JSNumber(float64(v.Float())), false }
	case parquet.Double:
		return func(v parquet.Value) (string, bool) { return JSNumber(v.Double()), false }
	case parquet.Int96:
		return func(v parquet.Value) (string, bool) {
			return v.Int96().String(), false
		}
	}
	return func(v parquet.Value) (string, bool) { return string(v.ByteArray()), true }
}

func decimalText(v parquet.Value, scale int) string {
	var unscaled big.Int
	switch v.Kind() {
	case parquet.Int32:
		unscaled.SetInt64(int64(v.Int32()))
	case parquet.Int64:
		unscaled.SetInt64(v.Int64())
	default:
		b := v.ByteArray()
		unscaled.SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 { // two's complement
			unscaled.Sub(&unscaled, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
	}
	f, _ := new(big.Float).SetInt(&unscaled).Float64()
	for range scale {
		f /= 10
	}
	return JSNumber(f)
}
