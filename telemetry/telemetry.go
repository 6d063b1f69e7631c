// Package telemetry is how Jobmanager's processes are observed: Prometheus metrics
// (Temporal SDK metrics, HTTP request metrics, the message outbox's backlog) on one
// registry served as /metrics, OpenTelemetry traces exported over OTLP when the
// standard OTEL_* environment asks for it, the gin middleware that names, counts and
// logs requests with their request IDs, the structured logger, and the small HTTP
// listener that gives the worker /healthz, /readyz and /metrics.
//
// It sets the OpenTelemetry globals (tracer provider, meter provider, propagator):
// the instrumentation libraries in use (otelhttp, otelpgx, the Temporal tracing
// interceptor) read them. It knows nothing of jobs or workflows; the packages that do
// hand it what to count.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Options configure Setup.
type Options struct {
	// ServiceName names the process in traces (jobmanager-api, jobmanager-worker);
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it.
	ServiceName string
	// Logger gets telemetry's own problems (a failed export, a failed scrape query);
	// nil discards them.
	Logger *slog.Logger
}

// Telemetry holds one process's metrics registry and its trace pipeline.
type Telemetry struct {
	registry *prometheus.Registry
	http     *httpMetrics
	meters   *sdkmetric.MeterProvider
	// traces is nil when no OTLP endpoint is configured: spans are then not recorded.
	traces *sdktrace.TracerProvider
	log    *slog.Logger
}

// Setup builds the process's telemetry and installs it as the OpenTelemetry globals;
// call it once, before the store and the Temporal client are made, as instruments
// made from the globals before the first Setup follow that one only.
// Traces are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_TRACES_EXPORTER is not "none";
// the protocol is http/protobuf unless OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says grpc.
// The exporters read the other standard OTEL_* variables (headers, timeouts,
// OTEL_TRACES_SAMPLER) themselves. Call Shutdown before the process exits, so the last
// spans are sent.
func Setup(ctx context.Context, opts Options) (*Telemetry, error) {
	t := &Telemetry{registry: prometheus.NewRegistry(), log: opts.Logger}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	var err error
	if t.http, err = newHTTPMetrics(t.registry); err != nil {
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	// OpenTelemetry metrics (the Temporal SDK's, otelpgx's) land in the same registry,
	// so one scrape reads everything. Scope labels would only repeat the library name.
	exporter, err := otelprom.New(otelprom.WithRegisterer(t.registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	otel.SetMeterProvider(t.meters)
	// W3C trace context and baggage: what otelhttp reads from callers and what the
	// Temporal interceptor writes into headers.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { t.log.Warn("telemetry", "error", err) }))

	if !tracesWanted() {
		return t, nil
	}
	exp, err := traceExporter(ctx)
	if err != nil {
		return nil, err
	}
	name := opts.ServiceName
	if name == "" {
		name = "jobmanager"
	}
	// Later options win: the environment overrides the default name.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", name)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("describe the process for traces: %w", err)
	}
	t.traces = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(t.traces)
	t.log.Info("exporting traces over OTLP", "service", name)
	return t, nil
}

// tracesWanted reads the OTEL_* environment only to decide whether to export; the
// exporters read the rest of it themselves.
func tracesWanted() bool {
	if strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") || strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func traceExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: want grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("create OTLP trace exporter (%s): %w", protocol, err)
	}
	return exp, nil
}

// MetricsHandler serves the registry in the Prometheus text format. A collector that
// fails (the database is down during a scrape) leaves its metrics out rather than
// failing the whole scrape.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(t.log.Handler(), slog.LevelWarn),
	})
}

// TemporalMetrics is the Temporal SDK's metrics handler (client.Options.MetricsHandler):
// temporal_request_total, temporal_workflow_task_*, temporal_activity_* and the rest
// land in the registry.
func (t *Telemetry) TemporalMetrics() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: t.meters.Meter("temporal-sdk-go"),
		// The handler's default panics on an error; a metric is never worth a crash.
		OnError: func(err error) { t.log.Warn("temporal metric", "error", err) },
		// The SDK's counters only grow: as Prometheus counters (temporal_request_total)
		// they work with rate(), where the default up-down counters become gauges.
		UseMonotonicCounters: true,
	})
}

// TracingInterceptor carries the trace from a client call (start, update, signal,
// query) through its header into the workflow and from there into activities, with a
// span for each step. Set it on the client (temporalclient.Config.Interceptors): the
// SDK applies a client interceptor that is also a worker interceptor to every worker of
// that client. It adds only headers and spans, never commands, so it cannot change a
// workflow's history; spans are not emitted while a workflow task replays.
func TracingInterceptor() (interceptor.Interceptor, error) {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{})
	if err != nil {
		return nil, fmt.Errorf("create temporal tracing interceptor: %w", err)
	}
	return i, nil
}

// Shutdown flushes spans not yet exported and stops the pipelines.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.traces != nil {
		if err := t.traces.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down tracing: %w", err))
		}
	}
	if err := t.meters.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down metrics: %w", err))
	}
	return errors.Join(errs...)
}
