package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
)

// registerTLS adds --redis-ca to the Redis flags.
func (r *redisFlags) registerTLS(fs *flag.FlagSet) {
	fs.StringVar(&r.ca, "redis-ca", "", "PEM file of the CA that signed the server's certificate, for rediss:// URLs (default: the system's CAs)")
}

// tlsConfig returns TLS settings that trust only the CA certificates in
// caFile (PEM), for servers with a private CA such as a self-managed Redis.
func tlsConfig(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--redis-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--redis-ca %s: no PEM certificate found", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// withCA returns cfg, the TLS settings go-redis derived from the URL (nil
// for redis://), with --redis-ca's CAs as the trusted roots. The server
// name go-redis took from the URL is kept, so the certificate is still
// checked against the host.
func (r *redisFlags) withCA(cfg *tls.Config) (*tls.Config, error) {
	if r.ca == "" {
		return cfg, nil
	}
	if cfg == nil {
		return nil, usageError{errors.New("--redis-ca needs a rediss:// URL")}
	}
	ca, err := tlsConfig(r.ca)
	if err != nil {
		return nil, usageError{err}
	}
	cfg = cfg.Clone()
	cfg.RootCAs = ca.RootCAs
	cfg.MinVersion = max(cfg.MinVersion, ca.MinVersion)
	return cfg, nil
}
