// Package temporalclient dials the Temporal frontend the same way for the API, the
// worker, the benchmark and the tests: address and namespace from the environment,
// slog as the SDK's logger.
package temporalclient

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// Config says where the Temporal frontend is.
type Config struct {
	Address   string
	Namespace string
}

// FromEnv reads TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, defaulting to the local dev
// server.
func FromEnv() Config {
	c := Config{Address: os.Getenv("TEMPORAL_ADDRESS"), Namespace: os.Getenv("TEMPORAL_NAMESPACE")}
	if c.Address == "" {
		c.Address = client.DefaultHostPort
	}
	if c.Namespace == "" {
		c.Namespace = client.DefaultNamespace
	}
	return c
}

// Dial connects to Temporal.
func Dial(cfg Config, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{HostPort: cfg.Address, Namespace: cfg.Namespace}
	if logger != nil {
		opts.Logger = log.NewStructuredLogger(logger)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("dial temporal at %s (namespace %s): %w", cfg.Address, cfg.Namespace, err)
	}
	return c, nil
}
