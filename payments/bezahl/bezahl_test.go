package bezahl_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/bezahlsim"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

const secret = "webhook-secret-0123456789"

type env struct {
	st  *store.Store
	sim *bezahlsim.Server
	cl  *bezahl.Client
	act *bezahl.Activities
	n   int64
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st := pgtest.New(t)
	_, err := st.CreateDealer(ctx, store.Dealer{ID: "autohaus", Name: "Autohaus"})
	require.NoError(t, err)
	c, err := st.CreateCustomer(ctx, store.Customer{Dealer: "autohaus", Name: "Erika Maria Mustermann", Email: "erika@example.test"})
	require.NoError(t, err)
	v, err := st.CreateVehicle(ctx, "autohaus", job.Vehicle{Number: "F-1", Make: "VW", Model: "Golf", PriceCents: 2000000})
	require.NoError(t, err)
	n, _, err := st.AllocateJob(ctx, "autohaus", "", "", job.Row{Phase: "zahlung", Source: job.SourceManual, VehicleID: v.ID, CustomerID: c.ID,
		Definition: definitions.Ref{Workflow: "w", Version: 1, Hash: "h"}})
	require.NoError(t, err)
	require.NoError(t, st.SetInvoiceLines(ctx, "autohaus", n, []money.Line{
		{Text: "Kaufpreis VW Golf", AmountCents: 2000000, TaxRate: 19},
		{Text: "Fußmatten", AmountCents: 10700, TaxRate: 7},
		{Text: "Inzahlungnahme Opel", AmountCents: -500000, TaxRate: 0},
	}))
	sim, err := bezahlsim.Start("127.0.0.1:0", "nx-token", "org-1")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	cl := &bezahl.Client{BaseURL: sim.APIURL(), Token: "nx-token", OrgID: "org-1"}
	return &env{st: st, sim: sim, cl: cl, n: n, act: &bezahl.Activities{Store: st, Clients: bezahl.StaticClient{Client: cl}}}
}

func TestCreatePaymentOrderOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	req := bezahl.PaymentRequest{Dealer: "autohaus", Number: e.n, Phase: "zahlung", At: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)}

	crashed := false
	e.act.FaultAfterCreate = func(string) error {
		if crashed {
			return nil
		}
		crashed = true
		return errors.New("worker died after the provider created the order")
	}
	_, err := e.act.CreatePaymentOrder(ctx, req)
	require.Error(t, err)
	p, err := e.act.CreatePaymentOrder(ctx, req)
	require.NoError(t, err)
	again, err := e.act.CreatePaymentOrder(ctx, req)
	require.NoError(t, err)
	require.Equal(t, p, again)

	orders := e.sim.Orders()
	require.Len(t, orders, 1, "the provider has exactly one order")
	o := orders[0]
	require.Equal(t, bezahl.Key("autohaus", e.n, "zahlung"), o.Unique)
	require.Equal(t, "Vorgang 1", o.Name)
	require.Equal(t, int64(2010700), o.Price)
	require.Equal(t, []bezahl.Asset{{Label: "Kaufpreis VW Golf", Amount: 2000000}, {Label: "Fußmatten", Amount: 10700}}, o.Assets)
	require.Equal(t, []bezahl.Payment{{Label: "Inzahlungnahme Opel", Amount: 500000, Confirmed: true}}, o.Payments)
	require.Equal(t, "2026-11-17", o.DueDate)
	require.Equal(t, o.ID, p.OrderID)
	require.Equal(t, o.Link, p.Link)
	require.Equal(t, int64(1510700), p.RemainingCents, "the customer pays the gross total, trade-in deducted")
	require.Equal(t, bezahl.StatusOpen, p.Status)

	latest, err := e.st.LatestPaymentOrder(ctx, "autohaus", e.n)
	require.NoError(t, err)
	require.Equal(t, p.Link, latest.Link, "message templates find the link")

	_, err = e.act.CreatePaymentOrder(ctx, bezahl.PaymentRequest{Dealer: "autohaus", Number: 77, Phase: "zahlung"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr) && appErr.NonRetryable(), "%v", err)
}

// api stands for the API's webhook route: verify, record, and count signals.
type api struct {
	st      *store.Store
	mu      sync.Mutex
	signals []job.PaymentReceived
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec, err := bezahl.Receive(r.Context(), a.st, secret, body, r.Header.Get(bezahl.SignatureHeader))
	switch {
	case errors.Is(err, bezahl.ErrBadSignature):
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rec.First {
		a.mu.Lock()
		a.signals = append(a.signals, rec.Signal)
		a.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func TestWebhooksPartialThenFull(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	p, err := e.act.CreatePaymentOrder(ctx, bezahl.PaymentRequest{Dealer: "autohaus", Number: e.n, Phase: "zahlung"})
	require.NoError(t, err)
	a := &api{st: e.st}
	hook := httptest.NewServer(a)
	defer hook.Close()
	wh, err := e.cl.RegisterWebhook(ctx, hook.URL+"/webhooks/bezahl", secret)
	require.NoError(t, err)
	require.NotEmpty(t, wh.ID)
	hooks, err := e.cl.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Empty(t, hooks[0].Secret, "the provider never shows the secret again")

	// The customer pays part of it on the pay page.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(p.Link, url.Values{"amount": {"10.700,00"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	order, err := e.st.GetPaymentOrder(ctx, p.Key)
	require.NoError(t, err)
	require.Equal(t, bezahl.StatusReceived, order.Status)
	require.Equal(t, int64(1070000), order.PaidCents)
	require.Equal(t, int64(440700), order.RemainingCents)
	require.Len(t, a.signals, 1)
	first := a.signals[0]
	require.Equal(t, int64(1070000), first.AmountCents)
	require.Equal(t, p.OrderID, first.Reference)

	// The provider delivers the same event again: recorded once, no second signal.
	require.NoError(t, e.sim.Redeliver(ctx, first.Key))
	require.Len(t, a.signals, 1)

	// A forged webhook gets 401 and changes nothing.
	forged := `{"id":"evt_forged","type":"order.payment","orderId":"` + p.OrderID + `","status":"paid","amount":440700,"paid":1510700,"remaining":0}`
	for _, sig := range []string{bezahl.Sign("wrong-secret", []byte(forged)), "", "sha256=zz", bezahl.Sign(secret, []byte(forged+" "))} {
		req, _ := http.NewRequest(http.MethodPost, hook.URL, strings.NewReader(forged))
		req.Header.Set(bezahl.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, sig)
	}
	order, err = e.st.GetPaymentOrder(ctx, p.Key)
	require.NoError(t, err)
	require.Equal(t, int64(440700), order.RemainingCents)

	// The rest, through the page's "pay all" button.
	page, err := http.Get(p.Link)
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Contains(t, string(html), "4.407,00 €")
	resp, err = noRedirect.PostForm(p.Link, url.Values{"full": {"1"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	order, err = e.st.GetPaymentOrder(ctx, p.Key)
	require.NoError(t, err)
	require.Equal(t, bezahl.StatusPaid, order.Status)
	require.Equal(t, int64(0), order.RemainingCents)
	require.Len(t, a.signals, 2)
	require.Equal(t, int64(440700), a.signals[1].AmountCents)

	// Polling, as the workflow does when no webhook comes, sees the same.
	polled, err := e.act.GetPaymentOrder(ctx, p.Key)
	require.NoError(t, err)
	require.True(t, polled.Settled())
	require.Equal(t, int64(1510700), polled.PaidCents)

	// Paying more than remains is refused.
	_, err = e.sim.Pay(ctx, p.OrderID, 1)
	require.Error(t, err)
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":"evt_1","orderId":"ord_1","status":"paid","amount":5,"paid":5,"remaining":0}`)
	ev, err := bezahl.VerifyWebhook(secret, body, bezahl.Sign(secret, body))
	require.NoError(t, err)
	require.Equal(t, "evt_1", ev.ID)
	require.Equal(t, int64(5), ev.Paid)
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
	}{
		"wrong secret": {"other-secret-000000", bezahl.Sign(secret, body), body},
		"tampered":     {secret, bezahl.Sign(secret, body), []byte(strings.Replace(string(body), `"paid":5`, `"paid":9`, 1))},
		"no prefix":    {secret, strings.TrimPrefix(bezahl.Sign(secret, body), "sha256="), body},
		"no secret":    {"", bezahl.Sign("", body), body},
	} {
		_, err := bezahl.VerifyWebhook(c.secret, c.body, c.header)
		require.ErrorIs(t, err, bezahl.ErrBadSignature, name)
	}
	bad := []byte(`{"id":""}`)
	_, err = bezahl.VerifyWebhook(secret, bad, bezahl.Sign(secret, bad))
	require.Error(t, err)
	require.NotErrorIs(t, err, bezahl.ErrBadSignature)
}

func TestClientErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	bad := &bezahl.Client{BaseURL: e.sim.APIURL(), Token: "wrong", OrgID: "org-1"}
	_, err := bad.GetOrder(ctx, "ord_1")
	var apiErr *bezahl.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnauthorized, apiErr.Status)
	require.False(t, bezahl.Temporary(err))

	req := bezahl.OrderRequest{Name: "x", Price: 100, Assets: []bezahl.Asset{{Label: "a", Amount: 100}}, Unique: "u-1"}
	_, err = e.cl.CreateOrder(ctx, req)
	require.NoError(t, err)
	_, err = e.cl.CreateOrder(ctx, req)
	require.ErrorIs(t, err, bezahl.ErrUniqueTaken)
	found, err := e.cl.FindOrderByUnique(ctx, "u-1")
	require.NoError(t, err)
	require.Equal(t, int64(100), found.Price)
	_, err = e.cl.FindOrderByUnique(ctx, "u-2")
	require.ErrorIs(t, err, bezahl.ErrNoOrder)
	req.Unique, req.Price = "u-3", 99
	_, err = e.cl.CreateOrder(ctx, req)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
	require.Contains(t, apiErr.Message, "price: 99 is not the sum of the assets (100)")
}
