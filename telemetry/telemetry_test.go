package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
	"github.com/jobmanager/jobmanager/telemetry"
	"github.com/jobmanager/jobmanager/temporalclient"
	"github.com/jobmanager/jobmanager/workers"
)

var (
	devServer *testsuite.DevServer
	// spans records every span of the test process: it is the global tracer provider,
	// installed before anything creates a tracer, as telemetry.Setup does in production
	// with the OTLP exporter in its place.
	spans = tracetest.NewSpanRecorder()
)

func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	devstack.RunTests(m, func(srv *testsuite.DevServer) { devServer = srv })
}

const password = "richtig-geheim-42"

var envs atomic.Int64

// env is the production wiring of cmd/jobmanager on test servers: a store with the
// pgx tracer, a Temporal client with the SDK metrics and the tracing interceptor, a
// worker made from that client, and the API behind telemetry.WrapHTTP with /metrics.
type env struct {
	dealer string
	store  *store.Store
	tel    *telemetry.Telemetry
	srv    *httptest.Server
	http   *http.Client
	// vehicle and customer are the seeded ones a job is created for.
	vehicle, customer string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvLogging(t, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// newEnvLogging is newEnv with the API and worker logging to logger.
func newEnvLogging(t *testing.T, logger *slog.Logger) *env {
	t.Helper()
	ctx := context.Background()
	n := envs.Add(1)
	// Every env has a dealer of its own: the envs share the Temporal server, where a
	// job's workflow ID job/<dealer>/<number> can be used once.
	e := &env{dealer: fmt.Sprintf("telemetry-%d-%d", time.Now().UnixNano(), n)}
	tel, err := telemetry.Setup(ctx, telemetry.Options{Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	e.tel = tel
	// After Setup, as in cmd/jobmanager: the pool's query metrics go to the meter
	// provider that is global when the pool is made.
	e.store = pgtest.New(t)
	require.NoError(t, tel.WatchOutbox(e.store))

	tracing, err := telemetry.TracingInterceptor()
	require.NoError(t, err)
	c, err := temporalclient.Dial(temporalclient.Config{
		Address: devServer.FrontendHostPort(), Namespace: "default", Keys: payloadcodec.Dev(),
		MetricsHandler: tel.TemporalMetrics(), Interceptors: []interceptor.ClientInterceptor{tracing},
	}, logger)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	queue := "telemetry-" + strconv.FormatInt(n, 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	w := workers.New(c, workers.Deps{TaskQueue: queue, Store: e.store, Logger: logger})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	e.seed(t)
	e.srv = httptest.NewServer(telemetry.WrapHTTP(api.New(api.Deps{
		TaskQueue: queue, Store: e.store, Temporal: c, Logger: logger, Telemetry: tel,
	})))
	t.Cleanup(e.srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	e.http = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, body := e.do(t, http.MethodPost, "/staff/login", "", api.LoginBody{Email: "owner@example.org", Password: password})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	return e
}

func (e *env) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st := e.store
	_, err := st.CreateDealer(ctx, store.Dealer{ID: e.dealer, Name: "Autohaus Telemetrie", DefaultSalesperson: "verkauf-1"})
	require.NoError(t, err)
	v, err := st.CreateVehicle(ctx, e.dealer, job.Vehicle{Number: "T-1", Make: "VW", Model: "Golf", PriceCents: 2_500_000, Location: "Berlin"})
	require.NoError(t, err)
	cu, err := st.CreateCustomer(ctx, store.Customer{Dealer: e.dealer, Name: "Erika Mustermann", Email: "erika@example.org"})
	require.NoError(t, err)
	e.vehicle, e.customer = v.ID, cu.ID
	d, err := definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)
	_, err = st.SaveDraft(ctx, e.dealer, d)
	require.NoError(t, err)
	_, err = st.PublishVersion(ctx, e.dealer, d.Workflow.Key)
	require.NoError(t, err)
	require.NoError(t, st.SetActiveWorkflow(ctx, e.dealer, d.Workflow.Key))
	hash, err := auth.HashPassword(password)
	require.NoError(t, err)
	_, err = st.CreateStaffUser(ctx, store.StaffUser{Dealer: e.dealer, Name: "Anna Inhaber", Email: "owner@example.org", Role: store.RoleOwner, PasswordHash: hash})
	require.NoError(t, err)
}

// do sends a request below /api/v1/dealers/<dealer>, or to path itself when it starts
// with a slash and not with /staff or /jobs.
func (e *env) do(t *testing.T, method, path, key string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	url := e.srv.URL + path
	if strings.HasPrefix(path, "/staff") || strings.HasPrefix(path, "/jobs") {
		url = e.srv.URL + "/api/v1/dealers/" + e.dealer + path
	}
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(api.HeaderIdempotencyKey, key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.http.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, raw
}

// createJob starts a job through the API and returns its number.
func (e *env) createJob(t *testing.T) int64 {
	t.Helper()
	res, body := e.do(t, http.MethodPost, "/jobs", "create-1", api.CreateJobRequest{VehicleID: e.vehicle, CustomerID: e.customer})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", body)
	var created api.JobCreated
	require.NoError(t, json.Unmarshal(body, &created))
	return created.Number
}

func (e *env) scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/plain")
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(raw)
}

// TestAPIMetrics: /metrics answers Prometheus text with the requests by route, the
// Temporal SDK's metrics once a job ran, and the outbox backlog read from PostgreSQL.
func TestAPIMetrics(t *testing.T) {
	e := newEnv(t)
	number := e.createJob(t)
	for range 3 {
		res, body := e.do(t, http.MethodGet, "/jobs", "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	}
	res, body := e.do(t, http.MethodPost, fmt.Sprintf("/jobs/%d/status", number), "status-1", api.StatusBody{Status: job.StatusSold})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	res, _ = e.do(t, http.MethodGet, "/no/such/path", "", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	// One message that failed for good, as staff see it in GET .../messages/failed.
	_, _, err := e.store.EnqueueMessage(context.Background(), store.OutboxMessage{
		Dealer: e.dealer, Number: number, ActivationSeq: 1, Template: "offer",
		Channel: "email", Recipient: "erika@example.org", BodyText: "x", Status: store.OutboxFailed, Reason: "mailbox unknown",
		MessageID: "<m1@example.org>",
	})
	require.NoError(t, err)

	var text string
	// The SDK records a workflow task's metrics as it finishes the task, which may be
	// just after the update's answer reached the API; the scrape is repeated until then.
	require.Eventually(t, func() bool {
		text = e.scrape(t, e.srv.URL+"/metrics")
		return strings.Contains(text, "temporal_workflow_task_execution_latency")
	}, 10*time.Second, 50*time.Millisecond, "no workflow task metrics among %v", metricNames(text))

	jobs := `route="/api/v1/dealers/:dealer/jobs"`
	require.Contains(t, text, `http_requests_total{method="GET",`+jobs+`,status="200"} 3`)
	require.Contains(t, text, `http_request_duration_seconds_bucket{method="GET",`+jobs+`,status="200",le="+Inf"} 3`)
	require.Contains(t, text, `http_requests_total{method="POST",route="/api/v1/dealers/:dealer/jobs",status="201"} 1`)
	require.Contains(t, text, `http_requests_total{method="POST",route="/api/v1/dealers/:dealer/jobs/:number/status",status="200"} 1`)
	require.Contains(t, text, `http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	names := metricNames(text)
	for _, name := range []string{"temporal_request_total", "temporal_long_request_total",
		"temporal_workflow_task_execution_latency_seconds", "temporal_local_activity_total"} {
		require.Contains(t, names, name, "metrics: %v", names)
	}
	require.Contains(t, text, `jobmanager_outbox_messages{status="failed"} 1`)
	require.Contains(t, text, `jobmanager_outbox_messages{status="pending"} 0`)
	require.Contains(t, text, "jobmanager_outbox_scrape_ok 1")
	require.Contains(t, text, "jobmanager_outbox_oldest_pending_seconds 0")
	// PostgreSQL query durations from otelpgx, and the Go runtime.
	require.Contains(t, text, "db_client_operation_duration_seconds")
	require.Contains(t, text, "go_goroutines")
}

// TestRequestLog: a caller's X-Request-ID comes back (without one the API makes one),
// and the request's JSON log line carries it with the route, the job and its trace.
func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	logger, err := telemetry.NewLogger(&buf, "json", slog.LevelInfo)
	require.NoError(t, err)
	e := newEnvLogging(t, logger)
	number := e.createJob(t)
	res, _ := e.do(t, http.MethodGet, fmt.Sprintf("/jobs/%d", number), "", nil, telemetry.HeaderRequestID, "req-from-proxy-1")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "req-from-proxy-1", res.Header.Get(telemetry.HeaderRequestID))
	var line map[string]any
	for raw := range strings.SplitSeq(buf.String(), "\n") {
		if strings.Contains(raw, `"request_id":"req-from-proxy-1"`) {
			require.NoError(t, json.Unmarshal([]byte(raw), &line), raw)
		}
	}
	require.NotNil(t, line, "no log line with the request ID in:\n%s", buf.String())
	require.Equal(t, "http request", line["msg"])
	require.Equal(t, "GET", line["method"])
	require.Equal(t, "/api/v1/dealers/:dealer/jobs/:number", line["route"])
	require.Equal(t, float64(http.StatusOK), line["status"])
	require.Equal(t, e.dealer, line["dealer"])
	require.Equal(t, strconv.FormatInt(number, 10), line["job_number"])
	require.Len(t, line["trace_id"], 32)
	require.Contains(t, line, "duration")
	res, _ = e.do(t, http.MethodGet, "/jobs", "", nil)
	require.Len(t, res.Header.Get(telemetry.HeaderRequestID), 36)
	res, _ = e.do(t, http.MethodGet, "/jobs", "", nil, telemetry.HeaderRequestID, strings.Repeat("x", 200))
	require.Len(t, res.Header.Get(telemetry.HeaderRequestID), 36, "an overlong request ID is replaced")
}

// TestUpdateTrace: one API request that updates a job makes one trace, from the HTTP
// request through the Temporal update into the workflow's update handler, the
// projection activity it runs, and that activity's PostgreSQL queries.
func TestUpdateTrace(t *testing.T) {
	e := newEnv(t)
	number := e.createJob(t)
	res, body := e.do(t, http.MethodPost, fmt.Sprintf("/jobs/%d/status", number), "status-1", api.StatusBody{Status: job.StatusSold})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	requestID := res.Header.Get(telemetry.HeaderRequestID)
	require.NotEmpty(t, requestID)

	// The server span ends when the handler returns, which may be just after the
	// client read the answer.
	var server sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		for _, s := range spans.Ended() {
			if s.SpanKind() == trace.SpanKindServer && s.Name() == "POST /api/v1/dealers/:dealer/jobs/:number/status" &&
				hasAttr(s, "http.request.id", requestID) {
				server = s
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no server span for the update request")
	require.True(t, hasAttr(server, "http.route", "/api/v1/dealers/:dealer/jobs/:number/status"))
	require.True(t, hasAttr(server, "jobmanager.dealer", e.dealer))

	var names []string
	for _, s := range spans.Ended() {
		if s.SpanContext().TraceID() == server.SpanContext().TraceID() {
			names = append(names, s.Name())
		}
	}
	want := []string{
		"UpdateWorkflow:" + job.UpdateSetStatus, // the API's client call
		"ValidateUpdate:" + job.UpdateSetStatus, // the workflow's validator
		"HandleUpdate:" + job.UpdateSetStatus,   // the workflow's update handler
		"StartActivity:" + job.ActivityProject,  // the handler schedules the projection
		"RunActivity:" + job.ActivityProject,    // the worker runs it
		"INSERT",                                // its audit entries, in PostgreSQL
	}
	for _, w := range want {
		require.Contains(t, names, w, "spans of the trace: %v", names)
	}
}

// TestWorkerOps: the worker's listener answers the probes, asks PostgreSQL and
// Temporal for readiness, serves the metrics, and stops when its context ends.
func TestWorkerOps(t *testing.T) {
	e := newEnv(t)
	c, err := temporalclient.Dial(temporalclient.Config{Address: devServer.FrontendHostPort(), Namespace: "default", Keys: payloadcodec.Dev()}, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- telemetry.Serve(ctx, ln, telemetry.OpsHandler(e.tel.MetricsHandler(), telemetry.DependencyChecks(e.store, c)...))
	}()
	base := "http://" + ln.Addr().String()

	get := func(path string) (int, map[string]string) {
		res, err := http.Get(base + path)
		require.NoError(t, err)
		defer res.Body.Close()
		var answer map[string]string
		require.NoError(t, json.NewDecoder(res.Body).Decode(&answer))
		return res.StatusCode, answer
	}
	status, answer := get("/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", answer["status"])
	status, answer = get("/readyz")
	require.Equal(t, http.StatusOK, status, "%v", answer)
	require.Equal(t, map[string]string{"status": "ok", "postgres": "ok", "temporal": "ok"}, answer)
	require.Contains(t, e.scrape(t, base+"/metrics"), "jobmanager_outbox_messages")

	// PostgreSQL gone: not ready, and the probe says which dependency failed.
	e.store.Close()
	status, answer = get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "not ready", answer["status"])
	require.NotEqual(t, "ok", answer["postgres"])
	require.Equal(t, "ok", answer["temporal"])
	text := e.scrape(t, base+"/metrics")
	require.Contains(t, text, "jobmanager_outbox_scrape_ok 0", "a failed outbox query must not fail the scrape")

	cancel()
	require.NoError(t, <-served)
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "the listener is closed")
}

// metricNames lists the metric families of a scrape.
func metricNames(text string) []string {
	var names []string
	for line := range strings.SplitSeq(text, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(name)[0])
		}
	}
	return names
}

// syncBuffer is a buffer the API's goroutines can log into while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func hasAttr(s sdktrace.ReadOnlySpan, key, value string) bool {
	for _, a := range s.Attributes() {
		if string(a.Key) == key && a.Value.String() == value {
			return true
		}
	}
	return false
}

// TestTracesGoOverOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach the collector
// there (OTLP over HTTP), named for the service, by the time Shutdown returns. It runs
// last: it replaces the global tracer provider, and puts the recorder back after.
func TestTracesGoOverOTLP(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	var (
		mu       sync.Mutex
		received []byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			mu.Lock()
			received = append(received, raw...)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "jobmanager-otlp-test")

	tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceName: "jobmanager-api"})
	require.NoError(t, err)
	_, span := otel.Tracer("telemetry-test").Start(context.Background(), "probe-span")
	span.End()
	require.NoError(t, tel.Shutdown(context.Background()))

	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, string(received), "probe-span")
	require.Contains(t, string(received), "jobmanager-otlp-test", "OTEL_SERVICE_NAME wins over the default name")
}
