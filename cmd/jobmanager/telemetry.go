package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"golang.org/x/sync/errgroup"

	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/telemetry"
	"github.com/jobmanager/jobmanager/temporalclient"
	"github.com/jobmanager/jobmanager/workers"
)

// envMetricsAddr is where the worker serves /healthz, /readyz and /metrics.
const envMetricsAddr = "METRICS_ADDR"

// defaultWorkerMetricsAddr is the worker's health and metrics port in production, where
// Kubernetes probes and Prometheus scrape it on the pod's address.
const defaultWorkerMetricsAddr = ":9090"

// newLogger is the process's logger: JSON lines, or text when LOG_FORMAT=text (the
// default of the dev stack, which people read in a terminal).
func newLogger(defaultFormat string) (*slog.Logger, error) {
	return telemetry.NewLogger(os.Stderr, envOr("LOG_FORMAT", defaultFormat), slog.LevelInfo)
}

// startTelemetry sets the process's telemetry up (metrics always; traces when the
// OTEL_* environment names an OTLP endpoint). The returned stop flushes spans.
func startTelemetry(ctx context.Context, logger *slog.Logger, service string) (*telemetry.Telemetry, func(), error) {
	tel, err := telemetry.Setup(ctx, telemetry.Options{ServiceName: service, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return tel, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			logger.Warn("telemetry shutdown", "error", err)
		}
	}, nil
}

// withTelemetry gives a Temporal client the SDK metrics and the tracing interceptor; a
// nil tel leaves cfg as it is.
func withTelemetry(cfg *temporalclient.Config, tel *telemetry.Telemetry) error {
	if tel == nil {
		return nil
	}
	tracing, err := telemetry.TracingInterceptor()
	if err != nil {
		return err
	}
	cfg.MetricsHandler = tel.TemporalMetrics()
	cfg.Interceptors = append(cfg.Interceptors, interceptor.ClientInterceptor(tracing))
	return nil
}

// runWorkerWithOps runs the worker and its health and metrics listener (METRICS_ADDR,
// else defaultAddr; "off" or empty serves none) until ctx is done or either fails.
func runWorkerWithOps(ctx context.Context, tel *telemetry.Telemetry, st *store.Store, c client.Client, deps workers.Deps, logger *slog.Logger, defaultAddr string) error {
	addr := envOr(envMetricsAddr, defaultAddr)
	if addr == "off" {
		addr = ""
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return telemetry.ServeOps(gctx, addr, telemetry.OpsHandler(tel.MetricsHandler(), telemetry.DependencyChecks(st, c)...), logger)
	})
	g.Go(func() error { return workers.Run(gctx, c, deps) })
	if err := g.Wait(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
