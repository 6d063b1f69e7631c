package api

// The staff side of jobs: free text and sort of the job list, each staff user's saved
// filters and column views, the detail's phases, documents and attachments, and the
// lifecycle actions reopen (a closed job starts a new run from its projected state)
// and migrate (the job moves to a newer published version of its workflow).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// PhaseState is where a phase of the job's definition stands for the job.
type PhaseState string

// Phase states, from the history (done, skipped), the job's row (current) and the
// live staff view (reachable).
const (
	// PhaseCurrent: the job is in this phase.
	PhaseCurrent PhaseState = "current"
	// PhaseDone: the job was in this phase before.
	PhaseDone PhaseState = "done"
	// PhaseSkipped: the job passed over this phase because its condition was false.
	PhaseSkipped PhaseState = "skipped"
	// PhaseReachable: staff can activate this phase now.
	PhaseReachable PhaseState = "reachable"
	// PhaseUpcoming: after the current phase, not passed yet; whether staff can
	// activate it now is unknown because no worker answered for the live view.
	PhaseUpcoming PhaseState = "upcoming"
	// PhaseNotApplicable: neither passed nor reachable: its condition does not hold
	// for the job now, the workflow's path leads past it, or the job has ended.
	PhaseNotApplicable PhaseState = "not_applicable"
)

// JobPhase is one phase of the job's pinned definition, in the definition's order.
type JobPhase struct {
	Key   string     `json:"key"`
	Name  string     `json:"name"`
	State PhaseState `json:"state"`
}

// JobFile is a stored version of a document or an attachment, without its content
// (which the documents routes serve).
type JobFile struct {
	ID      string `json:"id"`
	Field   string `json:"field"`
	Version int    `json:"version"`
	// Kind is how the version came to be: rendered, upload or inbound (by e-mail).
	Kind       string `json:"kind"`
	Superseded bool   `json:"superseded"`
	// Phase is the phase the version is filed under: the one it was created in.
	Phase       string    `json:"phase,omitempty"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// MigrateBody is the body of POST .../migrate: the published version of the job's
// workflow to move the job to.
type MigrateBody struct {
	Version int `json:"version"`
}

// ColumnKeys are the job list's columns a column view can show, in their usual order.
var ColumnKeys = []string{"number", "phase", "turn", "vehicle", "status", "customer", "salesperson", "location", "source", "updated_at"}

// SavedFilterBody is the body of POST /saved-filters and PUT /saved-filters/:id.
type SavedFilterBody struct {
	Name string `json:"name"`
	// Query holds the job list's parameters as a query string (status=open&q=golf),
	// checked as GET /jobs checks them; a cursor is not saved. Required; empty lists
	// every job.
	Query   *string `json:"query"`
	Default bool    `json:"default,omitempty"`
}

// SavedFilter is a staff user's saved job list filter.
type SavedFilter struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Query is the filter's query string, parameters sorted by name.
	Query     string    `json:"query"`
	Default   bool      `json:"default"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SavedFilterList answers GET /saved-filters: the caller's filters by name.
type SavedFilterList struct {
	SavedFilters []SavedFilter `json:"saved_filters"`
}

// ColumnViewBody is the body of POST /column-views and PUT /column-views/:id.
type ColumnViewBody struct {
	Name string `json:"name"`
	// Columns are keys of ColumnKeys in the order to show them, each once.
	Columns []string `json:"columns"`
	Default bool     `json:"default,omitempty"`
}

// ColumnView is a staff user's saved choice and order of the job list's columns.
type ColumnView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Columns   []string  `json:"columns"`
	Default   bool      `json:"default"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ColumnViewList answers GET /column-views: the caller's column views by name.
type ColumnViewList struct {
	ColumnViews []ColumnView `json:"column_views"`
}

// staffRoutes registers the staff side's own routes. staff is the group of the job
// routes (staff and integrations).
func (s *server) staffRoutes(dealer, staff *gin.RouterGroup) {
	// Reopening and moving a job to another definition change what the job is; the
	// product leaves them to owners and admins.
	owners := staff.Group("", auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin))
	// Reopen starts a workflow run rather than updating one, so its answer is stored
	// by the key; migrate is a workflow update, which uses the key as update ID.
	owners.POST("/jobs/:number/reopen", s.idempotent, s.reopen)
	owners.POST("/jobs/:number/migrate", s.requireIdempotencyKey, s.migrate)

	// Saved views belong to one staff user; integrations have none.
	views := dealer.Group("", auth.RequireStaff())
	views.GET("/saved-filters", s.listSavedFilters)
	views.POST("/saved-filters", s.idempotent, s.createSavedFilter)
	views.PUT("/saved-filters/:id", s.idempotent, s.replaceSavedFilter)
	views.DELETE("/saved-filters/:id", s.idempotent, s.deleteSavedFilter)
	views.GET("/column-views", s.listColumnViews)
	views.POST("/column-views", s.idempotent, s.createColumnView)
	views.PUT("/column-views/:id", s.idempotent, s.replaceColumnView)
	views.DELETE("/column-views/:id", s.idempotent, s.deleteColumnView)
}

// --- the job list ---

// parseListSearch reads the list's free text and sort into f and names what is wrong
// with them; one reads a parameter given at most once.
func parseListSearch(f *store.JobFilter, one func(string) string) []job.FieldError {
	var fields []job.FieldError
	f.Query = one("q")
	switch {
	case len(f.Query) > store.MaxQueryLen:
		fields = append(fields, field("q", "too_long", "max", strconv.Itoa(store.MaxQueryLen)))
	case len(store.SearchTerms(f.Query)) > store.MaxQueryTerms:
		fields = append(fields, field("q", "too_many_terms", "max", strconv.Itoa(store.MaxQueryTerms)))
	}
	f.Sort = store.JobSort(one("sort"))
	if f.Sort != "" && !f.Sort.Valid() {
		known := make([]string, len(store.JobSorts))
		for i, s := range store.JobSorts {
			known[i] = string(s)
		}
		fields = append(fields, field("sort", "unknown_sort", "sort", string(f.Sort), "known", strings.Join(known, ", ")))
	}
	return fields
}

// listProblem is the answer to a list the store refused for its cursor.
func listProblem(err error, f store.JobFilter) (Problem, bool) {
	sort := f.Sort
	if sort == "" {
		sort = store.SortUpdated
	}
	switch {
	case errors.Is(err, store.ErrCursorSort):
		return problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid",
			field("cursor", "cursor_other_sort", "sort", string(sort))), true
	case errors.Is(err, store.ErrInvalidCursor):
		return problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid",
			field("cursor", "invalid_cursor")), true
	}
	return Problem{}, false
}

// --- the job detail ---

// staffDetail adds to a job's detail what staff see beside row, view and history: every
// phase of the job's definition with its state, and the job's documents and
// attachments.
func (s *server) staffDetail(c *gin.Context, d *JobDetail) error {
	ctx := c.Request.Context()
	d.Phases = []JobPhase{}
	v, err := s.store.PinnedDefinition(ctx, d.Job.Dealer, d.Job.Definition)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The job pins a version the dealer does not have: the page still shows the
		// rest, and the log says what is wrong.
		_ = c.Error(fmt.Errorf("job %s pins %s, which is not published: %w", job.WorkflowID(d.Job.Dealer, d.Job.Number), d.Job.Definition, err))
	case err != nil:
		return err
	default:
		d.Phases = jobPhases(&v.Definition, d.Job, d.History, d.View)
	}
	docs, err := s.store.ListDocuments(ctx, d.Job.Dealer, d.Job.Number)
	if err != nil {
		return err
	}
	d.Documents, d.Attachments = []JobFile{}, []JobFile{}
	for _, doc := range docs {
		f := JobFile{
			ID: doc.ID, Field: doc.Field, Version: doc.Version, Kind: doc.Kind, Superseded: doc.Superseded(),
			Phase: doc.Phase, Filename: doc.Filename, ContentType: doc.ContentType, Size: doc.Size, CreatedAt: doc.CreatedAt,
		}
		// Rendered PDFs are the job's documents; what came from outside (uploads, files
		// sent by e-mail) are its attachments.
		if doc.Kind == store.DocumentRendered {
			d.Documents = append(d.Documents, f)
		} else {
			d.Attachments = append(d.Attachments, f)
		}
	}
	return nil
}

// jobPhases gives every phase of def its state for the job. The live view, when there
// is one, is newer than row and history, so it names the current phase; a phase's last
// activation or skip in the history says whether it was done or skipped.
func jobPhases(def *definitions.Definition, row job.Row, history []job.AuditEntry, view *job.View) []JobPhase {
	current := row.Phase
	reachable := map[string]bool{}
	if view != nil {
		current = view.Phase.Key
		if !view.Status.Ended() {
			for _, p := range view.Reachable {
				reachable[p.Key] = true
			}
		}
	}
	ended := row.Status.Ended() || (view != nil && view.Status.Ended())
	passed := map[string]string{}
	for _, h := range history {
		if h.Action == job.ActionActivate || h.Action == job.ActionSkip {
			passed[h.Phase] = h.Action
		}
	}
	at := def.PhaseIndex(current)
	out := make([]JobPhase, len(def.Phases))
	for i, p := range def.Phases {
		var st PhaseState
		switch {
		case p.Key == current:
			st = PhaseCurrent
		case reachable[p.Key]:
			// Before done: a follow-up may lead back to a phase the job was in.
			st = PhaseReachable
		case passed[p.Key] == job.ActionActivate:
			st = PhaseDone
		case passed[p.Key] == job.ActionSkip:
			st = PhaseSkipped
		case view == nil && !ended && i > at:
			st = PhaseUpcoming
		default:
			st = PhaseNotApplicable
		}
		out[i] = JobPhase{Key: p.Key, Name: p.Name, State: st}
	}
	return out
}

// --- actions ---

// checkSoldOn refuses setting a job to sold without a sale date when the dealer makes
// the date mandatory; the workflow checks the date's format.
func (s *server) checkSoldOn(c *gin.Context, b StatusBody) bool {
	if b.Status != job.StatusSold || b.SoldOn != "" {
		return true
	}
	dealer, err := s.store.GetDealer(c.Request.Context(), c.Param("dealer"))
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", c.Param("dealer")))
		return false
	}
	if err != nil {
		internal(c, err)
		return false
	}
	if dealer.Flag(store.SettingSoldOnRequired) {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "sold_on_missing", field("sold_on", "required")))
		return false
	}
	return true
}

// reopenPoll is how often a reopen looks for the new run's first projection.
const reopenPoll = 20 * time.Millisecond

// reopen opens a closed or canceled job again: a new run of its workflow, with the same
// workflow ID, starts from the state the read model keeps (store.JobState), so a job
// can be reopened long after Temporal has forgotten its last run. The answer is the
// new run's first state, once it is projected.
//
// A job that is not closed or canceled answers 409. When the new run is not projected
// within the update timeout (no worker), the answer is 503: the job is reopened and
// shows open once a worker runs; a repeat with the same key meanwhile waits for that
// projection again.
func (s *server) reopen(c *gin.Context) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	notEnded := func(status job.Status) {
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "job_not_ended",
			field("status", "job_not_ended", "status", string(status))).with("status", string(status)))
	}
	ctx := c.Request.Context()
	key := "reopen/" + idempotencyKey(c)
	if !row.Status.Ended() {
		// A retry of the reopen that opened the job (its first attempt answered 503
		// before the new run was projected) gets the answer it would have got.
		if s.reopenedBy(ctx, row, key) {
			c.JSON(http.StatusOK, job.Result{Seq: row.Seq, Phase: row.Phase, Status: row.Status, Turn: row.Turn})
			return
		}
		notEnded(row.Status)
		return
	}
	raw, err := s.store.JobState(ctx, row.Dealer, row.Number)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "job_without_state").with("number", strconv.FormatInt(row.Number, 10)))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	var st workflows.State
	if err := json.Unmarshal(raw, &st); err != nil {
		internal(c, fmt.Errorf("decode state of job %s: %w", job.WorkflowID(row.Dealer, row.Number), err))
		return
	}
	if !st.Status.Ended() {
		notEnded(st.Status)
		return
	}
	in, vehicleNumber, err := s.reopenInput(ctx, row, &st, auth.From(c).Actor())
	if err != nil {
		internal(c, err)
		return
	}
	in.RequestKey = key
	err = s.startReopened(ctx, in, vehicleNumber)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) && s.awaitClosingRun(ctx, job.WorkflowID(row.Dealer, row.Number), row.UpdatedAt) {
		err = s.startReopened(ctx, in, vehicleNumber)
	}
	switch {
	case errors.As(err, &started):
		// A run is going although the read model still says the job ended: a first
		// attempt of this request, or someone else, has reopened it. Its projection
		// answers this request as well.
	case err != nil && unavailable(err):
		_ = c.Error(err)
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "start_unavailable").with("header", HeaderIdempotencyKey))
		return
	case err != nil:
		internal(c, err)
		return
	}
	res, err := s.awaitProjection(ctx, row.Dealer, row.Number, st.Seq)
	if err != nil {
		_ = c.Error(err)
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "reopen_pending").
			with("timeout", s.timeout.String(), "header", HeaderIdempotencyKey))
		return
	}
	c.JSON(http.StatusOK, res)
}

// reopenedBy reports whether the job's last reopen came from the request with key.
func (s *server) reopenedBy(ctx context.Context, row job.Row, key string) bool {
	history, err := s.store.Audit(ctx, row.Dealer, row.Number)
	if err != nil {
		return false
	}
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Action == job.ActionReopened {
			return history[i].After["request_key"] == key
		}
	}
	return false
}

// reopenInput is the start input of a reopened job's new run: the projected state to
// go on from, and around it what the first run started with, as the read model and
// the store know it now (the pinned definition, the vehicle, source, customer).
func (s *server) reopenInput(ctx context.Context, row job.Row, st *workflows.State, actor job.Actor) (workflows.StartInput, string, error) {
	id := job.WorkflowID(row.Dealer, row.Number)
	v, err := s.store.PinnedDefinition(ctx, row.Dealer, row.Definition)
	if err != nil {
		return workflows.StartInput{}, "", fmt.Errorf("reopen %s: definition %s: %w", id, row.Definition, err)
	}
	if v.Hash != row.Definition.Hash {
		return workflows.StartInput{}, "", fmt.Errorf("reopen %s: it pins %s with hash %s, the store has hash %s", id, row.Definition, row.Definition.Hash, v.Hash)
	}
	vehicle, err := s.store.GetVehicle(ctx, row.Dealer, row.VehicleID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The job keeps its vehicle's ID; extras and number are gone with the vehicle.
		vehicle = job.Vehicle{ID: row.VehicleID}
	case err != nil:
		return workflows.StartInput{}, "", fmt.Errorf("reopen %s: %w", id, err)
	}
	return workflows.StartInput{
		Dealer: row.Dealer, Number: row.Number, Ref: row.Definition, Definition: v.Definition, Source: row.Source,
		Vehicle: vehicle, CustomerID: row.CustomerID, Salesperson: st.Salesperson, Actor: actor,
		Carry: st, Reopen: true,
	}, vehicle.Number, nil
}

// startReopened starts the new run. FAIL refuses a start while a run goes, so a job is
// never reopened into a second concurrent run; ALLOW_DUPLICATE lets the ID start again
// after the ended run.
func (s *server) startReopened(ctx context.Context, in workflows.StartInput, vehicleNumber string) error {
	id := job.WorkflowID(in.Dealer, in.Number)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	attrs, _, err := workflows.StartAttributes(in)
	if err != nil {
		return fmt.Errorf("reopen %s: %w", id, err)
	}
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.taskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    attrs,
		StaticSummary:                            fmt.Sprintf("Job %d · vehicle %s · %s · reopened", in.Number, vehicleNumber, in.Ref),
		StaticDetails: fmt.Sprintf("dealer: %s\n\nsource: %s\n\ndefinition: %s (hash %.12s)\n\nreopened from history #%d",
			in.Dealer, in.Source, in.Ref, in.Ref.Hash, in.Carry.Seq),
	}
	if _, err := s.temporal.ExecuteWorkflow(ctx, opts, job.WorkflowType, in); err != nil {
		return fmt.Errorf("reopen %s: %w", id, err)
	}
	return nil
}

// awaitClosingRun reports, for a job whose start was refused because a run goes,
// whether that run is the one that closed the job (it started before the job closed
// at closedAt), still finishing right after the request that closed the job answered;
// it then waits a moment for the run to end. A run started after that is a reopen.
func (s *server) awaitClosingRun(ctx context.Context, id string, closedAt time.Time) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	desc, err := s.temporal.DescribeWorkflow(ctx, id, "")
	if err != nil || desc.WorkflowStartTime.After(closedAt) {
		return false
	}
	var final job.Final
	err = s.temporal.GetWorkflow(ctx, id, desc.WorkflowExecution.RunID).Get(ctx, &final)
	return err == nil
}

// awaitProjection waits until the job's row is newer than seq and returns its state.
func (s *server) awaitProjection(ctx context.Context, dealer string, number, seq int64) (job.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tick := time.NewTicker(reopenPoll)
	defer tick.Stop()
	for {
		row, err := s.store.GetJob(ctx, dealer, number)
		if err == nil && row.Seq > seq {
			return job.Result{Seq: row.Seq, Phase: row.Phase, Status: row.Status, Turn: row.Turn}, nil
		}
		select {
		case <-ctx.Done():
			return job.Result{}, fmt.Errorf("job %s not projected after history #%d within %s: %w", job.WorkflowID(dealer, number), seq, s.timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// migrate moves the job to a newer published version of its workflow. The workflow
// checks the move (same workflow, newer, hash, current phase present) and records it;
// its problems with the version's reference and definition are problems of the
// request's version.
func (s *server) migrate(c *gin.Context) {
	var b MigrateBody
	if !decodeJSON(c, &b) {
		return
	}
	if b.Version < 1 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "migrate_invalid", field("version", "not_positive")))
		return
	}
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	v, err := s.store.PublishedVersion(c.Request.Context(), row.Dealer, row.Definition.Workflow, b.Version)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "migrate_invalid",
			field("version", "no_published_version", "workflow", row.Definition.Workflow, "version", strconv.Itoa(b.Version))))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.Set(ctxFieldAliases, map[string]string{"ref.workflow": "version", "ref.version": "version", "ref.hash": "version", "definition": "version"})
	ref := definitions.Ref{Workflow: v.Workflow, Version: v.Number, Hash: v.Hash}
	s.runUpdate(c, job.UpdateMigrate, func(key string, a job.Actor) any {
		return job.MigrateRequest{RequestKey: key, Actor: a, Ref: ref, Definition: v.Definition}
	})
}

// ctxFieldAliases holds, for a route whose update carries more than its body (migrate
// names a version; its update carries the version's reference and definition), the
// body's field for each field of the update, so a rejection names what the client sent.
const ctxFieldAliases = "jobmanager.field_aliases"

// withFieldAliases renames p's fields by the route's aliases.
func withFieldAliases(c *gin.Context, p Problem) Problem {
	aliases, _ := c.Value(ctxFieldAliases).(map[string]string)
	if len(aliases) == 0 || len(p.Errors) == 0 {
		return p
	}
	errs := make([]job.FieldError, len(p.Errors))
	for i, f := range p.Errors {
		if alias, ok := aliases[f.Field]; ok {
			f.Field = alias
		}
		errs[i] = f
	}
	p.Errors = errs
	return p
}

// --- saved filters and column views ---

func (s *server) listSavedFilters(c *gin.Context) {
	views, ok := s.listViews(c, store.ViewFilter)
	if !ok {
		return
	}
	out := SavedFilterList{SavedFilters: make([]SavedFilter, len(views))}
	for i, v := range views {
		out.SavedFilters[i] = savedFilter(v)
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) createSavedFilter(c *gin.Context) {
	if v, ok := savedFilterBody(c); ok {
		s.writeView(c, "", v, func(v store.StaffView) any { return savedFilter(v) })
	}
}

func (s *server) replaceSavedFilter(c *gin.Context) {
	if v, ok := savedFilterBody(c); ok {
		s.writeView(c, c.Param("id"), v, func(v store.StaffView) any { return savedFilter(v) })
	}
}

func (s *server) deleteSavedFilter(c *gin.Context) { s.deleteView(c, store.ViewFilter) }

func (s *server) listColumnViews(c *gin.Context) {
	views, ok := s.listViews(c, store.ViewColumns)
	if !ok {
		return
	}
	out := ColumnViewList{ColumnViews: make([]ColumnView, len(views))}
	for i, v := range views {
		out.ColumnViews[i] = columnView(v)
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) createColumnView(c *gin.Context) {
	if v, ok := columnViewBody(c); ok {
		s.writeView(c, "", v, func(v store.StaffView) any { return columnView(v) })
	}
}

func (s *server) replaceColumnView(c *gin.Context) {
	if v, ok := columnViewBody(c); ok {
		s.writeView(c, c.Param("id"), v, func(v store.StaffView) any { return columnView(v) })
	}
}

func (s *server) deleteColumnView(c *gin.Context) { s.deleteView(c, store.ViewColumns) }

func savedFilter(v store.StaffView) SavedFilter {
	return SavedFilter{ID: v.ID, Name: v.Name, Query: v.Query, Default: v.Default, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

func columnView(v store.StaffView) ColumnView {
	return ColumnView{ID: v.ID, Name: v.Name, Columns: v.Columns, Default: v.Default, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

// savedFilterBody reads and checks a saved filter; its query is checked as the job
// list checks its parameters, and kept with its parameters sorted.
func savedFilterBody(c *gin.Context) (store.StaffView, bool) {
	var b SavedFilterBody
	if !decodeJSON(c, &b) {
		return store.StaffView{}, false
	}
	b.Name = strings.TrimSpace(b.Name)
	fields := checkFields(nameField("name", b.Name))
	query := ""
	if b.Query == nil {
		fields = append(fields, field("query", "required"))
	} else {
		query = *b.Query
	}
	values, err := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(query), "?"))
	if err != nil {
		fields = append(fields, field("query", "not_a_query", "error", err.Error()))
	} else {
		if values.Has("cursor") {
			fields = append(fields, field("query.cursor", "cursor_not_saved"))
			values.Del("cursor")
		}
		_, bad := parseJobFilter(values)
		for _, f := range bad {
			f.Field = "query." + f.Field
			fields = append(fields, f)
		}
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "saved_filter_invalid", fields...))
		return store.StaffView{}, false
	}
	return store.StaffView{Kind: store.ViewFilter, Name: b.Name, Query: values.Encode(), Default: b.Default}, true
}

// columnViewBody reads and checks a column view: known columns, each once.
func columnViewBody(c *gin.Context) (store.StaffView, bool) {
	var b ColumnViewBody
	if !decodeJSON(c, &b) {
		return store.StaffView{}, false
	}
	b.Name = strings.TrimSpace(b.Name)
	fields := checkFields(nameField("name", b.Name))
	if len(b.Columns) == 0 {
		fields = append(fields, field("columns", "required"))
	}
	for i, col := range b.Columns {
		name := fmt.Sprintf("columns[%d]", i)
		switch {
		case !slices.Contains(ColumnKeys, col):
			fields = append(fields, field(name, "unknown_column", "column", col, "known", strings.Join(ColumnKeys, ", ")))
		case slices.Index(b.Columns, col) < i:
			fields = append(fields, field(name, "duplicate_column", "column", col))
		}
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "column_view_invalid", fields...))
		return store.StaffView{}, false
	}
	return store.StaffView{Kind: store.ViewColumns, Name: b.Name, Columns: b.Columns, Default: b.Default}, true
}

func (s *server) listViews(c *gin.Context, kind store.ViewKind) ([]store.StaffView, bool) {
	p := auth.From(c)
	views, err := s.store.ListStaffViews(c.Request.Context(), p.Dealer, p.StaffID, kind)
	if err != nil {
		internal(c, err)
		return nil, false
	}
	return views, true
}

// writeView creates the caller's view (id empty, 201) or replaces the caller's view
// with the ID (200); another user's view does not exist for the caller (404).
func (s *server) writeView(c *gin.Context, id string, v store.StaffView, answer func(store.StaffView) any) {
	p := auth.From(c)
	ctx := c.Request.Context()
	var out store.StaffView
	var err error
	status := http.StatusCreated
	if id == "" {
		out, err = s.store.CreateStaffView(ctx, p.Dealer, p.StaffID, v)
	} else {
		status = http.StatusOK
		out, err = s.store.ReplaceStaffView(ctx, p.Dealer, p.StaffID, id, v)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, viewNotFound(v.Kind, id))
	case errors.Is(err, store.ErrConflict):
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "view_name_taken", field("name", "name_taken", "name", v.Name)))
	case err != nil:
		internal(c, err)
	default:
		c.JSON(status, answer(out))
	}
}

func (s *server) deleteView(c *gin.Context, kind store.ViewKind) {
	p := auth.From(c)
	err := s.store.DeleteStaffView(c.Request.Context(), p.Dealer, p.StaffID, c.Param("id"), kind)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, viewNotFound(kind, c.Param("id")))
	case err != nil:
		internal(c, err)
	default:
		c.Status(http.StatusNoContent)
	}
}

func viewNotFound(kind store.ViewKind, id string) Problem {
	if kind == store.ViewColumns {
		return problem(http.StatusNotFound, ProblemNotFound, "no_column_view").with("id", id)
	}
	return problem(http.StatusNotFound, ProblemNotFound, "no_saved_filter").with("id", id)
}
