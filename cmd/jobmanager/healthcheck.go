package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// healthcheckTimeout bounds one probe: container engines run it every few seconds and
// count a hang as a failure anyway.
const healthcheckTimeout = 3 * time.Second

// runHealthcheck probes one address and fails unless it answers: an http(s) URL must
// answer 2xx to a GET, a tcp://host:port address must accept a connection. It exists
// because the distroless image has no shell, curl or wget for a container health check
// (`jobmanager healthcheck http://127.0.0.1:8080/readyz`).
func runHealthcheck(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: jobmanager healthcheck <http://host:port/path | tcp://host:port>")
	}
	u, err := url.Parse(args[0])
	if err != nil {
		return fmt.Errorf("healthcheck: parse %q: %w", args[0], err)
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	switch u.Scheme {
	case "tcp":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		return conn.Close()
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("healthcheck: %s answered %s", u.Redacted(), resp.Status)
		}
		return nil
	default:
		return fmt.Errorf("healthcheck: scheme %q: want http, https or tcp", u.Scheme)
	}
}
