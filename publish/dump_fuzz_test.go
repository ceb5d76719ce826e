package publish

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// FuzzDumpRoundTrip encodes a sorted set and a hash, decodes the payloads in
// Go, RESTOREs them and reads them back, and compares with the same keys
// built by ZADD and HSET on the same server: the commands are the oracle,
// both for the contents and for when a listpack is allowed (ok).
//
// The inputs are text so the seeds stay readable: members and hash entries
// separated by NUL (the hash alternates field, value), scores as
// space-separated floats ("inf", "-0", "1e300", "0x1p-1074" all parse).
// The server keeps the default limits but runs with sanitize-dump-payload
// yes, so RESTORE also checks every entry, backlen and the header counts,
// and with rdbcompression no, so the payload must also equal ZADD's DUMP.
func FuzzDumpRoundTrip(f *testing.F) {
	_, c := dumpServer(f, "sanitize-dump-payload", "yes", "rdbcompression", "no")
	f.Add("a\x00123\x00-5\x00007", "1 0.5 -1 1e20", "f\x00v\x001\x00-1")
	var e Encoder
	f.Fuzz(func(t *testing.T, members, scores, hash string) {
		ms, ss := fuzzZSet(members, scores)
		checkZSetRoundTrip(t, c, &e, ms, ss)
		fs, vs := fuzzHash(hash)
		checkHashRoundTrip(t, c, &e, fs, vs)
	})
}

// fuzzMaxEntries keeps inputs small enough for fast ZADDs while still going
// past the default limits of 128 and 512 entries.
const fuzzMaxEntries = 600

func fuzzZSet(members, scores string) ([]string, []float64) {
	var ms []string
	seen := map[string]bool{}
	for _, m := range strings.Split(members, "\x00") {
		if !seen[m] && len(ms) < fuzzMaxEntries {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	var parsed []float64
	for _, s := range strings.Fields(scores) {
		if v, err := strconv.ParseFloat(s, 64); err == nil || errorsIsRange(err) {
			parsed = append(parsed, v)
		}
	}
	ss := make([]float64, len(ms))
	for i := range ss {
		if len(parsed) > 0 {
			ss[i] = parsed[i%len(parsed)]
		} else {
			ss[i] = float64(i % 3)
		}
	}
	return ms, ss
}

// errorsIsRange reports a ParseFloat range error, whose value (±Inf or 0)
// is still a score worth trying.
func errorsIsRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func fuzzHash(hash string) (fields, values []string) {
	if hash == "" {
		return nil, nil
	}
	parts := strings.Split(hash, "\x00")
	seen := map[string]bool{}
	for i := 0; i < len(parts) && len(fields) < fuzzMaxEntries; i += 2 {
		v := ""
		if i+1 < len(parts) {
			v = parts[i+1]
		}
		if !seen[parts[i]] {
			seen[parts[i]] = true
			fields, values = append(fields, parts[i]), append(values, v)
		}
	}
	return fields, values
}

func checkZSetRoundTrip(t *testing.T, c *redis.Client, e *Encoder, members []string, scores []float64) {
	t.Helper()
	ctx := context.Background()
	payload, ok := e.ZSet(members, scores)
	if len(members) == 0 || slices.ContainsFunc(scores, math.IsNaN) {
		if ok {
			t.Fatalf("ZSet ok=true for an empty set or a NaN score")
		}
		return
	}
	dump, enc := serverZSetDump(t, c, members, scores)
	if ok != (enc == "listpack") {
		t.Fatalf("ZSet ok=%v, but ZADD made a %s", ok, enc)
	}
	if !ok {
		return
	}
	if !slices.Equal(payload, dump) {
		t.Fatalf("ZSet payload differs from ZADD's DUMP: %s", diffBytes(payload, dump))
	}
	checkZSetDecodes(t, payload, members, scores)
	if err := c.RestoreReplace(ctx, "dump:zr", 0, string(payload)).Err(); err != nil {
		t.Fatalf("RESTORE: %v", err)
	}
	if got := c.ObjectEncoding(ctx, "dump:zr").Val(); got != "listpack" {
		t.Fatalf("restored encoding %q, want listpack", got)
	}
	for _, cmd := range []string{"ZRANGE", "ZREVRANGE"} {
		got := fuzzRead(t, c, cmd, "dump:zr", 0, -1, "WITHSCORES")
		if want := fuzzRead(t, c, cmd, "dump:z", 0, -1, "WITHSCORES"); !slices.Equal(got, want) {
			t.Fatalf("restored %s: %q\nZADD's: %q", cmd, got, want)
		}
	}
}

// fuzzRead runs a read command that replies with an array of strings.
func fuzzRead(t *testing.T, c *redis.Client, args ...any) []string {
	t.Helper()
	v, err := c.Do(context.Background(), args...).StringSlice()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// checkZSetDecodes decodes the payload in Go: member, score pairs in
// (score, member) order, each score reading back as the float64 given.
func checkZSetDecodes(t *testing.T, payload []byte, members []string, scores []float64) {
	t.Helper()
	typ, entries, err := decodeDump(payload)
	if err != nil || typ != rdbTypeZSetListpack || len(entries) != 2*len(members) {
		t.Fatalf("decode: type %d, %d entries for %d members, err %v", typ, len(entries), len(members), err)
	}
	idx := make([]int, len(members))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if scores[a] != scores[b] {
			if scores[a] < scores[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(members[a], members[b])
	})
	for k, i := range idx {
		got, err := strconv.ParseFloat(entries[2*k+1], 64)
		if entries[2*k] != members[i] || err != nil || got != scores[i] {
			t.Fatalf("entry pair %d = %q %q, want %q %v", k, entries[2*k], entries[2*k+1], members[i], scores[i])
		}
	}
}

func checkHashRoundTrip(t *testing.T, c *redis.Client, e *Encoder, fields, values []string) {
	t.Helper()
	ctx := context.Background()
	payload, ok := e.Hash(fields, values)
	if len(fields) == 0 {
		if ok {
			t.Fatalf("Hash ok=true for an empty hash")
		}
		return
	}
	dump, enc := serverHashDump(t, c, fields, values)
	if ok != (enc == "listpack") {
		t.Fatalf("Hash ok=%v, but HSET made a %s", ok, enc)
	}
	if !ok {
		return
	}
	if !slices.Equal(payload, dump) {
		t.Fatalf("Hash payload differs from HSET's DUMP: %s", diffBytes(payload, dump))
	}
	typ, entries, err := decodeDump(payload)
	if err != nil || typ != rdbTypeHashListpack || len(entries) != 2*len(fields) {
		t.Fatalf("decode: type %d, %d entries for %d fields, err %v", typ, len(entries), len(fields), err)
	}
	for i, f := range fields {
		if entries[2*i] != f || entries[2*i+1] != values[i] {
			t.Fatalf("entry pair %d = %q %q, want %q %q", i, entries[2*i], entries[2*i+1], f, values[i])
		}
	}
	if err := c.RestoreReplace(ctx, "dump:hr", 0, string(payload)).Err(); err != nil {
		t.Fatalf("RESTORE: %v", err)
	}
	// HGETALL over RESP2 keeps the listpack order, which must be HSET's.
	got := fuzzRead(t, c, "HGETALL", "dump:hr")
	if want := fuzzRead(t, c, "HGETALL", "dump:h"); !slices.Equal(got, want) {
		t.Fatalf("restored HGETALL: %q\nHSET's: %q", got, want)
	}
}
