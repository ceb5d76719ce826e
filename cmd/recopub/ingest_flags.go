package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/recopub/recopub/features"
)

// ingestFlags are the input flags shared by every command that reads
// exports (run, eval).
type ingestFlags struct {
	events, profiles stringList
	opt              features.Options
	eventWeights     string
	purchaseEvent    string
	explicit         map[string]bool // flags given rather than defaulted (selection.go)
	profileID        string
	profileCols      string
	maxBadFraction   float64
}

func (f *ingestFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.events, "events", "event export: a Parquet file, a directory (recursive) or a glob; repeatable")
	fs.Var(&f.profiles, "profiles", "profile export (Parquet file, directory or glob); repeatable")
	fs.StringVar(&f.opt.UserCol, "user-col", features.DefaultUserCol, "user id column")
	fs.StringVar(&f.opt.AnonCol, "anon-col", features.DefaultAnonCol, `fallback id column when the user id is null or empty ("-" for none)`)
	fs.StringVar(&f.opt.ItemCol, "item-col", features.DefaultItemCol,
		`item id column; "products.product_id" reaches into a struct, explodes a list of structs (one event per element) or reads JSON text`)
	fs.StringVar(&f.opt.EventCol, "event-col", features.DefaultEventCol, `event name column ("-" when every row is a purchase)`)
	fs.StringVar(&f.opt.TimeCol, "time-col", features.DefaultTimeCol, "event time column (TIMESTAMP, DATE, INT64 epoch ms or ISO-8601 string)")
	fs.StringVar(&f.opt.MessageIDCol, "message-id-col", features.DefaultMessageIDCol, `rows repeating a message id are counted once ("-": keep all)`)
	fs.StringVar(&f.opt.WeightCol, "weight-col", "", "numeric column weighting each event (rating, quantity)")
	fs.StringVar(&f.opt.QuantityCol, "quantity-col", "", `numeric column weighting each item, e.g. "products.quantity"`)
	fs.StringVar(&f.eventWeights, "event-weights", "", `keep only these events, with weights: "Order Completed=5,Product Added=3,Product Viewed=1"`)
	fs.StringVar(&f.purchaseEvent, "purchase-event", features.DefaultPurchaseEvent, "event whose items are purchases (recent_five_purchases)")
	fs.Var(timeValue{&f.opt.Since}, "since", "keep events at or after this time (RFC 3339 or YYYY-MM-DD)")
	fs.Var(timeValue{&f.opt.Until}, "until", "keep events before this time (RFC 3339 or YYYY-MM-DD)")
	fs.IntVar(&f.opt.Days, "days", 0, "keep the last N days of events, counted back from --now or else from the newest event")
	fs.Var(timeValue{&f.opt.Now}, "now", "reference time for --max-future and --days, RFC 3339 (default: the current time; --days: the newest event)")
	fs.DurationVar(&f.opt.MaxFuture, "max-future", features.DefaultMaxFuture, "drop events later than now plus this")
	fs.Float64Var(&f.maxBadFraction, "max-bad-fraction", 0.01, "fail without publishing when more than this fraction of rows is unusable")
	fs.StringVar(&f.profileID, "profile-id-col", features.DefaultProfileIDCol, "user id column of the profile table")
	fs.StringVar(&f.profileCols, "profile-cols", "", "profile columns to publish, comma-separated (default: all but the id)")
	fs.IntVar(&f.opt.Workers, "workers", 0, "parallel workers (default: all cores)")
}

// timeValue is a time flag: RFC 3339 or a date. It prints as RFC 3339,
// or "" when unset, so that config --print can be read back.
type timeValue struct{ t *time.Time }

func (v timeValue) String() string {
	if v.t == nil || v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339Nano)
}

func (v timeValue) Set(s string) error {
	t, err := features.ParseTime(s)
	if err != nil {
		return errors.New("want RFC 3339 such as 2026-11-25T02:00:00Z or a date such as 2026-11-25")
	}
	*v.t = t
	return nil
}

func (f *ingestFlags) validate() error {
	if len(f.events) == 0 {
		return usagef("--events is required")
	}
	var err error
	if f.opt.EventWeights, err = features.ParseEventWeights(f.eventWeights); err != nil {
		return usagef("--event-weights: %v", err)
	}
	if f.maxBadFraction < 0 || f.maxBadFraction > 1 {
		return usagef("--max-bad-fraction %g: want a fraction between 0 and 1", f.maxBadFraction)
	}
	if f.opt.Days < 0 {
		return usagef("--days %d: want a positive number of days", f.opt.Days)
	}
	if !f.opt.Since.IsZero() && !f.opt.Until.IsZero() && !f.opt.Since.Before(f.opt.Until) {
		return usagef("--since %s is not before --until %s", f.opt.Since.Format(time.RFC3339), f.opt.Until.Format(time.RFC3339))
	}
	f.opt.Events = f.events
	return nil
}

// load reads the events (and profiles, when given), logs one line per
// stage and ends the clock's ingest and profiles stages. Input that cannot
// be used is a rejectedError.
func (f *ingestFlags) load(ctx context.Context, log *slog.Logger, clock *stageClock) (*features.Dataset, *features.Profiles, error) {
	ds, err := features.Load(ctx, f.opt)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, err
		}
		return nil, nil, rejectedError{f.columnError(foldFileErrors(fmt.Errorf("ingest: %w", err)))}
	}
	log.Info("ingest", "files", ds.Stats.Files, "files_pruned", ds.Stats.Pruned, "events_read", ds.Stats.Read, "events_kept", ds.Stats.Kept,
		"dropped", ds.Stats.Dropped, "users", len(ds.Users), "items", len(ds.Items),
		"id_dictionaries_mib", float64(ds.DictBytes)/(1<<20), "seconds", clock.end("ingest"))
	if err := f.checkOptionalColumns(ds); err != nil {
		return nil, nil, err
	}
	if err := f.checkEvents(ds, log); err != nil {
		return nil, nil, err
	}
	if err := f.checkBad(ds); err != nil {
		return nil, nil, err
	}
	if len(f.profiles) == 0 {
		return ds, nil, nil
	}
	profiles, err := features.LoadProfiles(ctx, features.ProfileOptions{Paths: f.profiles, IDCol: f.profileID, Columns: splitList(f.profileCols)})
	if err != nil {
		return nil, nil, rejectedError{f.profileError(foldFileErrors(fmt.Errorf("profiles: %w", err)))}
	}
	if err := f.checkProfileCols(profiles); err != nil {
		return nil, nil, rejectedError{err}
	}
	log.Info("profiles", "profiles", profiles.Len(), "columns", profiles.Columns, "seconds", clock.end("profiles"))
	return ds, profiles, nil
}

// checkBad fails the run when too many rows were unusable. Rows dropped
// by choice (events --event-weights does not name, times outside the
// window) or as duplicates are not bad data and do not count.
func (f *ingestFlags) checkBad(ds *features.Dataset) error {
	bad := ds.Stats.Unusable()
	if ds.Stats.Read == 0 {
		return rejectedError{errors.New("ingest: the event files hold no rows")}
	}
	if ds.Stats.Kept == 0 {
		return rejectedError{fmt.Errorf("ingest: no usable events among %d rows (dropped: %s)", ds.Stats.Read, droppedText(ds.Stats.Dropped))}
	}
	frac := float64(bad) / float64(ds.Stats.Read)
	if frac > f.maxBadFraction {
		return rejectedError{fmt.Errorf("ingest: %d of %d rows (%.2f%%) are unusable, above --max-bad-fraction %g; dropped by reason: %s",
			bad, ds.Stats.Read, 100*frac, f.maxBadFraction, droppedText(ds.Stats.Dropped))}
	}
	return nil
}

// weights returns the weight of each event for model.NewMatrix: its
// --event-weights weight times its --weight-col / --quantity-col value
// (ds.Weight), or nil when neither applies (every event weighs 1).
func (f *ingestFlags) weights(ds *features.Dataset) []float32 {
	if len(f.opt.EventWeights) == 0 {
		return ds.Weight
	}
	byCode := make([]float32, len(ds.Events))
	for i, e := range ds.Events {
		byCode[i] = f.opt.EventWeights[e]
	}
	w := make([]float32, ds.Len())
	for i, e := range ds.Event {
		w[i] = byCode[e]
	}
	if ds.Weight != nil {
		for i, c := range ds.Weight {
			w[i] *= c
		}
	}
	return w
}

func (f *ingestFlags) parameters(p map[string]any) {
	p["item_col"], p["user_col"], p["anon_col"] = f.opt.ItemCol, f.opt.UserCol, f.opt.AnonCol
	p["event_col"], p["time_col"], p["event_weights"] = f.opt.EventCol, f.opt.TimeCol, f.eventWeights
	p["message_id_col"], p["weight_col"], p["quantity_col"] = f.opt.MessageIDCol, f.opt.WeightCol, f.opt.QuantityCol
	p["purchase_event"] = f.purchaseEvent
	if !f.opt.Since.IsZero() {
		p["since"] = f.opt.Since.Format(time.RFC3339)
	}
	if !f.opt.Until.IsZero() {
		p["until"] = f.opt.Until.Format(time.RFC3339)
	}
	if f.opt.Days > 0 {
		p["days"] = f.opt.Days
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
