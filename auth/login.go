package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jobmanager/jobmanager/store"
)

// Throttle limits failed logins: at most PerAccount failures for one e-mail address of
// a dealer, and PerIP from one client IP, within Window. When a limit is reached, every
// login under that key (the right password too) answers 429 until the oldest counted
// failure leaves the window. A success forgets the address's failures.
type Throttle struct {
	PerAccount int
	PerIP      int
	Window     time.Duration
}

// DefaultThrottle is the throttle the issue asks for.
var DefaultThrottle = Throttle{PerAccount: 5, PerIP: 20, Window: 15 * time.Minute}

func (t Throttle) orDefault() Throttle {
	if t == (Throttle{}) {
		return DefaultThrottle
	}
	return t
}

// errBadCredentials does not say whether the address or the password was wrong.
var errBadCredentials = &Error{Status: http.StatusUnauthorized, Code: "bad_credentials", Detail: "the e-mail address or the password is wrong"}

// LoginStaff checks a staff login of the dealer and returns the staff user. It fails
// with an *Error: 401 for wrong credentials (the same whichever part is wrong, and as
// slow), 429 with RetryAfter while the address or the IP is throttled.
func LoginStaff(ctx context.Context, st *store.Store, opts Options, dealer, email, password, ip string) (store.StaffUser, error) {
	var user store.StaffUser
	err := login(ctx, st, opts.Throttle.orDefault(), "staff", dealer, email, password, ip, func() (string, error) {
		u, err := st.GetStaffUserByEmail(ctx, dealer, email)
		user = u
		return u.PasswordHash, err
	})
	return user, err
}

// LoginCustomer checks a customer's login to the account as LoginStaff does for
// staff. A customer record without a password has no account and cannot log in.
func LoginCustomer(ctx context.Context, st *store.Store, opts Options, dealer, email, password, ip string) (store.Customer, error) {
	var customer store.Customer
	err := login(ctx, st, opts.Throttle.orDefault(), "customer", dealer, email, password, ip, func() (string, error) {
		a, err := st.CustomerAccountByEmail(ctx, dealer, email)
		customer = a.Customer
		return a.PasswordHash, err
	})
	return customer, err
}

// login runs one throttled login: count the attempt, check the password against the
// hash lookup finds (an unknown address checks against nothing, at the same cost), and
// on success take the attempt back and forget the address's failures.
func login(ctx context.Context, st *store.Store, t Throttle, side, dealer, email, password, ip string, lookup func() (string, error)) error {
	account := accountKey(side, dealer, email)
	attempt, wait, err := st.BeginLoginAttempt(ctx, t.Window,
		store.ThrottleRule{Key: account, Limit: t.PerAccount},
		store.ThrottleRule{Key: "ip:" + ip, Limit: t.PerIP})
	if err != nil {
		return failed(err)
	}
	if wait > 0 {
		return &Error{Status: http.StatusTooManyRequests, Code: "login_throttled", Detail: "too many failed logins; try again later", RetryAfter: wait}
	}
	hash, err := lookup()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return failed(err)
	}
	if !CheckPassword(hash, password) {
		return errBadCredentials
	}
	if err := st.LoginSucceeded(ctx, attempt, account); err != nil {
		return failed(err)
	}
	return nil
}

// forgetFailures clears the failed logins of a customer address, after its password
// was set through a reset link.
func forgetFailures(ctx context.Context, st *store.Store, dealer, email string) error {
	return st.LoginSucceeded(ctx, "", accountKey("customer", dealer, email))
}

// accountKey is the throttle key of an address: per side and dealer, case-insensitive.
func accountKey(side, dealer, email string) string {
	return side + ":" + dealer + ":" + strings.ToLower(strings.TrimSpace(email))
}
