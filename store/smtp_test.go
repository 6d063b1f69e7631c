package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

func TestDealerSMTPRoundTripSealsPassword(t *testing.T) {
	ctx := context.Background()
	st := pgtest.New(t)
	box := secrets.Dev()
	for _, id := range []string{"autohaus", "zweiter"} {
		_, err := st.CreateDealer(ctx, store.Dealer{ID: id, Name: id})
		require.NoError(t, err)
	}
	_, err := st.GetDealerSMTP(ctx, "autohaus")
	require.ErrorIs(t, err, store.ErrNotFound)

	const password = "Geheim-Passwort-123"
	pw := password
	in := store.DealerSMTP{Dealer: "autohaus", Host: "smtp.autohaus.example", Port: 587, TLS: "mandatory", Username: "info", From: "info@autohaus.example"}
	_, err = st.SetDealerSMTP(ctx, nil, in, &pw)
	require.ErrorIs(t, err, secrets.ErrNoKey, "no key, no sealing")
	_, err = st.GetDealerSMTP(ctx, "autohaus")
	require.ErrorIs(t, err, store.ErrNotFound, "a refused set stores nothing")

	set, err := st.SetDealerSMTP(ctx, box, in, &pw)
	require.NoError(t, err)
	got, err := st.GetDealerSMTP(ctx, "autohaus")
	require.NoError(t, err)
	require.Equal(t, set, got)
	require.Equal(t, "smtp.autohaus.example", got.Host)
	require.True(t, got.PasswordSet())
	plain, err := got.Password(box)
	require.NoError(t, err)
	require.Equal(t, password, plain)

	// At rest the column holds no trace of the password.
	var raw []byte
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT password_enc FROM dealer_smtp WHERE dealer = 'autohaus'`).Scan(&raw))
	require.NotEmpty(t, raw)
	require.False(t, bytes.Contains(raw, []byte(password)), "password_enc holds the password in plain text")
	require.False(t, bytes.Contains(raw, []byte("Geheim")))

	// Another key, or the sealed value moved to another dealer, does not open it.
	other, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	require.NoError(t, err)
	_, err = got.Password(other)
	require.Error(t, err)
	_, err = st.SetDealerSMTP(ctx, box, store.DealerSMTP{Dealer: "zweiter", Host: "h", Port: 25, TLS: "none", From: "a@b.example"}, nil)
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `UPDATE dealer_smtp SET password_enc = $1 WHERE dealer = 'zweiter'`, raw)
	require.NoError(t, err)
	moved, err := st.GetDealerSMTP(ctx, "zweiter")
	require.NoError(t, err)
	_, err = moved.Password(box)
	require.Error(t, err, "a password sealed for one dealer does not open for another")

	// Password nil keeps it; updated_at moves.
	in.Host = "smtp2.autohaus.example"
	kept, err := st.SetDealerSMTP(ctx, box, in, nil)
	require.NoError(t, err)
	require.Equal(t, "smtp2.autohaus.example", kept.Host)
	require.True(t, kept.UpdatedAt.After(got.UpdatedAt))
	plain, err = kept.Password(box)
	require.NoError(t, err)
	require.Equal(t, password, plain)

	// An empty password removes it.
	empty := ""
	cleared, err := st.SetDealerSMTP(ctx, box, in, &empty)
	require.NoError(t, err)
	require.False(t, cleared.PasswordSet())

	require.NoError(t, st.DeleteDealerSMTP(ctx, "autohaus"))
	require.NoError(t, st.DeleteDealerSMTP(ctx, "autohaus"), "deleting nothing is no error")
	_, err = st.GetDealerSMTP(ctx, "autohaus")
	require.True(t, errors.Is(err, store.ErrNotFound))
}
