package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

const defaultRedisURL = "redis://127.0.0.1:6379/0"

// errLocked is wrapped by errors that end with exit code 3.
var errLocked = publish.ErrLocked

// redisFlags are the flags every command that talks to Redis takes.
type redisFlags struct {
	url       string
	namespace string
	cluster   bool   // --cluster: the URL's address is a seed of a Redis Cluster
	ca        string // --redis-ca, see tls.go
}

func (r *redisFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	def := getenv("REDIS_URL")
	if def == "" {
		def = defaultRedisURL
	}
	fs.StringVar(&r.url, "redis", def, "Redis URL (redis://[user:password@]host:port/db; a cluster as redis://h1:p1?addr=h2:p2); default $REDIS_URL")
	fs.Lookup("redis").DefValue = redactURL(def) // -h must not print $REDIS_URL's password
	fs.StringVar(&r.namespace, "namespace", publish.DefaultNamespace, "key namespace")
	fs.BoolVar(&r.cluster, "cluster", false, "--redis is one seed address of a Redis Cluster (the other masters are discovered)")
	r.registerTLS(fs)
}

func (r *redisFlags) keys() publish.Keys { return publish.Keys{Namespace: r.namespace} }

// client opens a client for the URL: a cluster client when the URL names
// several addresses (redis://h1:p1?addr=h2:p2) or --cluster is given.
func (r *redisFlags) client() (redis.UniversalClient, error) {
	if err := publish.ValidNamespace(r.namespace); err != nil {
		return nil, usageError{err}
	}
	u, err := url.Parse(r.url)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return nil, usagef("--redis %s: want a redis:// or rediss:// URL", redactURL(r.url))
	}
	if r.cluster || u.Query().Has("addr") {
		opt, err := redis.ParseClusterURL(r.url)
		if err != nil {
			return nil, usagef("--redis %s: %v", redactURL(r.url), err)
		}
		if opt.TLSConfig, err = r.withCA(opt.TLSConfig); err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(r.url)
	if err != nil {
		return nil, usagef("--redis %s: %v", redactURL(r.url), err)
	}
	if opt.TLSConfig, err = r.withCA(opt.TLSConfig); err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}

// redactURL hides the password of a Redis URL, for messages and logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// Do not echo something that may hold a password.
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "redis://xxxxx@" + s[i+1:]
		}
		return s
	}
	return u.Redacted()
}

// redisError adds the (redacted) address to a connection failure.
func redisError(rawURL string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, publish.ErrLocked) {
		return err
	}
	return fmt.Errorf("redis %s: %w", redactURL(rawURL), err)
}
