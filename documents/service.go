package documents

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // documents are dated in Europe/Berlin on any host

	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/placeholders"
	"github.com/jobmanager/jobmanager/store"
)

// ActivityRenderAndStore is the registered name of Service.RenderAndStore.
const ActivityRenderAndStore = "RenderAndStoreDocument"

// Application error types of refusals a retry cannot cure; they are not retried.
const (
	ErrTypeInvalidRequest = "InvalidDocumentRequest"
	ErrTypeJobNotFound    = "DocumentJobNotFound"
)

// PDFContentType is the content type of rendered documents.
const PDFContentType = "application/pdf"

var berlin = mustLocation("Europe/Berlin")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// time/tzdata is embedded, so this cannot happen short of a broken build.
		return time.UTC
	}
	return loc
}

// Service renders and stores documents. It is safe for concurrent use.
type Service struct {
	Store *store.Store
	// MaxUploadBytes limits one upload; DefaultMaxUploadBytes when zero.
	MaxUploadBytes int64
	// Now dates a document whose request carries no time; time.Now when nil.
	Now func() time.Time
}

// DocumentRequest asks for a document of a job. It carries keys only: the activity
// reads customer, vehicle, texts and invoice lines from the database.
type DocumentRequest struct {
	Dealer string `json:"dealer"`
	Number int64  `json:"number"`
	// Field is the document field the version belongs to (versions count per field).
	Field    string `json:"field"`
	Template string `json:"template"`
	// Phase is the phase the document is filed under: the current one.
	Phase string `json:"phase"`
	// RequestKey makes RenderAndStore idempotent; the workflow derives it from the
	// request or activation that asked for the document.
	RequestKey string `json:"request_key"`
	// Extras are the extras chosen in the job's vehicle configuration.
	Extras []string  `json:"extras,omitempty"`
	Actor  job.Actor `json:"actor"`
	// At is the document's date; the workflow passes workflow.Now so a retry prints
	// the same date. Zero means now.
	At time.Time `json:"at,omitempty"`
}

// DocumentRef names a stored document version; it is what workflows carry.
type DocumentRef struct {
	ID          string `json:"id"`
	Field       string `json:"field"`
	Version     int    `json:"version"`
	Template    string `json:"template,omitempty"`
	Phase       string `json:"phase,omitempty"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	// Created is false when the request key had stored this version before.
	Created bool `json:"created"`
}

// Ref turns a stored document into its reference.
func Ref(d store.Document, created bool) DocumentRef {
	return DocumentRef{
		ID: d.ID, Field: d.Field, Version: d.Version, Template: d.Template, Phase: d.Phase,
		Filename: d.Filename, ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256, Created: created,
	}
}

// Rendered is a document rendered for viewing.
type Rendered struct {
	Filename    string
	ContentType string
	Bytes       []byte
}

func invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidRequest, errors.New(msg))
}

func (r DocumentRequest) check(needKey bool) error {
	var problems []string
	if r.Dealer == "" {
		problems = append(problems, "dealer: is empty")
	}
	if r.Number <= 0 {
		problems = append(problems, "number: must be a positive job number")
	}
	if r.Field == "" {
		problems = append(problems, "field: is empty")
	}
	if !KnownTemplate(r.Template) {
		problems = append(problems, fmt.Sprintf("template: unknown document template %q (known: %s)", r.Template, strings.Join(Templates, ", ")))
	}
	if needKey && r.RequestKey == "" {
		problems = append(problems, "request_key: is empty; a stored document needs one so a retry does not store it twice")
	}
	if len(problems) > 0 {
		return invalid("document request: %s", strings.Join(problems, "; "))
	}
	return nil
}

// RenderAndStore renders the document and stores it as the next version of the
// request's field, filed under its phase; the version before becomes superseded. A
// request key seen before returns the version stored then, without rendering again.
// Register it under ActivityRenderAndStore.
func (s *Service) RenderAndStore(ctx context.Context, req DocumentRequest) (DocumentRef, error) {
	if err := req.check(true); err != nil {
		return DocumentRef{}, err
	}
	head := store.NewDocument{
		Dealer: req.Dealer, Number: req.Number, Field: req.Field, Kind: store.DocumentRendered,
		Template: req.Template, Phase: req.Phase, RequestKey: req.RequestKey, Actor: req.Actor,
	}
	// A retry finds its version before reading anything for a render.
	if doc, err := s.Store.DocumentByRequest(ctx, head); err == nil {
		return Ref(doc, false), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return DocumentRef{}, err
	}
	data, err := s.gather(ctx, req)
	if err != nil {
		return DocumentRef{}, err
	}
	doc, created, err := s.Store.AddDocumentVersion(ctx, head, func(version int) (store.Content, error) {
		data.Number = fmt.Sprintf("%d-%d", req.Number, version)
		pdf, err := RenderPDF(data)
		if err != nil {
			return store.Content{}, err
		}
		return store.Content{Filename: filename(req, version), ContentType: PDFContentType, Bytes: pdf}, nil
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return DocumentRef{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeJobNotFound, err)
		}
		if store.IsPermanent(err) {
			return DocumentRef{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidRequest, err)
		}
		return DocumentRef{}, fmt.Errorf("render and store %s of job %s: %w", req.Template, job.WorkflowID(req.Dealer, req.Number), err)
	}
	return Ref(doc, created), nil
}

// Render renders the document for a document view: on every call, storing nothing.
// It is not an activity: the API calls it and streams the bytes.
func (s *Service) Render(ctx context.Context, req DocumentRequest) (Rendered, error) {
	if err := req.check(false); err != nil {
		return Rendered{}, err
	}
	data, err := s.gather(ctx, req)
	if err != nil {
		return Rendered{}, err
	}
	data.Draft = true
	pdf, err := RenderPDF(data)
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Filename: filename(req, 0), ContentType: PDFContentType, Bytes: pdf}, nil
}

// filename is the download name: the document's name for people, job number and
// version (ASCII only, so every browser and mail client keeps it).
func filename(req DocumentRequest, version int) string {
	stem := fileStems[req.Template]
	if stem == "" {
		stem = req.Template
	}
	if version == 0 {
		return fmt.Sprintf("%s-%d-vorschau.pdf", stem, req.Number)
	}
	return fmt.Sprintf("%s-%d-v%d.pdf", stem, req.Number, version)
}

// gather reads what the document shows from the database.
func (s *Service) gather(ctx context.Context, req DocumentRequest) (Data, error) {
	row, err := s.Store.GetJob(ctx, req.Dealer, req.Number)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Data{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeJobNotFound, err)
		}
		return Data{}, err
	}
	d := Data{Template: req.Template, JobNumber: req.Number, Extras: req.Extras, Date: req.At}
	if d.Date.IsZero() {
		d.Date = s.now()
	}
	d.Date = d.Date.In(berlin)
	if row.CustomerID != "" {
		c, err := s.Store.GetCustomer(ctx, req.Dealer, row.CustomerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Data{}, err
		}
		d.Customer = Party{Name: c.Name, Email: c.Email, Phone: c.Phone}
	}
	if row.VehicleID != "" {
		v, err := s.Store.GetVehicle(ctx, req.Dealer, row.VehicleID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Data{}, err
		}
		d.Vehicle = v
	}
	if row.Salesperson != "" {
		u, err := s.Store.GetStaffUser(ctx, req.Dealer, row.Salesperson)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Data{}, err
		}
		d.Salesperson = u.Name
	}
	if d.Customer.Name == "" {
		d.Customer.Name = "Kundin / Kunde"
	}
	settings, err := s.Store.GetDocumentSettings(ctx, req.Dealer)
	if err != nil {
		return Data{}, err
	}
	d.Letterhead = settings.Letterhead
	if d.Letterhead.Name == "" {
		dealer, err := s.Store.GetDealer(ctx, req.Dealer)
		if err != nil {
			return Data{}, err
		}
		d.Letterhead.Name = dealer.Name
	}
	if settings.CancellationNotice {
		d.Cancellation = settings.CancellationText
		if d.Cancellation == "" {
			d.Cancellation = standardCancellation
		}
	}
	jobTexts, err := s.Store.JobDocumentTexts(ctx, req.Dealer, req.Number, req.Template)
	if err != nil {
		return Data{}, err
	}
	texts, err := ResolveTexts(req.Template, settings.Texts[req.Template], jobTexts)
	if err != nil {
		return Data{}, invalid("%v", err)
	}
	values := placeholders.Values{
		placeholders.Customer:    d.Customer.Name,
		placeholders.Vehicle:     placeholders.VehicleName(d.Vehicle.Make, d.Vehicle.Model, d.Vehicle.Number),
		placeholders.JobNumber:   strconv.FormatInt(req.Number, 10),
		placeholders.Salesperson: d.Salesperson,
		placeholders.Phase:       req.Phase,
	}
	d.Texts = make(map[string]string, len(texts))
	for k, t := range texts {
		d.Texts[k], _ = placeholders.Fill(t, values)
	}
	stored, err := s.Store.InvoiceLines(ctx, req.Dealer, req.Number)
	if err != nil {
		return Data{}, err
	}
	d.Lines = ComposeLines(stored, d.Vehicle, req.Extras)
	return d, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ComposeLines are a document's lines: the job's invoice lines, or when it has none
// the vehicle's price; then one line for each chosen extra that no line names yet. An
// extra has no price of its own in the vehicle data, so its line is 0,00 € (included)
// unless staff priced it as an invoice line, which then names it.
func ComposeLines(stored []money.Line, v job.Vehicle, extras []string) []money.Line {
	lines := append([]money.Line(nil), stored...)
	if len(lines) == 0 && v.PriceCents > 0 {
		lines = append(lines, money.Line{
			Text:        "Kaufpreis " + placeholders.VehicleName(v.Make, v.Model, v.Number),
			AmountCents: v.PriceCents, TaxRate: 19,
		})
	}
	for _, x := range extras {
		named := false
		for _, l := range lines {
			if strings.Contains(strings.ToLower(l.Text), strings.ToLower(x)) {
				named = true
				break
			}
		}
		if !named {
			lines = append(lines, money.Line{Text: "Sonderausstattung: " + x, AmountCents: 0, TaxRate: 19})
		}
	}
	return lines
}
