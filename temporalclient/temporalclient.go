// Package temporalclient dials the Temporal frontend the same way for the API, the
// worker, the benchmark and the tests: address and namespace from the environment,
// slog as the SDK's logger, and payloads encrypted by package payloadcodec, so every
// process reads and writes the same ciphertext.
package temporalclient

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"

	"github.com/jobmanager/jobmanager/payloadcodec"
)

// Config says where the Temporal frontend is and how payloads are encrypted.
type Config struct {
	Address   string
	Namespace string
	// Keys encrypt payloads (payloadcodec.FromEnv); Dial refuses an empty ring, so no
	// process can talk to Temporal in clear by forgetting them.
	Keys payloadcodec.Keys
	// TLS secures the connection to a remote cluster (TEMPORAL_TLS*); off by default.
	TLS TLSConfig
	// APIKey authenticates to a cluster that takes API keys (TEMPORAL_API_KEY).
	APIKey string
	// MetricsHandler receives the SDK's metrics (telemetry.Telemetry.TemporalMetrics);
	// none are recorded when nil.
	MetricsHandler client.MetricsHandler
	// Interceptors wrap the client's calls; one that is also a worker interceptor (the
	// tracing interceptor, telemetry.TracingInterceptor) wraps every worker made from
	// the client too.
	Interceptors []interceptor.ClientInterceptor
}

// FromEnv reads TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, defaulting to the local dev
// server, and the TLS and API key settings of a remote cluster (tls.go).
func FromEnv() Config {
	c := Config{Address: os.Getenv("TEMPORAL_ADDRESS"), Namespace: os.Getenv("TEMPORAL_NAMESPACE"),
		TLS: tlsFromEnv(), APIKey: os.Getenv(EnvAPIKey)}
	if c.Address == "" {
		c.Address = client.DefaultHostPort
	}
	if c.Namespace == "" {
		c.Namespace = client.DefaultNamespace
	}
	return c
}

// Dial connects to Temporal with the payload codec's data and failure converters; a
// worker made from the client inherits them.
func Dial(cfg Config, logger *slog.Logger) (client.Client, error) {
	dc, fc, err := payloadcodec.Converters(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("dial temporal: %w", err)
	}
	opts := client.Options{HostPort: cfg.Address, Namespace: cfg.Namespace,
		DataConverter: dc, FailureConverter: fc,
		MetricsHandler: cfg.MetricsHandler, Interceptors: cfg.Interceptors}
	if logger != nil {
		opts.Logger = log.NewStructuredLogger(logger)
	}
	if err := cfg.applySecurity(&opts); err != nil {
		return nil, fmt.Errorf("dial temporal at %s: %w", cfg.Address, err)
	}
	c, err := client.Dial(opts)
	if err != nil {
		hint := ""
		// A server that demands a client certificate drops the connection after a TLS
		// 1.3 handshake, and the client often sees only a broken pipe: say what to try.
		if cfg.TLS.on() && cfg.TLS.CertFile == "" && cfg.APIKey == "" {
			hint = fmt.Sprintf(" (TLS without a client certificate: if the cluster wants mTLS, set %s and %s)", EnvTLSCert, EnvTLSKey)
		}
		return nil, fmt.Errorf("dial temporal at %s (namespace %s)%s: %w", cfg.Address, cfg.Namespace, hint, err)
	}
	return c, nil
}
