package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/recopub/recopub/features"
)

// Flags that name events or columns of the data are checked against what
// the data holds once it is loaded, before anything is computed or
// written: a name that matches no row fails the run (exit 4), naming the
// flag, the value and the closest names there are, because a typo would
// otherwise publish a different model and exit 0. A selection that keeps
// less than half of the rows is logged as a warning.

// selectionError is a flag value that matches nothing in the data.
func selectionError(flagName, value, problem, hint string) error {
	return rejectedError{fmt.Errorf("%s %q: %s%s", flagName, value, problem, hint)}
}

// noteExplicit records which flags were given (on the command line, in a
// config file or the environment) rather than left at their defaults.
func (f *ingestFlags) noteExplicit(fs *flag.FlagSet) {
	f.explicit = make(map[string]bool)
	fs.Visit(func(fl *flag.Flag) { f.explicit[fl.Name] = true })
}

// columnError names the flag of an events column the files lack.
func (f *ingestFlags) columnError(err error) error {
	var mc *features.MissingColumnError
	if !errors.As(err, &mc) {
		return err
	}
	for _, c := range []struct{ flag, value, def string }{
		{"--item-col", f.opt.ItemCol, features.DefaultItemCol}, {"--user-col", f.opt.UserCol, features.DefaultUserCol},
		{"--event-col", f.opt.EventCol, features.DefaultEventCol}, {"--time-col", f.opt.TimeCol, features.DefaultTimeCol},
		{"--weight-col", f.opt.WeightCol, ""}, {"--quantity-col", f.opt.QuantityCol, ""},
	} {
		if c.value == mc.Column || (c.value == "" && c.def == mc.Column) {
			return selectionError(c.flag, mc.Column, "no such column"+didYouMean(mc.Column, mc.Have), " ("+err.Error()+")")
		}
	}
	return err
}

// checkOptionalColumns fails when --anon-col or --message-id-col was
// given and names a column no events file has: the fallback or the
// deduplication would silently be off.
func (f *ingestFlags) checkOptionalColumns(ds *features.Dataset) error {
	var errs []error
	for _, c := range []struct{ flag, value string }{{"anon-col", f.opt.AnonCol}, {"message-id-col", f.opt.MessageIDCol}} {
		if n, ok := ds.OptionalColumnFiles[c.value]; ok && n == 0 && f.explicit[c.flag] {
			errs = append(errs, selectionError("--"+c.flag, c.value, fmt.Sprintf("none of the %d events files has this column", len(ds.Files)), ""))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rejectedError{err}
	}
	return nil
}

// checkEvents checks --event-weights and --purchase-event against the
// events of the data and warns when --event-weights drops most rows.
func (f *ingestFlags) checkEvents(ds *features.Dataset, log *slog.Logger) error {
	counts := ds.EventCounts()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(f.opt.EventWeights)) {
		if ds.EventCode(name) < 0 {
			errs = append(errs, selectionError("--event-weights", name, "no kept row has this event", eventHint(name, counts)))
		}
	}
	if err := f.checkPurchase(ds, counts, f.explicit["purchase-event"], log); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return rejectedError{err}
	}
	warnDrops(ds, counts, log)
	return nil
}

// checkPurchase checks the purchase event: an error when it was named
// (required), a warning when it is only the default.
func (f *ingestFlags) checkPurchase(ds *features.Dataset, counts map[string]int64, required bool, log *slog.Logger) error {
	name := f.purchaseEvent
	if name == "" {
		name = features.NoEventName
	}
	if ds.EventCode(name) >= 0 {
		return nil
	}
	problem, hint := "no kept row has this event", eventHint(name, counts)
	if n := ds.Unselected[name]; n > 0 {
		problem = fmt.Sprintf("its %d rows are dropped because --event-weights does not name it", n)
		hint = fmt.Sprintf("; add %q to --event-weights", name+"=1")
	}
	if required {
		return selectionError("--purchase-event", name, problem, hint)
	}
	log.Warn(fmt.Sprintf("--purchase-event %q (the default): %s%s; recent_five_purchases will be empty", name, problem, hint))
	return nil
}

// eventHint suggests event names close to name and lists the data's.
func eventHint(name string, counts map[string]int64) string {
	names := slices.Sorted(maps.Keys(counts))
	return didYouMean(name, names) + " (events in the data: " + topCounts(counts, 10) + ")"
}

// topCounts lists the n largest counts as "name=count, ...", largest
// first.
func topCounts(counts map[string]int64, n int) string {
	names := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(names) == 0 {
		return "none"
	}
	parts := make([]string, 0, n+1)
	for _, k := range names[:min(n, len(names))] {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	if len(names) > n {
		parts = append(parts, fmt.Sprintf("and %d more", len(names)-n))
	}
	return strings.Join(parts, ", ")
}

// warnDrops logs a warning when a selection (--event-weights, or the time
// window) drops more than half of the rows read.
func warnDrops(ds *features.Dataset, counts map[string]int64, log *slog.Logger) {
	read := ds.Stats.Read
	if n := ds.Stats.Dropped[features.DropUnknownEvent]; 2*n > read {
		log.Warn("--event-weights drops most rows", "dropped", n, "read", read, "top_dropped", topCounts(ds.Unselected, 5),
			"events_in_data", topCounts(counts, 10))
	}
	if n := ds.Stats.Dropped[features.DropOutOfWindow]; 2*n > read {
		log.Warn("the time window (--since, --until, --days) drops most rows", "dropped", n, "read", read)
	}
}

// profileError names the flag of a profile column the files lack.
func (f *ingestFlags) profileError(err error) error {
	var mc *features.MissingColumnError
	if !errors.As(err, &mc) {
		return err
	}
	name := "--profile-cols"
	if mc.Kind == "column" {
		name = "--profile-id-col"
	}
	return selectionError(name, mc.Column, err.Error(), didYouMean(mc.Column, mc.Have))
}

// checkProfileCols fails when a --profile-cols column has no value in any
// profile.
func (f *ingestFlags) checkProfileCols(p *features.Profiles) error {
	var errs []error
	for _, col := range splitList(f.profileCols) {
		if p.TraitRows(col) == 0 {
			errs = append(errs, selectionError("--profile-cols", col, fmt.Sprintf("no profile among %d has a value in this column", p.Len()), ""))
		}
	}
	return errors.Join(errs...)
}

// checkSelections checks the model's selections, --cross-event and
// --segment-cols, against the loaded data.
func (f *modelFlags) checkSelections(ds *features.Dataset, profiles *features.Profiles, in *ingestFlags, log *slog.Logger) error {
	var errs []error
	counts := ds.EventCounts()
	for _, ev := range f.crossEvents {
		if ds.EventCode(ev) >= 0 {
			continue
		}
		problem, hint := "no kept row has this event", eventHint(ev, counts)
		if n := ds.Unselected[ev]; n > 0 {
			problem = fmt.Sprintf("its %d rows are dropped because --event-weights does not name it", n)
			hint = fmt.Sprintf("; add %q to --event-weights", ev+"=1")
		}
		errs = append(errs, selectionError("--cross-event", ev, problem, hint))
	}
	if len(f.crossEvents) > 0 { // the lists end in purchases
		errs = append(errs, in.checkPurchase(ds, counts, true, log))
	}
	errs = append(errs, f.checkSegments(profiles, in.profiles))
	if err := errors.Join(errs...); err != nil {
		return rejectedError{err}
	}
	return nil
}

func (f *modelFlags) checkSegments(p *features.Profiles, paths []string) error {
	cols := splitList(f.segmentCols)
	if len(cols) == 0 {
		return nil
	}
	if len(paths) == 0 {
		return usagef("--segment-cols needs --profiles: segments are profile columns")
	}
	var errs []error
	for _, col := range cols {
		switch {
		case !slices.Contains(p.Columns, col):
			errs = append(errs, selectionError("--segment-cols", col, "no such profile column (or not among --profile-cols)", didYouMean(col, p.Columns)+
				" (profile columns: "+strings.Join(p.Columns, ", ")+")"))
		case p.TraitRows(col) == 0:
			errs = append(errs, selectionError("--segment-cols", col, fmt.Sprintf("no profile among %d has a value in this column", p.Len()), ""))
		}
	}
	return errors.Join(errs...)
}
