package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// The field renderer (templates/partials/fields.html) shows a job view's fields by
// type on staff and customer pages; submitValues reads the form it renders back into
// the values of a submit. Field values come as the workflow keeps them (string, bool,
// list of strings, or a map for files and payments); the helpers below read them.

func init() {
	funcs["fieldText"] = fieldText
	funcs["fieldTrue"] = fieldTrue
	funcs["fieldHas"] = fieldHas
	funcs["fieldFile"] = fieldFile
	funcs["fieldPayment"] = fieldPayment
	funcs["fieldDocs"] = fieldDocs
	funcs["fieldShown"] = fieldShown
}

// fieldText is a value shown or edited as text; "" for other kinds.
func fieldText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool, map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

// fieldTrue is a checkbox's value.
func fieldTrue(v any) bool {
	b, _ := v.(bool)
	return b
}

// fieldHas reports whether a list value (a vehicle configuration) holds s.
func fieldHas(v any, s string) bool {
	switch x := v.(type) {
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return e == s })
	case []string:
		return slices.Contains(x, s)
	}
	return false
}

// fileRef is a stored file a document or upload field names.
type fileRef struct {
	ID       string
	Filename string
	Version  int
}

// fieldFile is the file a document store or upload field holds, nil for none.
func fieldFile(v any) *fileRef {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	id, _ := m["document_id"].(string)
	if id == "" {
		return nil
	}
	f := &fileRef{ID: id}
	f.Filename, _ = m["filename"].(string)
	if f.Filename == "" {
		f.Filename = id
	}
	if n, ok := m["version"].(float64); ok {
		f.Version = int(n)
	}
	return f
}

// paymentState is what a payment field shows.
type paymentState struct {
	// Status is the order's: open, received, paid or closed; "" before any.
	Status         string
	Link           string
	PaidCents      int64
	RemainingCents int64
	// Open is true while the customer can still pay through the link.
	Open bool
}

// fieldPayment reads a payment field: a bare status ("paid", a payment reported before
// an order existed) or the order's link, status and amounts.
func fieldPayment(v any) paymentState {
	switch x := v.(type) {
	case string:
		return paymentState{Status: x}
	case map[string]any:
		p := paymentState{}
		p.Status, _ = x["status"].(string)
		p.Link, _ = x["link"].(string)
		if n, ok := x["paid_cents"].(float64); ok {
			p.PaidCents = int64(n)
		}
		if n, ok := x["remaining_cents"].(float64); ok {
			p.RemainingCents = int64(n)
		}
		if p.Status == "" && p.Link != "" {
			p.Status = "open"
		}
		p.Open = p.Link != "" && p.Status != "paid" && p.Status != "closed"
		return p
	}
	return paymentState{}
}

// fieldDocs are the stored versions of the field among docs (a []api.JobFile, or nil
// when the page has no list), current ones first.
func fieldDocs(docs any, key string) []api.JobFile {
	list, _ := docs.([]api.JobFile)
	var out []api.JobFile
	for _, d := range list {
		if d.Field == key {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b api.JobFile) int {
		if a.Superseded != b.Superseded {
			if a.Superseded {
				return 1
			}
			return -1
		}
		return b.Version - a.Version
	})
	return out
}

// fieldShown is a read-only value as text: a select's option label, a list joined.
func fieldShown(f job.ViewField) string {
	switch x := f.Value.(type) {
	case string:
		for _, o := range f.Options {
			if o.Value == x {
				return o.Label
			}
		}
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ", ")
	case bool, nil, map[string]any:
		return ""
	}
	return fmt.Sprint(f.Value)
}

// formField is the form name of a field's input.
func formField(key string) string { return "f." + key }

// maxFormMemory is what a posted form keeps in memory; larger files go to disk.
const maxFormMemory = 32 << 20

// submitValues reads the posted form (urlencoded or multipart) into the values of a
// submit of fields, the view the form was rendered from: text, selects and phone
// numbers as strings, checkboxes as true or false, a vehicle configuration as the
// list of extras ticked. Read-only fields and those without input are left out.
//
// Files chosen for upload fields go to the API's upload first (staff:
// .../jobs/:n/uploads, customer: .../jobs/:n/customer/uploads), which stores each and
// records it in its field; they are not part of the values, as the workflow sets an
// upload field only through the upload. A refused file comes back as *apiError with
// its problem named by the field's key, so it shows beside the input.
func (s *site) submitValues(c *gin.Context, side job.Side, dealer string, number int64, fields []job.ViewField) (map[string]any, error) {
	r := c.Request
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(maxFormMemory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, &apiError{Status: http.StatusBadRequest, Problem: api.Problem{Status: http.StatusBadRequest, Detail: err.Error()}}
		}
	} else if err := r.ParseForm(); err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Problem: api.Problem{Status: http.StatusBadRequest, Detail: err.Error()}}
	}
	fields = s.draftFields(c, side, dealer, number, fields)
	values := formValues(r.PostForm, fields)
	for _, f := range fields {
		if f.Type == definitions.TypeFileUpload && !f.ReadOnly {
			if err := s.uploadField(c, side, dealer, number, f.Key); err != nil {
				return nil, err
			}
		}
	}
	return values, nil
}

// formValues reads the posted values of the fields' inputs (uploads aside): text,
// selects and phone numbers as strings, checkboxes as true or false, a vehicle
// configuration as the list of extras ticked. Read-only fields are left out.
func formValues(form url.Values, fields []job.ViewField) map[string]any {
	values := map[string]any{}
	for _, f := range fields {
		if f.ReadOnly {
			continue
		}
		name := formField(f.Key)
		switch f.Type {
		case definitions.TypeText, definitions.TypeSelect, definitions.TypeLocation, definitions.TypeJobStatus,
			definitions.TypeCallbackPhone, definitions.TypeExternalMessage:
			if vs, ok := form[name]; ok && len(vs) > 0 {
				values[f.Key] = strings.TrimSpace(vs[0])
			}
		case definitions.TypeCheckbox, definitions.TypeSuppressMessages:
			v := form.Get(name)
			values[f.Key] = v == "true" || v == "on"
		case definitions.TypeVehicleConfig:
			list := []any{}
			for _, v := range form[name] {
				list = append(list, v)
			}
			values[f.Key] = list
		}
	}
	return values
}

// draftFields are the fields of the side's view as the posted form makes it: a field
// whose condition a choice in the same form fulfils (the delivery address once
// delivery is chosen) shows, one whose condition the form breaks goes. The API's draft
// view (POST .../view, .../customer/view) decides; the form is read again with each
// answer until the fields stay the same, a few rounds at most. When the API cannot
// answer, the fields stay as they were.
func (s *site) draftFields(c *gin.Context, side job.Side, dealer string, number int64, fields []job.ViewField) []job.ViewField {
	path := apiPath(dealer, "jobs", number, "view")
	if side == job.Customer {
		path = apiPath(dealer, "jobs", number, "customer", "view")
	}
	for range 3 {
		var v job.View
		// A query, not the form's change: not under the form's idempotency key.
		body := api.ViewBody{Values: formValues(c.Request.PostForm, fields)}
		if _, err := s.call(c, apiRequest{Method: http.MethodPost, Path: path, Body: body}, &v); err != nil {
			return fields
		}
		same := len(v.Fields) == len(fields)
		for i := 0; same && i < len(fields); i++ {
			same = v.Fields[i].Key == fields[i].Key
		}
		fields = v.Fields
		if same {
			break
		}
	}
	return fields
}

// uploadField sends the file chosen for an upload field, if any, to the API.
func (s *site) uploadField(c *gin.Context, side job.Side, dealer string, number int64, key string) error {
	r := c.Request
	if r.MultipartForm == nil || len(r.MultipartForm.File[formField(key)]) == 0 {
		return nil
	}
	fh := r.MultipartForm.File[formField(key)][0]
	if fh.Size == 0 && fh.Filename == "" {
		return nil
	}
	src, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload %s: %w", key, err)
	}
	defer src.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("field", key); err != nil {
		return err
	}
	part, err := mw.CreateFormFile("file", fh.Filename)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, src); err != nil {
		return fmt.Errorf("read upload %s: %w", key, err)
	}
	if err := mw.Close(); err != nil {
		return err
	}
	path := apiPath(dealer, "jobs", number, "uploads")
	if side == job.Customer {
		path = apiPath(dealer, "jobs", number, "customer", "uploads")
	}
	// The form's key and the field name the upload, so a form sent twice stores the
	// file once.
	_, err = s.call(c, apiRequest{Method: http.MethodPost, Path: path, Raw: &body, ContentType: mw.FormDataContentType(),
		Key: partKey(c, "upload/"+key)}, nil)
	if ae, ok := asProblem(err); ok {
		// The upload names its parts (file, field); the form names the field.
		for i := range ae.Problem.Errors {
			if f := ae.Problem.Errors[i].Field; f == "file" || f == "field" || f == "document_id" {
				ae.Problem.Errors[i].Field = key
			}
		}
		return ae
	}
	return err
}

// hasInputs reports whether a view offers the side something to send: a writable
// input, an upload or a save button.
func hasInputs(fields []job.ViewField) bool {
	for _, f := range fields {
		if f.Type == definitions.TypeSaveButton || (!f.ReadOnly && (f.Type.Input() || f.Type == definitions.TypeFileUpload)) {
			return true
		}
	}
	return false
}

// needsSubmit reports whether a posted form of the view goes on to a submit: when the
// view has a save button or a writable input, not when it only takes uploads (which
// the upload itself records).
func needsSubmit(fields []job.ViewField) bool {
	for _, f := range fields {
		if f.Type == definitions.TypeSaveButton || (!f.ReadOnly && f.Type.Input()) {
			return true
		}
	}
	return false
}

// asPosted is the view's fields as the posted form makes them: the fields its values
// show, holding what was entered (posted, or the request's form when nil).
func (s *site) asPosted(c *gin.Context, side job.Side, dealer string, number int64, fields []job.ViewField, posted map[string]any) []job.ViewField {
	fields = s.draftFields(c, side, dealer, number, fields)
	if posted == nil {
		posted = formValues(c.Request.PostForm, fields)
	}
	overlayValues(fields, posted)
	return fields
}

// overlayValues puts posted values into the view's fields, so a refused form shows what
// the visitor entered rather than what is stored.
func overlayValues(fields []job.ViewField, values map[string]any) {
	for i := range fields {
		if v, ok := values[fields[i].Key]; ok {
			fields[i].Value = v
		}
	}
}

// multipartForm reports whether a view's form must be sent as multipart (it has a
// writable upload field).
func multipartForm(fields []job.ViewField) bool {
	for _, f := range fields {
		if f.Type == definitions.TypeFileUpload && !f.ReadOnly {
			return true
		}
	}
	return false
}
