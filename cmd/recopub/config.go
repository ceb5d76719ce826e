package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// configSections maps each config file section to the run flags it holds.
// A file key is "<section>.<flag with - as _>", except where configAlias
// renames it. Every flag of run belongs to exactly one section (a test
// checks it), so the file can say anything the command line can.
var configSections = map[string][]string{
	"input": {"events", "profiles", "user-col", "anon-col", "item-col", "event-col", "time-col",
		"event-weights", "purchase-event", "now", "max-future", "max-bad-fraction",
		"profile-id-col", "profile-cols", "workers", "days", "since", "until",
		"message-id-col", "quantity-col", "weight-col", "items", "items-id-col", "items-name-col"},
	"model": {"metric", "top-n", "min-support", "min-score", "max-user-items", "seed", "weighted", "half-life-days",
		"k1", "b", "lambda", "max-dense-items", "alpha", "beta", "cross-event", "segment-cols"},
	"publish":  {"keep", "grace", "lock-ttl", "conns", "no-restore", "verify-keys", "embedded-fallback", "show", "dry-run", "summary", "out", "out-format", "force"},
	"features": {"features-target", "features-prefix"},
	"redis":    {"redis", "redis-ca", "redis-password-file", "namespace", "cluster"},
	"log":      {"log-level"},
	"metrics":  {"metrics-textfile", "pushgateway"},
	"job":      {"shard", "version", "flip-when-complete"},
}

// configAlias renames flags whose file key reads better otherwise.
var configAlias = map[string]string{
	"redis":            "redis.url",
	"redis-ca":         "redis.ca",
	"features-target":  "features.target",
	"features-prefix":  "features.prefix",
	"log-level":        "log.level",
	"metrics-textfile": "metrics.textfile",
}

// configKeys returns file key -> flag name.
func configKeys() map[string]string {
	keys := make(map[string]string)
	for section, flags := range configSections {
		for _, f := range flags {
			key := section + "." + strings.ReplaceAll(f, "-", "_")
			if a, ok := configAlias[f]; ok {
				key = a
			}
			keys[key] = f
		}
	}
	return keys
}

// configFlags are the flags that bring configuration in.
type configFlags struct {
	path string
	sets stringList
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "config", "", "YAML file with every parameter of a run (flags and environment override it)")
	fs.Var(&c.sets, "set", "override a config key: --set model.metric=llr (repeatable)")
}

// resettable is a repeatable flag that a config source replaces instead
// of appending to.
type resettable interface{ reset() }

func (s *stringList) reset() { *s = nil }

// apply merges the configuration into fs, lowest precedence first: the
// flags' defaults, the file, RECOPUB_<SECTION>_<KEY> and REDIS_URL, then
// --set and the plain flags given on the command line.
func (c *configFlags) apply(fs *flag.FlagSet, getenv func(string) string, environ func() []string) error {
	explicit := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	keys := configKeys()
	if c.path != "" {
		vals, err := readConfigFile(c.path)
		if err != nil {
			return usageError{err}
		}
		if err := setAll(fs, keys, vals, explicit, "config file "+c.path); err != nil {
			return err
		}
	}
	if err := checkEnviron(environ, keys); err != nil {
		return err
	}
	env := make(map[string][]string)
	if v := getenv("REDIS_URL"); v != "" {
		env["redis.url"] = []string{v}
	}
	for key := range keys {
		if v := getenv(envName(key)); v != "" {
			env[key] = []string{v}
		}
	}
	if err := setAll(fs, keys, env, explicit, "environment"); err != nil {
		return err
	}
	sets := make(map[string][]string)
	for _, s := range c.sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return usagef("--set %q: want key=value, such as model.metric=llr", s)
		}
		sets[strings.TrimSpace(k)] = append(sets[strings.TrimSpace(k)], v)
	}
	return setAll(fs, keys, sets, nil, "--set")
}

// envName is the environment variable of a config key:
// model.top_n is RECOPUB_MODEL_TOP_N.
func envName(key string) string {
	return "RECOPUB_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// envNotConfig are RECOPUB_ variables that are not configuration of a
// run: the notebooks' and the benchmarks' settings.
var envNotConfig = []string{shardEnv, "RECOPUB_ROOT", "RECOPUB_BENCH_", "RECOPUB_PEER_", "RECOPUB_TEST_"}

// checkEnviron refuses a RECOPUB_ variable that names no config key: a
// misspelled RECOPUB_MODEL_TOPN=3 would otherwise be ignored silently.
func checkEnviron(environ func() []string, keys map[string]string) error {
	if environ == nil {
		return nil
	}
	var names []string
	for key := range keys {
		names = append(names, envName(key))
	}
	for _, kv := range environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "RECOPUB_") || slices.Contains(names, name) ||
			slices.ContainsFunc(envNotConfig, func(p string) bool { return name == p || strings.HasSuffix(p, "_") && strings.HasPrefix(name, p) }) {
			continue
		}
		// Compared without the common RECOPUB_, which would make any two
		// names look alike.
		var short []string
		for _, n := range names {
			short = append(short, strings.TrimPrefix(n, "RECOPUB_"))
		}
		var hint string
		if s := suggest(strings.TrimPrefix(name, "RECOPUB_"), short); len(s) > 0 {
			hint = fmt.Sprintf("; did you mean %q?", "RECOPUB_"+s[0])
		}
		return usagef("environment: unknown variable %s%s (RECOPUB_<SECTION>_<KEY> of a config key; see 'recopub config --print')",
			name, hint)
	}
	return nil
}

// setAll sets each key's flag unless it was given on the command line.
// An empty value of a flag whose default is empty leaves it unset, as
// config --print writes it.
func setAll(fs *flag.FlagSet, keys map[string]string, vals map[string][]string, explicit map[string]bool, source string) error {
	for _, key := range slices.Sorted(maps.Keys(vals)) {
		name, ok := keys[key]
		if !ok {
			return usagef("%s: unknown key %q%s; %s", source, key, didYouMean(key, slices.Collect(maps.Keys(keys))), allowedKeys(keys, key))
		}
		if explicit[name] {
			continue
		}
		f := fs.Lookup(name)
		if r, ok := f.Value.(resettable); ok {
			r.reset()
		}
		for _, v := range vals[key] {
			if v == "" && f.DefValue == "" {
				continue
			}
			if err := fs.Set(name, v); err != nil {
				what := "key " + key
				switch source {
				case "environment":
					return usagef("%s=%s: %s", envName(key), v, expected(f, err))
				case "--set":
					return usagef("--set %s=%s: %s", key, v, expected(f, err))
				}
				return usagef("%s: %s: bad value %q: %s", source, what, v, expected(f, err))
			}
		}
	}
	return nil
}

func allowedKeys(keys map[string]string, key string) string {
	section, _, _ := strings.Cut(key, ".")
	var in []string
	for k := range keys {
		if strings.HasPrefix(k, section+".") {
			in = append(in, k)
		}
	}
	if len(in) == 0 {
		return "sections are " + strings.Join(slices.Sorted(maps.Keys(configSections)), ", ")
	}
	slices.Sort(in)
	return "allowed keys of " + section + ": " + strings.Join(in, ", ")
}

// readConfigFile flattens a YAML file into key -> values. Lists become
// repeated values; a map under input.event_weights becomes "name=w,...".
func readConfigFile(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	out := make(map[string][]string)
	for section, v := range root {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config %s: %q must be a section (a mapping of keys), one of %s",
				path, section, strings.Join(slices.Sorted(maps.Keys(configSections)), ", "))
		}
		for k, v := range m {
			vals, err := scalarList(v)
			if err != nil {
				return nil, fmt.Errorf("config %s: key %s.%s: %w", path, section, k, err)
			}
			out[section+"."+k] = vals
		}
	}
	return out, nil
}

func scalarList(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []string
		for _, e := range t {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case map[string]any:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(t)) {
			s, err := scalar(t[k])
			if err != nil {
				return nil, err
			}
			parts = append(parts, k+"="+s)
		}
		return []string{strings.Join(parts, ",")}, nil
	}
	s, err := scalar(v)
	return []string{s}, err
}

func scalar(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), nil
	case time.Time: // YAML reads 2026-11-25 unquoted as a timestamp
		return t.Format(time.RFC3339Nano), nil
	}
	return "", errors.New("want a string, number or boolean")
}

// configCommand prints the merged configuration of a run.
type configCommand struct{ m *Main }

func (c *configCommand) Run(ctx context.Context, args []string) error {
	rc := &runCommand{m: c.m}
	fs := rc.flags()
	fs.Init("recopub config", flag.ContinueOnError)
	fs.Usage = func() {
		printHelp(c.m.Stdout, fs, "config --print [--config FILE] [--set key=value ...] [any flag of run]")
	}
	printIt := fs.Bool("print", false, "print the merged configuration (the Redis URL without its password); --config reads it back")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := rc.cfg.apply(fs, c.m.Getenv, c.m.Environ); err != nil {
		return err
	}
	if !*printIt {
		return usagef("say what to do: --print")
	}
	out, err := yaml.Marshal(effectiveConfig(fs))
	if err != nil {
		return err
	}
	_, err = c.m.Stdout.Write(out)
	return err
}

// effectiveConfig is the configuration fs holds, by section and key, as
// config --print writes it: numbers and booleans typed by their flag
// (a zero prints as 0, not false), lists as lists, the Redis URL
// without its password (give it by --redis-password-file or
// $REDIS_PASSWORD). Read back with --config, it sets the same flags.
func effectiveConfig(fs *flag.FlagSet) map[string]map[string]any {
	bySection := make(map[string]map[string]any)
	for key, name := range configKeys() {
		section, k, _ := strings.Cut(key, ".")
		if bySection[section] == nil {
			bySection[section] = make(map[string]any)
		}
		bySection[section][k] = flagYAML(fs.Lookup(name))
	}
	return bySection
}

// flagYAML is a flag's value as YAML should hold it.
func flagYAML(f *flag.Flag) any {
	if l, ok := f.Value.(*stringList); ok {
		return slices.Clone([]string(*l))
	}
	if f.Name == "redis" {
		return urlWithoutPassword(f.Value.String())
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch v := g.Get().(type) {
		case bool, int, int64, uint, uint64, float64:
			return v
		}
	}
	return f.Value.String()
}

// urlWithoutPassword is a Redis URL with its user but not its password,
// so that config --print can be read back (the password then comes from
// --redis-password-file or $REDIS_PASSWORD); a URL that does not parse
// as meant is not shown.
func urlWithoutPassword(s string) string {
	u, err := parseRedisURL(s)
	if err != nil {
		return redactURL(s)
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}
