package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// testPassword is every test account's password.
const testPassword = "richtig-geheim-42"

const ownerEmail = "anna@autohaus-test.de"

// caller sends requests as one party: a browser with its cookie jar, or an integration
// with its API token.
type caller struct {
	jar   *cookiejar.Jar
	token string
}

// anonymous is a browser without cookies.
func anonymous() *caller {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New fails only for a bad public suffix list, which nil is not
	}
	return &caller{jar: jar}
}

func (c *caller) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// client talks to srv with the caller's cookies; srv's own client trusts its TLS
// certificate.
func (c *caller) client(srv *httptest.Server) *http.Client {
	cl := &http.Client{Transport: srv.Client().Transport}
	if c.jar != nil {
		cl.Jar = c.jar
	}
	return cl
}

// cookie is the value of the caller's cookie for srv, or "".
func (c *caller) cookie(t *testing.T, srv *httptest.Server, name string) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// withCookie is a browser that sends the cookie, as a copy of a stolen or kept one.
func withCookie(t *testing.T, srv *httptest.Server, name, value string) *caller {
	t.Helper()
	c := anonymous()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	return c
}

// testHash is testPassword hashed at bcrypt's lowest cost: logins check it at that
// cost, which keeps the tests fast; the login code is the same.
var testHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// seedAuth gives the env its owner, a customer account for env.customer and a second
// customer of the dealer, each logged in.
func (e *env) seedAuth(t *testing.T) {
	t.Helper()
	owner := e.addStaff(t, dealerID, "Anna Inhaber", ownerEmail, store.RoleOwner)
	e.staffID = owner.ID
	e.staff = e.loginStaff(t, dealerID, ownerEmail)
	require.NoError(t, e.store.SetCustomerPassword(context.Background(), dealerID, e.customer.ID, testHash()))
	e.cust = e.loginCustomer(t, e.customer.Email)
	other, err := e.store.CreateCustomerAccount(context.Background(),
		store.Customer{Dealer: dealerID, Name: "Max Muster", Email: "max@example.org"}, testHash())
	require.NoError(t, err)
	e.otherCust = e.loginCustomer(t, other.Email)
}

func (e *env) addStaff(t *testing.T, dealer, name, email string, role store.Role) store.StaffUser {
	t.Helper()
	u, err := e.store.CreateStaffUser(context.Background(), store.StaffUser{
		Dealer: dealer, Name: name, Email: email, Role: role, PasswordHash: testHash(),
	})
	require.NoError(t, err)
	return u
}

func (e *env) loginStaff(t *testing.T, dealer, email string) *caller {
	t.Helper()
	c := anonymous()
	r := e.do(t, request{method: http.MethodPost, path: "/api/v1/dealers/" + dealer + "/staff/login", as: c,
		body: api.LoginBody{Email: email, Password: testPassword}})
	require.Equal(t, email, decode[api.StaffAnswer](t, r, http.StatusOK).Staff.Email)
	return c
}

func (e *env) loginCustomer(t *testing.T, email string) *caller {
	t.Helper()
	c := anonymous()
	r := e.do(t, request{method: http.MethodPost, path: "/customer/login", as: c, body: api.LoginBody{Email: email, Password: testPassword}})
	require.True(t, decode[api.CustomerAnswer](t, r, http.StatusOK).LoggedIn)
	return c
}

// setCookie finds the cookie an answer sets.
func setCookie(t *testing.T, r response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		require.NoError(t, err)
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("the answer sets no cookie %s: %v", name, r.Header.Values("Set-Cookie"))
	return nil
}

// captureMailer keeps the links it is asked to send.
type captureMailer struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct{ to, link string }

func (m *captureMailer) SendPasswordReset(_ context.Context, to, link string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{to: to, link: link})
	return nil
}

// take returns the mails sent since the last take.
func (m *captureMailer) take() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sent
	m.sent = nil
	return out
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	t.Run("StaffLogin", e.testStaffLogin)
	t.Run("Throttle", e.testThrottle)
	t.Run("ThrottlePerIP", e.testThrottlePerIP)
	t.Run("Cookies", e.testCookies)
	t.Run("Sessions", e.testSessions)
	t.Run("Tenants", e.testTenants)
	t.Run("Roles", e.testRoles)
	t.Run("APITokens", e.testAPITokens)
	t.Run("Customers", e.testCustomers)
	t.Run("PasswordReset", e.testPasswordReset)
	t.Run("SignedLinks", e.testSignedLinks)
}

func (e *env) testStaffLogin(t *testing.T) {
	c := anonymous()
	login := func(email, password string) response {
		return e.do(t, request{method: http.MethodPost, path: "/staff/login", as: c, body: api.LoginBody{Email: email, Password: password}})
	}
	// Wrong password and unknown address answer alike.
	wrongPassword := login(ownerEmail, "falsch-falsch-falsch").problem(t)
	unknown := login("niemand@autohaus-test.de", testPassword).problem(t)
	require.Equal(t, http.StatusUnauthorized, wrongPassword.Status)
	require.Equal(t, api.ProblemUnauthorized, wrongPassword.Type)
	require.Equal(t, wrongPassword, unknown, "the answer does not tell which part was wrong")
	require.Equal(t, "", c.cookie(t, e.srv, auth.CookieStaff))

	p := e.do(t, request{method: http.MethodPost, path: "/staff/login", as: c, body: api.LoginBody{Email: ownerEmail}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"password"}, problemFields(p.Errors).names())

	// The address compares case-insensitively.
	r := login("ANNA@Autohaus-Test.de", testPassword)
	got := decode[api.StaffAnswer](t, r, http.StatusOK)
	require.Equal(t, api.StaffInfo{ID: e.staffID, Name: "Anna Inhaber", Email: ownerEmail, Role: auth.RoleOwner}, got.Staff)
	require.NotEmpty(t, c.cookie(t, e.srv, auth.CookieStaff))
	me := decode[api.StaffAnswer](t, e.do(t, request{method: http.MethodGet, path: "/staff/me", as: c}), http.StatusOK)
	require.Equal(t, got, me)

	// Logging in again replaces the session: the old cookie opens nothing.
	old := c.cookie(t, e.srv, auth.CookieStaff)
	login(ownerEmail, testPassword)
	require.NotEqual(t, old, c.cookie(t, e.srv, auth.CookieStaff))
	r = e.do(t, request{method: http.MethodGet, path: "/staff/me", as: withCookie(t, e.srv, auth.CookieStaff, old)})
	require.Equal(t, http.StatusUnauthorized, r.Status, "answer: %s", r)

	// Unknown dealer.
	p = e.do(t, request{method: http.MethodPost, path: "/api/v1/dealers/nobody/staff/login", as: anonymous(),
		body: api.LoginBody{Email: ownerEmail, Password: testPassword}}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
}

func (e *env) testThrottle(t *testing.T) {
	const email = "throttle@autohaus-test.de"
	e.addStaff(t, dealerID, "Theo Throttle", email, store.RoleSales)
	login := func(password string) response {
		return e.do(t, request{method: http.MethodPost, path: "/staff/login", as: anonymous(), body: api.LoginBody{Email: email, Password: password}})
	}
	for i := range 4 {
		require.Equal(t, http.StatusUnauthorized, login(fmt.Sprintf("falsch-%d-falsch", i)).Status)
	}
	// A success forgets the failures: four more may fail before the lock.
	require.Equal(t, http.StatusOK, login(testPassword).Status)
	for i := range 5 {
		require.Equal(t, http.StatusUnauthorized, login(fmt.Sprintf("falsch-%d-falsch", i)).Status, "failure %d", i+1)
	}
	// Locked: the right password too, with Retry-After up to the window.
	for _, pw := range []string{"noch-einmal-falsch", testPassword} {
		r := login(pw)
		p := r.problem(t)
		require.Equal(t, http.StatusTooManyRequests, p.Status)
		require.Equal(t, api.ProblemTooManyRequests, p.Type)
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
		require.Greater(t, secs, 14*60)
		require.LessOrEqual(t, secs, 15*60)
	}
	// Another address of the same dealer is not locked.
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodPost, path: "/staff/login", as: anonymous(),
		body: api.LoginBody{Email: ownerEmail, Password: testPassword}}).Status)

	// Time passes: once the failures leave the 15-minute window, the right password works.
	_, err := e.store.Pool().Exec(context.Background(),
		`UPDATE login_attempts SET at = at - interval '15 minutes' WHERE key LIKE 'staff:' || $1 || ':%'`, dealerID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, login(testPassword).Status)
}

// testThrottlePerIP runs on a database of its own: the limit per IP counts every
// failure from 127.0.0.1, which the other subtests share.
func (e *env) testThrottlePerIP(t *testing.T) {
	ctx := context.Background()
	st := pgtest.New(t)
	_, err := st.CreateDealer(ctx, store.Dealer{ID: dealerID, Name: "Autohaus IP"})
	require.NoError(t, err)
	_, err = st.CreateStaffUser(ctx, store.StaffUser{Dealer: dealerID, Name: "Ida", Email: "ida@example.org", Role: store.RoleSales, PasswordHash: testHash()})
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: st, Temporal: e.tc, Logger: e.logger}))
	defer srv.Close()
	login := func(email, password string) response {
		return e.do(t, request{method: http.MethodPost, path: "/staff/login", as: anonymous(), server: srv,
			body: api.LoginBody{Email: email, Password: password}})
	}
	// 20 failures, each for another address, so no address reaches its own limit.
	for i := range 20 {
		require.Equal(t, http.StatusUnauthorized, login(fmt.Sprintf("probe-%d@example.org", i), "falsch-falsch").Status, "failure %d", i+1)
	}
	r := login("ida@example.org", testPassword)
	require.Equal(t, http.StatusTooManyRequests, r.problem(t).Status, "the IP is locked, for the right password too")
	require.NotEmpty(t, r.Header.Get("Retry-After"))
}

func (e *env) testCookies(t *testing.T) {
	check := func(t *testing.T, srv *httptest.Server, wantSecure bool) {
		r := e.do(t, request{method: http.MethodPost, path: "/staff/login", as: anonymous(), server: srv,
			body: api.LoginBody{Email: ownerEmail, Password: testPassword}})
		require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
		c := setCookie(t, r, auth.CookieStaff)
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		require.Equal(t, "/", c.Path)
		require.Equal(t, wantSecure, c.Secure)
		require.InDelta(t, auth.StaffSessionTTL.Seconds(), c.MaxAge, 5)
		require.Len(t, c.Value, 43, "32 random bytes, base64url")

		r = e.do(t, request{method: http.MethodPost, path: "/customer/session", as: anonymous(), server: srv})
		c = setCookie(t, r, auth.CookieCustomer)
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		require.Equal(t, wantSecure, c.Secure)
		require.InDelta(t, auth.CustomerSessionTTL.Seconds(), c.MaxAge, 5)
	}
	t.Run("PlainHTTP", func(t *testing.T) { check(t, e.srv, false) })
	t.Run("TLS", func(t *testing.T) {
		srv := httptest.NewTLSServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger}))
		defer srv.Close()
		check(t, srv, true)
	})
	t.Run("BehindTLSProxy", func(t *testing.T) {
		srv := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger, Auth: auth.Options{SecureCookies: true}}))
		defer srv.Close()
		check(t, srv, true)
	})
}

func (e *env) testSessions(t *testing.T) {
	ctx := context.Background()
	me := func(c *caller) response { return e.do(t, request{method: http.MethodGet, path: "/staff/me", as: c}) }
	c := e.loginStaff(t, dealerID, ownerEmail)
	token := c.cookie(t, e.srv, auth.CookieStaff)
	require.Equal(t, http.StatusOK, me(c).Status)

	// The session slides: a use after a while moves its end on and renews the cookie.
	_, err := e.store.Pool().Exec(ctx, `UPDATE sessions SET last_seen_at = now() - interval '1 hour', expires_at = now() + interval '11 hours' WHERE id = $1`,
		auth.HashToken(token))
	require.NoError(t, err)
	r := me(c)
	require.Equal(t, http.StatusOK, r.Status)
	require.InDelta(t, auth.StaffSessionTTL.Seconds(), setCookie(t, r, auth.CookieStaff).MaxAge, 5)
	var left time.Duration
	require.NoError(t, e.store.Pool().QueryRow(ctx, `SELECT expires_at - now() FROM sessions WHERE id = $1`, auth.HashToken(token)).Scan(&left))
	require.Greater(t, left, 11*time.Hour+55*time.Minute)

	// Expired: refused, and the cookie is cleared.
	_, err = e.store.Pool().Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, auth.HashToken(token))
	require.NoError(t, err)
	r = me(c)
	require.Equal(t, http.StatusUnauthorized, r.problem(t).Status)
	require.Less(t, setCookie(t, r, auth.CookieStaff).MaxAge, 0)

	// Logout ends the session on the server: a kept copy of the cookie opens nothing.
	c = e.loginStaff(t, dealerID, ownerEmail)
	token = c.cookie(t, e.srv, auth.CookieStaff)
	r = e.do(t, request{method: http.MethodPost, path: "/staff/logout", as: c})
	require.Equal(t, http.StatusNoContent, r.Status, "answer: %s", r)
	require.Less(t, setCookie(t, r, auth.CookieStaff).MaxAge, 0)
	require.Equal(t, http.StatusUnauthorized, me(c).Status)
	require.Equal(t, http.StatusUnauthorized, me(withCookie(t, e.srv, auth.CookieStaff, token)).Status)
	require.Equal(t, http.StatusUnauthorized, e.do(t, request{method: http.MethodGet, path: "/jobs", as: withCookie(t, e.srv, auth.CookieStaff, token)}).Status)
	// A cookie the server never made opens nothing either.
	require.Equal(t, http.StatusUnauthorized, me(withCookie(t, e.srv, auth.CookieStaff, "made-up")).Status)

	// A cross-origin browser request is refused before it acts.
	req := request{method: http.MethodPost, path: "/staff/login", as: anonymous(), body: api.LoginBody{Email: ownerEmail, Password: testPassword}}
	r = e.doWith(t, req, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	require.Equal(t, http.StatusForbidden, r.problem(t).Status)
}

// doWith sends the request with extra headers, through the same checks as do.
func (e *env) doWith(t *testing.T, r request, h http.Header) response {
	t.Helper()
	r.header = h
	return e.do(t, r)
}

func (e *env) testTenants(t *testing.T) {
	ctx := context.Background()
	const other = "autohaus-b"
	_, err := e.store.CreateDealer(ctx, store.Dealer{ID: other, Name: "Autohaus B"})
	require.NoError(t, err)
	e.addStaff(t, other, "Bert B", "bert@autohaus-b.de", store.RoleOwner)
	bert := e.loginStaff(t, other, "bert@autohaus-b.de")
	n := e.newJob(t, "tenant-job")

	// Dealer A's job, list, staff and tokens do not exist for dealer B's staff.
	for _, r := range []request{
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d", n)},
		{method: http.MethodGet, path: "/jobs"},
		{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), key: "tenant-1", body: api.ActivateBody{}},
		{method: http.MethodPost, path: "/jobs", key: "tenant-2", body: map[string]any{"vehicle_id": e.vehicle.ID}},
		{method: http.MethodGet, path: "/staff-users"},
		{method: http.MethodGet, path: "/api-tokens"},
		{method: http.MethodGet, path: "/staff/me"},
	} {
		r.as = bert
		p := e.do(t, r).problem(t)
		require.Equal(t, http.StatusNotFound, p.Status, "%s %s", r.method, r.path)
	}
	// Their own dealer's list works; it has none of A's jobs.
	l := decode[api.JobList](t, e.do(t, request{method: http.MethodGet, path: "/api/v1/dealers/" + other + "/jobs", as: bert}), http.StatusOK)
	require.Empty(t, l.Jobs)
	// Dealer A's customer is nobody at dealer B.
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/api/v1/dealers/" + other + "/customer/me", as: e.cust}).Status)
	e.waitProjected(t, n)
	require.Equal(t, []string{"created:", "phase_activated:anfrage"}, actions(e.detail(t, n).History), "dealer B changed nothing")
}

// waitProjected waits until the read model shows job n started: the workflow projects
// its start on its own time.
func (e *env) waitProjected(t *testing.T, n int64) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, ok := listed(e.list(t, "phase=anfrage"), n)
		assert.True(c, ok)
	}, 10*time.Second, 50*time.Millisecond)
}

func (e *env) testRoles(t *testing.T) {
	e.addStaff(t, dealerID, "Adam Admin", "admin@autohaus-test.de", store.RoleAdmin)
	e.addStaff(t, dealerID, "Sina Sales", "sales@autohaus-test.de", store.RoleSales)
	admin := e.loginStaff(t, dealerID, "admin@autohaus-test.de")
	sales := e.loginStaff(t, dealerID, "sales@autohaus-test.de")
	newUser := func(as *caller, key, email string, role auth.Role) response {
		return e.do(t, request{method: http.MethodPost, path: "/staff-users", as: as, key: key,
			body: api.StaffUserBody{Email: email, Name: "Neu " + string(role), Role: role, Password: testPassword}})
	}

	// Sales work on jobs and see their colleagues, but manage neither staff nor tokens.
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodGet, path: "/jobs", as: sales}).Status)
	colleagues := decode[api.StaffUserList](t, e.do(t, request{method: http.MethodGet, path: "/staff-users", as: sales}), http.StatusOK)
	require.NotEmpty(t, colleagues.StaffUsers)
	for _, r := range []request{
		{method: http.MethodGet, path: "/api-tokens"},
		{method: http.MethodPost, path: "/api-tokens", body: api.APITokenBody{Name: "Sales"}},
	} {
		r.as = sales
		p := e.do(t, r).problem(t)
		require.Equal(t, http.StatusForbidden, p.Status, "%s %s", r.method, r.path)
		require.Equal(t, api.ProblemForbidden, p.Type)
	}
	p := newUser(sales, "role-1", "neu1@autohaus-test.de", auth.RoleSales).problem(t)
	require.Equal(t, http.StatusForbidden, p.Status)

	// Admins add sales staff, not admins or owners.
	created := decode[api.StaffAnswer](t, newUser(admin, "role-2", "neu2@autohaus-test.de", auth.RoleSales), http.StatusCreated)
	require.Equal(t, auth.RoleSales, created.Staff.Role)
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleOwner} {
		p = newUser(admin, "role-3-"+string(role), "neu3@autohaus-test.de", role).problem(t)
		require.Equal(t, http.StatusForbidden, p.Status)
		require.Equal(t, []string{"role"}, problemFields(p.Errors).names())
	}
	// Owners add admins; the new admin can log in.
	created = decode[api.StaffAnswer](t, newUser(e.staff, "role-4", "neu4@autohaus-test.de", auth.RoleAdmin), http.StatusCreated)
	require.Equal(t, auth.RoleAdmin, created.Staff.Role)
	e.loginStaff(t, dealerID, "neu4@autohaus-test.de")
	// The address is taken; bad fields are named.
	p = newUser(e.staff, "role-5", "NEU4@autohaus-test.de", auth.RoleSales).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []string{"email"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/staff-users", key: "role-6",
		body: api.StaffUserBody{Email: "kein-at", Name: "", Role: "boss", Password: "kurz"}, raw: true}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"email", "name", "role", "password"}, problemFields(p.Errors).names())

	list := decode[api.StaffUserList](t, e.do(t, request{method: http.MethodGet, path: "/staff-users", as: admin}), http.StatusOK)
	var emails []string
	for _, u := range list.StaffUsers {
		emails = append(emails, u.Email)
	}
	require.Contains(t, emails, "neu2@autohaus-test.de")
	require.Contains(t, emails, "neu4@autohaus-test.de")
	require.NotContains(t, emails, "neu3@autohaus-test.de")

	// Customers and anonymous callers are not staff.
	require.Equal(t, http.StatusForbidden, e.do(t, request{method: http.MethodGet, path: "/jobs", as: e.cust}).problem(t).Status)
	require.Equal(t, http.StatusUnauthorized, e.do(t, request{method: http.MethodGet, path: "/staff-users", as: anonymous()}).problem(t).Status)
}

func (e *env) testAPITokens(t *testing.T) {
	// Admins make tokens; the token is shown once and listed without it.
	admin := e.loginStaff(t, dealerID, "admin@autohaus-test.de")
	made := decode[api.APITokenCreated](t, e.do(t, request{method: http.MethodPost, path: "/api-tokens", as: admin,
		body: api.APITokenBody{Name: "Marktplatz"}}), http.StatusCreated)
	require.Regexp(t, `^jmt_[A-Za-z0-9_-]{43}$`, made.Token)
	list := decode[api.APITokenList](t, e.do(t, request{method: http.MethodGet, path: "/api-tokens"}), http.StatusOK)
	require.NotEmpty(t, list.APITokens)
	require.Equal(t, made.ID, list.APITokens[len(list.APITokens)-1].ID)
	require.NotContains(t, e.do(t, request{method: http.MethodGet, path: "/api-tokens"}).String(), made.Token)

	integration := &caller{token: made.Token}
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodGet, path: "/jobs", as: integration}).Status)
	created := decode[api.JobCreated](t, e.do(t, request{method: http.MethodPost, path: "/jobs", as: integration, key: "token-job",
		body: map[string]any{"vehicle_id": e.vehicle.ID, "source": "marketplace"}}), http.StatusCreated)
	e.waitProjected(t, created.Number)
	require.Equal(t, job.Actor{Side: job.Staff, ID: "token:" + made.ID}, e.detail(t, created.Number).History[0].Actor,
		"the integration started the job")
	// Its dealer only; and it is no staff user.
	p := e.do(t, request{method: http.MethodGet, path: "/api/v1/dealers/autohaus-b/jobs", as: integration}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Equal(t, http.StatusForbidden, e.do(t, request{method: http.MethodGet, path: "/staff-users", as: integration}).problem(t).Status)
	// A bearer token that is not ours is left alone; a made-up one of ours is refused.
	bad := e.do(t, request{method: http.MethodGet, path: "/jobs", as: &caller{token: "jmt_made-up"}})
	require.Equal(t, http.StatusUnauthorized, bad.problem(t).Status)
	require.Contains(t, bad.Header.Get("WWW-Authenticate"), "invalid_token")

	// Revoked: 401 from then on. Unknown tokens cannot be revoked.
	r := e.do(t, request{method: http.MethodDelete, path: "/api-tokens/" + made.ID, as: admin, key: "revoke-1"})
	require.Equal(t, http.StatusNoContent, r.Status, "answer: %s", r)
	p = e.do(t, request{method: http.MethodGet, path: "/jobs", as: integration}).problem(t)
	require.Equal(t, http.StatusUnauthorized, p.Status)
	list = decode[api.APITokenList](t, e.do(t, request{method: http.MethodGet, path: "/api-tokens"}), http.StatusOK)
	require.NotNil(t, list.APITokens[len(list.APITokens)-1].RevokedAt)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodDelete, path: "/api-tokens/8d1c5f3e-0000-4000-8000-000000000000", key: "revoke-2"}).problem(t).Status)
	p = e.do(t, request{method: http.MethodPost, path: "/api-tokens", body: api.APITokenBody{Name: " "}}).problem(t)
	require.Equal(t, []string{"name"}, problemFields(p.Errors).names())
}

func (e *env) testCustomers(t *testing.T) {
	ctx := context.Background()
	me := func(c *caller) response { return e.do(t, request{method: http.MethodGet, path: "/customer/me", as: c}) }

	// An anonymous session first, as the parking page makes it.
	c := anonymous()
	r := e.do(t, request{method: http.MethodPost, path: "/customer/session", as: c})
	anon := decode[api.CustomerAnswer](t, r, http.StatusCreated)
	require.Equal(t, api.CustomerAnswer{}, anon)
	anonToken := c.cookie(t, e.srv, auth.CookieCustomer)
	require.Equal(t, anon, decode[api.CustomerAnswer](t, e.do(t, request{method: http.MethodPost, path: "/customer/session", as: c}), http.StatusOK),
		"a second call keeps the session")
	require.Equal(t, anonToken, c.cookie(t, e.srv, auth.CookieCustomer))
	require.Equal(t, anon, decode[api.CustomerAnswer](t, me(c), http.StatusOK))

	// Registering from it continues the anonymous session, under a new token.
	r = e.do(t, request{method: http.MethodPost, path: "/customer/register", as: c,
		body: api.RegisterBody{Name: "Rita Register", Email: "rita@example.org", Password: testPassword}})
	reg := decode[api.CustomerAnswer](t, r, http.StatusCreated)
	require.True(t, reg.LoggedIn)
	require.Equal(t, "rita@example.org", reg.Customer.Email)
	require.NotEqual(t, anonToken, c.cookie(t, e.srv, auth.CookieCustomer))
	var origin string
	require.NoError(t, e.store.Pool().QueryRow(ctx, `SELECT origin FROM sessions WHERE id = $1`,
		auth.HashToken(c.cookie(t, e.srv, auth.CookieCustomer))).Scan(&origin))
	require.Equal(t, auth.HashToken(anonToken), origin, "the principal keeps the anonymous session's ID")
	require.Equal(t, http.StatusUnauthorized, me(withCookie(t, e.srv, auth.CookieCustomer, anonToken)).Status, "the anonymous token is spent")
	require.Equal(t, reg, decode[api.CustomerAnswer](t, me(c), http.StatusOK))

	// Logout, then login.
	require.Equal(t, http.StatusNoContent, e.do(t, request{method: http.MethodPost, path: "/customer/logout", as: c}).Status)
	require.Equal(t, http.StatusUnauthorized, me(c).problem(t).Status)
	p := e.do(t, request{method: http.MethodPost, path: "/customer/login", as: c, body: api.LoginBody{Email: "rita@example.org", Password: "falsch-falsch"}}).problem(t)
	require.Equal(t, http.StatusUnauthorized, p.Status)
	r = e.do(t, request{method: http.MethodPost, path: "/customer/login", as: c, body: api.LoginBody{Email: "rita@example.org", Password: testPassword}})
	require.Equal(t, reg, decode[api.CustomerAnswer](t, r, http.StatusOK))

	// Known addresses are refused, whether they have an account or not; bad fields are named.
	for _, email := range []string{"rita@example.org", "ERIKA@example.org"} {
		p = e.do(t, request{method: http.MethodPost, path: "/customer/register", as: anonymous(),
			body: api.RegisterBody{Name: "Doppelt", Email: email, Password: testPassword}}).problem(t)
		require.Equal(t, http.StatusConflict, p.Status, email)
		require.Equal(t, []string{"email"}, problemFields(p.Errors).names())
	}
	p = e.do(t, request{method: http.MethodPost, path: "/customer/register", as: anonymous(),
		body: api.RegisterBody{Name: "Kurz", Email: "kurz@example.org", Password: "neun-zchn"}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"password"}, problemFields(p.Errors).names())
	require.Equal(t, "password_too_short", p.Errors[0].Code)

	// A customer is not staff, and staff is not a customer.
	require.Equal(t, http.StatusForbidden, e.do(t, request{method: http.MethodGet, path: "/staff/me", as: c}).problem(t).Status)
	require.Equal(t, http.StatusForbidden, me(e.staff).problem(t).Status)
}

func (e *env) testPasswordReset(t *testing.T) {
	ctx := context.Background()
	mailer := &captureMailer{}
	srv := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger, Mailer: mailer, PublicURL: "https://autohaus.example/"}))
	defer srv.Close()
	on := func(r request) request { r.server = srv; return r }
	reset := func(key, email string) {
		r := e.do(t, on(request{method: http.MethodPost, path: "/customer/password-reset", as: anonymous(), key: key, body: api.PasswordResetBody{Email: email}}))
		require.Equal(t, http.StatusAccepted, r.Status, "answer: %s", r)
	}
	confirm := func(token, password string) response {
		return e.do(t, on(request{method: http.MethodPost, path: "/customer/password-reset/confirm", as: anonymous(),
			body: api.PasswordResetConfirmBody{Token: token, Password: password}}))
	}
	tokenOf := func(m sentMail) string {
		u, err := url.Parse(m.link)
		require.NoError(t, err)
		require.Equal(t, "autohaus.example", u.Host)
		require.Equal(t, "/shop/"+dealerID+"/password-reset", u.Path)
		return u.Query().Get("token")
	}
	login := func(password string) int {
		return e.do(t, on(request{method: http.MethodPost, path: "/customer/login", as: anonymous(),
			body: api.LoginBody{Email: "paula@example.org", Password: password}})).Status
	}
	e.do(t, on(request{method: http.MethodPost, path: "/customer/register", as: anonymous(),
		body: api.RegisterBody{Name: "Paula Passwort", Email: "paula@example.org", Password: testPassword}}))
	before := anonymous()
	require.Equal(t, http.StatusOK, e.do(t, on(request{method: http.MethodPost, path: "/customer/login", as: before,
		body: api.LoginBody{Email: "paula@example.org", Password: testPassword}})).Status)

	// Unknown addresses get the same answer and no mail.
	reset("reset-0", "niemand@example.org")
	require.Empty(t, mailer.take())

	reset("reset-1", "Paula@example.org")
	sent := mailer.take()
	require.Len(t, sent, 1)
	require.Equal(t, "paula@example.org", sent[0].to)
	token := tokenOf(sent[0])
	require.Len(t, token, 43)
	// A repeat of the request (same Idempotency-Key) sends nothing again.
	reset("reset-1", "Paula@example.org")
	require.Empty(t, mailer.take())

	p := confirm(token, "kurz").problem(t)
	require.Equal(t, []string{"password"}, problemFields(p.Errors).names())
	const newPassword = "ganz-neu-und-lang"
	r := confirm(token, newPassword)
	got := decode[api.CustomerAnswer](t, r, http.StatusOK)
	require.True(t, got.LoggedIn)
	require.Equal(t, "paula@example.org", got.Customer.Email)
	require.NotEmpty(t, setCookie(t, r, auth.CookieCustomer).Value)

	require.Equal(t, http.StatusUnauthorized, login(testPassword), "the old password fails")
	require.Equal(t, http.StatusOK, login(newPassword))
	require.Equal(t, http.StatusUnauthorized, e.do(t, on(request{method: http.MethodGet, path: "/customer/me", as: before})).Status,
		"sessions from before the reset have ended")
	p = confirm(token, "noch-ein-passwort").problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status, "the token works once")
	require.Equal(t, []string{"token"}, problemFields(p.Errors).names())

	// An expired token is refused.
	reset("reset-2", "paula@example.org")
	sent = mailer.take()
	require.Len(t, sent, 1)
	_, err := e.store.Pool().Exec(ctx, `UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE hash = $1`, auth.HashToken(tokenOf(sent[0])))
	require.NoError(t, err)
	p = confirm(tokenOf(sent[0]), "noch-ein-passwort").problem(t)
	require.Equal(t, []string{"token"}, problemFields(p.Errors).names())
	require.Equal(t, http.StatusOK, login(newPassword))

	// At most three links an hour per customer.
	reset("reset-3", "paula@example.org")
	reset("reset-4", "paula@example.org")
	require.Len(t, mailer.take(), 1)

	// A customer record staff made, without a password, becomes an account through the link.
	rec, err := e.store.CreateCustomer(ctx, store.Customer{Dealer: dealerID, Name: "Otto Ohnekonto", Email: "otto@example.org"})
	require.NoError(t, err)
	p = e.do(t, on(request{method: http.MethodPost, path: "/customer/login", as: anonymous(),
		body: api.LoginBody{Email: "otto@example.org", Password: testPassword}})).problem(t)
	require.Equal(t, http.StatusUnauthorized, p.Status, "a record without a password has no account")
	reset("reset-5", "otto@example.org")
	sent = mailer.take()
	require.Len(t, sent, 1)
	got = decode[api.CustomerAnswer](t, confirm(tokenOf(sent[0]), newPassword), http.StatusOK)
	require.Equal(t, rec.ID, got.Customer.ID)
}

func (e *env) testSignedLinks(t *testing.T) {
	ctx := context.Background()
	first, second := e.newJob(t, "link-job-1"), e.newJob(t, "link-job-2")
	view := func(c *caller, n int64) response {
		return e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: c})
	}
	token, err := auth.NewJobLink(ctx, e.store, dealerID, first, e.customer.ID, 7*24*time.Hour)
	require.NoError(t, err)

	c := anonymous()
	r := e.do(t, request{method: http.MethodGet, path: "/customer/link/" + token, as: c})
	require.Equal(t, api.JobLinkOpened{Dealer: dealerID, Number: first}, decode[api.JobLinkOpened](t, r, http.StatusOK))
	require.LessOrEqual(t, setCookie(t, r, auth.CookieCustomer).MaxAge, int((7 * 24 * time.Hour).Seconds()), "the session ends with the link")
	require.Equal(t, http.StatusOK, view(c, first).Status)
	require.Equal(t, http.StatusNotFound, view(c, second).problem(t).Status, "another job of the same customer")
	got := decode[api.CustomerAnswer](t, e.do(t, request{method: http.MethodGet, path: "/customer/me", as: c}), http.StatusOK)
	require.Equal(t, first, got.JobNumber)
	require.False(t, got.LoggedIn)
	require.Equal(t, e.customer.ID, got.Customer.ID)
	require.Equal(t, http.StatusForbidden, e.do(t, request{method: http.MethodGet, path: "/jobs", as: c}).problem(t).Status)

	// The customer logged in to the account sees both jobs; another customer neither.
	require.Equal(t, http.StatusOK, view(e.cust, second).Status)
	require.Equal(t, http.StatusNotFound, view(e.otherCust, first).problem(t).Status)
	// Opening the link while logged in to that account keeps the account session.
	before := e.cust.cookie(t, e.srv, auth.CookieCustomer)
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodGet, path: "/customer/link/" + token, as: e.cust}).Status)
	require.Equal(t, before, e.cust.cookie(t, e.srv, auth.CookieCustomer))

	// Unknown, expired and other dealers' links answer alike.
	expired, err := auth.NewJobLink(ctx, e.store, dealerID, first, "", time.Hour)
	require.NoError(t, err)
	_, err = e.store.Pool().Exec(ctx, `UPDATE job_links SET expires_at = now() - interval '1 second' WHERE hash = $1`, auth.HashToken(expired))
	require.NoError(t, err)
	for _, path := range []string{"/customer/link/" + expired, "/customer/link/unknown", "/api/v1/dealers/autohaus-b/customer/link/" + token} {
		p := e.do(t, request{method: http.MethodGet, path: path, as: anonymous()}).problem(t)
		require.Equal(t, http.StatusNotFound, p.Status, path)
	}
	// The link's session never outlives the link, however it is used: give the link a
	// second left and let the session slide.
	session := auth.HashToken(c.cookie(t, e.srv, auth.CookieCustomer))
	var notAfter, linkExpires time.Time
	require.NoError(t, e.store.Pool().QueryRow(ctx, `SELECT not_after FROM sessions WHERE id = $1`, session).Scan(&notAfter))
	require.NoError(t, e.store.Pool().QueryRow(ctx, `SELECT expires_at FROM job_links WHERE hash = $1`, auth.HashToken(token)).Scan(&linkExpires))
	require.True(t, notAfter.Equal(linkExpires), "session ends %s, link %s", notAfter, linkExpires)
	_, err = e.store.Pool().Exec(ctx, `UPDATE sessions SET not_after = now() + interval '1 second', last_seen_at = now() - interval '1 hour' WHERE id = $1`, session)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, view(c, first).Status, "used, so it slides; but only up to not_after")
	time.Sleep(1200 * time.Millisecond)
	require.Equal(t, http.StatusUnauthorized, view(c, first).problem(t).Status)

	_, err = auth.NewJobLink(ctx, e.store, dealerID, 999999, "", time.Hour)
	require.ErrorIs(t, err, store.ErrNotFound, "no link to a job that does not exist")
}
