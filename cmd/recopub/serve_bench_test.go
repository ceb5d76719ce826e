package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// Size of the export BenchmarkServe generates and publishes.
const (
	benchUsers  = 100000
	benchItems  = 20000
	benchEvents = 2000000
	benchWrk    = "10s" // duration of each wrk run
)

// BenchmarkServe measures 'recopub serve' with Debian's wrk on loopback
// (2 threads, 64 connections) over the generator's published model (100,000
// users, 20,000 items, 2,000,000 events, neighbour, segment and popularity
// lists, a RudderStack hash for every third user): requests/s, latency
// percentiles as wrk reports them, and the CPU time per request of the
// server (this process) and of redis-server.
//
//	go test -run XXX -bench BenchmarkServe -benchtime 1x ./cmd/recopub/
func BenchmarkServe(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not found: apt-get install -y wrk")
	}
	rs := redistest.Start(b)
	rdb := rs.Client(b)
	mustBenchModel(b, rs, rdb)
	dir := b.TempDir()
	scripts := map[string]string{
		"recommend": fmt.Sprintf(`math.randomseed(7)
request = function() return wrk.format("GET", string.format("/v1/recommend/U%%07d?n=10", math.random(1, %d))) end`, benchUsers),
		"similar": mustItemScript(b, rdb),
	}
	for _, tc := range []struct {
		name, script string
		flags        []string
	}{
		{"recommend", "recommend", nil},
		{"recommend/autopipeline", "recommend", []string{"--autopipeline"}},
		{"similar", "similar", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			path := filepath.Join(dir, tc.script+".lua")
			if err := os.WriteFile(path, []byte(scripts[tc.script]), 0o644); err != nil {
				b.Fatal(err)
			}
			base, stop := startServe(b, rs.URL(), tc.flags...)
			defer stop()
			for b.Loop() {
				runWrk(b, wrk, path, base, rdb)
			}
		})
	}
}

// mustBenchModel generates an export, publishes it with run and gives
// every third user a RudderStack hash with a purchase.
func mustBenchModel(b *testing.B, rs *redistest.Server, rdb *redis.Client) {
	b.Helper()
	dir := b.TempDir()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	ctx := context.Background()
	t0 := time.Now()
	if code := m.Run(ctx, []string{"gen", "--out", dir, "--users", strconv.Itoa(benchUsers), "--items", strconv.Itoa(benchItems),
		"--events", strconv.Itoa(benchEvents)}); code != 0 {
		b.Fatalf("gen exit %d", code)
	}
	if code := m.Run(ctx, []string{"run", "--events", filepath.Join(dir, "events"), "--profiles", filepath.Join(dir, "profiles"),
		"--redis", rs.URL(), "--segment-cols", "membership_status,income_bracket", "--log-level", "error"}); code != 0 {
		b.Fatalf("run exit %d", code)
	}
	p := rdb.Pipeline()
	for u := 1; u <= benchUsers; u += 3 {
		p.HSet(ctx, fmt.Sprintf("user:U%07d", u), "recent_five_purchases.purchase_1", fmt.Sprintf("P%06d", u%benchItems))
	}
	if _, err := p.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated and published in %v", time.Since(t0).Round(time.Millisecond))
}

// mustItemScript returns a wrk script asking for the neighbours of random
// items that have a list.
func mustItemScript(b *testing.B, rdb *redis.Client) string {
	ctx := context.Background()
	v, err := publish.Live(ctx, rdb, publish.Keys{})
	if err != nil {
		b.Fatal(err)
	}
	prefix := publish.Keys{}.List(v, publish.FamilySimilar, "")
	var items []string
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		items = append(items, strconv.Quote(strings.TrimPrefix(iter.Val(), prefix+":")))
	}
	return "math.randomseed(7)\nlocal items = {" + strings.Join(items, ",") + "}\n" +
		`request = function() return wrk.format("GET", "/v1/similar/" .. items[math.random(1, #items)] .. "?n=10") end`
}

// startServe runs 'recopub serve' in-process on a free port.
func startServe(b *testing.B, redisURL string, flags ...string) (string, func()) {
	var stderr syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--redis", redisURL}, flags...)
	go func() { done <- m.Run(ctx, args) }()
	addr := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1], func() { cancel(); <-done }
		}
	}
	cancel()
	b.Fatalf("serve did not start: %s", stderr.String())
	return "", nil
}

// runWrk runs wrk once and reports its figures with the CPU per request.
func runWrk(b *testing.B, wrk, script, base string, rdb *redis.Client) {
	cpu0, rcpu0 := selfCPU(), redisCPU(b, rdb)
	out, err := exec.Command(wrk, "-t2", "-c64", "-d"+benchWrk, "--latency", "-s", script, base).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	cpu, rcpu := selfCPU()-cpu0, redisCPU(b, rdb)-rcpu0
	text := string(out)
	num := func(re string) float64 {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		return v
	}
	reqs := num(`(\d+) requests in()`)
	if reqs <= 0 {
		b.Fatalf("wrk output:\n%s", text)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(num(`Requests/sec:\s+([\d.]+)()`), "req/s")
	b.ReportMetric(num(`50%\s+([\d.]+)(us|ms|s)`), "p50-ms")
	b.ReportMetric(num(`99%\s+([\d.]+)(us|ms|s)`), "p99-ms")
	b.ReportMetric(max(0, num(`Non-2xx or 3xx responses: (\d+)()`)), "non-2xx")
	b.ReportMetric(cpu*1e6/reqs, "serve-cpu-µs/req")
	b.ReportMetric(rcpu*1e6/reqs, "redis-cpu-µs/req")
	b.Logf("load average while measuring: %s", loadAverage())
}

func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func redisCPU(b *testing.B, rdb *redis.Client) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
