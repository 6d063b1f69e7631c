// Package job is the contract around one job: its identity, the names and payloads of
// the messages the job workflow answers (updates, signal, query), the view a side sees,
// and the read-model row and audit entries the workflow projects into PostgreSQL.
//
// It holds types and small pure helpers only, so the API, the workflow, the activities
// and the store can share them without depending on each other.
package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/money"
)

// WorkflowType is the registered name of the job workflow.
const WorkflowType = "JobWorkflow"

// TaskQueue is the task queue of job workflows and their activities.
const TaskQueue = "jobmanager-jobs"

// Names of the messages the job workflow answers.
const (
	// UpdateActivate activates a phase (staff).
	UpdateActivate = "activate-phase"
	// UpdateSubmit submits fields of the current phase (staff or customer).
	UpdateSubmit = "submit-fields"
	// UpdateSetStatus sets the job status; closed or canceled ends the job.
	UpdateSetStatus = "set-status"
	// UpdateAssign assigns salesperson and location.
	UpdateAssign = "assign"
	// SignalPaymentReceived reports a payment from the payment provider. A signal, not
	// an update: it comes from a webhook that must be accepted even while no worker runs.
	SignalPaymentReceived = "payment-received"
	// QueryView returns a side's view of the current phase.
	QueryView = "view"
)

// Search attribute names; none holds personal data.
const (
	AttrDealer     = "JobDealer"
	AttrStatus     = "JobStatus"
	AttrPhase      = "JobPhase"
	AttrTurn       = "JobTurn"
	AttrDefinition = "JobDefinition"
)

// SearchAttributes lists the search attributes to register, all of type Keyword.
var SearchAttributes = []string{AttrDealer, AttrStatus, AttrPhase, AttrTurn, AttrDefinition}

// Status of a job.
type Status string

// Job statuses: closed and canceled end the job.
const (
	StatusOpen     Status = "open"
	StatusSold     Status = "sold"
	StatusClosed   Status = "closed"
	StatusCanceled Status = "canceled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusOpen, StatusSold, StatusClosed, StatusCanceled:
		return true
	}
	return false
}

// Ended reports whether a job with this status is over.
func (s Status) Ended() bool { return s == StatusClosed || s == StatusCanceled }

// Side is who acts or looks: staff or customer.
type Side string

// The two sides of a job.
const (
	Staff    Side = "staff"
	Customer Side = "customer"
)

// Source is how a job started.
type Source string

// Job sources.
const (
	SourceManual      Source = "manual"
	SourcePark        Source = "park"
	SourceCallback    Source = "callback"
	SourceMarketplace Source = "marketplace"
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	switch s {
	case SourceManual, SourcePark, SourceCallback, SourceMarketplace:
		return true
	}
	return false
}

// WorkflowID is the job's workflow ID: `job/<dealer>/<number>`, without personal data.
func WorkflowID(dealer string, number int64) string {
	return fmt.Sprintf("job/%s/%d", dealer, number)
}

// Actor is who does something: a side and an opaque ID (staff user or customer ID).
type Actor struct {
	Side Side   `json:"side"`
	ID   string `json:"id"`
}

// Vehicle is what the job knows of the dealer's vehicle; no personal data.
type Vehicle struct {
	ID         string   `json:"id"`
	Number     string   `json:"number"`
	Make       string   `json:"make,omitempty"`
	Model      string   `json:"model,omitempty"`
	PriceCents int64    `json:"price_cents,omitempty"`
	Location   string   `json:"location,omitempty"`
	Extras     []string `json:"extras,omitempty"`
}

// ActivateRequest activates a phase. An empty Phase means the next one.
type ActivateRequest struct {
	RequestKey string `json:"request_key"`
	Actor      Actor  `json:"actor"`
	Phase      string `json:"phase,omitempty"`
}

// SubmitRequest submits fields of the current phase from one side's view.
type SubmitRequest struct {
	RequestKey string `json:"request_key"`
	Actor      Actor  `json:"actor"`
	// Phase is the phase the form was shown for; a submit for a phase that is no longer
	// current is refused, so a stale form never writes into the wrong phase.
	Phase  string         `json:"phase"`
	Values map[string]any `json:"values"`
}

// StatusRequest sets the job status.
type StatusRequest struct {
	RequestKey string `json:"request_key"`
	Actor      Actor  `json:"actor"`
	Status     Status `json:"status"`
	// SoldOn is the sale date (YYYY-MM-DD), only with status sold; the API makes it
	// mandatory when the dealer says so.
	SoldOn string `json:"sold_on,omitempty"`
}

// AssignRequest assigns salesperson and location; nil leaves a value unchanged.
type AssignRequest struct {
	RequestKey  string  `json:"request_key"`
	Actor       Actor   `json:"actor"`
	Salesperson *string `json:"salesperson,omitempty"`
	Location    *string `json:"location,omitempty"`
}

// PaymentReceived is the signal payload of a payment; Key is the provider's idempotency
// key, so a webhook delivered twice counts once.
type PaymentReceived struct {
	Key         string `json:"key"`
	AmountCents int64  `json:"amount_cents"`
	Reference   string `json:"reference,omitempty"`
	// PaidCents and RemainingCents are the provider's totals after this payment, and
	// Status its order status (open, received, paid, closed), when it says so; without
	// them the job adds AmountCents up itself.
	PaidCents      int64  `json:"paid_cents,omitempty"`
	RemainingCents int64  `json:"remaining_cents,omitempty"`
	Status         string `json:"status,omitempty"`
}

// Result is the answer to an update: the job's state after it.
type Result struct {
	Seq    int64            `json:"seq"`
	Phase  string           `json:"phase"`
	Status Status           `json:"status"`
	Turn   definitions.Turn `json:"turn"`
}

// ViewRequest asks for one side's view. Values are draft values (what a form holds
// before it is sent): merged over the stored values, they decide which fields'
// conditions hold, so a field that a choice in the same form makes visible shows. They
// change nothing and are not shown as the fields' values.
type ViewRequest struct {
	Side   Side           `json:"side"`
	Values map[string]any `json:"values,omitempty"`
}

// ViewField is one visible field of a view.
type ViewField struct {
	Key       string                `json:"key"`
	Type      definitions.FieldType `json:"type"`
	Label     string                `json:"label"`
	HideLabel bool                  `json:"hide_label,omitempty"`
	Text      string                `json:"text,omitempty"`
	Value     any                   `json:"value,omitempty"`
	Required  bool                  `json:"required,omitempty"`
	ReadOnly  bool                  `json:"read_only,omitempty"`
	Options   []definitions.Option  `json:"options,omitempty"`
	// Accept are the content types a file upload takes; empty means the default.
	Accept []string `json:"accept,omitempty"`
	// AfterSubmit marks a use shown only because its side has submitted.
	AfterSubmit bool `json:"after_submit,omitempty"`
}

// PhaseRef names a phase.
type PhaseRef struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// View is what one side sees of the current phase.
type View struct {
	Dealer      string           `json:"dealer"`
	Number      int64            `json:"number"`
	Side        Side             `json:"side"`
	Phase       PhaseRef         `json:"phase"`
	Status      Status           `json:"status"`
	Turn        definitions.Turn `json:"turn"`
	Submitted   bool             `json:"submitted"`
	Fields      []ViewField      `json:"fields"`
	Seq         int64            `json:"seq"`
	Salesperson string           `json:"salesperson,omitempty"`
	Location    string           `json:"location,omitempty"`
	// Reachable lists the phases staff can activate now (staff view only).
	Reachable []PhaseRef `json:"reachable,omitempty"`
	// Next is the phase an activation without a phase goes to (staff view only).
	Next *PhaseRef `json:"next,omitempty"`
}

// Row is the job's read-model row.
type Row struct {
	Dealer      string           `json:"dealer"`
	Number      int64            `json:"number"`
	Phase       string           `json:"phase"`
	PhaseName   string           `json:"phase_name"`
	Status      Status           `json:"status"`
	Turn        definitions.Turn `json:"turn"`
	VehicleID   string           `json:"vehicle_id,omitempty"`
	CustomerID  string           `json:"customer_id,omitempty"`
	Salesperson string           `json:"salesperson,omitempty"`
	Location    string           `json:"location,omitempty"`
	Source      Source           `json:"source"`
	Definition  definitions.Ref  `json:"definition"`
	Seq         int64            `json:"seq"`
	UpdatedAt   time.Time        `json:"updated_at"`
	// Test marks a test job of the admin's sandbox (a workflow's draft, staff playing
	// the customer). The read model sets it when the job's number is allocated; the
	// workflow neither sets nor reads it.
	Test bool `json:"test,omitempty"`
	// VehicleNumber, CustomerName and SalespersonName are looked up by the read
	// model's reads (the dealer's vehicle, customer and staff user the IDs name) for
	// lists and pages; the workflow neither sets nor reads them.
	VehicleNumber   string `json:"vehicle_number,omitempty"`
	CustomerName    string `json:"customer_name,omitempty"`
	SalespersonName string `json:"salesperson_name,omitempty"`
}

// Audit actions.
const (
	ActionCreated  = "created"
	ActionActivate = "phase_activated"
	ActionSkip     = "phase_skipped"
	ActionSubmit   = "fields_submitted"
	ActionStatus   = "status_changed"
	ActionAssign   = "assigned"
	ActionPayment  = "payment_received"
)

// AuditEntry is one change in the job's history: who, when, what, before and after.
type AuditEntry struct {
	Seq    int64          `json:"seq"`
	At     time.Time      `json:"at"`
	Actor  Actor          `json:"actor"`
	Action string         `json:"action"`
	Phase  string         `json:"phase,omitempty"`
	Before map[string]any `json:"before,omitempty"`
	After  map[string]any `json:"after,omitempty"`
}

// Projection is one write to the read model: the row as of Row.Seq and the audit
// entries that led to it. Writing it twice changes nothing; writing an older one never
// overwrites a newer row.
type Projection struct {
	Row     Row          `json:"row"`
	Entries []AuditEntry `json:"entries"`
	// State is the workflow's whole state as of Row.Seq, kept so a closed job can be
	// reopened from it long after Temporal has forgotten the run.
	State json.RawMessage `json:"state,omitempty"`
}

// ActivityProject is the registered name of the projection activity, which takes a
// Projection and writes it to PostgreSQL.
const ActivityProject = "ProjectJob"

// Rejection codes: why the job refused a request. The API maps them to HTTP statuses.
const (
	// CodeInvalid: the request itself is wrong (a field value, a missing field).
	CodeInvalid = "invalid"
	// CodeConflict: the request does not fit the job's state (stale phase, phase not
	// reachable, status unchanged).
	CodeConflict = "conflict"
	// CodeEnded: the job is closed or canceled.
	CodeEnded = "ended"
	// CodeForbidden: the acting side may not do this.
	CodeForbidden = "forbidden"
)

// RejectionErrorType is the Temporal application error type of a rejection; its
// details hold a Rejection.
const RejectionErrorType = "JobRejected"

// FieldError names one field and what is wrong with it.
type FieldError struct {
	Field string `json:"field"`
	// Code says what is wrong in stable, machine-readable form (required, read_only,
	// not_an_option, ...). The API's message catalog words it in the client's language.
	Code string `json:"code"`
	// Reason says it in English, for logs and for callers of the workflow itself.
	Reason string `json:"reason"`
	// Params are the values Reason names (an option given, a phase key), as given, so
	// a translation can name them too.
	Params map[string]string `json:"params,omitempty"`
}

// NewFieldError returns a field problem; params are name, value pairs of the values
// the reason names.
func NewFieldError(field, code, reason string, params ...string) FieldError {
	return FieldError{Field: field, Code: code, Reason: reason, Params: Params(params...)}
}

// ReasonInvalidValue is the code of a value a field refuses for a reason that has no
// code of its own; its param error holds the English reason.
const ReasonInvalidValue = "invalid_value"

// ValueFieldError is the field problem of a value that field refused with err (from
// definitions.Field.Normalize): its code and params when it has them.
func ValueFieldError(field string, err error) FieldError {
	var verr *definitions.ValueError
	if errors.As(err, &verr) {
		return FieldError{Field: field, Code: verr.Code, Reason: verr.Error(), Params: verr.Params}
	}
	return NewFieldError(field, ReasonInvalidValue, err.Error(), "error", err.Error())
}

// Params makes a params map of name, value pairs; nil when there are none. A name
// without a value gets the empty string.
func Params(kv ...string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]string, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		v := ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		m[kv[i]] = v
	}
	return m
}

// Rejection is why the job refused a request, with every field problem found.
type Rejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// MessageCode names Message in stable, machine-readable form for the API's message
	// catalog; MessageParams are the values it names, as given.
	MessageCode   string            `json:"message_code,omitempty"`
	MessageParams map[string]string `json:"message_params,omitempty"`
	Fields        []FieldError      `json:"fields,omitempty"`
}

func (r *Rejection) Error() string {
	if len(r.Fields) == 0 {
		return r.Message
	}
	parts := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return r.Message + ": " + strings.Join(parts, "; ")
}

// Answer is the result a request key got.
type Answer struct {
	Key    string `json:"key"`
	Result Result `json:"result"`
}

// Final is a job workflow's result: its last state and the answers it gave, so a
// request repeated after the job ended still gets its first answer, not a conflict.
type Final struct {
	Result
	Answers []Answer `json:"answers,omitempty"`
}

// AnswerFor returns the answer the job gave to a request key.
func (f Final) AnswerFor(key string) (Result, bool) {
	for i := len(f.Answers) - 1; i >= 0; i-- {
		if f.Answers[i].Key == key {
			return f.Answers[i].Result, true
		}
	}
	return Result{}, false
}

// Names of the job workflow's lifecycle updates.
const (
	// UpdateLinkCustomer links a customer to the job, e.g. when an anonymous parker
	// registers or logs in.
	UpdateLinkCustomer = "link-customer"
	// UpdateMigrate moves the job to another published version of its workflow.
	UpdateMigrate = "migrate-definition"
)

// Audit actions of the lifecycle updates.
const (
	ActionCustomerLinked = "customer_linked"
	ActionMigrated       = "definition_migrated"
	ActionReopened       = "reopened"
)

// LinkCustomerRequest links a customer to the job.
type LinkCustomerRequest struct {
	RequestKey string `json:"request_key"`
	Actor      Actor  `json:"actor"`
	CustomerID string `json:"customer_id"`
	// LoggedIn is true when the customer has an account and is logged in.
	LoggedIn bool `json:"logged_in,omitempty"`
}

// MigrateRequest moves the job to another published version of its workflow; the
// definition travels whole, as at the start, so the workflow reads no configuration.
type MigrateRequest struct {
	RequestKey string                 `json:"request_key"`
	Actor      Actor                  `json:"actor"`
	Ref        definitions.Ref        `json:"ref"`
	Definition definitions.Definition `json:"definition"`
}

// UpdateGenerateDocument renders a document store field's template and stores a new
// version of it (staff).
const UpdateGenerateDocument = "generate-document"

// Audit actions of side effects.
const (
	ActionDocument     = "document_stored"
	ActionMessage      = "message"
	ActionPaymentOrder = "payment_order"
	ActionEffectFailed = "side_effect_failed"
)

// GenerateDocumentRequest asks for a new version of a document store field; an empty
// Template means the field's first.
type GenerateDocumentRequest struct {
	RequestKey string `json:"request_key"`
	Actor      Actor  `json:"actor"`
	Field      string `json:"field"`
	Template   string `json:"template,omitempty"`
}

// SignalDocumentReceived reports a signed document that came back by e-mail. A signal:
// the mailbox must hand it over even while no worker runs.
const SignalDocumentReceived = "document-received"

// ActionDocumentReceived is the history entry of a document that came back by e-mail.
const ActionDocumentReceived = "document_received"

// DocumentReceived is the signal payload of a document that came back by e-mail; Key
// makes a redelivered mail count once.
type DocumentReceived struct {
	Key        string `json:"key"`
	DocumentID string `json:"document_id"`
	Filename   string `json:"filename"`
	// Remark is the mail's subject.
	Remark string `json:"remark,omitempty"`
	// From is the staff member who sent it.
	From Actor `json:"from"`
}

// UpdateAttachFile records a file uploaded into a file upload field (staff, or the
// customer for a field of the customer view). The API stores the file first; the
// update carries its ID only, never its bytes.
const UpdateAttachFile = "attach-file"

// ActionFileAttached is the audit action of an attached file.
const ActionFileAttached = "file_attached"

// AttachFileRequest names a stored upload for a file upload field of the current phase.
type AttachFileRequest struct {
	RequestKey string `json:"request_key"`
	Actor      Actor  `json:"actor"`
	Field      string `json:"field"`
	// DocumentID, Version and Filename name the stored version (documents.DocumentRef).
	DocumentID string `json:"document_id"`
	Version    int    `json:"version"`
	Filename   string `json:"filename"`
}

// Updates that change a job's own data kept beside the workflow (invoice lines, the
// job's document texts): the handler stores them through an activity and records the
// change, so they have a history like everything else.
const (
	UpdateSetInvoiceLines  = "set-invoice-lines"
	UpdateSetDocumentTexts = "set-document-texts"
)

// Audit actions of those updates.
const (
	ActionInvoiceLines  = "invoice_lines_changed"
	ActionDocumentTexts = "document_texts_changed"
)

// InvoiceLinesRequest replaces the job's invoice lines (Rechnungsdaten).
type InvoiceLinesRequest struct {
	RequestKey string       `json:"request_key"`
	Actor      Actor        `json:"actor"`
	Lines      []money.Line `json:"lines"`
}

// DocumentTextsRequest replaces the job's own texts of one document template (section
// -> text); empty texts return the job to the dealer's central texts.
type DocumentTextsRequest struct {
	RequestKey string            `json:"request_key"`
	Actor      Actor             `json:"actor"`
	Template   string            `json:"template"`
	Texts      map[string]string `json:"texts"`
}

// UpdateRecordMessage records the outcome of a message staff sent again; the job's
// history then shows the retry like the first attempt.
const UpdateRecordMessage = "record-message"

// RecordMessageRequest is the outcome of a message sent again at staff's request.
type RecordMessageRequest struct {
	RequestKey    string `json:"request_key"`
	Actor         Actor  `json:"actor"`
	ActivationSeq int64  `json:"activation_seq"`
	Template      string `json:"template"`
	Channel       string `json:"channel"`
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
	Attempts      int    `json:"attempts"`
}

// WithFields adds field problems to the rejection and returns it, so a rejection is
// made in one expression.
func (r *Rejection) WithFields(fs ...FieldError) *Rejection {
	r.Fields = append(r.Fields, fs...)
	return r
}
