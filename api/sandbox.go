package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// The sandbox: an owner or admin starts a test job on a workflow as the dealer's
// catalog resolves it now (the draft, unpublished), and plays the customer in a second
// tab through the signed link the answer carries.
//
// A test job is an ordinary job for the workflow (which knows nothing of tests): it
// pins the resolved definition as version 0 with its hash (store.SaveTestDefinition;
// published versions start at 1), its read-model row is marked test (lists leave it
// out unless asked), its customer is a test customer with the acting staff member's
// name and address, and its salesperson is that staff member: every e-mail of the job
// reaches only them. The messages service marks the e-mails of test jobs and sends
// their SMS to nobody (package messages).

// SandboxLinkTTL is how long the customer link of a test job is valid.
const SandboxLinkTTL = 7 * 24 * time.Hour

// SandboxBody is the optional body of POST /admin/workflows/:key/sandbox.
type SandboxBody struct {
	// VehicleID is the test job's vehicle; the dealer's first vehicle when empty.
	VehicleID string `json:"vehicle_id,omitempty"`
}

// SandboxJob answers POST /admin/workflows/:key/sandbox: the test job, the definition
// it pins, and the signed link that opens its parking page as its customer.
type SandboxJob struct {
	JobCreated
	Definition definitions.Ref `json:"definition"`
	// CustomerLink opens the job's parking page with a customer session limited to
	// the job: PublicURL + /shop/<dealer>/link/<token>, a path when PublicURL is unset.
	CustomerLink string `json:"customer_link"`
	// CustomerEmail is where the job's messages to the customer go: the acting staff
	// member's own address.
	CustomerEmail string `json:"customer_email"`
}

// sandboxJob starts a test job on the path's workflow as it resolves now. A workflow
// that could not be published is refused with its problems, as publish refuses it. A
// repeat with the same Idempotency-Key answers the same job with a new link: the
// answer holds a secret, so it is not stored.
func (s *server) sandboxJob(c *gin.Context) {
	var b SandboxBody
	if !decodeJSON(c, &b) {
		return
	}
	ctx := c.Request.Context()
	p := auth.From(c)
	dealer, err := s.store.GetDealer(ctx, c.Param("dealer"))
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", c.Param("dealer")))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	key := c.Param("key")
	d, hash, ok := s.resolveValid(c, func(ps definitions.Problems) Problem {
		return problem(http.StatusUnprocessableEntity, ProblemInvalid, "sandbox_invalid", problemFields(ps)...).
			with("workflow", key, "count", strconv.Itoa(len(ps)))
	})
	if !ok {
		return
	}
	vehicle, ok := s.sandboxVehicle(c, dealer.ID, b.VehicleID)
	if !ok {
		return
	}
	me, err := s.store.GetStaffUser(ctx, dealer.ID, p.StaffID)
	if err != nil {
		internal(c, err)
		return
	}
	// The staff member plays the customer: their own test customer record, so the
	// job's messages to the customer reach their address.
	cust, err := s.store.TestCustomer(ctx, dealer.ID, me.Name, me.Email)
	if err != nil {
		internal(c, err)
		return
	}
	ref, err := s.store.SaveTestDefinition(ctx, dealer.ID, d, hash)
	if err != nil {
		internal(c, err)
		return
	}
	version := definitions.Version{Workflow: ref.Workflow, Number: ref.Version, State: definitions.Draft, Hash: ref.Hash, Definition: d}
	s.startJob(c, dealer, version, newJob{
		Source: job.SourceManual, Actor: p.Actor(), Vehicle: vehicle, Customer: &cust, Test: true, Salesperson: me.ID,
		// The key is the staff member's own; the fingerprint leaves the draft out, so a
		// retry after the draft changed still finds the job it started (which keeps the
		// definition it pinned).
		Key: "sandbox/staff:" + me.ID + "/" + idempotencyKey(c), Fingerprint: fingerprint(struct {
			Workflow string      `json:"workflow"`
			Body     SandboxBody `json:"body"`
		}{key, b}),
		respond: func(c *gin.Context, status int, created JobCreated) {
			row, err := s.store.GetJob(c.Request.Context(), created.Dealer, created.Number)
			if err != nil {
				internal(c, err)
				return
			}
			token, err := auth.NewJobLink(c.Request.Context(), s.store, created.Dealer, created.Number, row.CustomerID, SandboxLinkTTL)
			if err != nil {
				internal(c, err)
				return
			}
			c.JSON(status, SandboxJob{JobCreated: created, Definition: row.Definition, CustomerEmail: cust.Email,
				CustomerLink: s.publicURL + "/shop/" + url.PathEscape(created.Dealer) + "/link/" + url.PathEscape(token)})
		},
	})
}

// sandboxVehicle is the test job's vehicle: the one named, which must be live, or the
// dealer's first.
func (s *server) sandboxVehicle(c *gin.Context, dealer, id string) (job.Vehicle, bool) {
	ctx := c.Request.Context()
	if id != "" {
		v, err := s.store.LiveVehicle(ctx, dealer, id)
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "sandbox_invalid_body",
				field("vehicle_id", "no_vehicle", "vehicle", id)))
			return job.Vehicle{}, false
		}
		if err != nil {
			internal(c, err)
			return job.Vehicle{}, false
		}
		return v, true
	}
	vs, err := s.store.ListVehicles(ctx, dealer)
	if err != nil {
		internal(c, err)
		return job.Vehicle{}, false
	}
	if len(vs) == 0 {
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "sandbox_no_vehicle").with("dealer", dealer))
		return job.Vehicle{}, false
	}
	return vs[0], true
}
