package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/job"
)

// Outbox statuses of a message.
const (
	OutboxPending    = "pending"    // written, not yet sent
	OutboxSending    = "sending"    // claimed by a send attempt under a lease
	OutboxSent       = "sent"       // handed over to the mail server or SMS provider
	OutboxFailed     = "failed"     // refused for good; Reason says why
	OutboxUnknown    = "unknown"    // an attempt died during the hand-over; not repeated by itself
	OutboxSuppressed = "suppressed" // never due (job ended, messages suppressed, no recipient)
)

// OutboxKey names one message: the job, the history seq of the phase activation that
// made it due, and the template.
type OutboxKey struct {
	Dealer        string `json:"dealer"`
	Number        int64  `json:"number"`
	ActivationSeq int64  `json:"activation_seq"`
	Template      string `json:"template"`
}

func (k OutboxKey) String() string {
	return fmt.Sprintf("%s/%d/%s", job.WorkflowID(k.Dealer, k.Number), k.ActivationSeq, k.Template)
}

// OutboxMessage is one row of the message outbox.
type OutboxMessage struct {
	ID            string     `db:"id" json:"id"`
	Dealer        string     `db:"dealer" json:"dealer"`
	Number        int64      `db:"number" json:"number"`
	ActivationSeq int64      `db:"activation_seq" json:"activation_seq"`
	Template      string     `db:"template" json:"template"`
	Channel       string     `db:"channel" json:"channel"`
	Phase         string     `db:"phase" json:"phase,omitempty"`
	Recipient     string     `db:"recipient" json:"recipient"`
	Subject       string     `db:"subject" json:"subject,omitempty"`
	BodyText      string     `db:"body_text" json:"body_text"`
	BodyHTML      string     `db:"body_html" json:"body_html,omitempty"`
	Attachments   []string   `db:"attachments" json:"attachments,omitempty"`
	Status        string     `db:"status" json:"status"`
	Reason        string     `db:"reason" json:"reason,omitempty"`
	Attempts      int        `db:"attempts" json:"attempts"`
	Claim         string     `db:"claim" json:"-"`
	LeaseUntil    *time.Time `db:"lease_until" json:"lease_until,omitempty"`
	MessageID     string     `db:"message_id" json:"message_id"`
	ProviderID    string     `db:"provider_id" json:"provider_id,omitempty"`
	SentAt        *time.Time `db:"sent_at" json:"sent_at,omitempty"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at" json:"updated_at"`
}

// Key is the message's outbox key.
func (m OutboxMessage) Key() OutboxKey {
	return OutboxKey{Dealer: m.Dealer, Number: m.Number, ActivationSeq: m.ActivationSeq, Template: m.Template}
}

const outboxColumns = `id::text AS id, dealer, number, activation_seq, template, channel, phase, recipient, subject,
	body_text, body_html, attachments::text[] AS attachments, status, reason, attempts, claim, lease_until,
	message_id, provider_id, sent_at, created_at, updated_at`

const outboxWhere = `dealer = $1 AND number = $2 AND activation_seq = $3 AND template = $4`

func keyArgs(k OutboxKey, more ...any) []any {
	return append([]any{k.Dealer, k.Number, k.ActivationSeq, k.Template}, more...)
}

// EnqueueMessage writes a message into the outbox unless its key is there already;
// either way it returns the stored row, with created telling which. Status must be
// pending, suppressed (not due) or failed (due but cannot go, such as no recipient).
func (s *Store) EnqueueMessage(ctx context.Context, m OutboxMessage) (OutboxMessage, bool, error) {
	switch m.Status {
	case OutboxPending, OutboxSuppressed, OutboxFailed:
	default:
		return OutboxMessage{}, false, fmt.Errorf("enqueue message %s: status %q is not pending, suppressed or failed", m.Key(), m.Status)
	}
	attachments := m.Attachments
	if attachments == nil {
		attachments = []string{}
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO message_outbox (id, dealer, number, activation_seq, template, channel, phase, recipient, subject,
			body_text, body_html, attachments, status, reason, message_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::uuid[], $13, $14, $15)
		ON CONFLICT (dealer, number, activation_seq, template) DO NOTHING`,
		newID(), m.Dealer, m.Number, m.ActivationSeq, m.Template, m.Channel, m.Phase, m.Recipient, m.Subject,
		m.BodyText, m.BodyHTML, attachments, m.Status, m.Reason, m.MessageID)
	if err != nil {
		return OutboxMessage{}, false, wrap(err, "enqueue message %s", m.Key())
	}
	stored, err := s.GetOutboxMessage(ctx, m.Key())
	return stored, tag.RowsAffected() == 1, err
}

// GetOutboxMessage returns the outbox row of key, or ErrNotFound.
func (s *Store) GetOutboxMessage(ctx context.Context, key OutboxKey) (OutboxMessage, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM message_outbox WHERE `+outboxWhere, keyArgs(key)...)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[OutboxMessage])
	return m, wrap(err, "get message %s", key)
}

// ErrNotClaimed is returned (wrapped) by ClaimOutboxMessage when the message is in a
// state a send may not start from; the returned row says which.
var ErrNotClaimed = errors.New("message not claimed")

// ClaimOutboxMessage makes a send attempt the message's only sender: a pending message
// (or, with takeOverExpired, one whose previous attempt's lease ran out) becomes
// sending under claim until now+lease, and its attempts count up. Otherwise nothing
// changes and the current row comes back with ErrNotClaimed. The lease is the
// database's clock, so workers with skewed clocks agree on it.
func (s *Store) ClaimOutboxMessage(ctx context.Context, key OutboxKey, claim string, lease time.Duration, takeOverExpired bool) (OutboxMessage, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE message_outbox SET status = 'sending', claim = $5, lease_until = now() + $6::interval,
			attempts = attempts + 1, updated_at = now()
		WHERE `+outboxWhere+` AND (status = 'pending' OR ($7 AND status = 'sending' AND lease_until < now()))
		RETURNING `+outboxColumns,
		keyArgs(key, claim, lease.String(), takeOverExpired)...)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[OutboxMessage])
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return OutboxMessage{}, wrap(err, "claim message %s", key)
	}
	m, err = s.GetOutboxMessage(ctx, key)
	if err != nil {
		return OutboxMessage{}, err
	}
	return m, fmt.Errorf("claim message %s (status %s): %w", key, m.Status, ErrNotClaimed)
}

// LeaseExpired reports whether a sending message's lease has run out, by the
// database's clock.
func (s *Store) LeaseExpired(ctx context.Context, key OutboxKey) (bool, error) {
	var expired bool
	err := s.pool.QueryRow(ctx, `SELECT status = 'sending' AND lease_until < now() FROM message_outbox WHERE `+outboxWhere,
		keyArgs(key)...).Scan(&expired)
	return expired, wrap(err, "lease of message %s", key)
}

// finishOutbox moves a message from sending (under claim) to status. An empty claim
// matches any attempt whose lease ran out.
func (s *Store) finishOutbox(ctx context.Context, key OutboxKey, claim, status, reason, providerID string) (OutboxMessage, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE message_outbox SET status = $5, reason = $6,
			provider_id = CASE WHEN $7 = '' THEN provider_id ELSE $7 END,
			sent_at = CASE WHEN $5 = 'sent' THEN now() ELSE sent_at END,
			claim = CASE WHEN $5 = 'pending' THEN '' ELSE claim END,
			lease_until = NULL, updated_at = now()
		WHERE `+outboxWhere+` AND (
			($8 <> '' AND claim = $8 AND status IN ('sending', 'unknown'))
			OR ($8 = '' AND status = 'sending' AND lease_until < now()))
		RETURNING `+outboxColumns,
		keyArgs(key, status, reason, providerID, claim)...)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[OutboxMessage])
	if errors.Is(err, pgx.ErrNoRows) {
		current, gerr := s.GetOutboxMessage(ctx, key)
		if gerr != nil {
			return OutboxMessage{}, gerr
		}
		return current, fmt.Errorf("mark message %s %s (it is %s): %w", key, status, current.Status, ErrNotClaimed)
	}
	return m, wrap(err, "mark message %s %s", key, status)
}

// MarkOutboxSent records that the attempt under claim handed the message over.
// It also turns an unknown outcome into sent, when a slow attempt reports after its
// lease ran out: then it is known.
func (s *Store) MarkOutboxSent(ctx context.Context, key OutboxKey, claim, providerID string) (OutboxMessage, error) {
	return s.finishOutbox(ctx, key, claim, OutboxSent, "", providerID)
}

// MarkOutboxFailed records that the message was refused for good.
func (s *Store) MarkOutboxFailed(ctx context.Context, key OutboxKey, claim, reason string) (OutboxMessage, error) {
	return s.finishOutbox(ctx, key, claim, OutboxFailed, reason, "")
}

// ReleaseOutboxMessage returns a message to pending after an attempt that certainly did
// not hand it over (the server was unreachable or refused it for now), with the reason.
func (s *Store) ReleaseOutboxMessage(ctx context.Context, key OutboxKey, claim, reason string) (OutboxMessage, error) {
	return s.finishOutbox(ctx, key, claim, OutboxPending, reason, "")
}

// MarkOutboxUnknown records that whether the message went out is unknown: the attempt
// under claim lost its connection after handing the message over, or (with an empty
// claim) the attempt holding the message died and its lease ran out.
func (s *Store) MarkOutboxUnknown(ctx context.Context, key OutboxKey, claim, reason string) (OutboxMessage, error) {
	return s.finishOutbox(ctx, key, claim, OutboxUnknown, reason, "")
}

// NoteOutboxAttempt counts a failed attempt of a pending message that never claimed it
// (the server could not be reached), with the reason.
func (s *Store) NoteOutboxAttempt(ctx context.Context, key OutboxKey, reason string) (OutboxMessage, error) {
	return s.updatePending(ctx, key, `attempts = attempts + 1, reason = $5`, reason)
}

// SuppressOutboxMessage marks a pending message suppressed with the reason: it became
// not due before it was sent (the job ended).
func (s *Store) SuppressOutboxMessage(ctx context.Context, key OutboxKey, reason string) (OutboxMessage, error) {
	return s.updatePending(ctx, key, `status = 'suppressed', reason = $5`, reason)
}

func (s *Store) updatePending(ctx context.Context, key OutboxKey, set string, reason string) (OutboxMessage, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE message_outbox SET `+set+`, updated_at = now()
		WHERE `+outboxWhere+` AND status = 'pending' RETURNING `+outboxColumns, keyArgs(key, reason)...)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[OutboxMessage])
	if errors.Is(err, pgx.ErrNoRows) {
		current, gerr := s.GetOutboxMessage(ctx, key)
		if gerr != nil {
			return OutboxMessage{}, gerr
		}
		return current, fmt.Errorf("update message %s (it is %s): %w", key, current.Status, ErrNotClaimed)
	}
	return m, wrap(err, "update message %s", key)
}

// RequeueOutboxMessage returns a failed or unknown message to pending, for staff who
// decided to send it again. For an unknown one, the recipient may then get it twice.
func (s *Store) RequeueOutboxMessage(ctx context.Context, key OutboxKey) (OutboxMessage, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE message_outbox SET status = 'pending', claim = '', lease_until = NULL, updated_at = now()
		WHERE `+outboxWhere+` AND status IN ('failed', 'unknown')
		RETURNING `+outboxColumns, keyArgs(key)...)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[OutboxMessage])
	if errors.Is(err, pgx.ErrNoRows) {
		current, gerr := s.GetOutboxMessage(ctx, key)
		if gerr != nil {
			return OutboxMessage{}, gerr
		}
		return current, fmt.Errorf("requeue message %s (it is %s): %w", key, current.Status, ErrNotClaimed)
	}
	return m, wrap(err, "requeue message %s", key)
}

// ListFailedMessages returns the dealer's messages that failed for good or whose
// outcome is unknown, newest first, for staff to look at.
func (s *Store) ListFailedMessages(ctx context.Context, dealer string, limit int) ([]OutboxMessage, error) {
	if limit <= 0 || limit > MaxJobLimit {
		limit = DefaultJobLimit
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM message_outbox
		WHERE dealer = $1 AND status IN ('failed', 'unknown') ORDER BY updated_at DESC LIMIT $2`, dealer, limit)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[OutboxMessage])
	return ms, wrap(err, "list failed messages of dealer %q", dealer)
}

// ListJobMessages returns a job's messages in the order they were written.
func (s *Store) ListJobMessages(ctx context.Context, dealer string, number int64) ([]OutboxMessage, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM message_outbox
		WHERE dealer = $1 AND number = $2 ORDER BY activation_seq, created_at, template`, dealer, number)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[OutboxMessage])
	return ms, wrap(err, "list messages of job %s", job.WorkflowID(dealer, number))
}
