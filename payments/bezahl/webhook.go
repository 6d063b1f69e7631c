package bezahl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SignatureHeader carries a webhook's signature: "sha256=" and the hex HMAC-SHA256 of
// the raw body with the registered secret.
const SignatureHeader = "X-Bezahl-Signature"

// EventPayment is the type of the event sent when a payment arrives.
const EventPayment = "order.payment"

// Event is a webhook's payload: one status change of an order.
type Event struct {
	// ID is unique per event; a redelivered event has the same ID.
	ID      string `json:"id"`
	Type    string `json:"type"`
	OrderID string `json:"orderId"`
	Unique  string `json:"unique,omitempty"`
	Status  string `json:"status"`
	// Amount is this payment in cents; Paid and Remaining the order's totals after it.
	Amount    int64     `json:"amount"`
	Paid      int64     `json:"paid"`
	Remaining int64     `json:"remaining"`
	At        time.Time `json:"at"`
}

// ErrBadSignature means the webhook is not signed with the secret: answer 401 and
// change nothing.
var ErrBadSignature = errors.New("webhook signature does not match")

// Sign returns the signature header value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks the signature header of a webhook body against secret in
// constant time and decodes the event. An error wrapping ErrBadSignature means it is
// not from the provider; any other error means a signed but unreadable payload.
func VerifyWebhook(secret string, body []byte, header string) (Event, error) {
	if secret == "" {
		return Event{}, fmt.Errorf("%w: no secret configured", ErrBadSignature)
	}
	sig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return Event{}, fmt.Errorf("%w: header %s is not sha256=<hex>", ErrBadSignature, SignatureHeader)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return Event{}, fmt.Errorf("%w: not hex", ErrBadSignature)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return Event{}, ErrBadSignature
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("webhook payload: %w", err)
	}
	if ev.ID == "" || ev.OrderID == "" {
		return Event{}, fmt.Errorf("webhook payload: id and orderId are required (got %q, %q)", ev.ID, ev.OrderID)
	}
	return ev, nil
}
