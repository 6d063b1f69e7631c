package api_test

// The authorization matrix: every route the API serves, sent by every kind of caller,
// with the status each must get. Routes come from gin, so a new route without a row
// fails the test. Callers that are refused must change nothing (the database is
// compared before and after), and nothing a customer-side caller gets back may carry
// what only staff views of the job's definition show (checked against the definition,
// not against a list of field names).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workers"
)

// party is a kind of caller: a column of the matrix.
type party int

const (
	pAnon      party = iota // nobody: no cookie, no token
	pCust                   // the jobs' customer, logged in to the account
	pOtherCust              // another customer of the dealer, logged in
	pSales                  // staff with the role sales
	pAdmin                  // staff with the role admin
	pOwner                  // staff with the role owner
	pStranger               // the owner of another dealer
	pToken                  // an integration with the dealer's API token
	nParties
)

var partyNames = [nParties]string{"anonymous", "customer", "another customer", "sales", "admin", "owner", "another dealer's staff", "integration token"}

func (p party) String() string { return partyNames[p] }

// customerSide reports whether the party sees what customers see: every answer it gets
// is checked for staff-only content.
func (p party) customerSide() bool { return p == pAnon || p == pCust || p == pOtherCust }

// want is the status each party must get.
type want [nParties]int

const (
	s200 = http.StatusOK
	s201 = http.StatusCreated
	s202 = http.StatusAccepted
	s204 = http.StatusNoContent
	s401 = http.StatusUnauthorized
	s403 = http.StatusForbidden
	s404 = http.StatusNotFound
	s422 = http.StatusUnprocessableEntity
)

// The guards' profiles: who gets in, who is refused with what. A caller of another
// dealer gets 404 everywhere below a dealer's path: to them, the dealer's things do not
// exist.
func anyone(ok int) want { return want{ok, ok, ok, ok, ok, ok, ok, ok} }

// staffOrToken: the job routes, for the dealer's staff and integrations.
func staffOrToken(ok int) want { return want{s401, s403, s403, ok, ok, ok, s404, ok} }

// staffOnly: staff of the dealer, any role.
func staffOnly(ok int) want { return want{s401, s403, s403, ok, ok, ok, s404, s403} }

// adminOnly: owners and admins.
func adminOnly(ok int) want { return want{s401, s403, s403, s403, ok, ok, s404, s403} }

// customerOnly: customers of the dealer; other is what a customer who is not the job's
// gets (404 for a job route: someone else's job does not exist for them).
func customerOnly(ok, other int) want { return want{s401, ok, other, s403, s403, s403, s404, s403} }

// tokenOnly: integrations.
func tokenOnly(ok int) want { return want{s401, s403, s403, s403, s403, s403, s404, ok} }

// publicCustomer: public routes that start a job as a customer; staff and integrations
// start jobs through POST /jobs.
func publicCustomer(ok int) want { return want{ok, ok, ok, s403, s403, s403, s403, s403} }

// authzRow is one route of the matrix. req makes the request party p sends: its path
// (below the dealer unless absolute) and body. allowed says whether the party gets in,
// so the row can make a thing of its own for the party to change (a job, a vehicle)
// where requests of different parties would meet; refused parties aim at the shared
// fixtures, which they must leave as they are.
type authzRow struct {
	want want
	req  func(t *testing.T, p party, allowed bool) request
}

// staffAnswers are routes whose answer is a staff member's whoever sends the request:
// a staff log-in carries the staff member's credentials, so it is no customer answer.
var staffAnswers = []string{"POST /api/v1/dealers/:dealer/staff/login"}

const otherDealer = "autohaus-fremd"

// authzWebhookSecret signs bezahl.de's webhooks to the matrix's API.
const authzWebhookSecret = "matrix-secret"

// authzEnv is an env whose API and worker have every side effect they can have in a
// test (documents, messages without senders, a webhook secret, a capturing mailer), and
// the callers, jobs and parts the matrix works on.
type authzEnv struct {
	*env
	def     definitions.Definition
	mailer  *captureMailer
	token   string
	keys    atomic.Int64
	emails  map[party]string // staff and customer log-ins by party
	resetTo store.Customer   // a customer whose password reset the reset row asks for
	// j0 is the job refused parties aim at; it is the customer's, in the second phase,
	// with a stored document (doc0) and a failed message (failed).
	j0     int64
	doc0   string
	failed api.MessageKey
	// Parts of the admin API that PUT and GET rows address: an own field, phase,
	// message and workflow.
	ownField, ownPhase, ownMessage, ownWorkflow string
	// ownerViews are a saved filter and a column view of the owner, by route.
	ownerViews map[string]string
	// staffOnly are the fields only staff views of the definition show; markers are
	// values staff put into such fields of every job, which no customer answer may hold.
	staffOnly map[string]definitions.Field
	markers   []string
	staffIDs  []string
}

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	m := &authzEnv{env: e, mailer: &captureMailer{}, emails: map[party]string{}}
	var err error
	m.def, err = definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)

	// The env's worker has no side effects; this one has those a test can have.
	docs := &documents.Service{Store: e.store}
	msgs := &messages.Service{Store: e.store}
	e.stopWorker()
	w := workers.New(e.tc, workers.Deps{TaskQueue: e.queue, Store: e.store, Logger: e.logger, Documents: docs, Messages: msgs})
	require.NoError(t, w.Start())
	e.worker = w
	srv := httptest.NewServer(api.New(api.Deps{
		TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger, Mailer: m.mailer, Documents: docs, Messages: msgs,
		BezahlWebhookSecret: authzWebhookSecret, CallbackLimit: api.RateLimit{Limit: 1000, Window: time.Minute},
		Codec: devCodec(t),
	}))
	t.Cleanup(srv.Close)
	e.srv = srv

	m.emails[pOwner] = ownerEmail
	m.emails[pAdmin] = "admin@autohaus-test.de"
	m.emails[pSales] = "sales@autohaus-test.de"
	m.emails[pStranger] = "owner@autohaus-fremd.de"
	m.emails[pCust] = e.customer.Email
	m.emails[pOtherCust] = "max@example.org"
	e.addStaff(t, dealerID, "Adam Admin", m.emails[pAdmin], store.RoleAdmin)
	sales := e.addStaff(t, dealerID, "Sina Sales", m.emails[pSales], store.RoleSales)
	// Jobs get a real staff user as salesperson, whose ID no customer answer may name.
	require.NoError(t, e.store.SetDefaultSalesperson(ctx, dealerID, sales.ID))
	_, err = e.store.CreateDealer(ctx, store.Dealer{ID: otherDealer, Name: "Autohaus Fremd"})
	require.NoError(t, err)
	e.addStaff(t, otherDealer, "Fritz Fremd", m.emails[pStranger], store.RoleOwner)
	_, m.token, err = auth.NewAPIToken(ctx, e.store, dealerID, "Matrix", e.staffID)
	require.NoError(t, err)
	m.resetTo, err = e.store.CreateCustomerAccount(ctx, store.Customer{Dealer: dealerID, Name: "Rosa Reset", Email: "rosa@example.org"}, testHash())
	require.NoError(t, err)
	users, err := e.store.ListStaffUsers(ctx, dealerID)
	require.NoError(t, err)
	for _, u := range users {
		m.staffIDs = append(m.staffIDs, u.ID)
	}

	m.staffOnly = staffOnlyFields(m.def)
	require.NotEmpty(t, m.staffOnly, "the standard workflow has staff-only fields")

	// The shared fixtures.
	m.j0 = m.newJob(t, "angebot")
	doc := decode[job.Result](t, e.do(t, request{method: http.MethodPost, path: m.jobPath(m.j0, "/documents"), key: m.key(),
		body: api.GenerateDocumentBody{Field: m.fieldOfType(t, "angebot", job.Staff, definitions.TypeDocumentStore)}}), http.StatusOK)
	require.Equal(t, "angebot", doc.Phase)
	list := decode[api.DocumentList](t, e.do(t, request{method: http.MethodGet, path: m.jobPath(m.j0, "/documents")}), http.StatusOK)
	require.NotEmpty(t, list.Documents)
	m.doc0 = list.Documents[0].ID
	// Activating a phase with messages, and no sender configured, leaves failed ones.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		fm := decode[api.FailedMessages](t, e.do(t, request{method: http.MethodGet, path: "/messages/failed"}), http.StatusOK)
		if assert.NotEmpty(c, fm.Messages) {
			m.failed = fm.Messages[0].Key
		}
	}, 10*time.Second, 50*time.Millisecond)

	r := e.do(t, request{method: http.MethodPost, path: "/vehicles", key: m.key(),
		body: api.VehicleBody{Number: ptr("L-1"), Make: ptr("VW"), Model: ptr("Polo"), Location: ptr("Berlin"),
			Listings: map[string]string{"mobile.de": "MDE-MATRIX"}}})
	require.Equal(t, http.StatusCreated, r.Status, "answer: %s", r)

	m.ownField, m.ownPhase, m.ownMessage, m.ownWorkflow = "matrix_feld", "matrix_phase", "matrix_nachricht", "matrix_ablauf"
	admin := func(path string, body any) {
		r := e.do(t, request{method: http.MethodPost, path: path, key: m.key(), body: body})
		require.Equal(t, http.StatusCreated, r.Status, "POST %s: %s", path, r)
	}
	admin("/admin/fields", definitions.Field{Key: m.ownField, Type: definitions.TypeText, Label: "Matrix"})
	admin("/admin/phases/"+m.def.Phases[0].Key+"/copy", api.CopyPhaseBody{Key: m.ownPhase})
	admin("/admin/messages", definitions.MessageTemplate{Key: m.ownMessage, Channel: definitions.ChannelSMS, Body: "Hallo {kunde}"})
	admin("/admin/workflows/copy-standard", api.CopyStandardBody{From: definitions.StandardMaster, Key: m.ownWorkflow, Name: "Matrix"})
	m.ownerViews = map[string]string{
		"/saved-filters": m.makeView(t, "/saved-filters", pOwner, func(name string) any {
			return api.SavedFilterBody{Name: name, Query: ptr("status=open")}
		}),
		"/column-views": m.makeView(t, "/column-views", pOwner, func(name string) any {
			return api.ColumnViewBody{Name: name, Columns: []string{"number", "status"}}
		}),
	}
	return m
}

// key is a new Idempotency-Key.
func (m *authzEnv) key() string { return fmt.Sprintf("authz-%d", m.keys.Add(1)) }

func (m *authzEnv) jobPath(n int64, rest string) string { return fmt.Sprintf("/jobs/%d%s", n, rest) }

// as is a caller of the party with a session of its own: routes that log in or out
// end the session they come with, so no two requests share one.
func (m *authzEnv) as(t *testing.T, p party) *caller {
	t.Helper()
	switch p {
	case pAnon:
		return anonymous()
	case pCust, pOtherCust:
		return m.loginCustomer(t, m.emails[p])
	case pStranger:
		return m.loginStaff(t, otherDealer, m.emails[p])
	case pToken:
		return &caller{token: m.token}
	default:
		return m.loginStaff(t, dealerID, m.emails[p])
	}
}

// newJob starts a job of the customer for the env's vehicle, puts a marker into each
// staff-only text field of its first phase, and activates the phases up to phase.
func (m *authzEnv) newJob(t *testing.T, phase string) int64 {
	t.Helper()
	n := m.newJobFor(t, m.customer.ID)
	if phase == "" {
		return n
	}
	for _, p := range m.def.Phases[1:] {
		m.act(t, n, "activate", m.key(), api.ActivateBody{Phase: p.Key})
		if p.Key == phase {
			return n
		}
	}
	t.Fatalf("phase %q is not in the standard workflow", phase)
	return 0
}

func (m *authzEnv) newJobFor(t *testing.T, customerID string) int64 {
	t.Helper()
	body := map[string]any{"vehicle_id": m.vehicle.ID}
	if customerID != "" {
		body["customer_id"] = customerID
	}
	n := m.create(t, m.key(), body).Number
	m.waitProjected(t, n)
	first := m.def.Phases[0]
	values := map[string]any{}
	for _, u := range first.StaffFields {
		f, _ := m.def.Field(u.Field)
		if _, only := m.staffOnly[u.Field]; only && f.Type == definitions.TypeText && !u.ReadOnly {
			marker := fmt.Sprintf("NUR-FUER-STAFF-%d-%s", n, u.Field)
			values[u.Field] = marker
			m.markers = append(m.markers, marker)
		}
	}
	require.NotEmpty(t, values, "the first phase has a staff-only text field to mark")
	m.act(t, n, "submit", m.key(), api.SubmitBody{Phase: first.Key, Values: values})
	return n
}

// closedJob is a job of the customer, closed.
func (m *authzEnv) closedJob(t *testing.T) int64 {
	t.Helper()
	n := m.newJob(t, "")
	m.act(t, n, "status", m.key(), api.StatusBody{Status: job.StatusClosed})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		row, err := m.store.GetJob(context.Background(), dealerID, n)
		if assert.NoError(c, err) {
			assert.Equal(c, job.StatusClosed, row.Status)
		}
	}, 10*time.Second, 50*time.Millisecond)
	return n
}

// fieldOfType is the first field of the type in the side's view of the phase.
func (m *authzEnv) fieldOfType(t *testing.T, phase string, side job.Side, typ definitions.FieldType) string {
	t.Helper()
	p := m.def.Phases[m.def.PhaseIndex(phase)]
	uses := p.StaffFields
	if side == job.Customer {
		uses = p.CustomerFields
	}
	for _, u := range uses {
		if f, _ := m.def.Field(u.Field); f.Type == typ && !u.ReadOnly {
			return u.Field
		}
	}
	t.Fatalf("phase %q has no %s field of type %s", phase, side, typ)
	return ""
}

// uploadForm is a multipart upload of a small PDF into the field.
func uploadForm(t *testing.T, fieldKey string) (body string, header http.Header) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	require.NoError(t, w.WriteField("field", fieldKey))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="nachweis.pdf"`)
	h.Set("Content-Type", "application/pdf")
	part, err := w.CreatePart(h)
	require.NoError(t, err)
	_, err = part.Write([]byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.String(), http.Header{"Content-Type": {w.FormDataContentType()}}
}

// resetToken makes a customer account, asks for a password reset of it and returns
// the token the mail links to. Each token has its own account: resets are limited per
// account.
func (m *authzEnv) resetToken(t *testing.T) string {
	t.Helper()
	email := fmt.Sprintf("reset-%d@example.org", m.keys.Add(1))
	_, err := m.store.CreateCustomerAccount(context.Background(), store.Customer{Dealer: dealerID, Name: "Rita Reset", Email: email}, testHash())
	require.NoError(t, err)
	m.mailer.take()
	r := m.do(t, request{method: http.MethodPost, path: "/customer/password-reset", as: anonymous(), key: m.key(),
		body: api.PasswordResetBody{Email: email}})
	require.Equal(t, http.StatusAccepted, r.Status, "answer: %s", r)
	sent := m.mailer.take()
	require.Len(t, sent, 1)
	u, err := url.Parse(sent[0].link)
	require.NoError(t, err)
	return u.Query().Get("token")
}

// webhookBody is a payment event of j0, signed with the wrong secret.
func (m *authzEnv) webhookBody() string {
	return fmt.Sprintf(`{"id":"ev-%d","type":"order.paid","orderId":"o-1","status":"paid","amount":100,"paid":100,"remaining":0}`, m.keys.Add(1))
}

// rows is the matrix, by gin's method and path.
func (m *authzEnv) rows() map[string]authzRow {
	d := func(method, path string) string { return method + " /api/v1/dealers/:dealer" + path }
	get := func(path string) func(*testing.T, party, bool) request {
		return func(*testing.T, party, bool) request { return request{method: http.MethodGet, path: path} }
	}
	onJ0 := func(method, rest string, body any) func(*testing.T, party, bool) request {
		return func(*testing.T, party, bool) request {
			return request{method: method, path: m.jobPath(m.j0, rest), key: m.key(), body: body}
		}
	}
	// onJob sends to a job of its own for each allowed party (made by mk), to j0 for
	// the others.
	onJob := func(method, rest string, mk func(*testing.T) int64, body func(*testing.T, int64) any) func(*testing.T, party, bool) request {
		return func(t *testing.T, p party, allowed bool) request {
			n := m.j0
			if allowed {
				n = mk(t)
			}
			return request{method: method, path: m.jobPath(n, rest), key: m.key(), body: body(t, n)}
		}
	}
	fresh := func(phase string) func(*testing.T) int64 {
		return func(t *testing.T) int64 { return m.newJob(t, phase) }
	}
	post := func(path string, body func(p party) any) func(*testing.T, party, bool) request {
		return func(_ *testing.T, p party, _ bool) request {
			return request{method: http.MethodPost, path: path, key: m.key(), body: body(p)}
		}
	}
	put := func(path string, body any) func(*testing.T, party, bool) request {
		return func(*testing.T, party, bool) request {
			return request{method: http.MethodPut, path: path, key: m.key(), body: body}
		}
	}
	suffix := func(p party) string { return strings.ReplaceAll(strings.ReplaceAll(p.String(), " ", "_"), "'", "") }
	systemField := m.def.Fields[0].Key
	systemPhase := m.def.Phases[0].Key
	systemMessage := m.def.Messages[0].Key
	uploadIn := func(phase string, side job.Side) func(*testing.T, int64) (string, http.Header) {
		return func(t *testing.T, _ int64) (string, http.Header) {
			return uploadForm(t, m.fieldOfType(t, phase, side, definitions.TypeFileUpload))
		}
	}

	return map[string]authzRow{
		"GET /healthz":             {anyone(s200), get("/healthz")},
		"GET /readyz":              {anyone(s200), get("/readyz")},
		"GET /api/v1/openapi.yaml": {anyone(s200), get("/api/v1/openapi.yaml")},
		// The payload codec: owners and admins of any dealer (it is not below a dealer's
		// path), never integrations; preflights for anyone.
		"POST /api/v1/codec/decode":    {want{s401, s403, s403, s403, s200, s200, s200, s403}, codecRequest(http.MethodPost, "/decode")},
		"POST /api/v1/codec/encode":    {want{s401, s403, s403, s403, s200, s200, s200, s403}, codecRequest(http.MethodPost, "/encode")},
		"OPTIONS /api/v1/codec/decode": {anyone(s204), codecRequest(http.MethodOptions, "/decode")},
		"OPTIONS /api/v1/codec/encode": {anyone(s204), codecRequest(http.MethodOptions, "/encode")},
		"POST /api/v1/webhooks/bezahl/:dealer": {anyone(s401), func(*testing.T, party, bool) request {
			// The provider's signature is the only credential; no caller has it.
			return request{method: http.MethodPost, path: "/api/v1/webhooks/bezahl/" + dealerID, body: m.webhookBody(),
				header: http.Header{bezahl.SignatureHeader: {"sha256=" + hex.EncodeToString(make([]byte, sha256.Size))}}}
		}},

		// Jobs.
		d("POST", "/jobs"): {staffOrToken(s201), post("/jobs", func(party) any {
			return map[string]any{"vehicle_id": m.vehicle.ID, "customer_id": m.customer.ID}
		})},
		d("GET", "/jobs"):               {staffOrToken(s200), get("/jobs")},
		d("GET", "/jobs/:number"):       {staffOrToken(s200), onJ0(http.MethodGet, "", nil)},
		d("POST", "/jobs/:number/view"): {staffOrToken(s200), onJ0(http.MethodPost, "/view", api.ViewBody{Values: map[string]any{"lieferart": "lieferung"}})},
		d("POST", "/jobs/:number/activate"): {staffOrToken(s200), onJob(http.MethodPost, "/activate", fresh(""),
			func(*testing.T, int64) any { return api.ActivateBody{} })},
		d("POST", "/jobs/:number/submit"): {staffOrToken(s200), onJob(http.MethodPost, "/submit", fresh(""),
			func(_ *testing.T, n int64) any {
				return api.SubmitBody{Phase: m.def.Phases[0].Key, Values: map[string]any{}}
			})},
		d("POST", "/jobs/:number/status"): {staffOrToken(s200), onJob(http.MethodPost, "/status", fresh(""),
			func(*testing.T, int64) any { return api.StatusBody{Status: job.StatusCanceled} })},
		d("POST", "/jobs/:number/assign"): {staffOrToken(s200), onJob(http.MethodPost, "/assign", fresh(""),
			func(*testing.T, int64) any { return api.AssignBody{Location: ptr("Hamburg")} })},
		d("POST", "/jobs/:number/reopen"): {adminOnly(s200), onJob(http.MethodPost, "/reopen", m.closedJob,
			func(*testing.T, int64) any { return nil })},
		d("POST", "/jobs/:number/migrate"): {adminOnly(s200), onJob(http.MethodPost, "/migrate", fresh(""),
			func(t *testing.T, n int64) any {
				if n == m.j0 {
					return api.MigrateBody{Version: 2}
				}
				return api.MigrateBody{Version: m.newerVersion(t)}
			})},

		// Documents, uploads, job records.
		d("POST", "/jobs/:number/documents"): {staffOrToken(s200), onJob(http.MethodPost, "/documents", fresh("angebot"),
			func(t *testing.T, _ int64) any {
				return api.GenerateDocumentBody{Field: m.fieldOfType(t, "angebot", job.Staff, definitions.TypeDocumentStore)}
			})},
		d("GET", "/jobs/:number/documents"): {staffOrToken(s200), onJ0(http.MethodGet, "/documents", nil)},
		d("GET", "/jobs/:number/documents/view"): {staffOrToken(s200), func(t *testing.T, _ party, _ bool) request {
			return request{method: http.MethodGet, path: m.jobPath(m.j0, "/documents/view?field="+
				m.fieldOfType(t, "angebot", job.Staff, definitions.TypeDocumentView))}
		}},
		d("GET", "/jobs/:number/documents/:id"): {staffOrToken(s200), onJ0(http.MethodGet, "/documents/"+m.doc0, nil)},
		d("POST", "/jobs/:number/uploads"): {staffOrToken(s200), func(t *testing.T, _ party, allowed bool) request {
			n := m.j0
			if allowed {
				n = m.newJob(t, "auftrag")
			}
			body, h := uploadIn("auftrag", job.Staff)(t, n)
			return request{method: http.MethodPost, path: m.jobPath(n, "/uploads"), key: m.key(), body: body, header: h}
		}},
		d("GET", "/jobs/:number/invoice-lines"): {staffOnly(s200), onJ0(http.MethodGet, "/invoice-lines", nil)},
		d("PUT", "/jobs/:number/invoice-lines"): {staffOnly(s200), onJob(http.MethodPut, "/invoice-lines", fresh(""),
			func(*testing.T, int64) any {
				return api.InvoiceLinesBody{Lines: []money.Line{{Text: "Fahrzeug", AmountCents: 2_500_000, TaxRate: 19}}}
			})},
		d("GET", "/jobs/:number/document-texts/:template"): {staffOnly(s200), onJ0(http.MethodGet, "/document-texts/"+documents.Templates[0], nil)},
		d("PUT", "/jobs/:number/document-texts/:template"): {staffOnly(s200), onJob(http.MethodPut, "/document-texts/"+documents.Templates[0], fresh(""),
			func(*testing.T, int64) any {
				return api.DocumentTextsBody{Texts: map[string]string{documents.Sections[0]: "Ihr Angebot"}}
			})},

		// The customer's side of a job.
		d("GET", "/jobs/:number/customer/view"):          {customerOnly(s200, s404), onJ0(http.MethodGet, "/customer/view", nil)},
		d("POST", "/jobs/:number/customer/view"):         {customerOnly(s200, s404), onJ0(http.MethodPost, "/customer/view", api.ViewBody{Values: map[string]any{"lieferart": "lieferung"}})},
		d("GET", "/jobs/:number/customer-view"):          {staffOrToken(s200), onJ0(http.MethodGet, "/customer-view", nil)},
		d("GET", "/jobs/:number/customer/documents"):     {customerOnly(s200, s404), onJ0(http.MethodGet, "/customer/documents", nil)},
		d("GET", "/jobs/:number/customer/documents/:id"): {customerOnly(s200, s404), onJ0(http.MethodGet, "/customer/documents/"+m.doc0, nil)},
		d("POST", "/jobs/:number/customer/submit"): {customerOnly(s200, s404), onJob(http.MethodPost, "/customer/submit", fresh("angebot"),
			func(t *testing.T, _ int64) any {
				return api.SubmitBody{Phase: "angebot", Values: map[string]any{
					m.fieldOfType(t, "angebot", job.Customer, definitions.TypeSelect): "abholung"}}
			})},
		d("POST", "/jobs/:number/customer/uploads"): {customerOnly(s200, s404), func(t *testing.T, _ party, allowed bool) request {
			n := m.j0
			if allowed {
				n = m.newJob(t, "auftrag")
			}
			body, h := uploadIn("auftrag", job.Customer)(t, n)
			return request{method: http.MethodPost, path: m.jobPath(n, "/customer/uploads"), key: m.key(), body: body, header: h}
		}},
		d("GET", "/customer/jobs"): {customerOnly(s200, s200), get("/customer/jobs")},

		// Messages.
		d("GET", "/messages/failed"): {staffOrToken(s200), get("/messages/failed")},
		// Without a sender the message fails again: the caller got through to the send.
		d("POST", "/messages/failed/requeue"): {staffOrToken(s422), post("/messages/failed/requeue", func(party) any {
			return api.RequeueBody{Key: m.failed}
		})},
		d("POST", "/admin/messages/preview"): {adminOnly(s200), post("/admin/messages/preview", func(party) any {
			return api.PreviewBody{Channel: definitions.ChannelSMS, Body: "Hallo {kunde}"}
		})},

		// Sources.
		d("GET", "/public/vehicles"): {anyone(s200), get("/public/vehicles")},
		d("POST", "/public/park"): {publicCustomer(s201), post("/public/park", func(party) any {
			return api.ParkBody{VehicleID: m.vehicle.ID}
		})},
		d("POST", "/public/callback"): {publicCustomer(s201), post("/public/callback", func(party) any {
			return api.CallbackBody{Phone: "+49 30 1234567", VehicleID: m.vehicle.ID}
		})},
		d("POST", "/integrations/marketplace-inquiries"): {tokenOnly(s201), post("/integrations/marketplace-inquiries", func(p party) any {
			return api.MarketplaceInquiry{Marketplace: "mobile.de", ListingID: "MDE-MATRIX", InquiryID: "inq-" + suffix(p),
				SenderName: "Ines Anfrage", Email: "ines@example.org", Message: "Ist der Wagen noch da?"}
		})},

		// Vehicles and customers.
		d("GET", "/vehicles"):     {staffOnly(s200), get("/vehicles")},
		d("GET", "/vehicles/:id"): {staffOnly(s200), get("/vehicles/" + m.vehicle.ID)},
		d("POST", "/vehicles"): {staffOnly(s201), post("/vehicles", func(p party) any {
			return api.VehicleBody{Number: ptr("M-" + suffix(p)), Make: ptr("Opel")}
		})},
		d("PUT", "/vehicles/:id"): {staffOnly(s200), put("/vehicles/"+m.vehicle.ID, api.VehicleBody{Model: ptr("Golf")})},
		d("DELETE", "/vehicles/:id"): {staffOnly(s204), func(t *testing.T, p party, allowed bool) request {
			id := m.vehicle.ID
			if allowed {
				v, err := m.store.CreateVehicle(context.Background(), dealerID, job.Vehicle{Number: "D-" + suffix(p)})
				require.NoError(t, err)
				id = v.ID
			}
			return request{method: http.MethodDelete, path: "/vehicles/" + id, key: m.key()}
		}},
		d("GET", "/customers"):     {staffOnly(s200), get("/customers")},
		d("GET", "/customers/:id"): {staffOnly(s200), get("/customers/" + m.customer.ID)},
		d("POST", "/customers"): {staffOnly(s201), post("/customers", func(p party) any {
			return api.CustomerBody{Name: ptr("Neu " + p.String()), Email: ptr(suffix(p) + "@example.org")}
		})},
		d("PUT", "/customers/:id"): {staffOnly(s200), put("/customers/"+m.customer.ID, api.CustomerBody{Phone: ptr("+49 30 555")})},

		// A staff user's own views.
		d("GET", "/saved-filters"): {staffOnly(s200), get("/saved-filters")},
		d("POST", "/saved-filters"): {staffOnly(s201), post("/saved-filters", func(p party) any {
			return api.SavedFilterBody{Name: "Offen " + p.String(), Query: ptr("status=open")}
		})},
		d("PUT", "/saved-filters/:id"): {staffOnly(s200), m.ownView("/saved-filters", http.MethodPut, func(name string) any {
			return api.SavedFilterBody{Name: name, Query: ptr("status=open")}
		})},
		d("DELETE", "/saved-filters/:id"): {staffOnly(s204), m.ownView("/saved-filters", http.MethodDelete, func(name string) any {
			return api.SavedFilterBody{Name: name, Query: ptr("status=open")}
		})},
		d("GET", "/column-views"): {staffOnly(s200), get("/column-views")},
		d("POST", "/column-views"): {staffOnly(s201), post("/column-views", func(p party) any {
			return api.ColumnViewBody{Name: "Kurz " + p.String(), Columns: []string{"number", "status"}}
		})},
		d("PUT", "/column-views/:id"): {staffOnly(s200), m.ownView("/column-views", http.MethodPut, func(name string) any {
			return api.ColumnViewBody{Name: name, Columns: []string{"number", "phase"}}
		})},
		d("DELETE", "/column-views/:id"): {staffOnly(s204), m.ownView("/column-views", http.MethodDelete, func(name string) any {
			return api.ColumnViewBody{Name: name, Columns: []string{"number", "phase"}}
		})},

		// Staff log-in, staff users, API tokens.
		d("POST", "/staff/login"): {anyone(s200), post("/staff/login", func(party) any {
			return api.LoginBody{Email: m.emails[pSales], Password: testPassword}
		})},
		d("POST", "/staff/logout"): {anyone(s204), post("/staff/logout", func(party) any { return nil })},
		d("GET", "/staff/me"):      {staffOnly(s200), get("/staff/me")},
		d("GET", "/staff-users"):   {staffOnly(s200), get("/staff-users")},
		d("POST", "/staff-users"): {adminOnly(s201), post("/staff-users", func(p party) any {
			return api.StaffUserBody{Email: "neu-" + suffix(p) + "@autohaus-test.de", Name: "Neu", Role: auth.RoleSales, Password: testPassword}
		})},
		d("GET", "/api-tokens"): {adminOnly(s200), get("/api-tokens")},
		d("POST", "/api-tokens"): {adminOnly(s201), post("/api-tokens", func(p party) any {
			return api.APITokenBody{Name: "Token " + p.String()}
		})},
		d("DELETE", "/api-tokens/:id"): {adminOnly(s204), func(t *testing.T, p party, allowed bool) request {
			// A refused caller aims at the matrix's own token, which must keep working.
			tokens, err := m.store.ListAPITokens(context.Background(), dealerID)
			require.NoError(t, err)
			id := tokens[0].ID
			if allowed {
				tok, _, err := auth.NewAPIToken(context.Background(), m.store, dealerID, "Weg "+p.String(), m.staffID)
				require.NoError(t, err)
				id = tok.ID
			}
			return request{method: http.MethodDelete, path: "/api-tokens/" + id, key: m.key()}
		}},

		// Customer accounts and sessions: open to anyone; the body or the token is the
		// credential.
		d("POST", "/customer/register"): {anyone(s201), post("/customer/register", func(p party) any {
			return api.RegisterBody{Name: "Neu", Email: "konto-" + suffix(p) + "@example.org", Password: testPassword}
		})},
		d("POST", "/customer/login"): {anyone(s200), post("/customer/login", func(party) any {
			return api.LoginBody{Email: m.emails[pOtherCust], Password: testPassword}
		})},
		d("POST", "/customer/logout"): {anyone(s204), post("/customer/logout", func(party) any { return nil })},
		d("GET", "/customer/me"):      {customerOnly(s200, s200), get("/customer/me")},
		// A customer of the dealer keeps the session (200); anyone else gets a new
		// anonymous one (201).
		d("POST", "/customer/session"): {want{s201, s200, s200, s201, s201, s201, s201, s201}, post("/customer/session", func(party) any { return nil })},
		d("POST", "/customer/password-reset"): {anyone(s202), post("/customer/password-reset", func(party) any {
			return api.PasswordResetBody{Email: m.resetTo.Email}
		})},
		d("POST", "/customer/password-reset/confirm"): {anyone(s200), func(t *testing.T, _ party, _ bool) request {
			return request{method: http.MethodPost, path: "/customer/password-reset/confirm",
				body: api.PasswordResetConfirmBody{Token: m.resetToken(t), Password: testPassword}}
		}},
		d("GET", "/customer/link/:token"): {anyone(s200), func(t *testing.T, _ party, _ bool) request {
			token, err := auth.NewJobLink(context.Background(), m.store, dealerID, m.j0, m.customer.ID, time.Hour)
			require.NoError(t, err)
			return request{method: http.MethodGet, path: "/customer/link/" + token}
		}},

		// Admin of definitions.
		d("GET", "/admin/fields"):                           {adminOnly(s200), get("/admin/fields")},
		d("GET", "/admin/fields/:key"):                      {adminOnly(s200), get("/admin/fields/" + systemField)},
		d("GET", "/admin/fields/:key/usage"):                {adminOnly(s200), get("/admin/fields/" + systemField + "/usage")},
		d("GET", "/admin/phases"):                           {adminOnly(s200), get("/admin/phases")},
		d("GET", "/admin/phases/:key"):                      {adminOnly(s200), get("/admin/phases/" + systemPhase)},
		d("GET", "/admin/phases/:key/usage"):                {adminOnly(s200), get("/admin/phases/" + systemPhase + "/usage")},
		d("GET", "/admin/messages"):                         {adminOnly(s200), get("/admin/messages")},
		d("GET", "/admin/messages/:key"):                    {adminOnly(s200), get("/admin/messages/" + systemMessage)},
		d("GET", "/admin/messages/:key/usage"):              {adminOnly(s200), get("/admin/messages/" + systemMessage + "/usage")},
		d("GET", "/admin/workflows"):                        {adminOnly(s200), get("/admin/workflows")},
		d("GET", "/admin/workflows/:key"):                   {adminOnly(s200), get("/admin/workflows/" + definitions.StandardMaster)},
		d("GET", "/admin/workflows/:key/usage"):             {adminOnly(s200), get("/admin/workflows/" + definitions.StandardMaster + "/usage")},
		d("GET", "/admin/workflows/:key/versions"):          {adminOnly(s200), get("/admin/workflows/" + definitions.StandardMaster + "/versions")},
		d("GET", "/admin/workflows/:key/versions/:version"): {adminOnly(s200), get("/admin/workflows/" + definitions.StandardMaster + "/versions/1")},
		d("GET", "/admin/active-workflow"):                  {adminOnly(s200), get("/admin/active-workflow")},
		d("GET", "/admin/document-settings"):                {adminOnly(s200), get("/admin/document-settings")},
		d("GET", "/admin/smtp-settings"):                    {adminOnly(s200), get("/admin/smtp-settings")},
		d("PUT", "/admin/smtp-settings"): {adminOnly(s200), put("/admin/smtp-settings",
			api.SMTPSettingsBody{Host: "smtp.autohaus-test.de", Port: 587, TLS: "mandatory", From: "info@autohaus-test.de"})},
		d("DELETE", "/admin/smtp-settings"): {adminOnly(s204), func(*testing.T, party, bool) request {
			return request{method: http.MethodDelete, path: "/admin/smtp-settings", key: m.key()}
		}},
		d("POST", "/admin/fields"): {adminOnly(s201), post("/admin/fields", func(p party) any {
			return definitions.Field{Key: "feld_" + suffix(p), Type: definitions.TypeText, Label: "Feld"}
		})},
		d("POST", "/admin/fields/:key/copy"): {adminOnly(s201), post("/admin/fields/"+systemField+"/copy", func(p party) any {
			return api.CopyFieldBody{Key: "kopie_" + suffix(p)}
		})},
		d("PUT", "/admin/fields/:key"): {adminOnly(s200), put("/admin/fields/"+m.ownField,
			definitions.Field{Key: m.ownField, Type: definitions.TypeText, Label: "Matrix geändert"})},
		d("POST", "/admin/phases"): {adminOnly(s201), post("/admin/phases", func(p party) any {
			return definitions.Phase{Key: "phase_" + suffix(p), Name: "Phase", StaffFields: []definitions.FieldUse{{Field: m.ownField}}}
		})},
		d("POST", "/admin/phases/:key/copy"): {adminOnly(s201), post("/admin/phases/"+systemPhase+"/copy", func(p party) any {
			return api.CopyPhaseBody{Key: "phase_kopie_" + suffix(p)}
		})},
		d("PUT", "/admin/phases/:key"): {adminOnly(s200), put("/admin/phases/"+m.ownPhase,
			definitions.Phase{Key: m.ownPhase, Name: "Matrix geändert", StaffFields: []definitions.FieldUse{{Field: m.ownField}}})},
		d("POST", "/admin/messages"): {adminOnly(s201), post("/admin/messages", func(p party) any {
			return definitions.MessageTemplate{Key: "nachricht_" + suffix(p), Channel: definitions.ChannelSMS, Body: "Hallo"}
		})},
		d("POST", "/admin/messages/:key/copy"): {adminOnly(s201), post("/admin/messages/"+systemMessage+"/copy", func(p party) any {
			return api.CopyMessageBody{Key: "nachricht_kopie_" + suffix(p)}
		})},
		d("PUT", "/admin/messages/:key"): {adminOnly(s200), put("/admin/messages/"+m.ownMessage,
			definitions.MessageTemplate{Key: m.ownMessage, Channel: definitions.ChannelSMS, Body: "Hallo {kunde}!"})},
		d("POST", "/admin/workflows"): {adminOnly(s201), post("/admin/workflows", func(p party) any {
			return definitions.Workflow{Key: "ablauf_" + suffix(p), Name: "Ablauf", Phases: []string{m.ownPhase}}
		})},
		d("POST", "/admin/workflows/copy-standard"): {adminOnly(s201), post("/admin/workflows/copy-standard", func(p party) any {
			return api.CopyStandardBody{From: definitions.StandardMaster, Key: "standard_" + suffix(p), Name: "Kopie"}
		})},
		d("POST", "/admin/workflows/:key/copy"): {adminOnly(s201), post("/admin/workflows/"+m.ownWorkflow+"/copy", func(p party) any {
			return api.CopyWorkflowBody{Key: "ablauf_kopie_" + suffix(p)}
		})},
		d("PUT", "/admin/workflows/:key"): {adminOnly(s200), func(t *testing.T, _ party, _ bool) request {
			return request{method: http.MethodPut, path: "/admin/workflows/" + m.ownWorkflow, key: m.key(), body: m.workflowOf(t, m.ownWorkflow)}
		}},
		d("POST", "/admin/workflows/:key/validate"): {adminOnly(s200), post("/admin/workflows/"+m.ownWorkflow+"/validate", func(party) any { return nil })},
		d("POST", "/admin/workflows/:key/sandbox"):  {adminOnly(s201), post("/admin/workflows/"+definitions.StandardMaster+"/sandbox", func(party) any { return nil })},
		d("POST", "/admin/workflows/:key/publish"): {adminOnly(s201), func(t *testing.T, p party, allowed bool) request {
			key := m.ownWorkflow
			if allowed {
				key = "veroeffentlicht_" + suffix(p)
				r := m.do(t, request{method: http.MethodPost, path: "/admin/workflows/copy-standard", key: m.key(),
					body: api.CopyStandardBody{From: definitions.StandardMaster, Key: key, Name: "Zum Veröffentlichen"}})
				require.Equal(t, http.StatusCreated, r.Status, "answer: %s", r)
			}
			return request{method: http.MethodPost, path: "/admin/workflows/" + key + "/publish", key: m.key()}
		}},
		d("PUT", "/admin/active-workflow"): {adminOnly(s200), put("/admin/active-workflow", api.ActiveWorkflowBody{Workflow: definitions.StandardMaster})},
		d("PUT", "/admin/document-settings"): {adminOnly(s200), put("/admin/document-settings",
			store.DocumentSettings{Texts: map[string]map[string]string{documents.Templates[0]: {documents.Sections[0]: "Angebot"}}})},
	}
}

// ownView makes a saved filter or column view of the party's own user for an allowed
// party to change; a refused party aims at one of the owner's, made with the env.
func (m *authzEnv) ownView(base, method string, body func(name string) any) func(*testing.T, party, bool) request {
	return func(t *testing.T, p party, allowed bool) request {
		id := m.ownerViews[base]
		if allowed {
			id = m.makeView(t, base, p, body)
		}
		req := request{method: method, path: base + "/" + id, key: m.key()}
		if method == http.MethodPut {
			req.body = body(fmt.Sprintf("Geändert %d", m.keys.Add(1)))
		}
		return req
	}
}

// makeView makes a saved filter or column view as the party and returns its ID.
func (m *authzEnv) makeView(t *testing.T, base string, p party, body func(name string) any) string {
	t.Helper()
	r := m.do(t, request{method: http.MethodPost, path: base, key: m.key(), body: body(fmt.Sprintf("Ansicht %d", m.keys.Add(1))), as: m.as(t, p)})
	require.Equal(t, http.StatusCreated, r.Status, "answer: %s", r)
	var made struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &made))
	return made.ID
}

// workflowOf reads an own workflow as the admin API shows it, to send it back.
func (m *authzEnv) workflowOf(t *testing.T, key string) definitions.Workflow {
	t.Helper()
	return decode[api.AdminWorkflow](t, m.do(t, request{method: http.MethodGet, path: "/admin/workflows/" + key}), http.StatusOK).Workflow
}

// newerVersion publishes a new version of the standard workflow (a phase renamed), for
// a job made before to move to, and returns its number.
func (m *authzEnv) newerVersion(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	d := m.def
	d.Phases = slices.Clone(d.Phases)
	d.Phases[0].Name += fmt.Sprintf(" (%d)", m.keys.Add(1))
	_, err := m.store.SaveDraft(ctx, dealerID, d)
	require.NoError(t, err)
	v, err := m.store.PublishVersion(ctx, dealerID, definitions.StandardMaster)
	require.NoError(t, err)
	return v.Number
}

func TestAuthorizationMatrix(t *testing.T) {
	m := newAuthzEnv(t)
	// The customer check sees what it looks for: the staff detail of the same job has
	// staff-only fields and the markers.
	detail := m.do(t, request{method: http.MethodGet, path: m.jobPath(m.j0, "")})
	require.Equal(t, http.StatusOK, detail.Status)
	var v any
	require.NoError(t, json.Unmarshal(detail.Body, &v))
	require.NotEmpty(t, staffOnlyIn(v, m.staffOnly, "$"), "the staff view shows staff-only fields: %s", detail.Body)
	require.Contains(t, string(detail.Body), m.markers[0])

	rows := m.rows()
	var routes []string
	for _, r := range api.New(api.Deps{}).Routes() {
		routes = append(routes, r.Method+" "+r.Path)
	}
	slices.Sort(routes)
	for _, route := range routes {
		row, ok := rows[route]
		if !ok {
			t.Errorf("%s has no row in the authorization matrix (api/authz_test.go): say who may call it", route)
			continue
		}
		delete(rows, route)
		t.Run(route, func(t *testing.T) {
			// Refused parties first: the database must be the same after them. The
			// previous route's jobs may still be projecting, so the state is taken once
			// it stands still.
			for _, allowedPass := range []bool{false, true} {
				var before string
				if !allowedPass {
					before = m.settledState(t)
				}
				for p := range nParties {
					allowed := !slices.Contains([]int{s401, s403, s404}, row.want[p])
					if allowed != allowedPass {
						continue
					}
					r := row.req(t, p, allowed)
					r.as = m.as(t, p)
					res := m.do(t, r)
					if !assert.Equal(t, row.want[p], res.Status, "%s %s as %s: %s", r.method, r.path, p, res) {
						continue
					}
					if p.customerSide() && !slices.Contains(staffAnswers, route) {
						m.checkCustomerAnswer(t, p, r, res)
					}
				}
				if !allowedPass {
					requireSameState(t, before, m.state(t), "a refused request")
				}
			}
		})
	}
	for route := range rows {
		t.Errorf("the matrix has a row for %s, which is not served", route)
	}
}

// --- what customers get ---

// checkCustomerAnswer fails when an answer to a customer-side caller holds anything
// only staff may see: a field that only staff views of the definition show (as a view
// field, a value, a history change or a document's field), the value staff put into
// such a field, or a staff user's ID.
func (m *authzEnv) checkCustomerAnswer(t *testing.T, p party, r request, res response) {
	t.Helper()
	for _, marker := range m.markers {
		assert.NotContains(t, string(res.Body), marker, "%s %s as %s: the answer holds a staff-only value", r.method, r.path, p)
	}
	for _, id := range m.staffIDs {
		assert.NotContains(t, string(res.Body), id, "%s %s as %s: the answer names a staff user", r.method, r.path, p)
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return
	}
	var v any
	require.NoError(t, json.Unmarshal(res.Body, &v), "answer: %s", res)
	for _, where := range staffOnlyIn(v, m.staffOnly, "$") {
		t.Errorf("%s %s as %s: staff-only field at %s: %s", r.method, r.path, p, where, res)
	}
}

// fieldTypes are the field types of the definitions package: an object with a key
// and one of these types is a field as a view shows it.
var fieldTypes = map[string]bool{}

func init() {
	for _, ft := range []definitions.FieldType{definitions.TypeStaticText, definitions.TypeText, definitions.TypeSelect,
		definitions.TypeVehicleConfig, definitions.TypeDocumentView, definitions.TypeDocumentStore, definitions.TypeFileUpload,
		definitions.TypeCheckbox, definitions.TypeLocation, definitions.TypeJobStatus, definitions.TypeCallbackPhone,
		definitions.TypeExternalMessage, definitions.TypePayment, definitions.TypeSuppressMessages, definitions.TypeSaveButton} {
		fieldTypes[string(ft)] = true
	}
}

// staffOnlyIn walks a JSON value and returns where it names a staff-only field: the
// key of a view field, a document's field, or a key of a map of field values (values,
// before, after).
func staffOnlyIn(v any, staffOnly map[string]definitions.Field, at string) []string {
	is := func(key string) bool { _, ok := staffOnly[key]; return ok }
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if key, ok := x["key"].(string); ok && is(key) {
			if typ, ok := x["type"].(string); ok && fieldTypes[typ] {
				out = append(out, at+".key="+key)
			}
		}
		if f, ok := x["field"].(string); ok && is(f) {
			if _, isProblemField := x["code"]; !isProblemField {
				out = append(out, at+".field="+f)
			}
		}
		for k, child := range x {
			switch k {
			case "values", "before", "after":
				if vals, ok := child.(map[string]any); ok {
					for fk := range vals {
						if is(fk) {
							out = append(out, at+"."+k+"."+fk)
						}
					}
				}
			}
			out = append(out, staffOnlyIn(child, staffOnly, at+"."+k)...)
		}
	case []any:
		for i, child := range x {
			out = append(out, staffOnlyIn(child, staffOnly, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

// --- the database as a whole ---

// stateExcluded are tables a request changes whoever sends it: sessions (each caller
// logs in, and a session's use slides its end) and the login throttle.
var stateExcluded = []string{"sessions", "login_attempts", "goose_db_version"}

// state is a digest of every table's rows, but those of stateExcluded.
func (e *env) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.store.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		if !slices.Contains(stateExcluded, name) {
			tables = append(tables, name)
		}
	}
	require.NoError(t, rows.Err())
	var parts []string
	for _, table := range tables {
		var digest string
		require.NoError(t, e.store.Pool().QueryRow(ctx, fmt.Sprintf(
			`SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM %q t`, table)).Scan(&digest))
		parts = append(parts, table+"="+digest)
	}
	return strings.Join(parts, "\n")
}

// requireSameState fails naming the tables that differ between two states.
func requireSameState(t *testing.T, before, after, what string) {
	t.Helper()
	if before == after {
		return
	}
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var changed []string
	for _, line := range a {
		if !slices.Contains(b, line) {
			changed = append(changed, strings.SplitN(line, "=", 2)[0])
		}
	}
	t.Fatalf("%s changed the database: tables %s", what, strings.Join(changed, ", "))
}

// settledState is the state once it stops changing: workflows project and write their
// side effects after they answered.
func (e *env) settledState(t *testing.T) string {
	t.Helper()
	last := e.state(t)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(150 * time.Millisecond)
		now := e.state(t)
		if now == last {
			return now
		}
		last = now
	}
	t.Fatal("the database did not settle within 10s")
	return ""
}
