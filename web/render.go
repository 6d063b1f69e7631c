package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/i18n"
	"github.com/jobmanager/jobmanager/job"
)

//go:embed templates locales
var templateFiles embed.FS

// cookieLanguage keeps the visitor's language switch; without it pages are German.
const cookieLanguage = "jm_lang"

var defaultLanguage = i18n.Default

func supportedLanguage(lang string) bool { return i18n.Supported(lang) }

// catalog words the pages: a folder per area in locales/ with one TOML file per
// language, each a table (section) or more; areas never share a section.
var catalog, catalogErr = loadCatalog()

func loadCatalog() (i18n.Catalog, error) {
	dirs, err := fs.ReadDir(templateFiles, "locales")
	if err != nil {
		return nil, fmt.Errorf("read page catalogs: %w", err)
	}
	out := i18n.Catalog{}
	owner := map[string]string{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		part, err := i18n.Load(templateFiles, path.Join("locales", d.Name()))
		if err != nil {
			return nil, err
		}
		for lang, sections := range part {
			if out[lang] == nil {
				out[lang] = map[string]map[string]string{}
			}
			for name, texts := range sections {
				if o, ok := owner[lang+"/"+name]; ok && o != d.Name() {
					return nil, fmt.Errorf("page catalogs: section [%s] is in locales/%s and locales/%s", name, o, d.Name())
				}
				owner[lang+"/"+name] = d.Name()
				out[lang][name] = texts
			}
		}
	}
	return out, nil
}

// pageLanguage is the visitor's choice, else German: dealers' staff and customers are
// German first; the switch in every page's header offers English.
func pageLanguage(c *gin.Context) string {
	if v, err := c.Cookie(cookieLanguage); err == nil && supportedLanguage(v) {
		return v
	}
	return defaultLanguage
}

// templates are the parsed pages, each with the layout and the partials.
type templates struct {
	byName map[string]*template.Template
}

// funcs are the template helpers; words come from Page.T, not from here, because the
// language is the request's.
var funcs = template.FuncMap{
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"list": func(v ...any) []any { return v },
	// newKey is a fresh idempotency key for one rendered form.
	"newKey": uuid.NewString,
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(pageZone).Format("02.01.2006 15:04")
	},
	"euro": formatEuro,
	"contains": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
}

// pageZone is where dealers are: times on pages are German local time.
var pageZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// formatEuro writes cents as German money: 27.890,00 €.
func formatEuro(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	units := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, r := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	out := fmt.Sprintf("%s,%02d €", b.String(), cents%100)
	if neg {
		out = "−" + out
	}
	return out
}

// loadTemplates parses every page under templates/ (not the layout and partials) into
// a set with layout.html and partials/*.html; a page is named by its path without
// .html, such as "staff/jobs".
func loadTemplates() (*templates, error) {
	if catalogErr != nil {
		return nil, catalogErr
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	out := &templates{byName: map[string]*template.Template{}}
	err = fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "partials/") {
			return nil
		}
		t, err := base.Clone()
		if err != nil {
			return fmt.Errorf("clone layout for %s: %w", p, err)
		}
		t, err = t.ParseFS(templateFiles, p)
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		out.byName[name] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Page is what every template gets: the visitor's language and session, the CSRF
// token, and the page's own data.
type Page struct {
	Lang   string
	Title  string
	Dealer string
	// Path is the page's own path with query, for the language switch to come back.
	Path string
	// CSRF is the token of the visitor's CSRF cookie for forms and htmx headers.
	CSRF string
	// Area is "staff", "admin" or "shop": which navigation the layout shows.
	Area string
	// Staff is the logged-in staff member on staff pages.
	Staff *api.StaffInfo
	// Problem is what the API refused of the last form, shown beside its fields.
	Problem *apiError
	// Notice is a one-line success message.
	Notice string
	Dev    DevLinks
	// Data is the page's own.
	Data any
}

// T words a message of the pages' catalog: id is "section.key", args are name, value
// pairs for its {name}s. A missing message shows its ID, which a test catches.
func (p *Page) T(id string, args ...any) string {
	section, key, _ := strings.Cut(id, ".")
	params := make(map[string]string, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		params[fmt.Sprint(args[i])] = fmt.Sprint(args[i+1])
	}
	if t, ok := catalog.Text(p.Lang, section, key, params); ok {
		return t
	}
	return id
}

// Status words a job status.
func (p *Page) Status(s job.Status) string { return p.T("status." + string(s)) }

// FieldError is the API's reason for the named field of the last form, empty if none.
func (p *Page) FieldError(name string) string {
	if p.Problem == nil {
		return ""
	}
	for _, f := range p.Problem.Problem.Errors {
		if f.Field == name {
			return f.Reason
		}
	}
	return ""
}

// FormError is the last form's problem when no field error carries it, so a refusal
// that names no field of the form is still shown.
func (p *Page) FormError() string {
	if p.Problem == nil {
		return ""
	}
	if p.Problem.Problem.Detail != "" {
		return p.Problem.Problem.Detail
	}
	return p.Problem.Problem.Title
}

// newPage starts a page for the request.
func (s *site) newPage(c *gin.Context, area, title string) *Page {
	return &Page{Lang: pageLanguage(c), Dealer: c.Param("dealer"), Path: c.Request.URL.RequestURI(), CSRF: csrfToken(c.Request),
		Area: area, Title: title, Dev: s.dev}
}

// render writes the page template name (or one block of it, for htmx) with p.
func (s *site) render(c *gin.Context, status int, name, block string, p *Page) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("no such page template", "name", name)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	if block == "" {
		block = "layout.html"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		s.log.Error("render page", "page", name, "block", block, "err", err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderError answers with the error page: a message of the catalog's [error] table.
func (s *site) renderError(w http.ResponseWriter, r *http.Request, status int, id string) {
	p := &Page{Lang: defaultLanguage, Path: r.URL.RequestURI(), Dev: s.dev}
	if ck, err := r.Cookie(cookieLanguage); err == nil && supportedLanguage(ck.Value) {
		p.Lang = ck.Value
	}
	p.Title = p.T(id)
	p.Data = p.T(id)
	var buf bytes.Buffer
	if err := s.pages.byName["error"].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("render error page", "err", err)
		http.Error(w, p.Title, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// isHTMX reports a request htmx sent, which gets a fragment rather than the page.
func isHTMX(c *gin.Context) bool { return c.GetHeader("HX-Request") == "true" }

// redirect sends the browser on after a form: htmx follows HX-Redirect, a plain form
// a 303.
func redirect(c *gin.Context, to string) {
	if isHTMX(c) {
		c.Header("HX-Redirect", to)
		c.Status(http.StatusNoContent)
		return
	}
	c.Redirect(http.StatusSeeOther, to)
}

// pagePath is a page's address: pagePath("staff", dealer, "jobs", 12).
func pagePath(area, dealer string, parts ...any) string {
	p := path.Join("/", area, dealer)
	for _, x := range parts {
		p += "/" + fmt.Sprint(x)
	}
	return p
}

// withParam sets a query parameter of a local address, such as the notice the next
// page shows; one the address has already is replaced, not repeated.
func withParam(to, key, value string) string {
	u, err := url.Parse(to)
	if err != nil {
		return to
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
