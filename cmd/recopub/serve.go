package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/httpapi"
	"github.com/redis/go-redis/v9"
)

// serveCommand runs the HTTP API over the live version.
type serveCommand struct {
	m *Main

	addr            string
	maxN            int
	shutdownTimeout time.Duration
	autopipeline    bool
	logLevel        string
	redis           redisFlags
	client          clientFlags
}

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	fs := c.m.newFlagSet("serve", "serve [--addr :8080] [--redis URL] [flags]")
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.IntVar(&c.maxN, "max-n", httpapi.DefaultMaxN, "largest n a request may ask for")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	fs.BoolVar(&c.autopipeline, "autopipeline", false, "share Redis writes between concurrent requests (go-redis' full-duplex autopipeliner, experimental)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	c.redis.register(fs, c.m.Getenv)
	c.client.register(fs, 250*time.Millisecond)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos)
	}
	if c.maxN < 1 || c.maxN > publish.MaxResults {
		return usagef("--max-n %d: want 1 to %d", c.maxN, publish.MaxResults)
	}
	log, err := c.m.newLogger(c.logLevel)
	if err != nil {
		return err
	}
	c.redis.queryDefaults = serveURLDefaults(c.client.timeout)
	rdb, err := c.redis.client()
	if err != nil {
		return err
	}
	defer rdb.Close()
	return c.serve(ctx, log, rdb)
}

// serveURLDefaults are the serving defaults of the Redis URL's options,
// applied unless the URL sets them: socket timeouts as short as the
// per-call deadline, and RESP2, whose replies Redis 7.0 formats scores
// into twice as fast as RESP3's.
func serveURLDefaults(timeout time.Duration) map[string]string {
	return map[string]string{
		"read_timeout":  timeout.String(),
		"write_timeout": timeout.String(),
		"protocol":      "2",
	}
}

func (c *serveCommand) serve(ctx context.Context, log *slog.Logger, rdb redis.UniversalClient) error {
	reader := rdb
	if c.autopipeline {
		ap, err := autopipeliner(rdb)
		if err != nil {
			return err
		}
		defer ap.Close()
		reader = ap
	}
	cl := publish.NewClient(reader, c.client.options(c.redis.namespace))
	api := httpapi.New(cl, rdb, httpapi.Options{
		MaxN:    c.maxN,
		Timeout: max(c.client.timeout, time.Second),
		Keys:    c.redis.keys(),
		Logger:  log,
	})
	if v, err := cl.Version(ctx); err != nil {
		// Serve anyway: /healthz says 503 until Redis answers.
		log.Warn("no live version yet", "redis", c.redis.display(), "error", redisError(c.redis.url, err).Error())
	} else {
		log.Info("live version", "version", v)
	}
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	go cl.Watch(watchCtx)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "redis", c.redis.display(), "namespace", c.redis.namespace)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// autopipeliner wraps rdb in go-redis' full-duplex autopipeliner.
func autopipeliner(rdb redis.UniversalClient) (*redis.AutoPipeliner, error) {
	opt := &redis.AutoPipelineOptions{FullDuplex: true}
	switch c := rdb.(type) {
	case *redis.Client:
		return c.AutoPipelineWithOptions(opt)
	case *redis.ClusterClient:
		return c.AutoPipelineWithOptions(opt)
	}
	return nil, fmt.Errorf("--autopipeline: not available for %T", rdb)
}
