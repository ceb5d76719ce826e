package publish

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/recopub/recopub/publish/keyid"
)

// A model directory holds one model as files, so that it can be inspected
// (DuckDB, pandas, Spark) before it is published, and published exactly as
// it was inspected:
//
//	neighbors.parquet  one row per neighbour: family, item, neighbor, score, rank, co_count
//	features.parquet   one row per user feature: user, field, value
//	manifest.json      parameters, inputs, counts, timings (DirManifest)
//
// Rows of one list (one family and item) are consecutive and ranked from
// 1, best first; rows of one user are consecutive. manifest.json is
// written last: a directory without it is incomplete.
//
// With Format CSV the same tables are written as neighbors.csv and
// features.csv (with a header row; co_count empty when unknown), for
// tools without a Parquet reader. Only Parquet directories can be
// published with 'recopub publish --from'.
const (
	NeighborsFile = "neighbors.parquet"
	FeaturesFile  = "features.parquet"
	ManifestFile  = "manifest.json"
	NeighborsCSV  = "neighbors.csv"
	FeaturesCSV   = "features.csv"

	// DirFormat is the version of the model directory layout.
	DirFormat = 1
)

// NeighborRow is one row of neighbors.parquet.
type NeighborRow struct {
	Family   string  `parquet:"family,dict"`
	Item     string  `parquet:"item,dict"` // "" for a family's single list
	Neighbor string  `parquet:"neighbor,dict"`
	Score    float64 `parquet:"score"`
	Rank     int32   `parquet:"rank"`              // 1 for the best neighbour
	CoCount  *int64  `parquet:"co_count,optional"` // users with both items; null when the source does not say
}

// FeatureRow is one row of features.parquet.
type FeatureRow struct {
	User  string `parquet:"user"`
	Field string `parquet:"field,dict"`
	Value string `parquet:"value"`
}

// CountedLists is a ListSource that also knows, for each neighbour, how
// many users had both items. ModelWriter writes them as co_count.
type CountedLists interface {
	ListSource
	// Counts appends list i's counts to dst, in the order of its members.
	Counts(i int, dst []int64) []int64
}

// DirManifest is manifest.json of a model directory.
type DirManifest struct {
	Format      int                `json:"format"`
	CreatedAt   time.Time          `json:"created_at"`
	Parameters  map[string]any     `json:"parameters"`
	Inputs      []Input            `json:"inputs"`
	InputCounts map[string]any     `json:"input_counts"` // Model.Counts: events read, dropped, ...
	Counts      DirCounts          `json:"counts"`
	Timings     map[string]float64 `json:"timings"` // seconds by stage
}

// DirCounts counts what a model directory holds.
type DirCounts struct {
	Lists     map[string]int64 `json:"lists"`     // non-empty lists by family
	Neighbors int64            `json:"neighbors"` // rows of neighbors.parquet
	Hashes    int64            `json:"hashes"`    // users with at least one feature
	Features  int64            `json:"features"`  // rows of features.parquet
}

// ModelWriter writes a Model into a directory. It streams: at most one
// row group per file is held in memory.
type ModelWriter struct {
	Dir          string
	Format       FileFormat // Parquet (default) or CSV
	RowGroupRows int64      // rows per Parquet row group; default 1<<20
	Now          func() time.Time
}

// FileFormat is the format of a model directory's tables.
type FileFormat int

// The table formats of a model directory.
const (
	Parquet FileFormat = iota
	CSV
)

// ParseFileFormat parses "parquet" or "csv".
func ParseFileFormat(s string) (FileFormat, error) {
	switch strings.ToLower(s) {
	case "parquet", "":
		return Parquet, nil
	case "csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("unknown format %q (want parquet or csv)", s)
}

func (f FileFormat) String() string {
	if f == CSV {
		return "csv"
	}
	return "parquet"
}

// rowWriter takes rows of one table; parquet.GenericWriter is one.
type rowWriter[T any] interface {
	Write(rows []T) (int, error)
}

func (mw *ModelWriter) rowGroupRows() int64 {
	if mw.RowGroupRows > 0 {
		return mw.RowGroupRows
	}
	return 1 << 20
}

// Write writes m's lists, feature hashes and a manifest with timings (the
// seconds of each stage so far; the write itself is added as
// "write_files"). Empty lists and hashes are left out, as Writer leaves
// them out of Redis. An existing manifest in Dir is removed first, so an
// interrupted Write never leaves a complete-looking directory.
func (mw *ModelWriter) Write(ctx context.Context, m *Model, timings map[string]float64) (*DirManifest, error) {
	start := time.Now()
	if err := os.MkdirAll(mw.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("model dir: %w", err)
	}
	if err := os.Remove(filepath.Join(mw.Dir, ManifestFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("model dir: %w", err)
	}
	man := &DirManifest{
		Format:      DirFormat,
		CreatedAt:   mw.now().UTC(),
		Parameters:  m.Parameters,
		Inputs:      m.Inputs,
		InputCounts: m.Counts,
		Counts:      DirCounts{Lists: make(map[string]int64)},
		Timings:     maps.Clone(timings),
	}
	if man.Timings == nil {
		man.Timings = make(map[string]float64)
	}
	fillNeighbors := func(w rowWriter[NeighborRow]) error { return writeNeighbors(ctx, w, m.Families, &man.Counts) }
	fillFeatures := func(w rowWriter[FeatureRow]) error { return writeFeatures(ctx, w, m.Users, &man.Counts) }
	var err error
	if mw.Format == CSV {
		err = writeCSV(mw.Dir, NeighborsCSV, neighborCSVHeader, neighborCSVRecord, fillNeighbors)
		if err == nil {
			err = writeCSV(mw.Dir, FeaturesCSV, featureCSVHeader, featureCSVRecord, fillFeatures)
		}
	} else {
		err = writeParquet(mw.Dir, NeighborsFile, mw.rowGroupRows(), func(w *parquet.GenericWriter[NeighborRow]) error { return fillNeighbors(w) })
		if err == nil {
			err = writeParquet(mw.Dir, FeaturesFile, mw.rowGroupRows(), func(w *parquet.GenericWriter[FeatureRow]) error { return fillFeatures(w) })
		}
	}
	if err != nil {
		return nil, err
	}
	man.Timings["write_files"] = time.Since(start).Seconds()
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(mw.Dir, ManifestFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return man, nil
}

func (mw *ModelWriter) now() time.Time {
	if mw.Now == nil {
		return time.Now()
	}
	return mw.Now()
}

// writeParquet writes name in dir through a temporary file renamed into
// place once complete.
func writeParquet[T any](dir, name string, rowGroupRows int64, fill func(*parquet.GenericWriter[T]) error) error {
	return createAtomic(dir, name, func(f *os.File) error {
		w := parquet.NewGenericWriter[T](f, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.MaxRowsPerRowGroup(rowGroupRows), parquet.CreatedBy("recopub", "", ""))
		if err := fill(w); err != nil {
			return err
		}
		return w.Close()
	})
}

// createAtomic writes dir/name with write into a temporary file that is
// renamed into place only when write and Close succeed, and removed
// otherwise, so a reader never sees half a table.
func createAtomic(dir, name string, write func(*os.File) error) (err error) {
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; the tables are read by other tools
	// and users, like report.html and manifest.json next to them.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// batchRows is how many rows are handed to the Parquet writer at once.
const batchRows = 4096

func writeNeighbors(ctx context.Context, w rowWriter[NeighborRow], fams []Family, c *DirCounts) error {
	rows := make([]NeighborRow, 0, batchRows)
	counts := make([]int64, 0, batchRows)
	flush := func() error {
		_, err := w.Write(rows)
		rows, counts = rows[:0], counts[:0]
		return err
	}
	var l List
	var lc []int64
	for _, fam := range fams {
		counted, _ := fam.Lists.(CountedLists)
		for i := range fam.Lists.Len() {
			if i%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
			fam.Lists.List(i, &l)
			if len(l.Members) == 0 {
				continue
			}
			lc = lc[:0]
			if counted != nil {
				lc = counted.Counts(i, lc)
			}
			if len(rows)+len(l.Members) > cap(rows) {
				if err := flush(); err != nil {
					return err
				}
			}
			for k, member := range l.Members {
				r := NeighborRow{Family: fam.Name, Item: l.ID, Neighbor: member, Score: l.Scores[k], Rank: int32(k + 1)}
				if k < len(lc) {
					// A pointer into counts stays valid if counts grows:
					// the old array lives on until the rows are written.
					counts = append(counts, lc[k])
					r.CoCount = &counts[len(counts)-1]
				}
				rows = append(rows, r)
			}
			c.Lists[fam.Name]++
			c.Neighbors += int64(len(l.Members))
		}
	}
	return flush()
}

func writeFeatures(ctx context.Context, w rowWriter[FeatureRow], src HashSource, c *DirCounts) error {
	if src == nil {
		return nil
	}
	rows := make([]FeatureRow, 0, batchRows)
	var h Hash
	for i := range src.Len() {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		src.Hash(i, &h)
		if len(h.Fields) == 0 {
			continue
		}
		for f, field := range h.Fields {
			rows = append(rows, FeatureRow{User: h.ID, Field: field, Value: h.Values[f]})
		}
		c.Hashes++
		c.Features += int64(len(h.Fields))
		if len(rows) >= batchRows {
			if _, err := w.Write(rows); err != nil {
				return err
			}
			rows = rows[:0]
		}
	}
	_, err := w.Write(rows)
	return err
}

// ModelDir is a model directory opened for publishing. Its Model reads
// lists and hashes from the Parquet files on demand, so publishing a
// directory needs little memory whatever its size.
type ModelDir struct {
	Dir      string
	Manifest DirManifest // as written
	Counts   DirCounts   // what the files hold now (they may have been edited since)
	Model    *Model
	Fields   []string // the distinct feature field names, sorted

	neighbors *columnFile
	features  *columnFile
}

// ReadModelDir opens a model directory and checks every row: lists and
// users must be consecutive, ranks run 1, 2, ... within a list, no member
// or field repeats, scores are numbers, and item and user ids follow
// package keyid (docs/warehouse/README.md lists the rules). Once it returns, reading the
// files again only fails if they change or the disk does.
func ReadModelDir(dir string) (*ModelDir, error) {
	d := &ModelDir{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("model dir %s: %w (not written by 'recopub run --dry-run --out', or not finished)", dir, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // parameters and counts keep their exact text
	if err := dec.Decode(&d.Manifest); err != nil {
		return nil, fmt.Errorf("model dir %s: %s: %w", dir, ManifestFile, err)
	}
	if d.Manifest.Format != DirFormat {
		return nil, fmt.Errorf("model dir %s: %s has format %d, want %d", dir, ManifestFile, d.Manifest.Format, DirFormat)
	}
	d.Counts.Lists = make(map[string]int64)
	// The two files are checked at once, on two cores: they share
	// nothing but d, whose fields each fills apart.
	var families []Family
	var users HashSource
	var nerr, ferr error
	var wg sync.WaitGroup
	wg.Go(func() { families, nerr = d.openNeighbors() })
	users, ferr = d.openFeatures()
	wg.Wait()
	if err := cmp.Or(nerr, ferr); err != nil {
		d.Close()
		return nil, err
	}
	d.Model = &Model{
		Families:   families,
		Users:      users,
		Parameters: d.Manifest.Parameters,
		Inputs:     d.Manifest.Inputs,
		Counts:     d.Manifest.InputCounts,
	}
	return d, nil
}

// Close closes the files.
func (d *ModelDir) Close() error {
	return errors.Join(d.neighbors.close(), d.features.close())
}

// Err returns the first error met reading the files after ReadModelDir,
// when a List or Hash call could not read its rows (and gave an empty
// list or hash). Check it after publishing.
func (d *ModelDir) Err() error {
	return errors.Join(d.neighbors.err(), d.features.err())
}

// Columns of the model files, in the order of NeighborRow and FeatureRow.
var (
	neighborCols = []colSpec{{"family", textCol, false}, {"item", textCol, false}, {"neighbor", textCol, false},
		{"score", floatCol, false}, {"rank", intCol, false}, {"co_count", intCol, true}}
	featureCols = []colSpec{{"user", textCol, false}, {"field", textCol, false}, {"value", textCol, false}}
)

const (
	colFamily, colItem, colNeighbor, colScore, colRank, colCoCount = 0, 1, 2, 3, 4, 5
	colUser, colField, colValue                                    = 0, 1, 2
)

func (d *ModelDir) openNeighbors() ([]Family, error) {
	cf, err := openColumns(filepath.Join(d.Dir, NeighborsFile), neighborCols)
	if err != nil {
		return nil, err
	}
	d.neighbors = cf
	fams, err := d.indexNeighbors(cf, false)
	if errors.Is(err, errHashRepeat) {
		fams, err = d.indexNeighbors(cf, true)
	}
	if err != nil {
		return nil, fmt.Errorf("model dir: %s: %w", cf.path, err)
	}
	d.Counts.Neighbors = cf.numRows()
	return fams, nil
}

// indexNeighbors checks every row of neighbors.parquet and finds where
// each list starts; exact makes it keep the ids, not their hashes.
func (d *ModelDir) indexNeighbors(cf *columnFile, exact bool) ([]Family, error) {
	clear(d.Counts.Lists)
	var fams []Family
	var cur *fileLists
	idx := listIndexer{seen: idSet{exact: exact}}
	err := cf.scan([]int{colFamily, colItem, colNeighbor, colScore, colRank}, func(lo int64, c []colData) error {
		for k := range c[colFamily].text {
			row := lo + int64(k)
			r := NeighborRow{Family: c[colFamily].text[k], Item: c[colItem].text[k], Neighbor: c[colNeighbor].text[k],
				Score: c[colScore].num[k], Rank: int32(min(c[colRank].ints[k], math.MaxInt32))}
			if err := idx.add(row, &r); err != nil {
				return err
			}
			if cur == nil || cur.family != r.Family {
				if slices.ContainsFunc(fams, func(f Family) bool { return f.Name == r.Family }) {
					return fmt.Errorf("row %d: family %q again after %q (rows of a family must be consecutive)", row, r.Family, cur.family)
				}
				if err := checkFamily(r.Family); err != nil {
					return fmt.Errorf("row %d: %w", row, err)
				}
				cur = &fileLists{f: cf, family: r.Family}
				fams = append(fams, Family{Name: r.Family, Lists: cur})
			}
			if r.Rank == 1 {
				cur.starts = append(cur.starts, row)
				d.Counts.Lists[r.Family]++
			}
			cur.end = row + 1
		}
		return nil
	})
	return fams, err
}

func (d *ModelDir) openFeatures() (HashSource, error) {
	cf, err := openColumns(filepath.Join(d.Dir, FeaturesFile), featureCols)
	if err != nil {
		return nil, err
	}
	d.features = cf
	h, fields, err := indexFeatures(cf, false)
	if errors.Is(err, errHashRepeat) {
		h, fields, err = indexFeatures(cf, true)
	}
	if err != nil {
		return nil, fmt.Errorf("model dir: %s: %w", cf.path, err)
	}
	d.Counts.Hashes, d.Counts.Features = int64(len(h.starts)), cf.numRows()
	d.Fields = fields
	return h, nil
}

// indexFeatures checks every row of features.parquet, finds where each
// user's hash starts and collects the field names; exact makes it keep
// the user ids, not their hashes.
func indexFeatures(cf *columnFile, exact bool) (*fileHashes, []string, error) {
	h := &fileHashes{f: cf, end: cf.numRows()}
	idx := hashIndexer{seen: idSet{exact: exact}}
	var fields distinct
	err := cf.scan([]int{colUser, colField}, func(lo int64, c []colData) error {
		for k, user := range c[colUser].text {
			row := lo + int64(k)
			fields.add(c[colField].text[k])
			isNew, err := idx.add(row, user, c[colField].text[k])
			if err != nil {
				return err
			}
			if isNew {
				h.starts = append(h.starts, row)
			}
		}
		return nil
	})
	return h, fields.sorted(), err
}

// listIndexer checks the rows of neighbors.parquet as they are scanned.
type listIndexer struct {
	seen    idSet // the items of the family's lists so far
	family  string
	item    string
	rank    int32
	members map[string]bool
}

func (x *listIndexer) add(row int64, r *NeighborRow) error {
	if x.members == nil {
		x.members = make(map[string]bool)
	}
	switch {
	case r.Rank == 1:
		if r.Family != x.family {
			x.seen.reset() // a family's rows are consecutive (openNeighbors)
		}
		switch x.seen.insert(r.Item) {
		case idRepeated:
			return fmt.Errorf("row %d: a second list for family %q item %q (rows of a list must be consecutive)", row, r.Family, r.Item)
		case idUnsure:
			return errHashRepeat
		}
		x.family, x.item, x.rank = r.Family, r.Item, 1
		clear(x.members)
		if err := checkListID(r.Family, r.Item); err != nil {
			return fmt.Errorf("row %d: item of family %q: %w", row, r.Family, err)
		}
	case r.Rank != x.rank+1 || r.Family != x.family || r.Item != x.item:
		return fmt.Errorf("row %d: family %q item %q rank %d follows family %q item %q rank %d; want ranks 1, 2, ... within each list, its rows consecutive",
			row, r.Family, r.Item, r.Rank, x.family, x.item, x.rank)
	default:
		x.rank++
	}
	if err := keyid.Check(r.Neighbor); err != nil {
		return fmt.Errorf("row %d: neighbour in the list of family %q item %q: %w", row, r.Family, r.Item, err)
	}
	if !insert(x.members, r.Neighbor) {
		return fmt.Errorf("row %d: neighbour %q appears twice in the list of family %q item %q", row, r.Neighbor, r.Family, r.Item)
	}
	if r.Score != r.Score {
		return fmt.Errorf("row %d: score is NaN", row)
	}
	return nil
}

// idSet is the set of ids (users, or the items of a family's lists) met
// so far in a file. It keeps 8-byte hashes of the ids in an
// open-addressing table at most half full, not the ids: a quarter of a
// map's memory, so that lookups stay in the cache (the maps these sets
// replace were a third of checking a model directory). Two ids with the
// same hash make insert answer idUnsure, and the caller checks the file
// again with exact sets (maps of the ids): about one chance in 10^7 at a
// million ids.
type idSet struct {
	exact bool
	m     map[string]bool // when exact
	table []uint64        // hashes; 0 is an empty slot
	n     int
}

// Answers of idSet.insert.
const (
	idNew      = iota
	idRepeated // certainly met before
	idUnsure   // its hash was met before: check again with an exact set
)

// errHashRepeat makes a model file's check start again with exact sets.
var errHashRepeat = errors.New("two ids with the same hash")

// idHash is the hash an idSet keeps; never 0. Tests replace it.
var idHash = func(s string) uint64 { return maphash.String(idSeed, s) | 1 }

var idSeed = maphash.MakeSeed()

func (s *idSet) reset() { s.m, s.table, s.n = nil, nil, 0 }

// insert adds id.
func (s *idSet) insert(id string) int {
	if s.exact {
		if s.m == nil {
			s.m = make(map[string]bool)
		}
		if insert(s.m, id) {
			return idNew
		}
		return idRepeated
	}
	if 2*(s.n+1) > len(s.table) {
		s.grow()
	}
	h := idHash(id)
	mask := uint64(len(s.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.table[i] {
		case 0:
			s.table[i] = h
			s.n++
			return idNew
		case h:
			return idUnsure
		}
	}
}

// grow doubles the table.
func (s *idSet) grow() {
	old := s.table
	s.table = make([]uint64, max(1024, 2*len(old)))
	mask := uint64(len(s.table) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.table[i] != 0 {
			i = (i + 1) & mask
		}
		s.table[i] = h
	}
}

// checkListID applies the id rule of package keyid, which ingest applies
// to every item and user id, to the id of a list: recopub's client and
// HTTP API refuse ids that break it, so a list published under such an id
// could never be read. A family's single list (pop) has the empty id, and
// a segment list's id is made of profile values, not an item or user id.
func checkListID(family, id string) error {
	if family == FamilyPopular || family == FamilySegment {
		return nil
	}
	return keyid.Check(id)
}

// checkFamily refuses family names that would spell keys outside the
// version's lists: none, the feature hashes' "user", or one that breaks
// the id rule (a glob character would make gc and tools match keys of
// other families).
func checkFamily(family string) error {
	if family == FamilyUser {
		return fmt.Errorf("family %q is the feature hashes' key family; lists cannot use it", family)
	}
	if err := keyid.Check(family); err != nil {
		return fmt.Errorf("family: %w", err)
	}
	return nil
}

// insert adds k to m and reports whether it was not there: one map
// operation instead of a lookup and an assignment (these maps take most
// of the time of checking a model directory).
func insert(m map[string]bool, k string) bool {
	n := len(m)
	m[k] = true
	return len(m) > n
}

// distinct collects distinct strings, few of them (the feature fields) in
// a slice searched in order, which is quicker than a map for a handful.
type distinct struct {
	few  []string
	many map[string]bool
}

// add adds s and reports whether it was not there.
func (d *distinct) add(s string) bool {
	switch {
	case d.many != nil:
		return insert(d.many, s)
	case slices.Contains(d.few, s):
		return false
	case len(d.few) < fewFields:
		d.few = append(d.few, s)
	default:
		d.many = make(map[string]bool, 2*fewFields)
		for _, f := range append(d.few, s) {
			d.many[f] = true
		}
	}
	return true
}

// reset empties d, keeping its room for a few.
func (d *distinct) reset() { d.few, d.many = d.few[:0], nil }

func (d *distinct) sorted() []string {
	if d.many != nil {
		return slices.Sorted(maps.Keys(d.many))
	}
	return slices.Sorted(slices.Values(d.few))
}

// hashIndexer checks the rows of features.parquet as they are scanned.
type hashIndexer struct {
	seen   idSet
	user   string
	fields distinct // of the current user
}

// fewFields is how many fields of a user are searched in order before a
// map is built: a user has a handful.
const fewFields = 32

func (x *hashIndexer) add(row int64, user, field string) (isNew bool, err error) {
	if row == 0 || user != x.user {
		switch x.seen.insert(user) {
		case idRepeated:
			return false, fmt.Errorf("row %d: user %q again (rows of a user must be consecutive)", row, user)
		case idUnsure:
			return false, errHashRepeat
		}
		if err := keyid.Check(user); err != nil {
			return false, fmt.Errorf("row %d: user: %w", row, err)
		}
		x.user, isNew = user, true
		x.fields.reset()
	}
	if !x.fields.add(field) {
		return false, fmt.Errorf("row %d: field %q appears twice for user %q", row, field, user)
	}
	return isNew, nil
}

// fileLists is a family's lists in neighbors.parquet.
type fileLists struct {
	f      *columnFile
	family string
	starts []int64 // first row of each list
	end    int64   // one past the family's last row
}

func (l *fileLists) Len() int { return len(l.starts) }

// NonEmpty: a list starts at a row of rank 1, so none is empty.
func (l *fileLists) NonEmpty() int { return len(l.starts) }

func (l *fileLists) span(i int) (lo, hi int64) {
	if i+1 < len(l.starts) {
		return l.starts[i], l.starts[i+1]
	}
	return l.starts[i], l.end
}

func (l *fileLists) List(i int, dst *List) {
	lo, hi := l.span(i)
	l.f.rows(lo, hi, []int{colItem, colNeighbor, colScore}, func(c []colData) {
		dst.ID = c[colItem].text[0]
		dst.Members = append(dst.Members, c[colNeighbor].text...)
		dst.Scores = append(dst.Scores, c[colScore].num...)
	})
}

// Counts gives co_count, so that a directory read back writes out the
// same; nothing when the column is missing or null.
func (l *fileLists) Counts(i int, dst []int64) []int64 {
	lo, hi := l.span(i)
	l.f.rows(lo, hi, []int{colCoCount}, func(c []colData) {
		if !slices.Contains(c[colCoCount].valid, false) {
			dst = append(dst, c[colCoCount].ints...)
		}
	})
	return dst
}

// fileHashes is the feature hashes in features.parquet.
type fileHashes struct {
	f      *columnFile
	starts []int64
	end    int64
}

func (h *fileHashes) Len() int { return len(h.starts) }

// NonEmpty: a hash starts at a row of its user, so none is empty.
func (h *fileHashes) NonEmpty() int { return len(h.starts) }

func (h *fileHashes) Hash(i int, dst *Hash) {
	lo, hi := h.starts[i], h.end
	if i+1 < len(h.starts) {
		hi = h.starts[i+1]
	}
	h.f.rows(lo, hi, []int{colUser, colField, colValue}, func(c []colData) {
		dst.ID = c[colUser].text[0]
		dst.Fields = append(dst.Fields, c[colField].text...)
		dst.Values = append(dst.Values, c[colValue].text...)
	})
}

var (
	_ CountedLists    = (*fileLists)(nil)
	_ HashSource      = (*fileHashes)(nil)
	_ NonEmptyCounter = (*fileLists)(nil)
	_ NonEmptyCounter = (*fileHashes)(nil)
)
