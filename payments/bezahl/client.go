// Package bezahl talks to bezahl.de, the dealers' payment provider: a client for its
// API (orders in euro cents with an idempotency key, order status, webhook
// registration; header NX-Token), the check of its signed webhooks, and the activities
// that create and read a job's payment order. deploy/bezahlsim speaks the same API for
// dev and tests.
//
// The public documentation names the endpoints and the `unique` key but not the order's
// status fields nor the webhook payload; where it is silent, this package fixes the
// shape (see Order and Event), and the simulator follows it.
package bezahl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Order statuses. open: nothing paid; received: paid in part, a remaining amount
// (Restbetrag) is left; paid: nothing left; closed: archived by the dealer.
const (
	StatusOpen     = "open"
	StatusReceived = "received"
	StatusPaid     = "paid"
	StatusClosed   = "closed"
)

// Asset is a position of an order, amount in euro cents.
type Asset struct {
	Label  string `json:"label"`
	Amount int64  `json:"amount"`
}

// Payment is an amount already settled outside the payment link, such as a trade-in
// (Inzahlungnahme); it reduces what the customer pays.
type Payment struct {
	Label     string `json:"label"`
	Amount    int64  `json:"amount"`
	Confirmed bool   `json:"confirmed"`
}

// Customer is the payer.
type Customer struct {
	ID        string `json:"id,omitempty"`
	Company   string `json:"company,omitempty"`
	Firstname string `json:"firstname,omitempty"`
	Lastname  string `json:"lastname,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// OrderRequest creates an order (a payment request).
type OrderRequest struct {
	OrgID string `json:"orgId"`
	// Name is the purpose the customer sees, such as "Vorgang 42".
	Name string `json:"name"`
	// Price is the sum of the assets in cents.
	Price    int64     `json:"price"`
	Assets   []Asset   `json:"assets"`
	Payments []Payment `json:"payments,omitempty"`
	Customer Customer  `json:"customer"`
	// DueDate is YYYY-MM-DD.
	DueDate string `json:"duedate,omitempty"`
	// Unique is the idempotency key; with UniqueModus "error" a second order with the
	// same key is refused.
	Unique      string   `json:"unique"`
	UniqueModus string   `json:"uniquemodus"`
	Reminder    string   `json:"reminder,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}

// Order is an order as the provider reports it.
type Order struct {
	ID       string    `json:"id"`
	OrgID    string    `json:"orgId"`
	Name     string    `json:"name"`
	Price    int64     `json:"price"`
	Assets   []Asset   `json:"assets"`
	Payments []Payment `json:"payments,omitempty"`
	// Link is the customer's payment page.
	Link    string `json:"link"`
	Status  string `json:"status"`
	Unique  string `json:"unique,omitempty"`
	DueDate string `json:"duedate,omitempty"`
	// Paid and Remaining are in cents: what the customer paid through the link, and
	// what is left of the price after settled payments and those.
	Paid      int64 `json:"paid"`
	Remaining int64 `json:"remaining"`
}

// Webhook is a registered status callback.
type Webhook struct {
	ID     string `json:"id,omitempty"`
	OrgID  string `json:"orgId"`
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// APIError is a refusal by the API.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("bezahl.de: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrUniqueTaken is returned (wrapped in an APIError chain) when an order with the
// request's unique key exists already.
var ErrUniqueTaken = errors.New("an order with this unique key exists")

// Is makes errors.Is(err, ErrUniqueTaken) work for the provider's conflict answer.
func (e *APIError) Is(target error) bool {
	return target == ErrUniqueTaken && e.Status == http.StatusConflict
}

// Temporary reports whether err may pass on a retry: no answer, 429 or 5xx.
func Temporary(err error) bool {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	return err != nil
}

// Client calls the API of one organisation.
type Client struct {
	// BaseURL is the API base, such as "https://partnerapi.staging.bezahl.de/nxt/v1/".
	BaseURL string
	Token   string
	OrgID   string
	// HTTP is the client to use; one with a 30 s timeout when nil.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("bezahl.de: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("bezahl.de: %s %s: %w", method, path, err)
	}
	req.Header.Set("NX-Token", c.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("bezahl.de: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("bezahl.de: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("bezahl.de: %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// CreateOrder creates an order with the client's organisation and "error" as unique
// mode. An order with the same unique key makes an error that errors.Is
// ErrUniqueTaken; FindOrderByUnique then finds it.
func (c *Client) CreateOrder(ctx context.Context, req OrderRequest) (Order, error) {
	if req.Unique == "" {
		return Order{}, errors.New("bezahl.de: create order: unique is empty; every order needs its idempotency key")
	}
	req.OrgID, req.UniqueModus = c.OrgID, "error"
	var o Order
	err := c.do(ctx, http.MethodPost, "order", nil, req, &o)
	return o, err
}

// GetOrder reads an order.
func (c *Client) GetOrder(ctx context.Context, id string) (Order, error) {
	var o Order
	err := c.do(ctx, http.MethodGet, "order/"+url.PathEscape(id), nil, nil, &o)
	return o, err
}

// ErrNoOrder is returned by FindOrderByUnique when no order has the key.
var ErrNoOrder = errors.New("bezahl.de: no order with this unique key")

// FindOrderByUnique finds the organisation's order with the unique key, through the
// order list.
func (c *Client) FindOrderByUnique(ctx context.Context, unique string) (Order, error) {
	var orders []Order
	if err := c.do(ctx, http.MethodGet, "order", url.Values{"orgId": {c.OrgID}, "unique": {unique}, "limit": {"10"}}, nil, &orders); err != nil {
		return Order{}, err
	}
	for _, o := range orders {
		if o.Unique == unique {
			return o, nil
		}
	}
	return Order{}, fmt.Errorf("%w: %q", ErrNoOrder, unique)
}

// RegisterWebhook registers url to receive the organisation's status callbacks,
// signed with secret.
func (c *Client) RegisterWebhook(ctx context.Context, callbackURL, secret string) (Webhook, error) {
	var w Webhook
	err := c.do(ctx, http.MethodPost, "webhook", url.Values{"orgId": {c.OrgID}},
		Webhook{OrgID: c.OrgID, URL: callbackURL, Secret: secret}, &w)
	return w, err
}

// Webhooks lists the organisation's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var ws []Webhook
	err := c.do(ctx, http.MethodGet, "webhook", url.Values{"orgId": {c.OrgID}}, nil, &ws)
	return ws, err
}

// DeleteWebhook removes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "webhook", url.Values{"orgId": {c.OrgID}, "id": {id}}, nil, nil)
}
