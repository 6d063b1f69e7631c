package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gabriel-vasile/mimetype"
	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workflows"
)

// ProblemUnsupportedType answers an upload whose content is not a type the field takes.
const ProblemUnsupportedType = "urn:jobmanager:problem:unsupported-media-type"

// uploadOverhead is what a multipart upload may carry beside its file: the field part,
// boundaries and part headers.
const uploadOverhead = 64 << 10

// GenerateDocumentBody is the body of POST .../documents: a document store field of the
// current phase and one of its templates (the field's first when empty).
type GenerateDocumentBody struct {
	Field    string `json:"field"`
	Template string `json:"template,omitempty"`
}

// DocumentList is every stored version of a job's documents and uploads the caller may
// see, by field and version; superseded versions stay downloadable.
type DocumentList struct {
	Documents []JobFile `json:"documents"`
}

// jobFile shows a stored version without its content.
func jobFile(d store.Document) JobFile {
	return JobFile{
		ID: d.ID, Field: d.Field, Version: d.Version, Kind: d.Kind, Superseded: d.Superseded(),
		Phase: d.Phase, Filename: d.Filename, ContentType: d.ContentType, Size: d.Size, CreatedAt: d.CreatedAt,
	}
}

// documentRoutes: staff generate, view, list and download documents and upload files;
// the job's customer lists and downloads those of fields their views show and uploads
// into upload fields of their view.
func (s *server) documentRoutes(staff, customer *gin.RouterGroup) {
	staff.POST("/jobs/:number/documents", s.requireIdempotencyKey, s.generateDocument)
	staff.GET("/jobs/:number/documents", s.listDocuments)
	staff.GET("/jobs/:number/documents/view", s.viewDocument)
	staff.GET("/jobs/:number/documents/:id", s.downloadDocument)
	staff.POST("/jobs/:number/uploads", s.requireIdempotencyKey, s.upload)
	customer.GET("/documents", s.listDocuments)
	customer.GET("/documents/:id", s.downloadDocument)
	customer.POST("/uploads", s.requireIdempotencyKey, s.upload)
}

// generateDocument renders and stores a new version of a document store field through
// the job's workflow, which files it under the current phase and records it.
func (s *server) generateDocument(c *gin.Context) {
	var b GenerateDocumentBody
	if !decodeJSON(c, &b) {
		return
	}
	if strings.TrimSpace(b.Field) == "" {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "document_invalid", field("field", "required")))
		return
	}
	s.runUpdate(c, job.UpdateGenerateDocument, func(key string, a job.Actor) any {
		return job.GenerateDocumentRequest{RequestKey: key, Actor: a, Field: b.Field, Template: b.Template}
	})
}

// listDocuments lists the job's stored versions: all of them for staff, for the
// customer those of fields their views show.
func (s *server) listDocuments(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	docs, err := s.store.ListDocuments(ctx, row.Dealer, row.Number)
	if err != nil {
		internal(c, err)
		return
	}
	visible, err := s.customerVisible(c, row)
	if err != nil {
		internal(c, err)
		return
	}
	out := DocumentList{Documents: []JobFile{}}
	for _, d := range docs {
		if visible == nil || visible[d.Field] {
			out.Documents = append(out.Documents, jobFile(d))
		}
	}
	c.JSON(http.StatusOK, out)
}

// customerVisible is, for a customer, the fields any customer view of the job's
// definition shows, whose documents the customer may have; nil for staff, who may have
// every document. A field only staff views show is never the customer's.
func (s *server) customerVisible(c *gin.Context, row job.Row) (map[string]bool, error) {
	if auth.From(c).Kind != auth.Customer {
		return nil, nil
	}
	def, err := s.jobDefinition(c.Request.Context(), row)
	if err != nil {
		return nil, err
	}
	visible := map[string]bool{}
	for _, p := range def.Phases {
		for _, u := range p.CustomerFields {
			visible[u.Field] = true
		}
	}
	return visible, nil
}

// jobDefinition is the published definition the job follows now.
func (s *server) jobDefinition(ctx context.Context, row job.Row) (*definitions.Definition, error) {
	v, err := s.store.PinnedDefinition(ctx, row.Dealer, row.Definition)
	if err != nil {
		return nil, fmt.Errorf("definition of job %s: %w", job.WorkflowID(row.Dealer, row.Number), err)
	}
	return &v.Definition, nil
}

// downloadDocument serves one stored version as an attachment. Another job's document,
// and for a customer one of a field no customer view shows, does not exist (404).
func (s *server) downloadDocument(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	id := c.Param("id")
	notFound := func() {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_document").with("id", id, "number", strconv.FormatInt(row.Number, 10)))
	}
	ctx := c.Request.Context()
	// One read with the bytes: a document refused below is rare, a download is not.
	doc, content, err := s.store.DocumentContent(ctx, row.Dealer, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && doc.Number != row.Number) {
		notFound()
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	visible, err := s.customerVisible(c, row)
	if err != nil {
		internal(c, err)
		return
	}
	if visible != nil && !visible[doc.Field] {
		notFound()
		return
	}
	// Headers set after the body is written are never sent.
	c.Header("ETag", strconv.Quote(doc.SHA256))
	serveFile(c, "attachment", doc.Filename, doc.ContentType, content)
}

// serveFile answers with a file's bytes. The stored content type is the sniffed one,
// and nosniff keeps a browser from guessing another.
func serveFile(c *gin.Context, disposition, filename, contentType string, content []byte) {
	c.Header("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": filename}))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "private, no-cache")
	c.Data(http.StatusOK, contentType, content)
}

// documentService is the documents service, or answers 503 when none is configured.
func (s *server) documentService(c *gin.Context) (*documents.Service, bool) {
	if s.effects.documents == nil {
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "documents_not_configured"))
		return nil, false
	}
	return s.effects.documents, true
}

// viewParams are the query parameters of a document view.
var viewParams = []string{"field", "template"}

// viewDocument renders a document view field of the job's definition on every call and
// stores nothing: a draft that shows the job's data as it is now.
func (s *server) viewDocument(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	svc, ok := s.documentService(c)
	if !ok {
		return
	}
	q := c.Request.URL.Query()
	bad := checkParams(q, viewParams)
	if len(bad) > 0 {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "view_params_invalid", bad...))
		return
	}
	ctx := c.Request.Context()
	def, err := s.jobDefinition(ctx, row)
	if err != nil {
		internal(c, err)
		return
	}
	key, template := q.Get("field"), q.Get("template")
	f, known := def.Field(key)
	switch {
	case key == "":
		bad = append(bad, field("field", "required"))
	case !known:
		bad = append(bad, field("field", "not_a_workflow_field", "workflow", def.Workflow.Key))
	case f.Type != definitions.TypeDocumentView:
		bad = append(bad, field("field", "not_document_view", "type", string(f.Type)))
	default:
		if template == "" && len(f.Templates) > 0 {
			template = f.Templates[0]
		}
		if !slices.Contains(f.Templates, template) {
			bad = append(bad, field("template", "not_offered", "template", template))
		}
	}
	if len(bad) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "document_view_invalid", bad...))
		return
	}
	extras, err := s.chosenExtras(ctx, row, def)
	if err != nil {
		internal(c, err)
		return
	}
	doc, err := svc.Render(ctx, documents.DocumentRequest{
		Dealer: row.Dealer, Number: row.Number, Field: key, Template: template, Phase: row.Phase,
		Extras: extras, Actor: auth.From(c).Actor(),
	})
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == documents.ErrTypeInvalidRequest {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "document_not_rendered").with("error", appErr.Message()))
			return
		}
		internal(c, err)
		return
	}
	serveFile(c, "inline", doc.Filename, doc.ContentType, doc.Bytes)
}

// chosenExtras are the extras picked in the job's vehicle configurations, as last
// projected; a job not projected yet has none.
func (s *server) chosenExtras(ctx context.Context, row job.Row, def *definitions.Definition) ([]string, error) {
	raw, err := s.store.JobState(ctx, row.Dealer, row.Number)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st workflows.State
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("state of job %s: %w", job.WorkflowID(row.Dealer, row.Number), err)
	}
	var out []string
	for _, f := range def.Fields {
		if f.Type != definitions.TypeVehicleConfig {
			continue
		}
		list, _ := st.Values[f.Key].([]any)
		for _, x := range list {
			if s, ok := x.(string); ok && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// upload stores a file for a file upload field of the current phase and records it in
// the job. Staff and the job's customer upload alike; the field must be in the caller's
// view and writable there. The file is checked (size, type sniffed from the content)
// and stored before the workflow hears of it, which gets its ID only. The
// Idempotency-Key names both the stored version and the update, so a repeat stores and
// records nothing new.
func (s *server) upload(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	svc, ok := s.documentService(c)
	if !ok {
		return
	}
	key := job.UpdateAttachFile + "/" + idempotencyKey(c)
	if row.Status.Ended() {
		s.answerEnded(c, row, key)
		return
	}
	limit := svc.MaxUploadBytes
	if limit <= 0 {
		limit = documents.DefaultMaxUploadBytes
	}
	form, ok := readUpload(c, limit)
	if !ok {
		return
	}
	side := auth.From(c).Actor().Side
	view, err := s.queryView(c.Request.Context(), row, side)
	if err != nil {
		_ = c.Error(err)
		writeProblem(c, viewProblem(err, s.qtimeout))
		return
	}
	if bad := uploadField(view, form.field); bad != nil {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "upload_invalid", *bad))
		return
	}
	allowed := documents.DefaultAllowedTypes
	for _, f := range view.Fields {
		if f.Key == form.field && len(f.Accept) > 0 {
			allowed = f.Accept
		}
	}
	ref, err := svc.StoreUpload(c.Request.Context(), documents.UploadRequest{
		Dealer: row.Dealer, Number: row.Number, Field: form.field, Phase: view.Phase.Key, Filename: form.filename,
		RequestKey: key, Actor: auth.From(c).Actor(), Allowed: allowed,
	}, bytes.NewReader(form.data))
	switch {
	case errors.Is(err, documents.ErrTooLarge):
		writeProblem(c, uploadTooLarge(limit))
		return
	case errors.Is(err, documents.ErrTypeNotAllowed):
		writeProblem(c, problem(http.StatusUnsupportedMediaType, ProblemUnsupportedType, "upload_type_not_allowed",
			field("file", "type_not_allowed", "type", mimetype.Detect(form.data).String(), "allowed", strings.Join(allowed, ", "))))
		return
	case errors.Is(err, documents.ErrEmpty):
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "upload_invalid", field("file", "empty")))
		return
	case err != nil:
		internal(c, err)
		return
	}
	s.runUpdate(c, job.UpdateAttachFile, func(key string, a job.Actor) any {
		return job.AttachFileRequest{RequestKey: key, Actor: a, Field: form.field, DocumentID: ref.ID, Version: ref.Version, Filename: ref.Filename}
	})
}

// uploadForm is what an upload request carries.
type uploadForm struct {
	field    string
	filename string
	data     []byte
}

// readUpload reads a multipart/form-data upload with the parts field (the field key)
// and file. It reads the file into memory, at most limit bytes: a larger one is refused
// with 413 as soon as it passes the limit, before anything is stored.
func readUpload(c *gin.Context, limit int64) (uploadForm, bool) {
	var form uploadForm
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "body_not_multipart").with("content_type", c.GetHeader("Content-Type")))
		return form, false
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+uploadOverhead)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "body_not_multipart").with("content_type", c.GetHeader("Content-Type")))
		return form, false
	}
	var seenField, seenFile bool
	var bad []job.FieldError
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeProblem(c, multipartProblem(err, limit))
			return form, false
		}
		switch name := part.FormName(); {
		case name == "field" && !seenField:
			seenField = true
			b, err := io.ReadAll(io.LimitReader(part, 1<<10))
			if err != nil {
				writeProblem(c, multipartProblem(err, limit))
				return form, false
			}
			form.field = strings.TrimSpace(string(b))
		case name == "file" && !seenFile:
			seenFile = true
			form.filename = part.FileName()
			data, err := io.ReadAll(io.LimitReader(part, limit+1))
			if err != nil {
				writeProblem(c, multipartProblem(err, limit))
				return form, false
			}
			if int64(len(data)) > limit {
				writeProblem(c, uploadTooLarge(limit))
				return form, false
			}
			form.data = data
		case name == "field" || name == "file":
			bad = append(bad, field(name, "repeated_parameter"))
		default:
			bad = append(bad, field(name, "unknown_field"))
		}
		part.Close()
	}
	if len(bad) > 0 {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "upload_form_invalid", bad...))
		return form, false
	}
	if form.field == "" {
		bad = append(bad, field("field", "required"))
	}
	if !seenFile {
		bad = append(bad, field("file", "required"))
	}
	if len(bad) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "upload_invalid", bad...))
		return form, false
	}
	return form, true
}

func multipartProblem(err error, limit int64) Problem {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return uploadTooLarge(limit)
	}
	return problem(http.StatusBadRequest, ProblemBadRequest, "body_not_acceptable").with("error", err.Error())
}

func uploadTooLarge(limit int64) Problem {
	return problem(http.StatusRequestEntityTooLarge, ProblemTooLarge, "upload_too_large",
		field("file", "too_large", "max", strconv.FormatInt(limit, 10))).with("limit", strconv.FormatInt(limit, 10))
}

// uploadField checks the field against the caller's live view before anything is
// stored, as the workflow will: a refused file is not kept. The workflow checks again
// when it records the file, so a phase that changed meanwhile still refuses it.
func uploadField(v job.View, key string) *job.FieldError {
	for _, f := range v.Fields {
		if f.Key != key {
			continue
		}
		switch {
		case f.Type != definitions.TypeFileUpload:
			return fieldRef("field", "not_upload", "type", string(f.Type))
		case f.ReadOnly:
			return fieldRef("field", "read_only")
		}
		return nil
	}
	return fieldRef("field", "not_in_view", "side", string(v.Side), "phase", v.Phase.Key)
}
