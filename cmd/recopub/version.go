package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
)

// buildInfo is what 'recopub version' prints, from the build information
// the Go toolchain stamps into the binary.
type buildInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

func readBuildInfo(bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Module: bi.Main.Path, Version: cmp.Or(bi.Main.Version, "(devel)"), Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b buildInfo) write(w io.Writer) {
	fmt.Fprintf(w, "recopub %s\n", b.Version)
	rev := cmp.Or(b.Revision, "unknown (built without VCS information)")
	if b.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(w, "revision: %s\n", rev)
	if b.Time != "" {
		fmt.Fprintf(w, "commit time: %s\n", b.Time)
	}
	fmt.Fprintf(w, "go: %s\n", b.Go)
}

// version prints the build information ('recopub version [--json]' and
// 'recopub --version').
func (m *Main) version(args []string) error {
	fs := m.newFlagSet("version", "version [--json]")
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("version takes no arguments, got %q; %s", pos, hint(fs))
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("no build information in this binary")
	}
	b := readBuildInfo(bi)
	if *asJSON {
		return json.NewEncoder(m.Stdout).Encode(b)
	}
	b.write(m.Stdout)
	return nil
}
