package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/store"
)

// A dealer's own SMTP server: its e-mail to customers goes out through it instead of
// the system's sender. The password is sealed at rest (package secrets) and never
// leaves through the API; an answer says only whether one is stored.

// SMTPSettings answers the SMTP settings routes. Configured is false while the dealer
// sends through the system's sender; the other fields are then empty.
type SMTPSettings struct {
	Configured  bool       `json:"configured"`
	Host        string     `json:"host,omitempty"`
	Port        int        `json:"port,omitempty"`
	TLS         string     `json:"tls,omitempty"`
	Username    string     `json:"username,omitempty"`
	PasswordSet bool       `json:"password_set"`
	From        string     `json:"from,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}

// SMTPSettingsBody is the body of PUT /admin/smtp-settings. Password left out keeps
// the stored one; an empty string removes it.
type SMTPSettingsBody struct {
	Host     string  `json:"host"`
	Port     int     `json:"port"`
	TLS      string  `json:"tls"`
	Username string  `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
	From     string  `json:"from"`
}

// tlsPolicies are the values of SMTPSettingsBody.TLS.
var tlsPolicies = []mail.TLSPolicy{mail.TLSNone, mail.TLSOpportunistic, mail.TLSMandatory, mail.TLSImplicit}

// smtpRoutes serves the dealer's SMTP settings to owners and admins; box seals the
// password (nil refuses to store one, 503).
func (s *server) smtpRoutes(dealer *gin.RouterGroup, box *secrets.Box) {
	a := dealer.Group("/admin/smtp-settings", auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin))
	a.GET("", s.getSMTPSettings)
	a.PUT("", s.idempotent, func(c *gin.Context) { s.setSMTPSettings(c, box) })
	a.DELETE("", s.idempotent, s.deleteSMTPSettings)
}

func smtpSettings(d store.DealerSMTP) SMTPSettings {
	at := d.UpdatedAt
	return SMTPSettings{Configured: true, Host: d.Host, Port: d.Port, TLS: d.TLS, Username: d.Username,
		PasswordSet: d.PasswordSet(), From: d.From, UpdatedAt: &at}
}

func (s *server) getSMTPSettings(c *gin.Context) {
	d, err := s.store.GetDealerSMTP(c.Request.Context(), auth.From(c).Dealer)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.JSON(http.StatusOK, SMTPSettings{})
	case err != nil:
		internal(c, err)
	default:
		c.JSON(http.StatusOK, smtpSettings(d))
	}
}

func (s *server) setSMTPSettings(c *gin.Context, box *secrets.Box) {
	var b SMTPSettingsBody
	if !decodeJSON(c, &b) {
		return
	}
	ctx := c.Request.Context()
	dealer := auth.From(c).Dealer
	stored, err := s.store.GetDealerSMTP(ctx, dealer)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		internal(c, err)
		return
	}
	b.Host, b.Username, b.From = strings.TrimSpace(b.Host), strings.TrimSpace(b.Username), strings.TrimSpace(b.From)
	var fields []job.FieldError
	switch {
	case b.Host == "":
		fields = append(fields, field("host", "required"))
	case strings.ContainsAny(b.Host, " \t\r\n/:@"):
		fields = append(fields, field("host", "not_a_host_name"))
	}
	if b.Port < 1 || b.Port > 65535 {
		fields = append(fields, field("port", "out_of_range", "min", "1", "max", "65535"))
	}
	if !slices.Contains(tlsPolicies, mail.TLSPolicy(b.TLS)) {
		fields = append(fields, field("tls", "not_a_tls_policy", "value", b.TLS))
	}
	if b.From == "" {
		fields = append(fields, field("from", "required"))
	} else if !strings.Contains(b.From, "@") || strings.ContainsAny(b.From, " \t\r\n<>") {
		fields = append(fields, field("from", "not_an_email"))
	}
	// A server with log-in needs both; the stored password counts when none is given.
	hasPassword := stored.PasswordSet()
	if b.Password != nil {
		hasPassword = *b.Password != ""
	}
	switch {
	case b.Username != "" && !hasPassword:
		fields = append(fields, field("password", "required"))
	case b.Username == "" && b.Password != nil && *b.Password != "":
		fields = append(fields, field("username", "required"))
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "smtp_settings_invalid", fields...))
		return
	}
	password := b.Password
	if b.Username == "" && stored.PasswordSet() {
		// No log-in: a stored password would be left over, unused.
		password = new(string)
	}
	d, err := s.store.SetDealerSMTP(ctx, box, store.DealerSMTP{Dealer: dealer, Host: b.Host, Port: b.Port, TLS: b.TLS,
		Username: b.Username, From: b.From}, password)
	switch {
	case errors.Is(err, secrets.ErrNoKey):
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "secrets_unavailable"))
	case err != nil:
		internal(c, err)
	default:
		c.JSON(http.StatusOK, smtpSettings(d))
	}
}

func (s *server) deleteSMTPSettings(c *gin.Context) {
	if err := s.store.DeleteDealerSMTP(c.Request.Context(), auth.From(c).Dealer); err != nil {
		internal(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
