package features

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// batchRows is the number of rows per Arrow record batch.
const batchRows = 64 * 1024

// unit is one row group of one file: the grain of parallel reading.
type unit struct {
	file     int
	rowGroup int
}

// unitResult locates the events of one unit inside its worker's slices.
type unitResult struct {
	worker     int
	start, end int
}

// Load reads the event files named by opt.Events and returns their
// interactions with dense ids. It fails, naming the file and column, when a
// file cannot be read or lacks a column; rows that cannot be used are
// dropped and counted in Stats.
func Load(ctx context.Context, opt Options) (*Dataset, error) {
	paths, err := ResolvePaths(opt.Events)
	if err != nil {
		return nil, err
	}
	plans, units, err := planFiles(paths, &opt)
	if err != nil {
		return nil, err
	}

	nw := min(opt.workers(), max(len(units), 1))
	workers := make([]*worker, nw)
	results := make([]unitResult, len(units))
	next := make(chan int)
	errs := make([]error, nw)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	for w := range workers {
		workers[w] = newWorker(&opt)
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := workers[w]
			defer wk.close()
			for ui := range next {
				start := len(wk.user)
				if err := wk.readUnit(ctx, plans[units[ui].file], units[ui].rowGroup); err != nil {
					errs[w] = err
					cancel()
					return
				}
				results[ui] = unitResult{worker: w, start: start, end: len(wk.user)}
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

	ds := merge(workers, results)
	ds.Stats.Files = len(paths)
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

// planFiles opens every file's footer, checks its columns and lists its
// row groups. A file that is not Parquet, or lacks a column, fails the load
// here, before any row is read.
func planFiles(paths []string, opt *Options) ([]*filePlan, []unit, error) {
	plans := make([]*filePlan, len(paths))
	var units []unit
	for i, p := range paths {
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			return nil, nil, fmt.Errorf("events file %s: not a readable Parquet file: %w", p, err)
		}
		cols, err := resolveColumns(rdr, opt)
		n, rgs := rdr.NumRows(), rdr.NumRowGroups()
		rdr.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("events file %s: %w", p, err)
		}
		plans[i] = &filePlan{path: p, rows: n, cols: cols}
		for rg := range rgs {
			units = append(units, unit{file: i, rowGroup: rg})
		}
	}
	return plans, units, nil
}

// worker reads units with its own dictionaries, so the hot loop takes no
// locks; merge reconciles the dictionaries afterwards.
type worker struct {
	opt    *Options
	users  dict
	items  dict
	events dict

	user  []uint32
	item  []uint32
	event []uint8
	tm    []uint32
	stats Stats

	// open file, kept across consecutive units of the same file
	path string
	rdr  *file.Reader
	fr   *pqarrow.FileReader

	scratch batchScratch
}

func newWorker(opt *Options) *worker {
	return &worker{
		opt:    opt,
		users:  newDict(),
		items:  newDict(),
		events: newDict(),
		stats:  Stats{Dropped: make(map[string]int64)},
	}
}

func (w *worker) close() {
	if w.rdr != nil {
		w.rdr.Close()
		w.rdr, w.fr, w.path = nil, nil, ""
	}
}

func (w *worker) open(p *filePlan) error {
	if w.path == p.path {
		return nil
	}
	w.close()
	rdr, err := file.OpenParquetFile(p.path, false)
	if err != nil {
		return fmt.Errorf("events file %s: %w", p.path, err)
	}
	props := pqarrow.ArrowReadProperties{BatchSize: batchRows}
	for _, c := range p.cols.stringLeaves() {
		props.SetReadDict(c, true)
	}
	fr, err := pqarrow.NewFileReader(rdr, props, memory.DefaultAllocator)
	if err != nil {
		rdr.Close()
		return fmt.Errorf("events file %s: %w", p.path, err)
	}
	w.path, w.rdr, w.fr = p.path, rdr, fr
	return nil
}

func (w *worker) readUnit(ctx context.Context, p *filePlan, rg int) error {
	if err := w.open(p); err != nil {
		return err
	}
	rr, err := w.fr.GetRecordReader(ctx, p.cols.leaves(), []int{rg})
	if err != nil {
		return fmt.Errorf("events file %s: row group %d: %w", p.path, rg, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.decode(p, rr.RecordBatch()); err != nil {
			return fmt.Errorf("events file %s: row group %d: %w", p.path, rg, err)
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("events file %s: row group %d: %w", p.path, rg, err)
	}
	return nil
}
