package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// Vehicles and customers as staff manage them.

func TestVehicles(t *testing.T) {
	e := newEnv(t)
	t.Run("VehicleCRUD", e.testVehicleCRUD)
	t.Run("DeleteRefusedWhileOpen", e.testDeleteVehicleWithJobs)
	t.Run("PurchasePrices", e.testPurchasePrices)
	t.Run("CustomerCRUD", e.testCustomerCRUD)
	t.Run("Access", e.testVehicleAccess)
}

func (e *env) vehicleReq(method, path, key string, body any) request {
	return request{method: method, path: path, key: key, body: body}
}

func (e *env) testVehicleCRUD(t *testing.T) {
	body := api.VehicleBody{
		Number: ptr(" V-200 "), Make: ptr("Audi"), Model: ptr("A4 Avant"), PriceCents: ptr(int64(3_190_000)),
		PurchasePriceCents: ptr(int64(2_700_000)), Location: ptr("Leipzig"), Extras: &[]string{"Navi", "AHK"},
		Notes: ptr("Kratzer hinten links"), Listings: map[string]string{"mobile.de": "MDE-200"},
	}
	r := e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "v-1", body))
	v := decode[api.Vehicle](t, r, http.StatusCreated)
	require.Equal(t, "V-200", v.Number, "texts are trimmed")
	require.Equal(t, []string{"Navi", "AHK"}, v.Extras)
	require.Equal(t, map[string]string{"mobile.de": "MDE-200"}, v.Listings)
	require.Equal(t, int64(2_700_000), *v.PurchasePriceCents, "the owner sees purchase prices")
	require.Zero(t, v.Jobs)
	// A repeat is answered from the first time; the same key for another body is refused.
	again := e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "v-1", body))
	require.Equal(t, "true", again.Header.Get(api.HeaderIdempotentReplayed))
	require.Equal(t, v, decode[api.Vehicle](t, again, http.StatusCreated))
	p := e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "v-1", api.VehicleBody{Number: ptr("V-201")})).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)

	require.Equal(t, v, decode[api.Vehicle](t, e.do(t, request{method: http.MethodGet, path: "/vehicles/" + v.ID}), http.StatusOK))

	// Edit: absent fields stay; a listing is added, another removed.
	r = e.do(t, e.vehicleReq(http.MethodPut, "/vehicles/"+v.ID, "v-2", api.VehicleBody{
		PriceCents: ptr(int64(2_990_000)), Listings: map[string]string{"mobile.de": "", "autoscout24": "AS-200"},
	}))
	edited := decode[api.Vehicle](t, r, http.StatusOK)
	require.Equal(t, int64(2_990_000), edited.PriceCents)
	require.Equal(t, "Audi", edited.Make)
	require.Equal(t, "Kratzer hinten links", edited.Notes)
	require.Equal(t, map[string]string{"autoscout24": "AS-200"}, edited.Listings)

	// Another vehicle may not take its number or listing: 409 naming the field.
	second := decode[api.Vehicle](t, e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "v-3", api.VehicleBody{Number: ptr("V-300")})), http.StatusCreated)
	p = e.do(t, e.vehicleReq(http.MethodPut, "/vehicles/"+second.ID, "v-4", api.VehicleBody{Number: ptr("V-200")})).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []string{"number"}, problemFields(p.Errors).names())
	p = e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "v-5", api.VehicleBody{Number: ptr("V-400"),
		Listings: map[string]string{"autoscout24": "AS-200"}})).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []string{"listings.autoscout24"}, problemFields(p.Errors).names())
	_, err := e.store.VehicleByListing(context.Background(), dealerID, store.MarketplaceMobileDe, "MDE-200")
	require.ErrorIs(t, err, store.ErrNotFound, "the removed listing finds nothing")

	// Bad input: every field named, nothing stored.
	p = e.do(t, request{method: http.MethodPost, path: "/vehicles", key: "v-6", raw: true, body: map[string]any{
		"number": " ", "price_cents": -1, "extras": []string{"Navi", "", "Navi"}, "listings": map[string]string{"ebay": "1"},
	}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"number", "price_cents", "extras[1]", "extras[2]", "listings.ebay"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/vehicles", key: "v-7", raw: true, body: `{"number": "X", "price_cents": "teuer"}`}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, []string{"price_cents"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/vehicles", key: "v-8", raw: true, body: `{"number": "X", "farbe": "rot"}`}).problem(t)
	require.Equal(t, []string{"farbe"}, problemFields(p.Errors).names())
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/vehicles/8d1c5f3e-0000-4000-8000-000000000000"}).problem(t).Status)
	require.Equal(t, http.StatusNotFound, e.do(t, e.vehicleReq(http.MethodPut, "/vehicles/nope", "v-9", api.VehicleBody{Make: ptr("x")})).problem(t).Status)

	// The list pages by number, and searches.
	all := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		require.Less(t, page, 20)
		l := decode[api.VehicleList](t, e.do(t, request{method: http.MethodGet, path: "/vehicles?limit=1&cursor=" + cursor}), http.StatusOK)
		for _, x := range l.Vehicles {
			require.False(t, all[x.Number], "listed twice: %s", x.Number)
			all[x.Number] = true
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	require.True(t, all["A-100"] && all["V-200"] && all["V-300"], "every vehicle: %v", all)
	found := decode[api.VehicleList](t, e.do(t, request{method: http.MethodGet, path: "/vehicles?q=a4%20av"}), http.StatusOK)
	require.Len(t, found.Vehicles, 1)
	require.Equal(t, v.ID, found.Vehicles[0].ID)
	p = e.do(t, request{method: http.MethodGet, path: "/vehicles?limit=0&sort=x&cursor=zz", raw: true}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.ElementsMatch(t, []string{"sort", "limit"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodGet, path: "/vehicles?cursor=zz"}).problem(t)
	require.Equal(t, []string{"cursor"}, problemFields(p.Errors).names())
}

func (e *env) testDeleteVehicleWithJobs(t *testing.T) {
	v := decode[api.Vehicle](t, e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "d-v-1", api.VehicleBody{
		Number: ptr("D-1"), Make: ptr("Skoda"), Model: ptr("Octavia"), Location: ptr("Dresden"),
		Listings: map[string]string{"mobile.de": "MDE-D1"},
	})), http.StatusCreated)
	c := anonymous()
	n := decode[api.JobCreated](t, e.park(t, c, "d-park", v.ID), http.StatusCreated).Number
	e.started(t, n)
	got := decode[api.Vehicle](t, e.do(t, request{method: http.MethodGet, path: "/vehicles/" + v.ID}), http.StatusOK)
	require.Equal(t, int64(1), got.Jobs)
	require.Equal(t, int64(1), got.OpenJobs)

	// Open: refused, and nothing changes.
	p := e.do(t, e.vehicleReq(http.MethodDelete, "/vehicles/"+v.ID, "d-v-2", nil)).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, "has_open_jobs", p.Errors[0].Code)
	require.Equal(t, "1", p.Errors[0].Params["open"])
	require.Equal(t, http.StatusOK, e.do(t, request{method: http.MethodGet, path: "/vehicles/" + v.ID}).Status)
	// Sold is not over either.
	e.act(t, n, "status", "d-v-3", api.StatusBody{Status: job.StatusSold})
	require.Equal(t, http.StatusConflict, e.do(t, e.vehicleReq(http.MethodDelete, "/vehicles/"+v.ID, "d-v-4", nil)).problem(t).Status)

	// Closed: deleted. It leaves the lists and starts no job; its job still shows it.
	e.act(t, n, "status", "d-v-5", api.StatusBody{Status: job.StatusClosed})
	r := e.do(t, e.vehicleReq(http.MethodDelete, "/vehicles/"+v.ID, "d-v-6", nil))
	require.Equal(t, http.StatusNoContent, r.Status, "answer: %s", r)
	again := e.do(t, e.vehicleReq(http.MethodDelete, "/vehicles/"+v.ID, "d-v-6", nil))
	require.Equal(t, http.StatusNoContent, again.Status, "a repeat answers as the first")
	require.Equal(t, http.StatusNotFound, e.do(t, e.vehicleReq(http.MethodDelete, "/vehicles/"+v.ID, "d-v-7", nil)).problem(t).Status)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/vehicles/" + v.ID}).problem(t).Status)
	for _, x := range decode[api.PublicVehicleList](t, e.do(t, request{method: http.MethodGet, path: "/public/vehicles", as: anonymous()}), http.StatusOK).Vehicles {
		require.NotEqual(t, v.ID, x.ID)
	}
	p = e.park(t, anonymous(), "d-park-2", v.ID).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/jobs", key: "d-create", body: map[string]any{"vehicle_id": v.ID}}).problem(t)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
	j, ok := customerListed(e.customerJobs(t, c), n)
	require.True(t, ok)
	require.Equal(t, "D-1", j.Vehicle.Number, "the closed job still shows its vehicle")
	// The number and the listing are free again.
	decode[api.Vehicle](t, e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "d-v-8", api.VehicleBody{
		Number: ptr("D-1"), Listings: map[string]string{"mobile.de": "MDE-D1"},
	})), http.StatusCreated)
}

func (e *env) testPurchasePrices(t *testing.T) {
	e.addStaff(t, dealerID, "Vera Verkauf", "vera@autohaus-test.de", store.RoleSales)
	sales := e.loginStaff(t, dealerID, "vera@autohaus-test.de")
	v := decode[api.Vehicle](t, e.do(t, e.vehicleReq(http.MethodPost, "/vehicles", "pp-1", api.VehicleBody{
		Number: ptr("PP-1"), PurchasePriceCents: ptr(int64(1_000_000)),
	})), http.StatusCreated)
	seen := decode[api.Vehicle](t, e.do(t, request{method: http.MethodGet, path: "/vehicles/" + v.ID, as: sales}), http.StatusOK)
	require.Nil(t, seen.PurchasePriceCents, "sales do not see purchase prices")
	require.NotContains(t, e.do(t, request{method: http.MethodGet, path: "/vehicles", as: sales}).String(), "purchase_price_cents")
	// Sales edit vehicles, but not their purchase price.
	edited := decode[api.Vehicle](t, e.do(t, request{method: http.MethodPut, path: "/vehicles/" + v.ID, as: sales, key: "pp-2",
		body: api.VehicleBody{Make: ptr("Seat")}}), http.StatusOK)
	require.Equal(t, "Seat", edited.Make)
	p := e.do(t, request{method: http.MethodPut, path: "/vehicles/" + v.ID, as: sales, key: "pp-3",
		body: api.VehicleBody{PurchasePriceCents: ptr(int64(1))}}).problem(t)
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Equal(t, []string{"purchase_price_cents"}, problemFields(p.Errors).names())
	owner := decode[api.Vehicle](t, e.do(t, request{method: http.MethodGet, path: "/vehicles/" + v.ID}), http.StatusOK)
	require.Equal(t, int64(1_000_000), *owner.PurchasePriceCents)
}

func (e *env) testCustomerCRUD(t *testing.T) {
	ctx := context.Background()
	sp := e.addStaff(t, dealerID, "Sven Salesperson", "sven@autohaus-test.de", store.RoleSales)
	c := decode[api.Customer](t, e.do(t, e.vehicleReq(http.MethodPost, "/customers", "c-1", api.CustomerBody{
		Name: ptr("Clara Crud"), Email: ptr(" clara@example.org "), Phone: ptr("+49 351 123456"),
	})), http.StatusCreated)
	require.Equal(t, "clara@example.org", c.Email)
	require.False(t, c.HasAccount)
	require.Empty(t, c.Salesperson)
	require.Equal(t, c, decode[api.Customer](t, e.do(t, request{method: http.MethodGet, path: "/customers/" + c.ID}), http.StatusOK))

	// Their own salesperson; another dealer's or nobody is refused; "" removes it.
	c = decode[api.Customer](t, e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-2", api.CustomerBody{Salesperson: ptr(sp.ID)})), http.StatusOK)
	require.Equal(t, sp.ID, c.Salesperson)
	require.Equal(t, "Clara Crud", c.Name, "absent fields stay")
	p := e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-3", api.CustomerBody{Salesperson: ptr("8d1c5f3e-0000-4000-8000-000000000000")})).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"salesperson"}, problemFields(p.Errors).names())
	c = decode[api.Customer](t, e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-4", api.CustomerBody{Salesperson: ptr("")})), http.StatusOK)
	require.Empty(t, c.Salesperson)

	// The language of their messages: German unless set; only de and en.
	require.Equal(t, "de", c.Language)
	c = decode[api.Customer](t, e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-lang-1", api.CustomerBody{Language: ptr("en")})), http.StatusOK)
	require.Equal(t, "en", c.Language)
	require.Equal(t, "Clara Crud", c.Name, "absent fields stay")
	p = e.do(t, request{method: http.MethodPut, path: "/customers/" + c.ID, key: "c-lang-2", raw: true, body: api.CustomerBody{Language: ptr("fr")}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"language"}, problemFields(p.Errors).names())
	en := decode[api.Customer](t, e.do(t, e.vehicleReq(http.MethodPost, "/customers", "c-lang-3", api.CustomerBody{
		Name: ptr("Edward English"), Language: ptr("en"),
	})), http.StatusCreated)
	require.Equal(t, "en", en.Language)
	c = decode[api.Customer](t, e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-lang-4", api.CustomerBody{Language: ptr("de")})), http.StatusOK)
	require.Equal(t, "de", c.Language)

	// Bad input names each field.
	p = e.do(t, request{method: http.MethodPost, path: "/customers", key: "c-5", raw: true,
		body: api.CustomerBody{Name: ptr(""), Email: ptr("kein-at"), Phone: ptr("abc")}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"name", "email", "phone"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPost, path: "/customers", key: "c-6", raw: true, body: api.CustomerBody{Email: ptr("x@example.org")}}).problem(t)
	require.Equal(t, []string{"name"}, problemFields(p.Errors).names())
	// An account may not take another account's address, nor lose its own.
	require.NoError(t, e.store.SetCustomerPassword(ctx, dealerID, c.ID, testHash()))
	p = e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-8", api.CustomerBody{Email: ptr("ERIKA@example.org")})).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []string{"email"}, problemFields(p.Errors).names())
	p = e.do(t, e.vehicleReq(http.MethodPut, "/customers/"+c.ID, "c-9", api.CustomerBody{Email: ptr("")})).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"email"}, problemFields(p.Errors).names())
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: "/customers/nobody"}).problem(t).Status)

	// The list shows job counts and searches name, e-mail and phone.
	n := e.newJob(t, "c-job")
	e.started(t, n)
	l := decode[api.CustomerList](t, e.do(t, request{method: http.MethodGet, path: "/customers?q=erika"}), http.StatusOK)
	require.Len(t, l.Customers, 1)
	require.Equal(t, e.customer.ID, l.Customers[0].ID)
	require.GreaterOrEqual(t, l.Customers[0].Jobs, int64(1))
	require.GreaterOrEqual(t, l.Customers[0].OpenJobs, int64(1))
	require.True(t, l.Customers[0].HasAccount)
	l = decode[api.CustomerList](t, e.do(t, request{method: http.MethodGet, path: "/customers?q=351%20123"}), http.StatusOK)
	require.Len(t, l.Customers, 1)
	require.Equal(t, c.ID, l.Customers[0].ID)
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		require.Less(t, page, 20)
		l := decode[api.CustomerList](t, e.do(t, request{method: http.MethodGet, path: "/customers?limit=1&cursor=" + cursor}), http.StatusOK)
		for _, x := range l.Customers {
			require.False(t, seen[x.ID])
			seen[x.ID] = true
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	require.True(t, seen[c.ID] && seen[e.customer.ID])
}

func (e *env) testVehicleAccess(t *testing.T) {
	ctx := context.Background()
	const other = "autohaus-v"
	_, err := e.store.CreateDealer(ctx, store.Dealer{ID: other, Name: "Autohaus V"})
	require.NoError(t, err)
	e.addStaff(t, other, "Vincent V", "vincent@autohaus-v.de", store.RoleOwner)
	stranger := e.loginStaff(t, other, "vincent@autohaus-v.de")
	for _, r := range []request{
		{method: http.MethodGet, path: "/vehicles"},
		{method: http.MethodGet, path: "/vehicles/" + e.vehicle.ID},
		{method: http.MethodPut, path: "/vehicles/" + e.vehicle.ID, key: "acc-1", body: api.VehicleBody{Make: ptr("x")}},
		{method: http.MethodDelete, path: "/vehicles/" + e.vehicle.ID, key: "acc-2"},
		{method: http.MethodGet, path: "/customers"},
		{method: http.MethodGet, path: "/customers/" + e.customer.ID},
	} {
		for _, as := range []struct {
			c      *caller
			status int
		}{{stranger, http.StatusNotFound}, {e.cust, http.StatusForbidden}, {anonymous(), http.StatusUnauthorized}} {
			r.as = as.c
			require.Equal(t, as.status, e.do(t, r).problem(t).Status, "%s %s", r.method, r.path)
		}
	}
	// Their own dealer's vehicle is not reachable through this dealer's path either.
	mine, err := e.store.CreateVehicle(ctx, other, job.Vehicle{Number: "V-1"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/vehicles/%s", mine.ID)}).problem(t).Status)
	p := e.park(t, anonymous(), "acc-park", mine.ID).problem(t)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names(), "another dealer's vehicle is no vehicle here")
}
