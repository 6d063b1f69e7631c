package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/job"
)

// Dealer is a car dealer: a tenant of the system.
type Dealer struct {
	// ID is the dealer's slug (lower-case letters, digits, '-', '_'); it appears in
	// workflow IDs job/<dealer>/<number>.
	ID   string `db:"id" json:"id"`
	Name string `db:"name" json:"name"`
	// NextJobNumber is the number the dealer's next job gets.
	NextJobNumber int64 `db:"next_job_number" json:"next_job_number"`
	// DefaultSalesperson is the staff user ID new jobs are assigned to, or empty.
	DefaultSalesperson string         `db:"default_salesperson" json:"default_salesperson,omitempty"`
	Settings           map[string]any `db:"settings" json:"settings,omitempty"`
	// ActiveWorkflow is the workflow key new jobs start with, or empty.
	ActiveWorkflow string    `db:"active_workflow" json:"active_workflow,omitempty"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

const dealerColumns = `id, name, next_job_number, default_salesperson, settings, active_workflow, created_at`

// CreateDealer adds a dealer whose job numbers start at 1. ID, Name,
// DefaultSalesperson and Settings are taken from d; ErrConflict if the ID is taken.
func (s *Store) CreateDealer(ctx context.Context, d Dealer) (Dealer, error) {
	settings := d.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO dealers (id, name, default_salesperson, settings)
		VALUES ($1, $2, $3, $4)
		RETURNING `+dealerColumns,
		d.ID, d.Name, d.DefaultSalesperson, settings)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Dealer])
	return out, wrap(err, "create dealer %q", d.ID)
}

// GetDealer returns the dealer, or ErrNotFound.
func (s *Store) GetDealer(ctx context.Context, id string) (Dealer, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+dealerColumns+` FROM dealers WHERE id = $1`, id)
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Dealer])
	return d, wrap(err, "get dealer %q", id)
}

// ListDealers returns every dealer ordered by ID.
func (s *Store) ListDealers(ctx context.Context) ([]Dealer, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+dealerColumns+` FROM dealers ORDER BY id`)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[Dealer])
	return ds, wrap(err, "list dealers")
}

// Role is what a staff user may do.
type Role string

// Staff roles: owners and admins edit definitions and staff; sales work on jobs.
const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleSales Role = "sales"
)

// StaffUser is a person working for a dealer.
type StaffUser struct {
	ID     string `db:"id" json:"id"`
	Dealer string `db:"dealer" json:"dealer"`
	Email  string `db:"email" json:"email"`
	Name   string `db:"name" json:"name"`
	Role   Role   `db:"role" json:"role"`
	// PasswordHash is the hash as produced by the caller (bcrypt or argon2id); the store
	// never sees a password.
	PasswordHash string    `db:"password_hash" json:"-"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
}

const staffColumns = `id::text AS id, dealer, email, name, role, password_hash, created_at`

// CreateStaffUser adds a staff user; an empty ID gets a new UUID. ErrConflict if the
// dealer already has a user with that e-mail address (compared case-insensitively).
func (s *Store) CreateStaffUser(ctx context.Context, u StaffUser) (StaffUser, error) {
	if u.ID == "" {
		u.ID = newID()
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO staff_users (id, dealer, email, name, role, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+staffColumns,
		u.ID, u.Dealer, strings.TrimSpace(u.Email), u.Name, string(u.Role), u.PasswordHash)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[StaffUser])
	return out, wrap(err, "create staff user %q of dealer %q", u.Email, u.Dealer)
}

// GetStaffUser returns the dealer's staff user with the ID, or ErrNotFound.
func (s *Store) GetStaffUser(ctx context.Context, dealer, id string) (StaffUser, error) {
	if !validUUID(id) {
		return StaffUser{}, fmt.Errorf("get staff user %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+staffColumns+` FROM staff_users WHERE dealer = $1 AND id = $2`, dealer, id)
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[StaffUser])
	return u, wrap(err, "get staff user %q of dealer %q", id, dealer)
}

// GetStaffUserByEmail returns the dealer's staff user with the e-mail address (compared
// case-insensitively), or ErrNotFound.
func (s *Store) GetStaffUserByEmail(ctx context.Context, dealer, email string) (StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+staffColumns+` FROM staff_users WHERE dealer = $1 AND lower(email) = lower($2)`,
		dealer, strings.TrimSpace(email))
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[StaffUser])
	return u, wrap(err, "get staff user %q of dealer %q", email, dealer)
}

// ListStaffUsers returns the dealer's staff users ordered by name.
func (s *Store) ListStaffUsers(ctx context.Context, dealer string) ([]StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+staffColumns+` FROM staff_users WHERE dealer = $1 ORDER BY name, email`, dealer)
	us, err := pgx.CollectRows(rows, pgx.RowToStructByName[StaffUser])
	return us, wrap(err, "list staff users of dealer %q", dealer)
}

// Customer is a dealer's customer. Its personal data lives here; jobs and workflows
// carry only its ID.
type Customer struct {
	ID        string    `db:"id" json:"id"`
	Dealer    string    `db:"dealer" json:"dealer"`
	Name      string    `db:"name" json:"name"`
	Email     string    `db:"email" json:"email,omitempty"`
	Phone     string    `db:"phone" json:"phone,omitempty"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

const customerColumns = `id::text AS id, dealer, name, email, phone, created_at`

// CreateCustomer adds a customer; an empty ID gets a new UUID.
func (s *Store) CreateCustomer(ctx context.Context, c Customer) (Customer, error) {
	if c.ID == "" {
		c.ID = newID()
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO customers (id, dealer, name, email, phone)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+customerColumns,
		c.ID, c.Dealer, c.Name, strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	return out, wrap(err, "create customer of dealer %q", c.Dealer)
}

// GetCustomer returns the dealer's customer with the ID, or ErrNotFound.
func (s *Store) GetCustomer(ctx context.Context, dealer, id string) (Customer, error) {
	if !validUUID(id) {
		return Customer{}, fmt.Errorf("get customer %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE dealer = $1 AND id = $2`, dealer, id)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	return c, wrap(err, "get customer %q of dealer %q", id, dealer)
}

const vehicleColumns = `id::text AS id, number, make, model, price_cents, location, extras`

// CreateVehicle adds a vehicle to the dealer's stock; an empty ID gets a new UUID.
// ErrConflict if the dealer already has a vehicle with that number.
func (s *Store) CreateVehicle(ctx context.Context, dealer string, v job.Vehicle) (job.Vehicle, error) {
	if v.ID == "" {
		v.ID = newID()
	}
	extras := v.Extras
	if extras == nil {
		extras = []string{}
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO vehicles (id, dealer, number, make, model, price_cents, location, extras)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+vehicleColumns,
		v.ID, dealer, v.Number, v.Make, v.Model, v.PriceCents, v.Location, extras)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[job.Vehicle])
	return out, wrap(err, "create vehicle %q of dealer %q", v.Number, dealer)
}

// GetVehicle returns the dealer's vehicle with the ID, or ErrNotFound.
func (s *Store) GetVehicle(ctx context.Context, dealer, id string) (job.Vehicle, error) {
	if !validUUID(id) {
		return job.Vehicle{}, fmt.Errorf("get vehicle %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer = $1 AND id = $2`, dealer, id)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[job.Vehicle])
	return v, wrap(err, "get vehicle %q of dealer %q", id, dealer)
}

// ListVehicles returns the dealer's vehicles ordered by number.
func (s *Store) ListVehicles(ctx context.Context, dealer string) ([]job.Vehicle, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer = $1 ORDER BY number`, dealer)
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByName[job.Vehicle])
	return vs, wrap(err, "list vehicles of dealer %q", dealer)
}

// newID returns a time-ordered UUID (v7), which keeps inserts index-friendly.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does, where V4 fails too.
		return uuid.NewString()
	}
	return id.String()
}

// validUUID guards lookups by ID: PostgreSQL answers a malformed UUID with an error,
// but to a caller it is simply an ID that does not exist.
func validUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// SetDefaultSalesperson sets the staff user new jobs are assigned to when the customer
// has no salesperson of their own.
func (s *Store) SetDefaultSalesperson(ctx context.Context, dealer, staffID string) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE dealers SET default_salesperson = $2
		WHERE id = $1 AND EXISTS (SELECT 1 FROM staff_users WHERE dealer = $1 AND id::text = $2)`,
		dealer, staffID)
	if err != nil {
		return wrap(err, "set default salesperson of dealer %q", dealer)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set default salesperson of dealer %q: dealer or staff user %q: %w", dealer, staffID, ErrNotFound)
	}
	return nil
}

// FindCustomerByEmail returns the dealer's customer with the e-mail address, compared
// case-insensitively; ErrNotFound if there is none.
func (s *Store) FindCustomerByEmail(ctx context.Context, dealer, email string) (Customer, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE dealer = $1 AND lower(email) = lower($2) ORDER BY created_at LIMIT 1`, dealer, email)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	return c, wrap(err, "find customer %q of dealer %q", email, dealer)
}
