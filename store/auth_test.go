package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// hex64 makes a distinct 64-hex-digit ID, as the hash of a token looks.
func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	u, err := s.CreateStaffUser(ctx, store.StaffUser{Dealer: "d", Email: "a@example.org", Name: "A", Role: store.RoleAdmin, PasswordHash: "h"})
	require.NoError(t, err)

	staff, err := s.CreateSession(ctx, store.Session{ID: hex64('a'), Kind: store.SessionStaff, Dealer: "d", StaffID: u.ID, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, store.RoleAdmin, staff.StaffRole)
	got, err := s.GetSession(ctx, hex64('a'))
	require.NoError(t, err)
	require.Equal(t, u.ID, got.StaffID)

	// A hard end caps the expiry, at creation and when the session slides.
	notAfter := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Microsecond)
	cust, err := s.CreateSession(ctx, store.Session{ID: hex64('b'), Kind: store.SessionCustomer, Dealer: "d", NotAfter: &notAfter, ExpiresAt: time.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	require.True(t, cust.ExpiresAt.Equal(notAfter), "%s", cust.ExpiresAt)
	expires, err := s.TouchSession(ctx, hex64('b'), 24*time.Hour)
	require.NoError(t, err)
	require.True(t, expires.Equal(notAfter), "%s", expires)
	expires, err = s.TouchSession(ctx, hex64('a'), 12*time.Hour)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(12*time.Hour), expires, time.Minute)

	// A role change applies to the live session.
	_, err = s.Pool().Exec(ctx, `UPDATE staff_users SET role = 'sales' WHERE id = $1`, u.ID)
	require.NoError(t, err)
	got, err = s.GetSession(ctx, hex64('a'))
	require.NoError(t, err)
	require.Equal(t, store.RoleSales, got.StaffRole)

	// Expired sessions are not found, and purged.
	_, err = s.Pool().Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, hex64('b'))
	require.NoError(t, err)
	_, err = s.GetSession(ctx, hex64('b'))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.TouchSession(ctx, hex64('b'), time.Hour)
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err := s.PurgeAuth(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	require.NoError(t, s.DeleteSession(ctx, hex64('a')))
	_, err = s.GetSession(ctx, hex64('a'))
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestCustomerAccounts(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	newDealer(t, s, "e")
	record, err := s.CreateCustomer(ctx, store.Customer{Dealer: "d", Name: "Record", Email: "c@example.org"})
	require.NoError(t, err)
	found, err := s.CustomerAccountByEmail(ctx, "d", "C@example.org")
	require.NoError(t, err)
	require.Equal(t, record.ID, found.ID)
	require.Empty(t, found.PasswordHash, "a record without an account")

	acct, err := s.CreateCustomerAccount(ctx, store.Customer{Dealer: "d", Name: "Account", Email: "c@example.org"}, "hash")
	require.NoError(t, err)
	found, err = s.CustomerAccountByEmail(ctx, "d", "c@example.org")
	require.NoError(t, err)
	require.Equal(t, acct.ID, found.ID, "the account wins over an older record")
	require.Equal(t, "hash", found.PasswordHash)
	_, err = s.CreateCustomerAccount(ctx, store.Customer{Dealer: "d", Name: "Again", Email: "C@EXAMPLE.ORG"}, "hash")
	require.ErrorIs(t, err, store.ErrConflict, "one account per address")
	_, err = s.CreateCustomerAccount(ctx, store.Customer{Dealer: "e", Name: "Elsewhere", Email: "c@example.org"}, "hash")
	require.NoError(t, err, "another dealer's customer")
	require.ErrorIs(t, s.SetCustomerPassword(ctx, "d", record.ID, "other"), store.ErrConflict)
	require.ErrorIs(t, s.SetCustomerPassword(ctx, "e", record.ID, "other"), store.ErrNotFound)
	_, err = s.CustomerAccountByEmail(ctx, "d", "")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestPasswordResets(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	c, err := s.CreateCustomer(ctx, store.Customer{Dealer: "d", Name: "C", Email: "c@example.org"})
	require.NoError(t, err)
	for _, h := range []byte{'a', 'b'} {
		require.NoError(t, s.CreatePasswordReset(ctx, store.PasswordReset{Hash: hex64(h), Dealer: "d", CustomerID: c.ID, ExpiresAt: time.Now().Add(time.Hour)}))
	}
	_, err = s.CreateSession(ctx, store.Session{ID: hex64('5'), Kind: store.SessionCustomer, Dealer: "d", CustomerID: c.ID, LoggedIn: true, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	n, err := s.CountPasswordResets(ctx, c.ID, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	_, err = s.UsePasswordReset(ctx, "e", hex64('a'), "new")
	require.ErrorIs(t, err, store.ErrNotFound, "another dealer's token")
	got, err := s.UsePasswordReset(ctx, "d", hex64('a'), "new")
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)
	acct, err := s.CustomerAccountByEmail(ctx, "d", "c@example.org")
	require.NoError(t, err)
	require.Equal(t, "new", acct.PasswordHash)
	_, err = s.GetSession(ctx, hex64('5'))
	require.ErrorIs(t, err, store.ErrNotFound, "the reset ends the customer's sessions")
	for _, h := range []byte{'a', 'b'} {
		_, err = s.UsePasswordReset(ctx, "d", hex64(h), "newer")
		require.ErrorIs(t, err, store.ErrNotFound, "used up: %c", h)
	}
}

func TestAPITokensAndLinks(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	tok, err := s.CreateAPIToken(ctx, store.APIToken{Dealer: "d", Name: "T", Hash: hex64('7')})
	require.NoError(t, err)
	got, err := s.APITokenByHash(ctx, hex64('7'))
	require.NoError(t, err)
	require.Equal(t, tok.ID, got.ID)
	require.NoError(t, s.RevokeAPIToken(ctx, "d", tok.ID))
	require.NoError(t, s.RevokeAPIToken(ctx, "d", tok.ID), "revoking twice changes nothing")
	_, err = s.APITokenByHash(ctx, hex64('7'))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.RevokeAPIToken(ctx, "x", tok.ID), store.ErrNotFound)

	_, err = s.CreateJobLink(ctx, store.JobLink{Hash: hex64('1'), Dealer: "d", Number: 1, ExpiresAt: time.Now().Add(time.Hour)})
	require.ErrorIs(t, err, store.ErrNotFound, "no such job")
	_, _, err = s.AllocateJob(ctx, "d", "", "", row("d", 0, 0))
	require.NoError(t, err)
	_, err = s.CreateJobLink(ctx, store.JobLink{Hash: hex64('1'), Dealer: "d", Number: 1, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	l, err := s.JobLinkByHash(ctx, hex64('1'))
	require.NoError(t, err)
	require.Equal(t, int64(1), l.Number)
	require.Empty(t, l.CustomerID)
}
