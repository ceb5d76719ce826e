package features

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestLoadProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		MustWriteParquet(t, filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i)), sampleEvents(), 3)
	}
	var mu sync.Mutex
	var last, total int64
	_, err := Load(context.Background(), Options{Events: []string{dir}, Now: t0.Add(24 * time.Hour), Workers: 2,
		Progress: func(done, tot int64) {
			mu.Lock()
			defer mu.Unlock()
			last, total = max(last, done), tot
		}})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(3 * len(sampleEvents())); last != want || total != want {
		t.Errorf("progress ended at %d of %d, want %d of %d", last, total, want, want)
	}
}
