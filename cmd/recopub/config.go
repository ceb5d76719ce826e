package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

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
	"publish":  {"keep", "grace", "lock-ttl", "conns", "no-restore", "embedded-fallback", "show", "dry-run", "summary", "out", "out-format", "force"},
	"features": {"features-target", "features-prefix"},
	"redis":    {"redis", "redis-ca", "redis-password-file", "namespace", "cluster"},
	"log":      {"log-level"},
	"metrics":  {"metrics-textfile", "pushgateway"},
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
func (c *configFlags) apply(fs *flag.FlagSet, getenv func(string) string) error {
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
	env := make(map[string][]string)
	if v := getenv("REDIS_URL"); v != "" {
		env["redis.url"] = []string{v}
	}
	for key := range keys {
		name := "RECOPUB_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
		if v := getenv(name); v != "" {
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

// setAll sets each key's flag unless it was given on the command line.
func setAll(fs *flag.FlagSet, keys map[string]string, vals map[string][]string, explicit map[string]bool, source string) error {
	for _, key := range slices.Sorted(maps.Keys(vals)) {
		name, ok := keys[key]
		if !ok {
			return usagef("%s: unknown key %q; %s", source, key, allowedKeys(keys, key))
		}
		if explicit[name] {
			continue
		}
		f := fs.Lookup(name)
		if r, ok := f.Value.(resettable); ok {
			r.reset()
		}
		for _, v := range vals[key] {
			if err := fs.Set(name, v); err != nil {
				return usagef("%s: key %s: bad value %q: %v", source, key, v, err)
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
	}
	return "", errors.New("want a string, number or boolean")
}

// configCommand prints the merged configuration of a run.
type configCommand struct{ m *Main }

func (c *configCommand) Run(ctx context.Context, args []string) error {
	rc := &runCommand{m: c.m}
	fs := rc.flags()
	printIt := fs.Bool("print", false, "print the merged configuration (passwords redacted)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := rc.cfg.apply(fs, c.m.Getenv); err != nil {
		return err
	}
	if !*printIt {
		return usagef("say what to do: --print")
	}
	keys := configKeys()
	bySection := make(map[string]map[string]any)
	for key, name := range keys {
		section, k, _ := strings.Cut(key, ".")
		if bySection[section] == nil {
			bySection[section] = make(map[string]any)
		}
		var v any = fs.Lookup(name).Value.String()
		switch val := fs.Lookup(name).Value.(type) {
		case *stringList:
			v = []string(*val)
		}
		if name == "redis" {
			v = redactURL(v.(string))
		}
		bySection[section][k] = typed(v)
	}
	out, err := yaml.Marshal(bySection)
	if err != nil {
		return err
	}
	_, err = c.m.Stdout.Write(out)
	return err
}

// typed turns flag text back into YAML numbers and booleans for printing.
func typed(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}
