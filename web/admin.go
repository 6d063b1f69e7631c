package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// adminRoutes are the admin editor's pages under /staff/:dealer/admin: the dealer's own
// fields, phases, workflows and message templates, document settings, and which
// workflow new jobs start with. Every change is a request to the admin API, which
// refuses staff that are neither owner nor admin (403, shown as such).
func (s *site) adminRoutes(g *gin.RouterGroup) {
	g.GET("", s.adminIndex)
	g.POST("/active-workflow", s.adminSetActive)

	g.GET("/fields", s.adminFields)
	g.GET("/fields/new", s.adminNewField)
	g.POST("/fields", s.adminCreateField)
	g.GET("/fields/:key", s.adminField)
	g.POST("/fields/:key", s.adminSaveField)
	g.POST("/fields/:key/copy", s.adminCopyField)

	g.GET("/phases", s.adminPhases)
	g.POST("/phases", s.adminCreatePhase)
	g.GET("/phases/:key", s.adminPhase)
	g.POST("/phases/:key", s.adminSavePhase)
	g.POST("/phases/:key/copy", s.adminCopyPhase)

	g.GET("/workflows", s.adminWorkflows)
	g.POST("/workflows", s.adminCreateWorkflow)
	g.POST("/workflows/copy-standard", s.adminCopyStandard)
	g.GET("/workflows/:key", s.adminWorkflow)
	g.POST("/workflows/:key", s.adminSaveWorkflow)
	g.POST("/workflows/:key/publish", s.adminPublish)

	g.GET("/messages", s.adminMessages)
	g.POST("/messages", s.adminCreateMessage)
	g.POST("/messages/preview", s.adminPreviewMessage)
	g.GET("/messages/:key", s.adminMessage)
	g.POST("/messages/:key", s.adminSaveMessage)
	g.POST("/messages/:key/copy", s.adminCopyMessage)

	g.GET("/documents", s.adminDocuments)
	g.POST("/documents", s.adminSaveDocuments)
}

// adminAPI is the admin API's address of a part: adminAPI(dealer, "fields", key).
func adminAPI(dealer string, parts ...any) string {
	return apiPath(dealer, append([]any{"admin"}, parts...)...)
}

// adminPath is an admin page's address: adminPath(dealer, "fields", key).
func adminPath(dealer string, parts ...any) string {
	return pagePath("staff", dealer, append([]any{"admin"}, parts...)...)
}

// adminPage starts an admin page titled with the catalog text id.
func (s *site) adminPage(c *gin.Context, id string) *Page {
	p := s.staffPage(c, "admin", "")
	p.Title = p.T(id)
	if c.Query("saved") != "" {
		p.Notice = p.T("admin.saved")
	}
	return p
}

// problem is one thing the API said about a path, for the page to show beside the
// input it concerns.
type problem struct {
	Path    string
	Message string
}

// problems hold the API's complaints by path until the page's inputs take them; what
// no input takes is shown at the top of the page.
type problems struct {
	list  []problem
	taken []bool
}

func newProblems(list []job.FieldError) *problems {
	ps := &problems{}
	for _, x := range list {
		ps.add(x.Field, x.Reason)
	}
	return ps
}

func (ps *problems) add(path, msg string) {
	ps.list = append(ps.list, problem{Path: path, Message: msg})
	ps.taken = append(ps.taken, false)
}

// at takes the messages for exactly these paths.
func (ps *problems) at(paths ...string) string { return ps.take(paths, false) }

// under takes the messages for these paths and everything below them (path.x, path[3]).
func (ps *problems) under(paths ...string) string { return ps.take(paths, true) }

func (ps *problems) take(paths []string, below bool) string {
	if ps == nil {
		return ""
	}
	var out []string
	for _, path := range paths {
		for i, p := range ps.list {
			if ps.taken[i] {
				continue
			}
			if p.Path == path || (below && (strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"["))) {
				ps.taken[i] = true
				if !slices.Contains(out, p.Message) {
					out = append(out, p.Message)
				}
			}
		}
	}
	return strings.Join(out, " ")
}

// joinText joins the non-empty messages with a space.
func joinText(msgs ...string) string {
	return strings.Join(slices.DeleteFunc(msgs, func(m string) bool { return m == "" }), " ")
}

// mapPaths are the problems at the paths f gives for theirs.
func (ps *problems) mapPaths(f func(string) string) *problems {
	out := &problems{}
	for _, p := range ps.list {
		out.add(f(p.Path), p.Message)
	}
	return out
}

// rest are the problems no input took, each with its path.
func (ps *problems) rest() []problem {
	if ps == nil {
		return nil
	}
	var out []problem
	for i, p := range ps.list {
		if !ps.taken[i] {
			out = append(out, p)
		}
	}
	return out
}

// empty reports whether there are no problems at all.
func (ps *problems) empty() bool { return ps == nil || len(ps.list) == 0 }

// apiProblems are the field errors of an API refusal as problems.
func apiProblems(err error) *problems {
	ae, ok := asProblem(err)
	if !ok {
		return &problems{}
	}
	return newProblems(ae.Problem.Errors)
}

// adminShow renders an admin page with the data load reads (load may add a notice to
// p), or the error page when it fails.
func (s *site) adminShow(c *gin.Context, page, title string, load func(p *Page) (any, error)) {
	p := s.adminPage(c, title)
	data, err := load(p)
	if err != nil {
		s.fail(c, err)
		return
	}
	p.Data = data
	s.render(c, http.StatusOK, page, "", p)
}

// splitSystem splits a catalog list into the dealer's own parts and the system's.
func splitSystem[T any](list []T, system func(T) bool) (own, sys []T) {
	for _, x := range list {
		if system(x) {
			sys = append(sys, x)
		} else {
			own = append(own, x)
		}
	}
	return own, sys
}

// adminRefused answers an admin form the API refused with err: the error page for a
// failure the visitor cannot fix (see refusal); else the form's page again, whose data
// form builds with the refusal's problems beside their inputs and the rest listed
// (ps.rest()). A refusal that names no problem is one at the path "", so it lands in
// that rest unless form shows it elsewhere (ps.at("")).
func (s *site) adminRefused(c *gin.Context, err error, page, title string, form func(ps *problems) (any, error)) {
	ae := refusal(err)
	if ae == nil {
		s.fail(c, err)
		return
	}
	p := s.adminPage(c, title)
	p.Problem = ae
	ps := apiProblems(err)
	if ps.empty() {
		ps.add("", p.FormError())
	}
	data, ferr := form(ps)
	if ferr != nil {
		s.fail(c, ferr)
		return
	}
	p.Data = data
	s.render(c, ae.Status, page, "", p)
}

// refusal is an API refusal the visitor can fix, shown on the page; other failures
// are not (nil).
func refusal(err error) *apiError {
	ae, ok := asProblem(err)
	if !ok || ae.Status >= 500 || ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized {
		return nil
	}
	return ae
}

// definitionIndexPath matches a path of a resolved definition: phases[2]..., workflow.phases[1].
var definitionIndexPath = regexp.MustCompile(`^(workflow\.phases|phases)\[(\d+)\](.*)$`)

// catalogPath rewrites a problem path of a resolved workflow (phases[2].condition,
// workflow.phases[1]) to the catalog path by key the pages use
// (phases[anfrage].condition, workflows[mein].phases[1]); phases are the workflow's
// phase keys in order. Other paths stay as they are.
func catalogPath(path, workflow string, phases []string) string {
	m := definitionIndexPath.FindStringSubmatch(path)
	if m == nil {
		return path
	}
	i, err := strconv.Atoi(m[2])
	if err != nil {
		return path
	}
	if m[1] == "workflow.phases" {
		return fmt.Sprintf("workflows[%s].phases[%d]%s", workflow, i, m[3])
	}
	if i < 0 || i >= len(phases) {
		return path
	}
	return fmt.Sprintf("phases[%s]%s", phases[i], m[3])
}

// --- overview and active workflow -------------------------------------------------

// adminIndexData is the overview's data.
type adminIndexData struct {
	Active     *api.PublishedRef
	Workflows  []api.AdminWorkflow
	Choice     string
	ActiveErr  string
	OtherError []problem
}

func (s *site) adminIndex(c *gin.Context) {
	s.adminShow(c, "admin/index", "admin.title", func(*Page) (any, error) { return s.adminIndexData(c) })
}

func (s *site) adminIndexData(c *gin.Context) (*adminIndexData, error) {
	dealer := c.Param("dealer")
	var list api.WorkflowList
	if err := s.get(c, adminAPI(dealer, "workflows"), nil, &list); err != nil {
		return nil, err
	}
	d := &adminIndexData{Workflows: list.Workflows}
	var active api.PublishedRef
	err := s.get(c, adminAPI(dealer, "active-workflow"), nil, &active)
	if ae, ok := asProblem(err); ok && ae.Status == http.StatusNotFound {
		err = nil
	} else if err == nil {
		d.Active = &active
		d.Choice = active.Workflow
	}
	return d, err
}

func (s *site) adminSetActive(c *gin.Context) {
	dealer := c.Param("dealer")
	wf := c.PostForm("workflow")
	err := s.send(c, http.MethodPut, adminAPI(dealer, "active-workflow"), api.ActiveWorkflowBody{Workflow: wf}, nil)
	if err == nil {
		back := localPath(c.PostForm("back"), adminPath(dealer))
		redirect(c, withSaved(back))
		return
	}
	s.adminRefused(c, err, "admin/index", "admin.title", func(ps *problems) (any, error) {
		d, err := s.adminIndexData(c)
		if err != nil {
			return nil, err
		}
		d.Choice = wf
		d.ActiveErr = joinText(ps.under("workflow"), ps.at(""))
		d.OtherError = ps.rest()
		return d, nil
	})
}

// withSaved adds the saved notice's flag to a page address.
func withSaved(to string) string { return withParam(to, "saved", "1") }

// lines splits a text area into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// commaList splits "a, b ,c" into its non-empty trimmed items.
func commaList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// fieldTypes are the field types in the editor's order.
var fieldTypes = definitions.FieldTypes
