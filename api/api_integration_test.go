package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
	"github.com/jobmanager/jobmanager/workers"
	"github.com/jobmanager/jobmanager/workflows"
)

// EnvRecordHistories makes the journeys write their finished workflows' histories to
// workflows/testdata/histories, where the replay test reads them.
const EnvRecordHistories = "JOBMANAGER_RECORD_HISTORIES"

const dealerID = "autohaus-test"

// devServer is the one Temporal dev server of the package: starting one takes seconds,
// and jobs of different subtests never share a workflow ID.
var devServer *testsuite.DevServer

func TestMain(m *testing.M) {
	devstack.RunTests(m, func(srv *testsuite.DevServer) { devServer = srv })
}

// envJobNumbers hands each env its range of job numbers.
var envJobNumbers atomic.Int64

// env is one database with the seeded dealer, a worker and the API in front of both.
// The subtests of TestAPI share it: each works on jobs of its own.
type env struct {
	dbURL    string
	store    *store.Store
	tc       client.Client
	logger   *slog.Logger
	srv      *httptest.Server
	vehicle  job.Vehicle
	customer store.Customer
	worker   worker.Worker
	// Callers with sessions (see seedAuth): the dealer's owner, the customer with an
	// account, and a customer of the dealer who is not the jobs' customer.
	staff   *caller
	staffID string
	// queue is this env's own task queue: envs share one Temporal server, and a
	// worker of another env must never run (and project) this env's jobs.
	queue     string
	cust      *caller
	otherCust *caller
}

// baseEnv is an env on a database and task queue of its own, with the test dealer, the
// vehicle and the customer given, and the definition published as the active
// workflow; it has no worker and no server yet.
func baseEnv(t *testing.T, vehicle job.Vehicle, customer store.Customer, d definitions.Definition) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dbURL: pgtest.URL(t), tc: devServer.Client(), queue: newQueue()}
	st, err := store.Open(ctx, e.dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	e.store = st
	// Only what goes wrong reaches the test output.
	e.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	_, err = st.CreateDealer(ctx, store.Dealer{ID: dealerID, Name: "Autohaus Test", DefaultSalesperson: "verkauf-1"})
	require.NoError(t, err)
	// Each env numbers its jobs from a range of its own: the envs share one Temporal
	// server, where a job's workflow ID job/<dealer>/<number> can be used only once.
	_, err = st.Pool().Exec(ctx, `UPDATE dealers SET next_job_number = $2 WHERE id = $1`, dealerID, envJobNumbers.Add(1_000_000)-999_999)
	require.NoError(t, err)
	e.vehicle, err = st.CreateVehicle(ctx, dealerID, vehicle)
	require.NoError(t, err)
	customer.Dealer = dealerID
	e.customer, err = st.CreateCustomer(ctx, customer)
	require.NoError(t, err)
	_, err = st.SaveDraft(ctx, dealerID, d)
	require.NoError(t, err)
	_, err = st.PublishVersion(ctx, dealerID, d.Workflow.Key)
	require.NoError(t, err)
	require.NoError(t, st.SetActiveWorkflow(ctx, dealerID, d.Workflow.Key))
	return e
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d, err := definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)
	e := baseEnv(t, job.Vehicle{
		Number: "A-100", Make: "VW", Model: "Golf", PriceCents: 2_500_000, Location: "Berlin", Extras: []string{"AHK", "Navi"},
	}, store.Customer{Name: "Erika Mustermann", Email: "erika@example.org"}, d)
	e.startWorker(t)
	t.Cleanup(e.stopWorker)
	e.srv = httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger}))
	t.Cleanup(e.srv.Close)
	e.seedAuth(t)
	return e
}

// startWorker runs a worker of its own rather than workers.Run, so a test can stop it
// and see the API without one.
func (e *env) startWorker(t *testing.T) {
	t.Helper()
	w := workers.New(e.tc, workers.Deps{TaskQueue: e.queue, Store: e.store, Logger: e.logger})
	require.NoError(t, w.Start())
	e.worker = w
}

func (e *env) stopWorker() {
	if e.worker != nil {
		e.worker.Stop()
		e.worker = nil
	}
}

// response is an HTTP answer read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// problem decodes a problem answer and checks its media type.
func (r response) problem(t *testing.T) api.Problem {
	t.Helper()
	require.Equal(t, api.ContentTypeProblem, r.Header.Get("Content-Type"), "answer: %s", r)
	var p api.Problem
	require.NoError(t, json.Unmarshal(r.Body, &p), "answer: %s", r)
	require.Equal(t, r.Status, p.Status)
	require.NotEmpty(t, p.Type)
	require.NotEmpty(t, p.Title)
	return p
}

// problemFields are the field problems of an answer.
type problemFields []job.FieldError

// names lists the fields, in the order the problem names them.
func (p problemFields) names() []string {
	var out []string
	for _, f := range p {
		out = append(out, f.Field)
	}
	return out
}

type request struct {
	method string
	path   string // below /api/v1/dealers/<dealer>, or absolute when starting with /api or /healthz
	body   any    // JSON-encoded unless a string, which is sent as is
	key    string
	// as sends the request with the caller's session cookies or API token; the logged-in
	// owner (env.staff) when nil.
	as     *caller
	server *httptest.Server
	// header holds further request headers.
	header http.Header
	// lang is the Accept-Language header; none when empty.
	lang string
	// raw marks a request that breaks api/openapi.yaml on purpose (malformed JSON, a
	// missing header, an unknown field or value): only its answer is checked.
	raw bool
}

func (e *env) do(t *testing.T, r request) response {
	t.Helper()
	path := r.path
	if !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/healthz") && !strings.HasPrefix(path, "/readyz") {
		path = "/api/v1/dealers/" + dealerID + path
	}
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		body, err = json.Marshal(b)
		require.NoError(t, err)
	}
	srv := r.server
	if srv == nil {
		srv = e.srv
	}
	req, err := http.NewRequest(r.method, srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	as := r.as
	if as == nil {
		as = e.staff
	}
	as.authorize(req)
	for name, values := range r.header {
		req.Header[name] = values
	}
	if r.key != "" {
		req.Header.Set(api.HeaderIdempotencyKey, r.key)
	}
	if r.lang != "" {
		req.Header.Set("Accept-Language", r.lang)
	}
	checked := spec(t).checkRequest(t, req, body, r.raw)
	res, err := as.client(srv).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	checked.checkResponse(t, res.StatusCode, res.Header, raw)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

func decode[T any](t *testing.T, r response, status int) T {
	t.Helper()
	require.Equal(t, status, r.Status, "answer: %s", r)
	var v T
	require.NoError(t, json.Unmarshal(r.Body, &v), "answer: %s", r)
	return v
}

func (e *env) create(t *testing.T, key string, body any) api.JobCreated {
	t.Helper()
	return decode[api.JobCreated](t, e.do(t, request{method: http.MethodPost, path: "/jobs", key: key, body: body}), http.StatusCreated)
}

func (e *env) newJob(t *testing.T, key string) int64 {
	t.Helper()
	return e.create(t, key, map[string]any{"vehicle_id": e.vehicle.ID, "customer_id": e.customer.ID}).Number
}

// act sends a staff action and expects success.
func (e *env) act(t *testing.T, n int64, action, key string, body any) job.Result {
	t.Helper()
	return decode[job.Result](t, e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/%s", n, action), key: key, body: body}), http.StatusOK)
}

// customerSubmit submits as the job's customer and expects success.
func (e *env) customerSubmit(t *testing.T, n int64, key, phase string, values map[string]any) job.Result {
	t.Helper()
	return decode[job.Result](t, e.do(t, request{
		method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/submit", n), key: key, as: e.cust,
		body: api.SubmitBody{Phase: phase, Values: values},
	}), http.StatusOK)
}

func (e *env) list(t *testing.T, query string) api.JobList {
	t.Helper()
	return decode[api.JobList](t, e.do(t, request{method: http.MethodGet, path: "/jobs?" + query}), http.StatusOK)
}

// listed finds job n in the list filtered by query; the filter itself is part of what
// is checked.
func listed(l api.JobList, n int64) (job.Row, bool) {
	for _, r := range l.Jobs {
		if r.Number == n {
			return r, true
		}
	}
	return job.Row{}, false
}

// expectListed checks that the read model lists job n under the filter with the phase,
// turn and status the filter asks for.
func (e *env) expectListed(t *testing.T, n int64, phase string, turn definitions.Turn, status job.Status) {
	t.Helper()
	q := url.Values{"phase": {phase}, "turn": {string(turn)}, "status": {string(status)}}
	row, ok := listed(e.list(t, q.Encode()), n)
	require.True(t, ok, "job %d not listed under %s", n, q.Encode())
	require.Equal(t, phase, row.Phase)
	require.Equal(t, turn, row.Turn)
	require.Equal(t, status, row.Status)
}

func (e *env) detail(t *testing.T, n int64) api.JobDetail {
	t.Helper()
	return decode[api.JobDetail](t, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d", n)}), http.StatusOK)
}

// requested is the history without the entries of side effects.
func requested(history []job.AuditEntry) []job.AuditEntry {
	var out []job.AuditEntry
	for _, h := range history {
		switch h.Action {
		case job.ActionMessage, job.ActionPaymentOrder, job.ActionEffectFailed:
			continue
		}
		out = append(out, h)
	}
	return out
}

// actions lists the history's requested changes; entries of side effects (messages,
// payment orders, their failures) come when their activities finish, not in request
// order, and are checked where a test is about them.
func actions(history []job.AuditEntry) []string {
	var out []string
	for _, h := range requested(history) {
		out = append(out, h.Action+":"+h.Phase)
	}
	return out
}

func requireGaplessHistory(t *testing.T, history []job.AuditEntry) {
	t.Helper()
	for i, h := range history {
		require.Equal(t, int64(i+1), h.Seq, "history is numbered 1..n without gaps")
	}
}

func (e *env) pay(t *testing.T, n int64, key string, cents int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.tc.SignalWorkflow(ctx, job.WorkflowID(dealerID, n), "", job.SignalPaymentReceived,
		job.PaymentReceived{Key: key, AmountCents: cents}))
}

// waitClosed waits for the job's workflow to complete and returns its result.
func (e *env) waitClosed(t *testing.T, n int64) job.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var res job.Result
	require.NoError(t, e.tc.GetWorkflow(ctx, job.WorkflowID(dealerID, n), "").Get(ctx, &res))
	return res
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	t.Run("Health", e.testHealth)
	t.Run("RunShutsDown", e.testRun)
	t.Run("JourneyWithDelivery", e.testJourneyWithDelivery)
	t.Run("JourneyWithPickup", e.testJourneyWithPickup)
	t.Run("IdempotentRequests", e.testIdempotentRequests)
	t.Run("Errors", e.testErrors)
	t.Run("Languages", e.testLanguages)
	t.Run("OpenAPI", e.testOpenAPI)
	// Last: it stops and restarts the worker.
	t.Run("NoWorker", e.testNoWorker)
}

func (e *env) testHealth(t *testing.T) {
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodGet, path: "/healthz"}).Status)
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodGet, path: "/readyz"}).Status)

	// A store whose pool is closed stands in for a database that is down.
	down, err := store.Open(context.Background(), e.dbURL)
	require.NoError(t, err)
	down.Close()
	srv := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: down, Temporal: e.tc, Logger: e.logger}))
	defer srv.Close()
	r := e.do(t, request{method: http.MethodGet, path: "/readyz", server: srv})
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, []string{"postgres"}, problemFields(r.problem(t).Errors).names())
	require.NotEmpty(t, r.Header.Get("Retry-After"))
}

// testRun serves through api.Run and checks that it ends cleanly when its context does.
func (e *env) testRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Run(ctx, addr, api.Deps{Store: e.store, Temporal: e.tc, Logger: e.logger}) }()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := http.Get("http://" + addr + "/healthz")
		if assert.NoError(c, err) {
			res.Body.Close()
			assert.Equal(c, http.StatusOK, res.StatusCode)
		}
	}, 5*time.Second, 20*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("api.Run did not return after its context ended")
	}
}

func (e *env) testJourneyWithDelivery(t *testing.T) {
	created := e.create(t, "journey-delivery", map[string]any{
		"vehicle_id": e.vehicle.ID, "customer_id": e.customer.ID, "source": "manual",
		"values": map[string]any{"notiz_verkauf": "Kunde ruft morgen an"},
	})
	n := created.Number
	require.Equal(t, job.WorkflowID(dealerID, n), created.WorkflowID)
	require.Equal(t, dealerID, created.Dealer)

	// The workflow projects its start on its own time, not before the create answers.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		row, ok := listed(e.list(t, "phase=anfrage&status=open"), n)
		if assert.True(c, ok) {
			assert.Equal(c, definitions.TurnStaff, row.Turn)
			assert.Equal(c, "verkauf-1", row.Salesperson, "the dealer's default salesperson")
			assert.Equal(c, "Berlin", row.Location, "the vehicle's location")
			assert.Equal(c, "A-100", row.VehicleNumber, "the vehicle's number, looked up")
			assert.Equal(c, "Erika Mustermann", row.CustomerName, "the customer's name, looked up")
			assert.Empty(c, row.SalespersonName, "verkauf-1 names no staff user")
		}
	}, 10*time.Second, 50*time.Millisecond)

	res := e.act(t, n, "activate", "d-1", api.ActivateBody{Phase: "angebot"})
	require.Equal(t, job.Result{Seq: res.Seq, Phase: "angebot", Status: job.StatusOpen, Turn: definitions.TurnCustomer}, res)
	e.expectListed(t, n, "angebot", definitions.TurnCustomer, job.StatusOpen)

	view := decode[job.View](t, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: e.cust}), http.StatusOK)
	require.Equal(t, job.Customer, view.Side)
	require.Equal(t, "angebot", view.Phase.Key)
	require.Empty(t, view.Reachable, "the customer view does not show staff navigation")
	// Staff see the very same view.
	staffSees := decode[job.View](t, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer-view", n)}), http.StatusOK)
	require.Equal(t, view.Side, staffSees.Side)
	require.Equal(t, view.Phase, staffSees.Phase)
	require.Equal(t, view.Fields, staffSees.Fields)
	// The delivery address shows once the form holds "lieferung": a draft view is a
	// query, the stored values stay as they are.
	hasField := func(v job.View, key string) bool {
		return slices.ContainsFunc(v.Fields, func(f job.ViewField) bool { return f.Key == key })
	}
	require.False(t, hasField(view, "lieferadresse"))
	draft := decode[job.View](t, e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: e.cust,
		body: api.ViewBody{Values: map[string]any{"lieferart": "lieferung"}}}), http.StatusOK)
	require.True(t, hasField(draft, "lieferadresse"))
	for _, f := range draft.Fields {
		require.NotEqual(t, "lieferung", f.Value, "a draft view shows the stored values: %s", f.Key)
	}
	draft = decode[job.View](t, e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: e.cust,
		body: api.ViewBody{Values: map[string]any{"lieferart": "abholung"}}}), http.StatusOK)
	require.False(t, hasField(draft, "lieferadresse"))
	staffDraft := decode[job.View](t, e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/view", n),
		body: api.ViewBody{Values: map[string]any{"lieferart": "lieferung"}}}), http.StatusOK)
	require.Equal(t, job.Staff, staffDraft.Side)

	res = e.customerSubmit(t, n, "d-2", "angebot", map[string]any{
		"lieferart": "lieferung", "lieferadresse": "Hauptstraße 1, 10115 Berlin", "ausstattung": []string{"AHK"},
	})
	require.Equal(t, definitions.TurnStaff, res.Turn)
	e.expectListed(t, n, "angebot", definitions.TurnStaff, job.StatusOpen)

	e.act(t, n, "activate", "d-3", api.ActivateBody{Phase: "auftrag"})
	e.expectListed(t, n, "auftrag", definitions.TurnCustomer, job.StatusOpen)
	e.act(t, n, "activate", "d-4", api.ActivateBody{Phase: "zahlung"})
	e.expectListed(t, n, "zahlung", definitions.TurnCustomer, job.StatusOpen)

	// The payment comes from the provider's webhook (a later issue) as a signal; its
	// projection is asynchronous.
	e.pay(t, n, "pay-d-1", 2_500_000)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		// The payment puts the staff on turn: the job shows up under that filter.
		_, ok := listed(e.list(t, "phase=zahlung&turn=staff"), n)
		assert.True(c, ok)
	}, 10*time.Second, 50*time.Millisecond)

	e.customerSubmit(t, n, "d-5", "zahlung", map[string]any{})
	e.act(t, n, "activate", "d-6", api.ActivateBody{Phase: "lieferung"})
	e.expectListed(t, n, "lieferung", definitions.TurnStaff, job.StatusOpen)
	e.act(t, n, "submit", "d-7", api.SubmitBody{Phase: "lieferung", Values: map[string]any{"liefertermin": "Freitag, 10 Uhr"}})
	// Lieferung's follow-up is feedback.
	e.act(t, n, "activate", "d-8", api.ActivateBody{})
	e.expectListed(t, n, "feedback", definitions.TurnCustomer, job.StatusOpen)
	e.customerSubmit(t, n, "d-9", "feedback", map[string]any{"bewertung": "5"})
	e.expectListed(t, n, "feedback", definitions.TurnStaff, job.StatusOpen)

	res = e.act(t, n, "status", "d-10", api.StatusBody{Status: job.StatusSold})
	require.Equal(t, job.StatusSold, res.Status)
	e.expectListed(t, n, "feedback", definitions.TurnStaff, job.StatusSold)
	res = e.act(t, n, "status", "d-11", api.StatusBody{Status: job.StatusClosed})
	require.Equal(t, job.Result{Seq: res.Seq, Phase: "feedback", Status: job.StatusClosed, Turn: definitions.TurnStaff}, res)
	row, ok := listed(e.list(t, "status=sold,closed"), n)
	require.True(t, ok)
	require.Equal(t, job.StatusClosed, row.Status)
	require.Equal(t, "Feedback", row.PhaseName)

	require.Equal(t, job.StatusClosed, e.waitClosed(t, n).Status)
	d := e.detail(t, n)
	require.Equal(t, []string{
		"created:", "phase_activated:anfrage", "phase_activated:angebot", "fields_submitted:angebot",
		"phase_activated:auftrag", "phase_activated:zahlung", "payment_received:zahlung", "fields_submitted:zahlung",
		"phase_activated:lieferung", "fields_submitted:lieferung", "phase_activated:feedback", "fields_submitted:feedback",
		"status_changed:feedback", "status_changed:feedback",
	}, actions(d.History))
	requireGaplessHistory(t, d.History)
	asked := requested(d.History)
	require.Equal(t, job.Actor{Side: job.Customer, ID: e.customer.ID}, asked[3].Actor)
	require.Equal(t, job.Actor{Side: job.Staff, ID: e.staffID}, asked[2].Actor)
	// The workflow has completed; a worker still answers the query by replaying it.
	require.NotNil(t, d.View, "view error: %s", d.ViewError)
	require.Equal(t, job.StatusClosed, d.View.Status)

	e.recordHistory(t, n, "standard_master_delivery")
}

func (e *env) testJourneyWithPickup(t *testing.T) {
	n := e.newJob(t, "journey-pickup")
	res := e.act(t, n, "activate", "p-1", nil)
	require.Equal(t, "angebot", res.Phase, "an empty body activates the next phase")
	e.customerSubmit(t, n, "p-2", "angebot", map[string]any{"lieferart": "abholung"})
	// Straight to the payment: the order phase is skipped.
	e.act(t, n, "activate", "p-3", api.ActivateBody{Phase: "zahlung"})
	e.pay(t, n, "pay-p-1", 2_500_000)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, ok := listed(e.list(t, "phase=zahlung&turn=staff"), n)
		assert.True(c, ok)
	}, 10*time.Second, 50*time.Millisecond)
	e.customerSubmit(t, n, "p-4", "zahlung", map[string]any{})
	res = e.act(t, n, "activate", "p-5", nil)
	require.Equal(t, "abholung", res.Phase, "pick-up, not delivery")
	res = e.act(t, n, "submit", "p-6", api.SubmitBody{Phase: "abholung", Values: map[string]any{"abholtermin": "Mo 10 Uhr", "status": "sold"}})
	require.Equal(t, job.StatusSold, res.Status, "the status field sets the job status")
	sp, loc := "verkauf-2", "Potsdam"
	e.act(t, n, "assign", "p-7", api.AssignBody{Salesperson: &sp, Location: &loc})
	row, ok := listed(e.list(t, "salesperson=verkauf-2&location=Potsdam&status=sold"), n)
	require.True(t, ok)
	require.Equal(t, "abholung", row.Phase)
	e.act(t, n, "activate", "p-8", nil)
	e.customerSubmit(t, n, "p-9", "feedback", map[string]any{"bewertung": "4", "feedback_text": "Alles gut"})
	e.act(t, n, "status", "p-10", api.StatusBody{Status: job.StatusClosed})
	require.Equal(t, job.StatusClosed, e.waitClosed(t, n).Status)

	d := e.detail(t, n)
	require.Equal(t, []string{
		"created:", "phase_activated:anfrage", "phase_activated:angebot", "fields_submitted:angebot",
		"phase_skipped:auftrag", "phase_activated:zahlung", "payment_received:zahlung", "fields_submitted:zahlung",
		"phase_skipped:lieferung", "phase_activated:abholung", "fields_submitted:abholung", "status_changed:abholung",
		"assigned:abholung", "phase_activated:feedback", "fields_submitted:feedback", "status_changed:feedback",
	}, actions(d.History))
	requireGaplessHistory(t, d.History)

	e.recordHistory(t, n, "standard_master_pickup")
}

func (e *env) testIdempotentRequests(t *testing.T) {
	body := map[string]any{"vehicle_id": e.vehicle.ID, "customer_id": e.customer.ID}
	first := e.create(t, "idem-create", body)
	again := decode[api.JobCreated](t, e.do(t, request{method: http.MethodPost, path: "/jobs", key: "idem-create", body: body}), http.StatusOK)
	require.Equal(t, first, again, "a repeated create answers the same job")
	other := e.create(t, "idem-create-2", body)
	require.Equal(t, first.Number+1, other.Number, "the repeat took no number")
	// The same key for another request is refused, naming the header; no job is made.
	reused := map[string]any{"vehicle_id": e.vehicle.ID}
	p := e.do(t, request{method: http.MethodPost, path: "/jobs", key: "idem-create", body: reused}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{api.HeaderIdempotencyKey}, problemFields(p.Errors).names())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := e.tc.DescribeWorkflow(ctx, first.WorkflowID, "")
	require.NoError(t, err)
	desc := described.RawResponse
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
	require.Equal(t, first.WorkflowID, desc.GetWorkflowExecutionInfo().GetExecution().GetWorkflowId())
	runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	var summary string
	// Encrypted like every payload: the test clients' converter reads it.
	dc, _, err := devstack.TestConverters()
	require.NoError(t, err)
	require.NoError(t, dc.FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary))
	require.Equal(t, fmt.Sprintf("Job %d · vehicle A-100 · standard_master@1", first.Number), summary)

	n := first.Number
	r1 := e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), key: "idem-act", body: api.ActivateBody{}})
	r2 := e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), key: "idem-act", body: api.ActivateBody{}})
	require.Equal(t, http.StatusOK, r1.Status, "answer: %s", r1)
	require.Equal(t, r1.String(), r2.String(), "a repeated update answers the same")
	// The same key on another action is another request.
	loc := "Hamburg"
	e.act(t, n, "assign", "idem-act", api.AssignBody{Location: &loc})

	d := e.detail(t, n)
	require.Equal(t, []string{"created:", "phase_activated:anfrage", "phase_activated:angebot", "assigned:angebot"}, actions(d.History),
		"one creation, one activation")
	requireGaplessHistory(t, d.History)
	described, err = e.tc.DescribeWorkflow(ctx, first.WorkflowID, "")
	require.NoError(t, err)
	desc = described.RawResponse
	require.Equal(t, runID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "one workflow run")
}

func (e *env) testErrors(t *testing.T) {
	post := func(path, key string, body any) response {
		return e.do(t, request{method: http.MethodPost, path: path, key: key, body: body})
	}
	// postRaw sends a body that breaks the spec on purpose.
	postRaw := func(path, key string, body any) response {
		return e.do(t, request{method: http.MethodPost, path: path, key: key, body: body, raw: true})
	}

	// Unknown job, unknown dealer.
	p := e.do(t, request{method: http.MethodGet, path: "/jobs/99999"}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Equal(t, http.StatusNotFound, post("/jobs/99999/activate", "e-0", nil).problem(t).Status)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/jobs/abc", raw: true}).problem(t).Status)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/api/v1/dealers/nobody/jobs"}).problem(t).Status)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodPost, path: "/api/v1/dealers/nobody/jobs", key: "e-x",
		body: map[string]any{"vehicle_id": e.vehicle.ID}}).problem(t).Status)

	// Headers.
	r := e.do(t, request{method: http.MethodPost, path: "/jobs", body: map[string]any{"vehicle_id": e.vehicle.ID}, raw: true})
	p = r.problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Detail, api.HeaderIdempotencyKey)
	require.Equal(t, []string{api.HeaderIdempotencyKey}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodGet, path: "/jobs", as: anonymous()}).problem(t)
	require.Equal(t, http.StatusUnauthorized, p.Status)
	require.Equal(t, api.ProblemUnauthorized, p.Type)

	// Bodies.
	p = postRaw("/jobs", "e-1", `{"vehicle_id": `).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Detail, "JSON")
	p = postRaw("/jobs", "e-1", `{"vehicle": "x"}`).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, []string{"vehicle"}, problemFields(p.Errors).names())
	p = postRaw("/jobs", "e-1", `{"vehicle_id": 7}`).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())

	// Create: unknown vehicle, bad initial values, bad source, unknown customer. None
	// of them takes a number.
	before := len(e.list(t, "limit=500").Jobs)
	p = post("/jobs", "e-2", map[string]any{"vehicle_id": "8d1c5f3e-0000-4000-8000-000000000000"}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
	p = postRaw("/jobs", "e-3", map[string]any{
		"vehicle_id": e.vehicle.ID, "source": "fax", "customer_id": "nobody",
		"values": map[string]any{"lieferart": "drohne", "gibtsnicht": "x", "ausstattung": []string{"Schiebedach"}},
	}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"source", "customer_id", "values.ausstattung", "values.gibtsnicht", "values.lieferart"}, problemFields(p.Errors).names())
	require.Len(t, e.list(t, "limit=500").Jobs, before)

	// List filters.
	p = e.do(t, request{method: http.MethodGet, path: "/jobs?status=open,bogus&turn=nobody&limit=0&stauts=open&cursor=zzz", raw: true}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.ElementsMatch(t, []string{"stauts", "status", "turn", "limit"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodGet, path: "/jobs?cursor=zzz"}).problem(t)
	require.Equal(t, []string{"cursor"}, problemFields(p.Errors).names())

	// Workflow rejections.
	n := e.newJob(t, "errors-job")
	e.act(t, n, "activate", "e-4", api.ActivateBody{Phase: "angebot"})
	cust := func(key string, body any, as *caller) response {
		return e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/submit", n), key: key, as: as, body: body})
	}
	custRaw := func(key string, body any, as *caller) response {
		return e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/submit", n), key: key, as: as, body: body, raw: true})
	}
	p = cust("e-5", api.SubmitBody{Phase: "angebot", Values: map[string]any{"notiz_verkauf": "psst", "lieferart": "abholung"}}, e.cust).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"notiz_verkauf"}, problemFields(p.Errors).names(), "a staff field is not the customer's")
	require.Equal(t, api.ProblemInvalid, p.Type)
	p = cust("e-6", api.SubmitBody{Phase: "anfrage", Values: map[string]any{"lieferart": "abholung"}}, e.cust).problem(t)
	require.Equal(t, http.StatusConflict, p.Status, "a stale form")
	require.Equal(t, []string{"phase"}, problemFields(p.Errors).names())
	p = cust("e-7", api.SubmitBody{Phase: "angebot"}, e.otherCust).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status, "another customer's job does not exist for them")
	p = e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: e.otherCust}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	p = custRaw("e-8", api.SubmitBody{Values: map[string]any{}}, e.cust).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"phase"}, problemFields(p.Errors).names())
	p = post(fmt.Sprintf("/jobs/%d/activate", n), "e-9", api.ActivateBody{Phase: "probefahrt"}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"phase"}, problemFields(p.Errors).names())
	p = post(fmt.Sprintf("/jobs/%d/activate", n), "e-10", api.ActivateBody{Phase: "anfrage"}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status, "not reachable")
	p = postRaw(fmt.Sprintf("/jobs/%d/status", n), "e-11", api.StatusBody{Status: "vanished"}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"status"}, problemFields(p.Errors).names())
	p = post(fmt.Sprintf("/jobs/%d/status", n), "e-12", api.StatusBody{Status: job.StatusOpen}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status, "status unchanged")
	p = post(fmt.Sprintf("/jobs/%d/assign", n), "e-13", api.AssignBody{}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status, "nothing to assign")

	// The closed job.
	closing := e.act(t, n, "status", "e-14", api.StatusBody{Status: job.StatusClosed})
	p = e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), key: "e-15", lang: "en"}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, api.ProblemJobEnded, p.Type)
	require.Equal(t, "Job is closed.", p.Detail)
	p = cust("e-16", api.SubmitBody{Phase: "angebot", Values: map[string]any{"lieferart": "abholung"}}, e.cust).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)

	// A read model that lags behind: the workflow has completed, the row still says
	// open. Temporal refuses the update; the workflow's result says why.
	e.waitClosed(t, n)
	_, err := e.store.Pool().Exec(context.Background(), `UPDATE jobs SET status = 'open' WHERE dealer = $1 AND number = $2`, dealerID, n)
	require.NoError(t, err)
	p = e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), key: "e-17", lang: "en"}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status, "%+v", p)
	require.Equal(t, api.ProblemJobEnded, p.Type)
	require.Equal(t, "Job is closed.", p.Detail)
	_, err = e.store.Pool().Exec(context.Background(), `UPDATE jobs SET status = 'closed' WHERE dealer = $1 AND number = $2`, dealerID, n)
	require.NoError(t, err)

	// A client that retries the request that closed the job gets its first answer.
	require.Equal(t, closing, e.act(t, n, "status", "e-14", api.StatusBody{Status: job.StatusClosed}))
	require.Equal(t, job.StatusClosed, closing.Status)

	d := e.detail(t, n)
	require.Equal(t, []string{"created:", "phase_activated:anfrage", "phase_activated:angebot", "status_changed:angebot"}, actions(d.History),
		"rejected requests leave no trace")
}

func (e *env) testNoWorker(t *testing.T) {
	n := e.newJob(t, "no-worker")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, ok := listed(e.list(t, "phase=anfrage"), n)
		assert.True(c, ok)
	}, 10*time.Second, 50*time.Millisecond)

	e.stopWorker()
	restarted := false
	defer func() {
		if !restarted {
			e.startWorker(t)
		}
	}()
	const timeout = 2 * time.Second
	impatient := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger, UpdateTimeout: timeout}))
	defer impatient.Close()
	activate := request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), key: "nw-1", server: impatient}

	start := time.Now()
	r := e.do(t, activate)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "answer: %s", r)
	require.Less(t, time.Since(start), timeout+3*time.Second)
	require.Equal(t, "5", r.Header.Get("Retry-After"))
	require.Contains(t, r.problem(t).Detail, api.HeaderIdempotencyKey)

	// Lists and the job's row and history need no worker; the live view does.
	_, ok := listed(e.list(t, "phase=anfrage"), n)
	require.True(t, ok)
	d := decode[api.JobDetail](t, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d", n), server: impatient}), http.StatusOK)
	require.Nil(t, d.View)
	require.NotEmpty(t, d.ViewError)
	require.Equal(t, "anfrage", d.Job.Phase)
	r = e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: e.cust, server: impatient})
	require.Equal(t, http.StatusServiceUnavailable, r.problem(t).Status)

	// A client retries with the same key until it gets an answer. The first attempts
	// after the restart may still time out: the server hands the job's workflow task to
	// the new worker only once it gives up on the stopped one.
	e.startWorker(t)
	restarted = true
	attempts := 1
	r = e.do(t, activate)
	for r.Status == http.StatusServiceUnavailable && attempts < 15 {
		attempts++
		r = e.do(t, activate)
	}
	t.Logf("answered after %d attempts since the worker restarted", attempts)
	res := decode[job.Result](t, r, http.StatusOK)
	require.Equal(t, "angebot", res.Phase)
	again := decode[job.Result](t, e.do(t, activate), http.StatusOK)
	require.Equal(t, res, again)
	d = e.detail(t, n)
	require.Equal(t, []string{"created:", "phase_activated:anfrage", "phase_activated:angebot"}, actions(d.History),
		"the update is applied once, although it was sent many times")
}

// recordHistory checks that the finished workflow replays against the current code and,
// with JOBMANAGER_RECORD_HISTORIES=1, writes its history for the replay test.
func (e *env) recordHistory(t *testing.T, n int64, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hist := &historypb.History{}
	iter := e.tc.GetWorkflowHistory(ctx, job.WorkflowID(dealerID, n), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	last := hist.Events[len(hist.Events)-1].GetEventType()
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, last, "only a finished history is worth keeping")
	replayer := newReplayer(t)
	require.NoError(t, replayer.ReplayWorkflowHistory(nil, hist))

	if os.Getenv(EnvRecordHistories) != "1" {
		return
	}
	// Temporal's protojson, as `temporal workflow show -o json` writes it and
	// client.HistoryFromJSON reads it. Payloads stay base64: the SDK's reader does not
	// take the CLI's payload shorthand. protojson varies its whitespace on purpose;
	// indenting the compact form makes the file stable, so a re-recording diffs only
	// where it changed.
	compact, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(hist)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, compact, "", "  "))
	out.WriteByte('\n')
	root, err := devstack.RepoRoot()
	require.NoError(t, err)
	dir := filepath.Join(root, "workflows", "testdata", "histories")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name+".json")
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	loaded, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	require.Len(t, loaded.Events, len(hist.Events))
	require.NoError(t, newReplayer(t).ReplayWorkflowHistoryFromJSONFile(nil, path))
	t.Logf("recorded %d events to %s", len(hist.Events), path)
}

func newReplayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	// The workers' converters: histories hold encrypted payloads.
	dc, fc, err := devstack.TestConverters()
	require.NoError(t, err)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: fc})
	require.NoError(t, err)
	r.RegisterWorkflowWithOptions(workflows.JobWorkflow, workflow.RegisterOptions{Name: job.WorkflowType})
	return r
}

var envQueues atomic.Int64

// newQueue names a task queue no other env of this test binary uses.
func newQueue() string { return fmt.Sprintf("jobs-test-%d", envQueues.Add(1)) }
