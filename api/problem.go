package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	ProblemUnauthorized = "urn:jobmanager:problem:unauthenticated"
	ProblemForbidden    = "urn:jobmanager:problem:forbidden"
	ProblemNotFound     = "urn:jobmanager:problem:not-found"
	ProblemConflict     = "urn:jobmanager:problem:conflict"
	ProblemJobEnded     = "urn:jobmanager:problem:job-ended"
	ProblemInvalid      = "urn:jobmanager:problem:invalid"
	ProblemTooLarge     = "urn:jobmanager:problem:too-large"
	ProblemUnavailable  = "urn:jobmanager:problem:unavailable"
	ProblemInternal     = "urn:jobmanager:problem:internal"
)

// retryAfterSeconds is what a 503 asks the client to wait before retrying with the
// same Idempotency-Key.
const retryAfterSeconds = 5

// maxBodyBytes bounds request bodies; a form submit is a few kilobytes.
const maxBodyBytes = 1 << 20

// Problem is an RFC 9457 problem detail, with the field problems found.
type Problem struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail,omitempty"`
	Errors []job.FieldError `json:"errors,omitempty"`
}

func problem(status int, typ, detail string, fields ...job.FieldError) Problem {
	return Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
}

func field(name, reason string) job.FieldError { return job.FieldError{Field: name, Reason: reason} }

// writeProblem answers the request with p and stops the handler chain. A 503 carries
// Retry-After, as every 503 here means "try the same request again later".
func writeProblem(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
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
		return true
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
		return problem(http.StatusRequestEntityTooLarge, ProblemTooLarge,
			fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit))
	case errors.As(err, &syntax):
		return problem(http.StatusBadRequest, ProblemBadRequest,
			fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset))
	case errors.As(err, &typ):
		name := typ.Field
		if name == "" {
			name = "body"
		}
		return problem(http.StatusBadRequest, ProblemBadRequest, "the body has a value of the wrong type",
			field(name, fmt.Sprintf("must be %s, got JSON %s", jsonType(typ.Type.Kind().String()), typ.Value)))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, ProblemBadRequest, "the body is not valid JSON: it ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem(http.StatusBadRequest, ProblemBadRequest, "the body has an unknown field",
			field(name, "is not a field of this request"))
	}
	return problem(http.StatusBadRequest, ProblemBadRequest, "the body is not acceptable: "+err.Error())
}

// jsonType names a Go kind as the JSON type a client would send.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "a list"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "a " + kind
}
