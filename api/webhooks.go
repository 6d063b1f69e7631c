package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	msgs "github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
)

// maxWebhookBytes bounds a webhook's body; an event is a few hundred bytes.
const maxWebhookBytes = 64 << 10

// WebhookAnswer acknowledges a payment webhook. First is false for an event delivered
// before; Signaled says whether the job was told now.
type WebhookAnswer struct {
	EventID  string `json:"event_id"`
	First    bool   `json:"first"`
	Signaled bool   `json:"signaled"`
}

// BezahlWebhookPath is the path below the API's public URL where bezahl.de posts the
// dealer's webhooks: the URL to register with bezahl.de is the public URL and it.
func BezahlWebhookPath(dealer string) string {
	return "/api/v1/webhooks/bezahl/" + url.PathEscape(dealer)
}

// webhookRoutes: the payment provider's callbacks. No login: the provider signs each
// body with the secret registered with it, and that signature is the only credential.
func (s *server) webhookRoutes(r *gin.Engine) {
	r.POST("/api/v1/webhooks/bezahl/:dealer", s.bezahlWebhook)
}

// bezahlWebhook takes a signed status callback of bezahl.de. A bad signature is 401
// and changes nothing; an event is recorded once (by its ID) and becomes the job's
// payment signal: a signal, durable once Temporal accepts it, even while no worker
// runs. A repeated event answers 200 and signals nothing, unless the job's history
// does not show it yet (the first delivery's signal may have failed); the workflow
// counts an event once either way.
func (s *server) bezahlWebhook(c *gin.Context) {
	dealer := c.Param("dealer")
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBytes))
	if err != nil {
		writeProblem(c, bodyProblem(err))
		return
	}
	secret := s.effects.webhookSecret
	header := c.GetHeader(bezahl.SignatureHeader)
	// Verified before the database is asked, so an unsigned request learns nothing, not
	// even whether an order exists.
	ev, err := bezahl.VerifyWebhook(secret, body, header)
	if errors.Is(err, bezahl.ErrBadSignature) {
		_ = c.Error(err)
		writeProblem(c, problem(http.StatusUnauthorized, ProblemUnauthorized, "webhook_signature_invalid").with("header", bezahl.SignatureHeader))
		return
	}
	if err != nil {
		writeProblem(c, webhookPayloadProblem(body, err))
		return
	}
	if long := longTexts(ev); len(long) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "text_too_long", long...))
		return
	}
	ctx := c.Request.Context()
	noOrder := func() {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_payment_order").with("order", ev.OrderID, "dealer", dealer))
	}
	// Only an order of this dealer's jobs counts; checked before the event is recorded,
	// so a misrouted event stays new for the right URL.
	order, err := s.store.PaymentOrderByOrderID(ctx, ev.OrderID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && order.Dealer != dealer) {
		noOrder()
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	rec, err := bezahl.Receive(ctx, s.store, secret, body, header)
	if errors.Is(err, store.ErrNotFound) {
		noOrder()
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	answer := WebhookAnswer{EventID: ev.ID, First: rec.First}
	if !rec.First {
		recorded, err := s.paymentRecorded(ctx, rec.Order, ev.ID)
		if err != nil {
			internal(c, err)
			return
		}
		if recorded {
			c.JSON(http.StatusOK, answer)
			return
		}
	}
	id := job.WorkflowID(rec.Order.Dealer, rec.Order.Number)
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err = s.temporal.SignalWorkflow(sctx, id, "", job.SignalPaymentReceived, rec.Signal)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		// The job has ended: its workflow is gone. The order's row keeps the amounts.
		s.log.Warn("payment for a job that has ended", "job", id, "event", ev.ID, "order", ev.OrderID)
	case unavailable(err):
		// Recorded but not signaled: the provider delivers again, and the repeat
		// signals, as the history does not show the event.
		_ = c.Error(fmt.Errorf("signal %s: %w", id, err))
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "webhook_retry"))
		return
	case err != nil:
		internal(c, fmt.Errorf("signal %s: %w", id, err))
		return
	default:
		answer.Signaled = true
	}
	c.JSON(http.StatusOK, answer)
}

// paymentRecorded reports whether the job's history shows the payment event.
func (s *server) paymentRecorded(ctx context.Context, order store.PaymentOrder, eventID string) (bool, error) {
	history, err := s.store.Audit(ctx, order.Dealer, order.Number)
	if err != nil {
		return false, err
	}
	for _, h := range history {
		if h.Action == job.ActionPayment && h.After["key"] == eventID {
			return true, nil
		}
	}
	return false, nil
}

// effects are the side-effect services the API calls itself; see Deps.
type effects struct {
	documents     *documents.Service
	messages      *msgs.Service
	webhookSecret string
}

// webhookPayloadProblem names what is wrong with a signed payload that
// bezahl.VerifyWebhook refused: the JSON (as decodeJSON names it) or a missing ID.
func webhookPayloadProblem(body []byte, err error) Problem {
	var ev bezahl.Event
	if jerr := json.Unmarshal(body, &ev); jerr != nil {
		p := bodyProblem(jerr)
		if blamed, got := blameField(body, &bezahl.Event{}); blamed != "" && p.Status == http.StatusBadRequest {
			// A value its own unmarshaler refused (a time): encoding/json does not say
			// whose it was.
			p.Errors = []job.FieldError{field(blamed, "wrong_type", "got", got)}
		}
		return p
	}
	var missing []job.FieldError
	if ev.ID == "" {
		missing = append(missing, field("id", "required"))
	}
	if ev.OrderID == "" {
		missing = append(missing, field("orderId", "required"))
	}
	return problem(http.StatusBadRequest, ProblemBadRequest, "webhook_payload_invalid", missing...).with("error", err.Error())
}
