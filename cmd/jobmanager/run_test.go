package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/deploy/bezahlsim"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// lockedBuffer collects a command's log for the test to print when it fails; the
// command's goroutines write to it concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger logs into a buffer that is printed if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("command log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// freeAddr returns a loopback address that was free a moment ago: the commands take
// their listen address as a string and report no port chosen for ":0".
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// cleanEnv unsets every setting the commands read, so the environment of whoever runs
// the test does not change what it checks.
func cleanEnv(t *testing.T) {
	for _, k := range []string{envMode, "DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE",
		"TEMPORAL_TLS", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY",
		"SECRETS_KEY", "CSRF_KEY", "PAYLOAD_KEYS", "PAYLOAD_KEY_ID", "PUBLIC_URL", "SECURE_COOKIES", "API_ADDR",
		"TEMPORAL_UI_ORIGIN", envMetricsAddr, "LOG_FORMAT",
		"SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMS_URL", "SMS_TOKEN",
		"BEZAHL_URL", "BEZAHL_TOKEN", "BEZAHL_ORG", "BEZAHL_WEBHOOK_SECRET",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
		t.Setenv(k, "")
	}
}

// running is a command started in the background; stop cancels it and waits.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, run func(ctx context.Context) error) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("command ended with: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(15 * time.Second):
		t.Error("command did not stop within 15 s of its context's end")
	}
}

// get fetches url, failing the test on a transport error.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// awaitReady polls base/readyz until it answers 200 or the command fails.
func awaitReady(t *testing.T, r *running, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-r.done:
			close(r.done)
			t.Fatalf("command ended before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz not 200 within 20 s (last: %v)", base, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a probe, as an orchestrator does
	}
}

// TestRunAPIAndWorker runs `jobmanager api` and `jobmanager worker` through their Go
// functions against a Temporal dev server and a fresh database, as a deployment does.
func TestRunAPIAndWorker(t *testing.T) {
	ctx := context.Background()
	srv, err := devstack.StartTestTemporal(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	dbURL := pgtest.URL(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = demo.Seed(ctx, st, testLogger(t))
	require.NoError(t, err)

	cleanEnv(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendHostPort())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("SECRETS_KEY", randomKey(t))
	apiAddr, opsAddr := freeAddr(t), freeAddr(t)
	t.Setenv(envMetricsAddr, opsAddr)

	logger := testLogger(t)
	api := start(t, func(ctx context.Context) error { return runAPI(ctx, logger, []string{"-addr", apiAddr}) })
	worker := start(t, func(ctx context.Context) error { return runWorker(ctx, logger) })

	t.Run("api", func(t *testing.T) {
		base := "http://" + apiAddr
		awaitReady(t, api, base)
		code, _ := get(t, base+"/healthz")
		require.Equal(t, http.StatusOK, code)
		code, body := get(t, base+"/shop/"+demo.Dealer+"/vehicles")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "Golf 8 Life")
		code, body = get(t, base+"/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "# TYPE http_requests_total counter")
		require.Contains(t, body, `route="/shop/:dealer/vehicles"`)
	})

	t.Run("worker ops listener", func(t *testing.T) {
		base := "http://" + opsAddr
		awaitReady(t, worker, base)
		code, _ := get(t, base+"/healthz")
		require.Equal(t, http.StatusOK, code)
		code, body := get(t, base+"/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "go_goroutines")
		require.Contains(t, body, "temporal_", "the SDK's metrics of the worker's client")
	})

	// Both stop on their context's end, closing their listeners.
	api.stop(t)
	worker.stop(t)
	for _, addr := range []string{apiAddr, opsAddr} {
		_, err := net.DialTimeout("tcp", addr, time.Second)
		require.Error(t, err, "%s still listens after the command stopped", addr)
	}
}

// TestProductionRefusesDevSecrets checks that api and worker refuse development keys in
// production before they connect anywhere: the database and Temporal addresses lead
// nowhere, and the error is about the settings.
func TestProductionRefusesDevSecrets(t *testing.T) {
	cleanEnv(t)
	t.Setenv(envMode, modeProduction)
	t.Setenv("DATABASE_URL", "postgres://jobmanager@127.0.0.1:1/nowhere?connect_timeout=1")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("SECRETS_KEY", "am9ibWFuYWdlci1ERVYtT05MWS1zZWNyZXRzLWtleSE=")
	t.Setenv("CSRF_KEY", "am9ibWFuYWdlci1kZXYtY3NyZi1rZXktMzItYnl0ZXM=")
	t.Setenv("PUBLIC_URL", "http://localhost:8080")
	t.Setenv(envMetricsAddr, "off")
	logger := testLogger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err := runAPI(ctx, logger, []string{"-addr", freeAddr(t)})
	require.Error(t, err)
	for _, name := range []string{"SECRETS_KEY", "PAYLOAD_KEYS", "PUBLIC_URL", "CSRF_KEY", "SECURE_COOKIES"} {
		require.ErrorContains(t, err, name)
	}
	require.ErrorContains(t, err, fmt.Sprintf("%s=%s refuses to start api", envMode, modeProduction))

	err = runWorker(ctx, logger)
	require.Error(t, err)
	for _, name := range []string{"SECRETS_KEY", "PAYLOAD_KEYS", "PUBLIC_URL"} {
		require.ErrorContains(t, err, name)
	}
	require.ErrorContains(t, err, "refuses to start worker")
	require.False(t, strings.Contains(err.Error(), "CSRF_KEY"), "the worker has no forms: %v", err)
}

// TestSeedRegistersDemoWebhook runs `jobmanager seed` as the compose demo profile does:
// it registers the demo dealer's webhook with the bezahl.de simulator once, however
// often it runs.
func TestSeedRegistersDemoWebhook(t *testing.T) {
	sim, err := bezahlsim.Start("127.0.0.1:0", simulators.BezahlToken, simulators.BezahlOrg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	cleanEnv(t)
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	t.Setenv("BEZAHL_URL", sim.APIURL())
	t.Setenv("BEZAHL_TOKEN", simulators.BezahlToken)
	t.Setenv("BEZAHL_ORG", simulators.BezahlOrg)
	t.Setenv("BEZAHL_WEBHOOK_SECRET", simulators.WebhookSecret)
	t.Setenv(envSeedWebhookBase, "http://api:8080/")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := testLogger(t)

	require.NoError(t, runSeed(ctx, logger))
	require.NoError(t, runSeed(ctx, logger))
	c := &bezahl.Client{BaseURL: sim.APIURL(), Token: simulators.BezahlToken, OrgID: simulators.BezahlOrg}
	hooks, err := c.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, "http://api:8080/api/v1/webhooks/bezahl/"+demo.Dealer, hooks[0].URL)

	t.Run("secret missing", func(t *testing.T) {
		t.Setenv("BEZAHL_WEBHOOK_SECRET", "")
		require.ErrorContains(t, runSeed(ctx, logger), "BEZAHL_WEBHOOK_SECRET")
	})
	t.Run("no bezahl.de", func(t *testing.T) {
		t.Setenv("BEZAHL_URL", "")
		t.Setenv("BEZAHL_TOKEN", "")
		t.Setenv("BEZAHL_ORG", "")
		require.NoError(t, runSeed(ctx, logger))
	})
}
