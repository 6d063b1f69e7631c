package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workflows"
)

// CreateJobRequest is the body of POST /api/v1/dealers/:dealer/jobs.
type CreateJobRequest struct {
	VehicleID  string `json:"vehicle_id"`
	CustomerID string `json:"customer_id,omitempty"`
	// Source is how the job started; manual when empty.
	Source job.Source `json:"source,omitempty"`
	// Values are initial field values, checked against the dealer's active definition.
	Values map[string]any `json:"values,omitempty"`
}

// JobCreated answers a create: 201 the first time, 200 for a repeat with the same key.
type JobCreated struct {
	Number     int64  `json:"number"`
	WorkflowID string `json:"workflow_id"`
	Dealer     string `json:"dealer"`
}

// JobList is a page of the read model.
type JobList struct {
	Jobs       []job.Row `json:"jobs"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// JobDetail is one job for staff: the read-model row and history, which need no worker,
// and the live view, which does.
type JobDetail struct {
	Job       job.Row          `json:"job"`
	View      *job.View        `json:"view"`
	ViewError string           `json:"view_error,omitempty"`
	History   []job.AuditEntry `json:"history"`
	// Phases, Documents and Attachments: see staffDetail.
	Phases      []JobPhase `json:"phases"`
	Documents   []JobFile  `json:"documents"`
	Attachments []JobFile  `json:"attachments"`
}

// createJob starts a job by hand (or from an integration that names the vehicle):
// the request is checked against the dealer's data and definition, then started as
// every source starts its job (startJob, api/sources.go).
func (s *server) createJob(c *gin.Context) {
	var req CreateJobRequest
	if !decodeJSON(c, &req) {
		return
	}
	dealer, version, ok := s.activeDefinition(c)
	if !ok {
		return
	}
	vehicle, customer, fields, err := s.checkCreate(c.Request.Context(), dealer.ID, &req, &version.Definition)
	if err != nil {
		internal(c, err)
		return
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "create_invalid", fields...))
		return
	}
	s.startJob(c, dealer, version, newJob{
		Source: req.Source, Actor: auth.From(c).Actor(), Vehicle: vehicle, Customer: customer, Values: req.Values,
		Key: idempotencyKey(c), Fingerprint: fingerprint(req),
	})
}

// checkCreate validates a create request against the dealer's data and definition and
// normalizes its values in place; it returns the live vehicle and the customer (nil
// for none). Field problems come back as the third result; the error is for failures
// of the store.
func (s *server) checkCreate(ctx context.Context, dealer string, req *CreateJobRequest, def *definitions.Definition) (job.Vehicle, *store.Customer, []job.FieldError, error) {
	var fields []job.FieldError
	if req.Source == "" {
		req.Source = job.SourceManual
	}
	if !req.Source.Valid() {
		fields = append(fields, field("source", "unknown_source", "source", string(req.Source)))
	}
	var vehicle job.Vehicle
	if req.VehicleID == "" {
		fields = append(fields, field("vehicle_id", "required"))
	} else {
		v, err := s.store.LiveVehicle(ctx, dealer, req.VehicleID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			fields = append(fields, field("vehicle_id", "no_vehicle", "vehicle", req.VehicleID))
		case err != nil:
			return job.Vehicle{}, nil, nil, err
		default:
			vehicle = v
		}
	}
	var customer *store.Customer
	if req.CustomerID != "" {
		cust, err := s.store.GetCustomer(ctx, dealer, req.CustomerID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			fields = append(fields, field("customer_id", "no_customer", "customer", req.CustomerID))
		case err != nil:
			return job.Vehicle{}, nil, nil, err
		default:
			customer = &cust
		}
	}
	keys := make([]string, 0, len(req.Values))
	for k := range req.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := def.Field(k)
		if !ok {
			fields = append(fields, field("values."+k, "not_a_workflow_field", "workflow", def.Workflow.Key))
			continue
		}
		v, err := f.Normalize(req.Values[k], vehicle.Extras)
		if err != nil {
			fields = append(fields, job.ValueFieldError("values."+k, err))
			continue
		}
		req.Values[k] = v
	}
	return vehicle, customer, fields, nil
}

// startWorkflow starts the job's workflow, or finds it started. USE_EXISTING makes a
// retried request join the running workflow; REJECT_DUPLICATE keeps a closed job's ID
// from ever starting again. The "already started" error is asked for explicitly, so a
// newly allocated number that meets an old workflow (database and Temporal out of
// step) fails loudly instead of silently adopting a stranger's job.
func (s *server) startWorkflow(ctx context.Context, in workflows.StartInput, vehicleNumber string, created bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id := job.WorkflowID(in.Dealer, in.Number)
	attrs, _, err := workflows.StartAttributes(in)
	if err != nil {
		return fmt.Errorf("start workflow %s: %w", id, err)
	}
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.taskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    attrs,
		// What Temporal UI shows; no personal data, as UI users see every job.
		StaticSummary: fmt.Sprintf("Job %d · vehicle %s · %s", in.Number, vehicleNumber, in.Ref),
		StaticDetails: fmt.Sprintf("dealer: %s\n\nsource: %s\n\ndefinition: %s (hash %.12s)", in.Dealer, in.Source, in.Ref, in.Ref.Hash),
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, opts, job.WorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) && !created {
		// A repeat of a create whose job has since closed.
		return nil
	}
	if err != nil {
		return fmt.Errorf("start workflow %s: %w", id, err)
	}
	return nil
}

func (s *server) startFailed(c *gin.Context, err error) {
	_ = c.Error(err)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		// A new number met an existing workflow: the store lost numbers Temporal
		// still knows. An operator must look; a retry would meet the same workflow.
		s.log.Error("job number already used by a workflow", "error", err)
		internal(c, err)
		return
	}
	if unavailable(err) {
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "start_unavailable").
			with("header", HeaderIdempotencyKey))
		return
	}
	internal(c, err)
}

// unavailable reports whether err means Temporal could not be reached or did not answer
// in time, which a retry may cure.
func unavailable(err error) bool {
	var timeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	var unavail *serviceerror.Unavailable
	var exhausted *serviceerror.ResourceExhausted
	var deadline *serviceerror.DeadlineExceeded
	var canceled *serviceerror.Canceled
	return errors.As(err, &timeout) || errors.As(err, &unavail) || errors.As(err, &exhausted) ||
		errors.As(err, &deadline) || errors.As(err, &canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// listParams are the query parameters of the job list.
var listParams = []string{"status", "phase", "turn", "salesperson", "location", "source", "vehicle", "customer", "q", "sort", "limit", "cursor", "test"}

// listJobs serves the job list from the read model, so it works without a worker.
func (s *server) listJobs(c *gin.Context) {
	ctx := c.Request.Context()
	dealerID := c.Param("dealer")
	filter, fields := parseJobFilter(c.Request.URL.Query())
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid", fields...))
		return
	}
	if _, err := s.store.GetDealer(ctx, dealerID); errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", dealerID))
		return
	} else if err != nil {
		internal(c, err)
		return
	}
	rows, next, err := s.store.ListJobs(ctx, dealerID, filter)
	if p, ok := listProblem(err, filter); ok {
		writeProblem(c, p)
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	if rows == nil {
		rows = []job.Row{}
	}
	c.JSON(http.StatusOK, JobList{Jobs: rows, NextCursor: next})
}

// parseJobFilter reads the list's query parameters; it names every parameter that is
// wrong, and refuses unknown ones so a misspelt filter does not silently list all jobs.
func parseJobFilter(q map[string][]string) (store.JobFilter, []job.FieldError) {
	var f store.JobFilter
	var fields []job.FieldError
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(listParams, name) {
			fields = append(fields, field(name, "unknown_parameter", "known", strings.Join(listParams, ", ")))
		}
	}
	one := func(name string) string {
		vs := q[name]
		if len(vs) > 1 {
			fields = append(fields, field(name, "repeated_parameter"))
		}
		if len(vs) == 0 {
			return ""
		}
		return strings.TrimSpace(vs[0])
	}
	for _, v := range q["status"] {
		for part := range strings.SplitSeq(v, ",") {
			st := job.Status(strings.TrimSpace(part))
			if !st.Valid() {
				fields = append(fields, field("status", "unknown_status", "status", string(st)))
				continue
			}
			if !slices.Contains(f.Statuses, st) {
				f.Statuses = append(f.Statuses, st)
			}
		}
	}
	f.Phase = one("phase")
	if t := definitions.Turn(one("turn")); t != "" {
		if t != definitions.TurnStaff && t != definitions.TurnCustomer {
			fields = append(fields, field("turn", "unknown_turn", "turn", string(t)))
		}
		f.Turn = t
	}
	f.Salesperson = one("salesperson")
	f.Location = one("location")
	if src := job.Source(one("source")); src != "" {
		if !src.Valid() {
			fields = append(fields, field("source", "unknown_source", "source", string(src)))
		}
		f.Source = src
	}
	f.VehicleID = one("vehicle")
	f.CustomerID = one("customer")
	// Test jobs (the sandbox's) are left out unless asked for.
	if f.Test = store.TestFilter(one("test")); !f.Test.Valid() {
		fields = append(fields, field("test", "unknown_test_filter", "test", string(f.Test)))
	}
	if l := one("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxJobLimit {
			fields = append(fields, field("limit", "out_of_range", "min", "1", "max", strconv.Itoa(store.MaxJobLimit)))
		}
		f.Limit = n
	}
	fields = append(fields, parseListSearch(&f, one)...)
	f.Cursor = one("cursor")
	return f, fields
}

// getJob serves one job for staff. The row and history come from the read model, so an
// unknown job is a 404 and a known one is served even while no worker runs; only the
// live view then is missing.
func (s *server) getJob(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	history, err := s.store.Audit(ctx, row.Dealer, row.Number)
	if err != nil {
		internal(c, err)
		return
	}
	if history == nil {
		history = []job.AuditEntry{}
	}
	out := JobDetail{Job: row, History: history}
	view, err := s.queryView(ctx, row, job.Staff)
	if err != nil {
		_ = c.Error(err)
		out.ViewError = viewProblem(err, s.qtimeout).localized(requestLanguage(c)).Detail
	} else {
		out.View = &view
	}
	if err := s.staffDetail(c, &out); err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// customerView serves the customer's view of the current phase, to the customer and to
// staff (who see exactly what the customer sees). Unlike the staff page there is nothing
// to show without it, so a failed query is a 503.
func (s *server) customerView(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	view, err := s.queryView(c.Request.Context(), row, job.Customer)
	if err != nil {
		_ = c.Error(err)
		writeProblem(c, viewProblem(err, s.qtimeout))
		return
	}
	c.JSON(http.StatusOK, view)
}

// ViewBody is the body of POST .../view and .../customer/view: the values a form holds
// before it is sent. They decide which fields' conditions hold (a field that a choice
// in the same form makes visible shows); nothing is stored.
type ViewBody struct {
	Values map[string]any `json:"values"`
}

// draftView serves side's view of the current phase with the body's draft values: the
// staff's at POST .../view, the customer's at POST .../customer/view.
func (s *server) draftView(side job.Side) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b ViewBody
		if !decodeJSON(c, &b) {
			return
		}
		row, ok := s.loadJob(c)
		if !ok {
			return
		}
		view, err := s.queryDraftView(c.Request.Context(), row, side, b.Values)
		if err != nil {
			_ = c.Error(err)
			writeProblem(c, viewProblem(err, s.qtimeout))
			return
		}
		c.JSON(http.StatusOK, view)
	}
}

func (s *server) queryView(ctx context.Context, row job.Row, side job.Side) (job.View, error) {
	return s.queryDraftView(ctx, row, side, nil)
}

// queryDraftView asks the workflow for side's view, with draft values for the fields'
// conditions.
func (s *server) queryDraftView(ctx context.Context, row job.Row, side job.Side, draft map[string]any) (job.View, error) {
	ctx, cancel := context.WithTimeout(ctx, s.qtimeout)
	defer cancel()
	id := job.WorkflowID(row.Dealer, row.Number)
	res, err := s.temporal.QueryWorkflow(ctx, id, "", job.QueryView, job.ViewRequest{Side: side, Values: draft})
	if err != nil {
		return job.View{}, fmt.Errorf("query %s view of %s: %w", side, id, err)
	}
	var v job.View
	if err := res.Get(&v); err != nil {
		return job.View{}, fmt.Errorf("decode %s view of %s: %w", side, id, err)
	}
	return v, nil
}

// viewProblem says why a live view is missing: 503, as a retry may find a worker.
func viewProblem(err error, timeout time.Duration) Problem {
	if unavailable(err) {
		return problem(http.StatusServiceUnavailable, ProblemUnavailable, "view_timeout").with("timeout", timeout.String())
	}
	return problem(http.StatusServiceUnavailable, ProblemUnavailable, "view_unavailable").with("error", err.Error())
}

// loadJob reads the job's row named by the path. It answers 404 for an unknown job and
// for a customer who is not the job's customer: to them, someone else's job does not
// exist.
func (s *server) loadJob(c *gin.Context) (job.Row, bool) {
	dealer := c.Param("dealer")
	notFound := func() (job.Row, bool) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_job").with("dealer", dealer, "number", c.Param("number")))
		return job.Row{}, false
	}
	number, err := strconv.ParseInt(c.Param("number"), 10, 64)
	if err != nil || number <= 0 {
		return notFound()
	}
	row, err := s.store.GetJob(c.Request.Context(), dealer, number)
	if errors.Is(err, store.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		internal(c, err)
		return job.Row{}, false
	}
	if p := auth.From(c); p.Kind == auth.Customer {
		ok, err := s.customerMayOpenJob(c.Request.Context(), p, row)
		if err != nil {
			internal(c, err)
			return job.Row{}, false
		}
		if !ok {
			return notFound()
		}
	}
	return row, true
}

// fingerprint identifies a request that starts a job by its checked content, so a
// repeat with the same key is told apart from a different request that reuses the key.
// JSON encoding sorts map keys, so equal requests give equal fingerprints.
func fingerprint(req any) string {
	b, err := json.Marshal(req)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
