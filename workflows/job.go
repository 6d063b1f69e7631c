package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/job"
)

// Limits per run before the job continues as new, below Temporal's own limits so a run
// never gets close to them even when the server does not suggest it. Variables so a
// test can reach them quickly.
var (
	maxUpdatesPerRun = 2000
	maxSignalsPerRun = 10000
)

// Typed search attribute keys; see job.SearchAttributes.
var (
	attrDealer     = temporal.NewSearchAttributeKeyKeyword(job.AttrDealer)
	attrStatus     = temporal.NewSearchAttributeKeyKeyword(job.AttrStatus)
	attrPhase      = temporal.NewSearchAttributeKeyKeyword(job.AttrPhase)
	attrTurn       = temporal.NewSearchAttributeKeyKeyword(job.AttrTurn)
	attrDefinition = temporal.NewSearchAttributeKeyKeyword(job.AttrDefinition)
)

// attrValues are the job's search attribute values: dealer, definition, status,
// phase, turn.
type attrValues [5]string

var attrKeys = [5]temporal.SearchAttributeKeyKeyword{attrDealer, attrDefinition, attrStatus, attrPhase, attrTurn}

// attrs are the search attribute values the job's state calls for.
func (e *engine) attrs() attrValues {
	return attrValues{e.in.Dealer, e.ref().String(), string(e.st.Status), e.st.Phase, string(e.st.Turn)}
}

// StartAttributes are the search attributes to start a job with, so Temporal UI finds
// the job by phase and turn from its first moment, and the answer a start gives.
// (A run still upserts them once: skipping that would need a GetVersion, whose own
// TemporalChangeVersion upsert costs the same visibility write.)
func StartAttributes(in StartInput) (temporal.SearchAttributes, job.Result, error) {
	e := newEngine(in)
	if in.Carry == nil {
		if err := e.start(time.Time{}); err != nil {
			return temporal.SearchAttributes{}, job.Result{}, err
		}
	}
	want := e.attrs()
	updates := make([]temporal.SearchAttributeUpdate, len(attrKeys))
	for i, k := range attrKeys {
		updates[i] = k.ValueSet(want[i])
	}
	return temporal.NewSearchAttributes(updates...), e.st.result(), nil
}

// jobRun is one run of a JobWorkflow.
type jobRun struct {
	e       *engine
	mu      workflow.Mutex
	updates int
	signals int
	attrs   attrValues // as last upserted
	// effects is true for runs that run side effects (see changeSideEffects); busy
	// counts side effects in flight, polling says a payment poller runs.
	effects bool
	busy    int
	polling bool
}

// JobWorkflow is the long-lived workflow of one job. It interprets the definition
// snapshot in its input, answers updates (activate, submit, status, assign), the
// payment signal and the view query, projects every change into the read model, and
// ends when the job is closed or canceled.
func JobWorkflow(ctx workflow.Context, in StartInput) (job.Final, error) {
	r := &jobRun{e: newEngine(in), mu: workflow.NewMutex(ctx)}
	logger := workflow.GetLogger(ctx)
	switch {
	case in.Carry == nil:
		if err := r.e.start(workflow.Now(ctx)); err != nil {
			return job.Final{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadStart", err)
		}
	case in.Reopen:
		r.e.reopen(workflow.Now(ctx), in.Actor)
	}
	// A run continued from this one is not a reopen.
	r.e.in.Reopen, r.e.in.RequestKey = false, ""
	r.effects = workflow.GetVersion(ctx, changeSideEffects, workflow.DefaultVersion, 1) >= 1
	if err := r.register(ctx); err != nil {
		return job.Final{}, err
	}
	r.describe(ctx)
	if err := r.project(ctx); err != nil {
		return job.Final{}, err
	}
	r.runEffects(ctx)
	if r.effects {
		r.startPolling(ctx)
	}
	payments := workflow.GetSignalChannel(ctx, job.SignalPaymentReceived)
	received := workflow.GetSignalChannel(ctx, job.SignalDocumentReceived)
	for {
		err := workflow.Await(ctx, func() bool {
			return payments.Len() > 0 || received.Len() > 0 || r.e.st.Status.Ended() || r.shouldContinue(ctx)
		})
		if err != nil {
			return job.Final{}, fmt.Errorf("await job event: %w", err)
		}
		if err := r.drainPayments(ctx, payments); err != nil {
			return job.Final{}, err
		}
		if err := r.drainDocuments(ctx, received); err != nil {
			return job.Final{}, err
		}
		if !r.e.st.Status.Ended() && !r.shouldContinue(ctx) {
			continue
		}
		// Let running handlers finish, so no caller loses its answer, then take what
		// signals arrived meanwhile.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && r.busy == 0 }); err != nil {
			return job.Final{}, fmt.Errorf("await handlers: %w", err)
		}
		if err := r.drainPayments(ctx, payments); err != nil {
			return job.Final{}, err
		}
		if err := r.drainDocuments(ctx, received); err != nil {
			return job.Final{}, err
		}
		if r.e.st.Status.Ended() {
			logger.Info("job ended", "status", r.e.st.Status)
			return job.Final{Result: r.e.st.result(), Answers: r.e.st.Keys}, nil
		}
		next := r.e.in
		next.Carry = r.e.st
		logger.Info("job continues as new", "seq", r.e.st.Seq, "updates", r.updates, "signals", r.signals)
		return job.Final{}, workflow.NewContinueAsNewError(ctx, JobWorkflow, next)
	}
}

func (r *jobRun) shouldContinue(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || r.updates >= maxUpdatesPerRun || r.signals >= maxSignalsPerRun
}

// drain applies the signals waiting on ch. Each names itself by a key, which the job
// remembers across runs, so a signal delivered twice counts once; usable says whether
// a signal carries anything to apply.
func drain[T any](ctx workflow.Context, r *jobRun, ch workflow.ReceiveChannel, kind string,
	key func(T) string, usable func(T) bool, apply func(time.Time, T),
) error {
	for {
		var v T
		if !ch.ReceiveAsync(&v) {
			return nil
		}
		r.signals++
		k := kind + ":" + key(v)
		if _, done := r.e.st.processed(k); done || key(v) == "" || !usable(v) {
			workflow.GetLogger(ctx).Warn("signal ignored", "signal", kind, "key", key(v), "duplicate", done)
			continue
		}
		apply(workflow.Now(ctx), v)
		r.e.st.remember(k, r.e.st.result())
		if err := r.commit(ctx); err != nil {
			return err
		}
	}
}

// drainDocuments files documents that came back by e-mail; a closed job still
// records them, as its history is kept for good.
func (r *jobRun) drainDocuments(ctx workflow.Context, ch workflow.ReceiveChannel) error {
	return drain(ctx, r, ch, "document", func(d job.DocumentReceived) string { return d.Key },
		func(job.DocumentReceived) bool { return true }, r.e.documentReceived)
}

// drainPayments records payments; one without an amount carries nothing to record.
func (r *jobRun) drainPayments(ctx workflow.Context, ch workflow.ReceiveChannel) error {
	return drain(ctx, r, ch, "payment", func(p job.PaymentReceived) string { return p.Key },
		func(p job.PaymentReceived) bool { return p.AmountCents > 0 || p.PaidCents > 0 }, r.e.payment)
}

// register installs the update and query handlers. Interactive actions are updates,
// not signals, because the caller waits for the answer and a rejected request must
// leave no trace in history.
func (r *jobRun) register(ctx workflow.Context) error {
	if err := setUpdate(ctx, r, job.UpdateActivate,
		func(q job.ActivateRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		func(q job.ActivateRequest) error { _, _, err := r.e.planActivate(q); return err },
		r.e.activate); err != nil {
		return err
	}
	if err := setUpdate(ctx, r, job.UpdateSubmit,
		func(q job.SubmitRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		func(q job.SubmitRequest) error { _, err := r.e.planSubmit(q); return err },
		r.e.submit); err != nil {
		return err
	}
	if err := setUpdate(ctx, r, job.UpdateSetStatus,
		func(q job.StatusRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		r.e.planStatus, r.e.status); err != nil {
		return err
	}
	if err := setUpdate(ctx, r, job.UpdateRecordMessage,
		func(q job.RecordMessageRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		r.e.planRecordMessage, r.e.recordMessage); err != nil {
		return err
	}
	if err := setUpdate(ctx, r, job.UpdateLinkCustomer,
		func(q job.LinkCustomerRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		r.e.planLink, r.e.link); err != nil {
		return err
	}
	if err := setUpdate(ctx, r, job.UpdateMigrate,
		func(q job.MigrateRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		r.e.planMigrate, r.e.migrate); err != nil {
		return err
	}
	if err := setUpdate(ctx, r, job.UpdateAssign,
		func(q job.AssignRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		r.e.planAssign, r.e.assign); err != nil {
		return err
	}
	if err := r.registerDocuments(ctx); err != nil {
		return err
	}
	if err := r.registerUploads(ctx); err != nil {
		return err
	}
	if err := r.registerRecords(ctx); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, job.QueryView, func(q job.ViewRequest) (job.View, error) {
		return r.e.view(q.Side, q.Values)
	}); err != nil {
		return fmt.Errorf("register query %s: %w", job.QueryView, err)
	}
	return nil
}

// setUpdate registers one update: the validator refuses bad requests before they touch
// history; a request key seen before answers what it answered then and changes nothing.
func setUpdate[Q any](ctx workflow.Context, r *jobRun, name string,
	identify func(Q) (string, job.Actor), check func(Q) error, apply func(time.Time, Q) error,
) error {
	handler := func(ctx workflow.Context, q Q) (job.Result, error) {
		key, _ := identify(q)
		if res, done := r.e.st.processed(key); done {
			return res, nil
		}
		r.updates++
		if err := apply(workflow.Now(ctx), q); err != nil {
			return job.Result{}, asApplicationError(err)
		}
		res := r.e.st.result()
		r.e.st.remember(key, res)
		if err := r.commit(ctx); err != nil {
			return job.Result{}, err
		}
		return res, nil
	}
	validator := func(ctx workflow.Context, q Q) error {
		key, _ := identify(q)
		if _, done := r.e.st.processed(key); done {
			return nil
		}
		return asApplicationError(check(q))
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, name, handler, workflow.UpdateHandlerOptions{Validator: validator}); err != nil {
		return fmt.Errorf("register update %s: %w", name, err)
	}
	return nil
}

// asApplicationError turns a rejection into an application error whose details carry
// it, so the API can name the fields and reasons.
func asApplicationError(err error) error {
	if err == nil {
		return nil
	}
	var rej *job.Rejection
	if errors.As(err, &rej) {
		return temporal.NewApplicationErrorWithOptions(rej.Error(), job.RejectionErrorType,
			temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{*rej}})
	}
	return err
}

// commit makes a change visible: search attributes, UI details, and the read model.
func (r *jobRun) commit(ctx workflow.Context) error {
	r.describe(ctx)
	if err := r.project(ctx); err != nil {
		return err
	}
	r.runEffects(ctx)
	return nil
}

// describe keeps search attributes and the UI's current details in step with the
// state. Attributes are upserted only when they change, to keep history short.
func (r *jobRun) describe(ctx workflow.Context) {
	st := r.e.st
	// Only what changed goes to the server: smaller visibility writes, none when
	// nothing changed.
	want := r.e.attrs()
	var updates []temporal.SearchAttributeUpdate
	for i, k := range attrKeys {
		if want[i] != r.attrs[i] {
			updates = append(updates, k.ValueSet(want[i]))
		}
	}
	r.attrs = want
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Warn("search attributes not upserted", "error", err)
		}
	}
	name := st.Phase
	if p := r.e.phase(st.Phase); p != nil {
		name = p.Name
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s** · status %s · turn: %s · history #%d · definition %s",
		name, st.Status, st.Turn, st.Seq, r.e.ref()))
}

// project writes pending audit entries and the row through the projection activity.
// The mutex keeps writes in order when handlers interleave; the store also ignores an
// older row, so order is a courtesy to the audit, not a correctness need.
func (r *jobRun) project(ctx workflow.Context) error {
	if err := r.mu.Lock(ctx); err != nil {
		return fmt.Errorf("lock projection: %w", err)
	}
	defer r.mu.Unlock()
	if len(r.e.pending) == 0 {
		return nil
	}
	state, err := json.Marshal(r.e.st)
	if err != nil {
		return fmt.Errorf("encode state for projection: %w", err)
	}
	in := job.Projection{Row: r.e.row(workflow.Now(ctx)), Entries: r.e.pending, State: state}
	r.e.pending = nil
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 24 * time.Hour,
		StartToCloseTimeout:    10 * time.Second,
		Summary:                "project job into the read model",
	})
	if err := workflow.ExecuteLocalActivity(lctx, job.ActivityProject, in).Get(lctx, nil); err != nil {
		return fmt.Errorf("project job: %w", err)
	}
	return nil
}
