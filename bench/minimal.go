package main

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/workflows"
)

// Names of the minimal workflow, kept apart from the job workflow's so both run on one
// server without sharing a task queue.
const (
	minimalWorkflowType = "BenchMinimalWorkflow"
	minimalTaskQueue    = "jobmanager-bench-minimal"
)

// minimalWorkflow is the floor the job workflow is measured against: the same messages
// with the same payloads (including the whole definition snapshot in its input), but no
// validators, no interpretation of the definition, no search attributes and no
// projection. Whatever the job workflow costs beyond this is the project's own code.
func minimalWorkflow(ctx workflow.Context, in workflows.StartInput) (job.Result, error) {
	res := job.Result{Status: job.StatusOpen}
	count := func() job.Result { res.Seq++; return res }
	handlers := map[string]any{
		job.UpdateActivate: func(ctx workflow.Context, q job.ActivateRequest) (job.Result, error) { return count(), nil },
		job.UpdateSubmit: func(ctx workflow.Context, q job.SubmitRequest) (job.Result, error) {
			res.Phase = q.Phase
			return count(), nil
		},
		job.UpdateAssign: func(ctx workflow.Context, q job.AssignRequest) (job.Result, error) { return count(), nil },
		job.UpdateSetStatus: func(ctx workflow.Context, q job.StatusRequest) (job.Result, error) {
			res.Status = q.Status
			return count(), nil
		},
	}
	// Registered in a fixed order: ranging over the map would be non-deterministic.
	for _, name := range []string{job.UpdateActivate, job.UpdateSubmit, job.UpdateAssign, job.UpdateSetStatus} {
		if err := workflow.SetUpdateHandler(ctx, name, handlers[name]); err != nil {
			return job.Result{}, fmt.Errorf("register %s: %w", name, err)
		}
	}
	payments := workflow.GetSignalChannel(ctx, job.SignalPaymentReceived)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p job.PaymentReceived
			if !payments.Receive(ctx, &p) {
				return
			}
			count()
		}
	})
	if err := workflow.Await(ctx, func() bool { return res.Status.Ended() }); err != nil {
		return job.Result{}, err
	}
	// Same ending as the job workflow: the closing update gets its answer before the
	// run completes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return job.Result{}, err
	}
	return res, nil
}
