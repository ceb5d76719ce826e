package gen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// partWriter writes rows into dir/part-NNNNN.parquet files of at most
// perFile rows, in row groups of rowGroup rows; at most one row group is
// buffered. A file is written under a temporary name and renamed when
// complete.
type partWriter[T any] struct {
	dir               string
	rowGroup, perFile int
	opts              []parquet.WriterOption
	fill              func(rows []T, first int) // completes rows before writing; first is the index of rows[0]
	pq                *parquet.GenericWriter[T]
	f                 *os.File
	tmp               string
	buf               []T
	inFile            int // rows flushed to the open file
	rows, files       int // rows and files finished since reset
}

// reset points p at dir, keeping its row buffer.
func (p *partWriter[T]) reset(dir string, rowGroup, perFile int, opts []parquet.WriterOption, fill func([]T, int)) {
	p.dir, p.rowGroup, p.perFile, p.opts, p.fill = dir, rowGroup, perFile, opts, fill
	p.inFile, p.rows, p.files = 0, 0, 0
	p.buf = slices.Grow(p.buf[:0], min(rowGroup, perFile))
}

func (p *partWriter[T]) add(ctx context.Context, row T) error {
	p.buf = append(p.buf, row)
	if len(p.buf) < min(p.rowGroup, p.perFile-p.inFile) {
		return nil
	}
	return p.flush(ctx)
}

// flush writes the buffered rows as one row group.
func (p *partWriter[T]) flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.f == nil {
		if err := p.openFile(); err != nil {
			return err
		}
	}
	if p.fill != nil {
		p.fill(p.buf, p.rows)
	}
	if _, err := p.pq.Write(p.buf); err != nil {
		return fmt.Errorf("generate: write %s: %w", p.tmp, err)
	}
	if err := p.pq.Flush(); err != nil {
		return fmt.Errorf("generate: write %s: %w", p.tmp, err)
	}
	p.inFile += len(p.buf)
	p.rows += len(p.buf)
	clear(p.buf) // drop string references
	p.buf = p.buf[:0]
	if p.inFile == p.perFile {
		return p.closeFile()
	}
	return nil
}

func (p *partWriter[T]) openFile() error {
	p.tmp = filepath.Join(p.dir, fmt.Sprintf("part-%05d.parquet.tmp", p.files))
	f, err := os.Create(p.tmp)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	p.f = f
	// A fresh writer per file: GenericWriter.Reset in parquet-go v0.32.0
	// blanks path_in_schema in later files (parquet-go/parquet-go#602).
	p.pq = parquet.NewGenericWriter[T](f, p.opts...)
	return nil
}

func (p *partWriter[T]) closeFile() error {
	if err := p.pq.Close(); err != nil {
		return fmt.Errorf("generate: close %s: %w", p.tmp, err)
	}
	if err := p.f.Close(); err != nil {
		return fmt.Errorf("generate: close %s: %w", p.tmp, err)
	}
	p.f = nil
	if err := os.Rename(p.tmp, strings.TrimSuffix(p.tmp, ".tmp")); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	p.files++
	p.inFile = 0
	return nil
}

func (p *partWriter[T]) close(ctx context.Context) error {
	if len(p.buf) > 0 {
		if err := p.flush(ctx); err != nil {
			return err
		}
	}
	if p.f != nil {
		return p.closeFile()
	}
	return nil
}

// abort drops the file being written; finished part files stay.
func (p *partWriter[T]) abort() {
	if p.f != nil {
		p.f.Close()
		os.Remove(p.tmp)
		p.f = nil
	}
}

// profileRow is one row of profiles/part-00000.parquet. Empty optional
// strings are written as null.
type profileRow struct {
	UserID           string `parquet:"user_id"`
	Email            string `parquet:"email,optional"`
	MembershipStatus string `parquet:"membership_status,optional,dict"`
	IncomeBracket    string `parquet:"income_bracket,optional,dict"`
}

// writeProfiles writes one row per identified user into a single file.
func writeProfiles(ctx context.Context, w *genWorld) error {
	dir := filepath.Join(w.opt.Out, "profiles")
	if err := cleanDir(dir); err != nil {
		return err
	}
	var p partWriter[profileRow]
	p.reset(dir, w.opt.RowGroupEvents, math.MaxInt, []parquet.WriterOption{parquet.Compression(fastSnappy{})}, nil)
	rng := rand.New(rand.NewPCG(uint64(w.opt.Seed), 0x9f11e5))
	for u, id := range w.users {
		if err := p.add(ctx, profileOf(rng, id, w.z[u])); err != nil {
			p.abort()
			return err
		}
	}
	if err := p.close(ctx); err != nil {
		p.abort()
		return err
	}
	return nil
}

// profileOf draws a user's profile. Membership and income lean on the
// user's activity z-score so they carry a little signal.
func profileOf(rng *rand.Rand, id string, z float32) profileRow {
	r := profileRow{UserID: id}
	if rng.Float64() >= 0.08 {
		r.Email = "u" + id[1:] + "@example.com"
	}
	if rng.Float64() >= 0.12 {
		r.MembershipStatus = bracket(float64(z)+0.8*rng.NormFloat64(),
			[]float64{0.3, 1.1, 1.9}, []string{"none", "bronze", "silver", "gold"})
	}
	if rng.Float64() >= 0.2 {
		r.IncomeBracket = bracket(0.4*float64(z)+rng.NormFloat64(),
			[]float64{-0.8, 0.1, 1.0}, []string{"<25k", "25-50k", "50-100k", "100k+"})
	}
	return r
}

// bracket returns names[i] for the first upper bound x falls under, or the
// last name.
func bracket(x float64, upper []float64, names []string) string {
	for i, u := range upper {
		if x <= u {
			return names[i]
		}
	}
	return names[len(upper)]
}

// fastSnappy is the SNAPPY codec with klauspost's fast encoder. parquet-go's
// own snappy codec uses the "better" encoder, which costs ~100x more time on
// incompressible data such as message ids while saving ~5 %.
type fastSnappy struct{}

func (fastSnappy) String() string                            { return "SNAPPY" }
func (fastSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }

func (fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst[:cap(dst)], src), nil
}

func (fastSnappy) Decode(dst, src []byte) ([]byte, error) {
	return s2.Decode(dst[:cap(dst)], src)
}
