package bezahl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/store"
)

// Registered names of the activities.
const (
	ActivityCreateOrder = "CreatePaymentOrder"
	ActivityGetOrder    = "GetPaymentOrder"
)

// ErrTypeInvalidRequest is the application error type of a payment request a retry
// cannot cure (no job, nothing to pay, refused by the provider); it is not retried.
const ErrTypeInvalidRequest = "InvalidPaymentRequest"

// Clients gives the API client of a dealer's organisation.
type Clients interface {
	ClientFor(ctx context.Context, dealer string) (*Client, error)
}

// StaticClient uses one organisation for every dealer (dev, tests, one account).
type StaticClient struct{ Client *Client }

// ClientFor returns the one client.
func (s StaticClient) ClientFor(context.Context, string) (*Client, error) {
	if s.Client == nil {
		return nil, errors.New("no bezahl.de client configured")
	}
	return s.Client, nil
}

// Activities create and read payment orders. They are safe for concurrent use.
type Activities struct {
	Store   *store.Store
	Clients Clients
	// DueIn is how long after its creation an order is due; 14 days when zero.
	DueIn time.Duration
	// FaultAfterCreate, when set, runs after the provider created an order and before
	// it is stored; an error it returns ends the attempt there. Tests use it to stand
	// for a worker that dies at the worst moment.
	FaultAfterCreate func(key string) error
}

// PaymentRequest asks for the payment order of a job in a phase.
type PaymentRequest struct {
	Dealer string `json:"dealer"`
	Number int64  `json:"number"`
	// Phase is where the payment field is; with the job it makes the idempotency key.
	Phase string `json:"phase"`
	// At dates the order (due date = At + DueIn); the workflow passes workflow.Now.
	At time.Time `json:"at,omitempty"`
}

// PaymentOrder is what the workflow keeps of an order: keys and amounts, no personal
// data.
type PaymentOrder struct {
	Key            string `json:"key"`
	OrderID        string `json:"order_id"`
	Link           string `json:"link"`
	Status         string `json:"status"`
	PriceCents     int64  `json:"price_cents"`
	PaidCents      int64  `json:"paid_cents"`
	RemainingCents int64  `json:"remaining_cents"`
}

// Settled reports whether nothing more will be paid: paid in full or closed.
func (p PaymentOrder) Settled() bool { return p.Status == StatusPaid || p.Status == StatusClosed }

func fromStore(p store.PaymentOrder) PaymentOrder {
	return PaymentOrder{Key: p.UniqueKey, OrderID: p.OrderID, Link: p.Link, Status: p.Status,
		PriceCents: p.PriceCents, PaidCents: p.PaidCents, RemainingCents: p.RemainingCents}
}

// Key is the idempotency key of a job's payment order in a phase: the same job and
// phase always ask the provider for the same order.
func Key(dealer string, number int64, phase string) string {
	return fmt.Sprintf("jm-%s-%d-%s", dealer, number, phase)
}

func invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidRequest, errors.New(msg))
}

// CreatePaymentOrder creates the job's payment order for the phase from its invoice
// lines (the vehicle's price when it has none): positive lines are the order's assets,
// deductions such as a trade-in its settled payments, so the customer pays the gross
// total. It is idempotent by Key: the row is written before the provider is asked, a
// retry returns the stored order, and an attempt that died after the provider created
// the order finds it by its unique key instead of creating a second one. Register it
// under ActivityCreateOrder.
func (a *Activities) CreatePaymentOrder(ctx context.Context, req PaymentRequest) (PaymentOrder, error) {
	if req.Dealer == "" || req.Number <= 0 || req.Phase == "" {
		return PaymentOrder{}, invalid("payment request: dealer, number and phase are required (got %q, %d, %q)", req.Dealer, req.Number, req.Phase)
	}
	key := Key(req.Dealer, req.Number, req.Phase)
	if p, err := a.Store.GetPaymentOrder(ctx, key); err == nil && p.OrderID != "" {
		return fromStore(p), nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return PaymentOrder{}, err
	}
	row, err := a.Store.GetJob(ctx, req.Dealer, req.Number)
	if errors.Is(err, store.ErrNotFound) {
		return PaymentOrder{}, invalid("payment request: %v", err)
	}
	if err != nil {
		return PaymentOrder{}, err
	}
	order, customer, err := a.orderRequest(ctx, row, key, req)
	if err != nil {
		return PaymentOrder{}, err
	}
	order.Customer = customer
	if _, err := a.Store.ReservePaymentOrder(ctx, key, req.Dealer, req.Number, req.Phase, order.Price); err != nil {
		return PaymentOrder{}, err
	}
	client, err := a.Clients.ClientFor(ctx, req.Dealer)
	if err != nil {
		return PaymentOrder{}, fmt.Errorf("payment order %s: %w", key, err)
	}
	created, err := client.CreateOrder(ctx, order)
	if errors.Is(err, ErrUniqueTaken) {
		// An earlier attempt created it and died before storing it.
		created, err = client.FindOrderByUnique(ctx, key)
	}
	if err != nil {
		if !Temporary(err) {
			return PaymentOrder{}, invalid("payment order %s: %v", key, err)
		}
		return PaymentOrder{}, fmt.Errorf("payment order %s: %w", key, err)
	}
	if a.FaultAfterCreate != nil {
		if err := a.FaultAfterCreate(key); err != nil {
			return PaymentOrder{}, err
		}
	}
	return a.save(ctx, key, created)
}

func (a *Activities) orderRequest(ctx context.Context, row job.Row, key string, req PaymentRequest) (OrderRequest, Customer, error) {
	lines, err := a.Store.InvoiceLines(ctx, req.Dealer, req.Number)
	if err != nil {
		return OrderRequest{}, Customer{}, err
	}
	var vehicle job.Vehicle
	if row.VehicleID != "" {
		vehicle, err = a.Store.GetVehicle(ctx, req.Dealer, row.VehicleID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return OrderRequest{}, Customer{}, err
		}
	}
	lines = documents.ComposeLines(lines, vehicle, nil)
	o := OrderRequest{Name: fmt.Sprintf("Vorgang %d", req.Number), Unique: key, Reminder: "7d", Tags: []string{"jobmanager"}}
	for _, l := range lines {
		switch {
		case l.AmountCents > 0:
			o.Assets = append(o.Assets, Asset{Label: l.Text, Amount: l.AmountCents})
			o.Price += l.AmountCents
		case l.AmountCents < 0:
			o.Payments = append(o.Payments, Payment{Label: l.Text, Amount: -l.AmountCents, Confirmed: true})
		}
	}
	if total := money.Sum(lines).GrossCents; total <= 0 {
		return OrderRequest{}, Customer{}, invalid("payment order %s: nothing to pay (total %s)", key, money.Format(total))
	}
	at := req.At
	if at.IsZero() {
		at = time.Now()
	}
	due := a.DueIn
	if due <= 0 {
		due = 14 * 24 * time.Hour
	}
	o.DueDate = at.Add(due).Format("2006-01-02")
	var c Customer
	if row.CustomerID != "" {
		sc, err := a.Store.GetCustomer(ctx, req.Dealer, row.CustomerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return OrderRequest{}, Customer{}, err
		}
		c = Customer{ID: sc.ID, Email: sc.Email, Phone: sc.Phone}
		c.Firstname, c.Lastname = splitName(sc.Name)
	}
	return o, c, nil
}

// splitName takes the last word as the last name.
func splitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	i := strings.LastIndex(name, " ")
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// GetPaymentOrder reads the order of key from the provider and stores its status and
// amounts: the poll the workflow falls back to when no webhook arrives. Register it
// under ActivityGetOrder.
func (a *Activities) GetPaymentOrder(ctx context.Context, key string) (PaymentOrder, error) {
	p, err := a.Store.GetPaymentOrder(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return PaymentOrder{}, invalid("payment order %s: %v", key, err)
	}
	if err != nil {
		return PaymentOrder{}, err
	}
	if p.OrderID == "" {
		return PaymentOrder{}, invalid("payment order %s was never created at the provider", key)
	}
	client, err := a.Clients.ClientFor(ctx, p.Dealer)
	if err != nil {
		return PaymentOrder{}, fmt.Errorf("payment order %s: %w", key, err)
	}
	o, err := client.GetOrder(ctx, p.OrderID)
	if err != nil {
		return PaymentOrder{}, fmt.Errorf("payment order %s: %w", key, err)
	}
	return a.save(ctx, key, o)
}

func (a *Activities) save(ctx context.Context, key string, o Order) (PaymentOrder, error) {
	p, err := a.Store.SavePaymentOrder(ctx, store.PaymentOrder{
		UniqueKey: key, OrderID: o.ID, Link: o.Link, Status: o.Status,
		PriceCents: o.Price, PaidCents: o.Paid, RemainingCents: o.Remaining,
	})
	if err != nil {
		return PaymentOrder{}, err
	}
	return fromStore(p), nil
}

// Received is a verified webhook, recorded.
type Received struct {
	Event Event
	Order store.PaymentOrder
	// First is false for an event seen before: nothing changed.
	First bool
	// Signal is what to signal to the job's workflow (job.SignalPaymentReceived),
	// keyed by the event ID so the workflow counts it once too.
	Signal job.PaymentReceived
}

// Receive verifies a webhook with the dealer's secret and records its event once. The
// API answers ErrBadSignature with 401, store.ErrNotFound (an order no job has) with
// 404 or 200 as it prefers, and signals Received.Signal to job.WorkflowID(Order.Dealer,
// Order.Number) when First.
func Receive(ctx context.Context, st *store.Store, secret string, body []byte, header string) (Received, error) {
	ev, err := VerifyWebhook(secret, body, header)
	if err != nil {
		return Received{}, err
	}
	order, first, err := st.RecordPaymentEvent(ctx, store.PaymentEvent{
		EventID: ev.ID, OrderID: ev.OrderID, Status: ev.Status, PaidCents: ev.Paid, RemainingCents: ev.Remaining,
	})
	if err != nil {
		return Received{}, err
	}
	return Received{Event: ev, Order: order, First: first,
		Signal: job.PaymentReceived{Key: ev.ID, AmountCents: ev.Amount, Reference: ev.OrderID,
			PaidCents: ev.Paid, RemainingCents: ev.Remaining, Status: ev.Status}}, nil
}
