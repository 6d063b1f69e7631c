package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	msgs "github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/store"
)

// MessageKey names one message of the outbox: the job, the history entry of the phase
// activation that made it due, and the template.
type MessageKey struct {
	Job           int64  `json:"job"`
	ActivationSeq int64  `json:"activation_seq"`
	Template      string `json:"template"`
}

// FailedMessage is a message that failed for good or whose outcome is unknown, for staff
// to look at and perhaps send again.
type FailedMessage struct {
	Key       MessageKey `json:"key"`
	Channel   string     `json:"channel"`
	Phase     string     `json:"phase,omitempty"`
	Recipient string     `json:"recipient"`
	Subject   string     `json:"subject,omitempty"`
	// Status is failed (refused for good; Reason says why) or unknown (an attempt died
	// while handing it over: the recipient may have it).
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Attempts  int       `json:"attempts"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FailedMessages is the dealer's failed messages, newest first.
type FailedMessages struct {
	Messages []FailedMessage `json:"messages"`
}

// RequeueBody is the body of POST .../messages/failed/requeue.
type RequeueBody struct {
	Key MessageKey `json:"key"`
}

// RequeueAnswer is where a requeued message stands after the one attempt the requeue
// made: sent, or failed or unknown again with the reason.
type RequeueAnswer struct {
	Key      MessageKey `json:"key"`
	Channel  string     `json:"channel"`
	Status   string     `json:"status"`
	Reason   string     `json:"reason,omitempty"`
	Attempts int        `json:"attempts"`
	// Recorded says whether the job's history got the outcome: false when the job has
	// ended (its history is closed) or its workflow did not answer in time.
	Recorded bool `json:"recorded"`
}

// PreviewBody is the body of POST .../admin/messages/preview: a template as the editor
// holds it, saved or not.
type PreviewBody struct {
	Channel definitions.Channel `json:"channel"`
	Subject string              `json:"subject,omitempty"`
	Body    string              `json:"body"`
}

// MessagePreview is a template filled with sample data. Unknown lists the placeholders
// the template names that do not exist; they stay in the text as written.
type MessagePreview struct {
	Subject string   `json:"subject,omitempty"`
	Text    string   `json:"text"`
	HTML    string   `json:"html,omitempty"`
	Unknown []string `json:"unknown"`
}

// messageRoutes: staff see the messages that did not go out and send one again;
// owners and admins preview templates.
func (s *server) messageRoutes(dealer, staff *gin.RouterGroup) {
	staff.GET("/messages/failed", s.listFailedMessages)
	staff.POST("/messages/failed/requeue", s.idempotent, s.requeueMessage)
	admin := dealer.Group("/admin/messages", auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin))
	admin.POST("/preview", s.previewMessage)
}

func (s *server) listFailedMessages(c *gin.Context) {
	limit := 0
	var bad []job.FieldError
	for name, values := range c.Request.URL.Query() {
		if name != "limit" {
			bad = append(bad, field(name, "unknown_parameter", "known", "limit"))
			continue
		}
		n, err := strconv.Atoi(values[0])
		if err != nil || n < 1 || n > store.MaxJobLimit || len(values) > 1 {
			bad = append(bad, field("limit", "out_of_range", "min", "1", "max", strconv.Itoa(store.MaxJobLimit)))
		}
		limit = n
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b job.FieldError) int { return strings.Compare(a.Field, b.Field) })
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid", bad...))
		return
	}
	ms, err := s.store.ListFailedMessages(c.Request.Context(), c.Param("dealer"), limit)
	if err != nil {
		internal(c, err)
		return
	}
	out := FailedMessages{Messages: []FailedMessage{}}
	for _, m := range ms {
		out.Messages = append(out.Messages, FailedMessage{
			Key:     MessageKey{Job: m.Number, ActivationSeq: m.ActivationSeq, Template: m.Template},
			Channel: m.Channel, Phase: m.Phase, Recipient: m.Recipient, Subject: m.Subject,
			Status: m.Status, Reason: m.Reason, Attempts: m.Attempts, UpdatedAt: m.UpdatedAt,
		})
	}
	c.JSON(http.StatusOK, out)
}

// requeueMessage sends a failed (or unknown) message again: the outbox row becomes
// pending and the API makes one send attempt itself, through the same
// messages.Service.SendMessage the workflow's activity runs, so the outbox's claim
// keeps it to one sender. Its outcome is in the outbox row and the answer, not in the
// job's history: the workflow recorded the failure and is not asked again. A message
// left pending by an earlier requeue whose attempt failed for now is sent again by a
// repeat.
func (s *server) requeueMessage(c *gin.Context) {
	var b RequeueBody
	if !decodeJSON(c, &b) {
		return
	}
	var bad []job.FieldError
	if b.Key.Job <= 0 {
		bad = append(bad, field("key.job", "not_positive"))
	}
	if b.Key.ActivationSeq <= 0 {
		bad = append(bad, field("key.activation_seq", "not_positive"))
	}
	if strings.TrimSpace(b.Key.Template) == "" {
		bad = append(bad, field("key.template", "required"))
	}
	if len(bad) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "message_key_invalid", bad...))
		return
	}
	svc := s.effects.messages
	if svc == nil {
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "messages_not_configured"))
		return
	}
	key := store.OutboxKey{Dealer: c.Param("dealer"), Number: b.Key.Job, ActivationSeq: b.Key.ActivationSeq, Template: b.Key.Template}
	m, err := s.store.RequeueOutboxMessage(c.Request.Context(), key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_message").
			with("number", strconv.FormatInt(key.Number, 10), "template", key.Template))
		return
	case errors.Is(err, store.ErrNotClaimed) && m.Status == store.OutboxPending:
		// A requeue before this one left it pending: go on sending it.
	case errors.Is(err, store.ErrNotClaimed):
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "message_not_failed", field("key", "message_not_failed", "status", m.Status)).
			with("status", m.Status))
		return
	case err != nil:
		internal(c, err)
		return
	}
	// The hand-over is not cut off when the client goes away: an SMTP transaction
	// broken halfway leaves the outcome unknown. SendMessage bounds it by its lease.
	out, err := svc.SendMessage(context.WithoutCancel(c.Request.Context()), key)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "message_not_sendable").with("error", appErr.Message()))
			return
		}
		_ = c.Error(err)
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "message_send_retry").with("header", HeaderIdempotencyKey))
		return
	}
	c.JSON(http.StatusOK, RequeueAnswer{Key: b.Key, Channel: out.Channel, Status: out.Status, Reason: out.Reason, Attempts: out.Attempts,
		Recorded: s.recordResend(c, key, out)})
}

// recordResend puts the outcome of a message sent again into the job's history, as the
// workflow recorded the first attempt. The message is out either way, so a failure
// here does not fail the request; the answer says whether it was recorded.
func (s *server) recordResend(c *gin.Context, key store.OutboxKey, out msgs.Outcome) bool {
	row, err := s.store.GetJob(c.Request.Context(), key.Dealer, key.Number)
	if err != nil || row.Status.Ended() {
		return false
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.timeout)
	defer cancel()
	id := job.UpdateRecordMessage + "/" + idempotencyKey(c)
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: job.WorkflowID(key.Dealer, key.Number), UpdateID: id, UpdateName: job.UpdateRecordMessage,
		Args: []any{job.RecordMessageRequest{RequestKey: id, Actor: auth.From(c).Actor(), ActivationSeq: key.ActivationSeq,
			Template: key.Template, Channel: out.Channel, Status: out.Status, Reason: out.Reason, Attempts: out.Attempts}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		s.log.Warn("resent message not recorded in the job's history", "job", job.WorkflowID(key.Dealer, key.Number), "error", err)
		return false
	}
	return true
}

// previewMessage fills a template with sample data and names its unknown placeholders.
// It changes nothing.
func (s *server) previewMessage(c *gin.Context) {
	var b PreviewBody
	if !decodeJSON(c, &b) {
		return
	}
	var bad []job.FieldError
	switch b.Channel {
	case definitions.ChannelEmail, definitions.ChannelSMS:
	case "":
		bad = append(bad, field("channel", "required"))
	default:
		bad = append(bad, field("channel", "unknown_channel", "channel", string(b.Channel)))
	}
	if strings.TrimSpace(b.Body) == "" {
		bad = append(bad, field("body", "required"))
	}
	if len(bad) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "preview_invalid", bad...))
		return
	}
	r := msgs.Preview(definitions.MessageTemplate{Channel: b.Channel, Subject: b.Subject, Body: b.Body})
	out := MessagePreview{Subject: r.Subject, Text: r.Text, HTML: r.HTML, Unknown: r.Unknown}
	if out.Unknown == nil {
		out.Unknown = []string{}
	}
	c.JSON(http.StatusOK, out)
}
