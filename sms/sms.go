// Package sms sends text messages through a provider: the Provider interface the
// messages activity uses, and an HTTP implementation for a simple JSON provider API
// (POST {base}/messages with {to, text, idempotency_key} and a bearer token). Every
// send carries an idempotency key, so the provider drops a repeated send; that is what
// lets a retry after an unknown outcome send again safely. deploy/smssim simulates the
// provider for dev and tests.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Message is one text message.
type Message struct {
	To   string `json:"to"`
	Text string `json:"text"`
	// IdempotencyKey makes the provider send a message once, however often it is
	// posted.
	IdempotencyKey string `json:"idempotency_key"`
}

// Receipt is the provider's answer to an accepted message.
type Receipt struct {
	ID string `json:"id"`
	// Duplicate is true when the provider had the key already and did not send again.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Provider sends text messages.
type Provider interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Error is a provider's refusal or a failure to reach it.
type Error struct {
	// Status is the HTTP status; 0 when the provider was not reached or did not answer.
	Status int
	// Temporary is true when trying again may succeed.
	Temporary bool
	Message   string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return "sms provider: " + e.Message
	}
	return fmt.Sprintf("sms provider: HTTP %d: %s", e.Status, e.Message)
}

// Permanent reports whether err is a refusal that a retry cannot cure (a bad number, a
// rejected token).
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary
}

// HTTPProvider talks to the provider's JSON API.
type HTTPProvider struct {
	// BaseURL is the API's base, such as "https://sms.example/v1"; messages are posted
	// to BaseURL + "/messages".
	BaseURL string
	Token   string
	// Client is the HTTP client; one with a 30 s timeout when nil.
	Client *http.Client
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// Send posts the message. 2xx is accepted; 429 and 5xx are temporary; other 4xx are
// permanent.
func (p *HTTPProvider) Send(ctx context.Context, m Message) (Receipt, error) {
	if m.To == "" || m.Text == "" || m.IdempotencyKey == "" {
		return Receipt{}, &Error{Message: fmt.Sprintf("to, text and idempotency_key are required (to %q, key %q)", m.To, m.IdempotencyKey)}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return Receipt{}, fmt.Errorf("sms: encode message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.BaseURL, "/")+"/messages", bytes.NewReader(body))
	if err != nil {
		return Receipt{}, &Error{Message: fmt.Sprintf("build request: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.Token)
	req.Header.Set("Idempotency-Key", m.IdempotencyKey)
	client := p.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Receipt{}, &Error{Temporary: true, Message: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Receipt{}, &Error{Status: resp.StatusCode, Temporary: true, Message: fmt.Sprintf("read answer: %v", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		temporary := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return Receipt{}, &Error{Status: resp.StatusCode, Temporary: temporary, Message: strings.TrimSpace(string(data))}
	}
	var r Receipt
	if err := json.Unmarshal(data, &r); err != nil || r.ID == "" {
		// Accepted, but the answer is unreadable: the message may be out, and a retry
		// with the same key is safe.
		return Receipt{}, &Error{Status: resp.StatusCode, Temporary: true, Message: fmt.Sprintf("unreadable answer %q", data)}
	}
	return r, nil
}
