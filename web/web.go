// Package web serves the pages people use: the staff dashboard, the customer's vehicle
// list and parking page, and the admin editor. Pages are server-rendered html/template
// with htmx (vendored in static/, no build step), German by default with an English
// switch.
//
// The pages are a client of the API, in process: every read and every change is a
// request to the API's handler (package api) with the visitor's session cookie, so
// authorization, validation, idempotency and the audit trail live in one place. This
// package only turns API answers into HTML and form posts into API requests, shows the
// API's field problems beside the fields they name, and guards its forms against CSRF.
package web

import (
	"crypto/rand"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

//go:embed static
var staticFiles embed.FS

// DevLinks point from pages to the tools of a development stack; empty links are not
// shown, as in production.
type DevLinks struct {
	// Inbox is the dev SMTP inbox's web page.
	Inbox string
	// TemporalUI is Temporal UI's address; pages link a job's workflow there.
	TemporalUI string
	// Namespace is the Temporal namespace of the links; "default" when empty.
	Namespace string
}

// Options configure the pages.
type Options struct {
	// CSRFKey authenticates CSRF cookies: 32 bytes that every replica shares and that
	// survive restarts. Empty makes a random key, so forms open across a restart fail
	// once: fine for development only.
	CSRFKey []byte
	// SecureCookies marks the CSRF cookie Secure on plain HTTP, behind a TLS proxy.
	SecureCookies bool
	// TrustedOrigins are other origins (host[:port]) whose form posts are accepted,
	// such as the public host name behind a proxy.
	TrustedOrigins []string
	Dev            DevLinks
	// Logger gets failures the visitor only sees as a generic error; nil discards.
	Logger *slog.Logger
}

// site is the pages' state: the API to call and the parsed templates.
type site struct {
	api   http.Handler
	pages *templates
	log   *slog.Logger
	dev   DevLinks
}

// Mount adds the pages to r, the API's engine, which the pages call for everything.
func Mount(r *gin.Engine, opts Options) error {
	pages, err := loadTemplates()
	if err != nil {
		return err
	}
	s := &site{api: r, pages: pages, log: opts.Logger, dev: opts.Dev}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.dev.Namespace == "" {
		s.dev.Namespace = "default"
	}
	key := opts.CSRFKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		s.log.Warn("no CSRF key configured: using a random one; forms open across a restart or on another replica fail")
	}
	if len(key) != 32 {
		return fmt.Errorf("csrf key: want 32 bytes, have %d", len(key))
	}

	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return fmt.Errorf("static files: %w", err)
	}
	r.GET("/static/*file", staticCache, gin.WrapH(http.StripPrefix("/static/", http.FileServer(http.FS(static)))))
	r.HEAD("/static/*file", staticCache, gin.WrapH(http.StripPrefix("/static/", http.FileServer(http.FS(static)))))

	pagesGroup := r.Group("", securityHeaders, csrfMiddleware(key, opts.SecureCookies, opts.TrustedOrigins, s))
	pagesGroup.GET("/lang/:lang", s.switchLanguage)
	s.staffRoutes(pagesGroup.Group("/staff/:dealer"))
	s.customerRoutes(pagesGroup.Group("/shop/:dealer"))
	return nil
}

// staticCache lets browsers keep the vendored files for a day; they change only with a
// release.
func staticCache(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=86400")
}

// securityHeaders keep the pages out of frames and scripts to the site's own files.
// htmx evaluates no inline script here; its indicator styles are the one inline style.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}

// switchLanguage remembers the visitor's language choice and goes back where they were.
func (s *site) switchLanguage(c *gin.Context) {
	lang := c.Param("lang")
	if !supportedLanguage(lang) {
		lang = defaultLanguage
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: cookieLanguage, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	c.Redirect(http.StatusSeeOther, localPath(c.Query("back"), "/"))
}

// localPath is back when it is a path on this site, else fallback: redirects never
// leave the site.
func localPath(back, fallback string) string {
	u, err := url.Parse(back)
	if err != nil || back == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
		return fallback
	}
	return u.RequestURI()
}
