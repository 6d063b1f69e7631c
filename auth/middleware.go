package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/store"
)

// Cookie names of the two kinds of browser sessions.
const (
	CookieStaff    = "jm_staff"
	CookieCustomer = "jm_customer"
)

// APITokenPrefix starts every integration token, so a token found in a log or a
// repository is recognisable, and a bearer token that is not ours is left alone.
const APITokenPrefix = "jmt_"

// How long sessions live without use. Each use moves the end on (at most once a
// minute, to spare the database a write per request).
const (
	StaffSessionTTL    = 12 * time.Hour
	CustomerSessionTTL = 30 * 24 * time.Hour
	touchEvery         = time.Minute
)

// Options configure the middleware and the session cookies.
type Options struct {
	// SecureCookies marks cookies Secure also on plain HTTP, for deployments behind a
	// proxy that terminates TLS. Requests that arrive over TLS get Secure cookies anyway.
	SecureCookies bool
	// Throttle limits failed logins; DefaultThrottle when zero.
	Throttle Throttle
	// Deny answers a refused request (the API writes its problem document). Without
	// it, a bare status with the detail as text is written.
	Deny func(c *gin.Context, err *Error)
}

// Error is why a request is refused: 401 (nobody known), 403 (not allowed), 404 (not
// there for this principal), 429 (throttled, with RetryAfter), or 500 with the cause.
type Error struct {
	Status int
	// Code names the refusal for programs and message catalogs (login_required,
	// role_required, bad_credentials, ...); Detail says it in English.
	Code   string
	Detail string
	// Params are the values Detail names, as name, value pairs (roles: "owner, admin").
	Params     []string
	RetryAfter time.Duration
	// Err is the cause, for the log; never shown to the client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Detail, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

func failed(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error", Detail: "internal error", Err: err}
}

// denyKey is where the middleware leaves Options.Deny for the guards.
const denyKey = "jobmanager.auth.deny"

// crossOrigin refuses state-changing browser requests from other origins (CSRF): the
// session cookies would otherwise ride along. Requests without browser headers (curl,
// integrations) pass.
var crossOrigin = http.NewCrossOriginProtection()

// Middleware finds the caller and puts the Principal on the request (Set), trying in
// this order: an integration token (Authorization: Bearer jmt_...), a staff session
// (cookie jm_staff), a customer session (cookie jm_customer: an account, an anonymous
// session or a signed link to one job); else the caller is Anonymous. A bearer token
// that is not valid (unknown or revoked) is refused with 401; an expired session cookie
// is cleared and the caller goes on as if it were absent. State-changing browser
// requests from another origin are refused with 403 (CSRF), unless they carry a token.
func Middleware(st *store.Store, opts Options) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(denyKey, opts.Deny)
		// A token is no cookie that a browser sends along by itself.
		if _, bearer := bearerToken(c.Request); !bearer {
			if err := crossOrigin.Check(c.Request); err != nil {
				deny(c, &Error{Status: http.StatusForbidden, Code: "cross_origin", Detail: "cross-origin request refused", Err: err})
				return
			}
		}
		p, err := resolve(c, st, opts)
		if err != nil {
			deny(c, err)
			return
		}
		Set(c, p)
	}
}

func resolve(c *gin.Context, st *store.Store, opts Options) (Principal, *Error) {
	ctx := c.Request.Context()
	if token, ok := bearerToken(c.Request); ok {
		t, err := st.APITokenByHash(ctx, HashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
			return Principal{}, &Error{Status: http.StatusUnauthorized, Code: "api_token_invalid", Detail: "the API token is unknown or revoked"}
		}
		if err != nil {
			return Principal{}, failed(err)
		}
		return Principal{Kind: Integration, Dealer: t.Dealer, TokenID: t.ID}, nil
	}
	for _, name := range []string{CookieStaff, CookieCustomer} {
		sess, token, err := session(c, st, name)
		if err != nil {
			return Principal{}, failed(err)
		}
		if token == "" {
			continue
		}
		if sess.ID == "" {
			clearCookie(c, opts, name)
			continue
		}
		refresh(c, st, opts, name, token, sess)
		return principalOf(sess), nil
	}
	return Principal{Kind: Anonymous}, nil
}

// bearerToken returns the integration token of the Authorization header; other
// schemes and other bearer tokens are not this package's.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, strings.HasPrefix(token, APITokenPrefix)
}

// session reads the cookie and its live session of the cookie's kind. An empty token
// means no cookie; a zero session with a token means the cookie opens nothing (unknown,
// expired, or of the other kind).
func session(c *gin.Context, st *store.Store, name string) (store.Session, string, error) {
	token, err := c.Cookie(name)
	if err != nil || token == "" {
		return store.Session{}, "", nil
	}
	sess, err := st.GetSession(c.Request.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && sess.Kind != cookieKind(name)) {
		return store.Session{}, token, nil
	}
	if err != nil {
		return store.Session{}, token, err
	}
	return sess, token, nil
}

func cookieKind(name string) store.SessionKind {
	if name == CookieStaff {
		return store.SessionStaff
	}
	return store.SessionCustomer
}

func sessionTTL(kind store.SessionKind) time.Duration {
	if kind == store.SessionStaff {
		return StaffSessionTTL
	}
	return CustomerSessionTTL
}

// refresh slides the session's end and renews the cookie to match. A failure costs
// only the slide, so it is recorded for the request log and the request goes on.
func refresh(c *gin.Context, st *store.Store, opts Options, name, token string, sess store.Session) {
	if time.Since(sess.LastSeenAt) < touchEvery {
		return
	}
	expires, err := st.TouchSession(c.Request.Context(), sess.ID, sessionTTL(sess.Kind))
	if err != nil {
		_ = c.Error(fmt.Errorf("slide session: %w", err))
		return
	}
	setCookie(c, opts, name, token, expires)
}

func principalOf(s store.Session) Principal {
	if s.Kind == store.SessionStaff {
		return Principal{Kind: Staff, Dealer: s.Dealer, StaffID: s.StaffID, Role: Role(s.StaffRole)}
	}
	p := Principal{
		Kind: Customer, Dealer: s.Dealer, CustomerID: s.CustomerID, LoggedIn: s.LoggedIn,
		JobNumber: s.JobNumber, SessionID: s.Origin,
	}
	// A session that is not an account login is itself the anonymous session its jobs
	// are recorded under, unless it continues an earlier one.
	if p.SessionID == "" && !s.LoggedIn {
		p.SessionID = s.ID
	}
	return p
}

func setCookie(c *gin.Context, opts Options, name, token string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: token, Path: "/",
		MaxAge:   max(int(time.Until(expires).Seconds()), 1),
		HttpOnly: true, Secure: opts.SecureCookies || c.Request.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(c *gin.Context, opts Options, name string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: opts.SecureCookies || c.Request.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// deny answers the refused request through Options.Deny and stops the handler chain.
func deny(c *gin.Context, err *Error) {
	v, _ := c.Get(denyKey)
	if f, ok := v.(func(*gin.Context, *Error)); ok && f != nil {
		f(c, err)
	} else {
		if err.Err != nil {
			_ = c.Error(err.Err)
		}
		c.String(err.Status, err.Detail)
	}
	c.Abort()
}

// RequireStaff lets through staff of the path's dealer with one of the roles (any role
// when none are given).
func RequireStaff(roles ...Role) gin.HandlerFunc {
	return require(staffOnly, func(p Principal) bool { return p.Kind == Staff }, roles)
}

// RequireStaffOrIntegration lets through staff of the path's dealer (any role) and the
// dealer's integrations: the routes that work on jobs.
func RequireStaffOrIntegration() gin.HandlerFunc {
	return require(staffOnly, func(p Principal) bool { return p.Kind == Staff || p.Kind == Integration }, nil)
}

// RequireCustomer lets through customers of the path's dealer: with an account, an
// anonymous session, or a signed link. Which jobs they may see is the handler's call.
func RequireCustomer() gin.HandlerFunc {
	return require(customerOnly, func(p Principal) bool { return p.Kind == Customer }, nil)
}

// RequireIntegration lets through integrations of the path's dealer.
func RequireIntegration() gin.HandlerFunc {
	return require(integrationOnly, func(p Principal) bool { return p.Kind == Integration }, nil)
}

// guard names a guard's refusals: nobody known (401) and the wrong kind of caller (403).
type guard struct {
	unknown, wrongKind Error
}

var (
	staffOnly = guard{
		unknown:   Error{Status: http.StatusUnauthorized, Code: "staff_login_required", Detail: "this needs a staff login"},
		wrongKind: Error{Status: http.StatusForbidden, Code: "staff_only", Detail: "this is for the dealer's staff only"},
	}
	customerOnly = guard{
		unknown:   Error{Status: http.StatusUnauthorized, Code: "customer_session_required", Detail: "this needs a customer session or login"},
		wrongKind: Error{Status: http.StatusForbidden, Code: "customer_only", Detail: "this is for customers only"},
	}
	integrationOnly = guard{
		unknown:   Error{Status: http.StatusUnauthorized, Code: "api_token_required", Detail: "this needs an API token"},
		wrongKind: Error{Status: http.StatusForbidden, Code: "integration_only", Detail: "this is for integrations only"},
	}
)

// require answers 401 when nobody is known, 404 when the principal belongs to another
// dealer than the path's (another tenant's resources do not exist for them), and 403
// when the principal is of the wrong kind or role.
func require(g guard, kind func(Principal) bool, roles []Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := From(c)
		switch {
		case p.Kind == Anonymous:
			e := g.unknown
			deny(c, &e)
		case c.Param("dealer") != "" && p.Dealer != c.Param("dealer"):
			deny(c, &Error{Status: http.StatusNotFound, Code: "no_route", Detail: "no such resource: " + c.Request.URL.Path,
				Params: []string{"path", c.Request.URL.Path}})
		case !kind(p):
			e := g.wrongKind
			deny(c, &e)
		case len(roles) > 0 && !p.IsStaff(p.Dealer, roles...):
			deny(c, &Error{Status: http.StatusForbidden, Code: "role_required", Detail: "this needs the role " + joinRoles(roles, " or "),
				Params: []string{"roles", joinRoles(roles, ", ")}})
		}
	}
}

func joinRoles(roles []Role, sep string) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, sep)
}
