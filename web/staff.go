package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
)

// ctxStaff is where requireStaff leaves the logged-in staff member.
const ctxStaff = "jobmanager.web.staff"

// staffRoutes are the staff dashboard's pages under /staff/:dealer.
func (s *site) staffRoutes(g *gin.RouterGroup) {
	g.GET("/login", s.staffLoginPage)
	g.POST("/login", s.staffLogin)
	g.POST("/logout", s.staffLogout)
	authed := g.Group("", s.requireStaff)
	s.dashboardRoutes(authed)
	s.jobRoutes(authed.Group("/jobs/:number"))
	s.adminRoutes(authed.Group("/admin"))
	s.sandboxRoutes(authed.Group("/admin/sandbox"))
}

// requireStaff lets staff with a session on; anyone else goes to the login page and
// comes back after it.
func (s *site) requireStaff(c *gin.Context) {
	var me api.StaffAnswer
	if err := s.get(c, apiPath(c.Param("dealer"), "staff", "me"), nil, &me); err != nil {
		if ae, ok := asProblem(err); ok && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
			c.Redirect(http.StatusSeeOther, pagePath("staff", c.Param("dealer"), "login")+"?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		}
		s.fail(c, err)
		c.Abort()
		return
	}
	c.Set(ctxStaff, &me.Staff)
	c.Next()
}

// staffPage starts a page of the dashboard for the logged-in staff member.
func (s *site) staffPage(c *gin.Context, area, title string) *Page {
	p := s.newPage(c, area, title)
	if v, ok := c.Get(ctxStaff); ok {
		p.Staff = v.(*api.StaffInfo)
	}
	return p
}

// loginForm is the login page's data.
type loginForm struct {
	Email string
	Next  string
}

func (s *site) staffLoginPage(c *gin.Context) {
	p := s.newPage(c, "staff", "")
	p.Title = p.T("login.title")
	p.Data = loginForm{Next: localPath(c.Query("next"), pagePath("staff", c.Param("dealer"), "jobs"))}
	s.render(c, http.StatusOK, "staff/login", "", p)
}

func (s *site) staffLogin(c *gin.Context) {
	form := loginForm{Email: c.PostForm("email"), Next: localPath(c.PostForm("next"), pagePath("staff", c.Param("dealer"), "jobs"))}
	err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "staff", "login"), api.LoginBody{Email: form.Email, Password: c.PostForm("password")}, nil)
	if err != nil {
		s.formFailed(c, err, "staff/login", func(p *Page) { p.Title = p.T("login.title"); p.Data = form })
		return
	}
	redirect(c, form.Next)
}

func (s *site) staffLogout(c *gin.Context) {
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "staff", "logout"), nil, nil); err != nil {
		s.fail(c, err)
		return
	}
	redirect(c, pagePath("staff", c.Param("dealer"), "login"))
}

// formFailed shows the form's page again with the API's problem beside its fields, or
// the error page for failures that are not the visitor's.
func (s *site) formFailed(c *gin.Context, err error, page string, fill func(*Page)) {
	if p := s.refusedPage(c, err); p != nil {
		fill(p)
		s.render(c, p.Problem.Status, page, "", p)
	}
}

// refusedPage starts the staff page that shows a form again with the API's refusal
// err in p.Problem; for failures that are not the visitor's it answers with the error
// page instead (nil).
func (s *site) refusedPage(c *gin.Context, err error) *Page {
	ae, ok := asProblem(err)
	if !ok || ae.Status >= 500 {
		s.fail(c, err)
		return nil
	}
	p := s.staffPage(c, "staff", "")
	p.Problem = ae
	return p
}

// fail answers a failure the visitor cannot fix: the error page, and a log line.
func (s *site) fail(c *gin.Context, err error) {
	status, id := http.StatusInternalServerError, "error.internal"
	if ae, ok := asProblem(err); ok {
		switch {
		case ae.Status == http.StatusNotFound:
			status, id = ae.Status, "error.not_found"
		case ae.Status == http.StatusForbidden:
			status, id = ae.Status, "error.forbidden"
		case ae.Status == http.StatusServiceUnavailable:
			status, id = ae.Status, "error.unavailable"
		case ae.Status < 500:
			status, id = ae.Status, "error.refused"
		}
	}
	if status >= 500 {
		s.log.Error("page failed", "path", c.Request.URL.Path, "err", err)
	}
	s.renderError(c.Writer, c.Request, status, id)
}
