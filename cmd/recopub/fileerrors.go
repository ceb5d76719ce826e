package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// The loaders check every file and join the errors, one per file; a
// misspelled column then repeats the same sentence for each of them.
// foldFileErrors reports each kind of error once, with its files.

// reFileError is a loader's per-file error: "events file PATH: what".
var reFileError = regexp.MustCompile(`^((?:events|profiles) file) (.+?): (.*)$`)

// maxFilesNamed is how many files a folded error names before "and N more".
const maxFilesNamed = 10

// foldedError is an error whose text has the joined per-file errors
// within it folded; it unwraps to the original, so errors.As still finds
// the typed errors of each file.
type foldedError struct {
	msg string
	err error
}

func (e *foldedError) Error() string { return e.msg }
func (e *foldedError) Unwrap() error { return e.err }

// foldFileErrors folds the first joined error (errors.Join) in err's
// chain: the errors that differ only in their file become one, naming
// the files. Other errors are kept as they are, one per line.
func foldFileErrors(err error) error {
	var j interface{ Unwrap() []error }
	if err == nil || !errors.As(err, &j) {
		return err
	}
	joined := j.(error).Error()
	folded := foldErrors(j.Unwrap())
	if folded == joined {
		return err
	}
	return &foldedError{msg: strings.Replace(err.Error(), joined, folded, 1), err: err}
}

func foldErrors(errs []error) string {
	type group struct {
		kind, what string
		files      []string
	}
	var groups []*group
	index := make(map[string]*group)
	for _, e := range errs {
		kind, file, what := "", "", e.Error()
		if m := reFileError.FindStringSubmatch(what); m != nil {
			kind, file, what = m[1], m[2], m[3]
		}
		key := kind + "\x00" + what
		g := index[key]
		if g == nil {
			g = &group{kind: kind, what: what}
			index[key] = g
			groups = append(groups, g)
		}
		if file != "" {
			g.files = append(g.files, file)
		}
	}
	lines := make([]string, len(groups))
	for i, g := range groups {
		switch len(g.files) {
		case 0:
			lines[i] = g.what
		case 1:
			lines[i] = fmt.Sprintf("%s %s: %s", g.kind, g.files[0], g.what)
		default:
			lines[i] = fmt.Sprintf("%d %ss (%s): %s", len(g.files), g.kind, fileList(g.files), g.what)
		}
	}
	return strings.Join(lines, "\n")
}

// fileList names files relative to their common directory, at most
// maxFilesNamed of them.
func fileList(files []string) string {
	dir := filepath.Dir(files[0])
	for _, f := range files[1:] {
		for dir != "." && dir != "/" && !strings.HasPrefix(f, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	names := make([]string, 0, min(len(files), maxFilesNamed))
	for _, f := range files[:min(len(files), maxFilesNamed)] {
		if rel, err := filepath.Rel(dir, f); err == nil && dir != "." {
			f = rel
		}
		names = append(names, f)
	}
	s := strings.Join(names, ", ")
	if n := len(files) - len(names); n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	if dir != "." {
		s = "in " + dir + ": " + s
	}
	return s
}
