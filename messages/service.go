package messages

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/placeholders"
	"github.com/jobmanager/jobmanager/sms"
	"github.com/jobmanager/jobmanager/store"
)

// Registered names of the activities.
const (
	ActivityPrepare = "PrepareMessages"
	ActivitySend    = "SendMessage"
)

// ErrTypeInvalidRequest is the application error type of a request that names no job
// or no outbox row; it is not retried.
const ErrTypeInvalidRequest = "InvalidMessageRequest"

// Defaults of Service.
const (
	DefaultLease       = 2 * time.Minute
	DefaultMaxAttempts = 10
)

// MailSenders gives the sender of a dealer's e-mail (its own SMTP settings).
type MailSenders interface {
	SenderFor(ctx context.Context, dealer string) (*mail.Sender, error)
}

// LinkMaker makes the link to a job's parking page that a message carries.
type LinkMaker func(ctx context.Context, dealer string, number int64, customerID string) (string, error)

// Service renders, records and sends messages. It is safe for concurrent use.
type Service struct {
	Store *store.Store
	Mail  MailSenders
	SMS   sms.Provider
	// ParkingLink makes {parkplatz_link}; without it the placeholder stays empty.
	ParkingLink LinkMaker
	// Lease is how long a send attempt owns a message; DefaultLease when zero. A send
	// gives up well before its lease ends, so a live attempt is never taken for dead.
	Lease time.Duration
	// MaxAttempts turns a message that keeps failing temporarily into a failed one;
	// DefaultMaxAttempts when zero.
	MaxAttempts int
	// Domain is the right side of Message-IDs; "jobmanager.local" when empty.
	Domain string
	// FaultAfterSend, when set, runs after a message was handed over and before it is
	// marked sent; an error it returns ends the attempt there. Tests use it to stand
	// for a worker that dies at the worst moment.
	FaultAfterSend func(store.OutboxKey) error
}

// PrepareRequest asks to write the outbox rows of one phase activation.
type PrepareRequest struct {
	Dealer string `json:"dealer"`
	Number int64  `json:"number"`
	// ActivationSeq is the history seq of the phase activation; with the template key
	// it is the outbox key, so a retried or replayed prepare writes nothing new.
	ActivationSeq int64  `json:"activation_seq"`
	Phase         string `json:"phase"`
	PhaseName     string `json:"phase_name"`
	// Templates are the due templates from the job's pinned definition, in order.
	Templates []definitions.MessageTemplate `json:"templates"`
	// The job's state at activation; PrepareMessages enforces the rules with it.
	Status           job.Status `json:"status"`
	Suppressed       bool       `json:"suppressed,omitempty"`
	NoCustomerEmails bool       `json:"no_customer_emails,omitempty"`
	// Attachments are document IDs to attach to the e-mails.
	Attachments []string `json:"attachments,omitempty"`
}

// Outcome is where a message stands; the workflow records it in the job's history. It
// carries no address or text, only keys and states.
type Outcome struct {
	Key       store.OutboxKey `json:"key"`
	Channel   string          `json:"channel"`
	Status    string          `json:"status"`
	Reason    string          `json:"reason,omitempty"`
	Attempts  int             `json:"attempts"`
	MessageID string          `json:"message_id"`
}

func outcome(m store.OutboxMessage) Outcome {
	return Outcome{Key: m.Key(), Channel: m.Channel, Status: m.Status, Reason: m.Reason, Attempts: m.Attempts, MessageID: m.MessageID}
}

// Pending reports whether the message still waits for SendMessage.
func (o Outcome) Pending() bool { return o.Status == store.OutboxPending }

func invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidRequest, errors.New(msg))
}

// PrepareMessages renders each template for the job and writes its outbox row before
// anything is sent: pending when it is to go out, suppressed (with the reason) when the
// rules forbid it, failed when it has no recipient. Rows that exist already are left
// as they are, so a retry or replay changes nothing. It returns one outcome per
// template; the workflow then runs SendMessage for each pending one. Register it under
// ActivityPrepare.
func (s *Service) PrepareMessages(ctx context.Context, req PrepareRequest) ([]Outcome, error) {
	if req.Dealer == "" || req.Number <= 0 {
		return nil, invalid("prepare messages: dealer and number are required (got %q, %d)", req.Dealer, req.Number)
	}
	row, err := s.Store.GetJob(ctx, req.Dealer, req.Number)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("prepare messages: %v", err)
		}
		return nil, err
	}
	jd, err := s.jobData(ctx, row, req)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, 0, len(req.Templates))
	for _, t := range req.Templates {
		key := store.OutboxKey{Dealer: req.Dealer, Number: req.Number, ActivationSeq: req.ActivationSeq, Template: t.Key}
		if existing, err := s.Store.GetOutboxMessage(ctx, key); err == nil {
			out = append(out, outcome(existing))
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		m, err := s.compose(ctx, key, t, req, jd)
		if err != nil {
			return nil, err
		}
		stored, _, err := s.Store.EnqueueMessage(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, outcome(stored))
	}
	return out, nil
}

// jobData is what messages of one job show and whom they go to.
type jobData struct {
	values        placeholders.Values
	customerID    string
	customerEmail string
	customerPhone string
	// customerLanguage picks the translation of customer messages; staff read German.
	customerLanguage string
	salespersonTo    string
	// test marks a test job of the sandbox: its e-mails say so, its SMS go nowhere.
	test bool
}

func (s *Service) jobData(ctx context.Context, row job.Row, req PrepareRequest) (jobData, error) {
	jd := jobData{customerID: row.CustomerID, test: row.Test}
	v := placeholders.Values{
		placeholders.Phase:     req.PhaseName,
		placeholders.JobNumber: strconv.FormatInt(req.Number, 10),
	}
	if v[placeholders.Phase] == "" {
		v[placeholders.Phase] = req.Phase
	}
	if row.CustomerID != "" {
		c, err := s.Store.GetCustomer(ctx, req.Dealer, row.CustomerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return jobData{}, err
		}
		v[placeholders.Customer], jd.customerEmail, jd.customerPhone, jd.customerLanguage = c.Name, c.Email, c.Phone, c.Language
	}
	var vehicle job.Vehicle
	if row.VehicleID != "" {
		var err error
		vehicle, err = s.Store.GetVehicle(ctx, req.Dealer, row.VehicleID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return jobData{}, err
		}
	}
	v[placeholders.Vehicle] = placeholders.VehicleName(vehicle.Make, vehicle.Model, vehicle.Number)
	if row.Salesperson != "" {
		u, err := s.Store.GetStaffUser(ctx, req.Dealer, row.Salesperson)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return jobData{}, err
		}
		v[placeholders.Salesperson], jd.salespersonTo = u.Name, u.Email
	}
	if p, err := s.Store.LatestPaymentOrder(ctx, req.Dealer, req.Number); err == nil {
		v[placeholders.PaymentLink] = p.Link
	} else if !errors.Is(err, store.ErrNotFound) {
		return jobData{}, err
	}
	jd.values = v
	return jd, nil
}

// compose renders one template into its outbox row, applying the rules.
func (s *Service) compose(ctx context.Context, key store.OutboxKey, t definitions.MessageTemplate, req PrepareRequest, jd jobData) (store.OutboxMessage, error) {
	m := store.OutboxMessage{
		Dealer: key.Dealer, Number: key.Number, ActivationSeq: key.ActivationSeq, Template: key.Template,
		Channel: string(t.Channel), Phase: req.Phase, Status: store.OutboxPending, MessageID: s.messageID(key),
	}
	switch {
	case req.Status.Ended():
		m.Status, m.Reason = store.OutboxSuppressed, fmt.Sprintf("the job is %s", req.Status)
	case req.Suppressed:
		m.Status, m.Reason = store.OutboxSuppressed, "messages are suppressed for this job"
	case t.Customer && t.Channel == definitions.ChannelEmail && req.NoCustomerEmails:
		m.Status, m.Reason = store.OutboxSuppressed, "the workflow sends no e-mail to customers"
	case t.Channel != definitions.ChannelEmail && t.Channel != definitions.ChannelSMS:
		m.Status, m.Reason = store.OutboxSuppressed, fmt.Sprintf("unknown channel %q", t.Channel)
	case jd.test && t.Channel == definitions.ChannelSMS:
		// A test job's customer and staff are the staff member trying the workflow
		// out; no phone gets a test.
		m.Status, m.Reason = store.OutboxSuppressed, TestSMSReason
	}
	if m.Status == store.OutboxSuppressed {
		if m.Channel != string(definitions.ChannelSMS) {
			m.Channel = string(definitions.ChannelEmail)
		}
		return m, nil
	}
	switch {
	case t.Channel == definitions.ChannelEmail && t.Customer:
		m.Recipient = jd.customerEmail
	case t.Channel == definitions.ChannelEmail:
		m.Recipient = jd.salespersonTo
	case t.Customer:
		m.Recipient = jd.customerPhone
	}
	if m.Recipient == "" {
		who := "the job's salesperson has no e-mail address"
		switch {
		case t.Customer && t.Channel == definitions.ChannelEmail:
			who = "the customer has no e-mail address"
		case t.Customer:
			who = "the customer has no phone number"
		case t.Channel == definitions.ChannelSMS:
			who = "staff have no phone number for SMS"
		}
		// Failed, not suppressed: it was due, and staff should see that it did not go.
		m.Status, m.Reason = store.OutboxFailed, "no recipient: "+who
		return m, nil
	}
	values := jd.values
	if t.Customer && s.ParkingLink != nil {
		values = copyValues(values)
		link, err := s.ParkingLink(ctx, key.Dealer, key.Number, jd.customerID)
		if err != nil {
			return store.OutboxMessage{}, fmt.Errorf("parking link for job %s: %w", job.WorkflowID(key.Dealer, key.Number), err)
		}
		values[placeholders.ParkingLink] = link
	}
	lang := store.LanguageGerman
	if t.Customer && jd.customerLanguage != "" {
		lang = jd.customerLanguage
	}
	r := RenderIn(t, lang, values)
	if jd.test && t.Channel == definitions.ChannelEmail {
		r = markTest(r, lang)
	}
	m.Subject, m.BodyText, m.BodyHTML = r.Subject, r.Text, r.HTML
	if t.Channel == definitions.ChannelEmail {
		m.Attachments = req.Attachments
	}
	return m, nil
}

func copyValues(v placeholders.Values) placeholders.Values {
	out := make(placeholders.Values, len(v)+1)
	for k, x := range v {
		out[k] = x
	}
	return out
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// messageID derives the Message-ID from the outbox key: every attempt of a message
// carries the same one, so a copy that ever arrives twice is recognisable as one.
func (s *Service) messageID(k store.OutboxKey) string {
	domain := s.Domain
	if domain == "" {
		domain = "jobmanager.local"
	}
	return fmt.Sprintf("outbox.%s.%d.%d.%s@%s", unsafeID.ReplaceAllString(k.Dealer, "-"), k.Number, k.ActivationSeq,
		unsafeID.ReplaceAllString(k.Template, "-"), domain)
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func (s *Service) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return DefaultMaxAttempts
}

// SendMessage sends one outbox message at most once and returns where it stands. A
// final state (sent, failed, unknown, suppressed) comes back as an Outcome with a nil
// error; an error means "try again" (Temporal retries the activity). Register it under
// ActivitySend.
//
// The guarantee, and where it ends:
//
//   - A message is claimed (status sending, under a lease of the database clock)
//     right before it is handed over, and marked sent right after the server or
//     provider accepted it. Only a pending message (or an SMS whose attempt's lease
//     ran out) can be claimed, so two live attempts never both hand an e-mail over.
//     A lease that runs out while a slow attempt still works causes no second e-mail
//     either (see below), and that attempt still records sent when it finishes.
//   - A retry after a failure that certainly did not hand the message over (server
//     unreachable, refusal with a reply code, data not finished) sends again.
//   - The gap between "accepted" and "marked sent" cannot be closed: SMTP has no
//     idempotency, and a worker can die in that gap. An e-mail whose attempt died
//     while holding the claim, or lost the connection after the data went out, is
//     therefore marked unknown once the lease ran out and is NOT sent again by itself:
//     at most once, never twice. Staff see it among failed messages and may send it
//     again (store.RequeueOutboxMessage); only then can the customer get it twice, and
//     both copies carry the same Message-ID, derived from the outbox key.
//   - An SMS carries the outbox key as the provider's idempotency key, so after an
//     unknown outcome the retry sends again and the provider drops the repeat: exactly
//     once, as far as the provider keeps its keys.
func (s *Service) SendMessage(ctx context.Context, key store.OutboxKey) (out Outcome, err error) {
	m, err := s.Store.GetOutboxMessage(ctx, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Outcome{}, invalid("send message: %v", err)
		}
		return Outcome{}, err
	}
	defer func() { countSend(ctx, m.Status, out) }()
	switch {
	case final(m.Status):
		return outcome(m), nil
	case m.Status == store.OutboxSending:
		expired, err := s.Store.LeaseExpired(ctx, key)
		if err != nil {
			return Outcome{}, err
		}
		if !expired {
			return Outcome{}, fmt.Errorf("message %s: another attempt is sending it (lease until %v)", key, m.LeaseUntil)
		}
		if m.Channel == string(definitions.ChannelEmail) {
			u, err := s.Store.MarkOutboxUnknown(ctx, key, "", "the attempt that sent it died before recording the outcome; not sent again by itself")
			if errors.Is(err, store.ErrNotClaimed) {
				return outcome(u), nil
			}
			return outcome(u), err
		}
		// SMS: the provider drops a repeat by idempotency key, so sending again is safe.
	}
	if row, err := s.Store.GetJob(ctx, key.Dealer, key.Number); err == nil && row.Status.Ended() && m.Status == store.OutboxPending {
		u, err := s.Store.SuppressOutboxMessage(ctx, key, fmt.Sprintf("the job is %s", row.Status))
		if err != nil && !errors.Is(err, store.ErrNotClaimed) {
			return Outcome{}, err
		}
		return outcome(u), nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Outcome{}, err
	}
	if m.Channel == string(definitions.ChannelSMS) {
		return s.sendSMS(ctx, m)
	}
	return s.sendEmail(ctx, m)
}

func (s *Service) claim(ctx context.Context, m store.OutboxMessage, takeOver bool) (store.OutboxMessage, string, error) {
	claim := uuid.NewString()
	c, err := s.Store.ClaimOutboxMessage(ctx, m.Key(), claim, s.lease(), takeOver)
	return c, claim, err
}

// claimedElsewhere answers for a message another attempt claimed first: what that
// attempt did once it is final, else an error so the activity retries until it is.
func claimedElsewhere(key store.OutboxKey, current store.OutboxMessage) (Outcome, error) {
	if !final(current.Status) {
		return Outcome{}, fmt.Errorf("message %s: another attempt is sending it", key)
	}
	return outcome(current), nil
}

func (s *Service) sendEmail(ctx context.Context, m store.OutboxMessage) (Outcome, error) {
	key := m.Key()
	if s.Mail == nil {
		return Outcome{}, invalid("send message %s: no mail sender configured", key)
	}
	sender, err := s.Mail.SenderFor(ctx, key.Dealer)
	if err != nil {
		return s.temporary(ctx, key, "", fmt.Sprintf("no mail sender for dealer %q: %v", key.Dealer, err))
	}
	attachments, err := s.attachments(ctx, m)
	if err != nil {
		return Outcome{}, err
	}
	// The whole hand-over ends well inside the lease.
	sendCtx, cancel := context.WithTimeout(ctx, s.lease()/2)
	defer cancel()
	// Connect before claiming: a server that cannot be reached leaves the message
	// pending, and the window in which an attempt may die with the outcome unknown is
	// only the SMTP transaction itself.
	conn, err := sender.Dial(sendCtx)
	if err != nil {
		return s.temporary(ctx, key, "", err.Error())
	}
	defer conn.Close()
	claimed, claim, err := s.claim(ctx, m, false)
	if errors.Is(err, store.ErrNotClaimed) {
		return claimedElsewhere(key, claimed)
	}
	if err != nil {
		return Outcome{}, err
	}
	sendErr := conn.Send(mail.Message{
		To: []string{claimed.Recipient}, Subject: claimed.Subject, Text: claimed.BodyText, HTML: claimed.BodyHTML,
		MessageID: claimed.MessageID, Attachments: attachments,
	})
	switch {
	case sendErr == nil:
		return s.sent(ctx, key, claim, "")
	case mail.NotDelivered(sendErr) && mail.Temporary(sendErr):
		return s.temporary(ctx, key, claim, sendErr.Error())
	case mail.NotDelivered(sendErr):
		f, err := s.Store.MarkOutboxFailed(ctx, key, claim, sendErr.Error())
		return outcome(f), err
	default:
		u, err := s.Store.MarkOutboxUnknown(ctx, key, claim, "the connection broke after the message was handed over; not sent again by itself: "+sendErr.Error())
		return outcome(u), err
	}
}

func (s *Service) sendSMS(ctx context.Context, m store.OutboxMessage) (Outcome, error) {
	key := m.Key()
	if s.SMS == nil {
		return Outcome{}, invalid("send message %s: no SMS provider configured", key)
	}
	claimed, claim, err := s.claim(ctx, m, true)
	if errors.Is(err, store.ErrNotClaimed) {
		return claimedElsewhere(key, claimed)
	}
	if err != nil {
		return Outcome{}, err
	}
	sendCtx, cancel := context.WithTimeout(ctx, s.lease()/2)
	defer cancel()
	receipt, err := s.SMS.Send(sendCtx, sms.Message{To: claimed.Recipient, Text: claimed.BodyText, IdempotencyKey: claimed.MessageID})
	switch {
	case err == nil:
		return s.sent(ctx, key, claim, receipt.ID)
	case sms.Permanent(err):
		f, ferr := s.Store.MarkOutboxFailed(ctx, key, claim, err.Error())
		return outcome(f), ferr
	default:
		// Safe to send again even if the provider got it: same idempotency key.
		return s.temporary(ctx, key, claim, err.Error())
	}
}

func (s *Service) sent(ctx context.Context, key store.OutboxKey, claim, providerID string) (Outcome, error) {
	if s.FaultAfterSend != nil {
		if err := s.FaultAfterSend(key); err != nil {
			return Outcome{}, err
		}
	}
	m, err := s.Store.MarkOutboxSent(ctx, key, claim, providerID)
	return outcome(m), err
}

// temporary records a failure that did not hand the message over: the message stays
// pending and the activity is retried, until MaxAttempts makes it failed for good.
func (s *Service) temporary(ctx context.Context, key store.OutboxKey, claim, reason string) (Outcome, error) {
	var m store.OutboxMessage
	var err error
	if claim == "" {
		m, err = s.Store.NoteOutboxAttempt(ctx, key, reason)
	} else {
		m, err = s.Store.ReleaseOutboxMessage(ctx, key, claim, reason)
	}
	if errors.Is(err, store.ErrNotClaimed) && final(m.Status) {
		return outcome(m), nil
	}
	if err != nil {
		return Outcome{}, err
	}
	if m.Attempts >= s.maxAttempts() {
		// Claim it once more only to fail it: pending -> sending -> failed.
		_, c, cerr := s.claim(ctx, m, false)
		if cerr == nil {
			f, ferr := s.Store.MarkOutboxFailed(ctx, key, c, fmt.Sprintf("gave up after %d attempts: %s", m.Attempts, reason))
			return outcome(f), ferr
		}
	}
	return Outcome{}, fmt.Errorf("message %s not sent (attempt %d, will retry): %s", key, m.Attempts, reason)
}

func final(status string) bool {
	switch status {
	case store.OutboxSent, store.OutboxFailed, store.OutboxUnknown, store.OutboxSuppressed:
		return true
	}
	return false
}

func (s *Service) attachments(ctx context.Context, m store.OutboxMessage) ([]mail.Attachment, error) {
	var out []mail.Attachment
	for _, id := range m.Attachments {
		d, content, err := s.Store.DocumentContent(ctx, m.Dealer, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, invalid("message %s: attachment %s: %v", m.Key(), id, err)
			}
			return nil, err
		}
		out = append(out, mail.Attachment{Filename: d.Filename, ContentType: d.ContentType, Data: content})
	}
	return out, nil
}
