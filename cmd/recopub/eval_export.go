package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/recopub/recopub/features"
)

// exportInteractions writes every loaded event as a (user, item) pair of
// little-endian uint32 dense ids, the input of testdata/peers: the peer
// reads it with numpy.fromfile(path, "<u4").reshape(-1, 2), so both sides
// compute on exactly the same interactions.
func exportInteractions(path string, ds *features.Dataset) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("export interactions: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var pair [8]byte
	for k, u := range ds.User {
		binary.LittleEndian.PutUint32(pair[:4], u)
		binary.LittleEndian.PutUint32(pair[4:], ds.Item[k])
		w.Write(pair[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("export interactions: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export interactions: %w", err)
	}
	return nil
}
