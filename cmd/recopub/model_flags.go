package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
)

// modelFlags are the similarity model's flags, shared by run and eval.
type modelFlags struct {
	opt          model.Options
	halfLifeDays float64
	alpha, beta  float64 // rp3beta's; opt.Alpha and opt.Beta point here after validate
	k1, b        float64 // bm25's; opt.K1 and opt.B point here after validate
	crossEvents  stringList
	segmentCols  string

	// From the ingestion flags (useIngest): the reference time of the
	// decay and the event cross-occurrence lists end in.
	now           time.Time
	purchaseEvent string

	// userDepth > 0 makes compute fit the model per-user lists are scored
	// from too (model.NewFit), left in users.
	userDepth int

	// Left by compute for families; matrix only with userDepth.
	matrix *model.Matrix
	cross  []crossResult
	users  model.UserScorer
}

// crossResult is the cross-occurrence lists of one --cross-event.
type crossResult struct {
	event string
	nb    *model.Neighbors
}

// register adds run's model flags: one --metric.
func (f *modelFlags) register(fs *flag.FlagSet) {
	// A typed flag: a bad name fails when it is set, from the command line
	// or a config file, with the allowed names in the message.
	fs.TextVar(&f.opt.Metric, "metric", model.Cosine, "similarity: "+metricNames())
	f.registerCommon(fs)
}

// registerCommon adds every model flag but --metric, which eval takes as
// a list.
func (f *modelFlags) registerCommon(fs *flag.FlagSet) {
	fs.IntVar(&f.opt.TopN, "top-n", model.DefaultTopN, "neighbours kept per item (and items per popularity list)")
	fs.IntVar(&f.opt.MinSupport, "min-support", 1, "minimum number of users two items share")
	fs.Float64Var(&f.opt.MinScore, "min-score", 0, "drop neighbours scoring below this")
	fs.IntVar(&f.opt.MaxUserItems, "max-user-items", 500, "down-sample users with more distinct items (0: off)")
	fs.Int64Var(&f.opt.Seed, "seed", 42, "seed for down-sampling, evaluation splits and verification samples")
	fs.BoolVar(&f.opt.Weighted, "weighted", false, "cosine, ease and the popularity lists use summed (decayed) event weights instead of 0/1")
	fs.Float64Var(&f.halfLifeDays, "half-life-days", 0, "decay event weights by 0.5^(age/half-life), age from the newest event or --now (0: off); see --weighted")
	fs.Float64Var(&f.k1, "k1", model.DefaultK1, "bm25 saturation K1")
	fs.Float64Var(&f.b, "b", model.DefaultB, "bm25 length normalisation B, 0..1")
	fs.Float64Var(&f.opt.Lambda, "lambda", model.DefaultLambda, "ease L2 regularisation")
	fs.Float64Var(&f.alpha, "alpha", model.DefaultAlpha, "rp3beta: exponent of the walk's transition probabilities")
	fs.Float64Var(&f.beta, "beta", model.DefaultBeta, "rp3beta: popularity penalty, item j's score divided by (users of j)^beta (0: none)")
	fs.IntVar(&f.opt.MaxDenseItems, "max-dense-items", model.DefaultMaxDenseItems, "ease refuses more items than this (it needs 16·items² bytes)")
	fs.Var(&f.crossEvents, "cross-event", `also publish "did this event on X, then bought Y" lists (LLR) as family cross:<event_slug>; repeatable`)
	fs.StringVar(&f.segmentCols, "segment-cols", "", "profile columns whose values define segments with their own popularity lists (seg:<v1>|<v2>), comma-separated")
}

func (f *modelFlags) validate(workers int) error {
	f.opt.Workers = workers
	switch {
	case f.opt.TopN <= 0:
		return usagef("--top-n %d: want a positive number", f.opt.TopN)
	case f.opt.MinSupport < 0, f.opt.MaxUserItems < 0, f.opt.MaxDenseItems < 0:
		return usagef("--min-support, --max-user-items and --max-dense-items must not be negative")
	case !(f.k1 >= 0) || !(f.b >= 0 && f.b <= 1):
		return usagef("--k1 %g --b %g: want k1 >= 0 and 0 <= b <= 1", f.k1, f.b)
	case f.opt.Lambda < 0:
		return usagef("--lambda %g: want a non-negative number", f.opt.Lambda)
	case !(f.alpha >= 0 && f.alpha <= 20) || !(f.beta >= 0 && f.beta <= 20):
		return usagef("--alpha %g --beta %g: want numbers from 0 to 20", f.alpha, f.beta)
	case f.halfLifeDays < 0:
		return usagef("--half-life-days %g: want a positive number of days (0: no decay)", f.halfLifeDays)
	}
	f.opt.Alpha, f.opt.Beta = &f.alpha, &f.beta
	f.opt.K1, f.opt.B = &f.k1, &f.b
	// --half-life-days decays the weights but does not turn --weighted on:
	// as in SAR, decay is meant for the affinity and the value-based models,
	// and a decayed similarity (cosine, EASE) forgets users whose history is
	// old. docs/model.md says what each metric does with the weights.
	return nil
}

// useIngest takes what the model needs from the ingestion flags: --now,
// the reference of the decay, and --purchase-event, the event the
// cross-occurrence lists end in.
func (f *modelFlags) useIngest(in *ingestFlags) {
	f.now, f.purchaseEvent = in.opt.Now, in.purchaseEvent
}

func (f *modelFlags) halfLife() time.Duration {
	return time.Duration(f.halfLifeDays * 24 * float64(time.Hour))
}

// decay applies --half-life-days to the per-event weights (nil: 1 each).
// The reference time is --now, or else the newest event, as in SAR.
func (f *modelFlags) decay(weights []float32, times []uint32) []float32 {
	if f.halfLifeDays <= 0 {
		return weights
	}
	now := f.now
	if now.IsZero() {
		now = model.Newest(times)
	}
	return model.Decay(weights, times, now, f.halfLife())
}

// compute builds the user x item matrix, gives it to popular (the
// "popular" stage), then computes the neighbour lists and the
// cross-occurrence lists of --cross-event. It keeps the matrix only with
// userDepth, for the per-user lists: otherwise the similarity kernel
// drops it as soon as it has its own relabelled copy.
func (f *modelFlags) compute(ctx context.Context, ds *features.Dataset, weights []float32, log *slog.Logger, clock *stageClock, popular func(*model.Matrix)) (*model.Neighbors, error) {
	mat := model.NewMatrix(len(ds.Users), len(ds.Items), ds.User, ds.Item, f.decay(weights, ds.Time))
	clock.end("model")
	popular(mat)
	clock.end("popular")
	if f.userDepth > 0 {
		f.matrix = mat
	}
	nb, err := f.fit(ctx, mat)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	for _, ev := range f.crossEvents {
		cross, err := f.crossOccurrence(ctx, ds, ev)
		if err != nil {
			return nil, err
		}
		f.cross = append(f.cross, crossResult{event: ev, nb: cross})
	}
	log.Info("model", "metric", f.opt.Metric.String(), "items_with_neighbours", listsWithNeighbours(nb),
		"neighbours", len(nb.Item), "cross_events", len(f.cross), "seconds", clock.end("model"))
	return nb, nil
}

// fit computes the neighbour lists, in one pass with the per-user model
// when userDepth is set.
func (f *modelFlags) fit(ctx context.Context, mat *model.Matrix) (*model.Neighbors, error) {
	if f.userDepth <= 0 {
		return model.Similar(ctx, mat, f.opt)
	}
	fit, err := model.NewFit(ctx, mat, f.opt, f.userDepth)
	if err != nil {
		return nil, err
	}
	f.users = fit.Users
	return fit.Lists, nil
}

// crossOccurrence computes the LLR lists from event ev to the purchase
// event.
func (f *modelFlags) crossOccurrence(ctx context.Context, ds *features.Dataset, ev string) (*model.Neighbors, error) {
	purchase := f.purchaseEvent
	if purchase == "" {
		purchase = features.NoEventName
	}
	a, err := eventMatrix(ds, ev)
	if err != nil {
		return nil, fmt.Errorf("--cross-event: %w", err)
	}
	b, err := eventMatrix(ds, purchase)
	if err != nil {
		return nil, fmt.Errorf("--cross-event needs purchases: %w", err)
	}
	opt := f.opt
	opt.Metric, opt.MinScore = model.LLR, 0
	nb, err := model.CrossOccurrence(ctx, a, b, opt)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return nb, nil
}

// eventMatrix is the binary users x items matrix of one event's
// interactions.
func eventMatrix(ds *features.Dataset, name string) (*model.Matrix, error) {
	code := ds.EventCode(name)
	if code < 0 {
		return nil, fmt.Errorf("event %q does not occur in the kept events (they are: %s)", name, strings.Join(ds.Events, ", "))
	}
	var users, items []uint32
	for k, e := range ds.Event {
		if int(e) == code {
			users, items = append(users, ds.User[k]), append(items, ds.Item[k])
		}
	}
	return model.NewMatrix(len(ds.Users), len(ds.Items), users, items, nil), nil
}

func (f *modelFlags) parameters(p map[string]any) {
	p["metric"], p["top_n"], p["min_support"] = f.opt.Metric.String(), f.opt.TopN, f.opt.MinSupport
	p["min_score"], p["max_user_items"], p["seed"] = f.opt.MinScore, f.opt.MaxUserItems, f.opt.Seed
	p["weighted"], p["half_life_days"] = f.opt.Weighted, f.halfLifeDays
	switch f.opt.Metric {
	case model.BM25:
		p["k1"], p["b"] = f.k1, f.b
	case model.EASE:
		p["lambda"], p["max_dense_items"] = f.opt.Lambda, f.opt.MaxDenseItems
	case model.RP3Beta:
		p["alpha"], p["beta"] = f.alpha, f.beta
	}
	if len(f.crossEvents) > 0 {
		p["cross_events"] = []string(f.crossEvents)
	}
	if f.segmentCols != "" {
		p["segment_cols"] = splitList(f.segmentCols)
	}
}

func listsWithNeighbours(nb *model.Neighbors) int {
	n := 0
	for i := range nb.NumItems() {
		if nb.Ptr[i+1] > nb.Ptr[i] {
			n++
		}
	}
	return n
}

// metricNames lists the --metric values for help texts.
func metricNames() string {
	var names []string
	for _, m := range model.Metrics() {
		names = append(names, m.String())
	}
	return strings.Join(names, ", ")
}
