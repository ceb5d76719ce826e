package publish

// DUMP payloads.
//
// The writer loads sorted sets and hashes with pipelined RESTORE instead of
// ZADD and HSET: the server takes one blob per key instead of inserting
// members one by one, about 9x faster as measured for the issue that asked
// for it. Encoder builds, in Go, the payload that DUMP returns for a small
// key on Redis >= 7.0 or Valkey:
//
//	type          1 byte: 17 RDB_TYPE_ZSET_LISTPACK or 16 RDB_TYPE_HASH_LISTPACK
//	value         an RDB string (rdbSaveLen length: 1, 2 or 5 bytes) holding a listpack
//	RDB version   2 bytes, little endian
//	CRC-64        8 bytes, little endian: Jones polynomial over all of the above
//
// The listpack holds member, score, member, score, ... in ascending (score,
// member) order for a sorted set, and field, value, ... in the caller's order
// for a hash, as ZADD and HSET leave them. An entry is stored as an integer
// when its string is a canonical int64 ("123", "-5"; not "007", "-0", "+1"),
// as lpAppend does. A score is written as zzlInsertAt writes it: an integer
// entry when it is integral and within ±2^62 (double2ll; so -0 becomes 0, as
// it does in ZADD), otherwise d2string's "%.17g" text ("inf", "-inf"). The
// result is byte for byte what Redis 7.0 DUMPs with rdbcompression no (with
// the default rdbcompression yes, DUMP LZF-compresses values over 20 bytes;
// RESTORE takes either form). Redis 7.2 moved d2string to the shortest text
// that reads back the same, so its own DUMP of a non-integral score differs
// from ours, but the score restores to the same float64: the server parses
// the text with strtod either way.
//
// A key that Redis would not keep as a listpack (more entries than
// *-max-listpack-entries, a member, field or value longer than
// *-max-listpack-value) gets ok=false, as do NaN scores and empty keys,
// which Redis does not have; the caller then falls back to ZADD or HSET,
// so a restored key always has the encoding the commands would give it. DetectEncoder reads the
// server's version and limits and proves, with a probe key, that RESTORE
// takes the payloads before the writer relies on them.

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrRestoreUnsupported means the server cannot take Encoder payloads: it is
// older than Redis 7.0, refuses RESTORE (an ACL, a renamed command) or
// restored a probe that reads back differently. Load with ZADD and HSET.
var ErrRestoreUnsupported = errors.New("RESTORE of listpack payloads not supported")

const (
	rdbTypeHashListpack = 16 // RDB_TYPE_HASH_LISTPACK
	rdbTypeZSetListpack = 17 // RDB_TYPE_ZSET_LISTPACK

	defaultRDBVersion       = 10 // Redis 7.0
	defaultZSetMaxEntries   = 128
	defaultHashMaxEntries   = 512
	defaultMaxListpackValue = 64

	// maxListpackBytes is listpack.c's LISTPACK_MAX_SAFETY_SIZE: Redis
	// converts a listpack that would grow past it.
	maxListpackBytes = 1 << 30
	// maxEntryOverhead bounds the bytes an entry adds beyond its string
	// (encoding header and backlen), and maxScoreBytes a whole score entry.
	maxEntryOverhead = 10
	maxScoreBytes    = 32
)

// Encoder builds DUMP payloads for one server's settings.
//
// The zero value suits a Redis 7.0 server with default settings: a zero
// field means the default (RDB version 10; 128 zset and 512 hash entries,
// 64 bytes), and since zero is taken, a negative limit stands for a server
// setting of 0. The methods do not modify the Encoder and are safe for
// concurrent use.
type Encoder struct {
	RDBVersion     int // RDB version written in the trailer (10 for Redis 7.0)
	ZSetMaxEntries int // zset-max-listpack-entries (default 128)
	ZSetMaxValue   int // zset-max-listpack-value (default 64)
	HashMaxEntries int // hash-max-listpack-entries (default 512)
	HashMaxValue   int // hash-max-listpack-value (default 64)
}

func (e *Encoder) rdbVersion() int {
	if e.RDBVersion == 0 {
		return defaultRDBVersion
	}
	return e.RDBVersion
}

// listpackLimit resolves a limit field: 0 is the default, negative is 0.
func listpackLimit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// ZSet returns the DUMP payload of a sorted set, or ok=false when the set is
// too big for the listpack encoding (more entries or a longer member than
// the settings allow), is empty, or has a NaN score; the caller then uses
// ZADD. The members need not be sorted and the slices are not modified.
// Members must be distinct: a duplicate makes a listpack Redis never builds
// (RESTORE with sanitize-dump-payload yes refuses it). It panics if the
// slices differ in length.
func (e *Encoder) ZSet(members []string, scores []float64) (payload []byte, ok bool) {
	return e.AppendZSet(nil, members, scores)
}

// Hash returns the DUMP payload of a hash, or ok=false when it is too big
// for the listpack encoding (more fields, or a longer field or value, than
// the settings allow) or empty. Fields are stored in the order given, as
// HSET stores new fields, and must be distinct. It panics if the slices
// differ in length.
func (e *Encoder) Hash(fields, values []string) (payload []byte, ok bool) {
	return e.AppendHash(nil, fields, values)
}

// AppendZSet is ZSet appending the payload to dst. When ok is false dst is
// returned unchanged. With a reused dst it allocates nothing for sets of up
// to 128 members.
func (e *Encoder) AppendZSet(dst []byte, members []string, scores []float64) ([]byte, bool) {
	if len(members) != len(scores) {
		panic("publish: Encoder.AppendZSet: len(members) != len(scores)")
	}
	maxEntries := listpackLimit(e.ZSetMaxEntries, defaultZSetMaxEntries)
	maxValue := listpackLimit(e.ZSetMaxValue, defaultMaxListpackValue)
	if !zsetFits(members, scores, maxEntries, maxValue) {
		return dst, false
	}
	var stack [128]int32
	order := zsetOrder(stack[:0], members, scores)
	start := len(dst)
	dst = append(dst, rdbTypeZSetListpack)
	dst, lenAt := beginListpack(dst)
	for _, i := range order {
		dst = lpAppendString(dst, members[i])
		dst = lpAppendScore(dst, scores[i])
	}
	dst = endListpack(dst, lenAt, 2*len(members))
	return e.appendTrailer(dst, start), true
}

// AppendHash is Hash appending the payload to dst. When ok is false dst is
// returned unchanged.
func (e *Encoder) AppendHash(dst []byte, fields, values []string) ([]byte, bool) {
	if len(fields) != len(values) {
		panic("publish: Encoder.AppendHash: len(fields) != len(values)")
	}
	maxEntries := listpackLimit(e.HashMaxEntries, defaultHashMaxEntries)
	maxValue := listpackLimit(e.HashMaxValue, defaultMaxListpackValue)
	if !hashFits(fields, values, maxEntries, maxValue) {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, rdbTypeHashListpack)
	dst, lenAt := beginListpack(dst)
	for i, f := range fields {
		dst = lpAppendString(dst, f)
		dst = lpAppendString(dst, values[i])
	}
	dst = endListpack(dst, lenAt, 2*len(fields))
	return e.appendTrailer(dst, start), true
}

// zsetFits reports whether ZADD would keep the set as a listpack
// (zsetTypeCreate, zsetAdd) and the encoder can write it.
func zsetFits(members []string, scores []float64, maxEntries, maxValue int) bool {
	if len(members) == 0 || len(members) > maxEntries {
		return false
	}
	size := 0
	for i, m := range members {
		if len(m) > maxValue || math.IsNaN(scores[i]) {
			return false
		}
		size += len(m) + maxEntryOverhead + maxScoreBytes
	}
	return size <= maxListpackBytes
}

// hashFits reports whether HSET would keep the hash as a listpack
// (hashTypeTryConversion, hashTypeSet).
func hashFits(fields, values []string, maxEntries, maxValue int) bool {
	if len(fields) == 0 || len(fields) > maxEntries {
		return false
	}
	size := 0
	for i, f := range fields {
		if len(f) > maxValue || len(values[i]) > maxValue {
			return false
		}
		size += len(f) + len(values[i]) + 2*maxEntryOverhead
	}
	return size <= maxListpackBytes
}

// zsetOrder appends to idx the indexes of the members in listpack order:
// score ascending, ties by member bytes (zzlInsert). Input already in
// ascending or descending order, as top-N lists usually are, is not sorted.
func zsetOrder(idx []int32, members []string, scores []float64) []int32 {
	for i := range members {
		idx = append(idx, int32(i))
	}
	cmp := func(a, b int32) int {
		switch sa, sb := scores[a], scores[b]; {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return strings.Compare(members[a], members[b])
	}
	if slices.IsSortedFunc(idx, cmp) {
		return idx
	}
	slices.Reverse(idx)
	if !slices.IsSortedFunc(idx, cmp) {
		slices.SortFunc(idx, cmp)
	}
	return idx
}

// beginListpack appends room for the RDB string length (2 bytes, the usual
// size) and the 6-byte listpack header, returning where the length goes.
func beginListpack(dst []byte) ([]byte, int) {
	lenAt := len(dst)
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0), lenAt
}

// endListpack terminates the listpack begun at lenAt, fills in its header
// and writes the RDB string length in front of it (rdbSaveLen), moving the
// listpack when the length needs other than 2 bytes.
func endListpack(dst []byte, lenAt, count int) []byte {
	dst = append(dst, 0xff)
	lp := dst[lenAt+2:]
	size := len(lp)
	binary.LittleEndian.PutUint32(lp, uint32(size))
	binary.LittleEndian.PutUint16(lp[4:], uint16(min(count, math.MaxUint16)))
	switch {
	case size < 1<<6:
		copy(dst[lenAt+1:], dst[lenAt+2:])
		dst = dst[:len(dst)-1]
		dst[lenAt] = byte(size)
	case size < 1<<14:
		dst[lenAt] = 0x40 | byte(size>>8)
		dst[lenAt+1] = byte(size)
	default:
		dst = append(dst, 0, 0, 0)
		copy(dst[lenAt+5:], dst[lenAt+2:len(dst)-3])
		dst[lenAt] = 0x80
		binary.BigEndian.PutUint32(dst[lenAt+1:], uint32(size))
	}
	return dst
}

// appendTrailer appends the RDB version and the CRC-64 of the payload that
// starts at dst[start], as createDumpPayload does.
func (e *Encoder) appendTrailer(dst []byte, start int) []byte {
	v := e.rdbVersion()
	dst = append(dst, byte(v), byte(v>>8))
	return binary.LittleEndian.AppendUint64(dst, crc64Update(0, dst[start:]))
}

// lpAppendScore appends a zset score entry as zzlInsertAt writes it: an
// integer when double2ll takes the score (integral, within ±2^62), else the
// d2string text, which for Redis 7.0 is "%.17g".
func lpAppendScore(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -1<<62 && f <= 1<<62 {
		return lpAppendInt(dst, int64(f))
	}
	switch {
	case math.IsInf(f, 1):
		return lpAppendString(dst, "inf")
	case math.IsInf(f, -1):
		return lpAppendString(dst, "-inf")
	}
	// Not integral, or too big for 17 digits without an exponent: the text
	// never reads as an integer.
	var buf [maxScoreBytes]byte
	return lpAppendText(dst, strconv.AppendFloat(buf[:0], f, 'g', 17, 64))
}

// lpAppendString appends s as lpAppend does: an integer entry when s is a
// canonical int64, otherwise a string entry with a 6, 12 or 32-bit length.
func lpAppendString[T string | []byte](dst []byte, s T) []byte {
	if v, ok := lpStringToInt64(s); ok {
		return lpAppendInt(dst, v)
	}
	return lpAppendText(dst, s)
}

// lpAppendText appends a string entry for s, which does not read as an
// integer.
func lpAppendText[T string | []byte](dst []byte, s T) []byte {
	n := len(s)
	hdr := 1
	switch {
	case n < 1<<6:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<12:
		dst = append(dst, 0xe0|byte(n>>8), byte(n))
		hdr = 2
	default:
		dst = append(dst, 0xf0, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		hdr = 5
	}
	dst = append(dst, s...)
	return lpAppendBacklen(dst, hdr+n)
}

// lpStringToInt64 is listpack.c's lpStringToInt64: it accepts only the
// strings an int64 prints as, so no leading zeros, "+" or "-0".
func lpStringToInt64[T string | []byte](s T) (int64, bool) {
	n := len(s)
	if n == 0 || n > len("-9223372036854775808") {
		return 0, false
	}
	if n == 1 && s[0] == '0' {
		return 0, true
	}
	i, neg := 0, s[0] == '-'
	if neg {
		i++
		if n == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		d := uint64(s[i] - '0')
		if d > 9 || v > math.MaxUint64/10 || v*10 > math.MaxUint64-d {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// lpAppendInt appends an integer entry in the smallest of listpack's
// integer encodings (lpEncodeGetType), then its 1-byte backlen.
func lpAppendInt(dst []byte, v int64) []byte {
	u := uint64(v)
	switch {
	case v >= 0 && v <= 127:
		return append(dst, byte(v), 1)
	case v >= -4096 && v <= 4095:
		u &= 1<<13 - 1
		return append(dst, 0xc0|byte(u>>8), byte(u), 2)
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return append(dst, 0xf1, byte(u), byte(u>>8), 3)
	case v >= -1<<23 && v < 1<<23:
		return append(dst, 0xf2, byte(u), byte(u>>8), byte(u>>16), 4)
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return append(dst, 0xf3, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), 5)
	}
	dst = append(dst, 0xf4)
	dst = binary.LittleEndian.AppendUint64(dst, u)
	return append(dst, 9)
}

// lpAppendBacklen appends the length l of the entry just written, in the
// reversed 7-bit groups of lpEncodeBacklen.
func lpAppendBacklen(dst []byte, l int) []byte {
	switch {
	case l <= 127:
		return append(dst, byte(l))
	case l < 16383:
		return append(dst, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		return append(dst, byte(l>>14), byte(l>>7&127)|128, byte(l&127)|128)
	case l < 268435455:
		return append(dst, byte(l>>21), byte(l>>14&127)|128, byte(l>>7&127)|128, byte(l&127)|128)
	}
	return append(dst, byte(l>>28), byte(l>>21&127)|128, byte(l>>14&127)|128, byte(l>>7&127)|128, byte(l&127)|128)
}

// DetectEncoder returns the Encoder for the server behind c. It picks the
// RDB version from INFO server's redis_version (Valkey reports a Redis
// version too) and the limits from CONFIG GET, keeping the defaults where
// CONFIG is refused, as on managed services. It then RESTOREs a sorted set
// and a hash under probeKey plus a random suffix, reads them back and
// deletes them. A server older than 7.0, a refused RESTORE or a wrong
// readback gives an error wrapping ErrRestoreUnsupported; other errors are
// the connection's.
func DetectEncoder(ctx context.Context, c redis.UniversalClient, probeKey string) (*Encoder, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return nil, fmt.Errorf("detect encoder: info server: %w", err)
	}
	rdb, err := rdbVersionFor(infoField(info, "redis_version"))
	if err != nil {
		return nil, fmt.Errorf("detect encoder: %w", err)
	}
	e := &Encoder{RDBVersion: rdb}
	if e.ZSetMaxEntries, e.ZSetMaxValue, err = configLimits(ctx, c, "zset"); err != nil {
		return nil, fmt.Errorf("detect encoder: %w", err)
	}
	if e.HashMaxEntries, e.HashMaxValue, err = configLimits(ctx, c, "hash"); err != nil {
		return nil, fmt.Errorf("detect encoder: %w", err)
	}
	if err := e.probe(ctx, c, probeKey); err != nil {
		return nil, fmt.Errorf("detect encoder: %w", err)
	}
	return e, nil
}

// infoField returns the value of "name:value" in an INFO reply.
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rdbVersionFor maps a redis_version to the RDB version its RESTORE
// accepts: 10 for 7.0, 11 for 7.2 (and Valkey, which reports 7.2.4), 12
// for 7.4 and later. RESTORE takes any version up to its own, so newer
// servers get 12.
func rdbVersionFor(version string) (int, error) {
	major, rest, _ := strings.Cut(version, ".")
	minor, _, _ := strings.Cut(rest, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	switch {
	case err1 != nil || err2 != nil:
		return 0, fmt.Errorf("unrecognised redis_version %q: %w", version, ErrRestoreUnsupported)
	case ma < 7:
		return 0, fmt.Errorf("redis_version %s is older than 7.0: %w", version, ErrRestoreUnsupported)
	case ma == 7 && mi < 2:
		return 10, nil
	case ma == 7 && mi < 4:
		return 11, nil
	}
	return 12, nil
}

// configLimits reads <kind>-max-listpack-entries and -value. A refused
// CONFIG (a server error reply) leaves the defaults; a setting of 0 becomes
// -1, as Encoder spells it.
func configLimits(ctx context.Context, c redis.UniversalClient, kind string) (entries, value int, err error) {
	prefix := kind + "-max-listpack-"
	cfg, err := c.ConfigGet(ctx, prefix+"*").Result()
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("config get %s*: %w", prefix, err)
	}
	parse := func(name string) int {
		n, err := strconv.Atoi(cfg[prefix+name])
		switch {
		case err != nil || n < 0:
			return 0
		case n == 0:
			return -1
		}
		return n
	}
	return parse("entries"), parse("value"), nil
}

// The probe holds an entry of every listpack encoding: integers of each
// width, strings that look like integers but are not canonical, the empty
// string, non-ASCII text, and scores stored as integers and as "%.17g".
var (
	probeMembers = []string{"m", "123", "-5", "007", "", "4095", "-4096", "32767", "-8388608",
		"2147483647", "9223372036854775807", "-9223372036854775808", "h\u00e9llo", "1e5"}
	probeScores = []float64{0.5, 1, -1, 3.141592653589793, 1e-7, 1e20, -4096, 70000, 1 << 40,
		math.Inf(1), math.Inf(-1), 2.5, 0, 1e300}
	probeFields = []string{"f", "1", "-1", "0", "", "100000", "h\u00e9llo", "9223372036854775807"}
	probeValues = []string{"v", "", "12", "-7", "9223372036854775808", "3.5", "\u00e9", "x"}
)

// probe restores a sorted set and a hash, each cut to the limits, and
// checks that they read back as written. A type whose limits allow no
// listpack at all is not probed: the Encoder never encodes it.
func (e *Encoder) probe(ctx context.Context, c redis.UniversalClient, key string) (err error) {
	suffix := strconv.FormatUint(rand.Uint64(), 36)
	zkey, hkey := key+":"+suffix+":zset", key+":"+suffix+":hash"
	defer func() {
		// Delete even when ctx is done; each key alone, for Redis Cluster.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, k := range []string{zkey, hkey} {
			if derr := c.Del(dctx, k).Err(); derr != nil && err == nil {
				err = fmt.Errorf("delete probe %s: %w", k, derr)
			}
		}
	}()
	members, scores := probeFit(probeMembers, probeScores,
		listpackLimit(e.ZSetMaxEntries, defaultZSetMaxEntries), listpackLimit(e.ZSetMaxValue, defaultMaxListpackValue), nil)
	if payload, ok := e.ZSet(members, scores); ok {
		if err := restoreProbe(ctx, c, zkey, payload); err != nil {
			return err
		}
		if err := checkZSetProbe(ctx, c, zkey, members, scores); err != nil {
			return err
		}
	}
	hashMaxValue := listpackLimit(e.HashMaxValue, defaultMaxListpackValue)
	fields, values := probeFit(probeFields, probeValues,
		listpackLimit(e.HashMaxEntries, defaultHashMaxEntries), hashMaxValue, func(v string) bool { return len(v) <= hashMaxValue })
	if payload, ok := e.Hash(fields, values); ok {
		if err := restoreProbe(ctx, c, hkey, payload); err != nil {
			return err
		}
		return checkHashProbe(ctx, c, hkey, fields, values)
	}
	return nil
}

// probeFit keeps the probe pairs whose key fits maxValue (and whose value
// passes keep, when given), at most maxEntries of them.
func probeFit[V any](keys []string, vals []V, maxEntries, maxValue int, keep func(V) bool) ([]string, []V) {
	var ks []string
	var vs []V
	for i, k := range keys {
		if len(ks) < maxEntries && len(k) <= maxValue && (keep == nil || keep(vals[i])) {
			ks, vs = append(ks, k), append(vs, vals[i])
		}
	}
	return ks, vs
}

// restoreProbe RESTOREs payload at key with a TTL, so that a probe the
// deferred DEL misses still goes away.
func restoreProbe(ctx context.Context, c redis.UniversalClient, key string, payload []byte) error {
	err := c.RestoreReplace(ctx, key, time.Minute, string(payload)).Err()
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return fmt.Errorf("restore %s: %w: %w", key, ErrRestoreUnsupported, err)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", key, err)
	}
	return nil
}

func checkZSetProbe(ctx context.Context, c redis.UniversalClient, key string, members []string, scores []float64) error {
	got, err := c.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("zrange %s: %w", key, err)
	}
	want := make([]redis.Z, len(members))
	for i, m := range members {
		want[i] = redis.Z{Score: scores[i], Member: m}
	}
	slices.SortFunc(want, func(a, b redis.Z) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c
		}
		return strings.Compare(a.Member.(string), b.Member.(string))
	})
	if !slices.Equal(got, want) {
		return fmt.Errorf("%w: %s reads back %v, want %v", ErrRestoreUnsupported, key, got, want)
	}
	return nil
}

func checkHashProbe(ctx context.Context, c redis.UniversalClient, key string, fields, values []string) error {
	got, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("hgetall %s: %w", key, err)
	}
	want := make(map[string]string, len(fields))
	for i, f := range fields {
		want[f] = values[i]
	}
	if !maps.Equal(got, want) {
		return fmt.Errorf("%w: %s reads back %v, want %v", ErrRestoreUnsupported, key, got, want)
	}
	return nil
}
