package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

const defaultRedisURL = "redis://127.0.0.1:6379/0"

// errLocked is wrapped by errors that end with exit code 3.
var errLocked = publish.ErrLocked

// errEvictionPolicy ends with exit code 2, like a bad flag: the server's
// configuration must change, and --force does not override it.
var errEvictionPolicy = publish.ErrEvictionPolicy

// redisFlags are the flags every command that talks to Redis takes.
type redisFlags struct {
	url          string
	namespace    string
	cluster      bool   // --cluster: the URL's address is a seed of a Redis Cluster
	ca           string // --redis-ca, see tls.go
	passwordFile string // --redis-password-file
	getenv       func(string) string

	// queryDefaults are URL options (go-redis' query parameters) applied
	// unless the URL sets them; serve sets its timeouts this way.
	queryDefaults map[string]string
}

func (r *redisFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	r.getenv = getenv
	def := getenv("REDIS_URL")
	if def == "" {
		def = defaultRedisURL
	}
	fs.StringVar(&r.url, "redis", def, "Redis URL (redis://[user@]host:port/db; a cluster as redis://h1:p1?addr=h2:p2); default $REDIS_URL. Give the password with --redis-password-file or $REDIS_PASSWORD, so that ps does not show it")
	fs.Lookup("redis").DefValue = redactURL(def) // -h must not print $REDIS_URL's password
	fs.StringVar(&r.passwordFile, "redis-password-file", "", "file holding the Redis password (one line); default $REDIS_PASSWORD, else the URL's")
	fs.StringVar(&r.namespace, "namespace", publish.DefaultNamespace, "key namespace")
	fs.BoolVar(&r.cluster, "cluster", false, "--redis is one seed address of a Redis Cluster (the other masters are discovered)")
	r.registerTLS(fs)
}

func (r *redisFlags) keys() publish.Keys { return publish.Keys{Namespace: r.namespace} }

// errBadURL is the one message for a --redis value that does not parse as
// meant. It never quotes the value: a password with an unencoded '#',
// '?', '/' or '%' is what usually breaks it, and it would be printed.
var errBadURL = errors.New("--redis: not a usable redis:// URL. If the password holds '#', '?', '/', '@', '%', ':' or non-ASCII characters, percent-encode them in the URL (# is %23, ? is %3F, / is %2F) or, better, pass the password with --redis-password-file or $REDIS_PASSWORD and leave it out of the URL")

// dbPath is the only path a Redis URL may have: the database number.
var dbPath = regexp.MustCompile(`^/?[0-9]*$`)

// parseRedisURL parses a --redis value once, with net/url, and refuses
// anything that may have been split in the wrong place: a fragment, an
// '@' after the host (a password with '#', '?' or '/' not encoded), a
// path that is not a database number. The errors never contain raw.
func parseRedisURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errBadURL
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("--redis: want a redis:// or rediss:// URL (%w)", errBadURL)
	}
	after := u.Opaque + u.Path + u.RawPath + u.RawQuery + u.Fragment
	if u.Opaque != "" || u.Host == "" || u.Fragment != "" || strings.Contains(raw, "#") ||
		strings.Contains(after, "@") || !dbPath.MatchString(u.Path) {
		return nil, errBadURL
	}
	return u, nil
}

// credentials returns the user and password: the password from
// --redis-password-file, $REDIS_PASSWORD or the URL, exactly one of them.
func (r *redisFlags) credentials(u *url.URL) (string, string, error) {
	var sources []string
	var pw string
	if p, ok := u.User.Password(); ok {
		sources, pw = append(sources, "the --redis URL"), p
	}
	if r.getenv != nil && r.getenv("REDIS_PASSWORD") != "" {
		sources, pw = append(sources, "$REDIS_PASSWORD"), r.getenv("REDIS_PASSWORD")
	}
	if r.passwordFile != "" {
		b, err := os.ReadFile(r.passwordFile)
		if err != nil {
			return "", "", fmt.Errorf("--redis-password-file: %w", err)
		}
		p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if p == "" {
			return "", "", fmt.Errorf("--redis-password-file %s is empty", r.passwordFile)
		}
		sources, pw = append(sources, "--redis-password-file"), p
	}
	if len(sources) > 1 {
		return "", "", fmt.Errorf("the Redis password is given by %s: give it once", strings.Join(sources, " and "))
	}
	return u.User.Username(), pw, nil
}

// client opens a client for the URL: a cluster client when the URL names
// several addresses (redis://h1:p1?addr=h2:p2) or --cluster is given. The
// URL is parsed once; go-redis sees it without user and password (which
// are set on its options), so none of its messages can show them.
func (r *redisFlags) client() (redis.UniversalClient, error) {
	if err := publish.ValidNamespace(r.namespace); err != nil {
		return nil, usageError{err}
	}
	u, err := parseRedisURL(r.url)
	if err != nil {
		return nil, usageError{err}
	}
	user, pw, err := r.credentials(u)
	if err != nil {
		return nil, usageError{err}
	}
	bare := r.withDefaults(u)
	bare.User = nil
	if r.cluster || bare.Query().Has("addr") {
		opt, err := redis.ParseClusterURL(bare.String())
		if err != nil {
			return nil, usagef("--redis %s: %v", bare.String(), err)
		}
		opt.Username, opt.Password = user, pw
		if opt.TLSConfig, err = r.withCA(opt.TLSConfig); err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(bare.String())
	if err != nil {
		return nil, usagef("--redis %s: %v", bare.String(), err)
	}
	opt.Username, opt.Password = user, pw
	if opt.TLSConfig, err = r.withCA(opt.TLSConfig); err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}

// withDefaults returns a copy of u with r.queryDefaults added.
func (r *redisFlags) withDefaults(u *url.URL) *url.URL {
	c := *u
	q := c.Query()
	for k, v := range r.queryDefaults {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	c.RawQuery = q.Encode()
	return &c
}

// display is the URL as the client uses it, defaults added, without the
// password.
func (r *redisFlags) display() string {
	u, err := parseRedisURL(r.url)
	if err != nil {
		return redactURL(r.url)
	}
	return r.withDefaults(u).Redacted()
}

// redactURL shows a Redis URL without its password, for messages and
// logs; a URL that does not parse as meant is not shown at all.
func redactURL(s string) string {
	u, err := parseRedisURL(s)
	if err != nil {
		return "(unusable --redis URL, not shown)"
	}
	return u.Redacted()
}

// redisError adds the (redacted) address to a Redis failure; a server
// that cannot be reached is said so in the same words by every command
// (unreachableError).
func redisError(rawURL string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, publish.ErrLocked) {
		return err
	}
	if cause := unreachableCause(err); cause != "" {
		addr := redisAddr(rawURL)
		if errors.Is(err, context.DeadlineExceeded) {
			// A read client's deadline can end go-redis' dial retries
			// before they report why: ask once more, briefly.
			cause = probe(addr, cause)
		}
		return &unreachableError{addr: addr, cause: cause, err: err}
	}
	return fmt.Errorf("redis %s: %w", redactURL(rawURL), err)
}

// unreachableError is the one wording of "Redis does not answer".
type unreachableError struct {
	addr  string // host:port, never the password
	cause string // connection refused, timed out, ...
	err   error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("Redis at %s is unreachable (%s); is redis-server running? check --redis / REDIS_URL", e.addr, e.cause)
}

func (e *unreachableError) Unwrap() error { return e.err }

// unreachableCause names why no answer came when err is a failure to
// reach the server (as opposed to an answer: an auth or command error),
// else "".
func unreachableCause(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return "connection closed by the server"
	case errors.As(err, &dnsErr):
		return "no such host " + dnsErr.Name
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer before the timeout"
	case errors.As(err, &opErr):
		return opErr.Err.Error()
	}
	return ""
}

// probe dials addr once and returns why that fails, or else cause (the
// server takes connections but did not answer in time).
func probe(addr, cause string) string {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if c := unreachableCause(err); c != "" {
			return c
		}
		return err.Error()
	}
	conn.Close()
	return cause
}

// redisAddr is the host:port of a Redis URL, for messages.
func redisAddr(rawURL string) string {
	u, err := parseRedisURL(rawURL)
	if err != nil {
		return redactURL(rawURL)
	}
	return u.Host
}

// redisFlagSet returns a command's FlagSet with the Redis flags
// registered.
func (m *Main) redisFlagSet(name, synopsis string) (*flag.FlagSet, *redisFlags) {
	fs := m.newFlagSet(name, synopsis)
	rf := new(redisFlags)
	rf.register(fs, m.Getenv)
	return fs, rf
}

// withRedis is the shape every read and maintenance command shares: parse
// the flags, check the positional arguments (pos), open a client, call do
// with it and close it. do's errors are wrapped once here with the
// (redacted) server they came from.
func withRedis(fs *flag.FlagSet, rf *redisFlags, args []string, pos func([]string) error,
	do func(rdb redis.UniversalClient, args []string) error) error {
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := pos(args); err != nil {
		return err
	}
	rdb, err := rf.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	return redisError(rf.url, do(rdb, args))
}

// exactlyOne checks a command got one positional argument, named what.
func exactlyOne(what string) func([]string) error {
	return func(pos []string) error {
		if len(pos) != 1 {
			return usagef("want exactly one %s, got %d arguments", what, len(pos))
		}
		return nil
	}
}

// ignoreArgs accepts any positional arguments (versions and gc take
// none and have always ignored them).
func ignoreArgs([]string) error { return nil }
