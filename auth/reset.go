package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jobmanager/jobmanager/store"
)

// Mailer sends the e-mails of the customer login. Package mail implements it over SMTP.
type Mailer interface {
	// SendPasswordReset sends the one-time link that sets a new password.
	SendPasswordReset(ctx context.Context, to, link string) error
}

// LogMailer writes the link to the log instead of sending it, for development while no
// mailer is configured. The link opens the account: never use it in production.
type LogMailer struct {
	Logger *slog.Logger
}

// SendPasswordReset logs the link.
func (m LogMailer) SendPasswordReset(ctx context.Context, to, link string) error {
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "password reset link (logged, not sent: no mailer configured)", "to", to, "link", link)
	return nil
}

// Password reset limits: a link is valid for an hour; a customer gets at most three an
// hour, so the form cannot be used to flood a mailbox.
const (
	PasswordResetTTL = time.Hour
	maxResetsPerTTL  = 3
)

// ErrResetInvalid is returned (wrapped) for a reset token that is unknown, used or
// expired; which of them is not told.
var ErrResetInvalid = errors.New("the reset token is unknown, used or expired")

// RequestPasswordReset sends a one-time link, valid PasswordResetTTL, to the dealer's
// customer with the address: link turns the token into the URL. For an address the
// dealer does not know, and beyond three links an hour, it sends nothing and returns
// nil, so the caller answers the same in every case. A customer record without a
// password can set one this way, which makes it an account: the link proves the
// address.
func RequestPasswordReset(ctx context.Context, st *store.Store, m Mailer, dealer, email string, link func(token string) string) error {
	account, err := st.CustomerAccountByEmail(ctx, dealer, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	n, err := st.CountPasswordResets(ctx, account.ID, PasswordResetTTL)
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	if n >= maxResetsPerTTL {
		return nil
	}
	token, hash, err := NewToken()
	if err != nil {
		return err
	}
	if err := st.CreatePasswordReset(ctx, store.PasswordReset{
		Hash: hash, Dealer: dealer, CustomerID: account.ID, ExpiresAt: time.Now().Add(PasswordResetTTL),
	}); err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	if err := m.SendPasswordReset(ctx, account.Email, link(token)); err != nil {
		return fmt.Errorf("password reset: send to customer %s: %w", account.ID, err)
	}
	return nil
}

// ConfirmPasswordReset redeems a reset token of the dealer: it sets the customer's new password
// (checked by the caller with CheckNewPassword), uses up every open reset token of the
// customer, ends the customer's sessions and forgets the address's failed logins.
// ErrResetInvalid for a token that is unknown, used or expired.
func ConfirmPasswordReset(ctx context.Context, st *store.Store, dealer, token, password string) (store.Customer, error) {
	hash, err := HashPassword(password)
	if err != nil {
		return store.Customer{}, err
	}
	c, err := st.UsePasswordReset(ctx, dealer, HashToken(token), hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Customer{}, fmt.Errorf("confirm password reset: %w", ErrResetInvalid)
	}
	if err != nil {
		return store.Customer{}, fmt.Errorf("confirm password reset: %w", err)
	}
	if err := forgetFailures(ctx, st, c.Dealer, c.Email); err != nil {
		return store.Customer{}, err
	}
	return c, nil
}
