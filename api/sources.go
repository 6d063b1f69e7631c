package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workflows"
)

// The job sources: a customer parks a vehicle from the dealer's public vehicle list or
// asks for a call back (both public, anonymous or logged in), a marketplace inquiry
// arrives from an integration, or staff start a job by hand (POST /jobs, api/jobs.go).
// Every source starts its job through startJob. Here too: the customer's parking list
// and the link of anonymously started jobs to the customer who logs in later.

// RateLimit allows Limit requests per client within Window.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// DefaultCallbackLimit is how many call-back requests one client IP may make.
var DefaultCallbackLimit = RateLimit{Limit: 5, Window: 10 * time.Minute}

// PublicVehicle is a vehicle as the dealer's public site shows it: no purchase price,
// notes or other internal data.
type PublicVehicle struct {
	ID         string   `json:"id"`
	Number     string   `json:"number"`
	Make       string   `json:"make"`
	Model      string   `json:"model"`
	PriceCents int64    `json:"price_cents"`
	Location   string   `json:"location"`
	Extras     []string `json:"extras"`
}

// PublicVehicleList answers GET .../public/vehicles.
type PublicVehicleList struct {
	Vehicles []PublicVehicle `json:"vehicles"`
}

// ParkBody is the body of POST .../public/park.
type ParkBody struct {
	VehicleID string `json:"vehicle_id"`
}

// CallbackBody is the body of POST .../public/callback. Without a vehicle the
// dealer's setting callback_vehicle names it.
type CallbackBody struct {
	Phone     string `json:"phone"`
	Name      string `json:"name,omitempty"`
	Message   string `json:"message,omitempty"`
	VehicleID string `json:"vehicle_id,omitempty"`
}

// MarketplaceInquiry is the body of POST .../integrations/marketplace-inquiries.
type MarketplaceInquiry struct {
	// Marketplace is mobile.de or autoscout24.
	Marketplace string `json:"marketplace"`
	// ListingID is the vehicle's listing ID on the marketplace.
	ListingID string `json:"listing_id"`
	// InquiryID is the marketplace's ID of the inquiry; without it the inquiry's
	// content identifies it.
	InquiryID  string `json:"inquiry_id,omitempty"`
	SenderName string `json:"sender_name,omitempty"`
	Email      string `json:"email"`
	Phone      string `json:"phone,omitempty"`
	Message    string `json:"message,omitempty"`
}

// CustomerJob is one job of the parking page's list: nothing staff-only (no
// salesperson, no location of the job, no field values), the vehicle as the public
// site shows it.
type CustomerJob struct {
	Number    int64            `json:"number"`
	Phase     job.PhaseRef     `json:"phase"`
	Status    job.Status       `json:"status"`
	Turn      definitions.Turn `json:"turn"`
	UpdatedAt time.Time        `json:"updated_at"`
	Vehicle   PublicVehicle    `json:"vehicle"`
}

// CustomerJobList answers GET .../customer/jobs.
type CustomerJobList struct {
	Jobs []CustomerJob `json:"jobs"`
}

// maxIDLen bounds identifiers from outside: listing and inquiry IDs.
const maxIDLen = 200

// sourceRoutes registers the public routes, the marketplace import and the parking
// list below the dealer's group. Parking and call-backs start jobs, which make the
// Idempotency-Key count themselves (requireIdempotencyKey); a marketplace inquiry
// names itself by its ID or content and takes no key.
func (s *server) sourceRoutes(dealer *gin.RouterGroup) {
	public := dealer.Group("/public")
	public.GET("/vehicles", s.publicVehicles)
	public.POST("/park", s.requireIdempotencyKey, s.park)
	public.POST("/callback", s.requireIdempotencyKey, s.callback)

	dealer.POST("/integrations/marketplace-inquiries", auth.RequireIntegration(), s.marketplaceInquiry)
	dealer.GET("/customer/jobs", auth.RequireCustomer(), s.customerJobs)
}

func publicVehicle(v job.Vehicle) PublicVehicle {
	extras := v.Extras
	if extras == nil {
		extras = []string{}
	}
	return PublicVehicle{ID: v.ID, Number: v.Number, Make: v.Make, Model: v.Model, PriceCents: v.PriceCents, Location: v.Location, Extras: extras}
}

func (s *server) publicVehicles(c *gin.Context) {
	if !s.knownDealer(c) {
		return
	}
	vs, err := s.store.ListVehicles(c.Request.Context(), c.Param("dealer"))
	if err != nil {
		internal(c, err)
		return
	}
	out := PublicVehicleList{Vehicles: make([]PublicVehicle, len(vs))}
	for i, v := range vs {
		out.Vehicles[i] = publicVehicle(v)
	}
	c.JSON(http.StatusOK, out)
}

// newJob is a job to start, whatever its source.
type newJob struct {
	Source  job.Source
	Actor   job.Actor
	Vehicle job.Vehicle
	// Customer is the job's customer; nil for none yet.
	Customer *store.Customer
	// LoggedIn is true when the customer starts the job logged in to the account.
	LoggedIn bool
	// Values are initial field values by field key, normalized against the definition.
	Values map[string]any
	// Key and Fingerprint make the start idempotent (store.AllocateJob); each source
	// scopes Key as it needs.
	Key         string
	Fingerprint string
	// Session is the anonymous customer session the job is kept under, or "".
	Session string
	// Test marks a test job of the sandbox (api/sandbox.go); Salesperson, when set,
	// is the job's salesperson instead of the one jobSalesperson picks.
	Test        bool
	Salesperson string
	// respond, when set, answers instead of the JobCreated every source answers with.
	respond func(c *gin.Context, status int, created JobCreated)
	// prepare, when set, runs once for a request not seen before, just before the job
	// takes its number: the place for what a repeat must not do again (count against
	// a rate limit, create a customer). It may set Customer. A problem it returns is
	// the answer; the job is not created.
	prepare func(ctx context.Context, nj *newJob) (*Problem, error)
}

// activeDefinition loads the path's dealer and the published version new jobs pin; it
// answers 404 for an unknown dealer and 409 when the dealer has no active workflow.
func (s *server) activeDefinition(c *gin.Context) (store.Dealer, definitions.Version, bool) {
	ctx := c.Request.Context()
	dealerID := c.Param("dealer")
	dealer, err := s.store.GetDealer(ctx, dealerID)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", dealerID))
		return store.Dealer{}, definitions.Version{}, false
	}
	if err != nil {
		internal(c, err)
		return store.Dealer{}, definitions.Version{}, false
	}
	version, err := s.store.ActiveDefinition(ctx, dealer.ID)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "no_active_workflow").with("dealer", dealer.ID))
		return store.Dealer{}, definitions.Version{}, false
	}
	if err != nil {
		internal(c, err)
		return store.Dealer{}, definitions.Version{}, false
	}
	return dealer, version, true
}

// jobSalesperson is who a new job of the customer is assigned to: the customer's own
// salesperson when the dealer says so, else the dealer's default.
func jobSalesperson(d store.Dealer, c *store.Customer) string {
	if c != nil && c.Salesperson != "" && d.Flag(store.SettingCustomerSalesperson) {
		return c.Salesperson
	}
	return d.DefaultSalesperson
}

// startJob starts a job from any source and answers with it: 201 the first time, 200
// for a repeat with the same key. The number comes from the store once per key and the
// workflow start is idempotent by workflow ID, so a retry after any failure (even one
// between allocating the number and starting the workflow) finishes the same job
// instead of creating a second one; a repeat starts the job as the first request
// stored it, whatever has changed since.
func (s *server) startJob(c *gin.Context, dealer store.Dealer, version definitions.Version, nj newJob) {
	ctx := c.Request.Context()
	known := false
	if nj.Key != "" {
		_, err := s.store.JobByRequest(ctx, dealer.ID, nj.Key, nj.Fingerprint)
		switch {
		case errors.Is(err, store.ErrKeyReused):
			writeProblem(c, keyReusedProblem())
			return
		case err == nil:
			known = true
		case !errors.Is(err, store.ErrNotFound):
			internal(c, err)
			return
		}
	}
	if !known && nj.prepare != nil {
		p, err := nj.prepare(ctx, &nj)
		if err != nil {
			internal(c, err)
			return
		}
		if p != nil {
			writeProblem(c, *p)
			return
		}
	}
	ref := definitions.Ref{Workflow: version.Workflow, Version: version.Number, Hash: version.Hash}
	in := workflows.StartInput{
		Dealer: dealer.ID, Ref: ref, Definition: version.Definition, Source: nj.Source, Vehicle: nj.Vehicle,
		Salesperson: jobSalesperson(dealer, nj.Customer), Values: nj.Values, Actor: nj.Actor,
	}
	if nj.Salesperson != "" {
		in.Salesperson = nj.Salesperson
	}
	if nj.Customer != nil {
		in.CustomerID, in.LoggedIn = nj.Customer.ID, nj.LoggedIn
	}
	// The row is complete from the start (first phase and turn as the workflow will
	// compute them), so a list or detail read before the first projection shows the job
	// as it is, not half empty.
	_, first, err := workflows.StartAttributes(in)
	if err != nil {
		internal(c, err)
		return
	}
	row := job.Row{
		Phase: first.Phase, Status: first.Status, Turn: first.Turn, VehicleID: in.Vehicle.ID, CustomerID: in.CustomerID,
		Salesperson: in.Salesperson, Location: in.Vehicle.Location, Source: in.Source, Definition: ref, Test: nj.Test,
	}
	if i := version.Definition.PhaseIndex(first.Phase); i >= 0 {
		row.PhaseName = version.Definition.Phases[i].Name
	}
	number, created, err := s.store.AllocateJob(ctx, dealer.ID, nj.Key, nj.Fingerprint, row)
	if errors.Is(err, store.ErrKeyReused) {
		writeProblem(c, keyReusedProblem())
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	in.Number = number
	if !created {
		if in, err = s.storedStart(ctx, in); err != nil {
			internal(c, err)
			return
		}
	}
	if nj.Session != "" {
		if err := s.store.RecordJobSession(ctx, dealer.ID, number, nj.Session); err != nil {
			internal(c, err)
			return
		}
	}
	if err := s.startWorkflow(ctx, in, in.Vehicle.Number, created); err != nil {
		s.startFailed(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	answer := JobCreated{Number: number, WorkflowID: job.WorkflowID(dealer.ID, number), Dealer: dealer.ID}
	if nj.respond != nil {
		nj.respond(c, status, answer)
		return
	}
	c.JSON(status, answer)
}

// storedStart makes a repeat start the job its first request stored: the customer,
// salesperson, vehicle and definition version of the job's row, which may differ from
// what the repeat found (a customer created by the first request, a newer version
// published since). The workflow, if it runs already, ignores the input anyway.
func (s *server) storedStart(ctx context.Context, in workflows.StartInput) (workflows.StartInput, error) {
	row, err := s.store.GetJob(ctx, in.Dealer, in.Number)
	if err != nil {
		return in, err
	}
	if row.CustomerID != in.CustomerID {
		in.CustomerID, in.LoggedIn = row.CustomerID, in.LoggedIn && row.CustomerID != ""
	}
	in.Salesperson = row.Salesperson
	if row.VehicleID != in.Vehicle.ID {
		if in.Vehicle, err = s.store.GetVehicle(ctx, in.Dealer, row.VehicleID); err != nil {
			return in, err
		}
	}
	if row.Definition != in.Ref {
		v, err := s.store.PinnedDefinition(ctx, in.Dealer, row.Definition)
		if err != nil {
			return in, err
		}
		in.Ref, in.Definition = row.Definition, v.Definition
	}
	return in, nil
}

// fieldOfType returns the definition's first field of the type: sources find the
// fields their data goes into by type, never by key, as every dealer names them.
func fieldOfType(def *definitions.Definition, t definitions.FieldType) (definitions.Field, bool) {
	for _, f := range def.Fields {
		if f.Type == t {
			return f, true
		}
	}
	return definitions.Field{}, false
}

// sourceValue normalizes a source's value for the definition's field of type t into
// values, or returns the problem of name: the value's, or that the workflow has no
// field of the type (the value would be lost).
func sourceValue(def *definitions.Definition, t definitions.FieldType, name, value string, values map[string]any) *job.FieldError {
	f, ok := fieldOfType(def, t)
	if !ok {
		return fieldRef(name, "no_field_of_type", "type", string(t), "workflow", def.Workflow.Key)
	}
	v, err := f.Normalize(value, nil)
	if err != nil {
		fe := job.ValueFieldError(name, err)
		return &fe
	}
	values[f.Key] = v
	return nil
}

// lengthField checks an optional text's length.
func lengthField(name, value string, maxLen int) *job.FieldError {
	if len(value) > maxLen {
		return fieldRef(name, "too_long", "max", strconv.Itoa(maxLen))
	}
	return nil
}

// publicCustomer refuses staff and integrations a public action that starts a job as
// a customer (403): they start jobs through POST /jobs.
func publicCustomer(c *gin.Context) bool {
	if p := auth.From(c); p.Kind == auth.Staff || p.Kind == auth.Integration {
		writeProblem(c, problem(http.StatusForbidden, ProblemForbidden, "customer_only"))
		return false
	}
	return true
}

// ensureCustomerSession returns the caller as a customer of the path's dealer and
// starts an anonymous session (with its cookie) when the caller has none with the
// dealer, so the parking page finds what the caller starts.
func (s *server) ensureCustomerSession(c *gin.Context) (auth.Principal, error) {
	if p := auth.From(c); p.Kind == auth.Customer && p.Dealer == c.Param("dealer") {
		return p, nil
	}
	return auth.StartCustomerSession(c, s.store, s.auth, auth.CustomerSession{Dealer: c.Param("dealer")})
}

// customerStart sets who starts a public job: a customer logged in to the account
// gets the job at once; anyone else keeps it under the anonymous session until a
// login or registration links it. The Idempotency-Key is scoped the same way, so a
// client's key names its own request only, and a retry that comes with the cookie
// the first answer set finds the first job.
func (s *server) customerStart(ctx context.Context, c *gin.Context, p auth.Principal, nj *newJob) error {
	nj.Actor = p.Actor()
	scope := "session:" + p.SessionID
	if p.LoggedIn {
		cust, err := s.store.GetCustomer(ctx, p.Dealer, p.CustomerID)
		if err != nil {
			return err
		}
		nj.Customer, nj.LoggedIn = &cust, true
		scope = "customer:" + p.CustomerID
	} else {
		nj.Session = p.SessionID
	}
	nj.Key = string(nj.Source) + "/" + scope + "/" + idempotencyKey(c)
	return nil
}

// park starts a job for the vehicle a customer parks on the dealer's public site.
func (s *server) park(c *gin.Context) {
	var b ParkBody
	if !decodeJSON(c, &b) || !publicCustomer(c) {
		return
	}
	b.VehicleID = strings.TrimSpace(b.VehicleID)
	if b.VehicleID == "" {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "park_invalid", field("vehicle_id", "required")))
		return
	}
	dealer, version, ok := s.activeDefinition(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	vehicle, err := s.store.LiveVehicle(ctx, dealer.ID, b.VehicleID)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "park_invalid",
			field("vehicle_id", "no_vehicle", "vehicle", b.VehicleID)))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	p, err := s.ensureCustomerSession(c)
	if err != nil {
		internal(c, err)
		return
	}
	nj := newJob{Source: job.SourcePark, Vehicle: vehicle, Fingerprint: fingerprint(b)}
	if err := s.customerStart(ctx, c, p, &nj); err != nil {
		internal(c, err)
		return
	}
	s.startJob(c, dealer, version, nj)
}

// callback starts a job for a call-back request from the public site: the phone goes
// into the workflow's callback field, a message into its external-message field. A
// customer logged in gets the job; an anonymous caller who gives a name gets a
// customer record (name and phone) so staff know whom to call. Requests are limited
// per client IP; a repeat with the same key does not count again.
func (s *server) callback(c *gin.Context) {
	var b CallbackBody
	if !decodeJSON(c, &b) || !publicCustomer(c) {
		return
	}
	b.Phone, b.Name, b.VehicleID = strings.TrimSpace(b.Phone), strings.TrimSpace(b.Name), strings.TrimSpace(b.VehicleID)
	dealer, version, ok := s.activeDefinition(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	def := &version.Definition
	values := map[string]any{}
	var phone, message *job.FieldError
	if b.Phone == "" {
		phone = fieldRef("phone", "required")
	} else {
		phone = sourceValue(def, definitions.TypeCallbackPhone, "phone", b.Phone, values)
	}
	if b.Message != "" {
		message = sourceValue(def, definitions.TypeExternalMessage, "message", b.Message, values)
	}
	vehicleID := b.VehicleID
	if vehicleID == "" {
		vehicleID = dealer.Setting(store.SettingCallbackVehicle)
	}
	var vehicle job.Vehicle
	var vehicleProblem *job.FieldError
	if vehicleID == "" {
		vehicleProblem = fieldRef("vehicle_id", "required")
	} else {
		v, err := s.store.LiveVehicle(ctx, dealer.ID, vehicleID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			vehicleProblem = fieldRef("vehicle_id", "no_vehicle", "vehicle", vehicleID)
		case err != nil:
			internal(c, err)
			return
		}
		vehicle = v
	}
	fields := checkFields(phone, lengthField("name", b.Name, maxNameLen), message, vehicleProblem)
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "callback_invalid", fields...))
		return
	}
	p, err := s.ensureCustomerSession(c)
	if err != nil {
		internal(c, err)
		return
	}
	nj := newJob{Source: job.SourceCallback, Vehicle: vehicle, Values: values, Fingerprint: fingerprint(b)}
	if err := s.customerStart(ctx, c, p, &nj); err != nil {
		internal(c, err)
		return
	}
	ip := c.ClientIP()
	nj.prepare = func(ctx context.Context, nj *newJob) (*Problem, error) {
		limit := s.callbackLimit
		// The login throttle's counter serves any per-key limit: one row per request.
		_, wait, err := s.store.BeginLoginAttempt(ctx, limit.Window, store.ThrottleRule{Key: "callback:" + dealer.ID + ":" + ip, Limit: limit.Limit})
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			p := problem(http.StatusTooManyRequests, ProblemTooManyRequests, "callback_throttled").
				with("limit", strconv.Itoa(limit.Limit), "window", limit.Window.String())
			return &p, nil
		}
		if nj.Customer == nil && b.Name != "" {
			cust, err := s.store.CreateCustomer(ctx, store.Customer{Dealer: dealer.ID, Name: b.Name, Phone: b.Phone})
			if err != nil {
				return nil, err
			}
			nj.Customer = &cust
		}
		return nil, nil
	}
	s.startJob(c, dealer, version, nj)
}

// marketplaceInquiry imports an inquiry from mobile.de or AutoScout24: the vehicle by
// its listing ID, the customer by e-mail (created when the dealer does not know the
// address), the phone into the callback field and the message into the
// external-message field. The inquiry names itself: marketplace and inquiry ID, or its
// content when it has no ID; the same inquiry twice answers 200 with the first job.
func (s *server) marketplaceInquiry(c *gin.Context) {
	var b MarketplaceInquiry
	if !decodeJSON(c, &b) {
		return
	}
	b.Marketplace, b.ListingID, b.InquiryID = strings.TrimSpace(b.Marketplace), strings.TrimSpace(b.ListingID), strings.TrimSpace(b.InquiryID)
	b.SenderName, b.Email, b.Phone = strings.TrimSpace(b.SenderName), strings.TrimSpace(b.Email), strings.TrimSpace(b.Phone)
	dealer, version, ok := s.activeDefinition(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	def := &version.Definition
	values := map[string]any{}
	var marketplace, listing, phone, message *job.FieldError
	switch {
	case b.Marketplace == "":
		marketplace = fieldRef("marketplace", "required")
	case !slices.Contains(store.Marketplaces, b.Marketplace):
		marketplace = fieldRef("marketplace", "not_a_marketplace", "given", b.Marketplace, "known", strings.Join(store.Marketplaces, ", "))
	}
	if b.ListingID == "" {
		listing = fieldRef("listing_id", "required")
	} else {
		listing = lengthField("listing_id", b.ListingID, maxIDLen)
	}
	if b.Phone != "" {
		phone = sourceValue(def, definitions.TypeCallbackPhone, "phone", b.Phone, values)
	}
	if b.Message != "" {
		message = sourceValue(def, definitions.TypeExternalMessage, "message", b.Message, values)
	}
	fields := checkFields(marketplace, listing, lengthField("inquiry_id", b.InquiryID, maxIDLen),
		lengthField("sender_name", b.SenderName, maxNameLen), emailField("email", b.Email), phone, message)
	var vehicle job.Vehicle
	if len(fields) == 0 {
		v, err := s.store.VehicleByListing(ctx, dealer.ID, b.Marketplace, b.ListingID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			fields = append(fields, field("listing_id", "unknown_listing", "marketplace", b.Marketplace, "listing", b.ListingID))
		case err != nil:
			internal(c, err)
			return
		}
		vehicle = v
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "inquiry_invalid", fields...))
		return
	}
	nj := newJob{Source: job.SourceMarketplace, Actor: auth.From(c).Actor(), Vehicle: vehicle, Values: values}
	if b.InquiryID != "" {
		// The marketplace's ID names the inquiry whatever its content: a redelivery
		// that differs in a detail is still the same inquiry.
		nj.Key = "marketplace/" + b.Marketplace + "/" + b.InquiryID
	} else {
		nj.Fingerprint = fingerprint(b)
		nj.Key = "marketplace/" + b.Marketplace + "/content:" + nj.Fingerprint
	}
	name := b.SenderName
	if name == "" {
		// Staff lists need a name to show; the address is what the inquiry knows.
		name = b.Email
	}
	nj.prepare = func(ctx context.Context, nj *newJob) (*Problem, error) {
		cust, _, err := s.store.FindOrCreateCustomer(ctx, store.Customer{Dealer: dealer.ID, Name: name, Email: b.Email, Phone: b.Phone})
		if err != nil {
			return nil, err
		}
		nj.Customer = &cust
		return nil, nil
	}
	s.startJob(c, dealer, version, nj)
}

// customerJobs lists the jobs of the parking page: a customer's with an account
// (theirs, and those their anonymous session started before they logged in), an
// anonymous session's, or the one job of a signed link.
func (s *server) customerJobs(c *gin.Context) {
	p := auth.From(c)
	f := store.CustomerJobsFilter{CustomerID: p.CustomerID, Session: p.SessionID, Number: p.JobNumber}
	jobs, err := s.store.CustomerJobs(c.Request.Context(), p.Dealer, f)
	if err != nil {
		internal(c, err)
		return
	}
	out := CustomerJobList{Jobs: make([]CustomerJob, len(jobs))}
	for i, j := range jobs {
		out.Jobs[i] = CustomerJob{
			Number: j.Number, Phase: job.PhaseRef{Key: j.Phase, Name: j.PhaseName}, Status: j.Status, Turn: j.Turn,
			UpdatedAt: j.UpdatedAt, Vehicle: publicVehicle(j.Vehicle),
		}
	}
	c.JSON(http.StatusOK, out)
}

// customerMayOpenJob reports whether a customer may see and act on the job: the signed
// link's job, a job of the customer, or a job the customer's anonymous session started
// (before or after they logged in).
func (s *server) customerMayOpenJob(ctx context.Context, p auth.Principal, row job.Row) (bool, error) {
	if customerMayOpen(p, row) {
		return true, nil
	}
	if p.JobNumber != 0 || p.SessionID == "" {
		return false, nil
	}
	return s.store.SessionStartedJob(ctx, row.Dealer, row.Number, p.SessionID)
}

// linkSessionJobs links the jobs the customer's anonymous session started to the
// customer who has just logged in or registered from it, through the workflow's
// link-customer update, so staff see whose they are. A job that cannot be linked now
// (no worker in time, the job closed) stays as it is and is tried again at the
// customer's next login; the login itself never fails for it.
func (s *server) linkSessionJobs(c *gin.Context, p auth.Principal) {
	if p.SessionID == "" || p.CustomerID == "" || !p.LoggedIn {
		return
	}
	// The links finish even when the client goes away; the login's answer waits.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.timeout)
	defer cancel()
	numbers, err := s.store.UnlinkedSessionJobs(ctx, p.Dealer, p.SessionID)
	if err != nil {
		s.log.Error("find jobs to link to the customer", "dealer", p.Dealer, "error", err)
		return
	}
	for _, n := range numbers {
		if err := s.linkJob(ctx, p, n); err != nil {
			s.log.Warn("job not linked to the customer; tried again at the next login",
				"job", job.WorkflowID(p.Dealer, n), "error", err)
		}
	}
}

func (s *server) linkJob(ctx context.Context, p auth.Principal, number int64) error {
	row, err := s.store.GetJob(ctx, p.Dealer, number)
	if err != nil {
		return err
	}
	switch {
	case row.CustomerID == p.CustomerID:
		return s.store.MarkSessionJobLinked(ctx, p.Dealer, number, p.CustomerID)
	case row.CustomerID != "":
		// Someone else's already (a call-back that named another person): settled,
		// not linked.
		return s.store.MarkSessionJobLinked(ctx, p.Dealer, number, "")
	case row.Status.Ended():
		return fmt.Errorf("job is %s", row.Status)
	case row.Seq == 0:
		return errors.New("the job's workflow has not started")
	}
	key := job.UpdateLinkCustomer + "/" + p.SessionID + "/" + p.CustomerID
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: job.WorkflowID(p.Dealer, number),
		UpdateID:   key,
		UpdateName: job.UpdateLinkCustomer,
		Args: []any{job.LinkCustomerRequest{
			RequestKey: key, Actor: job.Actor{Side: job.Customer, ID: p.CustomerID}, CustomerID: p.CustomerID, LoggedIn: true,
		}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var appErr *temporal.ApplicationError
	var rej job.Rejection
	if errors.As(err, &appErr) && appErr.Type() == job.RejectionErrorType && appErr.Details(&rej) == nil && rej.Code == job.CodeConflict {
		// Linked to another customer meanwhile: settled, not linked.
		return s.store.MarkSessionJobLinked(ctx, p.Dealer, number, "")
	}
	if err != nil {
		return fmt.Errorf("link customer: %w", err)
	}
	return s.store.MarkSessionJobLinked(ctx, p.Dealer, number, p.CustomerID)
}
