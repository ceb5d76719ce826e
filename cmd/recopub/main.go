// Command recopub turns event and profile exports into precomputed
// recommendation data in Redis: item-item neighbour lists and user feature
// hashes, published as versions that go live in one atomic flip.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Exit codes, documented in README.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitLocked   = 3
	exitRejected = 4
)

func init() {
	// go-redis logs dial failures itself; recopub reports them as errors.
	redis.SetLogger(quietLogger{})
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := NewMain().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Main holds the command's streams so tests can run it in-process.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Environ lists the environment, for the unknown RECOPUB_ variables
	// config refuses; nil lists nothing.
	Environ func() []string
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ}
}

// command is one subcommand.
type command interface {
	Run(ctx context.Context, args []string) error
}

// usageError marks bad flags or arguments: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// rejectedError marks input that was read but refused: exit code 4.
type rejectedError struct{ err error }

func (e rejectedError) Error() string { return e.err.Error() }
func (e rejectedError) Unwrap() error { return e.err }

const usage = `recopub turns event and profile exports into recommendation data in Redis.

Usage:
  recopub <command> [flags]

Commands:
  gen        write a synthetic RudderStack-shaped export
  run        load exports, compute neighbours and features, publish a version
  publish    publish a model directory written by 'run --dry-run --out DIR'
  eval       measure offline how well the lists would recommend (precision, recall, nDCG, MAP)
  import-csv convert a public CSV dataset (Online Retail, Groceries, ratings) to a Parquet export
  similar    print the live neighbours of an item
  recommend  print a user's live recommendations
  serve      serve the live version over HTTP (similar, recommend, versions, metrics)
  user       print the live feature hash of a user
  versions   list published versions
  rollback   make an earlier version live again
  flip       make a sharded version live once all its shards are complete (--version V --shards N)
  gc         remove versions no longer retained
  config     print the merged configuration of a run (--print)
  report     compare model directories side by side in one HTML page (--compare DIR_A DIR_B ...)
  version    print the module version, VCS revision and Go version

Run 'recopub <command> -h' (or 'recopub help <command>') for a command's flags.
`

// Run runs the command named by args[0] and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help":
		fmt.Fprint(m.Stdout, usage)
		return exitOK
	case "help":
		if len(args) == 1 {
			fmt.Fprint(m.Stdout, usage)
			return exitOK
		}
		// recopub help CMD is recopub CMD -h.
		args = []string{args[1], "-h"}
	case "version", "--version", "-version":
		return m.report("version", nil, m.version(args[1:]))
	}
	rest, stopProfile, err := startProfiles(args[1:])
	if err != nil {
		return m.report(args[0], nil, err)
	}
	defer stopProfile()
	args = append(args[:1:1], rest...)
	var cmd command
	switch args[0] {
	case "gen":
		cmd = &genCommand{m: m}
	case "run":
		cmd = &runCommand{m: m}
	case "publish":
		cmd = &publishCommand{m: m}
	case "recommend":
		cmd = &recommendCommand{m: m}
	case "serve":
		cmd = &serveCommand{m: m}
	case "similar":
		cmd = &similarCommand{m: m}
	case "user":
		cmd = &userCommand{m: m}
	case "versions":
		cmd = &versionsCommand{m: m}
	case "rollback":
		cmd = &rollbackCommand{m: m}
	case "flip":
		cmd = &flipCommand{m: m}
	case "eval":
		cmd = &evalCommand{m: m}
	case "import-csv":
		cmd = &importCSVCommand{m: m}
	case "gc":
		cmd = &gcCommand{m: m}
	case "config":
		cmd = &configCommand{m: m}
	case "report":
		cmd = &reportCommand{m: m}
	default:
		fmt.Fprintf(m.Stderr, "recopub: unknown command %q%s; run 'recopub -h' for the commands\n", args[0], didYouMean(args[0], commandNames()))
		return exitUsage
	}
	return m.report(args[0], cmd, cmd.Run(ctx, args[1:]))
}

// report prints a command's error once, prefixed with the command's name,
// and returns its exit code. No command prints its own errors; a command
// whose log carries its failure (failureLogger) writes it there instead.
func (m *Main) report(name string, cmd command, err error) int {
	code := m.exitCodeOf(err)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return code
	}
	if fl, ok := cmd.(failureLogger); ok && fl.logFailure(err) {
		return code
	}
	fmt.Fprintf(m.Stderr, "recopub %s: %v\n", name, err)
	return code
}

// failureLogger is a command whose structured log reports its failure:
// run and publish end a failed run with one log line naming the error and
// the live version (README "Logs, exit codes, metrics"; the runbook in
// docs/operations.md reads that line). Main.report hands such a command
// the error instead of printing it, so it appears once. logFailure
// reports false when the command got no further than its flags; the
// error is then printed as any other.
type failureLogger interface {
	logFailure(err error) bool
}

// exitCodeOf maps an error to the documented exit codes.
func (m *Main) exitCodeOf(err error) int {
	var ue usageError
	var re rejectedError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue), errors.Is(err, errEvictionPolicy):
		return exitUsage
	case errors.As(err, &re):
		return exitRejected
	case errors.Is(err, errLocked):
		return exitLocked
	}
	return exitFailed
}

// newLogger logs to stderr: text for a person on a terminal, JSON
// otherwise (for log collectors of schedulers); see logs.go.
func (m *Main) newLogger(level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error%s", level, didYouMean(level, flagChoices["log-level"]()))
	}
	if isTerminal(m.Stderr) {
		return slog.New(newHumanHandler(m.Stderr, lv)), nil
	}
	return slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: lv, ReplaceAttr: replaceAttr})), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newFlagSet returns a FlagSet that returns errors instead of exiting or
// printing them. Its Usage is the command's help, on stdout: parse prints
// it for -h and --help; a bad flag is one line (flagError).
func (m *Main) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("recopub "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printHelp(m.Stdout, fs, synopsis) }
	return fs
}

// parse parses flags, allowing them after positional arguments too
// ("recopub similar P1 -n 5"), and returns the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package calls Usage on every error as well as for -h: only
	// -h prints it.
	help := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = help }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help()
				return nil, err
			}
			return nil, flagError(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// commandNames are the commands the usage lists, for "did you mean".
func commandNames() []string {
	names := []string{"help", "version"}
	_, list, _ := strings.Cut(usage, "Commands:\n")
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		names = append(names, strings.Fields(line)[0])
	}
	return names
}

// stringList is a repeatable string flag that also splits on commas.
type stringList []string

func (s *stringList) String() string { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
