package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/activities"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
)

// setActivityUpdate registers an update whose handler runs an activity before it
// changes the job: the caller waits for the stored result. As with every update, the
// validator refuses bad requests before they touch history, and a request key seen
// before answers what it answered then.
func setActivityUpdate[Q, R any](ctx workflow.Context, r *jobRun, name string,
	key func(Q) string, check func(Q) error,
	act func(workflow.Context, Q) (R, error), apply func(time.Time, Q, R),
) error {
	handler := func(ctx workflow.Context, q Q) (job.Result, error) {
		if res, done := r.e.st.processed(key(q)); done {
			return res, nil
		}
		r.updates++
		if err := check(q); err != nil {
			return job.Result{}, asApplicationError(err)
		}
		out, err := act(ctx, q)
		if err != nil {
			return job.Result{}, fmt.Errorf("%s: %w", name, err)
		}
		apply(workflow.Now(ctx), q, out)
		res := r.e.st.result()
		r.e.st.remember(key(q), res)
		if err := r.commit(ctx); err != nil {
			return job.Result{}, err
		}
		return res, nil
	}
	validator := func(ctx workflow.Context, q Q) error {
		if _, done := r.e.st.processed(key(q)); done {
			return nil
		}
		return asApplicationError(check(q))
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, name, handler, workflow.UpdateHandlerOptions{Validator: validator}); err != nil {
		return fmt.Errorf("register update %s: %w", name, err)
	}
	return nil
}

// registerRecords installs the updates for invoice lines and the job's document texts.
func (r *jobRun) registerRecords(ctx workflow.Context) error {
	err := setActivityUpdate(ctx, r, job.UpdateSetInvoiceLines,
		func(q job.InvoiceLinesRequest) string { return q.RequestKey }, r.e.planInvoiceLines,
		func(ctx workflow.Context, q job.InvoiceLinesRequest) (struct{}, error) {
			in := activities.InvoiceLines{Dealer: r.e.in.Dealer, Number: r.e.in.Number, Lines: q.Lines}
			return struct{}{}, workflow.ExecuteActivity(effectOptions(ctx, "save invoice lines"), activities.ActivitySaveInvoiceLines, in).Get(ctx, nil)
		},
		func(now time.Time, q job.InvoiceLinesRequest, _ struct{}) { r.e.invoiceLines(now, q) })
	if err != nil {
		return err
	}
	return setActivityUpdate(ctx, r, job.UpdateSetDocumentTexts,
		func(q job.DocumentTextsRequest) string { return q.RequestKey }, r.e.planDocumentTexts,
		func(ctx workflow.Context, q job.DocumentTextsRequest) (struct{}, error) {
			in := activities.DocumentTexts{Dealer: r.e.in.Dealer, Number: r.e.in.Number, Template: q.Template, Texts: q.Texts, Actor: q.Actor}
			return struct{}{}, workflow.ExecuteActivity(effectOptions(ctx, "save document texts"), activities.ActivitySaveDocumentTexts, in).Get(ctx, nil)
		},
		func(now time.Time, q job.DocumentTextsRequest, _ struct{}) { r.e.documentTexts(now, q) })
}

func (e *engine) planInvoiceLines(req job.InvoiceLinesRequest) error {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	var fields []job.FieldError
	for i, l := range req.Lines {
		if err := l.Validate(); err != nil {
			fields = append(fields, job.NewFieldError(fmt.Sprintf("lines[%d]", i), "invalid_line", err.Error(), "error", err.Error()))
		}
	}
	if len(fields) > 0 {
		return reject(job.CodeInvalid, "invoice_lines_invalid", "the invoice lines are not valid").WithFields(fields...)
	}
	return nil
}

func (e *engine) invoiceLines(now time.Time, req job.InvoiceLinesRequest) {
	before, after := money.Sum(e.st.InvoiceLines), money.Sum(req.Lines)
	count := len(e.st.InvoiceLines)
	e.st.InvoiceLines = slices.Clone(req.Lines)
	e.record(now, req.Actor, job.ActionInvoiceLines, e.st.Phase,
		map[string]any{"lines": count, "gross_cents": before.GrossCents},
		map[string]any{"lines": req.Lines, "gross_cents": after.GrossCents, "net_cents": after.NetCents, "tax_cents": after.TaxCents})
}

func (e *engine) planDocumentTexts(req job.DocumentTextsRequest) error {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	if !slices.Contains(e.def.Documents, req.Template) {
		return reject(job.CodeInvalid, "document_texts_invalid", "unknown document template").WithFields(job.NewFieldError("template", "unknown_template", fmt.Sprintf("%q is not a document template of this job", req.Template), "template", req.Template))
	}
	return nil
}

func (e *engine) documentTexts(now time.Time, req job.DocumentTextsRequest) {
	after := map[string]any{"template": req.Template, "sections": sortedKeys(req.Texts)}
	e.record(now, req.Actor, job.ActionDocumentTexts, e.st.Phase, nil, after)
}
