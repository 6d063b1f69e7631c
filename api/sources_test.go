package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// The job sources: parking (anonymous and logged in), call-backs, marketplace
// inquiries; who a new job is assigned to; the parking page's list and what it must
// not show. Fields are found by type in the definition, never by their keys.

func TestSources(t *testing.T) {
	e := newEnv(t)
	t.Run("PublicVehicles", e.testPublicVehicles)
	t.Run("AnonymousParkThenRegister", e.testAnonymousPark)
	t.Run("LoggedInPark", e.testLoggedInPark)
	t.Run("Callback", e.testCallback)
	t.Run("CallbackRateLimit", e.testCallbackRateLimit)
	t.Run("MarketplaceInquiry", e.testMarketplaceInquiry)
	t.Run("Salesperson", e.testSalesperson)
	t.Run("ParkingListShowsNothingStaffOnly", e.testParkingListStaffOnly)
}

// definition is the dealer's active workflow definition, as new jobs pin it.
func (e *env) definition(t *testing.T) definitions.Definition {
	t.Helper()
	v, err := e.store.ActiveDefinition(context.Background(), dealerID)
	require.NoError(t, err)
	return v.Definition
}

// viewValueOfType is the value of the view's first field of the type.
func viewValueOfType(t *testing.T, v *job.View, typ definitions.FieldType) any {
	t.Helper()
	require.NotNil(t, v, "no live view")
	for _, f := range v.Fields {
		if f.Type == typ {
			return f.Value
		}
	}
	t.Fatalf("the %s view of phase %s has no %s field", v.Side, v.Phase.Key, typ)
	return nil
}

// started waits until the job's workflow has projected its start and returns the
// staff's detail of it.
func (e *env) started(t *testing.T, n int64) api.JobDetail {
	t.Helper()
	var d api.JobDetail
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d = e.detail(t, n)
		assert.Positive(c, d.Job.Seq)
		assert.NotNil(c, d.View)
	}, 10*time.Second, 50*time.Millisecond)
	return d
}

func (e *env) park(t *testing.T, as *caller, key, vehicleID string) response {
	t.Helper()
	return e.do(t, request{method: http.MethodPost, path: "/public/park", as: as, key: key, body: api.ParkBody{VehicleID: vehicleID}})
}

func (e *env) customerJobs(t *testing.T, as *caller) api.CustomerJobList {
	t.Helper()
	return decode[api.CustomerJobList](t, e.do(t, request{method: http.MethodGet, path: "/customer/jobs", as: as}), http.StatusOK)
}

func customerListed(l api.CustomerJobList, n int64) (api.CustomerJob, bool) {
	for _, j := range l.Jobs {
		if j.Number == n {
			return j, true
		}
	}
	return api.CustomerJob{}, false
}

// jsonKeys lists every object key in a JSON document.
func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var keys []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				keys = append(keys, k)
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(v)
	return keys
}

func (e *env) testPublicVehicles(t *testing.T) {
	r := e.do(t, request{method: http.MethodGet, path: "/public/vehicles", as: anonymous()})
	list := decode[api.PublicVehicleList](t, r, http.StatusOK)
	require.Contains(t, list.Vehicles, api.PublicVehicle{
		ID: e.vehicle.ID, Number: "A-100", Make: "VW", Model: "Golf", PriceCents: 2_500_000, Location: "Berlin", Extras: []string{"AHK", "Navi"},
	})
	for _, k := range jsonKeys(t, r.Body) {
		require.NotContains(t, []string{"purchase_price_cents", "notes", "listings", "jobs", "open_jobs"}, k, "internal data on the public site")
	}
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/api/v1/dealers/nobody/public/vehicles", as: anonymous()}).problem(t).Status)
}

func (e *env) testAnonymousPark(t *testing.T) {
	ctx := context.Background()
	c := anonymous()
	r := e.park(t, c, "park-anon-1", e.vehicle.ID)
	created := decode[api.JobCreated](t, r, http.StatusCreated)
	n := created.Number
	cookie := setCookie(t, r, auth.CookieCustomer)
	require.True(t, cookie.HttpOnly)
	require.Equal(t, cookie.Value, c.cookie(t, e.srv, auth.CookieCustomer), "an anonymous session was started")
	// A repeat with the cookie the first answer set is the same request.
	again := e.park(t, c, "park-anon-1", e.vehicle.ID)
	require.Equal(t, created, decode[api.JobCreated](t, again, http.StatusOK))
	// The same key for another vehicle is another request.
	other, err := e.store.CreateVehicle(ctx, dealerID, job.Vehicle{Number: "P-1", Make: "Opel", Model: "Corsa", Location: "Köln"})
	require.NoError(t, err)
	p := e.park(t, c, "park-anon-1", other.ID).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{api.HeaderIdempotencyKey}, problemFields(p.Errors).names())

	d := e.started(t, n)
	require.Equal(t, job.SourcePark, d.Job.Source)
	require.Empty(t, d.Job.CustomerID, "nobody known yet")
	require.Equal(t, "Berlin", d.Job.Location, "the vehicle's location")
	require.Equal(t, job.Customer, d.History[0].Actor.Side)

	// The parking page shows the job; the session opens its view.
	list := e.customerJobs(t, c)
	got, ok := customerListed(list, n)
	require.True(t, ok, "parked job listed: %+v", list)
	require.Equal(t, api.PublicVehicle{ID: e.vehicle.ID, Number: "A-100", Make: "VW", Model: "Golf", PriceCents: 2_500_000,
		Location: "Berlin", Extras: []string{"AHK", "Navi"}}, got.Vehicle)
	require.Equal(t, d.Job.Phase, got.Phase.Key)
	require.Equal(t, d.Job.PhaseName, got.Phase.Name)
	require.Equal(t, d.Job.Turn, got.Turn)
	require.Equal(t, job.StatusOpen, got.Status)
	view := decode[job.View](t, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: c}), http.StatusOK)
	require.Equal(t, job.Customer, view.Side)
	submit := func(as *caller, key string) response {
		return e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/submit", n), as: as, key: key,
			body: api.SubmitBody{Phase: view.Phase.Key, Values: map[string]any{}}})
	}
	decode[job.Result](t, submit(c, "park-anon-submit"), http.StatusOK)
	submitted := entries(e.detail(t, n).History, job.ActionSubmit)
	require.Len(t, submitted, 1)
	require.Equal(t, job.Customer, submitted[0].Actor.Side, "the anonymous parker submitted")
	// Another browser does not see it; nor does a customer logged in to another account.
	stranger := anonymous()
	require.Equal(t, http.StatusCreated, e.do(t, request{method: http.MethodPost, path: "/customer/session", as: stranger}).Status)
	require.Empty(t, e.customerJobs(t, stranger).Jobs)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", n), as: stranger}).problem(t).Status)
	require.Equal(t, http.StatusNotFound, submit(stranger, "park-anon-submit-2").problem(t).Status)
	_, ok = customerListed(e.customerJobs(t, e.otherCust), n)
	require.False(t, ok)

	// Registering from the same browser links the job to the new customer.
	reg := decode[api.CustomerAnswer](t, e.do(t, request{method: http.MethodPost, path: "/customer/register", as: c,
		body: api.RegisterBody{Name: "Paul Parker", Email: "paul.parker@example.org", Password: testPassword}}), http.StatusCreated)
	customerID := reg.Customer.ID
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, customerID, e.detail(t, n).Job.CustomerID, "the read model names the customer")
	}, 10*time.Second, 50*time.Millisecond)
	linked := entries(e.detail(t, n).History, job.ActionCustomerLinked)
	require.Len(t, linked, 1)
	require.Equal(t, job.Actor{Side: job.Customer, ID: customerID}, linked[0].Actor)
	require.Equal(t, customerID, linked[0].After["customer_id"])

	// Staff see the customer: the job under the customer filter, the customer with one job.
	l := e.list(t, "customer="+customerID)
	require.Len(t, l.Jobs, 1)
	require.Equal(t, n, l.Jobs[0].Number)
	cust := decode[api.Customer](t, e.do(t, request{method: http.MethodGet, path: "/customers/" + customerID}), http.StatusOK)
	require.Equal(t, int64(1), cust.Jobs)
	require.True(t, cust.HasAccount)

	// The customer keeps seeing it, and so after a new login from another browser.
	_, ok = customerListed(e.customerJobs(t, c), n)
	require.True(t, ok)
	_, ok = customerListed(e.customerJobs(t, e.loginCustomer(t, "paul.parker@example.org")), n)
	require.True(t, ok)
	// A second login from the first browser links nothing again.
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodPost, path: "/customer/login", as: c,
		body: api.LoginBody{Email: "paul.parker@example.org", Password: testPassword}}).Status)
	require.Len(t, entries(e.detail(t, n).History, job.ActionCustomerLinked), 1)
}

// entries are the history's entries of the action.
func entries(history []job.AuditEntry, action string) []job.AuditEntry {
	var out []job.AuditEntry
	for _, h := range history {
		if h.Action == action {
			out = append(out, h)
		}
	}
	return out
}

// jobCount counts the dealer's jobs of the source in the store, also those whose
// workflow has not projected its start yet.
func (e *env) jobCount(t *testing.T, source job.Source) int {
	t.Helper()
	var n int
	require.NoError(t, e.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM jobs WHERE dealer = $1 AND source = $2`, dealerID, string(source)).Scan(&n))
	return n
}

func (e *env) testLoggedInPark(t *testing.T) {
	created := decode[api.JobCreated](t, e.park(t, e.cust, "park-cust-1", e.vehicle.ID), http.StatusCreated)
	n := created.Number
	// The customer is the job's from its first moment, before the workflow projects.
	row, err := e.store.GetJob(context.Background(), dealerID, n)
	require.NoError(t, err)
	require.Equal(t, e.customer.ID, row.CustomerID)
	d := e.started(t, n)
	require.Equal(t, e.customer.ID, d.Job.CustomerID)
	require.Equal(t, job.Actor{Side: job.Customer, ID: e.customer.ID}, d.History[0].Actor)
	_, ok := customerListed(e.customerJobs(t, e.cust), n)
	require.True(t, ok)
	// The customer's key is theirs: another customer's same key is another request.
	other := decode[api.JobCreated](t, e.park(t, e.otherCust, "park-cust-1", e.vehicle.ID), http.StatusCreated)
	require.NotEqual(t, n, other.Number)

	// Staff and integrations start jobs through POST /jobs.
	require.Equal(t, http.StatusForbidden, e.park(t, e.staff, "park-staff-1", e.vehicle.ID).problem(t).Status)
	// Bad input names the field and starts nothing.
	before := e.jobCount(t, job.SourcePark)
	p := e.park(t, anonymous(), "park-bad-1", "8d1c5f3e-0000-4000-8000-000000000000").problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/public/park", as: anonymous(), key: "park-bad-2", body: map[string]any{}, raw: true}).problem(t)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/public/park", as: anonymous(), body: api.ParkBody{VehicleID: e.vehicle.ID}, raw: true}).problem(t)
	require.Equal(t, []string{api.HeaderIdempotencyKey}, problemFields(p.Errors).names())
	require.Equal(t, before, e.jobCount(t, job.SourcePark), "nothing started")
}

func (e *env) callback(t *testing.T, as *caller, key string, body api.CallbackBody) response {
	t.Helper()
	return e.do(t, request{method: http.MethodPost, path: "/public/callback", as: as, key: key, body: body})
}

func (e *env) testCallback(t *testing.T) {
	ctx := context.Background()
	c := anonymous()
	body := api.CallbackBody{Phone: "+49 30 555 0101", Name: "Rudi Rückruf", Message: "Bitte nach 17 Uhr anrufen", VehicleID: e.vehicle.ID}
	created := decode[api.JobCreated](t, e.callback(t, c, "cb-1", body), http.StatusCreated)
	n := created.Number
	d := e.started(t, n)
	require.Equal(t, job.SourceCallback, d.Job.Source)
	require.Equal(t, "+49 30 555 0101", viewValueOfType(t, d.View, definitions.TypeCallbackPhone), "the phone is in the callback field")
	require.Equal(t, "Bitte nach 17 Uhr anrufen", viewValueOfType(t, d.View, definitions.TypeExternalMessage))
	// The caller named themselves: staff find whom to call.
	require.NotEmpty(t, d.Job.CustomerID)
	cust, err := e.store.GetCustomer(ctx, dealerID, d.Job.CustomerID)
	require.NoError(t, err)
	require.Equal(t, "Rudi Rückruf", cust.Name)
	require.Equal(t, "+49 30 555 0101", cust.Phone)
	// The caller's parking page shows it; a repeat is the same job and no new customer.
	_, ok := customerListed(e.customerJobs(t, c), n)
	require.True(t, ok)
	require.Equal(t, created, decode[api.JobCreated](t, e.callback(t, c, "cb-1", body), http.StatusOK))
	customers := decode[api.CustomerList](t, e.do(t, request{method: http.MethodGet, path: "/customers?q=R%C3%BCckruf"}), http.StatusOK)
	require.Len(t, customers.Customers, 1)

	// Bad input names each field and counts nothing.
	p := e.do(t, request{method: http.MethodPost, path: "/public/callback", as: anonymous(), key: "cb-bad-1", raw: true,
		body: api.CallbackBody{Phone: "ruf mich an", Name: strings.Repeat("x", 201), VehicleID: "nope"}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"phone", "name", "vehicle_id"}, problemFields(p.Errors).names())
	require.Equal(t, "not_a_phone_number", p.Errors[0].Code)
	// Without a vehicle the dealer's callback vehicle is used; without that, it is missing.
	p = e.callback(t, anonymous(), "cb-bad-2", api.CallbackBody{Phone: "030 1234567"}).problem(t)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
	require.Equal(t, "required", p.Errors[0].Code)
	require.NoError(t, e.store.SetDealerSetting(ctx, dealerID, store.SettingCallbackVehicle, e.vehicle.ID))
	defer func() { require.NoError(t, e.store.SetDealerSetting(ctx, dealerID, store.SettingCallbackVehicle, nil)) }()
	plain := decode[api.JobCreated](t, e.callback(t, anonymous(), "cb-2", api.CallbackBody{Phone: "030 1234567"}), http.StatusCreated)
	d = e.started(t, plain.Number)
	require.Equal(t, e.vehicle.ID, d.Job.VehicleID)
	require.Empty(t, d.Job.CustomerID, "no name, no customer record")
	require.Equal(t, "030 1234567", viewValueOfType(t, d.View, definitions.TypeCallbackPhone))

	// A customer logged in gets the job.
	mine := decode[api.JobCreated](t, e.callback(t, e.cust, "cb-3", api.CallbackBody{Phone: "030 7654321"}), http.StatusCreated)
	require.Equal(t, e.customer.ID, e.started(t, mine.Number).Job.CustomerID)
}

// testCallbackRateLimit counts call-backs per client IP; every request of the tests
// comes from 127.0.0.1, so it starts from an empty count and leaves one.
func (e *env) testCallbackRateLimit(t *testing.T) {
	ctx := context.Background()
	clear := func() {
		_, err := e.store.Pool().Exec(ctx, `DELETE FROM login_attempts WHERE key LIKE 'callback:%'`)
		require.NoError(t, err)
	}
	clear()
	defer clear()
	limit := api.DefaultCallbackLimit.Limit
	c := anonymous()
	body := func(i int) api.CallbackBody {
		return api.CallbackBody{Phone: "030 100" + strconv.Itoa(i), VehicleID: e.vehicle.ID}
	}
	for i := range limit {
		require.Equal(t, http.StatusCreated, e.callback(t, c, "rl-"+strconv.Itoa(i), body(i)).Status, "request %d", i+1)
	}
	// Repeats and bad input do not count.
	require.Equal(t, http.StatusOK, e.callback(t, c, "rl-0", body(0)).Status)
	require.Equal(t, http.StatusUnprocessableEntity, e.callback(t, c, "rl-bad", api.CallbackBody{Phone: "x", VehicleID: e.vehicle.ID}).Status)

	before := e.jobCount(t, job.SourceCallback)
	r := e.callback(t, anonymous(), "rl-over", body(99))
	p := r.problem(t)
	require.Equal(t, http.StatusTooManyRequests, p.Status)
	require.Equal(t, api.ProblemTooManyRequests, p.Type)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	require.Positive(t, secs)
	require.LessOrEqual(t, secs, int(api.DefaultCallbackLimit.Window.Seconds()))
	require.Equal(t, before, e.jobCount(t, job.SourceCallback), "no job")

	// Once the oldest request leaves the window, one more is let through.
	_, err = e.store.Pool().Exec(ctx, `
		UPDATE login_attempts SET at = at - $1::interval
		WHERE attempt = (SELECT attempt FROM login_attempts WHERE key LIKE 'callback:%' ORDER BY at LIMIT 1)`,
		api.DefaultCallbackLimit.Window)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, e.callback(t, anonymous(), "rl-over", body(99)).Status)
}

func (e *env) testMarketplaceInquiry(t *testing.T) {
	ctx := context.Background()
	_, token, err := auth.NewAPIToken(ctx, e.store, dealerID, "Marktplatz-Import", e.staffID)
	require.NoError(t, err)
	integration := &caller{token: token}
	car := decode[api.Vehicle](t, e.do(t, request{method: http.MethodPost, path: "/vehicles", key: "mp-vehicle",
		body: api.VehicleBody{Number: ptr("M-1"), Make: ptr("BMW"), Model: ptr("320d"), Location: ptr("Hamburg"),
			Listings: map[string]string{"mobile.de": "MDE-4711", "autoscout24": "AS-0815"}}}), http.StatusCreated)
	inquiry := api.MarketplaceInquiry{
		Marketplace: "mobile.de", ListingID: "MDE-4711", InquiryID: "inq-1", SenderName: "Maria Markt",
		Email: "maria.markt@example.org", Phone: "+49 40 123456", Message: "Ist der Wagen noch da?",
	}
	send := func(as *caller, body any) response {
		return e.do(t, request{method: http.MethodPost, path: "/integrations/marketplace-inquiries", as: as, body: body})
	}

	created := decode[api.JobCreated](t, send(integration, inquiry), http.StatusCreated)
	d := e.started(t, created.Number)
	require.Equal(t, job.SourceMarketplace, d.Job.Source)
	require.Equal(t, car.ID, d.Job.VehicleID, "the vehicle by its listing")
	require.Equal(t, "Hamburg", d.Job.Location)
	require.Equal(t, "+49 40 123456", viewValueOfType(t, d.View, definitions.TypeCallbackPhone))
	require.Equal(t, "Ist der Wagen noch da?", viewValueOfType(t, d.View, definitions.TypeExternalMessage))
	cust, err := e.store.FindCustomerByEmail(ctx, dealerID, "maria.markt@example.org")
	require.NoError(t, err)
	require.Equal(t, cust.ID, d.Job.CustomerID, "the customer by e-mail")
	require.Equal(t, "Maria Markt", cust.Name)
	require.Equal(t, job.Staff, d.History[0].Actor.Side)
	require.True(t, strings.HasPrefix(d.History[0].Actor.ID, "token:"), "the integration started it")

	// The same inquiry again, even with a changed detail: the same job.
	require.Equal(t, created, decode[api.JobCreated](t, send(integration, inquiry), http.StatusOK))
	changed := inquiry
	changed.Message = "Ist der Wagen noch da??"
	require.Equal(t, created, decode[api.JobCreated](t, send(integration, changed), http.StatusOK))
	// Without an inquiry ID its content names it; the known address finds the customer.
	anon := inquiry
	anon.InquiryID, anon.Marketplace, anon.ListingID = "", "autoscout24", "AS-0815"
	second := decode[api.JobCreated](t, send(integration, anon), http.StatusCreated)
	require.NotEqual(t, created.Number, second.Number)
	require.Equal(t, second, decode[api.JobCreated](t, send(integration, anon), http.StatusOK))
	require.Equal(t, cust.ID, e.started(t, second.Number).Job.CustomerID)

	// No token, another dealer's token, staff and customers.
	require.Equal(t, http.StatusUnauthorized, send(anonymous(), inquiry).problem(t).Status)
	_, err = e.store.CreateDealer(ctx, store.Dealer{ID: "autohaus-mp", Name: "Autohaus MP"})
	require.NoError(t, err)
	_, otherToken, err := auth.NewAPIToken(ctx, e.store, "autohaus-mp", "Fremd", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, send(&caller{token: otherToken}, inquiry).problem(t).Status)
	require.Equal(t, http.StatusForbidden, send(e.staff, inquiry).problem(t).Status)
	require.Equal(t, http.StatusForbidden, send(e.cust, inquiry).problem(t).Status)

	// An unknown listing is named; so is every other bad field; nothing is created.
	before := e.jobCount(t, job.SourceMarketplace)
	unknown := inquiry
	unknown.ListingID, unknown.InquiryID = "MDE-0000", "inq-2"
	p := send(integration, unknown).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"listing_id"}, problemFields(p.Errors).names())
	require.Equal(t, "unknown_listing", p.Errors[0].Code)
	p = e.do(t, request{method: http.MethodPost, path: "/integrations/marketplace-inquiries", as: integration, raw: true,
		body: api.MarketplaceInquiry{Marketplace: "ebay", ListingID: "1", Email: "kein-at", Phone: "abc"}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"marketplace", "email", "phone"}, problemFields(p.Errors).names())
	require.Equal(t, before, e.jobCount(t, job.SourceMarketplace), "nothing started")
	_, err = e.store.FindCustomerByEmail(ctx, dealerID, "kein-at")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func (e *env) testSalesperson(t *testing.T) {
	ctx := context.Background()
	own := e.addStaff(t, dealerID, "Susi Eigene", "susi@autohaus-test.de", store.RoleSales)
	withOwn := decode[api.Customer](t, e.do(t, request{method: http.MethodPost, path: "/customers", key: "sp-cust",
		body: api.CustomerBody{Name: ptr("Karl Kunde"), Email: ptr("karl@example.org"), Salesperson: ptr(own.ID)}}), http.StatusCreated)
	require.Equal(t, own.ID, withOwn.Salesperson)
	vehicle := decode[api.Vehicle](t, e.do(t, request{method: http.MethodPost, path: "/vehicles", key: "sp-vehicle",
		body: api.VehicleBody{Number: ptr("S-1"), Location: ptr("Potsdam")}}), http.StatusCreated)
	start := func(key string) job.Row {
		n := e.create(t, key, map[string]any{"vehicle_id": vehicle.ID, "customer_id": withOwn.ID}).Number
		row, err := e.store.GetJob(ctx, dealerID, n)
		require.NoError(t, err)
		require.Equal(t, row.Salesperson, e.started(t, n).Job.Salesperson, "the workflow agrees with the first row")
		return row
	}

	// Off (the default): the dealer's default salesperson; the location from the vehicle.
	row := start("sp-1")
	require.Equal(t, "verkauf-1", row.Salesperson)
	require.Equal(t, "Potsdam", row.Location)
	// On: the customer's own, from every source.
	require.NoError(t, e.store.SetDealerSetting(ctx, dealerID, store.SettingCustomerSalesperson, true))
	defer func() {
		require.NoError(t, e.store.SetDealerSetting(ctx, dealerID, store.SettingCustomerSalesperson, nil))
	}()
	row = start("sp-2")
	require.Equal(t, own.ID, row.Salesperson)
	require.Equal(t, "Potsdam", row.Location)
	_, token, err := auth.NewAPIToken(ctx, e.store, dealerID, "sp", "")
	require.NoError(t, err)
	decode[api.Vehicle](t, e.do(t, request{method: http.MethodPut, path: "/vehicles/" + vehicle.ID, key: "sp-listing",
		body: api.VehicleBody{Listings: map[string]string{"autoscout24": "AS-SP"}}}), http.StatusOK)
	mp := decode[api.JobCreated](t, e.do(t, request{method: http.MethodPost, path: "/integrations/marketplace-inquiries", as: &caller{token: token},
		body: api.MarketplaceInquiry{Marketplace: "autoscout24", ListingID: "AS-SP", InquiryID: "sp-inq", Email: "KARL@example.org"}}), http.StatusCreated)
	require.Equal(t, own.ID, e.started(t, mp.Number).Job.Salesperson)
	require.Equal(t, withOwn.ID, e.started(t, mp.Number).Job.CustomerID, "the address compares case-insensitively")
	// A customer without a salesperson of their own gets the default.
	n := e.create(t, "sp-3", map[string]any{"vehicle_id": vehicle.ID, "customer_id": e.customer.ID}).Number
	require.Equal(t, "verkauf-1", e.started(t, n).Job.Salesperson)
}

// staffOnlyFields are the keys of the definition's fields that some phase's staff
// view uses and no phase's customer view: what no customer answer may hold.
func staffOnlyFields(def definitions.Definition) map[string]definitions.Field {
	inCustomer := map[string]bool{}
	for _, p := range def.Phases {
		for _, u := range p.CustomerFields {
			inCustomer[u.Field] = true
		}
	}
	out := map[string]definitions.Field{}
	for _, p := range def.Phases {
		for _, u := range p.StaffFields {
			if f, ok := def.Field(u.Field); ok && !inCustomer[u.Field] {
				out[u.Field] = f
			}
		}
	}
	return out
}

func (e *env) testParkingListStaffOnly(t *testing.T) {
	def := e.definition(t)
	staffOnly := staffOnlyFields(def)
	require.NotEmpty(t, staffOnly)
	c := anonymous()
	n := decode[api.JobCreated](t, e.park(t, c, "so-1", e.vehicle.ID), http.StatusCreated).Number
	d := e.started(t, n)

	// Staff write a marker into every staff-only text field of the current phase.
	const marker = "nur-fuer-verkauf-3141"
	values := map[string]any{}
	for _, u := range def.Phases[def.PhaseIndex(d.Job.Phase)].StaffFields {
		if f, ok := staffOnly[u.Field]; ok && f.Type == definitions.TypeText && !u.ReadOnly {
			values[f.Key] = marker
		}
	}
	require.NotEmpty(t, values, "the first phase has a staff-only text field")
	e.act(t, n, "submit", "so-2", api.SubmitBody{Phase: d.Job.Phase, Values: values})
	require.NotEmpty(t, d.Job.Salesperson)
	// And a job of a customer with an account, moved on to the next phase.
	mine := decode[api.JobCreated](t, e.park(t, e.cust, "so-3", e.vehicle.ID), http.StatusCreated).Number
	e.started(t, mine)
	e.act(t, mine, "submit", "so-4", api.SubmitBody{Phase: d.Job.Phase, Values: values})
	e.act(t, mine, "activate", "so-5", api.ActivateBody{})

	answers := map[string][]byte{}
	for _, as := range []*caller{c, e.cust} {
		r := e.do(t, request{method: http.MethodGet, path: "/customer/jobs", as: as})
		list := decode[api.CustomerJobList](t, r, http.StatusOK)
		require.NotEmpty(t, list.Jobs)
		answers["list"] = r.Body
		for _, j := range list.Jobs {
			r := e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/view", j.Number), as: as})
			view := decode[job.View](t, r, http.StatusOK)
			answers[fmt.Sprintf("view %d", j.Number)] = r.Body
			// Every field of the view is a customer-view field of its phase.
			phase := def.Phases[def.PhaseIndex(view.Phase.Key)]
			for _, f := range view.Fields {
				require.True(t, slices.ContainsFunc(phase.CustomerFields, func(u definitions.FieldUse) bool { return u.Field == f.Key }),
					"job %d: field %q is not in the customer view of phase %q", j.Number, f.Key, phase.Key)
				require.False(t, f.Type.StaffOnly(), "job %d: a %s field in a customer view", j.Number, f.Type)
			}
		}
		// The list carries no field values at all: only the job's state and the
		// public vehicle.
		listKeys := []string{"jobs", "number", "phase", "key", "name", "status", "turn", "updated_at", "vehicle",
			"id", "make", "model", "price_cents", "location", "extras"}
		for _, k := range jsonKeys(t, answers["list"]) {
			require.Contains(t, listKeys, k, "the parking list has more than the job's state and the public vehicle")
		}
		for name, body := range answers {
			for _, k := range jsonKeys(t, body) {
				require.NotEqual(t, "salesperson", k, "%s names the salesperson", name)
			}
			require.NotContains(t, string(body), marker, "%s shows a staff-only value", name)
			require.NotContains(t, string(body), d.Job.Salesperson, "%s shows the salesperson", name)
		}
	}
}

func ptr[T any](v T) *T { return &v }
