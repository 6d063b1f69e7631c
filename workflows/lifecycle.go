package workflows

import (
	"fmt"
	"time"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// ref is the definition version the job follows now.
func (e *engine) ref() definitions.Ref {
	if e.st != nil && e.st.Ref != nil {
		return *e.st.Ref
	}
	return e.in.Ref
}

// customer is the job's customer now and whether they are logged in.
func (e *engine) customer() (id string, loggedIn bool) {
	if e.st != nil && e.st.CustomerID != "" {
		return e.st.CustomerID, e.st.LoggedIn
	}
	return e.in.CustomerID, e.in.LoggedIn
}

func (e *engine) planLink(req job.LinkCustomerRequest) error {
	if err := checkActor(req.Actor, job.Staff, job.Customer); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	if req.CustomerID == "" {
		return reject(job.CodeInvalid, "customer_link_invalid", "no customer to link").WithFields(job.NewFieldError("customer_id", "required", "is required"))
	}
	if cur, _ := e.customer(); cur != "" && cur != req.CustomerID {
		return reject(job.CodeConflict, "link_conflict", "the job belongs to another customer").WithFields(job.NewFieldError("customer_id", "other_customer", "the job belongs to another customer"))
	}
	return nil
}

func (e *engine) link(now time.Time, req job.LinkCustomerRequest) error {
	if err := e.planLink(req); err != nil {
		return err
	}
	before, _ := e.customer()
	e.st.CustomerID, e.st.LoggedIn = req.CustomerID, req.LoggedIn
	e.record(now, req.Actor, job.ActionCustomerLinked, e.st.Phase,
		map[string]any{"customer_id": before}, map[string]any{"customer_id": req.CustomerID, "logged_in": req.LoggedIn})
	return nil
}

// planMigrate checks a move to another version: same workflow, a newer version whose
// hash matches its content, valid, and still holding the current phase.
func (e *engine) planMigrate(req job.MigrateRequest) error {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	cur := e.ref()
	bad := func(field, code, reason string, params ...string) error {
		return reject(job.CodeInvalid, "migrate_invalid", "cannot move the job to that version").WithFields(job.NewFieldError(field, code, reason, params...))
	}
	switch {
	case req.Ref.Workflow != cur.Workflow:
		return bad("ref.workflow", "other_workflow", fmt.Sprintf("the job follows workflow %q, not %q", cur.Workflow, req.Ref.Workflow),
			"current", cur.Workflow, "given", req.Ref.Workflow)
	case req.Ref.Version <= cur.Version:
		return bad("ref.version", "not_newer", fmt.Sprintf("version %d is not newer than the job's version %d", req.Ref.Version, cur.Version),
			"current", fmt.Sprint(cur.Version), "given", fmt.Sprint(req.Ref.Version))
	}
	if ps := req.Definition.Validate(); len(ps) > 0 {
		return bad("definition", "invalid_definition", ps.Error(), "error", ps.Error())
	}
	if h, err := req.Definition.Hash(); err != nil || h != req.Ref.Hash {
		return bad("ref.hash", "hash_mismatch", "the definition does not match the version's hash")
	}
	if req.Definition.PhaseIndex(e.st.Phase) < 0 {
		return bad("definition", "phase_missing", fmt.Sprintf("version %d has no phase %q, the job's current phase", req.Ref.Version, e.st.Phase),
			"version", fmt.Sprint(req.Ref.Version), "phase", e.st.Phase)
	}
	return nil
}

// migrate moves the job; values of fields the new version no longer has are dropped,
// and the history keeps them in the entry's before.
func (e *engine) migrate(now time.Time, req job.MigrateRequest) error {
	if err := e.planMigrate(req); err != nil {
		return err
	}
	before := map[string]any{"definition": e.ref().String()}
	dropped := map[string]any{}
	for _, k := range sortedKeys(e.st.Values) {
		if _, ok := req.Definition.Field(k); !ok {
			dropped[k] = e.st.Values[k]
			delete(e.st.Values, k)
		}
	}
	if len(dropped) > 0 {
		before["dropped_values"] = dropped
	}
	def, ref := req.Definition, req.Ref
	e.st.Definition, e.st.Ref = &def, &ref
	e.def = e.st.Definition
	e.record(now, req.Actor, job.ActionMigrated, e.st.Phase, before, map[string]any{"definition": ref.String()})
	return nil
}

// reopen opens a closed or canceled job again in a new run; it is the staff's turn.
func (e *engine) reopen(now time.Time, actor job.Actor) {
	before := map[string]any{"status": string(e.st.Status)}
	e.st.Status = job.StatusOpen
	e.st.Turn = definitions.TurnStaff
	after := map[string]any{"status": string(job.StatusOpen)}
	if e.in.RequestKey != "" {
		after["request_key"] = e.in.RequestKey
	}
	e.record(now, actor, job.ActionReopened, e.st.Phase, before, after)
}
