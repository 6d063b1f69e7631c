package workflows

import (
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
)

// maxKeys bounds the remembered request keys; a job sees far fewer actions, and a retry
// comes minutes, not thousands of actions, after its first attempt.
const maxKeys = 2000

// State is everything a job is, carried over by continue-as-new.
type State struct {
	Phase       string           `json:"phase"`
	Status      job.Status       `json:"status"`
	Turn        definitions.Turn `json:"turn"`
	Values      map[string]any   `json:"values"`
	Salesperson string           `json:"salesperson,omitempty"`
	Location    string           `json:"location,omitempty"`
	// Seq numbers the job's history entries; it only grows.
	Seq int64 `json:"seq"`
	// StaffSubmitted and CustomerSubmitted say whether each side has submitted the
	// current phase; activation resets them.
	StaffSubmitted    bool `json:"staff_submitted,omitempty"`
	CustomerSubmitted bool `json:"customer_submitted,omitempty"`
	// Visited lists activated phases in order.
	Visited []string `json:"visited,omitempty"`
	// Keys are processed request and payment keys with the result they gave, oldest
	// first, so a repeated request answers the same and changes nothing.
	Keys []job.Answer `json:"keys,omitempty"`
	// PaidCents sums the payments received.
	PaidCents int64 `json:"paid_cents,omitempty"`
	// CustomerID and LoggedIn are set when a customer is linked to the job after it
	// started (an anonymous parker who registers); empty means the start input's.
	CustomerID string `json:"customer_id,omitempty"`
	LoggedIn   bool   `json:"logged_in,omitempty"`
	// SoldOn is the date (YYYY-MM-DD) the job was sold, when staff gave one.
	SoldOn string `json:"sold_on,omitempty"`
	// Ref and Definition are set when staff moved the job to another published
	// version; nil means the version the job started with.
	Ref        *definitions.Ref        `json:"ref,omitempty"`
	Definition *definitions.Definition `json:"definition,omitempty"`
	// Payment is the job's payment order once one was created.
	Payment *Payment `json:"payment,omitempty"`
	// InvoiceLines are the job's invoice lines (Rechnungsdaten) as last saved.
	InvoiceLines []money.Line `json:"invoice_lines,omitempty"`
}

// Payment is what the job keeps of its payment order: keys, link and amounts in cents.
type Payment struct {
	Key            string `json:"key"`
	OrderID        string `json:"order_id"`
	Phase          string `json:"phase"`
	Link           string `json:"link"`
	Status         string `json:"status"`
	PriceCents     int64  `json:"price_cents"`
	PaidCents      int64  `json:"paid_cents"`
	RemainingCents int64  `json:"remaining_cents"`
}

// Settled reports whether nothing more will be paid.
func (p *Payment) Settled() bool {
	return p.Status == "paid" || p.Status == "closed" || (p.PriceCents > 0 && p.RemainingCents == 0 && p.PaidCents >= p.PriceCents)
}

func (s *State) processed(key string) (job.Result, bool) {
	if key == "" {
		return job.Result{}, false
	}
	return job.Final{Answers: s.Keys}.AnswerFor(key)
}

func (s *State) remember(key string, r job.Result) {
	if key == "" {
		return
	}
	s.Keys = append(s.Keys, job.Answer{Key: key, Result: r})
	if len(s.Keys) > maxKeys {
		s.Keys = append([]job.Answer(nil), s.Keys[len(s.Keys)-maxKeys:]...)
	}
}

func (s *State) result() job.Result {
	return job.Result{Seq: s.Seq, Phase: s.Phase, Status: s.Status, Turn: s.Turn}
}
