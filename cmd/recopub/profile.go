package main

import (
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"
)

// Developer's options any command takes, not listed in the help:
//
//	--cpuprofile FILE  writes a Go CPU profile of the command to FILE
//	--memprofile FILE  writes the heap profile taken when the heap was at
//	                   its largest to FILE
//
// go tool pprof reads both. testdata/bench/publish-vs-restore.sh uses the
// first to show where publish time goes; the second shows what a run's
// peak memory is made of (docs/operations.md, "Capacity plan").
const (
	cpuProfileFlag = "cpuprofile"
	memProfileFlag = "memprofile"
)

// startProfiles removes --cpuprofile and --memprofile (FILE or =FILE, one
// or two dashes) from args and starts the profiles asked for; stop ends
// them and closes their files.
func startProfiles(args []string) (rest []string, stop func(), err error) {
	rest, cpu, err := cutFileFlag(args, cpuProfileFlag)
	if err != nil {
		return nil, nil, err
	}
	rest, mem, err := cutFileFlag(rest, memProfileFlag)
	if err != nil {
		return nil, nil, err
	}
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", cpuProfileFlag, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("--%s: %w", cpuProfileFlag, err)
		}
		stops = append(stops, func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
	if mem != "" {
		s, err := startPeakHeapProfile(mem)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("--%s: %w", memProfileFlag, err)
		}
		stops = append(stops, s)
	}
	return rest, stop, nil
}

// cutFileFlag removes --name FILE from args and returns FILE ("" when
// the flag is not there).
func cutFileFlag(args []string, name string) (rest []string, path string, err error) {
	for i := 0; i < len(args); i++ {
		n, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || n != name {
			rest = append(rest, args[i])
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, "", usagef("--%s: want a file name", name)
			}
			i++
			value = args[i]
		}
		path = value
	}
	return rest, path, nil
}

// startPeakHeapProfile watches the heap every 20 ms and, whenever it has
// grown 2% past the largest it was when last written, writes the heap
// profile (live objects as of the last collection) to path, so that the
// file left at the end shows the peak.
func startPeakHeapProfile(path string) (stop func(), err error) {
	write := func() error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(); err != nil {
		return nil, err
	}
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak+peak/50 {
				peak = v
				if err := write(); err != nil {
					fmt.Fprintf(os.Stderr, "recopub: --%s: %v\n", memProfileFlag, err)
					return
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}, nil
}
