package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
)

// changeSideEffects: phase activations send their messages and create payment orders,
// and unsettled orders are polled. Runs that started before replay without them.
const changeSideEffects = "side-effects"

// Payment polling backs off from the first delay to the last, for jobs whose webhook
// never comes.
const (
	pollFirst = 2 * time.Minute
	pollLast  = time.Hour
)

// effectOptions retry side effects for as long as a job may wait; a permanent refusal
// (the activities' own non-retryable error types) ends at once and is recorded.
func effectOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 7 * 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{messages.ErrTypeInvalidRequest, bezahl.ErrTypeInvalidRequest, documents.ErrTypeJobNotFound},
		},
		Summary: summary,
	})
}

// runEffects starts the side effects of activations the last change made. They run
// beside the handlers, so an update answers once its change is projected, not once
// every e-mail is out; the run waits for them before it ends or continues as new.
func (r *jobRun) runEffects(ctx workflow.Context) {
	acts := r.e.activations
	r.e.activations = nil
	if !r.effects {
		return
	}
	for _, a := range acts {
		r.busy++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { r.busy-- }()
			r.activationEffects(ctx, a)
		})
	}
}

// activationEffects creates the phase's payment order (so messages can carry its link)
// and then sends the phase's messages, recording each outcome in the history.
func (r *jobRun) activationEffects(ctx workflow.Context, a activation) {
	if r.e.paymentPhase(a.Phase) && r.e.st.Payment == nil {
		var order bezahl.PaymentOrder
		err := workflow.ExecuteActivity(effectOptions(ctx, "create payment order"), bezahl.ActivityCreateOrder,
			bezahl.PaymentRequest{Dealer: r.e.in.Dealer, Number: r.e.in.Number, Phase: a.Phase, At: workflow.Now(ctx)}).Get(ctx, &order)
		if err != nil {
			r.e.effectFailed(workflow.Now(ctx), "payment_order", a.Phase, err)
		} else {
			r.e.paymentOrder(workflow.Now(ctx), a.Phase, order)
			r.startPolling(ctx)
		}
		r.commitLogged(ctx)
	}
	if len(a.Messages) == 0 {
		return
	}
	var templates []definitions.MessageTemplate
	for _, k := range a.Messages {
		if m, ok := r.e.def.Message(k); ok {
			templates = append(templates, m)
		}
	}
	name := a.Phase
	if p := r.e.phase(a.Phase); p != nil {
		name = p.Name
	}
	var outcomes []messages.Outcome
	err := workflow.ExecuteActivity(effectOptions(ctx, "prepare messages"), messages.ActivityPrepare, messages.PrepareRequest{
		Dealer: r.e.in.Dealer, Number: r.e.in.Number, ActivationSeq: a.Seq, Phase: a.Phase, PhaseName: name,
		Templates: templates, Status: r.e.st.Status, Suppressed: r.e.suppressed(), NoCustomerEmails: r.e.def.Workflow.NoCustomerEmails,
	}).Get(ctx, &outcomes)
	if err != nil {
		r.e.effectFailed(workflow.Now(ctx), "messages", a.Phase, err)
		r.commitLogged(ctx)
		return
	}
	for _, o := range outcomes {
		if o.Pending() {
			var sent messages.Outcome
			if err := workflow.ExecuteActivity(effectOptions(ctx, "send "+o.Key.Template), messages.ActivitySend, o.Key).Get(ctx, &sent); err != nil {
				o.Status, o.Reason = store.OutboxFailed, err.Error()
			} else {
				o = sent
			}
		}
		r.e.messageOutcome(workflow.Now(ctx), a.Phase, o)
	}
	r.commitLogged(ctx)
}

// commitLogged commits from a side effect, where no caller waits for an error.
func (r *jobRun) commitLogged(ctx workflow.Context) {
	if err := r.commit(ctx); err != nil {
		workflow.GetLogger(ctx).Error("projection after a side effect failed", "error", err)
	}
}

// startPolling asks the provider for the order's state on a backing-off timer until it
// is settled or the job ends: the webhook is the fast way, this is the sure one.
func (r *jobRun) startPolling(ctx workflow.Context) {
	if r.polling || r.e.st.Payment == nil || r.e.st.Payment.Settled() {
		return
	}
	r.polling = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { r.polling = false }()
		done := func() bool { return r.e.st.Status.Ended() || r.e.st.Payment.Settled() }
		for delay := pollFirst; !done(); delay = min(2*delay, pollLast) {
			if woke, err := workflow.AwaitWithTimeout(ctx, delay, done); err != nil || woke {
				return
			}
			var order bezahl.PaymentOrder
			err := workflow.ExecuteActivity(effectOptions(ctx, "poll payment order"), bezahl.ActivityGetOrder, r.e.st.Payment.Key).Get(ctx, &order)
			if err != nil {
				workflow.GetLogger(ctx).Warn("payment order not read", "error", err)
				continue
			}
			pay := r.e.st.Payment
			if order.PaidCents == pay.PaidCents && order.Status == pay.Status {
				continue
			}
			key := fmt.Sprintf("poll:%s:%d:%s", order.OrderID, order.PaidCents, order.Status)
			r.e.payment(workflow.Now(ctx), job.PaymentReceived{
				Key: key, AmountCents: order.PaidCents - pay.PaidCents, Reference: order.OrderID,
				PaidCents: order.PaidCents, RemainingCents: order.RemainingCents, Status: order.Status,
			})
			r.e.st.remember("payment:"+key, r.e.st.result())
			r.commitLogged(ctx)
		}
	})
}

// paymentPhase reports whether the phase shows a payment field to someone.
func (e *engine) paymentPhase(phase string) bool {
	p := e.phase(phase)
	if p == nil {
		return false
	}
	for _, u := range slices.Concat(p.StaffFields, p.CustomerFields) {
		if f, ok := e.def.Field(u.Field); ok && f.Type == definitions.TypePayment {
			return true
		}
	}
	return false
}

func (e *engine) paymentOrder(now time.Time, phase string, o bezahl.PaymentOrder) {
	e.st.Payment = &Payment{
		Key: o.Key, OrderID: o.OrderID, Phase: phase, Link: o.Link, Status: o.Status,
		PriceCents: o.PriceCents, PaidCents: o.PaidCents, RemainingCents: o.RemainingCents,
	}
	e.setPaymentValues(o.Status)
	e.record(now, job.Actor{Side: "provider", ID: "payment"}, job.ActionPaymentOrder, phase, nil, map[string]any{
		"order_id": o.OrderID, "status": o.Status, "price_cents": o.PriceCents, "remaining_cents": o.RemainingCents,
	})
}

func (e *engine) messageOutcome(now time.Time, phase string, o messages.Outcome) {
	after := map[string]any{"template": o.Key.Template, "channel": o.Channel, "status": o.Status, "attempts": o.Attempts}
	if o.Reason != "" {
		after["reason"] = o.Reason
	}
	e.record(now, job.Actor{Side: "system", ID: "messages"}, job.ActionMessage, phase, nil, after)
}

func (e *engine) effectFailed(now time.Time, effect, phase string, err error) {
	e.record(now, job.Actor{Side: "system", ID: effect}, job.ActionEffectFailed, phase, nil, map[string]any{"effect": effect, "reason": err.Error()})
}

// planGenerate checks a document request: a document store field of the current
// phase's staff view and one of its templates.
func (e *engine) planGenerate(req job.GenerateDocumentRequest) (definitions.Field, string, error) {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return definitions.Field{}, "", err
	}
	if err := e.checkActive(); err != nil {
		return definitions.Field{}, "", err
	}
	bad := func(field, code, reason string, params ...string) error {
		return reject(job.CodeInvalid, "document_invalid", "cannot make that document").WithFields(job.NewFieldError(field, code, reason, params...))
	}
	use := e.currentUse(job.Staff, req.Field)
	f, ok := e.def.Field(req.Field)
	switch {
	case use == nil || !ok:
		return f, "", bad("field", "not_in_view", fmt.Sprintf("not a field of the staff view of phase %q", e.st.Phase), "side", string(job.Staff), "phase", e.st.Phase)
	case f.Type != definitions.TypeDocumentStore:
		return f, "", bad("field", "not_document", fmt.Sprintf("a %s field stores no document", f.Type), "type", string(f.Type))
	case use.ReadOnly:
		return f, "", bad("field", "read_only", "is read-only")
	}
	template := req.Template
	if template == "" && len(f.Templates) > 0 {
		template = f.Templates[0]
	}
	if !slices.Contains(f.Templates, template) {
		return f, "", bad("template", "not_offered", fmt.Sprintf("the field does not offer template %q", template), "template", template)
	}
	return f, template, nil
}

// chosenExtras are the extras picked in the job's vehicle configurations.
func (e *engine) chosenExtras() []string {
	var out []string
	for _, f := range e.def.Fields {
		if f.Type != definitions.TypeVehicleConfig {
			continue
		}
		if list, ok := e.st.Values[f.Key].([]any); ok {
			for _, x := range list {
				if s, ok := x.(string); ok && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func (e *engine) documentStored(now time.Time, actor job.Actor, field, template string, ref documents.DocumentRef) {
	e.st.Values[field] = map[string]any{"document_id": ref.ID, "version": float64(ref.Version), "filename": ref.Filename}
	e.record(now, actor, job.ActionDocument, e.st.Phase, nil, map[string]any{
		"field": field, "template": template, "document_id": ref.ID, "version": ref.Version, "filename": ref.Filename,
	})
}

// registerDocuments installs the generate-document update: the caller waits for the
// rendered, stored version, so it is an update whose handler runs the activity.
func (r *jobRun) registerDocuments(ctx workflow.Context) error {
	type rendered struct {
		Template string
		Ref      documents.DocumentRef
	}
	return setActivityUpdate(ctx, r, job.UpdateGenerateDocument,
		func(q job.GenerateDocumentRequest) string { return q.RequestKey },
		func(q job.GenerateDocumentRequest) error { _, _, err := r.e.planGenerate(q); return err },
		func(ctx workflow.Context, q job.GenerateDocumentRequest) (rendered, error) {
			f, template, err := r.e.planGenerate(q)
			if err != nil {
				return rendered{}, err
			}
			out := rendered{Template: template}
			err = workflow.ExecuteActivity(effectOptions(ctx, "render "+template), documents.ActivityRenderAndStore, documents.DocumentRequest{
				Dealer: r.e.in.Dealer, Number: r.e.in.Number, Field: f.Key, Template: template, Phase: r.e.st.Phase,
				RequestKey: q.RequestKey, Extras: r.e.chosenExtras(), Actor: q.Actor, At: workflow.Now(ctx),
			}).Get(ctx, &out.Ref)
			return out, err
		},
		func(now time.Time, q job.GenerateDocumentRequest, out rendered) {
			r.e.documentStored(now, q.Actor, q.Field, out.Template, out.Ref)
		})
}

// documentReceived files a document that came back by e-mail under the current phase,
// with the mail's subject as the remark.
func (e *engine) documentReceived(now time.Time, d job.DocumentReceived) {
	e.record(now, d.From, job.ActionDocumentReceived, e.st.Phase, nil, map[string]any{
		"document_id": d.DocumentID, "filename": d.Filename, "remark": d.Remark,
	})
}

func (e *engine) planRecordMessage(req job.RecordMessageRequest) error {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return err
	}
	if req.Template == "" || req.Status == "" {
		return reject(job.CodeInvalid, "message_key_invalid", "a message outcome needs template and status").WithFields(job.NewFieldError("template", "required", "is required"))
	}
	return nil
}

// recordMessage writes the outcome of a message staff sent again, as the first attempt
// wrote its own, marked as a retry and with who asked for it.
func (e *engine) recordMessage(now time.Time, req job.RecordMessageRequest) error {
	if err := e.planRecordMessage(req); err != nil {
		return err
	}
	after := map[string]any{"template": req.Template, "channel": req.Channel, "status": req.Status,
		"attempts": req.Attempts, "retried": true, "activation_seq": req.ActivationSeq}
	if req.Reason != "" {
		after["reason"] = req.Reason
	}
	e.record(now, req.Actor, job.ActionMessage, e.st.Phase, nil, after)
	return nil
}
