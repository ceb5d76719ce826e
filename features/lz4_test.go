package features

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// TestLoadLZ4Raw reads LZ4_RAW files whose pages compress less than 3:1,
// the shape of DuckDB's `COMPRESSION lz4_raw` export (optional columns,
// statistics with null counts, a PLAIN INT64 timestamp of random times).
// parquet-go v0.32.0 drops the decompressed bytes of such pages and
// decodes a stale pooled buffer (see pageLeaf): V1 optional columns fail
// with "PLAIN: cannot decode INT64 from input of size ...", required
// columns and V2 pages load wrong ids and times with no error. LZ4_RAW
// chunks are planned for arrow-go, which reads them exactly.
func TestLoadLZ4Raw(t *testing.T) {
	const n = 3000 // pages of ~24 KB of incompressible values
	r := rand.New(rand.NewPCG(10, 4))
	users, items := make([]*string, n), make([]*string, n)
	ev := make([]*string, n)
	ts := make([]int64, n) // Unix ms, random within the last 20 days
	tsValid := make([]bool, n)
	for i := range n {
		if i%97 != 5 {
			users[i] = str(fmt.Sprintf("u%016x", r.Uint64()%(1<<40)))
		}
		items[i] = str(fmt.Sprintf("p%016x", r.Uint64()))
		ev[i] = str("Product Viewed")
		ts[i] = t0.Add(-time.Duration(r.Int64N(int64(20 * 24 * time.Hour)))).UnixMilli()
		tsValid[i] = i%211 != 7
	}
	for _, v := range []parquet.DataPageVersion{parquet.DataPageV1, parquet.DataPageV2} {
		for _, dict := range []bool{false, true} {
			for _, nullable := range []bool{true, false} {
				t.Run(fmt.Sprintf("v%d/dictionary=%v/nullable=%v", v+1, dict, nullable), func(t *testing.T) {
					tb := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"})
					defer tb.Release()
					for i, ms := range ts {
						if nullable && !tsValid[i] {
							tb.AppendNull()
						} else {
							tb.Append(arrow.Timestamp(ms))
						}
					}
					u := users
					if !nullable {
						u = items // a required user id column needs no nulls
					}
					path := filepath.Join(t.TempDir(), "e.parquet")
					mustWriteArrow(t, path, []arrow.Field{
						{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: nullable},
						{Name: "event", Type: arrow.BinaryTypes.String, Nullable: nullable},
						{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: nullable},
						{Name: "product_id", Type: arrow.BinaryTypes.String, Nullable: nullable},
					}, []arrow.Array{stringArray(u), stringArray(ev), tb.NewArray(), stringArray(items)},
						parquet.WithCompression(compress.Codecs.Lz4Raw), parquet.WithDataPageVersion(v),
						parquet.WithDictionaryDefault(false), parquet.WithDictionaryFor("event", true),
						parquet.WithDictionaryFor("user_id", dict), parquet.WithStats(true))
					ds := loadBoth(t, Options{Events: []string{path}, Now: t0.Add(time.Hour)}, false)
					var want []string
					noUser, badTime := int64(0), int64(0)
					for i := range n {
						switch {
						case u[i] == nil:
							noUser++
						case nullable && !tsValid[i]:
							badTime++
						default:
							want = append(want, fmt.Sprintf("%s %s Product Viewed %s", *u[i], *items[i],
								time.UnixMilli(ts[i]).UTC().Format(time.RFC3339)))
						}
					}
					wantEvents(t, ds, want)
					dropped := map[string]int64{}
					if noUser > 0 {
						dropped[DropNoUser] = noUser
					}
					if badTime > 0 {
						dropped[DropBadTime] = badTime
					}
					wantDropped(t, ds, dropped)
				})
			}
		}
	}
}
