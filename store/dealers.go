package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// Dealer settings the store and the API read from Dealer.Settings.
const (
	// SettingCustomerSalesperson (bool): a new job of a customer who has a salesperson
	// of their own gets that salesperson instead of the dealer's default.
	SettingCustomerSalesperson = "customer_salesperson"
	// SettingCallbackVehicle (vehicle ID): the vehicle a call-back request without one
	// is about, such as a "general inquiry" entry of the dealer's stock.
	SettingCallbackVehicle = "callback_vehicle"
)

// Flag reports whether the boolean setting is true; absent or not a boolean is false.
func (d Dealer) Flag(name string) bool {
	b, ok := d.Settings[name].(bool)
	return ok && b
}

// Setting returns the string setting; absent or not a string is "".
func (d Dealer) Setting(name string) string {
	s, _ := d.Settings[name].(string)
	return s
}

// SetDealerSetting sets one setting of the dealer to value (any JSON value); nil
// removes it. ErrNotFound when the dealer does not exist.
func (s *Store) SetDealerSetting(ctx context.Context, dealer, name string, value any) error {
	var tag pgconn.CommandTag
	var err error
	if value == nil {
		tag, err = s.pool.Exec(ctx, `UPDATE dealers SET settings = settings - $2 WHERE id = $1`, dealer, name)
	} else {
		// Encoded here: pgx takes a Go string for a jsonb parameter as JSON text.
		raw, merr := json.Marshal(value)
		if merr != nil {
			return fmt.Errorf("set setting %q of dealer %q: %w", name, dealer, merr)
		}
		tag, err = s.pool.Exec(ctx, `UPDATE dealers SET settings = jsonb_set(settings, ARRAY[$2::text], $3::jsonb) WHERE id = $1`,
			dealer, name, string(raw))
	}
	if err != nil {
		return wrap(err, "set setting %q of dealer %q", name, dealer)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set setting %q of dealer %q: %w", name, dealer, ErrNotFound)
	}
	return nil
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
	ID     string `db:"id" json:"id"`
	Dealer string `db:"dealer" json:"dealer"`
	Name   string `db:"name" json:"name"`
	Email  string `db:"email" json:"email,omitempty"`
	Phone  string `db:"phone" json:"phone,omitempty"`
	// Salesperson is the staff user ID of the customer's own salesperson, or empty.
	Salesperson string `db:"salesperson" json:"salesperson,omitempty"`
	// Language is the language the customer's messages go out in: LanguageGerman
	// (also when empty on create) or LanguageEnglish.
	Language  string    `db:"language" json:"language"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Customer languages; the database refuses any other.
const (
	LanguageGerman  = "de"
	LanguageEnglish = "en"
)

const customerColumns = `id::text AS id, dealer, name, email, phone, COALESCE(salesperson::text, '') AS salesperson, language, created_at`

// CreateCustomer adds a customer; an empty ID gets a new UUID. A salesperson, when
// given, must be a staff user of the dealer (ErrNotFound otherwise).
func (s *Store) CreateCustomer(ctx context.Context, c Customer) (Customer, error) {
	if c.ID == "" {
		c.ID = newID()
	}
	if c.Salesperson != "" && !validUUID(c.Salesperson) {
		return Customer{}, fmt.Errorf("create customer of dealer %q: salesperson %q: %w", c.Dealer, c.Salesperson, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO customers (id, dealer, name, email, phone, salesperson, language)
		SELECT $1, $2, $3, $4, $5, NULLIF($6, '')::uuid, COALESCE(NULLIF($7, ''), 'de')
		WHERE $6 = '' OR EXISTS (SELECT 1 FROM staff_users WHERE dealer = $2 AND id::text = $6)
		RETURNING `+customerColumns,
		c.ID, c.Dealer, c.Name, strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone), c.Salesperson, c.Language)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	if errors.Is(err, pgx.ErrNoRows) {
		return Customer{}, fmt.Errorf("create customer of dealer %q: salesperson %q: %w", c.Dealer, c.Salesperson, ErrNotFound)
	}
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

// Vehicles are deleted softly (DeleteVehicle): jobs keep naming them. GetVehicle finds
// a deleted vehicle too, as the vehicle of its jobs; ListVehicles, LiveVehicle and new
// jobs see only the live ones.

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

// GetVehicle returns the dealer's vehicle with the ID, deleted or not, or ErrNotFound.
func (s *Store) GetVehicle(ctx context.Context, dealer, id string) (job.Vehicle, error) {
	if !validUUID(id) {
		return job.Vehicle{}, fmt.Errorf("get vehicle %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer = $1 AND id = $2`, dealer, id)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[job.Vehicle])
	return v, wrap(err, "get vehicle %q of dealer %q", id, dealer)
}

// LiveVehicle returns the dealer's vehicle with the ID unless it was deleted; a new
// job starts only with a live vehicle. ErrNotFound otherwise.
func (s *Store) LiveVehicle(ctx context.Context, dealer, id string) (job.Vehicle, error) {
	if !validUUID(id) {
		return job.Vehicle{}, fmt.Errorf("get vehicle %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer = $1 AND id = $2 AND deleted_at IS NULL`, dealer, id)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[job.Vehicle])
	return v, wrap(err, "get vehicle %q of dealer %q", id, dealer)
}

// ListVehicles returns the dealer's live vehicles ordered by number.
func (s *Store) ListVehicles(ctx context.Context, dealer string) ([]job.Vehicle, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer = $1 AND deleted_at IS NULL ORDER BY number`, dealer)
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
	rows, _ := s.pool.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE dealer = $1 AND lower(email) = lower($2) AND NOT test ORDER BY created_at LIMIT 1`, dealer, email)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	return c, wrap(err, "find customer %q of dealer %q", email, dealer)
}

// Marketplaces a vehicle can be listed on; an inquiry from one finds the vehicle by its
// listing ID there.
const (
	MarketplaceMobileDe    = "mobile.de"
	MarketplaceAutoScout24 = "autoscout24"
)

// Marketplaces lists the known marketplaces.
var Marketplaces = []string{MarketplaceMobileDe, MarketplaceAutoScout24}

// ConflictError names what a write would duplicate, as the field of the request that
// holds it ("number", "listings.mobile.de", "email"); it wraps ErrConflict.
type ConflictError struct {
	Field string
	Err   error
}

func (e *ConflictError) Error() string { return fmt.Sprintf("%s: %v", e.Field, e.Err) }

func (e *ConflictError) Unwrap() []error { return []error{ErrConflict, e.Err} }

// ErrVehicleInUse is returned (wrapped in *VehicleInUseError) when a vehicle with open
// jobs is to be deleted.
var ErrVehicleInUse = errors.New("vehicle has open jobs")

// VehicleInUseError says how many open jobs keep a vehicle from being deleted.
type VehicleInUseError struct{ OpenJobs int64 }

func (e *VehicleInUseError) Error() string {
	return fmt.Sprintf("%v: %d", ErrVehicleInUse, e.OpenJobs)
}

func (e *VehicleInUseError) Unwrap() error { return ErrVehicleInUse }

// VehicleRecord is a vehicle as staff manage it: what jobs know of it, the internal
// data no customer sees, its marketplace listings, and how many jobs it has.
type VehicleRecord struct {
	job.Vehicle
	PurchasePriceCents int64  `db:"purchase_price_cents"`
	Notes              string `db:"notes"`
	// Listings maps a marketplace to the vehicle's listing ID there.
	Listings map[string]string `db:"listings"`
	// Jobs counts every job of the vehicle; OpenJobs those not closed or canceled.
	Jobs      int64     `db:"jobs"`
	OpenJobs  int64     `db:"open_jobs"`
	CreatedAt time.Time `db:"created_at"`
}

// VehicleChange is an edit of a vehicle; nil fields stay as they are. A listing set to
// "" is removed; marketplaces not named keep their listing.
type VehicleChange struct {
	Number             *string
	Make               *string
	Model              *string
	PriceCents         *int64
	PurchasePriceCents *int64
	Location           *string
	Extras             *[]string
	Notes              *string
	Listings           map[string]string
}

// ListQuery pages a list of vehicles or customers: Q keeps rows that contain it
// (case-insensitively) in a text column, Limit is the page size (DefaultListLimit when
// zero, at most MaxListLimit), Cursor continues after the previous page.
type ListQuery struct {
	Q      string
	Limit  int
	Cursor string
}

// Page sizes of vehicle and customer lists.
const (
	DefaultListLimit = 100
	MaxListLimit     = 500
)

func (q ListQuery) limit() int {
	switch {
	case q.Limit <= 0:
		return DefaultListLimit
	case q.Limit > MaxListLimit:
		return MaxListLimit
	}
	return q.Limit
}

// A list cursor is the sort key and ID of a page's last row, as JSON in base64url.
func encodeListCursor(sortKey, id string) string {
	b, _ := json.Marshal([2]string{sortKey, id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeListCursor(c string) (sortKey, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	var v [2]string
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil || !validUUID(v[1]) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidCursor, c)
	}
	return v[0], v[1], nil
}

const vehicleRecordSelect = `
	SELECT v.id::text AS id, v.number, v.make, v.model, v.price_cents, v.location, v.extras,
		v.purchase_price_cents, v.notes, v.created_at,
		COALESCE((SELECT jsonb_object_agg(l.marketplace, l.listing_id) FROM vehicle_listings l WHERE l.vehicle_id = v.id), '{}') AS listings,
		n.jobs, n.open_jobs
	FROM vehicles v
	CROSS JOIN LATERAL (
		SELECT count(*) AS jobs, count(*) FILTER (WHERE j.status NOT IN ('closed', 'canceled')) AS open_jobs
		FROM jobs j WHERE j.dealer = v.dealer AND j.vehicle_id = v.id::text
	) n`

// ListVehicleRecords returns a page of the dealer's live vehicles ordered by number,
// with Q matched against number, make and model. ErrInvalidCursor for a cursor it did
// not make.
func (s *Store) ListVehicleRecords(ctx context.Context, dealer string, q ListQuery) ([]VehicleRecord, string, error) {
	where := []string{"v.dealer = $1", "v.deleted_at IS NULL"}
	args := []any{dealer}
	if q.Q != "" {
		args = append(args, strings.ToLower(q.Q))
		where = append(where, "strpos(lower(v.number || ' ' || v.make || ' ' || v.model), $2) > 0")
	}
	if q.Cursor != "" {
		number, id, err := decodeListCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list vehicles of dealer %q: %w", dealer, err)
		}
		args = append(args, number, id)
		where = append(where, fmt.Sprintf("(v.number, v.id) > ($%d, $%d::uuid)", len(args)-1, len(args)))
	}
	limit := q.limit()
	args = append(args, limit+1)
	rows, _ := s.pool.Query(ctx, vehicleRecordSelect+` WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY v.number, v.id LIMIT $%d`, len(args)), args...)
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByName[VehicleRecord])
	if err != nil {
		return nil, "", wrap(err, "list vehicles of dealer %q", dealer)
	}
	next := ""
	if len(vs) > limit {
		vs = vs[:limit]
		next = encodeListCursor(vs[limit-1].Number, vs[limit-1].ID)
	}
	return vs, next, nil
}

// GetVehicleRecord returns the dealer's live vehicle with the ID, or ErrNotFound.
func (s *Store) GetVehicleRecord(ctx context.Context, dealer, id string) (VehicleRecord, error) {
	return getVehicleRecord(ctx, s.pool, dealer, id)
}

func getVehicleRecord(ctx context.Context, q rowsQuerier, dealer, id string) (VehicleRecord, error) {
	if !validUUID(id) {
		return VehicleRecord{}, fmt.Errorf("get vehicle %q: %w", id, ErrNotFound)
	}
	rows, _ := q.Query(ctx, vehicleRecordSelect+` WHERE v.dealer = $1 AND v.id = $2 AND v.deleted_at IS NULL`, dealer, id)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[VehicleRecord])
	return v, wrap(err, "get vehicle %q of dealer %q", id, dealer)
}

// CreateVehicleRecord adds a vehicle with its internal data and listings; an empty ID
// gets a new UUID. A *ConflictError names a number or listing the dealer's live
// vehicles already have.
func (s *Store) CreateVehicleRecord(ctx context.Context, dealer string, v VehicleRecord) (VehicleRecord, error) {
	if v.ID == "" {
		v.ID = newID()
	}
	extras := v.Extras
	if extras == nil {
		extras = []string{}
	}
	var out VehicleRecord
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO vehicles (id, dealer, number, make, model, price_cents, location, extras, purchase_price_cents, notes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			v.ID, dealer, v.Number, v.Make, v.Model, v.PriceCents, v.Location, extras, v.PurchasePriceCents, v.Notes)
		if err != nil {
			return vehicleConflict(err)
		}
		if err := setListings(ctx, tx, dealer, v.ID, v.Listings); err != nil {
			return err
		}
		out, err = getVehicleRecord(ctx, tx, dealer, v.ID)
		return err
	})
	return out, wrap(err, "create vehicle %q of dealer %q", v.Number, dealer)
}

// UpdateVehicleRecord applies the change to the dealer's live vehicle and returns it
// as it is now. ErrNotFound for an unknown or deleted vehicle; a *ConflictError names a
// number or listing another live vehicle has. Jobs keep the vehicle as it was when they
// started.
func (s *Store) UpdateVehicleRecord(ctx context.Context, dealer, id string, ch VehicleChange) (VehicleRecord, error) {
	if !validUUID(id) {
		return VehicleRecord{}, fmt.Errorf("update vehicle %q: %w", id, ErrNotFound)
	}
	var extras any
	if ch.Extras != nil {
		extras = *ch.Extras
		if *ch.Extras == nil {
			extras = []string{}
		}
	}
	var out VehicleRecord
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE vehicles SET
				number = COALESCE($3, number), make = COALESCE($4, make), model = COALESCE($5, model),
				price_cents = COALESCE($6, price_cents), purchase_price_cents = COALESCE($7, purchase_price_cents),
				location = COALESCE($8, location), extras = COALESCE($9, extras), notes = COALESCE($10, notes)
			WHERE dealer = $1 AND id = $2 AND deleted_at IS NULL`,
			dealer, id, ch.Number, ch.Make, ch.Model, ch.PriceCents, ch.PurchasePriceCents, ch.Location, extras, ch.Notes)
		if err != nil {
			return vehicleConflict(err)
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if err := setListings(ctx, tx, dealer, id, ch.Listings); err != nil {
			return err
		}
		out, err = getVehicleRecord(ctx, tx, dealer, id)
		return err
	})
	return out, wrap(err, "update vehicle %q of dealer %q", id, dealer)
}

// setListings sets the vehicle's listing on each named marketplace; "" removes it.
// Marketplaces are taken in a fixed order, so a conflict names the same one each time.
func setListings(ctx context.Context, tx pgx.Tx, dealer, vehicleID string, listings map[string]string) error {
	for _, m := range Marketplaces {
		listing, ok := listings[m]
		if !ok {
			continue
		}
		if _, err := tx.Exec(ctx, `DELETE FROM vehicle_listings WHERE vehicle_id = $1 AND marketplace = $2`, vehicleID, m); err != nil {
			return err
		}
		if listing == "" {
			continue
		}
		_, err := tx.Exec(ctx, `INSERT INTO vehicle_listings (dealer, marketplace, listing_id, vehicle_id) VALUES ($1, $2, $3, $4)`,
			dealer, m, listing, vehicleID)
		if isUniqueViolation(err) {
			return &ConflictError{Field: "listings." + m, Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// vehicleConflict names the number when a vehicle write duplicates it.
func vehicleConflict(err error) error {
	if isUniqueViolation(err) {
		return &ConflictError{Field: "number", Err: err}
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// DeleteVehicle deletes the dealer's vehicle softly: it leaves the lists and can start
// no job, while its jobs keep showing it; its listings are dropped. A vehicle with open
// jobs (neither closed nor canceled) is refused with a *VehicleInUseError. ErrNotFound
// for an unknown or deleted vehicle.
func (s *Store) DeleteVehicle(ctx context.Context, dealer, id string) error {
	if !validUUID(id) {
		return fmt.Errorf("delete vehicle %q: %w", id, ErrNotFound)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The vehicle's row lock orders concurrent deletes and edits of it.
		var found bool
		if err := tx.QueryRow(ctx, `SELECT true FROM vehicles WHERE dealer = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`,
			dealer, id).Scan(&found); err != nil {
			return err
		}
		var open int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE dealer = $1 AND vehicle_id = $2 AND status NOT IN ('closed', 'canceled')`,
			dealer, id).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return &VehicleInUseError{OpenJobs: open}
		}
		if _, err := tx.Exec(ctx, `UPDATE vehicles SET deleted_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM vehicle_listings WHERE vehicle_id = $1`, id)
		return err
	})
	return wrap(err, "delete vehicle %q of dealer %q", id, dealer)
}

// VehicleByListing returns the dealer's live vehicle listed on the marketplace under
// the listing ID, or ErrNotFound.
func (s *Store) VehicleByListing(ctx context.Context, dealer, marketplace, listingID string) (job.Vehicle, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT v.id::text AS id, v.number, v.make, v.model, v.price_cents, v.location, v.extras
		FROM vehicle_listings l JOIN vehicles v ON v.id = l.vehicle_id
		WHERE l.dealer = $1 AND l.marketplace = $2 AND l.listing_id = $3 AND v.deleted_at IS NULL`,
		dealer, marketplace, listingID)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[job.Vehicle])
	return v, wrap(err, "vehicle listed on %s as %q for dealer %q", marketplace, listingID, dealer)
}

// CustomerRecord is a customer as staff manage them: the record, whether it has an
// account, and how many jobs it has.
type CustomerRecord struct {
	Customer
	HasAccount bool `db:"has_account"`
	// Jobs counts every job of the customer; OpenJobs those not closed or canceled.
	Jobs     int64 `db:"jobs"`
	OpenJobs int64 `db:"open_jobs"`
}

// CustomerChange is an edit of a customer; nil fields stay as they are. Salesperson ""
// removes the customer's own salesperson.
type CustomerChange struct {
	Name        *string
	Email       *string
	Phone       *string
	Salesperson *string
	Language    *string
}

const customerRecordSelect = `
	SELECT c.id::text AS id, c.dealer, c.name, c.email, c.phone, COALESCE(c.salesperson::text, '') AS salesperson,
		c.language, c.created_at, c.password_hash <> '' AS has_account, n.jobs, n.open_jobs
	FROM customers c
	CROSS JOIN LATERAL (
		SELECT count(*) AS jobs, count(*) FILTER (WHERE j.status NOT IN ('closed', 'canceled')) AS open_jobs
		FROM jobs j WHERE j.dealer = c.dealer AND j.customer_id = c.id::text
	) n`

// ListCustomerRecords returns a page of the dealer's customers ordered by name, with Q
// matched against name, e-mail and phone. ErrInvalidCursor for a cursor it did not
// make.
func (s *Store) ListCustomerRecords(ctx context.Context, dealer string, q ListQuery) ([]CustomerRecord, string, error) {
	// Test customers (the sandbox's, store/sandbox.go) are staff, not customers.
	where := []string{"c.dealer = $1", "NOT c.test"}
	args := []any{dealer}
	if q.Q != "" {
		args = append(args, strings.ToLower(q.Q))
		where = append(where, "strpos(lower(c.name || ' ' || c.email || ' ' || c.phone), $2) > 0")
	}
	if q.Cursor != "" {
		name, id, err := decodeListCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list customers of dealer %q: %w", dealer, err)
		}
		args = append(args, name, id)
		where = append(where, fmt.Sprintf("(lower(c.name), c.id) > ($%d, $%d::uuid)", len(args)-1, len(args)))
	}
	limit := q.limit()
	args = append(args, limit+1)
	rows, _ := s.pool.Query(ctx, customerRecordSelect+` WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY lower(c.name), c.id LIMIT $%d`, len(args)), args...)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[CustomerRecord])
	if err != nil {
		return nil, "", wrap(err, "list customers of dealer %q", dealer)
	}
	next := ""
	if len(cs) > limit {
		cs = cs[:limit]
		next = encodeListCursor(strings.ToLower(cs[limit-1].Name), cs[limit-1].ID)
	}
	return cs, next, nil
}

// GetCustomerRecord returns the dealer's customer with the ID, or ErrNotFound.
func (s *Store) GetCustomerRecord(ctx context.Context, dealer, id string) (CustomerRecord, error) {
	if !validUUID(id) {
		return CustomerRecord{}, fmt.Errorf("get customer %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, customerRecordSelect+` WHERE c.dealer = $1 AND c.id = $2`, dealer, id)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[CustomerRecord])
	return c, wrap(err, "get customer %q of dealer %q", id, dealer)
}

// UpdateCustomer applies the change to the dealer's customer and returns the record.
// ErrNotFound for an unknown customer or a salesperson who is not the dealer's staff;
// a *ConflictError naming email when the address is another account's of the dealer.
func (s *Store) UpdateCustomer(ctx context.Context, dealer, id string, ch CustomerChange) (CustomerRecord, error) {
	if !validUUID(id) || (ch.Salesperson != nil && *ch.Salesperson != "" && !validUUID(*ch.Salesperson)) {
		return CustomerRecord{}, fmt.Errorf("update customer %q: %w", id, ErrNotFound)
	}
	trim := func(p *string) *string {
		if p == nil {
			return nil
		}
		t := strings.TrimSpace(*p)
		return &t
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE customers SET
			name = COALESCE($3, name), email = COALESCE($4, email), phone = COALESCE($5, phone),
			salesperson = CASE WHEN $6::text IS NULL THEN salesperson ELSE NULLIF($6, '')::uuid END,
			language = COALESCE($7, language)
		WHERE dealer = $1 AND id = $2
			AND ($6::text IS NULL OR $6 = '' OR EXISTS (SELECT 1 FROM staff_users WHERE dealer = $1 AND id::text = $6))`,
		dealer, id, ch.Name, trim(ch.Email), trim(ch.Phone), ch.Salesperson, ch.Language)
	if isUniqueViolation(err) {
		return CustomerRecord{}, fmt.Errorf("update customer %q of dealer %q: %w", id, dealer, &ConflictError{Field: "email", Err: err})
	}
	if err != nil {
		return CustomerRecord{}, wrap(err, "update customer %q of dealer %q", id, dealer)
	}
	if tag.RowsAffected() == 0 {
		return CustomerRecord{}, fmt.Errorf("update customer %q of dealer %q: customer or salesperson: %w", id, dealer, ErrNotFound)
	}
	return s.GetCustomerRecord(ctx, dealer, id)
}

// FindOrCreateCustomer returns the dealer's customer with c's e-mail address (compared
// case-insensitively; an account before a mere record, then the oldest), or creates c
// when the dealer knows no such address; created says which. Concurrent calls for the
// same address wait for each other, so they make one customer.
func (s *Store) FindOrCreateCustomer(ctx context.Context, c Customer) (out Customer, created bool, err error) {
	email := strings.TrimSpace(c.Email)
	if email == "" {
		return Customer{}, false, fmt.Errorf("find or create customer of dealer %q: no e-mail address", c.Dealer)
	}
	if c.ID == "" {
		c.ID = newID()
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('customer-email:' || $1 || ':' || lower($2), 0))`,
			c.Dealer, email); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE dealer = $1 AND lower(email) = lower($2) AND NOT test
			ORDER BY password_hash <> '' DESC, created_at, id LIMIT 1`, c.Dealer, email)
		found, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
		if err == nil {
			out = found
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, _ = tx.Query(ctx, `
			INSERT INTO customers (id, dealer, name, email, phone) VALUES ($1, $2, $3, $4, $5)
			RETURNING `+customerColumns,
			c.ID, c.Dealer, c.Name, email, strings.TrimSpace(c.Phone))
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
		created = err == nil
		return err
	})
	return out, created, wrap(err, "find or create customer of dealer %q", c.Dealer)
}
