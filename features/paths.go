package features

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoInput is returned when the given paths match no Parquet file.
var ErrNoInput = errors.New("no Parquet files match")

// ResolvePaths expands files, directories (recursively, *.parquet only)
// and glob patterns into a sorted, de-duplicated list of files. Hidden and
// underscore-prefixed names (.crc files, _SUCCESS, _temporary) found in
// directories or by patterns are skipped; a file named outright is read.
func ResolvePaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no input paths given", ErrNoInput)
	}
	var files []string
	for _, p := range paths {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("glob %q: %w", p, err)
			}
			// Like a shell, and like directories below, skip hidden and
			// underscore-prefixed names (.crc files, _SUCCESS markers).
			m = slices.DeleteFunc(m, func(path string) bool { return skippedName(filepath.Base(path)) })
			if len(m) == 0 {
				return nil, fmt.Errorf("%w: pattern %q", ErrNoInput, p)
			}
			matches = m
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", m, err)
			}
			if !fi.IsDir() {
				files = append(files, m)
				continue
			}
			found, err := walkParquet(m)
			if err != nil {
				return nil, err
			}
			if len(found) == 0 {
				return nil, fmt.Errorf("%w: directory %s has no *.parquet files", ErrNoInput, m)
			}
			files = append(files, found...)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

func walkParquet(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		name := d.Name()
		if path != root && skippedName(name) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(name, ".parquet") {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

func skippedName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// partitionDay returns the day of the innermost dt=YYYY-MM-DD directory
// on path.
func partitionDay(path string) (time.Time, bool) {
	dir := filepath.Dir(path)
	for dir != "." && dir != string(filepath.Separator) && dir != "" {
		if v, ok := strings.CutPrefix(filepath.Base(dir), "dt="); ok {
			if t, err := time.Parse(time.DateOnly, v); err == nil {
				return t, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return time.Time{}, false
}

// prunePartitions drops the files of dt= partitions that lie wholly
// outside the time window [lo, hi) (Unix seconds). With Days counted from
// the newest event, that event is taken to lie in the newest partition,
// so partitions ending Days days or more before its start are dropped.
func prunePartitions(paths []string, opt *Options) (kept []string, pruned int) {
	lo, hi := opt.window()
	if opt.Days > 0 && opt.Now.IsZero() {
		var newest time.Time
		for _, p := range paths {
			if d, ok := partitionDay(p); ok && d.After(newest) {
				newest = d
			}
		}
		if !newest.IsZero() {
			lo = max(lo, newest.Unix()-int64(opt.Days)*86400)
		}
	}
	for _, p := range paths {
		if d, ok := partitionDay(p); ok {
			start := d.Unix()
			if start+86400 <= lo || start >= hi {
				pruned++
				continue
			}
		}
		kept = append(kept, p)
	}
	return kept, pruned
}
