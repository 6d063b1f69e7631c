// Package store keeps Jobmanager's data in PostgreSQL: dealers, staff, customers and
// vehicles, workflow definitions and their published versions, the job read model
// with its append-only audit trail and its free text search, and staff users' saved
// list views. It uses a pgx/v5 pool, hand-written SQL and goose migrations embedded in
// the binary.
//
// The read model is written only by the job workflow's projection (Project) and by job
// creation (AllocateJob); the API reads lists and history from it, so neither needs a
// running workflow.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNotFound is returned (wrapped) when the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) when a write would duplicate something unique, such
// as a staff e-mail address or a vehicle number of the dealer.
var ErrConflict = errors.New("already exists")

// Store is the application's access to PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a postgres:// URL or key=value string) and
// checks that it answers. It does not migrate; call Migrate for that.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	// Times leave the database in UTC, whatever the server's or the host's zone, so
	// values compare and render the same everywhere.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// Every query is a span of the request or activity that ran it, through the global
	// tracer provider (package telemetry sets it; without one the spans cost nothing).
	// Span names carry the statement's verb only; the statement without its parameters
	// is an attribute, so no customer data reaches the traces. Query durations go to
	// the global meter provider, so /metrics has them too.
	cfg.ConnConfig.Tracer = otelpgx.NewTracer()
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return &Store{pool: pool}, nil
}

// New wraps an existing pool, for callers that configure the pool themselves (tracing,
// pool sizes). The Store then owns the pool: Close closes it.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Close closes the pool; it waits for connections in use to be returned.
func (s *Store) Close() { s.pool.Close() }

// Pool is the underlying connection pool, for health checks and for tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies the store's migrations that are not applied yet.
func (s *Store) Migrate(ctx context.Context) error { return Migrate(ctx, s.pool) }

// Migrate applies the embedded migrations that are not applied yet to the database of
// pool. A session lock serialises concurrent callers, so several replicas may migrate on
// start at once; applying migrations twice is a no-op.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	p, err := newMigrator(pool)
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrateURL connects to url, migrates and disconnects, for `jobmanager migrate`.
func MigrateURL(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: open database: %w", err)
	}
	defer pool.Close()
	return Migrate(ctx, pool)
}

// SchemaVersion reports the applied migration version and the newest one embedded.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (current, latest int64, err error) {
	p, err := newMigrator(pool)
	if err != nil {
		return 0, 0, err
	}
	defer p.Close()
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	return current, latest, nil
}

func newMigrator(pool *pgxpool.Pool) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	// Closing the provider closes this *sql.DB, which hands its connections back to the
	// pool without closing the pool.
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// wrap adds context to a database error and maps the cases callers act on to
// ErrNotFound and ErrConflict.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	op := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return fmt.Errorf("%s: %w: %w", op, ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// IsPermanent reports whether err is a database refusal that a retry cannot cure: bad
// data (class 22) or a violated constraint or trigger guard (class 23), as opposed to a
// lost connection or a deadlock.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	if len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23":
		return true
	}
	return false
}

// jsonObject turns a nil map into SQL NULL instead of JSON null.
func jsonObject(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// nullTime turns the zero time into SQL NULL, so the column default (now()) applies.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
