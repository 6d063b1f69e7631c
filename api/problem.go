package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/job"
)

// ContentTypeProblem is the media type of RFC 9457 problem details.
const ContentTypeProblem = "application/problem+json"

// Problem types. URNs rather than URLs: there is no documentation site to point at yet,
// and a URN is stable whatever host the API runs on.
const (
	ProblemBadRequest   = "urn:jobmanager:problem:bad-request"
	ProblemNoMethod     = "urn:jobmanager:problem:method-not-allowed"
	ProblemUnauthorized = "urn:jobmanager:problem:unauthenticated"
	ProblemForbidden    = "urn:jobmanager:problem:forbidden"
	ProblemNotFound     = "urn:jobmanager:problem:not-found"
	ProblemConflict     = "urn:jobmanager:problem:conflict"
	ProblemJobEnded     = "urn:jobmanager:problem:job-ended"
	ProblemInvalid      = "urn:jobmanager:problem:invalid"
	ProblemTooLarge     = "urn:jobmanager:problem:too-large"
	ProblemUnavailable  = "urn:jobmanager:problem:unavailable"
	// ProblemTooManyRequests answers a throttled login; Retry-After says when to retry.
	ProblemTooManyRequests = "urn:jobmanager:problem:too-many-requests"
	ProblemInternal        = "urn:jobmanager:problem:internal"
)

// retryAfterSeconds is what a 503 asks the client to wait before retrying with the
// same Idempotency-Key.
const retryAfterSeconds = 5

// maxBodyBytes bounds request bodies; a form submit is a few kilobytes.
const maxBodyBytes = 1 << 20

// problemURN prefixes every problem type; the rest names the type's title in the
// message catalog.
const problemURN = "urn:jobmanager:problem:"

// Problem is an RFC 9457 problem detail, with the field problems found. Title, Detail
// and each error's Reason are written in the client's language when the problem is
// written; Type, Status and each error's Field, Code and Params are for programs.
type Problem struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail,omitempty"`
	Errors []job.FieldError `json:"errors,omitempty"`

	// detailID names Detail in the catalog's [detail] table; detailParams are the
	// values its text names.
	detailID     string
	detailParams map[string]string
}

// problem makes a problem. detail is an ID of the message catalog's [detail] table
// (locales/*.toml); give the values its text names with Problem.with. Every field
// problem comes from field.
func problem(status int, typ, detail string, fields ...job.FieldError) Problem {
	return Problem{Type: typ, Status: status, Errors: fields, detailID: detail}
}

// with sets the values the detail's text names; kv are name, value pairs.
func (p Problem) with(kv ...string) Problem {
	p.detailParams = job.Params(kv...)
	return p
}

// field makes a field problem. code is an ID of the message catalog's [reason] table,
// which is also the code clients see; kv are name, value pairs of the values its text
// names, as given.
func field(name, code string, kv ...string) job.FieldError {
	return job.FieldError{Field: name, Code: code, Params: job.Params(kv...)}
}

// localized words p in lang: title by type, detail and reasons by their IDs. What the
// catalog lacks keeps the English the problem carries, else shows its ID.
func (p Problem) localized(lang string) Problem {
	if t, ok := messages.Text(lang, sectionTitle, strings.TrimPrefix(p.Type, problemURN), nil); ok {
		p.Title = t
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if t, ok := messages.Text(lang, sectionDetail, p.detailID, p.detailParams); ok {
		p.Detail = t
	} else if p.Detail == "" {
		p.Detail = p.detailID
	}
	if len(p.Errors) > 0 {
		errs := make([]job.FieldError, len(p.Errors))
		for i, f := range p.Errors {
			if t, ok := messages.Text(lang, sectionReason, f.Code, f.Params); ok {
				f.Reason = t
			} else if f.Reason == "" {
				f.Reason = f.Code
			}
			errs[i] = f
		}
		p.Errors = errs
	}
	return p
}

// writeProblem answers the request with p in the client's language and stops the
// handler chain. A 503 carries Retry-After, as every 503 here means "try the same
// request again later".
func writeProblem(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	lang := requestLanguage(c)
	p = p.localized(lang)
	c.Header("Content-Language", lang)
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	body, err := json.Marshal(p)
	if err != nil {
		// A Problem holds strings and ints only; this cannot happen.
		body = []byte(`{"type":"` + ProblemInternal + `","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	c.Data(p.Status, ContentTypeProblem, body)
	c.Abort()
}

// decodeJSON reads the request body into dst. An empty body counts as {}, so actions
// without parameters need no body; unknown fields are refused, so a misspelt field is
// an error instead of a silently ignored setting. It writes a 400 (or 413) problem and
// returns false when the body is not acceptable.
func decodeJSON(c *gin.Context, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("body holds more than one JSON value")
	} else if err == nil {
		// A trailing non-JSON token, such as `{} x`, surfaces only on the next read.
		if _, terr := dec.Token(); terr != nil && !errors.Is(terr, io.EOF) {
			err = fmt.Errorf("after the JSON value: %w", terr)
		}
	}
	if err == nil || errors.Is(err, io.EOF) {
		if long := longTexts(dst); len(long) > 0 {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "text_too_long", long...))
			return false
		}
		return true
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		typ.Field = clientPath(reflect.TypeOf(dst), typ.Field)
	}
	writeProblem(c, bodyProblem(err))
	return false
}

// bodyProblem says what is wrong with a request body in the client's terms.
func bodyProblem(err error) Problem {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		limit := strconv.FormatInt(tooLarge.Limit, 10)
		return problem(http.StatusRequestEntityTooLarge, ProblemTooLarge, "body_too_large", field("body", "too_large", "max", limit)).
			with("limit", limit)
	case errors.As(err, &syntax):
		offset := strconv.FormatInt(syntax.Offset, 10)
		return problem(http.StatusBadRequest, ProblemBadRequest, "body_not_json", field("body", "not_json", "offset", offset)).
			with("offset", offset)
	case errors.As(err, &typ):
		name := typ.Field
		if name == "" {
			name = "body"
		}
		return problem(http.StatusBadRequest, ProblemBadRequest, "body_wrong_type", wrongType(name, typ.Type.Kind(), typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, ProblemBadRequest, "body_ends_early", field("body", "ends_early"))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem(http.StatusBadRequest, ProblemBadRequest, "body_unknown_field",
			field(name, "unknown_field"))
	}
	return problem(http.StatusBadRequest, ProblemBadRequest, "body_not_acceptable", field("body", "not_acceptable")).with("error", err.Error())
}

// wrongType is the field problem of a value that is not of the Go kind a request field
// has, named by the JSON type a client should send; got is the JSON type it sent.
func wrongType(name string, kind reflect.Kind, got string) job.FieldError {
	switch kind {
	case reflect.Bool:
		return field(name, "not_true_false", "got", got)
	case reflect.Map, reflect.Struct:
		return field(name, "not_an_object", "got", got)
	case reflect.Slice, reflect.Array:
		return field(name, "not_a_list", "got", got)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return field(name, "not_a_number", "got", got)
	case reflect.String:
		return field(name, "not_a_string", "got", got)
	}
	return field(name, "wrong_type", "got", got)
}
