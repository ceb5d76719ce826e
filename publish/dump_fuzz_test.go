package publish

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
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
	got := restoreAndRead(t, c, "dump:zr", payload, "ZRANGE", "ZREVRANGE")
	want := restoreAndRead(t, c, "dump:z", nil, "ZRANGE", "ZREVRANGE")
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("restored read %d: %q\nZADD's: %q", i, got[i], want[i])
		}
	}
}

// restoreAndRead RESTOREs payload at key (when given), checks that the key
// is a listpack and runs the read commands on it, all in one round trip.
func restoreAndRead(t *testing.T, c *redis.Client, key string, payload []byte, reads ...string) [][]string {
	t.Helper()
	ctx := context.Background()
	var enc *redis.StringCmd
	cmds := make([]*redis.Cmd, len(reads))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if payload != nil {
			p.RestoreReplace(ctx, key, 0, string(payload))
		}
		enc = p.ObjectEncoding(ctx, key)
		for i, r := range reads {
			args := []any{r, key}
			if r != "HGETALL" {
				args = append(args, 0, -1, "WITHSCORES")
			}
			cmds[i] = p.Do(ctx, args...)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RESTORE and read %s: %v", key, err)
	}
	if enc.Val() != "listpack" {
		t.Fatalf("%s encoding %q, want listpack", key, enc.Val())
	}
	out := make([][]string, len(cmds))
	for i, cmd := range cmds {
		if out[i], err = cmd.StringSlice(); err != nil {
			t.Fatalf("%s %s: %v", reads[i], key, err)
		}
	}
	return out
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
	// HGETALL over RESP2 keeps the listpack order, which must be HSET's.
	got := restoreAndRead(t, c, "dump:hr", payload, "HGETALL")
	if want := restoreAndRead(t, c, "dump:h", nil, "HGETALL"); !slices.Equal(got[0], want[0]) {
		t.Fatalf("restored HGETALL: %q\nHSET's: %q", got[0], want[0])
	}
}

// decodeDump parses a payload built by Encoder or DUMP (uncompressed) back
// into its RDB type and listpack entries, integers printed in decimal. It
// checks the framing, the CRC, the listpack header and every backlen.
func decodeDump(p []byte) (typ byte, entries []string, err error) {
	if len(p) < 1+1+7+10 {
		return 0, nil, fmt.Errorf("payload of %d bytes is too short", len(p))
	}
	body, trailer := p[:len(p)-8], p[len(p)-8:]
	if got, want := crc64Update(0, body), binary.LittleEndian.Uint64(trailer); got != want {
		return 0, nil, fmt.Errorf("crc %#x, trailer says %#x", got, want)
	}
	typ, rest := body[0], body[1:len(body)-2]
	var n int
	switch rest[0] >> 6 {
	case 0:
		n, rest = int(rest[0]&0x3f), rest[1:]
	case 1:
		n, rest = int(rest[0]&0x3f)<<8|int(rest[1]), rest[2:]
	case 2:
		if rest[0] != 0x80 {
			return 0, nil, fmt.Errorf("rdb length byte %#x", rest[0])
		}
		n, rest = int(binary.BigEndian.Uint32(rest[1:])), rest[5:]
	default:
		return 0, nil, fmt.Errorf("rdb length byte %#x (encoded string)", rest[0])
	}
	if n != len(rest) {
		return 0, nil, fmt.Errorf("rdb string length %d, have %d bytes", n, len(rest))
	}
	entries, err = decodeListpack(rest)
	return typ, entries, err
}

func decodeListpack(lp []byte) ([]string, error) {
	if got := int(binary.LittleEndian.Uint32(lp)); got != len(lp) {
		return nil, fmt.Errorf("listpack total bytes %d, have %d", got, len(lp))
	}
	if lp[len(lp)-1] != 0xff {
		return nil, fmt.Errorf("listpack does not end in 0xff")
	}
	count := int(binary.LittleEndian.Uint16(lp[4:]))
	var out []string
	p := lp[6 : len(lp)-1]
	for len(p) > 0 {
		s, size, err := decodeEntry(p)
		if err != nil {
			return out, fmt.Errorf("entry %d: %w", len(out), err)
		}
		back := lpAppendBacklen(nil, size)
		if !bytes.Equal(p[size:size+len(back)], back) {
			return out, fmt.Errorf("entry %d: backlen %x, want %x", len(out), p[size:size+len(back)], back)
		}
		out = append(out, s)
		p = p[size+len(back):]
	}
	if count != min(len(out), math.MaxUint16) {
		return out, fmt.Errorf("listpack header counts %d entries, have %d", count, len(out))
	}
	return out, nil
}

func decodeEntry(p []byte) (s string, size int, err error) {
	b := p[0]
	signed := func(u uint64, bits uint) string {
		return strconv.FormatInt(int64(u<<(64-bits))>>(64-bits), 10)
	}
	le := func(n int) uint64 {
		var u uint64
		for i := n; i >= 1; i-- {
			u = u<<8 | uint64(p[i])
		}
		return u
	}
	switch {
	case b < 0x80:
		return strconv.Itoa(int(b)), 1, nil
	case b < 0xc0:
		n := int(b & 0x3f)
		return string(p[1 : 1+n]), 1 + n, nil
	case b < 0xe0:
		return signed(uint64(b&0x1f)<<8|uint64(p[1]), 13), 2, nil
	case b < 0xf0:
		n := int(b&0x0f)<<8 | int(p[1])
		return string(p[2 : 2+n]), 2 + n, nil
	case b == 0xf0:
		n := int(binary.LittleEndian.Uint32(p[1:]))
		return string(p[5 : 5+n]), 5 + n, nil
	case b == 0xf1:
		return signed(le(2), 16), 3, nil
	case b == 0xf2:
		return signed(le(3), 24), 4, nil
	case b == 0xf3:
		return signed(le(4), 32), 5, nil
	case b == 0xf4:
		return signed(le(8), 64), 9, nil
	}
	return "", 0, fmt.Errorf("bad encoding byte %#x", b)
}
