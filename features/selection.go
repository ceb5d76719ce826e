package features

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// unselectedByName sums the workers' counts of rows dropped as
// unknown_event by event name.
func unselectedByName(workers []*worker) map[string]int64 {
	out := make(map[string]int64)
	for _, w := range workers {
		for ev, n := range w.unselected {
			if n > 0 {
				out[w.events.str(uint32(ev))] += n
			}
		}
	}
	return out
}

// EventCounts returns the rows of each event name the data holds: the
// kept events by name plus the rows dropped because EventWeights does not
// select their event.
func (d *Dataset) EventCounts() map[string]int64 {
	out := make(map[string]int64, len(d.Events)+len(d.Unselected))
	kept := make([]int64, len(d.Events))
	for _, e := range d.Event {
		kept[e]++
	}
	for i, name := range d.Events {
		out[name] += kept[i]
	}
	for name, n := range d.Unselected {
		out[name] += n
	}
	return out
}

// MissingColumnError reports a column asked for that a file does not
// have, with the names it does have, so the caller can name its flag and
// suggest one.
type MissingColumnError struct {
	Kind   string // "profile column", "column"
	Column string
	Have   []string // the file's column and flattened trait names
}

func (e *MissingColumnError) Error() string {
	return fmt.Sprintf("%s %q not found; the file has columns %s", e.Kind, e.Column, strings.Join(e.Have, ", "))
}

// TraitRows returns the number of users with a value for the trait name,
// or for any trait below it when name is a struct column ("address" for
// "address.city").
func (p *Profiles) TraitRows(name string) int {
	if p == nil {
		return 0
	}
	match := make([]bool, len(p.Columns))
	for i, c := range p.Columns {
		match[i] = c == name || strings.HasPrefix(c, name+".")
	}
	n := 0
	for r := range uint32(p.rows()) {
		if !p.isLast(r) {
			continue // a later row of the same user replaced this one
		}
		for k := p.ptr[r]; k < p.ptr[r+1]; k++ {
			if match[p.col[k]] {
				n++
				break
			}
		}
	}
	return n
}

func fieldList(m *pqarrow.SchemaManifest) []string {
	names := make([]string, len(m.Fields))
	for i, f := range m.Fields {
		names[i] = f.Field.Name
	}
	return names
}

// optionalColumnFiles counts, for the optional columns (the anonymous id
// and the message id), the files that have them: a column named on
// purpose that no file has is most likely a typo.
func optionalColumnFiles(plans []*filePlan) map[string]int {
	out := make(map[string]int)
	for _, p := range plans {
		for _, c := range []*column{&p.cols.anon, &p.cols.msg} {
			if c.name != "" && c.name != "-" {
				n := out[c.name]
				if c.present() {
					n++
				}
				out[c.name] = n
			}
		}
	}
	return out
}
