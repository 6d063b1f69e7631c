// Package pgtest gives tests a real, fresh, migrated PostgreSQL database.
//
// With DATABASE_URL set, each database is created on that server. Otherwise the first
// call starts one private cluster per test binary from the local PostgreSQL binaries
// (see devstack.StartPostgres); it is stopped and its data removed when the test binary
// exits, even when the binary is killed. Either way every call gets its own database,
// so tests may run in parallel.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/store"
)

// EnvURL names the environment variable with the URL of a server to create test
// databases on instead of starting a private cluster.
const EnvURL = "DATABASE_URL"

var (
	once      sync.Once
	serverURL string
	serverErr error
)

// New returns a Store on a fresh, migrated database; the store is closed and the
// database dropped when the test ends (kept, and its URL logged, if the test failed).
func New(t testing.TB) *store.Store {
	t.Helper()
	u := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Registered after URL's cleanup, so it runs first: the pool is closed before the
	// database is dropped.
	t.Cleanup(s.Close)
	return s
}

// URL creates a fresh, migrated database and returns its URL, for tests that open
// their own pool or start a process against it. The database is dropped when the test
// ends (kept, and its URL logged, if the test failed).
func URL(t testing.TB) string {
	t.Helper()
	base := server(t)
	name := "test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := execAdmin(ctx, base, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: keeping database %s of the failed test", u)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends sessions a test left open, such as a pool it did not close.
		if err := execAdmin(ctx, base, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	if err := store.MigrateURL(ctx, u); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// server returns the URL of the server test databases are created on, starting the
// private cluster on first use.
func server(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	once.Do(func() { serverURL, serverErr = startCluster() })
	if serverErr != nil {
		t.Fatalf("pgtest: %v (set %s to use an existing server)", serverErr, EnvURL)
	}
	return serverURL
}

func startCluster() (string, error) {
	dir, err := os.MkdirTemp("", "jobmanager-pgtest-")
	if err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := devstack.StartPostgres(ctx, dir, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	// A test binary has no hook for its own end; the watchdog stops the cluster and
	// removes its data when the process is gone.
	if err := pg.StopOnExit(true); err != nil {
		_ = pg.Stop()
		_ = os.RemoveAll(dir)
		return "", err
	}
	return pg.URL, nil
}

// execAdmin runs a statement that must not run inside a transaction, on its own
// connection.
func execAdmin(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns serverURL pointing at another database; it takes URLs and
// key=value connection strings.
func withDatabase(serverURL, name string) (string, error) {
	if strings.HasPrefix(serverURL, "postgres://") || strings.HasPrefix(serverURL, "postgresql://") {
		u, err := url.Parse(serverURL)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In a key=value string the last setting of a key wins.
	return serverURL + " dbname=" + name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
