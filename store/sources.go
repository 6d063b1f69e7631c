package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// What the job sources keep besides the job itself: the anonymous customer session a
// job was started under (parked vehicle, call-back request), so the session's parking
// page finds it and a later login links it to the customer. Vehicles by marketplace
// listing and customers by e-mail live next to the vehicle and customer code.

// JobByRequest returns the number of the job the dealer's idempotency key made, or
// ErrNotFound when the key made none; ErrKeyReused when it made one for a request with
// another fingerprint. Sources look a key up before they do work that a repeat must
// not do again (count a request against a rate limit, create a customer).
func (s *Store) JobByRequest(ctx context.Context, dealer, key, fingerprint string) (int64, error) {
	n, err := s.requestedJob(ctx, s.pool, dealer, key, fingerprint)
	if errors.Is(err, ErrKeyReused) {
		return 0, fmt.Errorf("job by request of dealer %q: %w", dealer, err)
	}
	return n, wrap(err, "job by request %q of dealer %q", key, dealer)
}

// RecordJobSession notes that the anonymous customer session started the job. A job
// has at most one such session: a second call keeps the first.
func (s *Store) RecordJobSession(ctx context.Context, dealer string, number int64, session string) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO job_sessions (dealer, number, session) VALUES ($1, $2, $3)
		ON CONFLICT (dealer, number) DO NOTHING`, dealer, number, session)
	return wrap(err, "record session of job %s", job.WorkflowID(dealer, number))
}

// SessionStartedJob reports whether the anonymous customer session started the job.
func (s *Store) SessionStartedJob(ctx context.Context, dealer string, number int64, session string) (bool, error) {
	if session == "" {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM job_sessions WHERE dealer = $1 AND number = $2 AND session = $3)`,
		dealer, number, session).Scan(&ok)
	return ok, wrap(err, "session of job %s", job.WorkflowID(dealer, number))
}

// UnlinkedSessionJobs returns the numbers of the jobs the session started that are not
// yet linked to a customer by MarkSessionJobLinked, oldest first.
func (s *Store) UnlinkedSessionJobs(ctx context.Context, dealer, session string) ([]int64, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT number FROM job_sessions WHERE dealer = $1 AND session = $2 AND linked_at IS NULL ORDER BY number`,
		dealer, session)
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ns, wrap(err, "unlinked jobs of a session of dealer %q", dealer)
}

// MarkSessionJobLinked records that the job's workflow linked the customer, so the
// link is not sent again.
func (s *Store) MarkSessionJobLinked(ctx context.Context, dealer string, number int64, customerID string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE job_sessions SET linked_to = NULLIF($3, '')::uuid, linked_at = now()
		WHERE dealer = $1 AND number = $2 AND linked_at IS NULL`, dealer, number, customerID)
	return wrap(err, "mark job %s linked", job.WorkflowID(dealer, number))
}

// CustomerJob is a job as its customer's parking page lists it: no staff data
// (salesperson, the job's location, internal fields), and the vehicle as the public
// vehicle list shows it.
type CustomerJob struct {
	Number    int64            `db:"number"`
	Phase     string           `db:"phase"`
	PhaseName string           `db:"phase_name"`
	Status    job.Status       `db:"status"`
	Turn      definitions.Turn `db:"turn"`
	UpdatedAt time.Time        `db:"updated_at"`
	Vehicle   job.Vehicle      `db:"-"`
	// The vehicle's columns, gathered into Vehicle.
	VehicleID         string   `db:"vehicle_id"`
	VehicleNumber     string   `db:"vehicle_number"`
	VehicleMake       string   `db:"vehicle_make"`
	VehicleModel      string   `db:"vehicle_model"`
	VehiclePriceCents int64    `db:"vehicle_price_cents"`
	VehicleLocation   string   `db:"vehicle_location"`
	VehicleExtras     []string `db:"vehicle_extras"`
}

// CustomerJobsFilter names whose jobs a parking page lists: the jobs of the customer,
// and those the anonymous session started; or, for a signed link, that one job only.
type CustomerJobsFilter struct {
	CustomerID string
	Session    string
	// Number, when not zero, limits the list to that job (of anyone: the signed link
	// that gives it was made for it).
	Number int64
}

// MaxCustomerJobs bounds a parking page's list; it shows the most recently changed.
const MaxCustomerJobs = 200

// CustomerJobs lists the jobs a customer's parking page shows, most recently changed
// first. Jobs whose workflow never started (seq 0) are left out, as in ListJobs. The
// vehicle is shown even if it was deleted since.
func (s *Store) CustomerJobs(ctx context.Context, dealer string, f CustomerJobsFilter) ([]CustomerJob, error) {
	mine := `SELECT number FROM jobs WHERE dealer = $1 AND $2 <> '' AND customer_id = $2
		UNION
		SELECT number FROM job_sessions WHERE dealer = $1 AND $3 <> '' AND session = $3`
	args := []any{dealer, f.CustomerID, f.Session}
	if f.Number != 0 {
		mine = `SELECT $2::bigint AS number`
		args = []any{dealer, f.Number}
	}
	args = append(args, MaxCustomerJobs)
	rows, _ := s.pool.Query(ctx, `
		WITH mine AS (`+mine+`)
		SELECT j.number, j.phase, j.phase_name, j.status, j.turn, j.updated_at,
			COALESCE(v.id::text, '') AS vehicle_id, COALESCE(v.number, '') AS vehicle_number,
			COALESCE(v.make, '') AS vehicle_make, COALESCE(v.model, '') AS vehicle_model,
			COALESCE(v.price_cents, 0) AS vehicle_price_cents, COALESCE(v.location, '') AS vehicle_location,
			COALESCE(v.extras, '{}') AS vehicle_extras
		FROM mine JOIN jobs j ON j.dealer = $1 AND j.number = mine.number
		LEFT JOIN vehicles v ON v.dealer = j.dealer
			AND v.id = CASE WHEN j.vehicle_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN j.vehicle_id::uuid END
		WHERE j.seq > 0
		ORDER BY j.updated_at DESC, j.number DESC
		LIMIT $`+strconv.Itoa(len(args)), args...)
	jobs, err := pgx.CollectRows(rows, pgx.RowToStructByName[CustomerJob])
	if err != nil {
		return nil, wrap(err, "jobs of a customer of dealer %q", dealer)
	}
	for i := range jobs {
		j := &jobs[i]
		j.Vehicle = job.Vehicle{
			ID: j.VehicleID, Number: j.VehicleNumber, Make: j.VehicleMake, Model: j.VehicleModel,
			PriceCents: j.VehiclePriceCents, Location: j.VehicleLocation, Extras: j.VehicleExtras,
		}
	}
	return jobs, nil
}
