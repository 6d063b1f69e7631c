package workers

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/activities"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workflows"
)

// Deps are what the activities need from the outside world.
type Deps struct {
	Store  *store.Store
	Logger *slog.Logger
	// Side effects. One left nil is registered as "not configured": its activity fails
	// at once and for good, so the job records the failure in its history (staff see
	// it) and goes on, instead of waiting for a worker that can send.
	Documents *documents.Service
	Messages  *messages.Service
	Payments  *bezahl.Activities
	// TaskQueue is the queue to serve; job.TaskQueue when empty. Tests give every
	// environment its own, so no worker writes into another test's database.
	TaskQueue string
}

// ErrTypeNotConfigured is the error type of a side effect this worker has no settings
// for.
const ErrTypeNotConfigured = "SideEffectNotConfigured"

func notConfigured[Q, R any](what string) func(context.Context, Q) (R, error) {
	return func(context.Context, Q) (R, error) {
		var zero R
		return zero, temporal.NewNonRetryableApplicationError(what+" is not configured on this worker", ErrTypeNotConfigured, nil)
	}
}

// Register registers the job workflow and its activities under their contract names.
func Register(r worker.Registry, deps Deps) {
	r.RegisterWorkflowWithOptions(workflows.JobWorkflow, workflow.RegisterOptions{Name: job.WorkflowType})
	projector := &activities.Projector{Store: deps.Store}
	r.RegisterActivityWithOptions(projector.ProjectJob, activity.RegisterOptions{Name: job.ActivityProject})
	register := func(fn any, name string) { r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	records := &activities.Records{Store: deps.Store}
	register(records.SaveInvoiceLines, activities.ActivitySaveInvoiceLines)
	register(records.SaveDocumentTexts, activities.ActivitySaveDocumentTexts)
	if d := deps.Documents; d != nil {
		register(d.RenderAndStore, documents.ActivityRenderAndStore)
	} else {
		register(notConfigured[documents.DocumentRequest, documents.DocumentRef]("document storage"), documents.ActivityRenderAndStore)
	}
	if m := deps.Messages; m != nil {
		register(m.PrepareMessages, messages.ActivityPrepare)
		register(m.SendMessage, messages.ActivitySend)
	} else {
		register(notConfigured[messages.PrepareRequest, []messages.Outcome]("sending messages"), messages.ActivityPrepare)
		register(notConfigured[store.OutboxKey, messages.Outcome]("sending messages"), messages.ActivitySend)
	}
	if p := deps.Payments; p != nil {
		register(p.CreatePaymentOrder, bezahl.ActivityCreateOrder)
		register(p.GetPaymentOrder, bezahl.ActivityGetOrder)
	} else {
		register(notConfigured[bezahl.PaymentRequest, bezahl.PaymentOrder]("bezahl.de"), bezahl.ActivityCreateOrder)
		register(notConfigured[string, bezahl.PaymentOrder]("bezahl.de"), bezahl.ActivityGetOrder)
	}
}

// Options are the worker options we run with. Logs carry the job: the SDK tags every
// workflow and activity log line with the workflow ID, which is job/<dealer>/<number>.
// Interceptors (tracing) and SDK metrics come from the client the worker is made from
// (temporalclient.Config), so API and worker cannot differ in them.
// Autoscaling pollers: with the SDK's
// fixed two workflow-task pollers, new jobs starve behind a sticky backlog under load.
func Options() worker.Options {
	return worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
		ActivityTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	}
}

// New creates a worker on the job task queue with everything registered.
func New(c client.Client, deps Deps) worker.Worker {
	w := worker.New(c, cmp.Or(deps.TaskQueue, job.TaskQueue), Options())
	Register(w, deps)
	return w
}

// Run runs a worker until ctx is done, then stops it gracefully: in-flight tasks
// finish, pollers stop.
func Run(ctx context.Context, c client.Client, deps Deps) error {
	w := New(c, deps)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", cmp.Or(deps.TaskQueue, job.TaskQueue), err)
	}
	if deps.Logger != nil {
		deps.Logger.Info("worker started", "task_queue", cmp.Or(deps.TaskQueue, job.TaskQueue))
	}
	<-ctx.Done()
	w.Stop()
	if deps.Logger != nil {
		deps.Logger.Info("worker stopped")
	}
	return nil
}
