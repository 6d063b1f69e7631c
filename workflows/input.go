package workflows

import (
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// StartInput starts a JobWorkflow. It carries the full snapshot of the definition the
// job pins, so the workflow never reads mutable configuration.
type StartInput struct {
	Dealer     string                 `json:"dealer"`
	Number     int64                  `json:"number"`
	Ref        definitions.Ref        `json:"ref"`
	Definition definitions.Definition `json:"definition"`
	Source     job.Source             `json:"source"`
	Vehicle    job.Vehicle            `json:"vehicle"`
	CustomerID string                 `json:"customer_id,omitempty"`
	// LoggedIn is true when the customer who started the job has an account.
	LoggedIn    bool   `json:"logged_in,omitempty"`
	Salesperson string `json:"salesperson,omitempty"`
	// Values are initial field values, such as a callback phone or a marketplace message.
	Values map[string]any `json:"values,omitempty"`
	Actor  job.Actor      `json:"actor"`
	// Carry is the state handed over by continue-as-new, or by a reopen; nil on a
	// fresh start.
	Carry *State `json:"carry,omitempty"`
	// Reopen starts a new run of a closed or canceled job from Carry, its last
	// projected state; Actor is who reopened it.
	Reopen bool `json:"reopen,omitempty"`
	// RequestKey names the request that started this run (a reopen), so the history
	// can tell a retry of that request from a new one.
	RequestKey string `json:"request_key,omitempty"`
}
