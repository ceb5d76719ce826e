package features

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pq "github.com/parquet-go/parquet-go"
)

// maxPrealloc caps the events room is allocated for up front, from counts
// in footers that may lie.
const maxPrealloc = 64 << 20

// unit is one row group of one file: the grain of parallel reading.
type unit struct {
	file     int
	rowGroup int
	events   int64 // rows, or list elements when items are exploded from a list
	pages    bool  // every projected column can take the page path
}

// Load reads the event files named by opt.Events and returns their
// interactions with dense ids. It fails, naming the file and column, when a
// file cannot be read or lacks a column; rows that cannot be used are
// dropped and counted in Stats.
func Load(ctx context.Context, opt Options) (*Dataset, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	paths, err := ResolvePaths(opt.Events)
	if err != nil {
		return nil, err
	}
	paths, pruned := prunePartitions(paths, &opt)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: all %d files lie in dt= partitions outside the time window", ErrNoInput, pruned)
	}
	plans, units, rows, err := planFiles(ctx, paths, &opt)
	if err != nil {
		return nil, err
	}
	dedup := false
	for _, p := range plans {
		dedup = dedup || p.cols.msg.present()
	}
	out, regions := layout(plans, units, opt.WeightCol != "" || opt.QuantityCol != "")
	workers, err := readUnits(ctx, plans, units, rows, dedup, &opt, &out, regions)
	if err != nil {
		return nil, err
	}
	if workers[0].hasDedup {
		if err := findDuplicates(ctx, workers, unitOrder(workers), opt.workers()); err != nil {
			return nil, err
		}
		// The sinks (12 bytes per event) are garbage now, in blocks the
		// merge's large arrays cannot reuse: without handing them back
		// the merge grows the process by as much again (a third of peak
		// memory at thirty million events).
		debug.FreeOSMemory()
	}
	cut := int64(math.MinInt64)
	if opt.Days > 0 && opt.Now.IsZero() {
		newest := int64(math.MinInt64)
		for _, w := range workers {
			newest = max(newest, w.maxT)
		}
		cut = newest - int64(opt.Days)*86400
	}
	ds, err := merge(ctx, workers, len(units), cut, &out, opt.WeightCol != "" || opt.QuantityCol != "", opt.workers())
	if err != nil {
		return nil, err
	}
	ds.Stats.Files, ds.Stats.Pruned = len(paths), pruned
	ds.OptionalColumnFiles = optionalColumnFiles(plans)
	for _, p := range plans {
		ds.Files = append(ds.Files, FileStat{Path: p.path, Rows: p.rows})
	}
	return ds, nil
}

// filePlan is what planning learned about one file: which leaf columns to
// project and how to decode them.
type filePlan struct {
	path string
	rows int64
	cols columnSet
}

// readProps reads column chunks through a small buffer rather than into
// one allocation per chunk.
func readProps() *parquet.ReaderProperties {
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = 256 << 10
	return props
}

// planFiles opens every file's footer, checks its columns and lists its
// row groups. A file that is not Parquet, or lacks a column, fails the load
// here, before any row is read. Footers are read in parallel.
func planFiles(ctx context.Context, paths []string, opt *Options) ([]*filePlan, []unit, int64, error) {
	plans := make([]*filePlan, len(paths))
	fileUnits := make([][]unit, len(paths))
	errs := make([]error, len(paths))
	sem := make(chan struct{}, opt.workers())
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			plans[i], fileUnits[i], errs[i] = planFile(p, i, opt)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, 0, err
	}
	var units []unit
	var rows int64
	for i, u := range fileUnits {
		units = append(units, u...)
		rows += plans[i].rows
	}
	return plans, units, rows, nil
}

func planFile(path string, i int, opt *Options) (plan *filePlan, units []unit, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("events file %s: not a readable Parquet file: %v", path, r)
		}
	}()
	rdr, err := file.OpenParquetFile(path, false, file.WithReadProps(readProps()))
	if err != nil {
		return nil, nil, fmt.Errorf("events file %s: not a readable Parquet file: %w", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("events file %s: read schema: %w", path, err)
	}
	cols, err := resolveColumns(fr, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("events file %s: %w", path, err)
	}
	if rdr.NumRows() < 0 {
		return nil, nil, fmt.Errorf("events file %s: not a readable Parquet file: footer says %d rows", path, rdr.NumRows())
	}
	plan = &filePlan{path: path, rows: rdr.NumRows(), cols: cols}
	// Old parquet-mr files miscount chunk sizes (PARQUET-816); arrow-go
	// knows the workaround.
	oldWriter := rdr.MetaData().WriterVersion().LessThan(metadata.Parquet816FixedVersion)
	for rg := range rdr.NumRowGroups() {
		md := rdr.MetaData().RowGroup(rg)
		pages := !oldWriter && !opt.arrowOnly
		for _, c := range cols.all() {
			if !c.present() {
				continue
			}
			cc, err := md.ColumnChunk(c.leaf)
			if err != nil {
				return nil, nil, fmt.Errorf("events file %s: row group %d: column %q: %w", path, rg, c.name, err)
			}
			pages = pages && cc.CryptoMetadata() == nil && pageLeaf(c, cc.Compression(), cc.Encodings()) &&
				(c.desc.MaxDefinitionLevel() == 0 || hasNullCount(cc))
		}
		events := md.NumRows()
		if events < 0 {
			return nil, nil, fmt.Errorf("events file %s: row group %d: not a readable Parquet file: footer says %d rows", path, rg, events)
		}
		switch cols.item.mode {
		case modeList:
			if cc, err := md.ColumnChunk(cols.item.leaf); err == nil {
				events = max(events, cc.NumValues())
			}
		case modeJSON:
			events *= 2
		}
		units = append(units, unit{file: i, rowGroup: rg, events: events, pages: pages})
	}
	return plan, units, nil
}

// hasNullCount reports whether a column chunk's statistics count its
// nulls. parquet-go trusts num_nulls in V2 data page headers, which the
// spec makes advisory: arrow-go writes 0 there when statistics are off,
// and parquet-go then fails on the page ("page header declares 3000
// values requiring 24000 bytes") or warns on stderr. A writer that counts
// nulls in the chunk's statistics counts them in its page headers too;
// an optional column without that count goes through arrow-go, which
// takes the nulls from the definition levels.
func hasNullCount(cc *metadata.ColumnChunkMetaData) bool {
	st, err := cc.Statistics()
	return err == nil && st != nil && st.HasNullCount()
}

// readUnits reads all units with opt.workers() workers. Each worker takes
// the next unit in order, so its own units are in increasing order too.
func readUnits(ctx context.Context, plans []*filePlan, units []unit, rows int64, dedup bool, opt *Options, out *arrays, regions []int) ([]*worker, error) {
	nw := min(opt.workers(), max(len(units), 1))
	workers := make([]*worker, nw)
	parts := partitionsFor(rows)
	next := make(chan int)
	errs := make([]error, nw)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var total int64
	for _, u := range units {
		total += u.events
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	for wi := range workers {
		workers[wi] = newWorker(opt, rows/int64(nw), parts, dedup)
		workers[wi].out, workers[wi].regions = out, regions
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := workers[wi]
			defer wk.close()
			for ui := range next {
				if err := wk.readUnit(ctx, plans[units[ui].file], units[ui], ui); err != nil {
					errs[wi] = err
					cancel()
					return
				}
				if opt.Progress != nil {
					opt.Progress(done.Add(units[ui].events), total)
				}
			}
		}()
	}
feed:
	for ui := range units {
		select {
		case next <- ui:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return workers, nil
}

// worker reads units with its own dictionaries, so the hot loop takes no
// locks; merge reconciles the dictionaries afterwards.
type worker struct {
	opt    *Options
	users  dict
	items  dict
	events dict
	keep   []bool // by event id: selected

	unselected []int64 // by event id: rows dropped as unknown_event (selection.go)

	lo, hi, future int64 // time window and latest acceptable time, Unix seconds

	// output: one chunk per unit read, in the order read; a chunk of a
	// unit with a region is a slice of out
	out     *arrays
	regions []int
	chunks  []chunk
	cur     chunk // the unit being read
	total   int   // events in chunks
	maxT    int64

	hasDedup bool
	dedup    dedupSink
	cont     []uint64 // bit k: event k is a further element of event k-1's row
	dup      []uint64 // bit k: event k is a duplicate (set by findDuplicates)

	usedUsers, usedItems, usedEvents []uint64 // bitmaps of local ids kept events use

	read   int64
	counts [numReasons]int64

	// open file, kept across consecutive units of the same file
	path  string
	file  *os.File
	rdr   *file.Reader
	fr    *pqarrow.FileReader
	pf    *pq.File // parquet-go's view, opened by the first unit of the page path
	pfErr error    // why parquet-go could not open the file

	// scratch
	rows, elems                batch
	eb                         elemBuilder
	aidBuf, eidBuf, elemIDs    []uint32
	elemAid, elemEid           []uint32
	hBuf, elemH                []uint64
	wBuf, wTmp, elemW, elemQty []float32
	jsonItems                  []jsonItem
	pages                      pageCursors
}

func newWorker(opt *Options, rows int64, parts int, dedup bool) *worker {
	lo, hi := opt.window()
	future := opt.now().Add(opt.maxFuture()).Unix()
	w := &worker{
		opt:      opt,
		users:    newIDDict(int(rows / 8)),  // guesses: most exports have several events per user
		items:    newIDDict(int(rows / 64)), // and many per item
		events:   newDict(),
		lo:       lo,
		hi:       hi,
		future:   future,
		maxT:     math.MinInt64,
		hasDedup: dedup,
	}
	if w.hasDedup {
		w.dedup = newDedupSink(parts)
	}
	return w
}

func (w *worker) close() {
	w.closeFile()
	w.users.release()
	w.items.release()
	w.events.release()
}

func (w *worker) closeFile() {
	if w.rdr != nil {
		w.rdr.Close()
		w.rdr, w.fr, w.file, w.path, w.pf, w.pfErr = nil, nil, nil, "", nil, nil
	}
}

func (w *worker) open(p *filePlan) error {
	if w.path == p.path {
		return nil
	}
	w.closeFile()
	f, err := os.Open(p.path)
	if err != nil {
		return err
	}
	rdr, err := file.NewParquetReader(f, file.WithReadProps(readProps()))
	if err != nil {
		f.Close()
		return err
	}
	w.path, w.rdr, w.file = p.path, rdr, f
	return nil
}

// openPages opens the worker's file with parquet-go, once, and reports
// whether it could: a file parquet-go does not open (a schema it does not
// take, say) is read by arrow-go instead.
func (w *worker) openPages() bool {
	if w.pf == nil && w.pfErr == nil {
		st, err := w.file.Stat()
		if err == nil {
			// parquet-go's default read buffer (4 KiB) is smaller than
			// most pages, which it then reads straight into their buffers
			// rather than copying them through its own.
			w.pf, err = pq.OpenFile(w.file, st.Size(), pq.SkipPageIndex(true), pq.SkipBloomFilters(true))
		}
		w.pfErr = err
	}
	return w.pf != nil && len(w.pf.RowGroups()) == w.rdr.NumRowGroups()
}

func (w *worker) readUnit(ctx context.Context, p *filePlan, u unit, ui int) (err error) {
	defer func() {
		// The libraries panic on some corrupt pages; that is bad input,
		// not a bug of the caller.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCorrupt, r)
		}
		if err != nil {
			err = fmt.Errorf("events file %s: row group %d: %w", p.path, u.rowGroup, err)
			return
		}
		w.total += len(w.cur.user)
		w.cur.inPlace = w.cur.inPlace && w.out.holds(&w.cur, w.regions[ui])
		w.chunks = append(w.chunks, w.cur)
	}()
	w.startChunk(p, u, ui)
	if err := w.open(p); err != nil {
		return err
	}
	if u.pages && w.openPages() {
		err = w.readPages(ctx, p, u.rowGroup)
	} else {
		err = w.readArrow(ctx, p, u.rowGroup)
	}
	if err == nil && w.events.len() > maxEvents {
		err = fmt.Errorf("column %q: more than %d distinct event names", p.cols.event.name, maxEvents)
	}
	return err
}

// chunk holds the events one unit kept.
type chunk struct {
	unit    int
	base    int  // position of the first event among all the worker's events
	inPlace bool // the slices lie in the Dataset's arrays, at the unit's region
	user    []uint32
	item    []uint32
	event   []uint16
	tm      []uint32
	weight  []float32
}

func (c *chunk) len() int { return len(c.user) }

// startChunk makes room for a unit's events: its region of the Dataset's
// arrays when it has one, else as many as its item column's values (from
// the footer, which may lie: capped, and appends grow past it).
func (w *worker) startChunk(p *filePlan, u unit, ui int) {
	if r := w.regions[ui]; r >= 0 {
		n := int(u.events)
		o := w.out
		w.cur = chunk{unit: ui, base: w.total, inPlace: true,
			user: o.user[r : r : r+n], item: o.item[r : r : r+n], event: o.event[r : r : r+n], tm: o.tm[r : r : r+n]}
		if o.weight != nil {
			w.cur.weight = o.weight[r : r : r+n]
		}
		return
	}
	n := int(max(0, min(u.events, maxPrealloc)))
	w.cur = chunk{unit: ui, base: w.total,
		user: make([]uint32, 0, n), item: make([]uint32, 0, n), event: make([]uint16, 0, n), tm: make([]uint32, 0, n)}
	if p.cols.weight.present() || p.cols.qty.present() {
		w.cur.weight = make([]float32, 0, n)
	}
}

// arrays are the Dataset's interaction slices. They are allocated before
// reading, so that units of flat tables, whose events are at most their
// rows, write in place: no second copy of the events, no per-unit buffers.
type arrays struct {
	user, item []uint32
	event      []uint16
	tm         []uint32
	weight     []float32
}

// maxInPlace bounds the rows read in place (uint32 positions, and footers
// that may lie).
const maxInPlace = 1 << 31

// layout gives each unit of a flat table a region of the arrays (as many
// events as rows) and the others -1: exploded units have no bound on their
// events and keep their own buffers.
func layout(plans []*filePlan, units []unit, weighted bool) (arrays, []int) {
	regions := make([]int, len(units))
	n := int64(0)
	for i, u := range units {
		regions[i] = -1
		if m := plans[u.file].cols.item.mode; m != modeList && m != modeJSON {
			regions[i] = int(n)
			n += u.events
		}
	}
	if n > maxInPlace {
		for i := range regions {
			regions[i] = -1
		}
		return arrays{}, regions
	}
	a := arrays{user: make([]uint32, n), item: make([]uint32, n), event: make([]uint16, n), tm: make([]uint32, n)}
	if weighted {
		a.weight = make([]float32, n)
	}
	return a, regions
}

// holds reports whether chunk c still lies at region r of the arrays (an
// append that outgrew the region moved it).
func (a *arrays) holds(c *chunk, r int) bool {
	return r >= 0 && r <= len(a.user) &&
		unsafe.SliceData(c.user) == unsafe.SliceData(a.user[r:]) &&
		unsafe.SliceData(c.item) == unsafe.SliceData(a.item[r:]) &&
		unsafe.SliceData(c.event) == unsafe.SliceData(a.event[r:]) &&
		unsafe.SliceData(c.tm) == unsafe.SliceData(a.tm[r:]) &&
		(a.weight == nil || unsafe.SliceData(c.weight) == unsafe.SliceData(a.weight[r:]))
}
