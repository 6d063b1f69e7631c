package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/workflows"
)

// The interactive action both paths send: staff save a note in the first phase of the
// standard workflow. A phase's staff form can be saved again and again, so every job
// takes as many of them as the bench wants, and each one is a full update: validator,
// state change, audit entry and projection into PostgreSQL before the answer.
const (
	actionPhase = "anfrage"
	actionField = "notiz_verkauf"
)

// Paths an action takes.
const (
	pathHTTP = iota // POST /jobs/:n/submit through the API
	pathSDK         // client.UpdateWorkflow, as the API does it, without the API
)

// actionTimings collects the latencies of both paths from concurrent jobs.
type actionTimings struct {
	mu   sync.Mutex
	http []time.Duration
	sdk  []time.Duration
}

func (t *actionTimings) add(path int, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if path == pathHTTP {
		t.http = append(t.http, d)
	} else {
		t.sdk = append(t.sdk, d)
	}
}

// actionBench drives steps actions on each job, concurrency jobs at a time. The two
// paths alternate within every job and every job starts with the other path than its
// neighbour, so at any moment about as many HTTP as SDK actions are in flight: both
// see the same load, the same history lengths and the same worker.
type actionBench struct {
	c     client.Client
	sc    *staffClient
	input func(int64) workflows.StartInput
	steps int
}

func (b *actionBench) run(ctx context.Context, numbers []int64, first int, concurrency int, t *actionTimings) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan int)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := b.job(ctx, numbers[i], (first+i)%2, t); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
feed:
	for i := range numbers {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return firstErr
}

// job starts one job and sends its actions. The first action is not measured: it
// waits for the start's first workflow task, which neither path should pay.
func (b *actionBench) job(ctx context.Context, n int64, firstPath int, t *actionTimings) error {
	in := b.input(n)
	id := job.WorkflowID(in.Dealer, n)
	attrs, _, err := workflows.StartAttributes(in)
	if err != nil {
		return fmt.Errorf("%s: start attributes: %w", id, err)
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	_, err = b.c.ExecuteWorkflow(cctx, client.StartWorkflowOptions{ID: id, TaskQueue: job.TaskQueue, TypedSearchAttributes: attrs}, job.WorkflowType, in)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: start: %w", id, err)
	}
	if _, err := b.act(ctx, pathSDK, n, 0); err != nil {
		return err
	}
	for i := 1; i <= b.steps; i++ {
		path := (firstPath + i) % 2
		d, err := b.act(ctx, path, n, i)
		if err != nil {
			return err
		}
		t.add(path, d)
	}
	return nil
}

// act sends action i of job n on the path and returns how long the answer took.
func (b *actionBench) act(ctx context.Context, path int, n int64, i int) (time.Duration, error) {
	values := map[string]any{actionField: fmt.Sprintf("Rückruf vereinbart, Versuch %d", i)}
	var res job.Result
	begin := time.Now()
	if path == pathHTTP {
		key := fmt.Sprintf("bench-http-%d-%d", n, i)
		if _, err := b.sc.do(ctx, http.MethodPost, fmt.Sprintf("/jobs/%d/submit", n), key,
			api.SubmitBody{Phase: actionPhase, Values: values}, &res); err != nil {
			return 0, fmt.Errorf("job %d action %d over HTTP: %w", n, i, err)
		}
	} else {
		// What the API's runUpdate sends: the update ID is also the request key.
		key := job.UpdateSubmit + "/" + fmt.Sprintf("bench-sdk-%d-%d", n, i)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		h, err := b.c.UpdateWorkflow(cctx, client.UpdateWorkflowOptions{
			WorkflowID:   job.WorkflowID(b.input(n).Dealer, n),
			UpdateID:     key,
			UpdateName:   job.UpdateSubmit,
			Args:         []any{job.SubmitRequest{RequestKey: key, Actor: job.Actor{Side: job.Staff, ID: b.sc.staffID}, Phase: actionPhase, Values: values}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(cctx, &res)
		}
		cancel()
		if err != nil {
			return 0, fmt.Errorf("job %d action %d through the SDK: %w", n, i, err)
		}
	}
	d := time.Since(begin)
	if res.Phase != actionPhase || res.Status != job.StatusOpen {
		return 0, fmt.Errorf("job %d action %d: answer says phase %q status %q, want %q open: the standard workflow changed; adapt bench/actions.go",
			n, i, res.Phase, res.Status, actionPhase)
	}
	return d, nil
}
