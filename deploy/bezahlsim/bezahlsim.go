// Package bezahlsim simulates bezahl.de for dev and tests: the API of package bezahl
// (orders, order list by unique key, webhooks; header NX-Token) over real HTTP, a pay
// page where a tester pays an order in full or in part, and webhooks signed with
// HMAC-SHA256 of the registered secret. It moves no money; it keeps everything in
// memory.
package bezahlsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/payments/bezahl"
)

// APIPrefix is where the API lives, as in the provider's URLs; a client's BaseURL is
// the server's URL plus APIPrefix.
const APIPrefix = "/nxt/v1/"

// Delivery is one attempt to deliver a webhook.
type Delivery struct {
	EventID string    `json:"event_id"`
	URL     string    `json:"url"`
	Status  int       `json:"status"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// Sim is the simulated provider.
type Sim struct {
	token, orgID string
	// PublicURL is the server's own URL, for payment links.
	PublicURL string
	http      *http.Client

	mu         sync.Mutex
	orders     map[string]*bezahl.Order
	order      []string
	webhooks   []bezahl.Webhook
	events     map[string]bezahl.Event
	deliveries []Delivery
	nextID     int
}

// New returns a simulator for one organisation that accepts token.
func New(token, orgID string) *Sim {
	return &Sim{token: token, orgID: orgID, http: &http.Client{Timeout: 10 * time.Second},
		orders: map[string]*bezahl.Order{}, events: map[string]bezahl.Event{}}
}

// Server is a simulator listening on loopback.
type Server struct {
	*Sim
	URL string
	srv *http.Server
}

// Start serves a new simulator on addr (such as "127.0.0.1:0"); its payment links
// point to the address it listens on.
func Start(addr, token, orgID string) (*Server, error) {
	return StartPublic(addr, "", token, orgID)
}

// StartPublic is Start with payment links under publicURL, for a simulator that
// listens on an address a browser cannot open (0.0.0.0 in a container) while customers
// reach it elsewhere (http://localhost:8090 through a published port). An empty
// publicURL means the listen address; URL stays the listen address either way, since
// that is where clients of the API reach it.
func StartPublic(addr, publicURL, token, orgID string) (*Server, error) {
	if publicURL != "" {
		if u, err := url.Parse(publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("bezahlsim: public URL %q is not an http(s):// URL", publicURL)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bezahlsim: listen on %s: %w", addr, err)
	}
	listenURL := "http://" + ln.Addr().String()
	sim := New(token, orgID)
	sim.PublicURL = listenURL
	if publicURL != "" {
		sim.PublicURL = strings.TrimRight(publicURL, "/")
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Server{Sim: sim, URL: listenURL, srv: srv}, nil
}

// APIURL is the BaseURL for a bezahl.Client.
func (s *Server) APIURL() string { return s.URL + APIPrefix }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Handler serves the API under APIPrefix, the pay page under /pay/{id}, and test
// helpers under /sim/.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	api := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("NX-Token") != s.token {
				apiError(w, http.StatusUnauthorized, "unauthorized", "NX-Token is missing or invalid")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST "+APIPrefix+"order", api(s.createOrder))
	mux.HandleFunc("GET "+APIPrefix+"order", api(s.listOrders))
	mux.HandleFunc("GET "+APIPrefix+"order/{id}", api(s.getOrder))
	mux.HandleFunc("GET "+APIPrefix+"webhook", api(s.listWebhooks))
	mux.HandleFunc("POST "+APIPrefix+"webhook", api(s.addWebhook))
	mux.HandleFunc("DELETE "+APIPrefix+"webhook", api(s.deleteWebhook))
	mux.HandleFunc("GET /pay/{id}", s.payPage)
	mux.HandleFunc("POST /pay/{id}", s.payForm)
	mux.HandleFunc("POST /sim/orders/{id}/pay", s.payJSON)
	mux.HandleFunc("POST /sim/events/{id}/redeliver", s.redeliver)
	mux.HandleFunc("GET /sim/deliveries", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Deliveries()) })
	return mux
}

func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request) {
	var req bezahl.OrderRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	var problems []string
	if req.OrgID != s.orgID {
		problems = append(problems, fmt.Sprintf("orgId: %q is not your organisation", req.OrgID))
	}
	if req.Name == "" {
		problems = append(problems, "name: is empty")
	}
	var sum, settled int64
	for i, a := range req.Assets {
		if a.Label == "" || a.Amount <= 0 {
			problems = append(problems, fmt.Sprintf("assets[%d]: needs a label and a positive amount in cents", i))
		}
		sum += a.Amount
	}
	for _, p := range req.Payments {
		settled += p.Amount
	}
	if len(req.Assets) == 0 || sum != req.Price {
		problems = append(problems, fmt.Sprintf("price: %d is not the sum of the assets (%d)", req.Price, sum))
	}
	if settled >= req.Price {
		problems = append(problems, "payments: settle the whole price; nothing is left to pay")
	}
	if len(problems) > 0 {
		apiError(w, http.StatusUnprocessableEntity, "invalid_order", strings.Join(problems, "; "))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Unique != "" {
		for _, o := range s.orders {
			if o.Unique == req.Unique {
				if req.UniqueModus == "error" {
					apiError(w, http.StatusConflict, "unique", fmt.Sprintf("an order with unique %q exists", req.Unique))
					return
				}
				writeJSON(w, http.StatusOK, o)
				return
			}
		}
	}
	s.nextID++
	id := fmt.Sprintf("ord_%d", s.nextID)
	o := &bezahl.Order{ID: id, OrgID: s.orgID, Name: req.Name, Price: req.Price, Assets: req.Assets, Payments: req.Payments,
		Link: s.PublicURL + "/pay/" + id, Status: bezahl.StatusOpen, Unique: req.Unique, DueDate: req.DueDate,
		Remaining: req.Price - settled}
	s.orders[id] = o
	s.order = append(s.order, id)
	writeJSON(w, http.StatusCreated, o)
}

func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []bezahl.Order{}
	for i := len(s.order) - 1; i >= 0; i-- {
		o := s.orders[s.order[i]]
		if u := q.Get("unique"); u != "" && o.Unique != u {
			continue
		}
		out = append(out, *o)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := s.Order(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "no such order")
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// Order returns an order.
func (s *Sim) Order(id string) (bezahl.Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return bezahl.Order{}, false
	}
	return *o, true
}

// Orders returns every order, oldest first.
func (s *Sim) Orders() []bezahl.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bezahl.Order, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.orders[id])
	}
	return out
}

func (s *Sim) listWebhooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []bezahl.Webhook{}
	for _, h := range s.webhooks {
		h.Secret = ""
		out = append(out, h)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) addWebhook(w http.ResponseWriter, r *http.Request) {
	var h bezahl.Webhook
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&h); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	if h.OrgID != s.orgID || !strings.HasPrefix(h.URL, "http") || len(h.Secret) < 16 {
		apiError(w, http.StatusUnprocessableEntity, "invalid_webhook", "orgId must be yours, url an http(s) URL, secret at least 16 characters")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	h.ID = fmt.Sprintf("wh_%d", s.nextID)
	s.webhooks = append(s.webhooks, h)
	h.Secret = ""
	writeJSON(w, http.StatusCreated, h)
}

func (s *Sim) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range s.webhooks {
		if h.ID == id {
			s.webhooks = append(s.webhooks[:i], s.webhooks[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	apiError(w, http.StatusNotFound, "not_found", "no such webhook")
}

// Pay records a payment of amount cents on the order (at most what remains) and
// delivers the event to every webhook before it returns.
func (s *Sim) Pay(ctx context.Context, orderID string, amount int64) (bezahl.Event, error) {
	s.mu.Lock()
	o, ok := s.orders[orderID]
	if !ok {
		s.mu.Unlock()
		return bezahl.Event{}, fmt.Errorf("no order %q", orderID)
	}
	if amount <= 0 || amount > o.Remaining {
		rem := o.Remaining
		s.mu.Unlock()
		return bezahl.Event{}, fmt.Errorf("amount %s: pay between 0,01 € and the remaining %s", money.Format(amount), money.Format(rem))
	}
	o.Paid += amount
	o.Remaining -= amount
	o.Status = bezahl.StatusReceived
	if o.Remaining == 0 {
		o.Status = bezahl.StatusPaid
	}
	s.nextID++
	ev := bezahl.Event{ID: fmt.Sprintf("evt_%d", s.nextID), Type: bezahl.EventPayment, OrderID: o.ID, Unique: o.Unique,
		Status: o.Status, Amount: amount, Paid: o.Paid, Remaining: o.Remaining, At: time.Now().UTC()}
	s.events[ev.ID] = ev
	s.mu.Unlock()
	s.deliver(ctx, ev)
	return ev, nil
}

// Redeliver sends an event again, as a provider does when it is unsure it arrived.
func (s *Sim) Redeliver(ctx context.Context, eventID string) error {
	s.mu.Lock()
	ev, ok := s.events[eventID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("no event %q", eventID)
	}
	s.deliver(ctx, ev)
	return nil
}

// Deliveries returns every delivery attempt, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// deliver posts the event to every webhook, signed with its secret, trying each up to
// three times until it answers 2xx.
func (s *Sim) deliver(ctx context.Context, ev bezahl.Event) {
	body, _ := json.Marshal(ev)
	s.mu.Lock()
	hooks := append([]bezahl.Webhook(nil), s.webhooks...)
	s.mu.Unlock()
	for _, h := range hooks {
		for attempt := range 3 {
			if attempt > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
				}
			}
			d := Delivery{EventID: ev.ID, URL: h.URL, At: time.Now().UTC()}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(bezahl.SignatureHeader, bezahl.Sign(h.Secret, body))
				var resp *http.Response
				if resp, err = s.http.Do(req); err == nil {
					d.Status = resp.StatusCode
					resp.Body.Close()
				}
			}
			if err != nil {
				d.Error = err.Error()
			}
			s.mu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.mu.Unlock()
			if d.Status >= 200 && d.Status < 300 {
				break
			}
		}
	}
}

func (s *Sim) payJSON(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AmountCents int64 `json:"amount_cents"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	if in.AmountCents == 0 {
		if o, ok := s.Order(r.PathValue("id")); ok {
			in.AmountCents = o.Remaining
		}
	}
	ev, err := s.Pay(r.Context(), r.PathValue("id"), in.AmountCents)
	if err != nil {
		apiError(w, http.StatusUnprocessableEntity, "invalid_payment", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

func (s *Sim) redeliver(w http.ResponseWriter, r *http.Request) {
	if err := s.Redeliver(r.Context(), r.PathValue("id")); err != nil {
		apiError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type payView struct {
	Order     bezahl.Order
	Price     string
	Paid      string
	Remaining string
	Message   string
	Error     string
}

func (s *Sim) payPage(w http.ResponseWriter, r *http.Request) {
	s.renderPay(w, r.PathValue("id"), r.URL.Query().Get("msg"), "")
}

func (s *Sim) renderPay(w http.ResponseWriter, id, msg, errMsg string) {
	o, ok := s.Order(id)
	if !ok {
		http.Error(w, "Diese Zahlungsanforderung gibt es nicht.", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if errMsg != "" {
		w.WriteHeader(http.StatusUnprocessableEntity)
	}
	_ = payTemplate.Execute(w, payView{Order: o, Price: money.Format(o.Price), Paid: money.Format(o.Paid),
		Remaining: money.Format(o.Remaining), Message: msg, Error: errMsg})
}

// payForm takes the pay page's form: "full" pays what remains, else "amount" in euros
// with a decimal comma (such as "1.234,50").
func (s *Sim) payForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		s.renderPay(w, id, "", "Formular unlesbar: "+err.Error())
		return
	}
	o, ok := s.Order(id)
	if !ok {
		http.Error(w, "Diese Zahlungsanforderung gibt es nicht.", http.StatusNotFound)
		return
	}
	amount := o.Remaining
	if r.PostForm.Get("full") == "" {
		cents, err := parseEuros(r.PostForm.Get("amount"))
		if err != nil {
			s.renderPay(w, id, "", err.Error())
			return
		}
		amount = cents
	}
	if _, err := s.Pay(r.Context(), id, amount); err != nil {
		s.renderPay(w, id, "", err.Error())
		return
	}
	http.Redirect(w, r, "/pay/"+id+"?msg="+strings.ReplaceAll(money.Format(amount), " ", "+")+"+bezahlt", http.StatusSeeOther)
}

// parseEuros reads "1.234,50", "1234,5" or "1234" as cents.
func parseEuros(s string) (int64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "€")), ".", "")
	whole, frac, _ := strings.Cut(s, ",")
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q: at most two decimals", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	e, err1 := strconv.ParseInt(whole, 10, 64)
	c, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || e < 0 {
		return 0, fmt.Errorf("amount %q is not a number like 1.234,50", s)
	}
	return e*100 + c, nil
}

var payTemplate = template.Must(template.New("pay").Parse(`<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>{{.Order.Name}} bezahlen</title>
<style>body{font-family:sans-serif;margin:2em;max-width:40em}td{padding:.2em .8em}.err{color:#a00}.ok{color:#070}</style></head><body>
<h1>{{.Order.Name}}</h1>
<p>bezahl.de-Simulator: hier fließt kein Geld.</p>
{{if .Message}}<p class="ok">{{.Message}}</p>{{end}}
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<table>
{{range .Order.Assets}}<tr><td>{{.Label}}</td></tr>{{end}}
<tr><td>Preis</td><td>{{.Price}}</td></tr>
<tr><td>Bezahlt</td><td>{{.Paid}}</td></tr>
<tr><td><strong>Offen</strong></td><td><strong>{{.Remaining}}</strong></td></tr>
<tr><td>Status</td><td>{{.Order.Status}}</td></tr>
</table>
{{if gt .Order.Remaining 0}}
<form method="post">
<p><button name="full" value="1">Alles bezahlen ({{.Remaining}})</button></p>
<p><label>Teilbetrag in €: <input name="amount" placeholder="1.000,00"></label> <button>Teilbetrag bezahlen</button></p>
</form>
{{else}}<p class="ok">Vollständig bezahlt.</p>{{end}}
</body></html>`))

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}
