package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/csrf"
)

// csrfFieldName is the hidden form field (and csrfHeader the htmx header) that carries
// the token; gorilla/csrf checks it against its signed cookie on every unsafe method.
const (
	csrfFieldName = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
	csrfCookie    = "jm_csrf"
)

// csrfMiddleware guards every page form with gorilla/csrf: a post without the token of
// the visitor's CSRF cookie is refused with 403 and a page that says so.
func csrfMiddleware(key []byte, secure bool, trusted []string, s *site) gin.HandlerFunc {
	protect := csrf.Protect(key,
		csrf.CookieName(csrfCookie), csrf.FieldName(csrfFieldName), csrf.RequestHeader(csrfHeader),
		csrf.Path("/"), csrf.Secure(secure), csrf.HttpOnly(true), csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.TrustedOrigins(trusted),
		csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.log.Info("csrf refused", "path", r.URL.Path, "reason", csrf.FailureReason(r))
			s.renderError(w, r, http.StatusForbidden, "error.csrf")
		})))
	return func(c *gin.Context) {
		passed := false
		req := c.Request
		// gorilla/csrf assumes TLS and checks the Referer's scheme unless told the
		// request came over plain HTTP (development, or TLS ended at a proxy that the
		// Secure cookie and the Origin check still cover).
		if req.TLS == nil {
			req = csrf.PlaintextHTTPRequest(req)
		}
		protect(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, req)
		if !passed {
			c.Abort()
		}
	}
}

// csrfToken is the token a page puts in its forms and htmx headers.
func csrfToken(r *http.Request) string { return csrf.Token(r) }
