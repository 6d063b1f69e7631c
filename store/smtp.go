package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jobmanager/jobmanager/secrets"
)

// DealerSMTP is a dealer's own SMTP server. The password is not a field: it is kept
// sealed, and only Password opens it, with the key.
type DealerSMTP struct {
	Dealer   string
	Host     string
	Port     int
	TLS      string
	Username string
	From     string
	// UpdatedAt changes with every Set, so a cached sender can tell it is stale.
	UpdatedAt time.Time

	sealed []byte
}

// PasswordSet reports whether a password is stored.
func (d DealerSMTP) PasswordSet() bool { return d.sealed != nil }

// Password opens the stored password with box; empty when none is stored.
func (d DealerSMTP) Password(box *secrets.Box) (string, error) {
	if d.sealed == nil {
		return "", nil
	}
	plain, err := box.Open(d.sealed, smtpContext(d.Dealer))
	if err != nil {
		return "", fmt.Errorf("SMTP password of dealer %q: %w", d.Dealer, err)
	}
	return string(plain), nil
}

// smtpContext binds a sealed password to its dealer, so a copied value does not open
// for another.
func smtpContext(dealer string) []byte { return []byte("dealer_smtp.password:" + dealer) }

// GetDealerSMTP returns the dealer's SMTP settings, or ErrNotFound when it has none.
func (s *Store) GetDealerSMTP(ctx context.Context, dealer string) (DealerSMTP, error) {
	var d DealerSMTP
	err := s.pool.QueryRow(ctx, `
		SELECT dealer, host, port, tls, username, password_enc, from_address, updated_at
		FROM dealer_smtp WHERE dealer = $1`, dealer).
		Scan(&d.Dealer, &d.Host, &d.Port, &d.TLS, &d.Username, &d.sealed, &d.From, &d.UpdatedAt)
	return d, wrap(err, "get SMTP settings of dealer %q", dealer)
}

// SetDealerSMTP stores the dealer's SMTP settings from d. password nil keeps the
// stored password (none for new settings); else it is sealed with box, and an empty
// one removes it. Sealing without a key fails with secrets.ErrNoKey.
func (s *Store) SetDealerSMTP(ctx context.Context, box *secrets.Box, d DealerSMTP, password *string) (DealerSMTP, error) {
	var sealed []byte
	if password != nil && *password != "" {
		var err error
		if sealed, err = box.Seal([]byte(*password), smtpContext(d.Dealer)); err != nil {
			return DealerSMTP{}, fmt.Errorf("set SMTP settings of dealer %q: %w", d.Dealer, err)
		}
	}
	var out DealerSMTP
	// clock_timestamp, not now(): a cache keyed by updated_at must see every change.
	err := s.pool.QueryRow(ctx, `
			INSERT INTO dealer_smtp (dealer, host, port, tls, username, password_enc, from_address, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())
			ON CONFLICT (dealer) DO UPDATE SET
				host = excluded.host, port = excluded.port, tls = excluded.tls,
				username = excluded.username, from_address = excluded.from_address,
				password_enc = CASE WHEN $8 THEN excluded.password_enc ELSE dealer_smtp.password_enc END,
				updated_at = excluded.updated_at
			RETURNING dealer, host, port, tls, username, password_enc, from_address, updated_at`,
		d.Dealer, d.Host, d.Port, d.TLS, d.Username, sealed, d.From, password != nil).
		Scan(&out.Dealer, &out.Host, &out.Port, &out.TLS, &out.Username, &out.sealed, &out.From, &out.UpdatedAt)
	return out, wrap(err, "set SMTP settings of dealer %q", d.Dealer)
}

// DeleteDealerSMTP removes the dealer's SMTP settings, so it sends through the system's
// sender again. Removing settings that are not there is no error.
func (s *Store) DeleteDealerSMTP(ctx context.Context, dealer string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM dealer_smtp WHERE dealer = $1`, dealer)
	return wrap(err, "delete SMTP settings of dealer %q", dealer)
}
