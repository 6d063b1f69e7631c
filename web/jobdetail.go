package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
)

// The tabs of a job's detail page, in their order.
const (
	tabBasis       = "basis"
	tabInvoice     = "rechnung"
	tabDocuments   = "dokumente"
	tabAttachments = "anhaenge"
	tabWork        = "bearbeitung"
	tabHistory     = "verlauf"
)

var jobTabs = []string{tabBasis, tabInvoice, tabDocuments, tabAttachments, tabWork, tabHistory}

// jobRoutes are a job's pages for staff under /staff/:dealer/jobs/:number.
func (s *site) jobRoutes(g *gin.RouterGroup) {
	g.GET("", s.jobDetailPage)
	g.POST("/assign", s.jobAssign)
	g.POST("/invoice-lines/preview", s.jobInvoicePreview)
	g.POST("/invoice-lines", s.jobInvoiceSave)
	g.POST("/documents", s.jobGenerateDocument)
	g.POST("/document-texts/:template", s.jobDocumentTexts)
	g.GET("/files/view", s.jobDocumentView)
	g.GET("/files/:id", s.jobFile)
	g.POST("/uploads", s.jobUpload)
	g.POST("/submit", s.jobSubmit)
	g.POST("/form", s.jobForm)
	g.POST("/activate", s.jobActivate)
	g.POST("/status", s.jobStatus)
	g.GET("/kundenansicht", s.jobCustomerView)
}

// jobDetail is the detail page's data; the parts of tabs not shown stay empty.
type jobDetail struct {
	api.JobDetail
	Tab  string
	Tabs []string
	// Notice names the notice shown after a change (jobnotice.<Notice>).
	Notice string
	// Base is the page's own path; DocBase the prefix of its downloads.
	Base, DocBase string
	WorkflowURL   string
	// Basis.
	Vehicle         *api.Vehicle
	Customer        *api.Customer
	StaffUsers      []api.StaffInfo
	SalespersonName string
	// Rechnungsdaten.
	Lines  []invoiceRow
	Totals money.Totals
	// Dokumente: the current phase's document fields, and the templates' texts.
	DocFields []job.ViewField
	Templates []docTemplate
	// Dateianhänge.
	UploadFields []job.ViewField
	// Bearbeitung: the status form's last choice.
	Status, SoldOn string
	// Bearbeitungsverlauf, newest first.
	Entries []historyEntry
}

// invoiceRow is one line of the invoice form as typed: Amount is the visitor's text.
type invoiceRow struct {
	Text, Amount string
	Rate         int
	// Bad marks an amount that is no euro amount.
	Bad bool
}

// docTemplate is a document template with the job's own texts of it.
type docTemplate struct {
	Key   string
	Texts map[string]string
}

// historyEntry is one history entry worded for the page.
type historyEntry struct {
	job.AuditEntry
	Who           string
	Before, After []historyValue
	Files         []api.JobFile
}

type historyValue struct{ Key, Value string }

func (s *site) jobBase(c *gin.Context) string {
	return pagePath("staff", c.Param("dealer"), "jobs", c.Param("number"))
}

// jobNumber is the path's job number; a number that is none gives 0, which the API
// answers with 404.
func jobNumber(c *gin.Context) int64 {
	n, _ := strconv.ParseInt(c.Param("number"), 10, 64)
	return n
}

func (s *site) jobAPI(c *gin.Context, parts ...any) string {
	return apiPath(c.Param("dealer"), append([]any{"jobs", c.Param("number")}, parts...)...)
}

func (s *site) jobDetailPage(c *gin.Context) {
	s.showJob(c, http.StatusOK, c.Query("tab"), nil, nil)
}

// showJob renders the detail page with tab open; p is a page with a problem or
// notice already (nil for a fresh one); fill adjusts the data (a form's values).
func (s *site) showJob(c *gin.Context, status int, tab string, p *Page, fill func(*jobDetail)) {
	var d jobDetail
	if err := s.get(c, s.jobAPI(c), nil, &d.JobDetail); err != nil {
		s.fail(c, err)
		return
	}
	if p == nil {
		p = s.staffPage(c, "staff", "")
	}
	if !slices.Contains(jobTabs, tab) {
		// Staff's turn means work to do: the page opens where it is done.
		tab = tabBasis
		if d.LiveTurn() == definitions.TurnStaff && !d.LiveStatus().Ended() {
			tab = tabWork
		}
	}
	d.Tab, d.Tabs = tab, jobTabs
	d.Base = s.jobBase(c)
	d.DocBase = d.Base + "/files"
	if n := c.Query("notice"); n != "" && p.Notice == "" && catalogHas(p, "jobnotice."+n) {
		p.Notice, d.Notice = p.T("jobnotice."+n), n
	}
	if s.dev.TemporalUI != "" {
		d.WorkflowURL = strings.TrimRight(s.dev.TemporalUI, "/") + "/namespaces/" + url.PathEscape(s.dev.Namespace) +
			"/workflows/" + url.PathEscape(job.WorkflowID(d.Job.Dealer, d.Job.Number))
	}
	p.Title = p.T("jobdetail.title", "number", d.Job.Number)
	if err := s.loadTab(c, p, &d); err != nil {
		s.fail(c, err)
		return
	}
	if fill != nil {
		fill(&d)
	}
	p.Data = &d
	s.render(c, status, "job/detail", "", p)
}

// catalogHas reports whether the catalog words id, so a notice from the query shows
// only known texts.
func catalogHas(p *Page, id string) bool { return p.T(id) != id }

// loadTab reads what the open tab shows beside the job's detail.
func (s *site) loadTab(c *gin.Context, p *Page, d *jobDetail) error {
	dealer := c.Param("dealer")
	// Only these tabs name staff: the assignment and its select, who did what.
	if d.Tab == tabBasis || d.Tab == tabWork || d.Tab == tabHistory {
		s.loadStaffNames(c, p, d)
	}
	switch d.Tab {
	case tabBasis, tabHistory:
		if d.Tab == tabHistory {
			d.Entries = historyEntries(p, d)
			return nil
		}
		if d.Job.VehicleID != "" {
			var v api.Vehicle
			if err := s.get(c, apiPath(dealer, "vehicles", d.Job.VehicleID), nil, &v); err == nil {
				d.Vehicle = &v
			} else if ae, ok := asProblem(err); !ok || ae.Status != http.StatusNotFound {
				return err
			}
		}
		if d.Job.CustomerID != "" {
			var cu api.Customer
			if err := s.get(c, apiPath(dealer, "customers", d.Job.CustomerID), nil, &cu); err == nil {
				d.Customer = &cu
			} else if ae, ok := asProblem(err); !ok || ae.Status != http.StatusNotFound {
				return err
			}
		}
	case tabInvoice:
		var il api.InvoiceLines
		if err := s.get(c, s.jobAPI(c, "invoice-lines"), nil, &il); err != nil {
			return err
		}
		for _, l := range il.Lines {
			d.Lines = append(d.Lines, invoiceRow{Text: l.Text, Amount: amountText(l.AmountCents), Rate: l.TaxRate})
		}
		d.Totals = il.Totals
	case tabDocuments:
		if d.View != nil {
			for _, f := range d.View.Fields {
				if f.Type == definitions.TypeDocumentStore || f.Type == definitions.TypeDocumentView {
					d.DocFields = append(d.DocFields, f)
				}
			}
		}
		for _, t := range documents.Templates {
			var texts api.DocumentTexts
			if err := s.get(c, s.jobAPI(c, "document-texts", t), nil, &texts); err != nil {
				return err
			}
			d.Templates = append(d.Templates, docTemplate{Key: t, Texts: texts.Texts})
		}
	case tabAttachments:
		if d.View != nil {
			for _, f := range d.View.Fields {
				if f.Type == definitions.TypeFileUpload && !f.ReadOnly {
					d.UploadFields = append(d.UploadFields, f)
				}
			}
		}
	}
	return nil
}

// loadStaffNames reads the dealer's staff for names (the assignment select, who did
// what in the history); should the list fail, the page names at least the visitor and
// the job's salesperson from the read model.
func (s *site) loadStaffNames(c *gin.Context, p *Page, d *jobDetail) {
	var list api.StaffUserList
	if err := s.get(c, apiPath(c.Param("dealer"), "staff-users"), nil, &list); err == nil {
		d.StaffUsers = list.StaffUsers
	} else if p.Staff != nil {
		d.StaffUsers = []api.StaffInfo{*p.Staff}
	}
	d.SalespersonName = d.LiveSalesperson()
	if d.Job.Salesperson == d.SalespersonName && d.Job.SalespersonName != "" {
		d.SalespersonName = d.Job.SalespersonName
	}
	for _, u := range d.StaffUsers {
		if u.ID == d.LiveSalesperson() {
			d.SalespersonName = u.Name
		}
	}
}

// historyEntries words the job's history, newest first.
func historyEntries(p *Page, d *jobDetail) []historyEntry {
	names := map[string]string{}
	for _, u := range d.StaffUsers {
		names[u.ID] = u.Name
	}
	files := map[string]api.JobFile{}
	for _, f := range d.AllFiles() {
		files[f.ID] = f
	}
	// The read model's row names the customer already: no customer request.
	customerName := d.Job.CustomerName
	history := d.JobDetail.History
	out := make([]historyEntry, 0, len(history))
	for i := len(history) - 1; i >= 0; i-- {
		a := history[i]
		e := historyEntry{AuditEntry: a, Before: readable(a.Before, names), After: readable(a.After, names)}
		switch a.Actor.Side {
		case job.Staff:
			e.Who = names[a.Actor.ID]
			if e.Who == "" {
				e.Who = p.T("jobhistory.staff", "id", a.Actor.ID)
			}
		case job.Customer:
			e.Who = customerName
			if e.Who == "" {
				e.Who = p.T("jobhistory.customer")
			}
		default:
			e.Who = p.T("jobhistory.system", "id", a.Actor.ID)
		}
		for _, m := range []map[string]any{a.Before, a.After} {
			if id, ok := m["document_id"].(string); ok && id != "" {
				f, known := files[id]
				if !known {
					f = api.JobFile{ID: id, Filename: fmt.Sprint(m["filename"])}
				}
				if !slices.ContainsFunc(e.Files, func(x api.JobFile) bool { return x.ID == id }) {
					e.Files = append(e.Files, f)
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// readable lists a history entry's data by key, values as plain text; staff IDs of
// salespeople show as names.
func readable(m map[string]any, names map[string]string) []historyValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]historyValue, 0, len(keys))
	for _, k := range keys {
		v := plainValue(k, m[k])
		if n, ok := names[v]; ok && k == "salesperson" {
			v = n
		}
		out = append(out, historyValue{Key: k, Value: v})
	}
	return out
}

func plainValue(key string, v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case string:
		return x
	case bool:
		if x {
			return "✓"
		}
		return "✗"
	case float64:
		if strings.HasSuffix(key, "_cents") {
			return formatEuro(int64(x))
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plainValue("", e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, kv := range readable(x, nil) {
			parts = append(parts, kv.Key+": "+kv.Value)
		}
		return strings.Join(parts, "; ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// jobFailed shows the tab again with the API's refusal beside its fields, or the error
// page for failures that are not the visitor's.
func (s *site) jobFailed(c *gin.Context, err error, tab string, fill func(*jobDetail)) {
	if p := s.refusedPage(c, err); p != nil {
		s.showJob(c, p.Problem.Status, tab, p, fill)
	}
}

// jobDone goes back to the tab with a notice.
func (s *site) jobDone(c *gin.Context, tab, notice string) {
	redirect(c, s.jobBase(c)+"?tab="+tab+"&notice="+notice)
}

// --- Basis ---

func (s *site) jobAssign(c *gin.Context) {
	sp, loc := strings.TrimSpace(c.PostForm("salesperson")), strings.TrimSpace(c.PostForm("location"))
	body := api.AssignBody{Salesperson: &sp, Location: &loc}
	if err := s.send(c, http.MethodPost, s.jobAPI(c, "assign"), body, nil); err != nil {
		s.jobFailed(c, err, tabBasis, nil)
		return
	}
	s.jobDone(c, tabBasis, "assigned")
}

// --- Rechnungsdaten ---

// invoiceForm reads the invoice form: rows as typed, and the lines of those that are
// complete. op adds a row ("add") or removes one ("remove:<i>").
func invoiceForm(c *gin.Context) ([]invoiceRow, []money.Line, bool) {
	texts, amounts, rates := c.PostFormArray("text"), c.PostFormArray("amount"), c.PostFormArray("rate")
	var rows []invoiceRow
	var lines []money.Line
	ok := true
	for i := range texts {
		r := invoiceRow{Text: texts[i], Rate: 19}
		if i < len(amounts) {
			r.Amount = amounts[i]
		}
		if i < len(rates) {
			if n, err := strconv.Atoi(rates[i]); err == nil {
				r.Rate = n
			}
		}
		cents, valid := parseEuro(r.Amount)
		if strings.TrimSpace(r.Amount) != "" && !valid {
			r.Bad, ok = true, false
		}
		rows = append(rows, r)
		if strings.TrimSpace(r.Text) == "" && strings.TrimSpace(r.Amount) == "" {
			continue
		}
		lines = append(lines, money.Line{Text: strings.TrimSpace(r.Text), AmountCents: cents, TaxRate: r.Rate})
	}
	switch op := c.PostForm("_op"); {
	case op == "add":
		rows = append(rows, invoiceRow{Rate: 19})
	case strings.HasPrefix(op, "remove:"):
		if i, err := strconv.Atoi(strings.TrimPrefix(op, "remove:")); err == nil && i >= 0 && i < len(rows) {
			rows = slices.Delete(rows, i, i+1)
			lines = nil
			for _, r := range rows {
				cents, _ := parseEuro(r.Amount)
				if strings.TrimSpace(r.Text) != "" || strings.TrimSpace(r.Amount) != "" {
					lines = append(lines, money.Line{Text: strings.TrimSpace(r.Text), AmountCents: cents, TaxRate: r.Rate})
				}
			}
		}
	}
	return rows, lines, ok
}

// jobInvoicePreview computes the totals of the form as typed: htmx swaps the totals
// block on each change, or the whole editor when a row is added or removed; without
// htmx the page comes back with the form as typed.
func (s *site) jobInvoicePreview(c *gin.Context) {
	rows, lines, _ := invoiceForm(c)
	fill := func(d *jobDetail) { d.Lines, d.Totals = rows, money.Sum(lines) }
	if !isHTMX(c) {
		s.showJob(c, http.StatusOK, tabInvoice, nil, fill)
		return
	}
	p := s.staffPage(c, "staff", "")
	d := &jobDetail{Tab: tabInvoice, Base: s.jobBase(c)}
	fill(d)
	p.Data = d
	block := "invoice-totals"
	if c.PostForm("_op") != "" {
		block = "invoice-editor"
	}
	s.render(c, http.StatusOK, "job/detail", block, p)
}

func (s *site) jobInvoiceSave(c *gin.Context) {
	rows, lines, ok := invoiceForm(c)
	fill := func(d *jobDetail) { d.Lines, d.Totals = rows, money.Sum(lines) }
	if !ok {
		p := s.staffPage(c, "staff", "")
		p.Problem = &apiError{Status: http.StatusUnprocessableEntity, Problem: api.Problem{Detail: p.T("jobinvoice.bad_amount")}}
		s.showJob(c, http.StatusUnprocessableEntity, tabInvoice, p, fill)
		return
	}
	if lines == nil {
		lines = []money.Line{}
	}
	if err := s.send(c, http.MethodPut, s.jobAPI(c, "invoice-lines"), api.InvoiceLinesBody{Lines: lines}, nil); err != nil {
		s.jobFailed(c, err, tabInvoice, fill)
		return
	}
	s.jobDone(c, tabInvoice, "invoice_saved")
}

// parseEuro reads a euro amount as people type it: 27.890,00 or 27890 or 1234.5,
// with or without € and a minus for deductions.
func parseEuro(s string) (int64, bool) {
	s = strings.TrimSpace(strings.NewReplacer("€", "", " ", "", "\u00a0", "", "−", "-").Replace(s))
	if s == "" {
		return 0, false
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var units, frac string
	switch {
	case strings.Contains(s, ","):
		units, frac, _ = strings.Cut(s, ",")
		units = strings.ReplaceAll(units, ".", "")
	case strings.Count(s, ".") == 1 && len(s)-strings.Index(s, ".")-1 <= 2:
		units, frac, _ = strings.Cut(s, ".")
	default:
		units = strings.ReplaceAll(s, ".", "")
	}
	if units == "" {
		units = "0"
	}
	if len(frac) > 2 || strings.ContainsAny(frac, ".,") {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	u, err := strconv.ParseInt(units, 10, 64)
	if err != nil || u > 1e12 {
		return 0, false
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	cents := u*100 + f
	if neg {
		cents = -cents
	}
	return cents, true
}

// amountText writes cents for the amount input: 27.890,00 or -500,00.
func amountText(cents int64) string {
	return strings.TrimSuffix(strings.Replace(formatEuro(cents), "−", "-", 1), " €")
}

// --- Dokumente and Dateianhänge ---

func (s *site) jobGenerateDocument(c *gin.Context) {
	body := api.GenerateDocumentBody{Field: c.PostForm("field"), Template: c.PostForm("template")}
	if err := s.send(c, http.MethodPost, s.jobAPI(c, "documents"), body, nil); err != nil {
		s.jobFailed(c, err, tabDocuments, nil)
		return
	}
	s.jobDone(c, tabDocuments, "document_stored")
}

func (s *site) jobDocumentTexts(c *gin.Context) {
	template := c.Param("template")
	texts := map[string]string{}
	for _, sec := range documents.Sections {
		if v := strings.TrimSpace(c.PostForm("text." + sec)); v != "" {
			texts[sec] = v
		}
	}
	if err := s.send(c, http.MethodPut, s.jobAPI(c, "document-texts", template), api.DocumentTextsBody{Texts: texts}, nil); err != nil {
		s.jobFailed(c, err, tabDocuments, func(d *jobDetail) {
			for i := range d.Templates {
				if d.Templates[i].Key == template {
					d.Templates[i].Texts = texts
				}
			}
		})
		return
	}
	s.jobDone(c, tabDocuments, "texts_saved")
}

// jobFile passes a stored version on from the API as it answers it: type, name and
// bytes.
func (s *site) jobFile(c *gin.Context) {
	s.passFile(c, apiRequest{Method: http.MethodGet, Path: s.jobAPI(c, "documents", c.Param("id"))})
}

// jobDocumentView passes on a document view's draft, rendered anew.
func (s *site) jobDocumentView(c *gin.Context) {
	q := url.Values{}
	for _, k := range []string{"field", "template"} {
		if v := c.Query(k); v != "" {
			q.Set(k, v)
		}
	}
	s.passFile(c, apiRequest{Method: http.MethodGet, Path: s.jobAPI(c, "documents", "view"), Query: q})
}

func (s *site) passFile(c *gin.Context, req apiRequest) {
	res, err := s.call(c, req, nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, h := range []string{"Content-Disposition", "ETag", "Cache-Control"} {
		if v := res.Header.Get(h); v != "" {
			c.Header(h, v)
		}
	}
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, res.Header.Get("Content-Type"), res.Body)
}

// jobUpload sends the file on to the API as the multipart upload it takes.
func (s *site) jobUpload(c *gin.Context) {
	fh, err := c.FormFile("file")
	if err != nil {
		p := s.staffPage(c, "staff", "")
		p.Problem = &apiError{Status: http.StatusUnprocessableEntity, Problem: api.Problem{
			Errors: []job.FieldError{{Field: "file", Code: "required", Reason: p.T("jobfiles.no_file")}}}}
		s.showJob(c, http.StatusUnprocessableEntity, tabAttachments, p, nil)
		return
	}
	f, err := fh.Open()
	if err != nil {
		s.fail(c, err)
		return
	}
	defer f.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("field", c.PostForm("field")); err != nil {
		s.fail(c, err)
		return
	}
	part, err := mw.CreateFormFile("file", fh.Filename)
	if err == nil {
		_, err = io.Copy(part, f)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	_, err = s.call(c, apiRequest{Method: http.MethodPost, Path: s.jobAPI(c, "uploads"), Raw: &buf,
		ContentType: mw.FormDataContentType(), Key: c.PostForm(formKeyField)}, nil)
	if err != nil {
		s.jobFailed(c, err, tabAttachments, nil)
		return
	}
	s.jobDone(c, tabAttachments, "uploaded")
}

// --- Bearbeitung ---

func (s *site) jobSubmit(c *gin.Context) {
	// The staff view alone (the draft view without values), not the whole detail: the
	// form's fields and phase are all a submit needs. A view the workflow cannot give
	// is the API's 503.
	var view job.View
	if _, err := s.call(c, apiRequest{Method: http.MethodPost, Path: s.jobAPI(c, "view"), Body: api.ViewBody{}}, &view); err != nil {
		s.fail(c, err)
		return
	}
	values, err := s.submitValues(c, job.Staff, c.Param("dealer"), jobNumber(c), view.Fields)
	if err == nil {
		phase := c.PostForm("phase")
		if phase == "" {
			phase = view.Phase.Key
		}
		err = s.send(c, http.MethodPost, s.jobAPI(c, "submit"), api.SubmitBody{Phase: phase, Values: values}, nil)
	}
	if err != nil {
		s.jobFailed(c, err, tabWork, s.draftWork(c))
		return
	}
	s.jobDone(c, tabWork, "submitted")
}

// draftWork fills the Bearbeitung form as the posted form makes it: the fields its
// values make visible (a field whose condition a choice in the same form fulfils),
// holding the values entered. Nothing is stored.
func (s *site) draftWork(c *gin.Context) func(*jobDetail) {
	return func(d *jobDetail) {
		if d.View == nil || c.Request.PostForm == nil {
			return
		}
		d.View.Fields = s.asPosted(c, job.Staff, c.Param("dealer"), jobNumber(c), d.View.Fields, nil)
	}
}

// jobForm answers the Bearbeitung form again as the values it holds make it (htmx, on
// each change of a choice): fields whose condition the values fulfil show, the values
// entered stay. Nothing is stored.
func (s *site) jobForm(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		s.renderError(c.Writer, c.Request, http.StatusBadRequest, "error.refused")
		return
	}
	d := &jobDetail{Tab: tabWork, Base: s.jobBase(c)}
	if err := s.get(c, s.jobAPI(c), nil, &d.JobDetail); err != nil {
		s.fail(c, err)
		return
	}
	if d.View == nil || (c.PostForm("phase") != "" && c.PostForm("phase") != d.View.Phase.Key) {
		// No view, or the job moved on to another phase meanwhile: the whole page, fresh.
		c.Header("HX-Refresh", "true")
		c.Status(http.StatusNoContent)
		return
	}
	d.DocBase = d.Base + "/files"
	s.draftWork(c)(d)
	p := s.staffPage(c, "staff", "")
	p.Data = d
	s.render(c, http.StatusOK, "job/detail", "work-form", p)
}

func (s *site) jobActivate(c *gin.Context) {
	if err := s.send(c, http.MethodPost, s.jobAPI(c, "activate"), api.ActivateBody{Phase: c.PostForm("phase")}, nil); err != nil {
		s.jobFailed(c, err, tabWork, nil)
		return
	}
	s.jobDone(c, tabWork, "activated")
}

func (s *site) jobStatus(c *gin.Context) {
	body := api.StatusBody{Status: job.Status(c.PostForm("status")), SoldOn: strings.TrimSpace(c.PostForm("sold_on"))}
	if body.Status != job.StatusSold {
		body.SoldOn = ""
	}
	if err := s.send(c, http.MethodPost, s.jobAPI(c, "status"), body, nil); err != nil {
		s.jobFailed(c, err, tabWork, func(d *jobDetail) { d.Status, d.SoldOn = string(body.Status), body.SoldOn })
		return
	}
	s.jobDone(c, tabWork, "status_set")
}

// --- Kundenansicht ---

// customerPreview is the Kundenansicht's data: the customer's view as the customer
// has it, and the way back.
type customerPreview struct {
	View    job.View
	Base    string
	DocBase string
	Files   []api.JobFile
}

func (s *site) jobCustomerView(c *gin.Context) {
	var v job.View
	if err := s.get(c, s.jobAPI(c, "customer-view"), nil, &v); err != nil {
		s.fail(c, err)
		return
	}
	var docs api.DocumentList
	if err := s.get(c, s.jobAPI(c, "documents"), nil, &docs); err != nil {
		s.fail(c, err)
		return
	}
	p := s.staffPage(c, "staff", "")
	p.Title = p.T("jobcustomer.title", "number", v.Number)
	base := s.jobBase(c)
	p.Data = customerPreview{View: v, Base: base, DocBase: base + "/files", Files: docs.Documents}
	s.render(c, http.StatusOK, "job/customer", "", p)
}

// AllFiles are the job's documents and attachments, for the fields' download lists.
func (d *jobDetail) AllFiles() []api.JobFile {
	return append(slices.Clone(d.Documents), d.Attachments...)
}

// Multipart reports whether the Bearbeitung form sends a file (it has a writable upload
// field). Such a form is not answered again on a change of a choice: the file chosen
// would be lost.
func (d *jobDetail) Multipart() bool {
	return d.View != nil && multipartForm(d.View.Fields)
}

// HasSaveButton reports whether the staff view has a save button of its own; the form
// needs one of the page's otherwise.
func (d *jobDetail) HasSaveButton() bool {
	if d.View == nil {
		return false
	}
	return slices.ContainsFunc(d.View.Fields, func(f job.ViewField) bool { return f.Type == definitions.TypeSaveButton })
}

// The job's phase, status, turn and assignment as the live view has them, which is
// newer than the read model's row right after a change; the row's without a view.

func (d *jobDetail) LivePhase() string {
	if d.View != nil {
		return d.View.Phase.Name
	}
	return d.Job.PhaseName
}

func (d *jobDetail) LiveStatus() job.Status {
	if d.View != nil {
		return d.View.Status
	}
	return d.Job.Status
}

func (d *jobDetail) LiveTurn() definitions.Turn {
	if d.View != nil {
		return d.View.Turn
	}
	return d.Job.Turn
}

func (d *jobDetail) LiveSalesperson() string {
	if d.View != nil {
		return d.View.Salesperson
	}
	return d.Job.Salesperson
}

func (d *jobDetail) LiveLocation() string {
	if d.View != nil {
		return d.View.Location
	}
	return d.Job.Location
}

// FieldLabel is the label of a field of the current staff view, else its key.
func (d *jobDetail) FieldLabel(key string) string {
	if d.View != nil {
		for _, f := range d.View.Fields {
			if f.Key == key && f.Label != "" {
				return f.Label
			}
		}
	}
	return key
}
