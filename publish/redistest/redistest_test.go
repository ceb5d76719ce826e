package redistest_test

import (
	"context"
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
