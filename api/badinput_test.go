package api_test

// Bad input on every route that takes a JSON body: malformed JSON, a body too large, an
// unknown field, and for each field the spec describes a value of the wrong type, a
// string far too long and, for required ones, the field left out. Each must be refused
// with a 4xx problem whose errors name the field (the body itself for malformed or too
// large bodies), and must change nothing in the database. The routes, their fields and
// types come from gin and api/openapi.yaml, so a new route or field is covered without
// a change here; the valid request each case starts from is the authorization
// matrix's.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/payments/bezahl"
)

// tooLongString is longer than any text field may be: a name, a note, a template's
// body or a document's terms.
var tooLongString = strings.Repeat("x", 70_000)

// oversized is past the API's body limit of 1 MiB.
var oversized = strings.Repeat("x", 1<<20+1)

// badCase is one bad request: the body, and the field the problem must name.
type badCase struct {
	name  string
	body  string
	field string
	// orBody: a body limit that refuses the request first (413 naming the body) is as
	// good an answer.
	orBody bool
}

func TestBadInput(t *testing.T) {
	m := newAuthzEnv(t)
	rows := m.rows()
	doc := spec(t).doc
	var routes []string
	for _, r := range api.New(api.Deps{}).Routes() {
		routes = append(routes, r.Method+" "+r.Path)
	}
	slices.Sort(routes)
	covered := 0
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		item := doc.Paths.Find(ginToOpenAPI(path))
		require.NotNil(t, item, "%s is not in the spec", route)
		op := item.GetOperation(method)
		require.NotNil(t, op, "%s is not in the spec", route)
		schema := jsonBodySchema(op)
		if schema == nil {
			continue
		}
		row, ok := rows[route]
		require.True(t, ok, "%s has no row in the authorization matrix, which makes its valid request", route)
		webhook := strings.HasPrefix(path, "/api/v1/webhooks/")
		sender, ok := firstAllowed(row.want)
		if webhook {
			// No caller gets in; the provider's signature does, and the cases are signed.
			sender, ok = pAnon, true
		}
		require.True(t, ok, "%s lets nobody in", route)
		covered++
		t.Run(route, func(t *testing.T) {
			// A valid request of the matrix, aimed at its shared fixtures.
			valid := row.req(t, sender, false)
			base := map[string]any{}
			if valid.body != nil {
				raw, err := json.Marshal(valid.body)
				if s, ok := valid.body.(string); ok {
					raw = []byte(s)
				}
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(raw, &base), "the matrix sends %s a JSON object", route)
			}
			before := m.settledState(t)
			for _, c := range badCases(schema, base, ginParams(path)) {
				r := valid
				r.body, r.raw, r.as = c.body, true, m.as(t, sender)
				if r.key != "" {
					r.key = m.key()
				}
				if webhook {
					r.header = signed(c.body)
				}
				res := m.do(t, r)
				if !assert.True(t, res.Status >= 400 && res.Status < 500, "%s: %s %s answered %s", c.name, r.method, r.path, short(res)) {
					continue
				}
				p := res.problem(t)
				named := names(p.Errors, c.field) || (c.orBody && res.Status == http.StatusRequestEntityTooLarge && names(p.Errors, "body"))
				assert.True(t, named, "%s: the problem must name %q: %s", c.name, c.field, short(res))
			}
			// A refused request's answer is kept under its Idempotency-Key (a repeat
			// gets it again); that is the key's record, not the dealer's data.
			requireSameState(t, withoutTable(before, "idempotent_requests"), withoutTable(m.state(t), "idempotent_requests"), "bad input")
		})
	}
	require.Greater(t, covered, 30, "routes with a JSON body found in the spec")
}

// firstAllowed is the party a route's valid request is sent as: staff before customers,
// customers before anonymous callers.
func firstAllowed(w want) (party, bool) {
	for _, p := range []party{pOwner, pAdmin, pSales, pToken, pCust, pOtherCust, pAnon} {
		if !slices.Contains([]int{s401, s403, s404}, w[p]) {
			return p, true
		}
	}
	return 0, false
}

// jsonBodySchema is the schema of the operation's JSON body, or nil.
func jsonBodySchema(op *openapi3.Operation) *openapi3.Schema {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	return mt.Schema.Value
}

// properties are a schema's properties and required names, its allOf parts merged.
func properties(s *openapi3.Schema) (map[string]*openapi3.Schema, []string) {
	props := map[string]*openapi3.Schema{}
	required := slices.Clone(s.Required)
	for name, p := range s.Properties {
		if p.Value != nil && !p.Value.ReadOnly {
			props[name] = p.Value
		}
	}
	for _, part := range s.AllOf {
		if part.Value == nil {
			continue
		}
		pp, rr := properties(part.Value)
		for name, p := range pp {
			props[name] = p
		}
		required = append(required, rr...)
	}
	return props, required
}

// badCases are the bad bodies for a valid one: the same body with one thing wrong.
func badCases(s *openapi3.Schema, base map[string]any, pathParams []string) []badCase {
	with := func(name string, v any) string {
		b := map[string]any{}
		for k, x := range base {
			b[k] = x
		}
		b[name] = v
		raw, _ := json.Marshal(b)
		return string(raw)
	}
	without := func(name string) string {
		b := map[string]any{}
		for k, x := range base {
			if k != name {
				b[k] = x
			}
		}
		raw, _ := json.Marshal(b)
		return string(raw)
	}
	cases := []badCase{
		{name: "malformed JSON", body: `{"x": }`, field: "body"},
		{name: "JSON cut short", body: `{"x": "y"`, field: "body"},
		{name: "not an object", body: `["x"]`, field: "body"},
		{name: "body too large", body: with("zz_gross", oversized), field: "body"},
	}
	// A body of another party's format may carry more than the spec names.
	if s.AdditionalProperties.Has == nil || !*s.AdditionalProperties.Has {
		cases = append(cases, badCase{name: "unknown field", body: with("zz_unbekannt", true), field: "zz_unbekannt"})
	}
	props, required := properties(s)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := props[name]
		if p.Type == nil || p.Type.IsEmpty() {
			// Any JSON value will do (a field's default): no type is wrong.
			continue
		}
		cases = append(cases, badCase{name: "wrong type of " + name, body: with(name, wrongValue(p)), field: name})
		if p.Type.Is(openapi3.TypeString) {
			cases = append(cases, badCase{name: "too long " + name, body: with(name, tooLongString), field: name, orBody: true})
		}
	}
	for _, name := range required {
		if slices.Contains(pathParams, name) {
			// The path names it: a body may leave it out (PUT /admin/fields/{key}).
			continue
		}
		cases = append(cases, badCase{name: "missing " + name, body: without(name), field: name})
	}
	return cases
}

// wrongValue is a JSON value of another type than the schema's.
func wrongValue(s *openapi3.Schema) any {
	switch {
	case s.Type.Is(openapi3.TypeString):
		return 42
	case s.Type.Is(openapi3.TypeObject), s.Type.Is(openapi3.TypeArray):
		return "kein Objekt und keine Liste"
	default: // number, integer, boolean
		return "keine Zahl"
	}
}

// names reports whether the problem names the field or a field inside it. The admin
// API names a part's field by its place in the dealer's catalog
// (fields[my_field].label), so a path that ends in the field names it too.
func names(errs []job.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field || strings.HasPrefix(e.Field, field+".") || strings.HasPrefix(e.Field, field+"[") ||
			strings.HasSuffix(e.Field, "."+field) {
			return true
		}
	}
	return false
}

// signed signs a webhook body with the matrix's secret, as bezahl.de does.
func signed(body string) http.Header {
	mac := hmac.New(sha256.New, []byte(authzWebhookSecret))
	mac.Write([]byte(body))
	return http.Header{bezahl.SignatureHeader: {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
}

// short is an answer cut to a length a failure message can show.
func short(r response) string {
	s := r.String()
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// withoutTable drops a table's line from a state.
func withoutTable(state, table string) string {
	var keep []string
	for _, line := range strings.Split(state, "\n") {
		if !strings.HasPrefix(line, table+"=") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// ginParams are the names of a gin path's parameters.
func ginParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, ":") {
			out = append(out, seg[1:])
		}
	}
	return out
}
