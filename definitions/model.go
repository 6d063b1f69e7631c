// Package definitions holds how a dealer works, as data: fields, phases, workflows and
// message templates, their validation, the CEL condition language over a job, and the
// standard workflows that ship embedded in the binary.
//
// It knows nothing of Temporal, HTTP or PostgreSQL: the workflow interprets a Definition,
// the store keeps catalogs and versions, the API edits them.
package definitions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// FieldType is the kind of a field; it decides what value the field holds and where it
// may be used.
type FieldType string

// The field types the product knows.
const (
	TypeStaticText       FieldType = "static_text"       // text shown, no value
	TypeText             FieldType = "text"              // free text input
	TypeSelect           FieldType = "select"            // one of Options
	TypeVehicleConfig    FieldType = "vehicle_config"    // chosen extras of the job's vehicle
	TypeDocumentView     FieldType = "document_view"     // rendered on every click, never stored
	TypeDocumentStore    FieldType = "document_store"    // rendered, stored, offered as download
	TypeFileUpload       FieldType = "file_upload"       // an uploaded file's ID
	TypeCheckbox         FieldType = "checkbox"          // true or false
	TypeLocation         FieldType = "location"          // the job's location (Standort)
	TypeJobStatus        FieldType = "job_status"        // sets the job status (staff only)
	TypeCallbackPhone    FieldType = "callback_phone"    // phone number for a call back
	TypeExternalMessage  FieldType = "external_message"  // message from a marketplace or the web site
	TypePayment          FieldType = "payment"           // bezahl.de payment state
	TypeSuppressMessages FieldType = "suppress_messages" // true: no messages go out for the job
	TypeSaveButton       FieldType = "save_button"       // the label is the button text
)

// FieldTypes lists every field type in a stable order.
var FieldTypes = []FieldType{
	TypeStaticText, TypeText, TypeSelect, TypeVehicleConfig, TypeDocumentView,
	TypeDocumentStore, TypeFileUpload, TypeCheckbox, TypeLocation, TypeJobStatus,
	TypeCallbackPhone, TypeExternalMessage, TypePayment, TypeSuppressMessages, TypeSaveButton,
}

// Known reports whether t is a field type of the product.
func (t FieldType) Known() bool {
	for _, k := range FieldTypes {
		if k == t {
			return true
		}
	}
	return false
}

// HoldsValue reports whether a field of this type stores a value in the job.
func (t FieldType) HoldsValue() bool {
	switch t {
	case TypeStaticText, TypeDocumentView, TypeSaveButton:
		return false
	}
	return true
}

// Input reports whether a person can enter a value for this type through a submit.
// Documents, uploads and payments get their values from activities, not from a submit.
func (t FieldType) Input() bool {
	switch t {
	case TypeText, TypeSelect, TypeVehicleConfig, TypeCheckbox, TypeLocation,
		TypeJobStatus, TypeCallbackPhone, TypeExternalMessage, TypeSuppressMessages:
		return true
	}
	return false
}

// StaffOnly reports whether a field of this type may never appear in a customer view.
func (t FieldType) StaffOnly() bool {
	switch t {
	case TypeJobStatus, TypeSuppressMessages, TypeLocation:
		return true
	}
	return false
}

// Option is one choice of a select field.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Field is the smallest building block. A field is shared: every phase that uses it
// sees the same value and the same settings.
type Field struct {
	Key   string    `json:"key"`
	Type  FieldType `json:"type"`
	Label string    `json:"label"`
	// Text is the body of a static text.
	Text    string `json:"text,omitempty"`
	Default any    `json:"default,omitempty"`
	// Options are the choices of a select.
	Options []Option `json:"options,omitempty"`
	// Templates are the document template keys a document field offers.
	Templates []string `json:"templates,omitempty"`
	// Extras restricts a vehicle configuration to a subset of the vehicle's extras;
	// empty means all of them.
	Extras []string `json:"extras,omitempty"`
	// Accept are the content types a file upload takes (such as "application/pdf");
	// empty means the product's default (PDF and common images).
	Accept    []string `json:"accept,omitempty"`
	Condition string   `json:"condition,omitempty"`
	System    bool     `json:"system,omitempty"`
}

// FieldUse is one use of a field in a phase view, with per-use attributes.
type FieldUse struct {
	Field string `json:"field"`
	// Label overrides the field's label in this use.
	Label     string `json:"label,omitempty"`
	Required  bool   `json:"required,omitempty"`
	ReadOnly  bool   `json:"read_only,omitempty"`
	HideLabel bool   `json:"hide_label,omitempty"`
	// ShowAfterSubmit shows the use only once its side has submitted the phase, such as
	// a thank-you text after the customer accepted an offer.
	ShowAfterSubmit bool   `json:"show_after_submit,omitempty"`
	Condition       string `json:"condition,omitempty"`
}

// Turn says whose move it is in a job.
type Turn string

// Whose turn it is: the customer's (hourglass in the list) or the staff's (bell).
const (
	TurnCustomer Turn = "customer"
	TurnStaff    Turn = "staff"
)

// Phase is a stage of a job with a staff view and a customer view.
type Phase struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Condition false means the phase is skipped.
	Condition string `json:"condition,omitempty"`
	// FollowUp is the key of the phase that comes next instead of the next in order.
	FollowUp       string     `json:"follow_up,omitempty"`
	StaffFields    []FieldUse `json:"staff_fields,omitempty"`
	CustomerFields []FieldUse `json:"customer_fields,omitempty"`
	// Messages are the message template keys sent when the phase is activated.
	Messages []string `json:"messages,omitempty"`
	// Turn on activation; empty means the customer's turn when the customer view has
	// something to act on, else the staff's.
	Turn   Turn `json:"turn,omitempty"`
	System bool `json:"system,omitempty"`
}

// Channel is how a message goes out.
type Channel string

// Message channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// MessageTemplate is a message sent on phase activation.
type MessageTemplate struct {
	Key     string  `json:"key"`
	Channel Channel `json:"channel"`
	// Customer is true when the message goes to the customer (false: to staff).
	Customer bool `json:"customer,omitempty"`
	// Subject and Body are the German text, the default for every recipient.
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	// Translations are the texts in other languages, keyed by language ("en"); a
	// customer whose language has none gets the German text.
	Translations map[string]MessageText `json:"translations,omitempty"`
	System       bool                   `json:"system,omitempty"`
}

// Languages a message template can be translated into, besides German.
var TranslationLanguages = []string{"en"}

// MessageText is a message template's subject and body in one language.
type MessageText struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
}

// Text returns the template's text in lang: its translation when it has one, else
// the German text.
func (m MessageTemplate) Text(lang string) MessageText {
	if t, ok := m.Translations[lang]; ok {
		return t
	}
	return MessageText{Subject: m.Subject, Body: m.Body}
}

// Workflow is an ordered sequence of phases.
type Workflow struct {
	Key    string   `json:"key"`
	Name   string   `json:"name"`
	Phases []string `json:"phases"`
	// NoCustomerEmails marks a variant that sends no e-mail to customers.
	NoCustomerEmails bool `json:"no_customer_emails,omitempty"`
	System           bool `json:"system,omitempty"`
}

// Catalog is everything a dealer can build workflows from: the system parts plus the
// dealer's own.
type Catalog struct {
	Fields    []Field           `json:"fields"`
	Phases    []Phase           `json:"phases"`
	Workflows []Workflow        `json:"workflows"`
	Messages  []MessageTemplate `json:"messages,omitempty"`
	// Documents are the document template keys known to the dealer.
	Documents []string `json:"documents,omitempty"`
}

// Definition is the self-contained snapshot of one workflow that a job pins: the
// workflow, its phases in order, and every field and message template they use.
type Definition struct {
	Workflow  Workflow          `json:"workflow"`
	Phases    []Phase           `json:"phases"`
	Fields    []Field           `json:"fields"`
	Messages  []MessageTemplate `json:"messages,omitempty"`
	Documents []string          `json:"documents,omitempty"`
}

// VersionState is the life stage of a workflow version.
type VersionState string

// Version states: a draft may change, a published version never does.
const (
	Draft     VersionState = "draft"
	Published VersionState = "published"
)

// Version is a numbered snapshot of a workflow definition.
type Version struct {
	Workflow   string       `json:"workflow"`
	Number     int          `json:"number"`
	State      VersionState `json:"state"`
	Hash       string       `json:"hash,omitempty"`
	Definition Definition   `json:"definition"`
}

// Ref names a published definition version; it travels with every job.
type Ref struct {
	Workflow string `json:"workflow"`
	Version  int    `json:"version"`
	Hash     string `json:"hash"`
}

// String renders the reference as "key@version", as used in search attributes.
func (r Ref) String() string { return fmt.Sprintf("%s@%d", r.Workflow, r.Version) }

// Hash is the content hash of a definition: SHA-256 over its canonical JSON.
func (d Definition) Hash() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("hash definition: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Publish turns a validated definition into an immutable published version.
func Publish(number int, d Definition) (Version, error) {
	if problems := d.Validate(); len(problems) > 0 {
		return Version{}, fmt.Errorf("publish %s: %w", d.Workflow.Key, problems)
	}
	h, err := d.Hash()
	if err != nil {
		return Version{}, err
	}
	return Version{Workflow: d.Workflow.Key, Number: number, State: Published, Hash: h, Definition: d}, nil
}

// Field returns the field with the key, if the definition has it.
func (d *Definition) Field(key string) (Field, bool) {
	for _, f := range d.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// PhaseIndex returns the position of the phase in workflow order, or -1.
func (d *Definition) PhaseIndex(key string) int {
	for i, p := range d.Phases {
		if p.Key == key {
			return i
		}
	}
	return -1
}

// Message returns the message template with the key, if the definition has it.
func (d *Definition) Message(key string) (MessageTemplate, bool) {
	for _, m := range d.Messages {
		if m.Key == key {
			return m, true
		}
	}
	return MessageTemplate{}, false
}

// Resolve builds the self-contained definition of one workflow of the catalog. It
// reports unknown references as problems; the result still needs Validate.
func (c *Catalog) Resolve(workflowKey string) (Definition, error) {
	var wf *Workflow
	for i := range c.Workflows {
		if c.Workflows[i].Key == workflowKey {
			wf = &c.Workflows[i]
		}
	}
	if wf == nil {
		return Definition{}, Problems{{Path: "workflow", Message: fmt.Sprintf("unknown workflow %q", workflowKey)}}
	}
	d := Definition{Workflow: *wf, Documents: c.Documents}
	var problems Problems
	usedFields := map[string]bool{}
	usedMessages := map[string]bool{}
	for i, pk := range wf.Phases {
		p, ok := c.phase(pk)
		if !ok {
			problems = append(problems, Problem{Path: fmt.Sprintf("workflow.phases[%d]", i), Message: fmt.Sprintf("unknown phase %q", pk)})
			continue
		}
		d.Phases = append(d.Phases, p)
		for _, u := range append(append([]FieldUse{}, p.StaffFields...), p.CustomerFields...) {
			usedFields[u.Field] = true
		}
		for _, m := range p.Messages {
			usedMessages[m] = true
		}
	}
	// Fields keep catalog order so the snapshot, and so its hash, is stable.
	for _, f := range c.Fields {
		if usedFields[f.Key] {
			d.Fields = append(d.Fields, f)
			delete(usedFields, f.Key)
		}
	}
	for _, m := range c.Messages {
		if usedMessages[m.Key] {
			d.Messages = append(d.Messages, m)
		}
	}
	// Unknown field keys are left for Validate, which names their exact path.
	if len(problems) > 0 {
		return d, problems
	}
	return d, nil
}

func (c *Catalog) phase(key string) (Phase, bool) {
	for _, p := range c.Phases {
		if p.Key == key {
			return p, true
		}
	}
	return Phase{}, false
}
