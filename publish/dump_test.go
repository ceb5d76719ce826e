package publish

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/recopub/recopub/publish/redistest"
)

// dumpServer starts a private redis-server and applies config directives
// with CONFIG SET. (Passing them to redistest.Start does not work yet: it
// puts them on the command line without the "--" redis-server needs.)
func dumpServer(tb testing.TB, directives ...string) (*redistest.Server, *redis.Client) {
	tb.Helper()
	s := redistest.Start(tb)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2})
	tb.Cleanup(func() { c.Close() })
	mustConfigSet(tb, c, directives...)
	return s, c
}

func mustConfigSet(tb testing.TB, c *redis.Client, directives ...string) {
	tb.Helper()
	for i := 0; i+1 < len(directives); i += 2 {
		if err := c.ConfigSet(context.Background(), directives[i], directives[i+1]).Err(); err != nil {
			tb.Fatalf("config set %s %s: %v", directives[i], directives[i+1], err)
		}
	}
}

// scoreArg formats a score so that the server parses back the same double.
func scoreArg(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// serverZSetDump ZADDs the set and returns the server's DUMP and encoding.
func serverZSetDump(tb testing.TB, c *redis.Client, members []string, scores []float64) (dump []byte, encoding string) {
	tb.Helper()
	args := []any{"ZADD", "dump:z"}
	for i, m := range members {
		args = append(args, scoreArg(scores[i]), m)
	}
	return serverDump(tb, c, "dump:z", args)
}

// serverBigZSetDump builds a big listpack the fast way: ZADD into a
// skiplist under the default limits, then ZUNIONSTORE under the encoder's
// limits, which converts the result to a listpack in one pass. ZADD into a
// listpack of 33000 members takes the server minutes.
func serverBigZSetDump(tb testing.TB, c *redis.Client, members []string, scores []float64, e Encoder) ([]byte, string) {
	tb.Helper()
	mustConfigSet(tb, c, "zset-max-listpack-value", "64", "zset-max-listpack-entries", "128")
	serverZSetDump(tb, c, members, scores)
	mustConfigSet(tb, c, "zset-max-listpack-value", strconv.Itoa(e.ZSetMaxValue),
		"zset-max-listpack-entries", strconv.Itoa(e.ZSetMaxEntries))
	defer mustConfigSet(tb, c, "zset-max-listpack-value", "64", "zset-max-listpack-entries", "128")
	return serverDump(tb, c, "dump:big", []any{"ZUNIONSTORE", "dump:big", 1, "dump:z"})
}

// serverHashDump HSETs the hash and returns the server's DUMP and encoding.
func serverHashDump(tb testing.TB, c *redis.Client, fields, values []string) (dump []byte, encoding string) {
	tb.Helper()
	args := []any{"HSET", "dump:h"}
	for i, f := range fields {
		args = append(args, f, values[i])
	}
	return serverDump(tb, c, "dump:h", args)
}

func serverDump(tb testing.TB, c *redis.Client, key string, write []any) ([]byte, string) {
	tb.Helper()
	ctx := context.Background()
	// One round trip: the fuzz test comes here for every input.
	var enc, dump *redis.StringCmd
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.Do(ctx, write...)
		enc = p.ObjectEncoding(ctx, key)
		dump = p.Dump(ctx, key)
		return nil
	})
	if err != nil {
		tb.Fatalf("%s %s, DUMP: %v", write[0], key, err)
	}
	return []byte(dump.Val()), enc.Val()
}

// diffBytes describes where two payloads first differ.
func diffBytes(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	clip := func(b []byte) string { return hex.EncodeToString(b[i:min(len(b), i+24)]) }
	msg := fmt.Sprintf("len %d vs %d, first difference at byte %d: got %s..., want %s...",
		len(got), len(want), i, clip(got), clip(want))
	_, ge, gerr := decodeDump(got)
	_, we, werr := decodeDump(want)
	if gerr != nil || werr != nil {
		return msg + fmt.Sprintf("\ndecode: %v; %v", gerr, werr)
	}
	for j := range min(len(ge), len(we)) {
		if ge[j] != we[j] {
			return msg + fmt.Sprintf("\nentry %d: got %q, want %q", j, ge[j], we[j])
		}
	}
	return msg
}

// intMembers are strings around every listpack integer boundary, canonical
// or not.
var intMembers = []string{
	"0", "-0", "00", "007", "+1", " 1", "1 ", "1.0", "-", "1e5",
	"127", "128", "-1", "4095", "4096", "-4096", "-4097",
	"32767", "32768", "-32768", "-32769", "8388607", "8388608", "-8388608", "-8388609",
	"2147483647", "2147483648", "-2147483648", "-2147483649", "123456789012",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
	"18446744073709551615", "18446744073709551616", "99999999999999999999", "-99999999999999999999",
}

// edgeScores are scores around the integer and formatting boundaries.
var edgeScores = []float64{
	0, 1, -1, 0.5, 1e-7, 1e20, 3.141592653589793, 1 << 53, 1<<53 + 2, -(1 << 53),
	1 << 52, 1<<52 - 1, -(1<<52 - 1), -(1 << 52), 1e15, 1e16, 1e17, 123456789012345678,
	-1.5, 5e-324, 2.2250738585072014e-308, -1e-300, math.MaxFloat64, -math.MaxFloat64,
	math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.1, 1.0 / 3, 127, 128, -4096, -4097, 70000,
	1 << 31, 1 << 40, 9.2e18, 4.6e18, 1 << 62, -(1 << 62), 1<<62 + 1024, -(1<<62 + 1024),
	0.83712345, 1e-5, 1e-4, 100, 12345678.5,
}

func seq(n int, f func(i int) string) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = f(i)
	}
	return s
}

func repeatScore(n int, f float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = f
	}
	return s
}

type zsetCase struct {
	name    string
	members []string
	scores  []float64
}

func zsetCases() []zsetCase {
	id8 := func(i int) string { return fmt.Sprintf("it%06d", i) }
	cases := []zsetCase{
		{"one", []string{"a"}, []float64{1}},
		{"int member", []string{"123"}, []float64{0.5}},
		{"int members", intMembers, repeatScore(len(intMembers), 0.25)},
		{"int members ranked", intMembers, func() []float64 {
			s := make([]float64, len(intMembers))
			for i := range s {
				s[i] = float64(len(s) - i)
			}
			return s
		}()},
		{"edge scores", seq(len(edgeScores), func(i int) string { return "m" + strconv.Itoa(i) }), edgeScores},
		{"empty member", []string{"", "x"}, []float64{2, 1}},
		{"unicode", []string{"h\u00e9llo", "\u65e5\u672c\u8a9e", "\U0001f642", "\xff\xfe", "a\x00b"}, []float64{1, 2, 3, 4, 5}},
		{"ties by member bytes", []string{"b", "a", "10", "9", "", "B", "a\x00", "\u00e9"}, repeatScore(8, 7)},
		{"ties at zero and minus zero", []string{"p", "n", "z"}, []float64{0, math.Copysign(0, -1), 0}},
		{"descending input", seq(50, id8), func() []float64 {
			s := make([]float64, 50)
			for i := range s {
				s[i] = 1 - float64(i)/64
			}
			return s
		}()},
		{"member 63 bytes", []string{strings.Repeat("a", 63)}, []float64{1}},
		{"member 64 bytes", []string{strings.Repeat("b", 64), "c"}, []float64{1, 2}},
		{"128 members", seq(128, id8), func() []float64 {
			s := make([]float64, 128)
			for i := range s {
				s[i] = float64((i*37)%128) / 7
			}
			return s
		}()},
		{"12-digit ids with integer scores", seq(100, func(i int) string { return strconv.Itoa(100000000000 + i*7919) }),
			func() []float64 {
				s := make([]float64, 100)
				for i := range s {
					s[i] = float64(i % 9)
				}
				return s
			}()},
	}
	return cases
}

// bigZSetCases need raised server limits: strings of the 12 and 32-bit
// length encodings, backlens of 2 and 3 bytes, an RDB length of 5 bytes and
// more than 65535 listpack entries.
func bigZSetCases() []zsetCase {
	return []zsetCase{
		// Entry lengths around the backlen sizes: 127|128 and 16382|16383.
		{"members 125 and 126 bytes", []string{strings.Repeat("p", 125), strings.Repeat("q", 126)}, []float64{1, 2}},
		{"members 16377 and 16378 bytes", []string{strings.Repeat("r", 16377), strings.Repeat("s", 16378)}, []float64{1, 2}},
		{"member 4095 bytes", []string{strings.Repeat("x", 4095)}, []float64{1}},
		{"member 4096 bytes", []string{strings.Repeat("y", 4096)}, []float64{1.5}},
		{"member 17000 bytes", []string{strings.Repeat("z", 17000), "s"}, []float64{1, 0}},
		{"33000 members", seq(33000, func(i int) string { return strconv.Itoa(33000 - i) }), func() []float64 {
			s := make([]float64, 33000)
			for i := range s {
				s[i] = float64(33000-i) / 4
			}
			return s
		}()},
	}
}

func TestDumpZSetMatchesServer(t *testing.T) {
	_, c := dumpServer(t, "rdbcompression", "no")
	var e Encoder // zero value: Redis 7.0 defaults, what the server runs
	for _, tc := range zsetCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, enc := serverZSetDump(t, c, tc.members, tc.scores)
			if enc != "listpack" {
				t.Fatalf("server encoding %q, want listpack: a bad case", enc)
			}
			in := slices.Clone(tc.members)
			got, ok := e.ZSet(tc.members, tc.scores)
			if !ok {
				t.Fatalf("ZSet ok=false")
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ZSet payload differs from DUMP: %s", diffBytes(got, want))
			}
			if !slices.Equal(in, tc.members) {
				t.Fatalf("ZSet modified its input")
			}
		})
	}

	big := Encoder{ZSetMaxValue: 20000, ZSetMaxEntries: 40000}
	for _, tc := range bigZSetCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, enc := serverBigZSetDump(t, c, tc.members, tc.scores, big)
			if enc != "listpack" {
				t.Fatalf("server encoding %q, want listpack", enc)
			}
			got, ok := big.ZSet(tc.members, tc.scores)
			if !ok || !slices.Equal(got, want) {
				t.Fatalf("ZSet ok=%v, payload differs from DUMP: %s", ok, diffBytes(got, want))
			}
		})
	}
}

func TestDumpHashMatchesServer(t *testing.T) {
	_, c := dumpServer(t, "rdbcompression", "no")
	cases := []struct {
		name           string
		fields, values []string
	}{
		{"one", []string{"f"}, []string{"v"}},
		{"integer values", seq(len(intMembers), func(i int) string { return "f" + strconv.Itoa(i) }), intMembers},
		{"integer fields", intMembers, seq(len(intMembers), func(i int) string { return "v" + strconv.Itoa(i) })},
		{"empty values", []string{"a", "b", ""}, []string{"", "", ""}},
		{"unicode", []string{"h\u00e9llo", "\U0001f642"}, []string{"\u65e5\u672c", "\xff"}},
		{"features", []string{"n_events", "last_seen", "top_category", "score"}, []string{"42", "1767225600", "shoes", "0.8125"}},
		{"64-byte field and value", []string{strings.Repeat("k", 64)}, []string{strings.Repeat("v", 64)}},
		{"512 fields", seq(512, func(i int) string { return fmt.Sprintf("f%03d", 511-i) }), seq(512, strconv.Itoa)},
	}
	var e Encoder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, enc := serverHashDump(t, c, tc.fields, tc.values)
			if enc != "listpack" {
				t.Fatalf("server encoding %q, want listpack: a bad case", enc)
			}
			got, ok := e.Hash(tc.fields, tc.values)
			if !ok || !slices.Equal(got, want) {
				t.Fatalf("Hash ok=%v, payload differs from DUMP: %s", ok, diffBytes(got, want))
			}
		})
	}
}

// randomMember draws the kinds of strings the publisher sees and the ones
// that stress the integer parsing.
func randomMember(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return strconv.FormatInt(r.Int64N(1<<40)-1<<39, 10)
	case 1:
		return strconv.FormatInt(r.Int64()>>r.IntN(64), 10)
	case 2:
		return fmt.Sprintf("%08x", r.Uint32())
	case 3:
		return "0" + strconv.Itoa(r.IntN(1000))
	case 4:
		b := make([]byte, r.IntN(65))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	return strconv.Itoa(r.IntN(200) - 100)
}

func randomScore(r *rand.Rand) float64 {
	switch r.IntN(5) {
	case 0:
		return float64(r.IntN(2000) - 1000)
	case 1:
		return r.Float64()
	case 2:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	case 3:
		return edgeScores[r.IntN(len(edgeScores))]
	}
	return math.Round(r.Float64()*1e4) / 1e4
}

func TestDumpRandomMatchesServer(t *testing.T) {
	_, c := dumpServer(t, "rdbcompression", "no")
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	var e Encoder
	for i := range 150 {
		n := 1 + r.IntN(128)
		seen := map[string]bool{}
		var members []string
		var scores []float64
		for len(members) < n {
			m := randomMember(r)
			if !seen[m] {
				seen[m] = true
				members = append(members, m)
				scores = append(scores, randomScore(r))
			}
		}
		want, _ := serverZSetDump(t, c, members, scores)
		if got, ok := e.ZSet(members, scores); !ok || !slices.Equal(got, want) {
			t.Fatalf("zset %d (seed %d): ok=%v, %s", i, seed, ok, diffBytes(got, want))
		}
		values := make([]string, n)
		for j := range values {
			values[j] = randomMember(r)
		}
		want, _ = serverHashDump(t, c, members, values)
		if got, ok := e.Hash(members, values); !ok || !slices.Equal(got, want) {
			t.Fatalf("hash %d (seed %d): ok=%v, %s", i, seed, ok, diffBytes(got, want))
		}
	}
}

// crc64Slow is Redis' crc64 bit by bit: reflected Jones polynomial, no
// inversion.
func crc64Slow(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crc64Jones
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestDumpCRC64(t *testing.T) {
	if got, want := crc64Update(0, []byte("123456789")), uint64(0xe9c6d914c4b8d9ca); got != want {
		t.Fatalf("crc64(123456789)=%#x, want %#x", got, want)
	}
	std := crc64.MakeTable(crc64Jones)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 63, 64, 100, 1000, 2047, 2048, 5000} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		want := crc64Slow(0, p)
		if got := crc64Update(0, p); got != want {
			t.Errorf("len %d: crc64Update=%#x, want %#x", n, got, want)
		}
		// hash/crc64 inverts before and after; undo it.
		if got := ^crc64.Update(^uint64(0), std, p); got != want {
			t.Errorf("len %d: hash/crc64=%#x, want %#x", n, got, want)
		}
		if n > 3 {
			if got := crc64Update(crc64Update(0, p[:3]), p[3:]); got != want {
				t.Errorf("len %d: split update=%#x, want %#x", n, got, want)
			}
		}
	}
}

func TestDumpStringToInt64(t *testing.T) {
	// The obvious version: an integer entry iff the string is what
	// strconv prints for some int64.
	canonical := func(s string) (int64, bool) {
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil && strconv.FormatInt(v, 10) == s
	}
	check := func(s string) {
		gotV, gotOK := lpStringToInt64(s)
		wantV, wantOK := canonical(s)
		if gotOK != wantOK || (gotOK && gotV != wantV) {
			t.Errorf("lpStringToInt64(%q)=%d,%v, want %d,%v", s, gotV, gotOK, wantV, wantOK)
		}
		if bv, bok := lpStringToInt64([]byte(s)); bv != gotV || bok != gotOK {
			t.Errorf("lpStringToInt64([]byte(%q)) differs from the string version", s)
		}
	}
	for _, s := range append([]string{"", "a", "-a", "1a", "٣"}, intMembers...) {
		check(s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "0123456789-+ "
	for range 100000 {
		b := make([]byte, r.IntN(22))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet)-3*r.IntN(2))]
		}
		check(string(b))
	}
}

func TestEncoderLimits(t *testing.T) {
	_, c := dumpServer(t)
	long := strings.Repeat("m", 65)
	cases := []struct {
		name           string
		e              Encoder
		members        []string
		scores         []float64
		ok             bool
		serverSettings []string // zset entries, zset value
	}{
		{"at entry limit", Encoder{}, seq(128, strconv.Itoa), repeatScore(128, 1), true, []string{"128", "64"}},
		{"over entry limit", Encoder{}, seq(129, strconv.Itoa), repeatScore(129, 1), false, []string{"128", "64"}},
		{"member at value limit", Encoder{}, []string{long[:64]}, []float64{1}, true, []string{"128", "64"}},
		{"member over value limit", Encoder{}, []string{"a", long}, []float64{1, 2}, false, []string{"128", "64"}},
		{"long score is fine", Encoder{ZSetMaxValue: 3}, []string{"abc"}, []float64{0.1}, true, []string{"128", "3"}},
		{"tiny entries", Encoder{ZSetMaxEntries: 2}, []string{"a", "b", "c"}, []float64{1, 2, 3}, false, []string{"2", "64"}},
		{"entries setting 0", Encoder{ZSetMaxEntries: -1}, []string{"a"}, []float64{1}, false, []string{"0", "64"}},
		{"value setting 0, empty member", Encoder{ZSetMaxValue: -1}, []string{""}, []float64{1}, true, []string{"128", "0"}},
		{"value setting 0", Encoder{ZSetMaxValue: -1}, []string{"a"}, []float64{1}, false, []string{"128", "0"}},
		{"NaN score", Encoder{}, []string{"a"}, []float64{math.NaN()}, false, nil},
		{"empty set", Encoder{}, nil, nil, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, ok := tc.e.AppendZSet(dst, tc.members, tc.scores)
			if ok != tc.ok {
				t.Fatalf("AppendZSet ok=%v, want %v", ok, tc.ok)
			}
			if !ok && string(got) != "prefix" {
				t.Fatalf("AppendZSet with ok=false changed dst to %q", got)
			}
			if tc.serverSettings == nil {
				return
			}
			// The server agrees: ZADD makes a listpack exactly when ok.
			mustConfigSet(t, c, "zset-max-listpack-entries", tc.serverSettings[0], "zset-max-listpack-value", tc.serverSettings[1])
			if _, enc := serverZSetDump(t, c, tc.members, tc.scores); (enc == "listpack") != tc.ok {
				t.Fatalf("server encoding %q, ok=%v", enc, tc.ok)
			}
		})
	}
}

func TestEncoderHashLimits(t *testing.T) {
	long := strings.Repeat("v", 65)
	cases := []struct {
		name           string
		e              Encoder
		fields, values []string
		ok             bool
	}{
		{"at limits", Encoder{}, seq(512, strconv.Itoa), seq(512, func(int) string { return long[:64] }), true},
		{"over entries", Encoder{}, seq(513, strconv.Itoa), seq(513, strconv.Itoa), false},
		{"long value", Encoder{}, []string{"f"}, []string{long}, false},
		{"long field", Encoder{}, []string{long}, []string{"v"}, false},
		{"tiny value limit", Encoder{HashMaxValue: 2}, []string{"ab"}, []string{"abc"}, false},
		{"entries setting 0", Encoder{HashMaxEntries: -1}, []string{"f"}, []string{"v"}, false},
		{"empty hash", Encoder{}, nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.e.Hash(tc.fields, tc.values); ok != tc.ok {
				t.Fatalf("Hash ok=%v, want %v", ok, tc.ok)
			}
		})
	}
}

func TestEncoderPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatalf("ZSet with 2 members and 1 score did not panic")
		}
	}()
	var e Encoder
	e.ZSet([]string{"a", "b"}, []float64{1})
}

func TestEncoderRDBVersion(t *testing.T) {
	cases := []struct {
		version string
		want    int // 0: ErrRestoreUnsupported
	}{
		{"7.0.15", 10}, {"7.0.0", 10}, {"7.1.240", 10}, {"7.2.4", 11}, {"7.2.11", 11},
		{"7.4.2", 12}, {"8.0.2", 12}, {"8.2.1", 12}, {"9.0.0", 12},
		{"6.2.14", 0}, {"5.0.7", 0}, {"", 0}, {"seven", 0},
	}
	for _, tc := range cases {
		got, err := rdbVersionFor(tc.version)
		if tc.want == 0 {
			if !errors.Is(err, ErrRestoreUnsupported) {
				t.Errorf("rdbVersionFor(%q) err=%v, want ErrRestoreUnsupported", tc.version, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("rdbVersionFor(%q)=%d,%v, want %d", tc.version, got, err, tc.want)
		}
	}
}

func TestDetectEncoderDefault(t *testing.T) {
	s, _ := dumpServer(t)
	c := s.Client(t) // RESP3, as the writer's client speaks by default
	ctx := context.Background()
	e, err := DetectEncoder(ctx, c, "recopub:probe")
	if err != nil {
		t.Fatalf("DetectEncoder: %v", err)
	}
	if got, want := *e, (Encoder{RDBVersion: 10, ZSetMaxEntries: 128, ZSetMaxValue: 64, HashMaxEntries: 512, HashMaxValue: 64}); got != want {
		t.Fatalf("DetectEncoder=%+v, want %+v", got, want)
	}
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("DBSIZE after DetectEncoder = %d, want 0: the probe was left behind", n)
	}
}

func TestDetectEncoderTinyLimits(t *testing.T) {
	_, c := dumpServer(t, "zset-max-listpack-entries", "2", "zset-max-listpack-value", "3",
		"hash-max-listpack-entries", "0")
	ctx := context.Background()
	e, err := DetectEncoder(ctx, c, "probe")
	if err != nil {
		t.Fatalf("DetectEncoder: %v", err)
	}
	if got, want := *e, (Encoder{RDBVersion: 10, ZSetMaxEntries: 2, ZSetMaxValue: 3, HashMaxEntries: -1, HashMaxValue: 64}); got != want {
		t.Fatalf("DetectEncoder=%+v, want %+v", got, want)
	}
	if _, ok := e.ZSet([]string{"a", "b", "c"}, []float64{1, 2, 3}); ok {
		t.Fatalf("ZSet of 3 members ok=true with zset-max-listpack-entries 2")
	}
	if _, ok := e.ZSet([]string{"abcd"}, []float64{1}); ok {
		t.Fatalf("ZSet of a 4-byte member ok=true with zset-max-listpack-value 3")
	}
	if _, ok := e.Hash([]string{"f"}, []string{"v"}); ok {
		t.Fatalf("Hash ok=true with hash-max-listpack-entries 0")
	}
	payload, ok := e.ZSet([]string{"abc", "7"}, []float64{2, 1})
	if !ok {
		t.Fatalf("ZSet of 2 short members ok=false")
	}
	if err := c.Restore(ctx, "z", 0, string(payload)).Err(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got, want := c.ObjectEncoding(ctx, "z").Val(), "listpack"; got != want {
		t.Fatalf("OBJECT ENCODING after RESTORE = %q, want %q", got, want)
	}
	if got, want := c.ZRange(ctx, "z", 0, -1).Val(), []string{"7", "abc"}; !slices.Equal(got, want) {
		t.Fatalf("ZRANGE=%q, want %q", got, want)
	}
}

// aclClient returns a client logged in as a new user with the given rules.
func aclClient(t *testing.T, s *redistest.Server, admin *redis.Client, user string, rules ...any) *redis.Client {
	t.Helper()
	args := append([]any{"ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all"}, rules...)
	if err := admin.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("acl setuser %s: %v", user, err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Username: user, Password: "pw"})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDetectEncoderConfigRefused(t *testing.T) {
	s, admin := dumpServer(t, "zset-max-listpack-entries", "100")
	c := aclClient(t, s, admin, "noconfig", "-config")
	e, err := DetectEncoder(context.Background(), c, "probe")
	if err != nil {
		t.Fatalf("DetectEncoder: %v", err)
	}
	if got, want := *e, (Encoder{RDBVersion: 10}); got != want {
		t.Fatalf("DetectEncoder=%+v, want defaults %+v", got, want)
	}
}

func TestDetectEncoderRestoreRefused(t *testing.T) {
	s, admin := dumpServer(t)
	c := aclClient(t, s, admin, "norestore", "-restore")
	_, err := DetectEncoder(context.Background(), c, "probe")
	if !errors.Is(err, ErrRestoreUnsupported) {
		t.Fatalf("DetectEncoder err=%v, want ErrRestoreUnsupported", err)
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("DetectEncoder err=%v, want the server's NOPERM reply wrapped", err)
	}
	if n := admin.DBSize(context.Background()).Val(); n != 0 {
		t.Fatalf("DBSIZE = %d, want 0", n)
	}
}

func ExampleEncoder_ZSet() {
	var e Encoder // Redis 7.0 with default limits
	payload, ok := e.ZSet([]string{"item:2", "item:1"}, []float64{0.5, 1})
	if !ok {
		return // too big for a listpack: ZADD instead
	}
	// The writer sends RESTORE key 0 payload; here, the payload's parts.
	n := len(payload)
	fmt.Printf("type      %x\n", payload[:1])
	fmt.Printf("length    %x\n", payload[1:2])
	fmt.Printf("listpack  %x\n", payload[2:n-10])
	fmt.Printf("version   %x\n", payload[n-10:n-8])
	fmt.Printf("crc64     %x\n", payload[n-8:])
	// Output:
	// type      11
	// length    1e
	// listpack  1e0000000400866974656d3a320783302e3504866974656d3a31070101ff
	// version   0a00
	// crc64     7eba92d7602c17f7
}

// BenchmarkEncodeZSet encodes a top-50 list of 8-character ids with
// similarity-like scores, unsorted and in the descending order a top-N
// list usually comes in, into a reused buffer.
func BenchmarkEncodeZSet(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	members := make([]string, 50)
	scores := make([]float64, 50)
	for i := range members {
		members[i] = fmt.Sprintf("%08d", r.IntN(1e8))
		scores[i] = r.Float64()
	}
	descMembers, descScores := slices.Clone(members), slices.Clone(scores)
	var e Encoder
	order := zsetOrder(nil, members, scores)
	for i, j := range order {
		descMembers[len(order)-1-i], descScores[len(order)-1-i] = members[j], scores[j]
	}
	for _, bc := range []struct {
		name    string
		members []string
		scores  []float64
	}{{"unsorted", members, scores}, {"descending", descMembers, descScores}} {
		b.Run(bc.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				if buf, ok = e.AppendZSet(buf[:0], bc.members, bc.scores); !ok {
					b.Fatal("AppendZSet ok=false")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sets/s")
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkEncodeHash encodes a user-feature hash of 12 short fields.
func BenchmarkEncodeHash(b *testing.B) {
	fields := seq(12, func(i int) string { return fmt.Sprintf("feature_%02d", i) })
	values := seq(12, func(i int) string { return strconv.FormatFloat(float64(i)*1.37, 'g', -1, 64) })
	var e Encoder
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.AppendHash(buf[:0], fields, values)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	b.SetBytes(int64(len(buf)))
}
