package redistest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/recopub/recopub/publish/redistest"
)

func TestStartWithDirectives(t *testing.T) {
	s := redistest.Start(t, "rdbcompression", "no", "--maxmemory", "10mb")
	c := s.Client(t)
	got, err := c.ConfigGet(context.Background(), "rdbcompression").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["rdbcompression"] != "no" {
		t.Errorf("rdbcompression=%q, want no", got["rdbcompression"])
	}
	mm, _ := c.ConfigGet(context.Background(), "maxmemory").Result()
	if mm["maxmemory"] != "10485760" {
		t.Errorf("maxmemory=%q, want 10485760", mm["maxmemory"])
	}
}

func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb := c.Client(t)
	ctx := context.Background()
	for i := range 100 {
		if err := rdb.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for _, s := range c.Servers {
		n := s.Client(t).DBSize(ctx).Val()
		if n == 0 {
			t.Errorf("master %s holds no keys", s.Addr)
		}
		total += n
	}
	if got, want := total, int64(100); got != want {
		t.Errorf("keys on masters=%d, want %d", got, want)
	}
	// A restarted master keeps its slots and, after SAVE, its keys.
	if err := c.Servers[1].Client(t).Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c.Servers[1].Restart(t)
	c.WaitOK(t)
	for i := range 100 {
		if got, err := rdb.Get(ctx, fmt.Sprintf("k%d", i)).Int(); err != nil || got != i {
			t.Fatalf("after restart: k%d=%d err %v", i, got, err)
		}
	}
}
