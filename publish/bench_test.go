package publish_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// benchLists is how many neighbour lists and feature hashes the
// side-by-side benchmark loads; RECOPUB_BENCH_KEYS overrides it.
func benchKeys() int {
	if n, err := strconv.Atoi(os.Getenv("RECOPUB_BENCH_KEYS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// genLists returns n neighbour lists shaped like the generator's top-50
// output: item ids P000000.., 50 distinct neighbours each, cosine scores
// in (0, 1) best first.
func genLists(n int) []publish.List {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("P%06d", i)
	}
	out := make([]publish.List, n)
	for i := range out {
		l := publish.List{ID: ids[i]}
		seen := map[int]bool{i: true}
		score := 0.2 + 0.5*rng.Float64()
		for len(l.Members) < 50 {
			j := rng.IntN(n)
			if seen[j] {
				continue
			}
			seen[j] = true
			score *= 0.9 + 0.1*rng.Float64()
			l.Members = append(l.Members, ids[j])
			l.Scores = append(l.Scores, score)
		}
		out[i] = l
	}
	return out
}

// genHashes returns n user feature hashes shaped like features.Users
// builds from the generator's profiles and events: three profile traits,
// up to five recent purchases, per-event counts and last_seen.
func genHashes(n int) []publish.Hash {
	rng := rand.New(rand.NewPCG(3, 4))
	events := []string{"product_viewed", "product_added", "order_completed", "page_viewed"}
	statuses := []string{"none", "silver", "gold"}
	brackets := []string{"<25k", "25k-50k", "50k-100k", ">100k"}
	out := make([]publish.Hash, n)
	for i := range out {
		h := publish.Hash{ID: fmt.Sprintf("U%07d", i)}
		add := func(f, v string) { h.Fields, h.Values = append(h.Fields, f), append(h.Values, v) }
		add("email", fmt.Sprintf("u%07d@example.com", i))
		add("membership_status", statuses[rng.IntN(3)])
		add("income_bracket", brackets[rng.IntN(4)])
		for k := range rng.IntN(6) {
			add(fmt.Sprintf("recent_five_purchases.purchase_%d", k+1), fmt.Sprintf("P%06d", rng.IntN(20000)))
		}
		for _, e := range events[:1+rng.IntN(len(events))] {
			add("event_count."+e, strconv.Itoa(1+rng.IntN(40)))
		}
		add("last_seen", time.Date(2026, 11, 1+rng.IntN(24), rng.IntN(24), rng.IntN(60), 0, 0, time.UTC).Format(time.RFC3339))
		out[i] = h
	}
	return out
}

// writeRESP writes the ZADD or HSET stream redis-cli --pipe loads.
func writeRESP(tb testing.TB, path string, lists []publish.List, hashes []publish.Hash) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	bulk := func(s string) { fmt.Fprintf(w, "$%d\r\n%s\r\n", len(s), s) }
	for _, l := range lists {
		fmt.Fprintf(w, "*%d\r\n", 2+2*len(l.Members))
		bulk("ZADD")
		bulk("cli:sim:" + l.ID)
		for i, m := range l.Members {
			bulk(strconv.FormatFloat(l.Scores[i], 'g', -1, 64))
			bulk(m)
		}
	}
	for _, h := range hashes {
		fmt.Fprintf(w, "*%d\r\n", 2+2*len(h.Fields))
		bulk("HSET")
		bulk("cli:user:" + h.ID)
		for i, f := range h.Fields {
			bulk(f)
			bulk(h.Values[i])
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// redisCLIPipe loads path with redis-cli --pipe and returns the time it
// took.
func redisCLIPipe(tb testing.TB, s *redistest.Server, path string, want int) time.Duration {
	tb.Helper()
	in, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command("redis-cli", "-p", strconv.Itoa(s.Port()), "--pipe")
	cmd.Stdin = in
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("errors: 0, replies: %d", want)) {
		tb.Fatalf("redis-cli --pipe: %v\n%s", err, out)
	}
	return d
}

func flushAll(tb testing.TB, c *redis.Client) {
	tb.Helper()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkVersusRedisCLI loads the same neighbour lists (sorted sets of
// 50 members) and feature hashes with recopub's Writer (RESTORE of DUMP
// payloads, and ZADD/HSET pipelines) and with redis-cli --pipe of the
// equivalent ZADD/HSET stream, each on a fresh private server, and reports
// keys/s of each and the ratio recopub/redis-cli. The Writer's time is
// the whole Write: plan and preflight, registration, writes, the sample
// readback and completion.
func BenchmarkVersusRedisCLI(b *testing.B) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		b.Fatal("redis-cli not found on PATH (Debian: apt-get install -y redis-tools)")
	}
	n := benchKeys()
	lists, hashes := genLists(n), genHashes(n)
	for _, tc := range []struct {
		name   string
		lists  []publish.List
		hashes []publish.Hash
	}{
		{"neighbours", lists, nil},
		{"features", nil, hashes},
	} {
		b.Run(tc.name, func(b *testing.B) {
			resp := filepath.Join(b.TempDir(), "stream.resp")
			writeRESP(b, resp, tc.lists, tc.hashes)
			m := &publish.Model{}
			if tc.lists != nil {
				m.Families = []publish.Family{{Name: publish.FamilySimilar, Lists: publish.FuncLists{N: len(tc.lists),
					Fn: func(i int, l *publish.List) { *l = tc.lists[i] }}}}
			}
			if tc.hashes != nil {
				m.Users = publish.FuncHashes{N: len(tc.hashes), Fn: func(i int, h *publish.Hash) { *h = tc.hashes[i] }}
			}
			cliServer, pubServer := redistest.Start(b), redistest.Start(b)
			cliClient, pubClient := cliServer.Client(b), pubServer.Client(b)
			var cli, restore, plain time.Duration
			for b.Loop() {
				flushAll(b, cliClient)
				cli += redisCLIPipe(b, cliServer, resp, n)
				for _, noRestore := range []bool{false, true} {
					flushAll(b, pubClient)
					w := &publish.Writer{Client: pubClient, NoRestore: noRestore}
					t0 := time.Now()
					if _, err := w.Write(context.Background(), m); err != nil {
						b.Fatal(err)
					}
					if noRestore {
						plain += time.Since(t0)
					} else {
						restore += time.Since(t0)
					}
				}
			}
			keys := float64(n * b.N)
			b.ReportMetric(keys/cli.Seconds(), "cli-keys/s")
			b.ReportMetric(keys/restore.Seconds(), "restore-keys/s")
			b.ReportMetric(keys/plain.Seconds(), "zadd-keys/s")
			b.ReportMetric(cli.Seconds()/restore.Seconds(), "ratio")
			b.ReportMetric(cli.Seconds()/plain.Seconds(), "zadd-ratio")
		})
	}
}

// BenchmarkWriterTuning writes the neighbour lists and the feature hashes
// with several Conns and PipelineBytes, for choosing the defaults:
//
//	go test -run XXX -bench WriterTuning -benchtime 5x ./publish/
func BenchmarkWriterTuning(b *testing.B) {
	n := benchKeys()
	lists, hashes := genLists(n), genHashes(n)
	models := map[string]*publish.Model{
		"neighbours": {Families: []publish.Family{{Name: publish.FamilySimilar, Lists: publish.FuncLists{N: n,
			Fn: func(i int, l *publish.List) { *l = lists[i] }}}}},
		"features": {Users: publish.FuncHashes{N: n, Fn: func(i int, h *publish.Hash) { *h = hashes[i] }}},
	}
	s := redistest.Start(b)
	c := s.Client(b)
	for _, name := range []string{"neighbours", "features"} {
		for _, conns := range []int{1, 2, 4, 8} {
			for _, kib := range []int{128, 512, 2048} {
				b.Run(fmt.Sprintf("%s/conns=%d/pipeline=%dKiB", name, conns, kib), func(b *testing.B) {
					var d time.Duration
					for b.Loop() {
						flushAll(b, c)
						w := &publish.Writer{Client: c, Conns: conns, PipelineBytes: kib << 10}
						t0 := time.Now()
						if _, err := w.Write(context.Background(), models[name]); err != nil {
							b.Fatal(err)
						}
						d += time.Since(t0)
					}
					b.ReportMetric(float64(n*b.N)/d.Seconds(), "keys/s")
				})
			}
		}
	}
}

// BenchmarkVerifyVersion measures the check every flip and rollback makes:
// counting a version's keys by SCAN against its manifest, here with two
// versions of benchKeys() lists and hashes each in the database.
func BenchmarkVerifyVersion(b *testing.B) {
	s := redistest.Start(b)
	rdb := s.Client(b)
	ctx := context.Background()
	n := benchKeys()
	var v string
	for tag := range 2 {
		w := &publish.Writer{Client: rdb, SampleSize: 10}
		r, err := w.Publish(ctx, listsModel(n, float64(tag)))
		if err != nil {
			b.Fatal(err)
		}
		v = r.Version
	}
	keys := rdb.DBSize(ctx).Val()
	b.ReportAllocs()
	for b.Loop() {
		if err := publish.VerifyVersion(ctx, rdb, publish.Keys{}, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(keys)*float64(b.N)/b.Elapsed().Seconds(), "keys_scanned/s")
}
