package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// ErrKeyReused is returned (wrapped) by AllocateJob when an idempotency key that made a
// job comes again with a different request.
var ErrKeyReused = errors.New("idempotency key reused for a different request")

// ErrInvalidCursor is returned (wrapped) by ListJobs for a cursor it did not make.
var ErrInvalidCursor = errors.New("invalid cursor")

// ErrCursorSort is returned (wrapped) by ListJobs for a cursor it made for another
// sort; errors.Is also finds ErrInvalidCursor in it.
var ErrCursorSort = fmt.Errorf("%w: made for another sort", ErrInvalidCursor)

// ErrUnknownTestFilter is returned (wrapped) by ListJobs for a JobFilter.Test it does
// not know.
var ErrUnknownTestFilter = errors.New("unknown test filter")

// TestFilter says how a job list treats test jobs.
type TestFilter string

// Test filters.
const (
	TestExclude TestFilter = ""
	TestInclude TestFilter = "include"
	TestOnly    TestFilter = "only"
)

// Valid reports whether ListJobs knows t.
func (t TestFilter) Valid() bool {
	return t == TestExclude || t == TestInclude || t == TestOnly
}

// ErrUnknownSort is returned (wrapped) by ListJobs for a sort it does not know.
var ErrUnknownSort = errors.New("unknown sort")

// List page sizes.
const (
	DefaultJobLimit = 50
	MaxJobLimit     = 500
)

const jobColumns = `dealer, number, phase, phase_name, status, turn, vehicle_id, customer_id, salesperson,
	location, source, definition_workflow, definition_version, definition_hash, seq, updated_at, test`

// uuidPattern matches a well-formed UUID; the jobs row keeps IDs as text the workflow
// reported, so only those are looked up (see job_search_text, migration 00009).
const uuidPattern = `'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`

// jobNames are the names a job's row shows beside its IDs: the vehicle's number, the
// customer's name and the salesperson's (a staff user's) name, each empty when the ID
// names nothing of the dealer's. Scalar subqueries in the select list: PostgreSQL
// evaluates them only for the rows a list's LIMIT keeps, so a page costs two primary
// key lookups per row. A dealer's few staff users are scanned, not looked up: the
// planner scans a small table, and a scan that checked the UUID pattern per staff row
// cost 1.5 ms a page (measured: 51 rows, 12 staff); comparing text costs 0.05 ms.
const jobNames = `,
	coalesce((SELECT v.number FROM vehicles v WHERE v.dealer = jobs.dealer AND v.id =
		CASE WHEN jobs.vehicle_id ~* ` + uuidPattern + ` THEN jobs.vehicle_id::uuid END), '') AS vehicle_number,
	coalesce((SELECT c.name FROM customers c WHERE c.dealer = jobs.dealer AND c.id =
		CASE WHEN jobs.customer_id ~* ` + uuidPattern + ` THEN jobs.customer_id::uuid END), '') AS customer_name,
	coalesce((SELECT u.name FROM staff_users u WHERE u.dealer = jobs.dealer AND u.id::text = jobs.salesperson), '') AS salesperson_name`

// jobRecord is a jobs row as stored, with its names (jobNames); job.Row nests the
// definition reference.
type jobRecord struct {
	Dealer             string    `db:"dealer"`
	Number             int64     `db:"number"`
	Phase              string    `db:"phase"`
	PhaseName          string    `db:"phase_name"`
	Status             string    `db:"status"`
	Turn               string    `db:"turn"`
	VehicleID          string    `db:"vehicle_id"`
	CustomerID         string    `db:"customer_id"`
	Salesperson        string    `db:"salesperson"`
	Location           string    `db:"location"`
	Source             string    `db:"source"`
	DefinitionWorkflow string    `db:"definition_workflow"`
	DefinitionVersion  int       `db:"definition_version"`
	DefinitionHash     string    `db:"definition_hash"`
	Seq                int64     `db:"seq"`
	UpdatedAt          time.Time `db:"updated_at"`
	Test               bool      `db:"test"`
	VehicleNumber      string    `db:"vehicle_number"`
	CustomerName       string    `db:"customer_name"`
	SalespersonName    string    `db:"salesperson_name"`
}

func (r jobRecord) row() job.Row {
	return job.Row{
		Dealer:      r.Dealer,
		Number:      r.Number,
		Phase:       r.Phase,
		PhaseName:   r.PhaseName,
		Status:      job.Status(r.Status),
		Turn:        definitions.Turn(r.Turn),
		VehicleID:   r.VehicleID,
		CustomerID:  r.CustomerID,
		Salesperson: r.Salesperson,
		Location:    r.Location,
		Source:      job.Source(r.Source),
		Definition:  definitions.Ref{Workflow: r.DefinitionWorkflow, Version: r.DefinitionVersion, Hash: r.DefinitionHash},
		Seq:         r.Seq,
		UpdatedAt:   r.UpdatedAt,
		Test:        r.Test,

		VehicleNumber:   r.VehicleNumber,
		CustomerName:    r.CustomerName,
		SalespersonName: r.SalespersonName,
	}
}

// rowArgs are the values of the jobs columns from dealer to seq, then updated_at and
// test, in insert order ($1 to $17).
func rowArgs(r job.Row) []any {
	return []any{
		r.Dealer, r.Number, r.Phase, r.PhaseName, string(r.Status), string(r.Turn), r.VehicleID, r.CustomerID,
		r.Salesperson, r.Location, string(r.Source), r.Definition.Workflow, r.Definition.Version, r.Definition.Hash,
		r.Seq, nullTime(r.UpdatedAt), r.Test,
	}
}

const insertJob = `
	INSERT INTO jobs (dealer, number, phase, phase_name, status, turn, vehicle_id, customer_id, salesperson,
		location, source, definition_workflow, definition_version, definition_hash, seq, updated_at, test)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, coalesce($16, now()), $17)`

// AllocateJob gives a new job its number and read-model row, once per idempotency key:
// the first call with (dealer, key) takes the dealer's next number (sequential from 1,
// never reused, also under concurrency), stores row under it with seq 0 and returns
// created true; every later call with the same key returns that number and created
// false, whatever row it passes. An empty key allocates without idempotency. The row's
// Dealer, Number and Seq are set here; an empty Status means open. ErrNotFound when the
// dealer does not exist.
func (s *Store) AllocateJob(ctx context.Context, dealer, idempotencyKey, fingerprint string, row job.Row) (number int64, created bool, err error) {
	if idempotencyKey != "" {
		// The common retry finds its number without touching the dealer's row lock.
		number, err = s.requestedJob(ctx, s.pool, dealer, idempotencyKey, fingerprint)
		if err == nil {
			return number, false, nil
		}
		if errors.Is(err, ErrKeyReused) {
			return 0, false, fmt.Errorf("allocate job for dealer %q: %w", dealer, err)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, false, wrap(err, "allocate job for dealer %q", dealer)
		}
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The dealer's row lock serialises allocations of one dealer: numbers come out
		// in order without gaps, and a concurrent request with the same key waits here
		// and then finds the first one's number below.
		var next int64
		if err := tx.QueryRow(ctx, `SELECT next_job_number FROM dealers WHERE id = $1 FOR UPDATE`, dealer).Scan(&next); err != nil {
			return err
		}
		if idempotencyKey != "" {
			n, err := s.requestedJob(ctx, tx, dealer, idempotencyKey, fingerprint)
			if err == nil {
				number = n
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE dealers SET next_job_number = next_job_number + 1 WHERE id = $1`, dealer); err != nil {
			return err
		}
		row.Dealer, row.Number, row.Seq = dealer, next, 0
		if row.Status == "" {
			row.Status = job.StatusOpen
		}
		if _, err := tx.Exec(ctx, insertJob, rowArgs(row)...); err != nil {
			return err
		}
		if idempotencyKey != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO job_requests (dealer, key, number, fingerprint) VALUES ($1, $2, $3, $4)`,
				dealer, idempotencyKey, next, fingerprint); err != nil {
				return err
			}
		}
		number, created = next, true
		return nil
	})
	if err != nil {
		return 0, false, wrap(err, "allocate job for dealer %q", dealer)
	}
	return number, created, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) requestedJob(ctx context.Context, q querier, dealer, key, fingerprint string) (int64, error) {
	var n int64
	var stored string
	err := q.QueryRow(ctx, `SELECT number, fingerprint FROM job_requests WHERE dealer = $1 AND key = $2`, dealer, key).Scan(&n, &stored)
	if err == nil && stored != fingerprint {
		return 0, fmt.Errorf("key %q made job %d: %w", key, n, ErrKeyReused)
	}
	return n, err
}

// Project writes one projection in a single transaction: the audit entries are
// inserted unless an entry with their seq exists (a retried or replayed write adds
// nothing), and the row replaces the stored one only if it is newer (higher Seq), or is
// inserted if the job has no row yet. Writing the same projection twice, or an old one
// after a new one, leaves the newest state.
func (s *Store) Project(ctx context.Context, p job.Projection) error {
	r := p.Row
	batch := &pgx.Batch{}
	// The row goes first: audit entries reference it.
	batch.Queue(insertJob+`
		ON CONFLICT (dealer, number) DO UPDATE SET
			phase = EXCLUDED.phase,
			phase_name = EXCLUDED.phase_name,
			status = EXCLUDED.status,
			turn = EXCLUDED.turn,
			vehicle_id = EXCLUDED.vehicle_id,
			customer_id = EXCLUDED.customer_id,
			salesperson = EXCLUDED.salesperson,
			location = EXCLUDED.location,
			source = EXCLUDED.source,
			definition_workflow = EXCLUDED.definition_workflow,
			definition_version = EXCLUDED.definition_version,
			definition_hash = EXCLUDED.definition_hash,
			seq = EXCLUDED.seq,
			updated_at = EXCLUDED.updated_at
			-- test is left as AllocateJob set it: the workflow does not know it.
		WHERE jobs.seq < EXCLUDED.seq`, rowArgs(r)...)
	if len(p.State) > 0 {
		// Only the projection whose row won keeps its state with it.
		batch.Queue(`UPDATE jobs SET state = $3 WHERE dealer = $1 AND number = $2 AND seq = $4`,
			r.Dealer, r.Number, p.State, r.Seq)
	}
	for _, e := range p.Entries {
		batch.Queue(`
			INSERT INTO job_audit (dealer, number, seq, at, actor_side, actor_id, action, phase, before, after)
			VALUES ($1, $2, $3, coalesce($4, now()), $5, $6, $7, $8, $9, $10)
			ON CONFLICT (dealer, number, seq) DO NOTHING`,
			r.Dealer, r.Number, e.Seq, nullTime(e.At), string(e.Actor.Side), e.Actor.ID, e.Action, e.Phase,
			jsonObject(e.Before), jsonObject(e.After))
	}
	// One round trip: the projection runs as a local activity inside a workflow update,
	// where latency is the user's wait. PostgreSQL runs the statements of a pipeline up
	// to its one Sync as an implicit transaction, so they still commit all or nothing.
	err := s.pool.SendBatch(ctx, batch).Close()
	return wrap(err, "project job %s at seq %d", job.WorkflowID(r.Dealer, r.Number), r.Seq)
}

// JobState returns the job workflow's state as last projected, or ErrNotFound when the
// job has none (it never started).
func (s *Store) JobState(ctx context.Context, dealer string, number int64) (json.RawMessage, error) {
	var state []byte
	err := s.pool.QueryRow(ctx, `SELECT state FROM jobs WHERE dealer = $1 AND number = $2`, dealer, number).Scan(&state)
	if err == nil && state == nil {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return nil, wrap(err, "state of job %s", job.WorkflowID(dealer, number))
	}
	return state, nil
}

// GetJob returns the job's read-model row, or ErrNotFound.
func (s *Store) GetJob(ctx context.Context, dealer string, number int64) (job.Row, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+jobColumns+jobNames+` FROM jobs WHERE dealer = $1 AND number = $2`, dealer, number)
	rec, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[jobRecord])
	if err != nil {
		return job.Row{}, wrap(err, "get job %s", job.WorkflowID(dealer, number))
	}
	return rec.row(), nil
}

// JobFilter narrows a job list; zero fields do not filter.
type JobFilter struct {
	// Statuses keeps jobs with any of these statuses.
	Statuses    []job.Status
	Phase       string
	Turn        definitions.Turn
	Salesperson string
	Location    string
	Source      job.Source
	VehicleID   string
	CustomerID  string
	// Test says how test jobs (the sandbox's) are listed: left out when empty
	// (TestExclude), with the others (TestInclude) or alone (TestOnly).
	Test TestFilter
	// Query is free text: every whitespace-separated term must occur, case-insensitively,
	// in the job's vehicle's number, make or model, or its customer's name, e-mail or
	// phone (see SearchTerms); a term that is a number may also be the job's number.
	Query string
	// Sort orders the list; SortUpdated when empty.
	Sort JobSort
	// Limit is the page size: DefaultJobLimit when zero, at most MaxJobLimit.
	Limit int
	// Cursor continues a list where the previous page ended; it is the nextCursor that
	// ListJobs returned for the same sort.
	Cursor string
}

// ListJobs returns the dealer's jobs that match the filter in the filter's sort order,
// one page at a time. nextCursor is empty on the last page. Every sort ends in the
// job number, so the order is total and a cursor (the sort key of a page's last row)
// continues without gaps or repeats. A job changed between two page requests may move
// past the cursor and be missed or seen twice, as in any list ordered by what changes.
// ErrInvalidCursor for a cursor ListJobs did not make, ErrCursorSort (which is also an
// ErrInvalidCursor) for one made for another sort, ErrUnknownSort for a sort it does
// not know.
func (s *Store) ListJobs(ctx context.Context, dealer string, f JobFilter) (jobs []job.Row, nextCursor string, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultJobLimit
	}
	if limit > MaxJobLimit {
		limit = MaxJobLimit
	}
	sort := f.Sort
	if sort == "" {
		sort = SortUpdated
	}
	spec, ok := sortSpecs[sort]
	if !ok {
		return nil, "", fmt.Errorf("list jobs of dealer %q: %w: %q", dealer, ErrUnknownSort, sort)
	}
	// seq 0 is a number allocated for a job whose workflow has not started (its start
	// failed and waits for the client's retry): not a job anyone can work on yet.
	where := []string{"dealer = $1", "seq > 0"}
	args := []any{dealer}
	add := func(cond string, vs ...any) {
		for _, v := range vs {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	switch len(f.Statuses) {
	case 0:
	case 1:
		// = rather than ANY: the list indexes carry status after their sort key, and
		// PostgreSQL checks an array comparison there only against the table row
		// (migration 00010).
		add("status = ?", string(f.Statuses[0]))
	default:
		ss := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			ss[i] = string(st)
		}
		add("status = ANY(?)", ss)
	}
	for _, c := range []struct{ col, v string }{
		{"phase", f.Phase},
		{"turn", string(f.Turn)},
		{"salesperson", f.Salesperson},
		{"location", f.Location},
		{"source", string(f.Source)},
		{"vehicle_id", f.VehicleID},
		{"customer_id", f.CustomerID},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	switch f.Test {
	case TestExclude:
		where = append(where, "NOT test")
	case TestInclude:
	case TestOnly:
		where = append(where, "test")
	default:
		return nil, "", fmt.Errorf("list jobs of dealer %q: %w: %q", dealer, ErrUnknownTestFilter, f.Test)
	}
	for _, t := range SearchTerms(f.Query) {
		// Both sides are lower-cased by PostgreSQL, so they fold alike whatever the
		// database's locale. A number is also the job's own: staff look a job up by it.
		if n, err := strconv.ParseInt(t, 10, 64); err == nil && n > 0 && t[0] != '0' {
			add("(number = ? OR search LIKE lower(?))", n, likePattern(t))
			continue
		}
		add("search LIKE lower(?)", likePattern(t))
	}
	if f.Cursor != "" {
		keys, err := decodeJobCursor(f.Cursor, sort)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of dealer %q: %w", dealer, err)
		}
		add(spec.after, keys...)
	}
	args = append(args, limit+1)
	sql := `SELECT ` + jobColumns + jobNames + ` FROM jobs WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + spec.order + ` LIMIT $` + strconv.Itoa(len(args))
	rows, _ := s.pool.Query(ctx, sql, args...)
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByName[jobRecord])
	if err != nil {
		return nil, "", wrap(err, "list jobs of dealer %q", dealer)
	}
	if len(recs) > limit {
		recs = recs[:limit]
		nextCursor = encodeJobCursor(sort, spec.keys(recs[limit-1]))
	}
	jobs = make([]job.Row, len(recs))
	for i, r := range recs {
		jobs[i] = r.row()
	}
	return jobs, nextCursor, nil
}

type auditRecord struct {
	Seq       int64          `db:"seq"`
	At        time.Time      `db:"at"`
	ActorSide string         `db:"actor_side"`
	ActorID   string         `db:"actor_id"`
	Action    string         `db:"action"`
	Phase     string         `db:"phase"`
	Before    map[string]any `db:"before"`
	After     map[string]any `db:"after"`
}

// Audit returns the job's history in order; empty for a job without entries or
// without a row.
func (s *Store) Audit(ctx context.Context, dealer string, number int64) ([]job.AuditEntry, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT seq, at, actor_side, actor_id, action, phase, before, after
		FROM job_audit WHERE dealer = $1 AND number = $2 ORDER BY seq`,
		dealer, number)
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByName[auditRecord])
	if err != nil {
		return nil, wrap(err, "audit of job %s", job.WorkflowID(dealer, number))
	}
	entries := make([]job.AuditEntry, len(recs))
	for i, r := range recs {
		entries[i] = job.AuditEntry{
			Seq:    r.Seq,
			At:     r.At,
			Actor:  job.Actor{Side: job.Side(r.ActorSide), ID: r.ActorID},
			Action: r.Action,
			Phase:  r.Phase,
			Before: r.Before,
			After:  r.After,
		}
	}
	return entries, nil
}
