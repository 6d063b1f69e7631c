// Package auth says who is calling: staff with a role, a customer (with an account, an
// anonymous session, or a signed link to one job), or an integration with an API token.
// It hashes passwords and tokens, keeps sessions, throttles logins, and provides the gin
// middleware that puts a Principal on every request. What a principal may do with a
// given job is decided by the API handlers, always scoped to the principal's dealer.
package auth

import (
	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/job"
)

// Kind is what sort of caller a principal is.
type Kind string

// Kinds of principals.
const (
	Anonymous   Kind = "anonymous"   // nobody known; may hold an anonymous customer session
	Staff       Kind = "staff"       // a dealer's employee, logged in
	Customer    Kind = "customer"    // a customer: account, anonymous session or signed link
	Integration Kind = "integration" // a system with an API token of one dealer
)

// Role is a staff member's role.
type Role string

// Staff roles, from most to least rights.
const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleSales Role = "sales"
)

// Principal is the caller of one request.
type Principal struct {
	Kind Kind `json:"kind"`
	// Dealer is the tenant the principal belongs to; every query is scoped to it.
	Dealer string `json:"dealer,omitempty"`
	// StaffID and Role are set for staff.
	StaffID string `json:"staff_id,omitempty"`
	Role    Role   `json:"role,omitempty"`
	// CustomerID is set for a customer with an account, or whose anonymous session
	// has been linked to a customer record.
	CustomerID string `json:"customer_id,omitempty"`
	// SessionID identifies an anonymous customer session (before any account).
	SessionID string `json:"session_id,omitempty"`
	// LoggedIn is true for a customer logged in to an account.
	LoggedIn bool `json:"logged_in,omitempty"`
	// JobNumber limits a customer who came through a signed link to that one job.
	JobNumber int64 `json:"job_number,omitempty"`
	// TokenID names the API token of an integration.
	TokenID string `json:"token_id,omitempty"`
}

// IsStaff reports whether the principal is staff of the dealer with one of the roles
// (any role when none are given).
func (p Principal) IsStaff(dealer string, roles ...Role) bool {
	if p.Kind != Staff || p.Dealer != dealer {
		return false
	}
	if len(roles) == 0 {
		return true
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// Actor is the principal as the job workflow records it: a side and an opaque ID.
func (p Principal) Actor() job.Actor {
	switch p.Kind {
	case Staff:
		return job.Actor{Side: job.Staff, ID: p.StaffID}
	case Customer:
		id := p.CustomerID
		if id == "" {
			id = "session:" + p.SessionID
		}
		return job.Actor{Side: job.Customer, ID: id}
	case Integration:
		return job.Actor{Side: job.Staff, ID: "token:" + p.TokenID}
	}
	return job.Actor{}
}

const principalKey = "jobmanager.principal"

// Set puts the principal on the request.
func Set(c *gin.Context, p Principal) { c.Set(principalKey, p) }

// From returns the request's principal; Anonymous when none was set.
func From(c *gin.Context) Principal {
	if v, ok := c.Get(principalKey); ok {
		if p, ok := v.(Principal); ok {
			return p
		}
	}
	return Principal{Kind: Anonymous}
}
