package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SessionKind is whose browser a session belongs to.
type SessionKind string

// Session kinds.
const (
	SessionStaff    SessionKind = "staff"
	SessionCustomer SessionKind = "customer"
)

// Session is a browser's login. ID is the SHA-256 (hex) of the cookie's token; the
// token itself is never stored.
type Session struct {
	ID     string      `db:"id"`
	Kind   SessionKind `db:"kind"`
	Dealer string      `db:"dealer"`
	// StaffID names the staff user of a staff session; StaffRole is that user's role
	// as stored now, read with the session, so a changed role applies at once.
	StaffID   string `db:"staff_id"`
	StaffRole Role   `db:"staff_role"`
	// CustomerID names the customer of a customer session; empty for an anonymous one.
	CustomerID string `db:"customer_id"`
	// LoggedIn is true when the customer logged in to the account with a password.
	LoggedIn bool `db:"logged_in"`
	// JobNumber limits a session opened through a signed link to that job; 0 otherwise.
	JobNumber int64 `db:"job_number"`
	// Origin is the ID of the anonymous session this one continues, or empty.
	Origin     string    `db:"origin"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	// ExpiresAt slides with use; NotAfter (when set) is a hard end it never passes.
	ExpiresAt time.Time  `db:"expires_at"`
	NotAfter  *time.Time `db:"not_after"`
}

const sessionColumns = `s.id, s.kind, s.dealer, COALESCE(s.staff_id::text, '') AS staff_id,
	COALESCE(u.role, '') AS staff_role, COALESCE(s.customer_id::text, '') AS customer_id, s.logged_in,
	COALESCE(s.job_number, 0) AS job_number, s.origin, s.created_at, s.last_seen_at, s.expires_at, s.not_after`

// CreateSession stores a new session. Kind, Dealer, ID and ExpiresAt are required;
// ExpiresAt is capped at NotAfter when that is set.
func (s *Store) CreateSession(ctx context.Context, sess Session) (Session, error) {
	rows, _ := s.pool.Query(ctx, `
		WITH s AS (
			INSERT INTO sessions (id, kind, dealer, staff_id, customer_id, logged_in, job_number, origin, expires_at, not_after)
			VALUES ($1, $2, $3, NULLIF($4, '')::uuid, NULLIF($5, '')::uuid, $6, NULLIF($7::bigint, 0), $8,
				LEAST($9::timestamptz, COALESCE($10::timestamptz, 'infinity')), $10)
			RETURNING *
		)
		SELECT `+sessionColumns+` FROM s LEFT JOIN staff_users u ON u.id = s.staff_id`,
		sess.ID, string(sess.Kind), sess.Dealer, sess.StaffID, sess.CustomerID, sess.LoggedIn, sess.JobNumber, sess.Origin,
		sess.ExpiresAt.UTC(), sess.NotAfter)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Session])
	return out, wrap(err, "create %s session of dealer %q", sess.Kind, sess.Dealer)
}

// GetSession returns the session with the ID unless it has expired; ErrNotFound
// otherwise.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT `+sessionColumns+` FROM sessions s LEFT JOIN staff_users u ON u.id = s.staff_id
		WHERE s.id = $1 AND s.expires_at > now()`, id)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Session])
	return out, wrap(err, "get session")
}

// TouchSession records a use of the session and moves its expiry to ttl from now,
// never past its NotAfter. It returns the new expiry; ErrNotFound when the session is
// gone or expired.
func (s *Store) TouchSession(ctx context.Context, id string, ttl time.Duration) (time.Time, error) {
	var expires time.Time
	err := s.pool.QueryRow(ctx, `
		UPDATE sessions SET last_seen_at = now(), expires_at = LEAST(now() + $2::interval, COALESCE(not_after, 'infinity'))
		WHERE id = $1 AND expires_at > now()
		RETURNING expires_at`, id, ttl).Scan(&expires)
	return expires, wrap(err, "touch session")
}

// DeleteSession ends the session; a session that does not exist is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return wrap(err, "delete session")
}

// DeleteStaffSessions ends every session of the staff user.
func (s *Store) DeleteStaffSessions(ctx context.Context, staffID string) error {
	if !validUUID(staffID) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1`, staffID)
	return wrap(err, "delete sessions of staff user %q", staffID)
}

// CustomerAccount is a customer with the password hash of the account; the hash is
// empty for a customer record without an account.
type CustomerAccount struct {
	Customer
	PasswordHash string `db:"password_hash" json:"-"`
}

const customerAccountColumns = customerColumns + `, password_hash`

// CreateCustomerAccount adds a customer with an account (a password hash, made by the
// caller). ErrConflict if the dealer already has an account with the address.
func (s *Store) CreateCustomerAccount(ctx context.Context, c Customer, passwordHash string) (Customer, error) {
	if c.ID == "" {
		c.ID = newID()
	}
	if passwordHash == "" {
		return Customer{}, fmt.Errorf("create customer account of dealer %q: empty password hash", c.Dealer)
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO customers (id, dealer, name, email, phone, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+customerColumns,
		c.ID, c.Dealer, c.Name, strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone), passwordHash)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	return out, wrap(err, "create customer account of dealer %q", c.Dealer)
}

// CustomerAccountByEmail returns the dealer's customer account with the address
// (compared case-insensitively) or, when there is no account, the oldest customer
// record with it (PasswordHash empty); ErrNotFound when the dealer knows no such
// address.
func (s *Store) CustomerAccountByEmail(ctx context.Context, dealer, email string) (CustomerAccount, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return CustomerAccount{}, fmt.Errorf("find customer account of dealer %q: empty address: %w", dealer, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `
		SELECT `+customerAccountColumns+` FROM customers
		WHERE dealer = $1 AND lower(email) = lower($2) AND NOT test
		ORDER BY password_hash <> '' DESC, created_at, id LIMIT 1`, dealer, email)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[CustomerAccount])
	return c, wrap(err, "find customer account of dealer %q", dealer)
}

// SetCustomerPassword gives the dealer's customer an account with the password hash,
// or replaces its password. ErrNotFound for an unknown customer; ErrConflict when
// another record of the dealer already has an account with the same address.
func (s *Store) SetCustomerPassword(ctx context.Context, dealer, id, passwordHash string) error {
	if !validUUID(id) {
		return fmt.Errorf("set password of customer %q: %w", id, ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE customers SET password_hash = $3 WHERE dealer = $1 AND id = $2`, dealer, id, passwordHash)
	if err != nil {
		return wrap(err, "set password of customer %q of dealer %q", id, dealer)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set password of customer %q of dealer %q: %w", id, dealer, ErrNotFound)
	}
	return nil
}

// APIToken is an integration's token of one dealer. Hash is the SHA-256 (hex) of the
// token; the token itself is shown once and never stored.
type APIToken struct {
	ID        string     `db:"id" json:"id"`
	Dealer    string     `db:"dealer" json:"dealer"`
	Name      string     `db:"name" json:"name"`
	Hash      string     `db:"hash" json:"-"`
	CreatedBy string     `db:"created_by" json:"created_by,omitempty"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	RevokedAt *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

const apiTokenColumns = `id::text AS id, dealer, name, hash, created_by, created_at, revoked_at`

// CreateAPIToken stores a token; an empty ID gets a new UUID.
func (s *Store) CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error) {
	if t.ID == "" {
		t.ID = newID()
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO api_tokens (id, dealer, name, hash, created_by) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+apiTokenColumns, t.ID, t.Dealer, t.Name, t.Hash, t.CreatedBy)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[APIToken])
	return out, wrap(err, "create API token %q of dealer %q", t.Name, t.Dealer)
}

// ListAPITokens returns the dealer's tokens, revoked ones included, oldest first.
func (s *Store) ListAPITokens(ctx context.Context, dealer string) ([]APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE dealer = $1 ORDER BY created_at, id`, dealer)
	ts, err := pgx.CollectRows(rows, pgx.RowToStructByName[APIToken])
	return ts, wrap(err, "list API tokens of dealer %q", dealer)
}

// RevokeAPIToken revokes the dealer's token; revoking a revoked token changes nothing.
// ErrNotFound when the dealer has no such token.
func (s *Store) RevokeAPIToken(ctx context.Context, dealer, id string) error {
	if !validUUID(id) {
		return fmt.Errorf("revoke API token %q: %w", id, ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE dealer = $1 AND id = $2`, dealer, id)
	if err != nil {
		return wrap(err, "revoke API token %q of dealer %q", id, dealer)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke API token %q of dealer %q: %w", id, dealer, ErrNotFound)
	}
	return nil
}

// APITokenByHash returns the token with the hash unless it is revoked; ErrNotFound
// otherwise.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL`, hash)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[APIToken])
	return t, wrap(err, "get API token")
}

// JobLink is a signed link to one job's parking page. Hash is the SHA-256 (hex) of
// the link's token.
type JobLink struct {
	Hash       string    `db:"hash"`
	Dealer     string    `db:"dealer"`
	Number     int64     `db:"number"`
	CustomerID string    `db:"customer_id"`
	CreatedAt  time.Time `db:"created_at"`
	ExpiresAt  time.Time `db:"expires_at"`
}

const jobLinkColumns = `hash, dealer, number, COALESCE(customer_id::text, '') AS customer_id, created_at, expires_at`

// CreateJobLink stores a link. ErrNotFound when the dealer has no such job.
func (s *Store) CreateJobLink(ctx context.Context, l JobLink) (JobLink, error) {
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO job_links (hash, dealer, number, customer_id, expires_at)
		VALUES ($1, $2, $3, NULLIF($4, '')::uuid, $5)
		RETURNING `+jobLinkColumns, l.Hash, l.Dealer, l.Number, l.CustomerID, l.ExpiresAt.UTC())
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[JobLink])
	if isForeignKeyViolation(err) {
		return JobLink{}, fmt.Errorf("create link to job %d of dealer %q: %w: %w", l.Number, l.Dealer, ErrNotFound, err)
	}
	return out, wrap(err, "create link to job %d of dealer %q", l.Number, l.Dealer)
}

// JobLinkByHash returns the link with the hash unless it has expired; ErrNotFound
// otherwise.
func (s *Store) JobLinkByHash(ctx context.Context, hash string) (JobLink, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+jobLinkColumns+` FROM job_links WHERE hash = $1 AND expires_at > now()`, hash)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[JobLink])
	return l, wrap(err, "get job link")
}

// PasswordReset is a one-time token that sets a customer's password. Hash is the
// SHA-256 (hex) of the token.
type PasswordReset struct {
	Hash       string
	Dealer     string
	CustomerID string
	ExpiresAt  time.Time
}

// CreatePasswordReset stores a reset token.
func (s *Store) CreatePasswordReset(ctx context.Context, r PasswordReset) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO password_resets (hash, dealer, customer_id, expires_at) VALUES ($1, $2, $3, $4)`,
		r.Hash, r.Dealer, r.CustomerID, r.ExpiresAt.UTC())
	return wrap(err, "create password reset for customer %q", r.CustomerID)
}

// CountPasswordResets counts the reset tokens made for the customer within the last
// period, used or not.
func (s *Store) CountPasswordResets(ctx context.Context, customerID string, period time.Duration) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM password_resets WHERE customer_id = $1 AND created_at > now() - $2::interval`,
		customerID, period).Scan(&n)
	return n, wrap(err, "count password resets of customer %q", customerID)
}

// UsePasswordReset redeems the dealer's reset token with the hash: in one transaction it marks
// the token (and every other open token of the customer) used, sets the customer's
// password hash and ends the customer's sessions. ErrNotFound when the token is
// unknown, used or expired; ErrConflict when another record of the dealer already has
// an account with the customer's address.
func (s *Store) UsePasswordReset(ctx context.Context, dealer, hash, passwordHash string) (Customer, error) {
	var out Customer
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var customerID string
		err := tx.QueryRow(ctx, `
			UPDATE password_resets SET used_at = now()
			WHERE hash = $1 AND dealer = $2 AND used_at IS NULL AND expires_at > now()
			RETURNING customer_id::text`, hash, dealer).Scan(&customerID)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			UPDATE customers SET password_hash = $3 WHERE dealer = $1 AND id = $2
			RETURNING `+customerColumns, dealer, customerID, passwordHash)
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = now() WHERE customer_id = $1 AND used_at IS NULL`, customerID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE customer_id = $1`, customerID)
		return err
	})
	return out, wrap(err, "use password reset")
}

// ThrottleRule limits login failures under one key (such as a dealer's e-mail address
// or a client IP) to Limit within the window.
type ThrottleRule struct {
	Key   string
	Limit int
}

// BeginLoginAttempt counts a login attempt against every rule, unless one of them has
// reached its limit within window: then it records nothing and returns how long until
// that rule lets an attempt through again. The attempt counts as a failure until
// LoginSucceeded removes it. Concurrent attempts on the same key wait for each other,
// so replicas cannot together let more attempts through than the limit.
func (s *Store) BeginLoginAttempt(ctx context.Context, window time.Duration, rules ...ThrottleRule) (attempt string, retryAfter time.Duration, err error) {
	rules = slices.Clone(rules)
	// A fixed order of locks, so two attempts on the same keys cannot deadlock.
	slices.SortFunc(rules, func(a, b ThrottleRule) int { return strings.Compare(a.Key, b.Key) })
	keys := make([]string, len(rules))
	for i, r := range rules {
		keys[i] = r.Key
	}
	attempt = newID()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('login:' || $1, 0))`, k); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_attempts WHERE key = ANY($1) AND at <= now() - $2::interval`, keys, window); err != nil {
			return err
		}
		for _, r := range rules {
			// The limit-th newest attempt: while it lies within the window, the key
			// has had limit attempts in it; it leaves the window at at + window.
			var wait float64
			err := tx.QueryRow(ctx, `
				SELECT EXTRACT(EPOCH FROM at + $3::interval - now())::float8 FROM login_attempts
				WHERE key = $1 ORDER BY at DESC OFFSET $2 LIMIT 1`, r.Key, max(r.Limit, 1)-1, window).Scan(&wait)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			retryAfter = max(retryAfter, time.Duration(wait*float64(time.Second)), time.Nanosecond)
		}
		if retryAfter > 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO login_attempts (key, attempt) SELECT k, $2::uuid FROM unnest($1::text[]) AS k`, keys, attempt)
		return err
	})
	if err != nil {
		return "", 0, wrap(err, "begin login attempt")
	}
	if retryAfter > 0 {
		return "", retryAfter, nil
	}
	return attempt, 0, nil
}

// LoginSucceeded takes the attempt (when not empty) out of the count and forgets every
// earlier failure under the keys in reset.
func (s *Store) LoginSucceeded(ctx context.Context, attempt string, reset ...string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_attempts WHERE attempt = NULLIF($1, '')::uuid OR key = ANY($2::text[])`, attempt, reset)
	return wrap(err, "record successful login")
}

// PurgeAuth deletes what can no longer open anything: expired sessions, links and
// reset tokens, and login attempts older than attemptsOlderThan. It returns how many
// rows it deleted.
func (s *Store) PurgeAuth(ctx context.Context, attemptsOlderThan time.Duration) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM sessions WHERE expires_at <= now()`,
		`DELETE FROM job_links WHERE expires_at <= now()`,
		`DELETE FROM password_resets WHERE expires_at <= now()`,
	} {
		tag, err := s.pool.Exec(ctx, q)
		if err != nil {
			return total, wrap(err, "purge expired auth data")
		}
		total += tag.RowsAffected()
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_attempts WHERE at <= now() - $1::interval`, attemptsOlderThan)
	if err != nil {
		return total, wrap(err, "purge login attempts")
	}
	return total + tag.RowsAffected(), nil
}

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
