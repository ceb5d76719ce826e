package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recopub/recopub/model"
)

// A mistake on the command line is answered with one line: what was not
// understood, the closest valid names and where the help is. The help
// itself (-h, --help, 'recopub help CMD') goes to stdout, flags grouped
// by what they are about, so it can be paged or grepped.

// flagGroups are the headings of a command's help, in order. A flag in no
// group is listed first, under "Flags": it is the command's own.
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Input", configSections["input"]},
	{"Model", configSections["model"]},
	{"Output", []string{"out", "out-format", "dry-run", "summary", "show", "features-target", "features-prefix", "json", "report"}},
	{"Redis", append(slices.Clone(configSections["redis"]), "redis-timeout", "live-prefix", "no-live", "version-ttl", "cache-lists")},
	{"Sharding", configSections["job"]},
	{"Operations", []string{"keep", "grace", "lock-ttl", "conns", "no-restore", "verify-keys", "embedded-fallback", "force",
		"log-level", "metrics-textfile", "pushgateway", "config", "set"}},
}

// printHelp writes a command's usage and its flags, grouped.
func printHelp(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "Usage: recopub %s\n", synopsis)
	group := make(map[string]string)
	for _, g := range flagGroups {
		for _, name := range g.flags {
			if _, ok := group[name]; !ok {
				group[name] = g.title
			}
		}
	}
	byGroup := make(map[string][]*flag.Flag)
	fs.VisitAll(func(f *flag.Flag) {
		title, ok := group[f.Name]
		if !ok {
			title = "Flags"
		}
		byGroup[title] = append(byGroup[title], f)
	})
	titles := []string{"Flags"}
	for _, g := range flagGroups {
		titles = append(titles, g.title)
	}
	for _, title := range titles {
		if len(byGroup[title]) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, f := range byGroup[title] {
			printFlag(w, f)
		}
	}
}

// printFlag writes one flag as flag.PrintDefaults does, with two dashes.
func printFlag(w io.Writer, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if name != "" {
		line += " " + name
	}
	fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	switch f.DefValue {
	case "", "0", "false", "[]", "0s":
	default:
		fmt.Fprintf(w, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(w)
}

// hint is the pointer to a command's help that ends every usage error.
func hint(fs *flag.FlagSet) string { return fmt.Sprintf("run '%s -h'", fs.Name()) }

// The messages of the flag package, which has no typed errors.
var (
	reUnknownFlag = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	reBadValue    = regexp.MustCompile(`(?s)^invalid (?:boolean )?value (".*") for (?:flag )?-+([^:\s]+): (.*)$`)
	reNeedsArg    = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
)

// flagChoices lists the valid values of flags that take one of a few
// names, for "did you mean" on a misspelled value.
var flagChoices = map[string]func() []string{
	"metric": func() []string {
		var names []string
		for _, m := range model.Metrics() {
			names = append(names, m.String())
		}
		return names
	},
	"split": func() []string {
		var names []string
		for i := model.SplitMode(0); ; i++ {
			if m, err := model.ParseSplitMode(i.String()); err != nil || m != i {
				return names
			}
			names = append(names, i.String())
		}
	},
	"features-target": func() []string { return slices.Clone(featuresTargetNames) },
	"out-format":      func() []string { return []string{"parquet", "csv"} },
	"log-level":       func() []string { return []string{"debug", "info", "warn", "error"} },
}

// flagError turns an error of fs.Parse into one line naming the flag or
// value, the closest valid names and the command's help.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if m := reUnknownFlag.FindStringSubmatch(msg); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		return usagef("unknown flag --%s%s; %s", m[1], didYouMeanFlag(m[1], names), hint(fs))
	}
	if m := reNeedsArg.FindStringSubmatch(msg); m != nil {
		return usagef("--%s needs a value; %s", m[1], hint(fs))
	}
	if m := reBadValue.FindStringSubmatch(msg); m != nil {
		value, uerr := strconv.Unquote(m[1])
		if uerr != nil {
			value = m[1]
		}
		name := m[2]
		why := expected(fs.Lookup(name), errors.New(m[3]))
		if choices, ok := flagChoices[name]; ok {
			why += didYouMean(value, choices())
		}
		return usagef("--%s %q: %s; %s", name, value, why, hint(fs))
	}
	return usagef("%s; %s", strings.ReplaceAll(msg, "\n", "; "), hint(fs))
}

// didYouMeanFlag is didYouMean for flag names: `; did you mean --item-col?`.
func didYouMeanFlag(name string, have []string) string {
	s := suggest(name, have)
	if len(s) == 0 {
		return ""
	}
	for i := range s {
		s[i] = "--" + s[i]
	}
	return "; did you mean " + strings.Join(s, " or ") + "?"
}

// expected says what a flag wants when a value was refused: the type for
// the flag package's own values (whose errors say only "parse error"),
// else the error of the flag's Set.
func expected(f *flag.Flag, err error) string {
	if f == nil {
		return err.Error()
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return err.Error()
	}
	switch g.Get().(type) {
	case bool:
		return "want true or false"
	case int, int64, uint, uint64:
		return "want an integer"
	case float64:
		return "want a number"
	case time.Duration:
		return "want a duration such as 90s, 15m or 2h"
	}
	return err.Error()
}

// badValue is a flag value refused after parsing: one line naming the
// flag and value, why, the closest valid names and the command's help.
func badValue(cmd, name, value string, err error) error {
	var dym string
	if choices, ok := flagChoices[name]; ok {
		dym = didYouMean(value, choices())
	}
	return usagef("--%s %q: %v%s; run 'recopub %s -h'", name, value, err, dym, cmd)
}
