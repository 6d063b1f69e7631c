package api_test

// The spec check: api/openapi.yaml is the contract, and every request a test sends
// through env.do is validated against it before it goes out, and every answer after it
// comes back. So a route, a field, a status or a problem the code has and the spec does
// not (or the other way round) fails the test that meets it, and TestSpecCoversRoutes
// fails when a route is missing on either side.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
)

const specFile = "openapi.yaml"

// specChecker validates requests and answers against the loaded spec.
type specChecker struct {
	doc    *openapi3.T
	router routers.Router
}

// loadSpec loads and validates the spec once per test binary.
var loadSpec = sync.OnceValues(func() (*specChecker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specFile)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", specFile, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", specFile, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", specFile, err)
	}
	return &specChecker{doc: doc, router: router}, nil
})

func spec(t testing.TB) *specChecker {
	t.Helper()
	s, err := loadSpec()
	require.NoError(t, err)
	return s
}

// specOptions: authentication is the server's business, which the tests check by its
// answers; the validator accepts any credentials the spec's schemes describe. Every
// status an answer has must be in the spec.
var specOptions = &openapi3filter.Options{
	AuthenticationFunc:    func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
	IncludeResponseStatus: true,
	MultiError:            true,
}

// specExchange is one request checked against the spec, waiting for its answer.
type specExchange struct {
	checker *specChecker
	name    string // method and path, for messages
	// input is the request as the validator knows it; nil when the spec has no route
	// for it (a raw request to a path that does not exist).
	input *openapi3filter.RequestValidationInput
}

// checkRequest validates req, whose body is body, against the spec; a mismatch fails
// the test but lets it go on, so one run names every mismatch. A raw request
// breaks the spec on purpose (malformed JSON, a missing header, an unknown field): it
// is only routed, so that its answer can still be checked.
func (s *specChecker) checkRequest(t testing.TB, req *http.Request, body []byte, raw bool) specExchange {
	t.Helper()
	x := specExchange{checker: s, name: req.Method + " " + req.URL.RequestURI()}
	// The validator reads the body; it gets a copy of its own.
	probe := req.Clone(context.Background())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		if !raw {
			t.Errorf("spec: %s: not in %s: %v", x.name, specFile, err)
		}
		return x
	}
	x.input = &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: specOptions}
	if raw {
		return x
	}
	if err := openapi3filter.ValidateRequest(context.Background(), x.input); err != nil {
		t.Errorf("spec: request %s (route %s) does not match %s; mark it raw if it breaks the spec on purpose: %v", x.name, route.Path, specFile, err)
	}
	return x
}

// checkResponse validates the answer to the request.
func (x specExchange) checkResponse(t testing.TB, status int, header http.Header, body []byte) {
	t.Helper()
	if x.input == nil {
		// No route: the answer can only be the router's problem.
		schema := x.checker.doc.Components.Schemas["Problem"].Value
		var v any
		if ct := header.Get("Content-Type"); ct != api.ContentTypeProblem {
			t.Errorf("spec: %s has no route, yet answered %d %s %s", x.name, status, ct, body)
		} else if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("spec: %s answered %d %s: %v", x.name, status, body, err)
		} else if err := schema.VisitJSON(v); err != nil {
			t.Errorf("spec: the answer to %s is not a Problem: %v: %s", x.name, err, body)
		}
		return
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: x.input,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                specOptions,
	})
	if err != nil {
		t.Errorf("spec: the answer to %s (route %s) does not match %s: %v\nanswer: %d %s", x.name, x.input.Route.Path, specFile, err, status, body)
	}
}

// TestSpecCoversRoutes keeps gin's routes and the spec's paths the same set, so neither
// can drift from the other.
func TestSpecCoversRoutes(t *testing.T) {
	s := spec(t)
	var inGin []string
	for _, r := range api.New(api.Deps{}).Routes() {
		inGin = append(inGin, r.Method+" "+ginToOpenAPI(r.Path))
	}
	var inSpec []string
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	slices.Sort(inGin)
	slices.Sort(inSpec)
	for _, r := range inGin {
		if !slices.Contains(inSpec, r) {
			t.Errorf("route %s is served but not described in %s", r, specFile)
		}
	}
	for _, r := range inSpec {
		if !slices.Contains(inGin, r) {
			t.Errorf("%s describes %s, which is not served", specFile, r)
		}
	}
}

// ginToOpenAPI turns gin's /jobs/:number into OpenAPI's /jobs/{number}.
func ginToOpenAPI(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestSpecIdempotencyKeys keeps the rule that every state-changing request takes an
// Idempotency-Key in the spec: each POST, PUT, PATCH and DELETE declares the header,
// with the answers a key can bring (400 for a bad key, 422 for a key reused for
// another request, 409 for a repeat while the first runs), or says in its
// description why it takes none (login, logout, a signed link's exchange, ...).
func TestSpecIdempotencyKeys(t *testing.T) {
	s := spec(t)
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			switch method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			default:
				continue
			}
			name := method + " " + path
			hasKey := false
			for _, p := range append(slices.Clone(op.Parameters), item.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && p.Value.Name == api.HeaderIdempotencyKey {
					hasKey = true
					if !p.Value.Required {
						t.Errorf("%s: the %s header must be required", name, api.HeaderIdempotencyKey)
					}
				}
			}
			if !hasKey {
				if !strings.Contains(op.Description, api.HeaderIdempotencyKey) {
					t.Errorf("%s changes state but takes no %s; declare it (components/parameters/IdempotencyKey) or say in the description why it needs none",
						name, api.HeaderIdempotencyKey)
				}
				continue
			}
			for _, status := range []int{http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity} {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s takes an %s but does not describe its %d", name, api.HeaderIdempotencyKey, status)
				}
			}
		}
	}
}
