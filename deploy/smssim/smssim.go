// Package smssim simulates an SMS provider for dev and tests: the JSON API of
// sms.HTTPProvider over real HTTP, recording every message, dropping repeats by
// idempotency key, and failing on request. It sends no SMS anywhere.
package smssim

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jobmanager/jobmanager/sms"
)

// Sent is a message the simulator accepted.
type Sent struct {
	ID             string    `json:"id"`
	To             string    `json:"to"`
	Text           string    `json:"text"`
	IdempotencyKey string    `json:"idempotency_key"`
	At             time.Time `json:"at"`
}

// Sim is the simulated provider. Its zero value is not usable; call New.
type Sim struct {
	token string

	mu       sync.Mutex
	sent     []Sent
	byKey    map[string]string
	failures []int
	posts    int
}

// New returns a simulator that accepts the bearer token.
func New(token string) *Sim {
	return &Sim{token: token, byKey: map[string]string{}}
}

// Server is a simulator listening on loopback.
type Server struct {
	*Sim
	URL string
	srv *http.Server
}

// Start serves a new simulator on addr (such as "127.0.0.1:0"); its URL is the base
// URL for sms.HTTPProvider.
func Start(addr, token string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smssim: listen on %s: %w", addr, err)
	}
	sim := New(token)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Server{Sim: sim, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// FailNext makes the next n posts answer with status (such as 503) without sending.
func (s *Sim) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, status)
	}
}

// Sent returns the messages sent, oldest first; a repeated key appears once.
func (s *Sim) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Posts counts every POST /messages the simulator answered, repeats and failures
// included.
func (s *Sim) Posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts
}

// ServeHTTP serves POST /messages (send) and GET /messages (list, for the dev inbox
// and tests).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/messages" {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.Sent())
	case http.MethodPost:
		s.send(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
	}
}

func (s *Sim) send(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
		return
	}
	var m sms.Message
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	var problems []string
	if !strings.HasPrefix(m.To, "+") || len(m.To) < 8 {
		problems = append(problems, fmt.Sprintf("to: %q is not an international number (+49...)", m.To))
	}
	if m.Text == "" {
		problems = append(problems, "text: is empty")
	}
	if m.IdempotencyKey == "" {
		problems = append(problems, "idempotency_key: is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	if len(s.failures) > 0 {
		status := s.failures[0]
		s.failures = s.failures[1:]
		writeJSON(w, status, map[string]string{"error": "simulated failure"})
		return
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": strings.Join(problems, "; ")})
		return
	}
	if id, ok := s.byKey[m.IdempotencyKey]; ok {
		writeJSON(w, http.StatusOK, sms.Receipt{ID: id, Duplicate: true})
		return
	}
	id := fmt.Sprintf("sms-%d", len(s.sent)+1)
	s.byKey[m.IdempotencyKey] = id
	s.sent = append(s.sent, Sent{ID: id, To: m.To, Text: m.Text, IdempotencyKey: m.IdempotencyKey, At: time.Now().UTC()})
	writeJSON(w, http.StatusCreated, sms.Receipt{ID: id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
