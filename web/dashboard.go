package web

// The staff job list: the API's job list with filters, saved filters, column views,
// paging by the API's cursor, and a live refresh of the table's body by htmx polling.
// Filters are the API's own query parameters; the page adds three of its own (view,
// cols, add), which it takes off before it asks the API.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// The job list page's own query parameters.
const (
	// paramView is the ID of a saved column view to show.
	paramView = "view"
	// paramCols is the columns being edited, comma-separated, before they are saved.
	paramCols = "cols"
	// paramAdd is a column to add to the shown ones (the add form's select).
	paramAdd = "add"
)

// rowsTarget is the ID of the table body that htmx polls.
const rowsTarget = "job-rows"

// dashboardRoutes are the logged-in staff pages: the job list and a job's detail.
func (s *site) dashboardRoutes(g *gin.RouterGroup) {
	g.GET("/jobs", s.jobsPage)
	g.POST("/saved-filters", s.saveFilter)
	g.POST("/saved-filters/:id/delete", s.deleteFilter)
	g.POST("/column-views", s.saveColumnView)
	g.POST("/column-views/:id/delete", s.deleteColumnView)
}

// option is one choice of a filter's select.
type option struct {
	Value, Label string
}

// columnEdit is a shown column with the links that move or remove it.
type columnEdit struct {
	Key, Up, Down, Remove string
}

// savedLink is a saved filter or column view with the address that applies it.
type savedLink struct {
	ID, Name, URL    string
	Current, Default bool
}

// jobsData is the job list page's data.
type jobsData struct {
	List api.JobList
	// Columns are the shown columns in order; Edits the same with their edit links;
	// Hidden the columns that can be added.
	Columns []string
	Edits   []columnEdit
	Hidden  []string
	// AllColumns are the columns there are, in their usual order.
	AllColumns []string
	// Editing: the columns come from the page's address (being edited), not a view.
	Editing bool
	// ViewID is the saved column view shown unchanged, if any.
	ViewID string
	Views  []api.ColumnView
	// Filters are the staff member's saved filters; FilterQuery is the current filter
	// as a query string (what "save filter" saves).
	Filters     []api.SavedFilter
	Filter      url.Values
	FilterQuery string
	// ColsQuery is the page's column choice as query (view=… or cols=…), kept by links
	// that change the filter.
	ColsQuery string
	// SelfURL is the page with its filter, columns and cursor: what htmx polls.
	SelfURL  string
	NextURL  string
	FirstURL string
	// FilterLinks and ViewLinks apply the saved filters and views; AllURL shows every
	// column, ResetURL drops the filter.
	FilterLinks []savedLink
	ViewLinks   []savedLink
	AllURL      string
	ResetURL    string
	// BackQuery is the page's query, where the forms come back to.
	BackQuery string
	Statuses  []job.Status
	Sorts     []string
	Phases    []option
	People    []option
	// Failed names the form the API refused: "filter" or "view".
	Failed string
	// Name is the refused form's name, shown again.
	Name string
}

func (s *site) jobsPage(c *gin.Context) {
	rowsOnly := isHTMX(c) && c.GetHeader("HX-Target") == rowsTarget
	d, err := s.jobsData(c, c.Request.URL.Query(), !rowsOnly)
	if err != nil {
		if ae, ok := asProblem(err); ok && ae.Status == http.StatusBadRequest {
			// A filter the API refuses (a hand-edited address, an old cursor): the page
			// without it, with the refusal shown.
			d, err2 := s.jobsData(c, url.Values{}, true)
			if err2 == nil {
				p := s.jobsPageOf(c, d)
				p.Problem = ae
				s.render(c, http.StatusBadRequest, "staff/jobs", "", p)
				return
			}
		}
		s.fail(c, err)
		return
	}
	p := s.jobsPageOf(c, d)
	if rowsOnly {
		s.render(c, http.StatusOK, "staff/jobs", "job-rows", p)
		return
	}
	s.render(c, http.StatusOK, "staff/jobs", "", p)
}

func (s *site) jobsPageOf(c *gin.Context, d *jobsData) *Page {
	p := s.staffPage(c, "staff", "")
	p.Title = p.T("jobs.title")
	p.Data = d
	return p
}

// jobsData asks the API for the list under the page query q, the staff member's
// column views and (full pages only) saved filters.
func (s *site) jobsData(c *gin.Context, q url.Values, full bool) (*jobsData, error) {
	dealer := c.Param("dealer")
	d := &jobsData{Statuses: []job.Status{job.StatusOpen, job.StatusSold, job.StatusClosed, job.StatusCanceled}, AllColumns: api.ColumnKeys}
	for _, st := range store.JobSorts {
		d.Sorts = append(d.Sorts, string(st))
	}

	// The API's parameters: everything but the page's own.
	apiQuery := url.Values{}
	for k, vs := range q {
		if k == paramView || k == paramCols || k == paramAdd {
			continue
		}
		for _, v := range vs {
			if strings.TrimSpace(v) != "" {
				apiQuery[k] = append(apiQuery[k], v)
			}
		}
	}
	if err := s.get(c, apiPath(dealer, "jobs"), apiQuery, &d.List); err != nil {
		return nil, err
	}
	d.Filter = url.Values{}
	for k, vs := range apiQuery {
		if k != "cursor" {
			d.Filter[k] = vs
		}
	}
	d.FilterQuery = d.Filter.Encode()

	var views api.ColumnViewList
	if err := s.get(c, apiPath(dealer, "column-views"), nil, &views); err != nil {
		return nil, err
	}
	d.Views = views.ColumnViews
	d.chooseColumns(q)

	if full {
		var filters api.SavedFilterList
		if err := s.get(c, apiPath(dealer, "saved-filters"), nil, &filters); err != nil {
			return nil, err
		}
		d.Filters = filters.SavedFilters
		d.choices(c)
	}
	d.links(c, q)
	return d, nil
}

// chooseColumns sets the shown columns: the columns being edited, else the chosen
// view's, else the default view's, else all.
func (d *jobsData) chooseColumns(q url.Values) {
	var cols []string
	d.Editing = q.Get(paramCols) != "" || q.Get(paramAdd) != ""
	if raw := q.Get(paramCols); raw != "" {
		for col := range strings.SplitSeq(raw, ",") {
			if slices.Contains(api.ColumnKeys, col) && !slices.Contains(cols, col) {
				cols = append(cols, col)
			}
		}
	} else {
		id := q.Get(paramView)
		for _, v := range d.Views {
			if (id != "" && v.ID == id) || (id == "" && v.Default) {
				cols, d.ViewID = v.Columns, v.ID
				break
			}
		}
	}
	if len(cols) == 0 {
		cols, d.ViewID = slices.Clone(api.ColumnKeys), ""
	}
	if add := q.Get(paramAdd); slices.Contains(api.ColumnKeys, add) && !slices.Contains(cols, add) {
		cols = append(slices.Clone(cols), add)
		d.ViewID = ""
	}
	d.Columns = cols
	for _, col := range api.ColumnKeys {
		if !slices.Contains(cols, col) {
			d.Hidden = append(d.Hidden, col)
		}
	}
}

// choices fills the phase and salesperson selects from what the list shows, with the
// current choice and the staff member themself.
func (d *jobsData) choices(c *gin.Context) {
	seen := map[string]bool{}
	if ph := d.Filter.Get("phase"); ph != "" {
		d.Phases, seen[ph] = append(d.Phases, option{ph, ph}), true
	}
	for _, r := range d.List.Jobs {
		if r.Phase != "" && !seen[r.Phase] {
			name := r.PhaseName
			if name == "" {
				name = r.Phase
			}
			d.Phases, seen[r.Phase] = append(d.Phases, option{r.Phase, name}), true
		}
	}
	people := map[string]bool{}
	if v, ok := c.Get(ctxStaff); ok {
		me := v.(*api.StaffInfo)
		d.People, people[me.ID] = append(d.People, option{me.ID, me.Name}), true
	}
	for _, r := range d.List.Jobs {
		if r.Salesperson != "" && r.SalespersonName != "" && !people[r.Salesperson] {
			d.People, people[r.Salesperson] = append(d.People, option{r.Salesperson, r.SalespersonName}), true
		}
	}
	if sp := d.Filter.Get("salesperson"); sp != "" && !people[sp] {
		d.People = append(d.People, option{sp, sp})
	}
}

// links builds the page's own addresses: polling, paging and column edits.
func (d *jobsData) links(c *gin.Context, q url.Values) {
	base := pagePath("staff", c.Param("dealer"), "jobs")
	cols := url.Values{}
	if d.ViewID != "" {
		cols.Set(paramView, d.ViewID)
	} else if d.Editing {
		cols.Set(paramCols, strings.Join(d.Columns, ","))
	}
	d.ColsQuery = cols.Encode()
	with := func(extra url.Values) string {
		v := url.Values{}
		for k, vs := range d.Filter {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		return base + "?" + v.Encode()
	}
	self := url.Values{}
	for k, vs := range cols {
		self[k] = vs
	}
	if cur := q.Get("cursor"); cur != "" {
		self.Set("cursor", cur)
		d.FirstURL = with(cols)
	}
	d.SelfURL = with(self)
	d.BackQuery = strings.TrimPrefix(d.SelfURL, base+"?")
	if d.List.NextCursor != "" {
		next := url.Values{"cursor": {d.List.NextCursor}}
		for k, vs := range cols {
			next[k] = vs
		}
		d.NextURL = with(next)
	}
	d.ResetURL = base + "?" + d.ColsQuery
	for _, f := range d.Filters {
		v, _ := url.ParseQuery(f.Query)
		for k, vs := range cols {
			v[k] = vs
		}
		d.FilterLinks = append(d.FilterLinks, savedLink{ID: f.ID, Name: f.Name, URL: base + "?" + v.Encode(), Current: f.Query == d.FilterQuery})
	}
	for _, cv := range d.Views {
		d.ViewLinks = append(d.ViewLinks, savedLink{ID: cv.ID, Name: cv.Name, URL: with(url.Values{paramView: {cv.ID}}),
			Current: cv.ID == d.ViewID, Default: cv.Default})
	}
	d.AllURL = with(url.Values{paramCols: {strings.Join(api.ColumnKeys, ",")}})
	colsLink := func(list []string) string {
		return with(url.Values{paramCols: {strings.Join(list, ",")}})
	}
	for i, col := range d.Columns {
		e := columnEdit{Key: col}
		if i > 0 {
			l := slices.Clone(d.Columns)
			l[i-1], l[i] = l[i], l[i-1]
			e.Up = colsLink(l)
		}
		if i < len(d.Columns)-1 {
			l := slices.Clone(d.Columns)
			l[i+1], l[i] = l[i], l[i+1]
			e.Down = colsLink(l)
		}
		if len(d.Columns) > 1 {
			e.Remove = colsLink(slices.Delete(slices.Clone(d.Columns), i, i+1))
		}
		d.Edits = append(d.Edits, e)
	}
}

// backTo is the job list with the page query a form carried in its back field.
func backTo(c *gin.Context) (string, url.Values) {
	q, _ := url.ParseQuery(c.PostForm("back"))
	return pagePath("staff", c.Param("dealer"), "jobs") + "?" + q.Encode(), q
}

// formRefused shows the job list again with the API's refusal of a form beside it.
func (s *site) formRefused(c *gin.Context, err error, form string) {
	ae, ok := asProblem(err)
	if !ok || ae.Status >= 500 {
		s.fail(c, err)
		return
	}
	_, q := backTo(c)
	d, err2 := s.jobsData(c, q, true)
	if err2 != nil {
		s.fail(c, err2)
		return
	}
	d.Failed, d.Name = form, c.PostForm("name")
	p := s.jobsPageOf(c, d)
	p.Problem = ae
	s.render(c, ae.Status, "staff/jobs", "", p)
}

// saveFilter saves the list's current filter under a name and shows it.
func (s *site) saveFilter(c *gin.Context) {
	query := c.PostForm("query")
	body := api.SavedFilterBody{Name: c.PostForm("name"), Query: &query}
	var out api.SavedFilter
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "saved-filters"), body, &out); err != nil {
		s.formRefused(c, err, "filter")
		return
	}
	_, back := backTo(c)
	q, _ := url.ParseQuery(out.Query)
	for _, k := range []string{paramView, paramCols} {
		if v := back.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	redirect(c, pagePath("staff", c.Param("dealer"), "jobs")+"?"+q.Encode())
}

func (s *site) deleteFilter(c *gin.Context) {
	if err := s.send(c, http.MethodDelete, apiPath(c.Param("dealer"), "saved-filters", c.Param("id")), nil, nil); err != nil {
		s.formRefused(c, err, "filter")
		return
	}
	to, _ := backTo(c)
	redirect(c, to)
}

// saveColumnView saves the shown columns as a named view and shows it.
func (s *site) saveColumnView(c *gin.Context) {
	var cols []string
	for col := range strings.SplitSeq(c.PostForm("columns"), ",") {
		if col = strings.TrimSpace(col); col != "" {
			cols = append(cols, col)
		}
	}
	body := api.ColumnViewBody{Name: c.PostForm("name"), Columns: cols, Default: c.PostForm("default") != ""}
	var out api.ColumnView
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "column-views"), body, &out); err != nil {
		s.formRefused(c, err, "view")
		return
	}
	_, q := backTo(c)
	q.Del(paramCols)
	q.Del(paramAdd)
	q.Set(paramView, out.ID)
	redirect(c, pagePath("staff", c.Param("dealer"), "jobs")+"?"+q.Encode())
}

func (s *site) deleteColumnView(c *gin.Context) {
	if err := s.send(c, http.MethodDelete, apiPath(c.Param("dealer"), "column-views", c.Param("id")), nil, nil); err != nil {
		s.formRefused(c, err, "view")
		return
	}
	_, q := backTo(c)
	if q.Get(paramView) == c.Param("id") {
		q.Del(paramView)
	}
	redirect(c, pagePath("staff", c.Param("dealer"), "jobs")+"?"+q.Encode())
}
