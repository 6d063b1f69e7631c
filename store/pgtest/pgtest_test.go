package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/store/pgtest"
)

func TestEachCallGetsItsOwnMigratedDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.URL(t), pgtest.URL(t)
	require.NotEqual(t, a, b)
	for _, u := range []string{a, b} {
		conn, err := pgx.Connect(ctx, u)
		require.NoError(t, err)
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM jobs").Scan(&n))
		require.Zero(t, n)
		require.NoError(t, conn.Close(ctx))
	}

	s := pgtest.New(t)
	_, err := s.Pool().Exec(ctx, "INSERT INTO dealers (id, name) VALUES ('x', 'X')")
	require.NoError(t, err)
	require.Zero(t, count(t, a, "SELECT count(*) FROM dealers"), "databases are independent")
}

func TestParallelUse(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := pgtest.New(t)
			require.NoError(t, s.Pool().Ping(context.Background()))
		})
	}
}

func count(t *testing.T, url, sql string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&n))
	return n
}
