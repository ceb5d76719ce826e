package model

import (
	"fmt"
	"runtime"
)

// Options configures Similar. The zero value computes the top 50 count
// neighbours of every item using every core.
type Options struct {
	Metric     Metric
	TopN       int     // neighbours kept per item; default 50 when 0
	MinSupport int     // minimum co-occurrence count c_ij; default 1 (0 for EASE)
	MinScore   float64 // drop neighbours scoring below
	Workers    int     // default runtime.GOMAXPROCS(0)

	// Weighted makes Cosine (and EASE) use the summed event weights in
	// Matrix.UserVal instead of 0/1 presence. Other metrics ignore it.
	Weighted bool

	// K1 and B are BM25's saturation and length normalisation; nil means
	// DefaultK1 and DefaultB. They are pointers because 0 is meaningful
	// (B 0: no length normalisation; K1 0: binary term weights).
	K1, B *float64

	Lambda float64 // EASE L2 regularisation; default 500 when 0

	// Alpha and Beta are rp3beta's exponents: the walk's transition
	// probabilities are raised to Alpha (default 1) and the score of j is
	// divided by c_j^Beta (default 0.5). Nil means the default; both may be
	// 0 (Beta 0 is P3alpha, without the popularity penalty).
	Alpha, Beta *float64

	MaxDenseItems int // EASE refuses matrices with more items; default 20000

	// MaxUserItems > 0 down-samples users with more distinct items to a
	// random subset of that size before anything is counted (see
	// Matrix.Downsample); Seed makes the choice reproducible.
	MaxUserItems int
	Seed         int64

	// Rows, when set, names the items whose lists are computed (by their
	// index in the Matrix); the others get empty lists and cost nothing.
	// Every statistic (degrees, user counts, the down-sampling) is still
	// taken over the whole matrix, so a computed list is identical to the
	// same item's list without Rows: a sharded run computes its items
	// only (recopub run --shard). NewFit ignores it for the deep lists
	// per-user scoring reads, which need every item.
	Rows func(item int) bool

	// Progress, when set, is called as rows of items are finished, with
	// the number done so far and the total. It is called from the worker
	// goroutines, so it must be safe for concurrent use. EASE does not
	// report progress.
	Progress func(done, total int)
}

// The defaults, applied by the accessors below when a field is zero.
const (
	DefaultTopN          = 50
	DefaultK1            = 100
	DefaultB             = 0.8
	DefaultLambda        = 500
	DefaultMaxDenseItems = 20000
	DefaultAlpha         = 1.0
	DefaultBeta          = 0.5
)

func (o *Options) topN() int       { return orDefault(o.TopN, DefaultTopN) }
func (o *Options) k1() float64     { return orDefaultPtr(o.K1, DefaultK1) }
func (o *Options) b() float64      { return orDefaultPtr(o.B, DefaultB) }
func (o *Options) lambda() float64 { return orDefault(o.Lambda, DefaultLambda) }

func (o *Options) alpha() float64 { return orDefaultPtr(o.Alpha, DefaultAlpha) }
func (o *Options) beta() float64  { return orDefaultPtr(o.Beta, DefaultBeta) }

func orDefaultPtr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

func (o *Options) maxDenseItems() int { return orDefault(o.MaxDenseItems, DefaultMaxDenseItems) }

func (o *Options) workers() int { return orDefault(o.Workers, runtime.GOMAXPROCS(0)) }

// minSupport is 1 by default, so that only co-occurring items are
// neighbours. EASE can rate items that never co-occur, so its default is 0.
func (o *Options) minSupport() uint32 {
	if o.MinSupport > 0 {
		return uint32(o.MinSupport)
	}
	if o.Metric == EASE {
		return 0
	}
	return 1
}

func orDefault[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// validate reports options that no default can repair.
func (o *Options) validate() error {
	switch {
	case !o.Metric.valid():
		return fmt.Errorf("options: unknown metric %d", int(o.Metric))
	case o.TopN < 0:
		return fmt.Errorf("options: negative top-n %d", o.TopN)
	case o.MinSupport < 0:
		return fmt.Errorf("options: negative min-support %d", o.MinSupport)
	case o.Workers < 0:
		return fmt.Errorf("options: negative workers %d", o.Workers)
	case !(o.k1() >= 0) || !(o.b() >= 0 && o.b() <= 1):
		return fmt.Errorf("options: bm25 needs k1 >= 0 and 0 <= b <= 1, got k1=%g b=%g", o.k1(), o.b())
	case o.Lambda < 0:
		return fmt.Errorf("options: negative lambda %g", o.Lambda)
	case !(o.alpha() >= 0 && o.alpha() <= maxExponent) || !(o.beta() >= 0 && o.beta() <= maxExponent):
		return fmt.Errorf("options: rp3beta needs 0 <= alpha, beta <= %d, got alpha=%g beta=%g", maxExponent, o.alpha(), o.beta())
	case o.MaxDenseItems < 0:
		return fmt.Errorf("options: negative max-dense-items %d", o.MaxDenseItems)
	case o.MaxUserItems < 0:
		return fmt.Errorf("options: negative max-user-items %d", o.MaxUserItems)
	}
	return nil
}

// maxExponent bounds Alpha and Beta: a score multiplies three powers
// c^-x, and with larger exponents they underflow to zero on large counts.
const maxExponent = 20

// DenseSizeError is returned when EASE is asked for more items than
// Options.MaxDenseItems allows.
type DenseSizeError struct {
	Items    int // items in the matrix
	MaxItems int // the limit in force
}

// GramBytes is the size of the dense float64 Gram matrix EASE would build.
// The Cholesky factor needs as much again while it is being inverted.
func (e *DenseSizeError) GramBytes() float64 { return 8 * float64(e.Items) * float64(e.Items) }

func (e *DenseSizeError) Error() string {
	return fmt.Sprintf("ease: %d items need %.1f GB for the dense Gram matrix; max-dense-items is %d",
		e.Items, e.GramBytes()/1e9, e.MaxItems)
}
