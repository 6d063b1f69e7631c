package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/workflows"
)

// interactiveSteps is the number of messages one lifecycle sends after the start: ten
// updates and one signal.
const interactiveSteps = 11

// callTimeout bounds each client call; an update that no worker answers would otherwise
// wait for the SDK's default of a minute.
const callTimeout = 30 * time.Second

// subject is one workflow under test and where it runs.
type subject struct {
	name         string
	dealer       string
	workflowType string
	taskQueue    string
	// checkPhases makes the driver compare every answer's phase with the standard
	// workflow's expected walk; the minimal workflow does not interpret phases.
	checkPhases bool
}

// step is one interactive message of the lifecycle.
type step struct {
	name   string
	update string // empty for the payment signal
	arg    func(key string) any
	// wantPhase is the phase the answer must report; empty checks nothing.
	wantPhase  string
	wantStatus job.Status
}

var (
	staff    = job.Actor{Side: job.Staff, ID: "bench"}
	customer = job.Actor{Side: job.Customer, ID: "bench-customer"}
)

func activate(want string) step {
	return step{name: "activate " + want, update: job.UpdateActivate, wantPhase: want,
		arg: func(key string) any { return job.ActivateRequest{RequestKey: key, Actor: staff} }}
}

func submit(actor job.Actor, phase string, values map[string]any) step {
	return step{name: "submit " + phase, update: job.UpdateSubmit, wantPhase: phase,
		arg: func(key string) any {
			return job.SubmitRequest{RequestKey: key, Actor: actor, Phase: phase, Values: values}
		}}
}

// lifecycle is the standard master workflow from offer to feedback, with pick-up
// instead of delivery so the condition on "lieferart" makes activation skip a phase.
var lifecycle = []step{
	activate("angebot"),
	submit(customer, "angebot", map[string]any{"lieferart": "abholung"}),
	activate("auftrag"),
	activate("zahlung"),
	{name: "payment", arg: func(key string) any { return job.PaymentReceived{Key: key, AmountCents: 100000} }},
	submit(customer, "zahlung", map[string]any{}),
	activate("abholung"),
	submit(staff, "abholung", map[string]any{"abholtermin": "Montag 10 Uhr"}),
	activate("feedback"),
	submit(customer, "feedback", map[string]any{"bewertung": "5"}),
	{name: "close", update: job.UpdateSetStatus, wantStatus: job.StatusClosed,
		arg: func(key string) any {
			return job.StatusRequest{RequestKey: key, Actor: staff, Status: job.StatusClosed}
		}},
}

// timings collects latencies from concurrent lifecycles.
type timings struct {
	mu        sync.Mutex
	updates   []time.Duration
	starts    []time.Duration
	lifecycle []time.Duration
}

func (t *timings) add(dst *[]time.Duration, d time.Duration) {
	t.mu.Lock()
	*dst = append(*dst, d)
	t.mu.Unlock()
}

// runLifecycle drives one job from start to completion and checks every answer.
func runLifecycle(ctx context.Context, c client.Client, s subject, number int64, in workflows.StartInput, t *timings) error {
	id := job.WorkflowID(s.dealer, number)
	begin := time.Now()
	// Both workflows start as the API starts a job, with its search attributes, so the
	// visibility write at start costs both alike.
	attrs, _, err := workflows.StartAttributes(in)
	if err != nil {
		return fmt.Errorf("%s: start attributes: %w", id, err)
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	run, err := c.ExecuteWorkflow(cctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.taskQueue, TypedSearchAttributes: attrs}, s.workflowType, in)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: start: %w", id, err)
	}
	t.add(&t.starts, time.Since(begin))

	for i, st := range lifecycle {
		key := fmt.Sprintf("bench-%s-%d-%d", s.name, number, i+2)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		if st.update == "" {
			err = c.SignalWorkflow(cctx, id, run.GetRunID(), job.SignalPaymentReceived, st.arg(key))
			cancel()
			if err != nil {
				return fmt.Errorf("%s: step %d %s: %w", id, i+2, st.name, err)
			}
			continue
		}
		t0 := time.Now()
		var res job.Result
		h, err := c.UpdateWorkflow(cctx, client.UpdateWorkflowOptions{
			WorkflowID:   id,
			RunID:        run.GetRunID(),
			UpdateID:     key,
			UpdateName:   st.update,
			Args:         []any{st.arg(key)},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			// A validator's rejection arrives here, not from UpdateWorkflow.
			err = h.Get(cctx, &res)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("%s: step %d %s: %w", id, i+2, st.name, err)
		}
		t.add(&t.updates, time.Since(t0))
		if s.checkPhases && st.wantPhase != "" && res.Phase != st.wantPhase {
			return fmt.Errorf("%s: step %d %s: job is in phase %q, want %q: the standard workflow changed; adapt bench/lifecycle.go",
				id, i+2, st.name, res.Phase, st.wantPhase)
		}
		if st.wantStatus != "" && res.Status != st.wantStatus {
			return fmt.Errorf("%s: step %d %s: status %q, want %q", id, i+2, st.name, res.Status, st.wantStatus)
		}
	}

	cctx, cancel = context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var final job.Result
	if err := run.Get(cctx, &final); err != nil {
		return fmt.Errorf("%s: result: %w", id, err)
	}
	if final.Status != job.StatusClosed {
		return fmt.Errorf("%s: ended with status %q, want closed", id, final.Status)
	}
	t.add(&t.lifecycle, time.Since(begin))
	return nil
}

// runMany drives the given jobs with at most concurrency at a time and returns the wall
// time; the first error stops the rest.
func runMany(ctx context.Context, c client.Client, s subject, numbers []int64, concurrency int,
	input func(int64) workflows.StartInput, t *timings,
) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
	)
	work := make(chan int64)
	var wg sync.WaitGroup
	begin := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := runLifecycle(ctx, c, s, n, input(n), t); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
feed:
	for _, n := range numbers {
		select {
		case work <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return time.Since(begin), firstErr
}
