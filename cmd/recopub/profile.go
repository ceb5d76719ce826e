package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
)

// cpuProfileFlag is a developer's option any command takes, not listed in
// the help: --cpuprofile FILE writes a Go CPU profile of the command to
// FILE (go tool pprof reads it). testdata/bench/publish-vs-restore.sh
// uses it to show where publish time goes.
const cpuProfileFlag = "cpuprofile"

// startCPUProfile removes --cpuprofile FILE (or --cpuprofile=FILE, one
// or two dashes) from args and, when it was there, starts profiling into
// FILE; stop ends the profile and closes the file.
func startCPUProfile(args []string) (rest []string, stop func(), err error) {
	path := ""
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || name != cpuProfileFlag {
			rest = append(rest, args[i])
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, nil, usagef("--%s: want a file name", cpuProfileFlag)
			}
			i++
			value = args[i]
		}
		path = value
	}
	if path == "" {
		return args, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", cpuProfileFlag, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("--%s: %w", cpuProfileFlag, err)
	}
	return rest, func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
