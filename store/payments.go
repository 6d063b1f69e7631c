package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/job"
)

// PaymentOrder is a job's payment order at bezahl.de, as last seen.
type PaymentOrder struct {
	// UniqueKey is the idempotency key sent to the provider as `unique`.
	UniqueKey string `db:"unique_key" json:"unique_key"`
	Dealer    string `db:"dealer" json:"dealer"`
	Number    int64  `db:"number" json:"number"`
	Phase     string `db:"phase" json:"phase,omitempty"`
	// OrderID is the provider's order ID; empty until the provider has answered.
	OrderID        string    `db:"order_id" json:"order_id,omitempty"`
	Link           string    `db:"link" json:"link,omitempty"`
	Status         string    `db:"status" json:"status,omitempty"`
	PriceCents     int64     `db:"price_cents" json:"price_cents"`
	PaidCents      int64     `db:"paid_cents" json:"paid_cents"`
	RemainingCents int64     `db:"remaining_cents" json:"remaining_cents"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time `db:"updated_at" json:"updated_at"`
}

const paymentColumns = `unique_key, dealer, number, phase, order_id, link, status, price_cents, paid_cents,
	remaining_cents, created_at, updated_at`

// ReservePaymentOrder writes the row of a payment order before it is created at the
// provider, unless the key has one; either way it returns the stored row.
func (s *Store) ReservePaymentOrder(ctx context.Context, key, dealer string, number int64, phase string, priceCents int64) (PaymentOrder, error) {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO payment_orders (unique_key, dealer, number, phase, price_cents, remaining_cents)
		VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (unique_key) DO NOTHING`,
		key, dealer, number, phase, priceCents)
	if err != nil {
		return PaymentOrder{}, wrap(err, "reserve payment order %q of job %s", key, job.WorkflowID(dealer, number))
	}
	return s.GetPaymentOrder(ctx, key)
}

// GetPaymentOrder returns the payment order with the idempotency key, or ErrNotFound.
func (s *Store) GetPaymentOrder(ctx context.Context, key string) (PaymentOrder, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+paymentColumns+` FROM payment_orders WHERE unique_key = $1`, key)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[PaymentOrder])
	return p, wrap(err, "get payment order %q", key)
}

// PaymentOrderByOrderID returns the payment order with the provider's order ID, or
// ErrNotFound.
func (s *Store) PaymentOrderByOrderID(ctx context.Context, orderID string) (PaymentOrder, error) {
	if orderID == "" {
		return PaymentOrder{}, fmt.Errorf("get payment order: empty order ID: %w", ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+paymentColumns+` FROM payment_orders WHERE order_id = $1`, orderID)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[PaymentOrder])
	return p, wrap(err, "get payment order with order ID %q", orderID)
}

// LatestPaymentOrder returns the job's newest payment order that the provider knows,
// or ErrNotFound.
func (s *Store) LatestPaymentOrder(ctx context.Context, dealer string, number int64) (PaymentOrder, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+paymentColumns+` FROM payment_orders
		WHERE dealer = $1 AND number = $2 AND order_id <> '' ORDER BY created_at DESC LIMIT 1`, dealer, number)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[PaymentOrder])
	return p, wrap(err, "latest payment order of job %s", job.WorkflowID(dealer, number))
}

// SavePaymentOrder stores what the provider said about the order with the key: its ID,
// link, status and amounts.
func (s *Store) SavePaymentOrder(ctx context.Context, p PaymentOrder) (PaymentOrder, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE payment_orders SET order_id = $2, link = $3, status = $4, price_cents = $5, paid_cents = $6,
			remaining_cents = $7, updated_at = now()
		WHERE unique_key = $1
		RETURNING `+paymentColumns,
		p.UniqueKey, p.OrderID, p.Link, p.Status, p.PriceCents, p.PaidCents, p.RemainingCents)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[PaymentOrder])
	return out, wrap(err, "save payment order %q", p.UniqueKey)
}

// PaymentEvent is a status change the provider reported by webhook.
type PaymentEvent struct {
	EventID        string
	OrderID        string
	Status         string
	PaidCents      int64
	RemainingCents int64
}

// RecordPaymentEvent stores a webhook event once. The first time, it also updates the
// order's status and amounts (unless the order already shows more paid, as an event
// delivered late must not undo a newer one) and returns first true; a repeated event
// changes nothing. ErrNotFound when no job has an order with the event's order ID.
func (s *Store) RecordPaymentEvent(ctx context.Context, ev PaymentEvent) (order PaymentOrder, first bool, err error) {
	if ev.EventID == "" {
		return PaymentOrder{}, false, errors.New("record payment event: event ID is empty")
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+paymentColumns+` FROM payment_orders WHERE order_id = $1 FOR UPDATE`, ev.OrderID)
		order, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[PaymentOrder])
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO payment_events (event_id, order_id, status, paid_cents, remaining_cents)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`,
			ev.EventID, ev.OrderID, ev.Status, ev.PaidCents, ev.RemainingCents)
		if err != nil {
			return err
		}
		first = tag.RowsAffected() == 1
		if !first || ev.PaidCents < order.PaidCents {
			return nil
		}
		rows, _ = tx.Query(ctx, `
			UPDATE payment_orders SET status = $2, paid_cents = $3, remaining_cents = $4, updated_at = now()
			WHERE order_id = $1 RETURNING `+paymentColumns,
			ev.OrderID, ev.Status, ev.PaidCents, ev.RemainingCents)
		order, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[PaymentOrder])
		return err
	})
	if err != nil {
		return PaymentOrder{}, false, wrap(err, "record payment event %q of order %q", ev.EventID, ev.OrderID)
	}
	return order, first, nil
}
