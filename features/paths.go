package features

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoInput is returned when the given paths match no Parquet file.
var ErrNoInput = errors.New("no Parquet files match")

// ResolvePaths expands files, directories (recursively, *.parquet only,
// skipping hidden and underscore-prefixed names such as _SUCCESS) and glob
// patterns into a sorted, de-duplicated list of files.
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
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
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
