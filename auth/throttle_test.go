package auth_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// Concurrent attempts, as from several API replicas at once, never get more through
// than the limit.
func TestThrottleConcurrent(t *testing.T) {
	st := pgtest.New(t)
	ctx := context.Background()
	const limit, tries = 5, 30
	var wg sync.WaitGroup
	results := make(chan time.Duration, tries)
	for range tries {
		wg.Go(func() {
			attempt, wait, err := st.BeginLoginAttempt(ctx, 15*time.Minute,
				store.ThrottleRule{Key: "staff:d:x@example.org", Limit: limit}, store.ThrottleRule{Key: "ip:192.0.2.1", Limit: 100})
			if err != nil {
				t.Error(err)
				return
			}
			require.Equal(t, wait == 0, attempt != "")
			results <- wait
		})
	}
	wg.Wait()
	close(results)
	through := 0
	for wait := range results {
		if wait == 0 {
			through++
		} else {
			require.Greater(t, wait, 14*time.Minute)
			require.LessOrEqual(t, wait, 15*time.Minute)
		}
	}
	require.Equal(t, limit, through)
}

func TestLoginStaff(t *testing.T) {
	st := pgtest.New(t)
	ctx := context.Background()
	_, err := st.CreateDealer(ctx, store.Dealer{ID: "d", Name: "D"})
	require.NoError(t, err)
	hash, err := auth.HashPassword("richtig-geheim")
	require.NoError(t, err)
	u, err := st.CreateStaffUser(ctx, store.StaffUser{Dealer: "d", Email: "x@example.org", Name: "X", Role: store.RoleAdmin, PasswordHash: hash})
	require.NoError(t, err)
	opts := auth.Options{Throttle: auth.Throttle{PerAccount: 2, PerIP: 3, Window: time.Minute}}
	status := func(err error) int {
		var aerr *auth.Error
		if errors.As(err, &aerr) {
			return aerr.Status
		}
		require.NoError(t, err)
		return http.StatusOK
	}
	login := func(email, password, ip string) int {
		_, err := auth.LoginStaff(ctx, st, opts, "d", email, password, ip)
		return status(err)
	}

	got, err := auth.LoginStaff(ctx, st, opts, "d", "X@EXAMPLE.ORG", "richtig-geheim", "192.0.2.1")
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
	require.Equal(t, http.StatusUnauthorized, login("x@example.org", "falsch", "192.0.2.1"))
	require.Equal(t, http.StatusUnauthorized, login("x@example.org", "falsch", "192.0.2.2"))
	require.Equal(t, http.StatusTooManyRequests, login("x@example.org", "richtig-geheim", "192.0.2.3"), "the address is locked")
	require.Equal(t, http.StatusUnauthorized, login("y@example.org", "falsch", "192.0.2.1"))
	require.Equal(t, http.StatusUnauthorized, login("z@example.org", "falsch", "192.0.2.1"))
	require.Equal(t, http.StatusTooManyRequests, login("w@example.org", "falsch", "192.0.2.1"), "192.0.2.1 has failed thrice")
	// The same address in another dealer or of a customer is another key.
	_, err = auth.LoginCustomer(ctx, st, opts, "d", "x@example.org", "falsch", "192.0.2.4")
	require.Equal(t, http.StatusUnauthorized, status(err))
}
