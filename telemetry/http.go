package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// HeaderRequestID names a request in logs: taken from the caller (a proxy or another
// service) when it sends one, made up otherwise, and always sent back.
const HeaderRequestID = "X-Request-ID"

// maxRequestIDLen bounds a caller's request ID; a longer or unprintable one is
// replaced, so logs never carry what a client made up beyond that.
const maxRequestIDLen = 128

// UnmatchedRoute is the route label of requests that matched no route, so scanners
// probing random paths cannot grow the metrics without bound.
const UnmatchedRoute = "unmatched"

type requestIDKey struct{}

// RequestID returns the request ID the RequestIDs middleware gave ctx's request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestIDs is gin middleware that gives every request an ID (HeaderRequestID) in the
// answer and in the request's context (RequestID), and tags the request's span with it.
func RequestIDs(c *gin.Context) {
	id := c.GetHeader(HeaderRequestID)
	if id == "" || len(id) > maxRequestIDLen || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		id = uuid.NewString()
	}
	c.Header(HeaderRequestID, id)
	ctx := context.WithValue(c.Request.Context(), requestIDKey{}, id)
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("http.request.id", id))
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// Route is the request's route template (/api/v1/dealers/:dealer/jobs/:number), or
// UnmatchedRoute.
func Route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return UnmatchedRoute
}

// NameSpan is gin middleware that names the request's server span (started by
// WrapHTTP, which cannot know gin's routes) after the route template and records it
// as http.route, so traces group by route rather than by path.
func NameSpan(c *gin.Context) {
	span := trace.SpanFromContext(c.Request.Context())
	if span.IsRecording() {
		route := Route(c)
		span.SetName(c.Request.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
		if d := c.Param("dealer"); d != "" {
			span.SetAttributes(attribute.String("jobmanager.dealer", d))
		}
		if n := c.Param("number"); n != "" {
			span.SetAttributes(attribute.String("jobmanager.job_number", n))
		}
	}
	c.Next()
}

// WrapHTTP starts a server span for every request (continuing the caller's trace from
// a traceparent header) around h. Health checks and scrapes are left out: they come
// every few seconds and say nothing. Request metrics come from Telemetry.HTTPMiddleware, by route,
// so otelhttp's own (by path) are switched off.
func WrapHTTP(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// httpMetrics counts requests and measures their latency by method, route template and
// status; Telemetry.HTTPMiddleware records into them.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// HTTPMiddleware is gin middleware recording every request in the registry:
// http_requests_total, http_request_duration_seconds and http_requests_in_flight.
func (t *Telemetry) HTTPMiddleware() gin.HandlerFunc { return t.http.middleware }

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by method, route template and status code.",
			// Reads take milliseconds; updates wait for the workflow (up to the update
			// timeout, 10 s by default).
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being answered now.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *httpMetrics) middleware(c *gin.Context) {
	start := time.Now()
	m.inFlight.Inc()
	defer m.inFlight.Dec()
	c.Next()
	labels := prometheus.Labels{"method": method(c.Request.Method), "route": Route(c), "status": strconv.Itoa(c.Writer.Status())}
	m.requests.With(labels).Inc()
	m.duration.With(labels).Observe(time.Since(start).Seconds())
}

// method is the request's method for labels; made-up methods share one label.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
