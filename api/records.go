package api

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/store"
)

// InvoiceLinesBody replaces a job's invoice lines (Rechnungsdaten).
type InvoiceLinesBody struct {
	Lines []money.Line `json:"lines"`
}

// InvoiceLines are a job's invoice lines with their totals, exact in cents.
type InvoiceLines struct {
	Lines  []money.Line `json:"lines"`
	Totals money.Totals `json:"totals"`
}

// DocumentTextsBody replaces a job's own texts of one document template.
type DocumentTextsBody struct {
	Texts map[string]string `json:"texts"`
}

// DocumentTexts are a job's own texts of one template (section -> text).
type DocumentTexts struct {
	Template string            `json:"template"`
	Texts    map[string]string `json:"texts"`
}

// recordRoutes serves the job data kept beside the workflow; changes go through the
// workflow so they land in the job's history like every other step.
func (s *server) recordRoutes(dealer *gin.RouterGroup) {
	staff := dealer.Group("", auth.RequireStaff())
	staff.GET("/jobs/:number/invoice-lines", s.getInvoiceLines)
	staff.PUT("/jobs/:number/invoice-lines", s.requireIdempotencyKey, s.setInvoiceLines)
	staff.GET("/jobs/:number/document-texts/:template", s.getDocumentTexts)
	staff.PUT("/jobs/:number/document-texts/:template", s.requireIdempotencyKey, s.setDocumentTexts)
	admin := dealer.Group("/admin", auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin))
	admin.GET("/document-settings", s.getDocumentSettings)
	admin.PUT("/document-settings", s.idempotent, s.setDocumentSettings)
}

func (s *server) getInvoiceLines(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	lines, err := s.store.InvoiceLines(c.Request.Context(), row.Dealer, row.Number)
	if err != nil {
		internal(c, err)
		return
	}
	if lines == nil {
		lines = []money.Line{}
	}
	c.JSON(http.StatusOK, InvoiceLines{Lines: lines, Totals: money.Sum(lines)})
}

func (s *server) setInvoiceLines(c *gin.Context) {
	var b InvoiceLinesBody
	if !decodeJSON(c, &b) {
		return
	}
	if b.Lines == nil {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "invoice_lines_invalid", field("lines", "required")))
		return
	}
	s.runUpdate(c, job.UpdateSetInvoiceLines, func(key string, a job.Actor) any {
		return job.InvoiceLinesRequest{RequestKey: key, Actor: a, Lines: b.Lines}
	})
}

func (s *server) getDocumentTexts(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	template := c.Param("template")
	texts, err := s.store.JobDocumentTexts(c.Request.Context(), row.Dealer, row.Number, template)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, DocumentTexts{Template: template, Texts: texts})
}

func (s *server) setDocumentTexts(c *gin.Context) {
	var b DocumentTextsBody
	if !decodeJSON(c, &b) {
		return
	}
	template := c.Param("template")
	if b.Texts == nil {
		// Without texts the job's own would all go; {} says so on purpose.
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "document_texts_invalid", field("texts", "required")))
		return
	}
	if !checkSections(c, "texts", b.Texts) {
		return
	}
	s.runUpdate(c, job.UpdateSetDocumentTexts, func(key string, a job.Actor) any {
		return job.DocumentTextsRequest{RequestKey: key, Actor: a, Template: template, Texts: b.Texts}
	})
}

func (s *server) getDocumentSettings(c *gin.Context) {
	ds, err := s.store.GetDocumentSettings(c.Request.Context(), c.Param("dealer"))
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, ds)
}

func (s *server) setDocumentSettings(c *gin.Context) {
	var ds store.DocumentSettings
	if !decodeJSON(c, &ds) {
		return
	}
	for template, texts := range ds.Texts {
		if !slices.Contains(documents.Templates, template) {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "document_texts_invalid",
				field("texts."+template, "unknown_template", "template", template)))
			return
		}
		if !checkSections(c, "texts."+template, texts) {
			return
		}
	}
	if err := s.store.SetDocumentSettings(c.Request.Context(), c.Param("dealer"), ds); err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, ds)
}

// checkSections refuses a text for a section documents do not have, naming it.
func checkSections(c *gin.Context, path string, texts map[string]string) bool {
	for section := range texts {
		if !slices.Contains(documents.Sections, section) {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "document_texts_invalid",
				field(path+"."+section, "unknown_section", "section", section)))
			return false
		}
	}
	return true
}
