package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// Vehicles and customers as the dealer's staff manage them. Jobs pin the vehicle as it
// was when they started; a vehicle with open jobs cannot be deleted, and a deleted one
// stays visible through its jobs. Purchase prices are for owners and admins only.

// Vehicle is a vehicle as staff see it. PurchasePriceCents is shown to owners and
// admins only.
type Vehicle struct {
	ID                 string            `json:"id"`
	Number             string            `json:"number"`
	Make               string            `json:"make"`
	Model              string            `json:"model"`
	PriceCents         int64             `json:"price_cents"`
	PurchasePriceCents *int64            `json:"purchase_price_cents,omitempty"`
	Location           string            `json:"location"`
	Extras             []string          `json:"extras"`
	Notes              string            `json:"notes"`
	Listings           map[string]string `json:"listings"`
	// Jobs counts the vehicle's jobs; OpenJobs those neither closed nor canceled.
	Jobs      int64     `json:"jobs"`
	OpenJobs  int64     `json:"open_jobs"`
	CreatedAt time.Time `json:"created_at"`
}

// VehicleList answers GET .../vehicles.
type VehicleList struct {
	Vehicles   []Vehicle `json:"vehicles"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// VehicleBody is the body of POST .../vehicles (number required) and PUT
// .../vehicles/:id (absent fields stay as they are). Listings maps a marketplace
// (mobile.de, autoscout24) to the listing ID there; "" removes the listing.
type VehicleBody struct {
	Number             *string           `json:"number,omitempty"`
	Make               *string           `json:"make,omitempty"`
	Model              *string           `json:"model,omitempty"`
	PriceCents         *int64            `json:"price_cents,omitempty"`
	PurchasePriceCents *int64            `json:"purchase_price_cents,omitempty"`
	Location           *string           `json:"location,omitempty"`
	Extras             *[]string         `json:"extras,omitempty"`
	Notes              *string           `json:"notes,omitempty"`
	Listings           map[string]string `json:"listings,omitempty"`
}

// Customer is a customer as staff see them.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	// Salesperson is the staff user ID of the customer's own salesperson.
	Salesperson string `json:"salesperson,omitempty"`
	// Language is the language of the customer's messages: de or en.
	Language string `json:"language"`
	// HasAccount is true when the customer can log in.
	HasAccount bool `json:"has_account"`
	// Jobs counts the customer's jobs; OpenJobs those neither closed nor canceled.
	Jobs      int64     `json:"jobs"`
	OpenJobs  int64     `json:"open_jobs"`
	CreatedAt time.Time `json:"created_at"`
}

// CustomerList answers GET .../customers.
type CustomerList struct {
	Customers  []Customer `json:"customers"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// CustomerBody is the body of POST .../customers (name required) and PUT
// .../customers/:id (absent fields stay as they are; salesperson "" removes it).
type CustomerBody struct {
	Name        *string `json:"name,omitempty"`
	Email       *string `json:"email,omitempty"`
	Phone       *string `json:"phone,omitempty"`
	Salesperson *string `json:"salesperson,omitempty"`
	Language    *string `json:"language,omitempty"`
}

// Bounds of vehicle texts.
const (
	maxVehicleText = 200
	maxNotesLen    = 10_000
	maxExtras      = 200
)

// vehicleRoutes registers vehicles and customers for the dealer's staff.
func (s *server) vehicleRoutes(dealer *gin.RouterGroup) {
	staff := dealer.Group("", auth.RequireStaff())
	staff.GET("/vehicles", s.listVehicles)
	staff.POST("/vehicles", s.idempotent, s.createVehicle)
	staff.GET("/vehicles/:id", s.getVehicle)
	staff.PUT("/vehicles/:id", s.idempotent, s.updateVehicle)
	staff.DELETE("/vehicles/:id", s.idempotent, s.deleteVehicle)
	staff.GET("/customers", s.listCustomers)
	staff.POST("/customers", s.idempotent, s.createCustomer)
	staff.GET("/customers/:id", s.getCustomer)
	staff.PUT("/customers/:id", s.idempotent, s.updateCustomer)
}

// seesPurchasePrices reports whether the caller may see and set purchase prices.
func seesPurchasePrices(c *gin.Context) bool {
	p := auth.From(c)
	return p.IsStaff(p.Dealer, auth.RoleOwner, auth.RoleAdmin)
}

func vehicleOut(c *gin.Context, v store.VehicleRecord) Vehicle {
	out := Vehicle{
		ID: v.ID, Number: v.Number, Make: v.Make, Model: v.Model, PriceCents: v.PriceCents, Location: v.Location,
		Extras: v.Extras, Notes: v.Notes, Listings: v.Listings, Jobs: v.Jobs, OpenJobs: v.OpenJobs, CreatedAt: v.CreatedAt,
	}
	if out.Extras == nil {
		out.Extras = []string{}
	}
	if out.Listings == nil {
		out.Listings = map[string]string{}
	}
	if seesPurchasePrices(c) {
		price := v.PurchasePriceCents
		out.PurchasePriceCents = &price
	}
	return out
}

// listQuery reads q, limit and cursor; unknown parameters are refused, so a misspelt
// filter does not silently list everything.
func listQuery(q url.Values) (store.ListQuery, []job.FieldError) {
	var out store.ListQuery
	fields := checkParams(q, []string{"q", "limit", "cursor"})
	out.Q = strings.TrimSpace(q.Get("q"))
	if len(out.Q) > maxVehicleText {
		fields = append(fields, field("q", "too_long", "max", strconv.Itoa(maxVehicleText)))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxListLimit {
			fields = append(fields, field("limit", "out_of_range", "min", "1", "max", strconv.Itoa(store.MaxListLimit)))
		}
		out.Limit = n
	}
	out.Cursor = q.Get("cursor")
	return out, fields
}

// checkParams names, in name order, each query parameter that is not known or is
// given more than once.
func checkParams(q url.Values, known []string) []job.FieldError {
	var fields []job.FieldError
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case !slices.Contains(known, name):
			fields = append(fields, field(name, "unknown_parameter", "known", strings.Join(known, ", ")))
		case len(q[name]) > 1:
			fields = append(fields, field(name, "repeated_parameter"))
		}
	}
	return fields
}

// listFailed answers a list's store error: a cursor it did not make is the client's.
func listFailed(c *gin.Context, err error) {
	if errors.Is(err, store.ErrInvalidCursor) {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid", field("cursor", "invalid_cursor")))
		return
	}
	internal(c, err)
}

func (s *server) listVehicles(c *gin.Context) {
	q, fields := listQuery(c.Request.URL.Query())
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid", fields...))
		return
	}
	vs, next, err := s.store.ListVehicleRecords(c.Request.Context(), auth.From(c).Dealer, q)
	if err != nil {
		listFailed(c, err)
		return
	}
	out := VehicleList{Vehicles: make([]Vehicle, len(vs)), NextCursor: next}
	for i, v := range vs {
		out.Vehicles[i] = vehicleOut(c, v)
	}
	c.JSON(http.StatusOK, out)
}

// checkVehicle checks a vehicle body; create says whether it makes a new vehicle
// (number required). It trims texts in place.
func checkVehicle(b *VehicleBody, create bool) []job.FieldError {
	var fields []job.FieldError
	text := func(name string, v *string, required bool, maxLen int) {
		if v == nil {
			if required {
				fields = append(fields, field(name, "required"))
			}
			return
		}
		*v = strings.TrimSpace(*v)
		switch {
		case *v == "" && required:
			fields = append(fields, field(name, "required"))
		case len(*v) > maxLen:
			fields = append(fields, field(name, "too_long", "max", strconv.Itoa(maxLen)))
		}
	}
	text("number", b.Number, create || b.Number != nil, maxVehicleText)
	text("make", b.Make, false, maxVehicleText)
	text("model", b.Model, false, maxVehicleText)
	text("location", b.Location, false, maxVehicleText)
	text("notes", b.Notes, false, maxNotesLen)
	for name, v := range map[string]*int64{"price_cents": b.PriceCents, "purchase_price_cents": b.PurchasePriceCents} {
		if v != nil && *v < 0 {
			fields = append(fields, field(name, "negative"))
		}
	}
	if b.Extras != nil {
		if len(*b.Extras) > maxExtras {
			fields = append(fields, field("extras", "too_many", "max", strconv.Itoa(maxExtras)))
		}
		seen := map[string]bool{}
		for i, x := range *b.Extras {
			name := "extras[" + strconv.Itoa(i) + "]"
			x = strings.TrimSpace(x)
			(*b.Extras)[i] = x
			switch {
			case x == "":
				fields = append(fields, field(name, "required"))
			case len(x) > maxVehicleText:
				fields = append(fields, field(name, "too_long", "max", strconv.Itoa(maxVehicleText)))
			case seen[x]:
				fields = append(fields, field(name, "duplicate", "value", x))
			}
			seen[x] = true
		}
	}
	markets := make([]string, 0, len(b.Listings))
	for m := range b.Listings {
		markets = append(markets, m)
	}
	sort.Strings(markets)
	for _, m := range markets {
		name := "listings." + m
		id := strings.TrimSpace(b.Listings[m])
		b.Listings[m] = id
		switch {
		case !slices.Contains(store.Marketplaces, m):
			fields = append(fields, field(name, "not_a_marketplace", "given", m, "known", strings.Join(store.Marketplaces, ", ")))
		case len(id) > maxIDLen:
			fields = append(fields, field(name, "too_long", "max", strconv.Itoa(maxIDLen)))
		}
	}
	// Fields in the order of the body, for a stable answer.
	sort.SliceStable(fields, func(i, j int) bool { return vehicleFieldOrder(fields[i].Field) < vehicleFieldOrder(fields[j].Field) })
	return fields
}

var vehicleFields = []string{"number", "make", "model", "price_cents", "purchase_price_cents", "location", "extras", "notes", "listings"}

func vehicleFieldOrder(name string) int {
	base, _, _ := strings.Cut(name, "[")
	base, _, _ = strings.Cut(base, ".")
	if i := slices.Index(vehicleFields, base); i >= 0 {
		return i
	}
	return len(vehicleFields)
}

// purchasePriceAllowed answers 403 naming the field when a caller without the right
// sets a purchase price.
func purchasePriceAllowed(c *gin.Context, b VehicleBody) bool {
	if b.PurchasePriceCents == nil || seesPurchasePrices(c) {
		return true
	}
	roles := auth.RoleOwner + ", " + auth.RoleAdmin
	writeProblem(c, problem(http.StatusForbidden, ProblemForbidden, "role_required",
		field("purchase_price_cents", "needs_role", "roles", string(roles))).with("roles", string(roles)))
	return false
}

// vehicleWriteFailed answers a store error of a vehicle write.
func vehicleWriteFailed(c *gin.Context, err error) {
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &conflict):
		code := "number_taken"
		if strings.HasPrefix(conflict.Field, "listings.") {
			code = "listing_taken"
		}
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "vehicle_conflict", field(conflict.Field, code)))
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_vehicle").with("id", c.Param("id")))
	default:
		internal(c, err)
	}
}

func (s *server) createVehicle(c *gin.Context) {
	var b VehicleBody
	if !decodeJSON(c, &b) {
		return
	}
	if fields := checkVehicle(&b, true); len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "vehicle_invalid", fields...))
		return
	}
	if !purchasePriceAllowed(c, b) {
		return
	}
	v := store.VehicleRecord{
		Vehicle: job.Vehicle{
			Number: *b.Number, Make: deref(b.Make), Model: deref(b.Model), PriceCents: deref(b.PriceCents),
			Location: deref(b.Location), Extras: deref(b.Extras),
		},
		PurchasePriceCents: deref(b.PurchasePriceCents), Notes: deref(b.Notes), Listings: b.Listings,
	}
	created, err := s.store.CreateVehicleRecord(c.Request.Context(), auth.From(c).Dealer, v)
	if err != nil {
		vehicleWriteFailed(c, err)
		return
	}
	c.JSON(http.StatusCreated, vehicleOut(c, created))
}

func (s *server) getVehicle(c *gin.Context) {
	v, err := s.store.GetVehicleRecord(c.Request.Context(), auth.From(c).Dealer, c.Param("id"))
	if err != nil {
		vehicleWriteFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, vehicleOut(c, v))
}

func (s *server) updateVehicle(c *gin.Context) {
	var b VehicleBody
	if !decodeJSON(c, &b) {
		return
	}
	if fields := checkVehicle(&b, false); len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "vehicle_invalid", fields...))
		return
	}
	if !purchasePriceAllowed(c, b) {
		return
	}
	v, err := s.store.UpdateVehicleRecord(c.Request.Context(), auth.From(c).Dealer, c.Param("id"), store.VehicleChange{
		Number: b.Number, Make: b.Make, Model: b.Model, PriceCents: b.PriceCents, PurchasePriceCents: b.PurchasePriceCents,
		Location: b.Location, Extras: b.Extras, Notes: b.Notes, Listings: b.Listings,
	})
	if err != nil {
		vehicleWriteFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, vehicleOut(c, v))
}

// deleteVehicle deletes a vehicle without open jobs; one with open jobs answers 409.
func (s *server) deleteVehicle(c *gin.Context) {
	err := s.store.DeleteVehicle(c.Request.Context(), auth.From(c).Dealer, c.Param("id"))
	var inUse *store.VehicleInUseError
	if errors.As(err, &inUse) {
		open := strconv.FormatInt(inUse.OpenJobs, 10)
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "vehicle_in_use", field("id", "has_open_jobs", "open", open)).
			with("open", open))
		return
	}
	if err != nil {
		vehicleWriteFailed(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func customerOut(r store.CustomerRecord) Customer {
	return Customer{
		ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Salesperson: r.Salesperson, Language: r.Language, HasAccount: r.HasAccount,
		Jobs: r.Jobs, OpenJobs: r.OpenJobs, CreatedAt: r.CreatedAt,
	}
}

func (s *server) listCustomers(c *gin.Context) {
	q, fields := listQuery(c.Request.URL.Query())
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "list_filter_invalid", fields...))
		return
	}
	cs, next, err := s.store.ListCustomerRecords(c.Request.Context(), auth.From(c).Dealer, q)
	if err != nil {
		listFailed(c, err)
		return
	}
	out := CustomerList{Customers: make([]Customer, len(cs)), NextCursor: next}
	for i, r := range cs {
		out.Customers[i] = customerOut(r)
	}
	c.JSON(http.StatusOK, out)
}

// checkCustomer checks a customer body against the dealer's staff; create says
// whether it makes a new customer (name required). It trims texts in place; the error
// is for failures of the store.
func (s *server) checkCustomer(c *gin.Context, b *CustomerBody, create bool) ([]job.FieldError, error) {
	trim := func(v *string) {
		if v != nil {
			*v = strings.TrimSpace(*v)
		}
	}
	trim(b.Name)
	trim(b.Email)
	trim(b.Phone)
	trim(b.Salesperson)
	trim(b.Language)
	var name, email, phone, salesperson, language *job.FieldError
	switch {
	case b.Name == nil && create:
		name = fieldRef("name", "required")
	case b.Name != nil:
		name = nameField("name", *b.Name)
	}
	if b.Email != nil && *b.Email != "" {
		email = emailField("email", *b.Email)
	}
	if b.Phone != nil && *b.Phone != "" {
		if _, err := (definitions.Field{Type: definitions.TypeCallbackPhone}).Normalize(*b.Phone, nil); err != nil {
			fe := job.ValueFieldError("phone", err)
			phone = &fe
		}
	}
	if b.Salesperson != nil && *b.Salesperson != "" {
		_, err := s.store.GetStaffUser(c.Request.Context(), auth.From(c).Dealer, *b.Salesperson)
		switch {
		case errors.Is(err, store.ErrNotFound):
			salesperson = fieldRef("salesperson", "no_salesperson", "salesperson", *b.Salesperson)
		case err != nil:
			return nil, err
		}
	}
	if b.Language != nil && *b.Language != store.LanguageGerman && *b.Language != store.LanguageEnglish {
		language = fieldRef("language", "unknown_language", "language", *b.Language)
	}
	return checkFields(name, email, phone, salesperson, language), nil
}

// customerWriteFailed answers a store error of a customer write.
func customerWriteFailed(c *gin.Context, err error) {
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &conflict):
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "customer_conflict", field(conflict.Field, "account_email_taken")))
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_customer").with("id", c.Param("id")))
	default:
		internal(c, err)
	}
}

func (s *server) createCustomer(c *gin.Context) {
	var b CustomerBody
	if !decodeJSON(c, &b) {
		return
	}
	fields, err := s.checkCustomer(c, &b, true)
	if err != nil {
		internal(c, err)
		return
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "customer_invalid", fields...))
		return
	}
	ctx := c.Request.Context()
	dealer := auth.From(c).Dealer
	cust := store.Customer{Dealer: dealer, Name: *b.Name, Email: deref(b.Email), Phone: deref(b.Phone), Salesperson: deref(b.Salesperson),
		Language: deref(b.Language)}
	created, err := s.store.CreateCustomer(ctx, cust)
	if err != nil {
		customerWriteFailed(c, err)
		return
	}
	r, err := s.store.GetCustomerRecord(ctx, dealer, created.ID)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, customerOut(r))
}

func (s *server) getCustomer(c *gin.Context) {
	r, err := s.store.GetCustomerRecord(c.Request.Context(), auth.From(c).Dealer, c.Param("id"))
	if err != nil {
		customerWriteFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, customerOut(r))
}

func (s *server) updateCustomer(c *gin.Context) {
	var b CustomerBody
	if !decodeJSON(c, &b) {
		return
	}
	fields, err := s.checkCustomer(c, &b, false)
	if err != nil {
		internal(c, err)
		return
	}
	ctx := c.Request.Context()
	if b.Email != nil && *b.Email == "" && len(fields) == 0 {
		// An account logs in with its address; it cannot go without one.
		r, err := s.store.GetCustomerRecord(ctx, auth.From(c).Dealer, c.Param("id"))
		if err != nil {
			customerWriteFailed(c, err)
			return
		}
		if r.HasAccount {
			fields = append(fields, field("email", "required"))
		}
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "customer_invalid", fields...))
		return
	}
	r, err := s.store.UpdateCustomer(ctx, auth.From(c).Dealer, c.Param("id"), store.CustomerChange{
		Name: b.Name, Email: b.Email, Phone: b.Phone, Salesperson: b.Salesperson, Language: b.Language,
	})
	if err != nil {
		customerWriteFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, customerOut(r))
}

// deref is the value p points to, or T's zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
