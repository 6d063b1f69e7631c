package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/store"
)

// Check is one dependency a readiness probe asks about.
type Check struct {
	Name string
	// Ping answers nil when the dependency works; it must respect ctx's deadline.
	Ping func(context.Context) error
}

// readyTimeout bounds a readiness probe; Kubernetes' default probe timeout is 1 s, so
// deployments give the probe a few seconds (deploy/).
const readyTimeout = 3 * time.Second

// OpsHandler serves what a process without an HTTP API of its own (the worker) shows
// its orchestrator: /healthz (the process runs), /readyz (every check passes; 503 with
// the failures otherwise) and /metrics.
func OpsHandler(metrics http.Handler, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		answer, status := map[string]string{"status": "ok"}, http.StatusOK
		for _, c := range checks {
			if err := c.Ping(ctx); err != nil {
				answer[c.Name], answer["status"], status = err.Error(), "not ready", http.StatusServiceUnavailable
				continue
			}
			answer[c.Name] = "ok"
		}
		writeJSON(w, status, answer)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DependencyChecks are what a worker's readiness asks: PostgreSQL and Temporal, the
// two things it cannot work without.
func DependencyChecks(st *store.Store, c client.Client) []Check {
	return []Check{
		{Name: "postgres", Ping: st.Pool().Ping},
		{Name: "temporal", Ping: func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
}

// ServeOps serves h on addr until ctx is done. An empty addr serves nothing and waits
// for ctx, so callers can switch the listener off by configuration.
func ServeOps(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for health and metrics on %s: %w", addr, err)
	}
	if logger != nil {
		logger.Info("health and metrics listening", "addr", ln.Addr().String())
	}
	return Serve(ctx, ln, h)
}

// Serve serves h on ln until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	addr := ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve health and metrics on %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down health and metrics listener: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve health and metrics on %s: %w", addr, err)
	}
	return nil
}
