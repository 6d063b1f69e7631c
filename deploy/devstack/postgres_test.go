package devstack

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// pgTestDataDir returns a data dir the postgres user can reach: t.TempDir's parents are closed
// to other users when tests run as root.
func pgTestDataDir(t *testing.T) string {
	t.Helper()
	if _, err := pgFindBinDir(); err != nil {
		t.Skip(err)
	}
	base, err := os.MkdirTemp("", "devstack-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	return filepath.Join(base, "pg")
}

func pgExec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
}

func pgCount(t *testing.T, url, sql string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&n))
	return n
}

func TestStartPostgresTwiceKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := pgTestDataDir(t)

	pg, err := StartPostgres(ctx, dir, t.Logf)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "PG_VERSION"))
	require.Contains(t, pg.URL, "/"+DatabaseName)
	pgExec(t, pg.URL, "CREATE TABLE kept (v int)")
	pgExec(t, pg.URL, "INSERT INTO kept VALUES (42)")
	require.NoError(t, pg.Stop())
	require.NoError(t, pg.Stop(), "a second Stop is harmless")
	require.NoFileExists(t, filepath.Join(dir, "postmaster.pid"))

	pg2, err := StartPostgres(ctx, dir, t.Logf)
	require.NoError(t, err)
	defer pg2.Stop()
	require.False(t, pg2.Reused)
	require.Equal(t, 1, pgCount(t, pg2.URL, "SELECT count(*) FROM kept WHERE v = 42"))
}

func TestStartPostgresAdoptsServerOfKilledRun(t *testing.T) {
	ctx := context.Background()
	dir := pgTestDataDir(t)

	// The first handle is dropped without Stop, as when `make dev` is killed.
	first, err := StartPostgres(ctx, dir, t.Logf)
	require.NoError(t, err)
	pgExec(t, first.URL, "CREATE TABLE t (v int)")

	second, err := StartPostgres(ctx, dir, t.Logf)
	require.NoError(t, err)
	require.True(t, second.Reused)
	require.Equal(t, first.Port, second.Port)
	require.Equal(t, 0, pgCount(t, second.URL, "SELECT count(*) FROM t"))
	require.NoError(t, second.Stop())
	require.NoFileExists(t, filepath.Join(dir, "postmaster.pid"))
	require.NoError(t, first.Stop(), "stopping an already stopped server is harmless")
}

func TestStartPostgresRemovesStalePidFile(t *testing.T) {
	ctx := context.Background()
	dir := pgTestDataDir(t)
	pg, err := StartPostgres(ctx, dir, t.Logf)
	require.NoError(t, err)
	require.NoError(t, pg.Stop())

	// A lock file naming a process that is not a postmaster of this dir (our own test
	// process) must not block the start, nor get that process stopped.
	stale := []byte(strconv.Itoa(os.Getpid()) + "\n" + dir + "\n0\n5432\n/tmp\n127.0.0.1\n0 0\nready\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "postmaster.pid"), stale, 0o600))

	pg2, err := StartPostgres(ctx, dir, t.Logf)
	require.NoError(t, err)
	defer pg2.Stop()
	require.False(t, pg2.Reused)
	require.Equal(t, 1, pgCount(t, pg2.URL, "SELECT 1"))
}

func TestStopOnExitRemovesDataDir(t *testing.T) {
	ctx := context.Background()
	dir := pgTestDataDir(t)
	pg, err := StartPostgres(ctx, dir, nil)
	require.NoError(t, err)
	require.NoError(t, pg.StopOnExit(true))
	sock := pg.SocketDir
	require.NoError(t, pg.Stop())
	require.NoDirExists(t, dir)
	require.NoDirExists(t, sock)
}
