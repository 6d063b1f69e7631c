package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/job"
)

// ActivateBody is the body of POST .../activate; an empty phase means the next one.
type ActivateBody struct {
	Phase string `json:"phase,omitempty"`
}

// SubmitBody is the body of POST .../submit and .../customer/submit. Phase is the phase
// the form was shown for; a stale form is refused with 409.
type SubmitBody struct {
	Phase  string         `json:"phase"`
	Values map[string]any `json:"values"`
}

// StatusBody is the body of POST .../status.
type StatusBody struct {
	Status job.Status `json:"status"`
	// SoldOn is the sale date (YYYY-MM-DD), only with status sold; mandatory when the
	// dealer's setting sold_on_required is on.
	SoldOn string `json:"sold_on,omitempty"`
}

// AssignBody is the body of POST .../assign; an absent field stays unchanged.
type AssignBody struct {
	Salesperson *string `json:"salesperson,omitempty"`
	Location    *string `json:"location,omitempty"`
}

func (s *server) activate(c *gin.Context) {
	var b ActivateBody
	if !decodeJSON(c, &b) {
		return
	}
	s.runUpdate(c, job.UpdateActivate, func(key string, a job.Actor) any {
		return job.ActivateRequest{RequestKey: key, Actor: a, Phase: b.Phase}
	})
}

// submit serves both sides; the route's middleware decided who acts.
func (s *server) submit(c *gin.Context) {
	var b SubmitBody
	if !decodeJSON(c, &b) {
		return
	}
	if b.Phase == "" {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "submit_without_phase", field("phase", "required")))
		return
	}
	if b.Values == nil {
		b.Values = map[string]any{}
	}
	s.runUpdate(c, job.UpdateSubmit, func(key string, a job.Actor) any {
		return job.SubmitRequest{RequestKey: key, Actor: a, Phase: b.Phase, Values: b.Values}
	})
}

func (s *server) setStatus(c *gin.Context) {
	var b StatusBody
	if !decodeJSON(c, &b) {
		return
	}
	if b.Status == "" {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "status_missing", field("status", "required")))
		return
	}
	if !s.checkSoldOn(c, b) {
		return
	}
	s.runUpdate(c, job.UpdateSetStatus, func(key string, a job.Actor) any {
		return job.StatusRequest{RequestKey: key, Actor: a, Status: b.Status, SoldOn: b.SoldOn}
	})
}

func (s *server) assign(c *gin.Context) {
	var b AssignBody
	if !decodeJSON(c, &b) {
		return
	}
	s.runUpdate(c, job.UpdateAssign, func(key string, a job.Actor) any {
		return job.AssignRequest{RequestKey: key, Actor: a, Salesperson: b.Salesperson, Location: b.Location}
	})
}

// runUpdate sends one update to the job named by the path and answers with its result
// or the problem it met. build makes the update's argument from the request key and the
// actor.
//
// The update ID and the request key are both "<update>/<Idempotency-Key>": Temporal
// answers a repeated update ID from its own record while it has one, and the workflow
// answers a repeated request key from its state after that (it survives
// continue-as-new), so a retry is applied once either way. The key is scoped by the
// update name, so a client reusing a key for a different action does not get the
// answer of the first.
func (s *server) runUpdate(c *gin.Context, name string, build func(key string, a job.Actor) any) {
	row, ok := s.loadJob(c)
	if !ok {
		return
	}
	key := name + "/" + idempotencyKey(c)
	// A closed job's workflow has completed and would only answer "not found"; the
	// read model says why, unless this is a repeat of a request the job applied.
	if row.Status.Ended() {
		s.answerEnded(c, row, key)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.timeout)
	defer cancel()
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   job.WorkflowID(row.Dealer, row.Number),
		UpdateID:     key,
		UpdateName:   name,
		Args:         []any{build(key, auth.From(c).Actor())},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res job.Result
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		s.updateFailed(c, row, name, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// updateFailed maps an update's error to the answer: the workflow's rejection to
// 422/409/403 with its field problems; no answer in time to 503 (nothing is applied
// until a worker accepts the update, and a retry with the same key is applied once);
// a workflow that is gone to 409.
func (s *server) updateFailed(c *gin.Context, row job.Row, name string, err error) {
	_ = c.Error(fmt.Errorf("update %s of %s: %w", name, job.WorkflowID(row.Dealer, row.Number), err))
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == job.RejectionErrorType {
		var rej job.Rejection
		if derr := appErr.Details(&rej); derr == nil {
			writeProblem(c, withFieldAliases(c, rejectionProblem(rej, row)))
			return
		}
	}
	if unavailable(err) {
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "update_timeout").
			with("timeout", s.timeout.String(), "header", HeaderIdempotencyKey))
		return
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// The workflow completed after the row was read (another request closed the
		// job), or never started.
		if ended, ok := s.endedStatus(c.Request.Context(), row); ok {
			row.Status = ended
			s.answerEnded(c, row, name+"/"+idempotencyKey(c))
			return
		}
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "workflow_not_running").with("header", HeaderIdempotencyKey))
		return
	}
	internal(c, err)
}

// endedStatus finds out how a job whose workflow is gone ended: from the row, read
// again, or, should the read model lag, from the completed workflow's result.
func (s *server) endedStatus(ctx context.Context, row job.Row) (job.Status, bool) {
	fresh, err := s.store.GetJob(ctx, row.Dealer, row.Number)
	if err == nil && fresh.Status.Ended() {
		return fresh.Status, true
	}
	// Short: the workflow is known to be gone, so its result is there or never comes.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var res job.Result
	if err := s.temporal.GetWorkflow(ctx, job.WorkflowID(row.Dealer, row.Number), "").Get(ctx, &res); err == nil && res.Status.Ended() {
		return res.Status, true
	}
	return "", false
}

// answerEnded answers a request to a job that has ended: with the first answer when the
// job applied this very request before it ended (a client retrying the request that
// closed the job must not see a conflict), else 409.
func (s *server) answerEnded(c *gin.Context, row job.Row, key string) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	var final job.Final
	err := s.temporal.GetWorkflow(ctx, job.WorkflowID(row.Dealer, row.Number), "").Get(ctx, &final)
	if res, ok := final.AnswerFor(key); err == nil && ok {
		c.JSON(http.StatusOK, res)
		return
	}
	writeProblem(c, endedProblem(row))
}

func endedProblem(row job.Row) Problem {
	status := string(row.Status)
	return problem(http.StatusConflict, ProblemJobEnded, "job_ended", field("status", "job_ended", "status", status)).
		with("status", status)
}

// rejectionProblem turns the workflow's rejection into a problem; the codes are the
// contract in package job. The workflow names its message and field problems by codes
// of the catalog; its English texts stand in for codes the catalog lacks.
func rejectionProblem(rej job.Rejection, row job.Row) Problem {
	p := Problem{Detail: rej.Message, Errors: rej.Fields, detailID: rej.MessageCode, detailParams: rej.MessageParams}
	switch rej.Code {
	case job.CodeInvalid:
		p.Status, p.Type = http.StatusUnprocessableEntity, ProblemInvalid
	case job.CodeConflict:
		p.Status, p.Type = http.StatusConflict, ProblemConflict
	case job.CodeEnded:
		p.Status, p.Type = http.StatusConflict, ProblemJobEnded
		if len(p.Errors) == 0 {
			status := rej.MessageParams["status"]
			p.Errors = []job.FieldError{field("status", "job_ended", "status", status)}
		}
	case job.CodeForbidden:
		p.Status, p.Type = http.StatusForbidden, ProblemForbidden
	default:
		// A code this API does not know yet: the request was refused, so say so.
		return problem(http.StatusUnprocessableEntity, ProblemInvalid, "job_refused", rej.Fields...).
			with("job", job.WorkflowID(row.Dealer, row.Number), "code", rej.Code, "message", rej.Message)
	}
	return p
}
