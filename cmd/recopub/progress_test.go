package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/recopub/recopub/publish"
)

func TestProgressBars(t *testing.T) {
	if (&progressBars{enabled: false}).model() != nil {
		t.Error("bars drawn although stderr is not a terminal")
	}
	var buf bytes.Buffer
	p := &progressBars{w: &buf, enabled: true}
	f := p.model()
	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f(i*25, 100) }()
	}
	wg.Wait()
	if out := buf.String(); !strings.Contains(out, "model") || !strings.Contains(out, "/100") {
		t.Errorf("model bar: %q", out)
	}
	f(100, 100)
	buf.Reset()
	p.publish()(publish.Progress{Done: 5, Total: 10})
	if out := buf.String(); !strings.Contains(out, "publish") || !strings.Contains(out, "5/10") {
		t.Errorf("publish bar: %q", out)
	}
}
