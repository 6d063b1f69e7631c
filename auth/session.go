package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/store"
)

// CustomerSession describes a customer session to start.
type CustomerSession struct {
	Dealer string
	// CustomerID is empty for an anonymous session.
	CustomerID string
	// LoggedIn marks a login to the customer's account with a password.
	LoggedIn bool
	// JobNumber limits a session from a signed link to that job.
	JobNumber int64
	// NotAfter, when set, is a hard end the session never passes.
	NotAfter time.Time
}

// StartStaffSession logs the staff user in: a new session with a new token (so a
// cookie planted before the login opens nothing), its cookie, and the principal, which
// it also puts on the request. The staff session the request came with ends.
func StartStaffSession(c *gin.Context, st *store.Store, opts Options, u store.StaffUser) (Principal, error) {
	if err := endCookieSession(c, st, CookieStaff); err != nil {
		return Principal{}, err
	}
	return startSession(c, st, opts, CookieStaff, store.Session{Kind: store.SessionStaff, Dealer: u.Dealer, StaffID: u.ID})
}

// StartCustomerSession starts a customer session as StartStaffSession does a staff
// one. When the request came with a customer session of the same dealer that is not an
// account login (anonymous or from a link), the new one continues it: the principal
// keeps its SessionID, so the jobs parked under it can be found and attached.
func StartCustomerSession(c *gin.Context, st *store.Store, opts Options, cs CustomerSession) (Principal, error) {
	var origin string
	if cur := From(c); cur.Kind == Customer && cur.Dealer == cs.Dealer && !cur.LoggedIn {
		origin = cur.SessionID
	}
	if err := endCookieSession(c, st, CookieCustomer); err != nil {
		return Principal{}, err
	}
	s := store.Session{
		Kind: store.SessionCustomer, Dealer: cs.Dealer, CustomerID: cs.CustomerID, LoggedIn: cs.LoggedIn,
		JobNumber: cs.JobNumber, Origin: origin,
	}
	if !cs.NotAfter.IsZero() {
		s.NotAfter = &cs.NotAfter
	}
	return startSession(c, st, opts, CookieCustomer, s)
}

func startSession(c *gin.Context, st *store.Store, opts Options, cookie string, s store.Session) (Principal, error) {
	token, hash, err := NewToken()
	if err != nil {
		return Principal{}, err
	}
	s.ID, s.ExpiresAt = hash, time.Now().Add(sessionTTL(s.Kind))
	created, err := st.CreateSession(c.Request.Context(), s)
	if err != nil {
		return Principal{}, fmt.Errorf("start session: %w", err)
	}
	setCookie(c, opts, cookie, token, created.ExpiresAt)
	p := principalOf(created)
	Set(c, p)
	return p, nil
}

// EndSession logs out: it deletes the session of the cookie (CookieStaff or
// CookieCustomer) and clears the cookie. Without a session there is nothing to end.
func EndSession(c *gin.Context, st *store.Store, opts Options, cookie string) error {
	if err := endCookieSession(c, st, cookie); err != nil {
		return err
	}
	clearCookie(c, opts, cookie)
	return nil
}

func endCookieSession(c *gin.Context, st *store.Store, cookie string) error {
	token, err := c.Cookie(cookie)
	if err != nil || token == "" {
		return nil
	}
	if err := st.DeleteSession(c.Request.Context(), HashToken(token)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// PurgeLoop deletes expired sessions, links and reset tokens and old login attempts
// every interval until ctx ends; a failed round is logged (to log, when not nil) and
// tried again next time.
func PurgeLoop(ctx context.Context, st *store.Store, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A day covers any throttle window in use.
		n, err := st.PurgeAuth(ctx, 24*time.Hour)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purge expired sessions and tokens", "error", err)
		case n > 0:
			log.Info("purged expired sessions and tokens", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
