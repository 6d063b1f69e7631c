package api

import (
	"errors"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// LoginBody is the body of POST .../staff/login and .../customer/login.
type LoginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// StaffInfo is a staff user as the API shows it; never the password hash.
type StaffInfo struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Role  auth.Role `json:"role"`
}

// StaffAnswer answers a staff login, GET .../staff/me and a created staff user.
type StaffAnswer struct {
	Staff StaffInfo `json:"staff"`
}

// StaffUserList answers GET .../staff-users.
type StaffUserList struct {
	StaffUsers []StaffInfo `json:"staff_users"`
}

// StaffUserBody is the body of POST .../staff-users.
type StaffUserBody struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Password string    `json:"password"`
}

// APITokenBody is the body of POST .../api-tokens.
type APITokenBody struct {
	Name string `json:"name"`
}

// APITokenCreated answers POST .../api-tokens; Token is shown this once.
type APITokenCreated struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"created_at"`
}

// APITokenList answers GET .../api-tokens; revoked tokens are listed with their time.
type APITokenList struct {
	APITokens []store.APIToken `json:"api_tokens"`
}

// RegisterBody is the body of POST .../customer/register.
type RegisterBody struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// CustomerInfo is a customer as the customer sees it.
type CustomerInfo struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// CustomerAnswer describes the customer session: the customer (absent for an
// anonymous session), whether it is an account login, and the one job a signed link
// limits it to.
type CustomerAnswer struct {
	Customer  *CustomerInfo `json:"customer,omitempty"`
	LoggedIn  bool          `json:"logged_in"`
	JobNumber int64         `json:"job_number,omitempty"`
}

// PasswordResetBody is the body of POST .../customer/password-reset.
type PasswordResetBody struct {
	Email string `json:"email"`
}

// PasswordResetConfirmBody is the body of POST .../customer/password-reset/confirm.
type PasswordResetConfirmBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// JobLinkOpened answers GET .../customer/link/:token: the job the session may open.
type JobLinkOpened struct {
	Dealer string `json:"dealer"`
	Number int64  `json:"number"`
}

// maxNameLen bounds names of staff users, customers and API tokens.
const maxNameLen = 200

// authRoutes registers login, sessions, staff users and API tokens below the dealer's
// group. The routes that start or end a session (logins, logouts, registration, the
// anonymous session, the reset confirmation, the signed-link exchange) take no
// Idempotency-Key: they change the caller's own session, and a stored answer would
// hold a session secret; for the same reason neither does making an API token, whose
// answer shows the token.
func (s *server) authRoutes(dealer *gin.RouterGroup) {
	dealer.POST("/staff/login", s.staffLogin)
	dealer.POST("/staff/logout", s.staffLogout)
	dealer.GET("/staff/me", auth.RequireStaff(), s.staffMe)

	// Every staff member sees their colleagues: whom to assign a job to, who did what in
	// its history. Making staff users stays with owners and admins.
	dealer.GET("/staff-users", auth.RequireStaff(), s.listStaffUsers)
	admins := dealer.Group("", auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin))
	admins.POST("/staff-users", s.idempotent, s.createStaffUser)
	admins.GET("/api-tokens", s.listAPITokens)
	admins.POST("/api-tokens", s.createAPIToken)
	admins.DELETE("/api-tokens/:id", s.idempotent, s.revokeAPIToken)

	dealer.POST("/customer/register", s.customerRegister)
	dealer.POST("/customer/login", s.customerLogin)
	dealer.POST("/customer/logout", s.customerLogout)
	dealer.GET("/customer/me", auth.RequireCustomer(), s.customerMe)
	dealer.POST("/customer/session", s.customerSession)
	dealer.POST("/customer/password-reset", s.idempotent, s.passwordReset)
	dealer.POST("/customer/password-reset/confirm", s.passwordResetConfirm)
	dealer.GET("/customer/link/:token", s.openJobLink)
}

// denied answers a request package auth refused. The refusal's code is the problem's
// detail ID; its English detail stands in should the catalog lack it.
func (s *server) denied(c *gin.Context, err *auth.Error) {
	typ := ""
	switch err.Status {
	case http.StatusUnauthorized:
		typ = ProblemUnauthorized
	case http.StatusForbidden:
		typ = ProblemForbidden
	case http.StatusNotFound:
		typ = ProblemNotFound
	case http.StatusTooManyRequests:
		typ = ProblemTooManyRequests
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(err.RetryAfter.Seconds()))))
	default:
		internal(c, err)
		return
	}
	if err.Err != nil {
		_ = c.Error(err.Err)
	}
	p := problem(err.Status, typ, err.Code).with(err.Params...)
	p.Detail = err.Detail
	writeProblem(c, p)
}

// authFailed answers an error of package auth: its refusal, or 500.
func (s *server) authFailed(c *gin.Context, err error) {
	var aerr *auth.Error
	if errors.As(err, &aerr) {
		s.denied(c, aerr)
		return
	}
	internal(c, err)
}

// knownDealer answers 404 and returns false when the path's dealer does not exist.
func (s *server) knownDealer(c *gin.Context) bool {
	dealerID := c.Param("dealer")
	_, err := s.store.GetDealer(c.Request.Context(), dealerID)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", dealerID))
		return false
	}
	if err != nil {
		internal(c, err)
		return false
	}
	return true
}

// loginBody reads a login; both fields are required.
func loginBody(c *gin.Context) (LoginBody, bool) {
	var b LoginBody
	if !decodeJSON(c, &b) {
		return b, false
	}
	var fields []job.FieldError
	if strings.TrimSpace(b.Email) == "" {
		fields = append(fields, field("email", "required"))
	}
	if b.Password == "" {
		fields = append(fields, field("password", "required"))
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "login_incomplete", fields...))
		return b, false
	}
	return b, true
}

func (s *server) staffLogin(c *gin.Context) {
	b, ok := loginBody(c)
	if !ok || !s.knownDealer(c) {
		return
	}
	u, err := auth.LoginStaff(c.Request.Context(), s.store, s.auth, c.Param("dealer"), b.Email, b.Password, c.ClientIP())
	if err != nil {
		s.authFailed(c, err)
		return
	}
	if _, err := auth.StartStaffSession(c, s.store, s.auth, u); err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, StaffAnswer{Staff: staffInfo(u)})
}

func (s *server) staffLogout(c *gin.Context) {
	if err := auth.EndSession(c, s.store, s.auth, auth.CookieStaff); err != nil {
		internal(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) staffMe(c *gin.Context) {
	p := auth.From(c)
	u, err := s.store.GetStaffUser(c.Request.Context(), p.Dealer, p.StaffID)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, StaffAnswer{Staff: staffInfo(u)})
}

func staffInfo(u store.StaffUser) StaffInfo {
	return StaffInfo{ID: u.ID, Name: u.Name, Email: u.Email, Role: auth.Role(u.Role)}
}

func (s *server) listStaffUsers(c *gin.Context) {
	us, err := s.store.ListStaffUsers(c.Request.Context(), auth.From(c).Dealer)
	if err != nil {
		internal(c, err)
		return
	}
	out := StaffUserList{StaffUsers: make([]StaffInfo, len(us))}
	for i, u := range us {
		out.StaffUsers[i] = staffInfo(u)
	}
	c.JSON(http.StatusOK, out)
}

// createStaffUser adds a staff user. Admins add sales staff; only an owner adds owners
// and admins, so nobody hands out more rights than they hold.
func (s *server) createStaffUser(c *gin.Context) {
	var b StaffUserBody
	if !decodeJSON(c, &b) {
		return
	}
	p := auth.From(c)
	b.Email, b.Name = strings.TrimSpace(b.Email), strings.TrimSpace(b.Name)
	fields := checkFields(emailField("email", b.Email), nameField("name", b.Name), roleField("role", b.Role), passwordField("password", b.Password))
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "staff_user_invalid", fields...))
		return
	}
	if b.Role != auth.RoleSales && p.Role != auth.RoleOwner {
		writeProblem(c, problem(http.StatusForbidden, ProblemForbidden, "owner_only",
			field("role", "needs_owner", "role", string(b.Role))))
		return
	}
	hash, err := auth.HashPassword(b.Password)
	if err != nil {
		internal(c, err)
		return
	}
	u, err := s.store.CreateStaffUser(c.Request.Context(), store.StaffUser{
		Dealer: p.Dealer, Email: b.Email, Name: b.Name, Role: store.Role(b.Role), PasswordHash: hash,
	})
	if errors.Is(err, store.ErrConflict) {
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "staff_user_exists", field("email", "email_taken")))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, StaffAnswer{Staff: staffInfo(u)})
}

func (s *server) listAPITokens(c *gin.Context) {
	ts, err := s.store.ListAPITokens(c.Request.Context(), auth.From(c).Dealer)
	if err != nil {
		internal(c, err)
		return
	}
	if ts == nil {
		ts = []store.APIToken{}
	}
	c.JSON(http.StatusOK, APITokenList{APITokens: ts})
}

func (s *server) createAPIToken(c *gin.Context) {
	var b APITokenBody
	if !decodeJSON(c, &b) {
		return
	}
	b.Name = strings.TrimSpace(b.Name)
	if fields := checkFields(nameField("name", b.Name)); len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "api_token_body_invalid", fields...))
		return
	}
	p := auth.From(c)
	t, token, err := auth.NewAPIToken(c.Request.Context(), s.store, p.Dealer, b.Name, p.StaffID)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, APITokenCreated{ID: t.ID, Name: t.Name, Token: token, CreatedAt: t.CreatedAt})
}

func (s *server) revokeAPIToken(c *gin.Context) {
	err := s.store.RevokeAPIToken(c.Request.Context(), auth.From(c).Dealer, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_api_token").with("id", c.Param("id")))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// customerRegister creates a customer account and logs it in. An address the dealer
// already knows is refused: an existing record becomes an account only through the
// reset link, which proves the address, so nobody takes over another's jobs by
// registering with their address.
func (s *server) customerRegister(c *gin.Context) {
	var b RegisterBody
	if !decodeJSON(c, &b) {
		return
	}
	b.Email, b.Name = strings.TrimSpace(b.Email), strings.TrimSpace(b.Name)
	fields := checkFields(nameField("name", b.Name), emailField("email", b.Email), passwordField("password", b.Password))
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "account_invalid", fields...))
		return
	}
	if !s.knownDealer(c) {
		return
	}
	ctx := c.Request.Context()
	dealer := c.Param("dealer")
	taken := func() {
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "account_exists", field("email", "email_known")))
	}
	if _, err := s.store.CustomerAccountByEmail(ctx, dealer, b.Email); err == nil {
		taken()
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		internal(c, err)
		return
	}
	hash, err := auth.HashPassword(b.Password)
	if err != nil {
		internal(c, err)
		return
	}
	cust, err := s.store.CreateCustomerAccount(ctx, store.Customer{Dealer: dealer, Name: b.Name, Email: b.Email}, hash)
	if errors.Is(err, store.ErrConflict) {
		taken()
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	s.startCustomer(c, http.StatusCreated, cust)
}

// startCustomer logs the customer in to the account and answers with status.
func (s *server) startCustomer(c *gin.Context, status int, cust store.Customer) {
	p, err := auth.StartCustomerSession(c, s.store, s.auth, auth.CustomerSession{Dealer: cust.Dealer, CustomerID: cust.ID, LoggedIn: true})
	if err != nil {
		internal(c, err)
		return
	}
	// Jobs the browser's anonymous session started become the customer's.
	s.linkSessionJobs(c, p)
	c.JSON(status, customerAnswer(p, &cust))
}

func customerAnswer(p auth.Principal, cust *store.Customer) CustomerAnswer {
	out := CustomerAnswer{LoggedIn: p.LoggedIn, JobNumber: p.JobNumber}
	if cust != nil {
		out.Customer = &CustomerInfo{ID: cust.ID, Name: cust.Name, Email: cust.Email}
	}
	return out
}

func (s *server) customerLogin(c *gin.Context) {
	b, ok := loginBody(c)
	if !ok || !s.knownDealer(c) {
		return
	}
	cust, err := auth.LoginCustomer(c.Request.Context(), s.store, s.auth, c.Param("dealer"), b.Email, b.Password, c.ClientIP())
	if err != nil {
		s.authFailed(c, err)
		return
	}
	s.startCustomer(c, http.StatusOK, cust)
}

func (s *server) customerLogout(c *gin.Context) {
	if err := auth.EndSession(c, s.store, s.auth, auth.CookieCustomer); err != nil {
		internal(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) customerMe(c *gin.Context) {
	s.answerCustomer(c, http.StatusOK, auth.From(c))
}

// answerCustomer answers with the principal's customer session.
func (s *server) answerCustomer(c *gin.Context, status int, p auth.Principal) {
	if p.CustomerID == "" {
		c.JSON(status, customerAnswer(p, nil))
		return
	}
	cust, err := s.store.GetCustomer(c.Request.Context(), p.Dealer, p.CustomerID)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(status, customerAnswer(p, &cust))
}

// customerSession gives the browser a customer session: the one it has with this
// dealer (200), or a new anonymous one (201), under which a parked vehicle's job is
// kept until the customer logs in or registers.
func (s *server) customerSession(c *gin.Context) {
	if p := auth.From(c); p.Kind == auth.Customer && p.Dealer == c.Param("dealer") {
		s.answerCustomer(c, http.StatusOK, p)
		return
	}
	if !s.knownDealer(c) {
		return
	}
	p, err := auth.StartCustomerSession(c, s.store, s.auth, auth.CustomerSession{Dealer: c.Param("dealer")})
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, customerAnswer(p, nil))
}

// passwordReset sends a reset link when the dealer knows the address. It answers 202
// in every case, so the answer does not tell whether someone is the dealer's customer.
func (s *server) passwordReset(c *gin.Context) {
	var b PasswordResetBody
	if !decodeJSON(c, &b) {
		return
	}
	b.Email = strings.TrimSpace(b.Email)
	if b.Email == "" {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "reset_without_email", field("email", "required")))
		return
	}
	if !s.knownDealer(c) {
		return
	}
	dealer := c.Param("dealer")
	link := func(token string) string { return s.resetLink(dealer, token) }
	if err := auth.RequestPasswordReset(c.Request.Context(), s.store, s.mailer, dealer, b.Email, link); err != nil {
		// Logged, not shown: a different answer would tell that the address is known.
		_ = c.Error(err)
		s.log.Error("password reset not sent", "dealer", dealer, "error", err)
	}
	c.Status(http.StatusAccepted)
}

// resetLink is the page a reset e-mail links to (the customer pages' reset form, package
// web); the page posts the token with the new password to
// .../customer/password-reset/confirm.
func (s *server) resetLink(dealer, token string) string {
	return s.publicURL + "/shop/" + url.PathEscape(dealer) + "/password-reset?token=" + url.QueryEscape(token)
}

func (s *server) passwordResetConfirm(c *gin.Context) {
	var b PasswordResetConfirmBody
	if !decodeJSON(c, &b) {
		return
	}
	var token *job.FieldError
	if b.Token == "" {
		token = fieldRef("token", "required")
	}
	if fields := checkFields(token, passwordField("password", b.Password)); len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "reset_invalid", fields...))
		return
	}
	cust, err := auth.ConfirmPasswordReset(c.Request.Context(), s.store, c.Param("dealer"), b.Token, b.Password)
	switch {
	case errors.Is(err, auth.ErrResetInvalid):
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "reset_token_unusable", field("token", "reset_token_unusable")))
		return
	case errors.Is(err, store.ErrConflict):
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "account_exists", field("token", "email_has_account")))
		return
	case err != nil:
		internal(c, err)
		return
	}
	s.startCustomer(c, http.StatusOK, cust)
}

func (s *server) openJobLink(c *gin.Context) {
	dealer := c.Param("dealer")
	number, err := auth.OpenJobLink(c, s.store, s.auth, dealer, c.Param("token"))
	if err != nil {
		s.authFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, JobLinkOpened{Dealer: dealer, Number: number})
}

// customerMayOpen reports whether a customer may see the job: the signed link's job,
// or a job of the customer.
func customerMayOpen(p auth.Principal, row job.Row) bool {
	if p.JobNumber != 0 {
		return row.Number == p.JobNumber
	}
	return p.CustomerID != "" && row.CustomerID == p.CustomerID
}

// fieldRef is field for the checks below, which answer nil for a field without problem.
func fieldRef(name, code string, kv ...string) *job.FieldError {
	f := field(name, code, kv...)
	return &f
}

// checkFields collects the field problems found; nil entries are fields without one.
func checkFields(found ...*job.FieldError) []job.FieldError {
	var out []job.FieldError
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

func emailField(name, email string) *job.FieldError {
	if email == "" {
		return fieldRef(name, "required")
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return fieldRef(name, "not_an_email")
	}
	return nil
}

func nameField(name, value string) *job.FieldError {
	switch {
	case value == "":
		return fieldRef(name, "required")
	case len(value) > maxNameLen:
		return fieldRef(name, "too_long", "max", strconv.Itoa(maxNameLen))
	}
	return nil
}

func roleField(name string, role auth.Role) *job.FieldError {
	switch role {
	case auth.RoleOwner, auth.RoleAdmin, auth.RoleSales:
		return nil
	case "":
		return fieldRef(name, "required")
	}
	return fieldRef(name, "not_a_role", "given", string(role))
}

func passwordField(name, password string) *job.FieldError {
	switch err := auth.CheckNewPassword(password); {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrPasswordTooLong):
		return fieldRef(name, "password_too_long", "max", strconv.Itoa(auth.MaxPasswordBytes))
	default:
		return fieldRef(name, "password_too_short", "min", strconv.Itoa(auth.MinPasswordLength))
	}
}
