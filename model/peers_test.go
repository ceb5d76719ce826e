package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestPeerPairs is the recopub side of testdata/peers/run.sh: it reads the
// (user, item) pairs that `recopub eval --export-interactions` wrote, runs
// the model stage (NewMatrix and Similar, cosine, top-N, no down-sampling)
// and prints one JSON line with the seconds and the process's peak RSS,
// like the scipy peer does. With RECOPUB_PEER_OUT it also writes the lists
// (int64 Ptr, uint32 Item, float64 Score, little-endian) for the peer's
// comparison. It is skipped unless RECOPUB_PEER_PAIRS names the pairs.
//
// With RECOPUB_PEER_SYNTHETIC=N it instead writes N events of
// BenchmarkSimilar's synthetic data (Pareto-distributed user activity, so
// the sum of deg(u)^2 is large) to RECOPUB_PEER_PAIRS.
func TestPeerPairs(t *testing.T) {
	path := os.Getenv("RECOPUB_PEER_PAIRS")
	if path == "" {
		t.Skip("RECOPUB_PEER_PAIRS not set (testdata/peers/run.sh sets it)")
	}
	if n, _ := strconv.Atoi(os.Getenv("RECOPUB_PEER_SYNTHETIC")); n > 0 {
		_, _, users, items := synthetic(n, 1)
		if err := writePairs(path, users, items); err != nil {
			t.Fatal(err)
		}
		return
	}
	topN, _ := strconv.Atoi(os.Getenv("RECOPUB_PEER_TOPN"))
	users, items, err := readPairs(path)
	if err != nil {
		t.Fatal(err)
	}
	var nu, ni uint32
	for k := range users {
		nu, ni = max(nu, users[k]+1), max(ni, items[k]+1)
	}
	runtime.GC()
	start := time.Now()
	m := NewMatrix(int(nu), int(ni), users, items, nil)
	nb, err := Similar(t.Context(), m, Options{Metric: Cosine, TopN: topN})
	if err != nil {
		t.Fatal(err)
	}
	seconds := time.Since(start).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	line, _ := json.Marshal(map[string]any{
		"peer": "recopub", "events": len(users), "seconds": float64(int(seconds*1000)) / 1000,
		"neighbours": len(nb.Item), "peak_rss_kb": ru.Maxrss, "work_deg2": m.Work(), "workers": runtime.GOMAXPROCS(0),
	})
	fmt.Println(string(line))
	if out := os.Getenv("RECOPUB_PEER_OUT"); out != "" {
		if err := writeLists(out, nb); err != nil {
			t.Fatal(err)
		}
	}
}

// readPairs reads little-endian uint32 (user, item) pairs straight into
// two slices, without holding the file in memory.
func readPairs(path string) (users, items []uint32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	n := int(fi.Size() / 8)
	users, items = make([]uint32, n), make([]uint32, n)
	r := bufio.NewReaderSize(f, 1<<20)
	var pair [8]byte
	for k := range n {
		if _, err := io.ReadFull(r, pair[:]); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		users[k], items[k] = binary.LittleEndian.Uint32(pair[:4]), binary.LittleEndian.Uint32(pair[4:])
	}
	return users, items, nil
}

func writePairs(path string, users, items []uint32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var pair [8]byte
	for k, u := range users {
		binary.LittleEndian.PutUint32(pair[:4], u)
		binary.LittleEndian.PutUint32(pair[4:], items[k])
		w.Write(pair[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeLists(path string, nb *Neighbors) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, v := range []any{int64(len(nb.Ptr)), nb.Ptr, nb.Item, nb.Score} {
		if err := binary.Write(w, binary.LittleEndian, v); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
