package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// staffEnv is the env with an admin and a sales user of the dealer, three vehicles and
// three customers, and eight jobs spread over statuses, phases, turns, salespeople,
// locations, sources, vehicles and customers for the list's tests.
type staffEnv struct {
	*env
	admin, sales *caller
	vehicles     []job.Vehicle
	customers    []store.Customer
	jobs         []int64
}

func TestStaff(t *testing.T) {
	e := newEnv(t)
	s := newStaffEnv(t, e)
	// The list's tests first: they know every job of the dealer.
	t.Run("ListFilters", s.testListFilters)
	t.Run("Search", s.testSearch)
	t.Run("SortsAndPaging", s.testSortsAndPaging)
	t.Run("ListErrors", s.testListErrors)
	t.Run("SavedFilters", s.testSavedFilters)
	t.Run("ColumnViews", s.testColumnViews)
	t.Run("DetailPhases", s.testDetailPhases)
	t.Run("Documents", s.testDocuments)
	t.Run("SoldOn", s.testSoldOn)
	t.Run("Reopen", s.testReopen)
	t.Run("Migrate", s.testMigrate)
	// Last: it stops and restarts the worker.
	t.Run("ReopenWithoutWorker", s.testReopenWithoutWorker)
}

func newStaffEnv(t *testing.T, e *env) *staffEnv {
	t.Helper()
	ctx := context.Background()
	s := &staffEnv{env: e}
	e.addStaff(t, dealerID, "Adam Admin", "admin@autohaus-test.de", store.RoleAdmin)
	e.addStaff(t, dealerID, "Sina Sales", "sales@autohaus-test.de", store.RoleSales)
	s.admin = e.loginStaff(t, dealerID, "admin@autohaus-test.de")
	s.sales = e.loginStaff(t, dealerID, "sales@autohaus-test.de")
	// Numbers from a block of their own, six digits long at least, so a search for one
	// finds no vehicle or customer data that happens to contain it.
	_, err := e.store.Pool().Exec(ctx, `UPDATE dealers SET next_job_number = $2 WHERE id = $1`, dealerID, envJobNumbers.Add(1_000_000)-999_999+500_000)
	require.NoError(t, err)

	v2, err := e.store.CreateVehicle(ctx, dealerID, job.Vehicle{Number: "HH-2001", Make: "BMW", Model: "320d", Location: "Hamburg"})
	require.NoError(t, err)
	v3, err := e.store.CreateVehicle(ctx, dealerID, job.Vehicle{Number: "M-3003", Make: "Škoda", Model: "Octavia", Location: "München"})
	require.NoError(t, err)
	s.vehicles = []job.Vehicle{e.vehicle, v2, v3}
	c2, err := e.store.CreateCustomer(ctx, store.Customer{Dealer: dealerID, Name: "Hans Meier", Email: "hans.meier@example.org"})
	require.NoError(t, err)
	c3, err := e.store.CreateCustomer(ctx, store.Customer{Dealer: dealerID, Name: "Zoë Krüger", Email: "zoe@example.org"})
	require.NoError(t, err)
	s.customers = []store.Customer{e.customer, c2, c3}

	create := func(key string, vehicle, customer int, source job.Source) int64 {
		body := map[string]any{"vehicle_id": s.vehicles[vehicle].ID, "source": string(source)}
		if customer >= 0 {
			body["customer_id"] = s.customers[customer].ID
		}
		n := e.create(t, key, body).Number
		s.jobs = append(s.jobs, n)
		e.waitProjected(t, n)
		return n
	}
	sp2, sp3, potsdam := "verkauf-2", "verkauf-3", "Potsdam"
	create("sl-1", 0, 0, job.SourceManual)
	n := create("sl-2", 1, 1, job.SourcePark)
	e.act(t, n, "activate", "sl-2a", api.ActivateBody{Phase: "angebot"})
	n = create("sl-3", 2, 2, job.SourceCallback)
	e.act(t, n, "status", "sl-3a", api.StatusBody{Status: job.StatusSold})
	n = create("sl-4", 0, 1, job.SourceMarketplace)
	e.act(t, n, "assign", "sl-4a", api.AssignBody{Salesperson: &sp2, Location: &potsdam})
	n = create("sl-5", 1, -1, job.SourceManual)
	e.act(t, n, "status", "sl-5a", api.StatusBody{Status: job.StatusCanceled})
	n = create("sl-6", 2, 0, job.SourcePark)
	e.act(t, n, "activate", "sl-6a", api.ActivateBody{Phase: "angebot"})
	e.customerSubmit(t, n, "sl-6b", "angebot", map[string]any{"lieferart": "abholung"})
	e.act(t, n, "status", "sl-6c", api.StatusBody{Status: job.StatusClosed})
	n = create("sl-7", 0, 2, job.SourceManual)
	e.act(t, n, "activate", "sl-7a", nil)
	e.act(t, n, "activate", "sl-7b", nil)
	n = create("sl-8", 1, 0, job.SourceCallback)
	e.act(t, n, "assign", "sl-8a", api.AssignBody{Salesperson: &sp3})
	s.settle(t)
	return s
}

// settle waits until the list stops changing: side effects of activations (messages
// this env's worker cannot send) land in the jobs' histories after the requests have
// answered, and move the jobs' updated_at.
func (s *staffEnv) settle(t *testing.T) {
	t.Helper()
	var last string
	require.Eventually(t, func() bool {
		now := s.list(t, "limit=500").Jobs
		cur := fmt.Sprint(now)
		stable := cur == last
		last = cur
		return stable
	}, 20*time.Second, 300*time.Millisecond)
}

func numbers(rows []job.Row) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.Number)
	}
	return out
}

// all is every job of the dealer, newest change first.
func (s *staffEnv) all(t *testing.T) []job.Row {
	t.Helper()
	l := s.list(t, "limit=500")
	require.Empty(t, l.NextCursor)
	return l.Jobs
}

// Each filter alone and combined lists exactly the jobs whose rows match it, newest
// change first.
func (s *staffEnv) testListFilters(t *testing.T) {
	all := s.all(t)
	require.ElementsMatch(t, s.jobs, numbers(all))
	v, c := s.vehicles, s.customers
	cases := []struct {
		query string
		match func(job.Row) bool
	}{
		{"status=open", func(r job.Row) bool { return r.Status == job.StatusOpen }},
		{"status=sold,canceled", func(r job.Row) bool { return r.Status == job.StatusSold || r.Status == job.StatusCanceled }},
		{"phase=angebot", func(r job.Row) bool { return r.Phase == "angebot" }},
		{"turn=customer", func(r job.Row) bool { return r.Turn == definitions.TurnCustomer }},
		{"salesperson=verkauf-2", func(r job.Row) bool { return r.Salesperson == "verkauf-2" }},
		{"location=Hamburg", func(r job.Row) bool { return r.Location == "Hamburg" }},
		{"source=park", func(r job.Row) bool { return r.Source == job.SourcePark }},
		{"vehicle=" + v[1].ID, func(r job.Row) bool { return r.VehicleID == v[1].ID }},
		{"customer=" + c[0].ID, func(r job.Row) bool { return r.CustomerID == c[0].ID }},
		{"status=open&vehicle=" + v[0].ID + "&source=manual", func(r job.Row) bool {
			return r.Status == job.StatusOpen && r.VehicleID == v[0].ID && r.Source == job.SourceManual
		}},
		{"status=open,sold&turn=staff&location=Berlin", func(r job.Row) bool {
			return (r.Status == job.StatusOpen || r.Status == job.StatusSold) && r.Turn == definitions.TurnStaff && r.Location == "Berlin"
		}},
		{"salesperson=verkauf-1&customer=" + c[2].ID + "&phase=auftrag", func(r job.Row) bool {
			return r.Salesperson == "verkauf-1" && r.CustomerID == c[2].ID && r.Phase == "auftrag"
		}},
	}
	for _, tc := range cases {
		var want []int64
		for _, r := range all {
			if tc.match(r) {
				want = append(want, r.Number)
			}
		}
		require.NotEmpty(t, want, "the jobs cover %s", tc.query)
		require.Less(t, len(want), len(all), "%s filters something out", tc.query)
		require.Equal(t, want, numbers(s.list(t, tc.query).Jobs), tc.query)
	}
}

// Free text finds jobs by customer name and e-mail, vehicle number and make, and job
// number, case-insensitively and by fragments; every word must match.
func (s *staffEnv) testSearch(t *testing.T) {
	jobsOf := func(match func(job.Row) bool) []int64 {
		var out []int64
		for _, r := range s.all(t) {
			if match(r) {
				out = append(out, r.Number)
			}
		}
		return out
	}
	search := func(q string, extra ...string) []int64 {
		t.Helper()
		v := url.Values{"q": {q}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return numbers(s.list(t, v.Encode()).Jobs)
	}
	erika := jobsOf(func(r job.Row) bool { return r.CustomerID == s.customers[0].ID })
	require.Len(t, erika, 3)
	require.Equal(t, erika, search("Mustermann"))
	require.Equal(t, erika, search("MUSTERMANN erika"))
	require.Equal(t, erika, search("erika@example"))
	require.Equal(t, jobsOf(func(r job.Row) bool { return r.CustomerID == s.customers[2].ID }), search("krüger"))
	hamburg := jobsOf(func(r job.Row) bool { return r.VehicleID == s.vehicles[1].ID })
	require.Equal(t, hamburg, search("HH-2001"))
	require.Equal(t, hamburg, search("bmw 320"))
	require.Equal(t, jobsOf(func(r job.Row) bool { return r.VehicleID == s.vehicles[0].ID && r.CustomerID == s.customers[0].ID }),
		search("golf mustermann"))
	n := s.jobs[2]
	require.Equal(t, []int64{n}, search(strconv.FormatInt(n, 10)), "the job number")
	require.Equal(t, jobsOf(func(r job.Row) bool { return r.CustomerID == s.customers[0].ID && r.Status == job.StatusClosed }),
		search("mustermann", "status", "closed"))
	require.Empty(t, search("mustermann meier"))
	require.Empty(t, search("100%"))
}

// Every sort pages through all jobs without gaps or repeats, in its order; a cursor
// belongs to its sort.
func (s *staffEnv) testSortsAndPaging(t *testing.T) {
	all := s.all(t)
	newestFirst := func(a, b job.Row) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return int(b.Number - a.Number)
	}
	orders := map[string]func(a, b job.Row) int{
		"updated_at": newestFirst,
		"number":     func(a, b job.Row) int { return int(b.Number - a.Number) },
		"status": func(a, b job.Row) int {
			if c := strings.Compare(string(b.Status), string(a.Status)); c != 0 {
				return c
			}
			return newestFirst(a, b)
		},
		"phase": func(a, b job.Row) int {
			if c := strings.Compare(b.Phase, a.Phase); c != 0 {
				return c
			}
			return newestFirst(a, b)
		},
	}
	cursors := map[string]string{}
	for sort, order := range orders {
		want := slices.Clone(all)
		slices.SortFunc(want, order)
		var got []int64
		cursor, pages := "", 0
		for {
			q := url.Values{"sort": {sort}, "limit": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			page := s.list(t, q.Encode())
			require.LessOrEqual(t, len(page.Jobs), 3)
			got = append(got, numbers(page.Jobs)...)
			pages++
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
			cursors[sort] = cursor
		}
		require.Equal(t, numbers(want), got, "sort=%s pages neither skip nor repeat", sort)
		require.Equal(t, (len(all)+2)/3, pages)
	}
	// Without sort the list is sorted by updated_at, and takes its cursors.
	require.Equal(t, http.StatusOK, s.do(t, request{method: http.MethodGet, path: "/jobs?limit=3&cursor=" + cursors["updated_at"]}).Status)
	p := s.do(t, request{method: http.MethodGet, path: "/jobs?sort=status&limit=3&cursor=" + cursors["number"]}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, []string{"cursor"}, problemFields(p.Errors).names())
	require.Equal(t, "cursor_other_sort", p.Errors[0].Code)
	require.Equal(t, "status", p.Errors[0].Params["sort"])
}

func (s *staffEnv) testListErrors(t *testing.T) {
	get := func(query string, raw bool) api.Problem {
		t.Helper()
		p := s.do(t, request{method: http.MethodGet, path: "/jobs?" + query, raw: raw}).problem(t)
		require.Equal(t, http.StatusBadRequest, p.Status)
		return p
	}
	p := get("sort=colour", true)
	require.Equal(t, []string{"sort"}, problemFields(p.Errors).names())
	require.Equal(t, "unknown_sort", p.Errors[0].Code)
	p = get(url.Values{"q": {strings.Repeat("x", 201)}}.Encode(), true)
	require.Equal(t, []string{"q"}, problemFields(p.Errors).names())
	require.Equal(t, "too_long", p.Errors[0].Code)
	p = get(url.Values{"q": {"a b c d e f g h i"}}.Encode(), false)
	require.Equal(t, []string{"q"}, problemFields(p.Errors).names())
	require.Equal(t, "too_many_terms", p.Errors[0].Code)
	p = get("sort=number&sort=phase", false)
	require.Equal(t, []string{"sort"}, problemFields(p.Errors).names())
}

// Saved filters belong to their staff user: another user's are not listed and answer
// 404; one default per user; names once per user; the query is checked as the list
// checks it.
func (s *staffEnv) testSavedFilters(t *testing.T) {
	post := func(as *caller, key string, body any, raw bool) response {
		return s.do(t, request{method: http.MethodPost, path: "/saved-filters", as: as, key: key, body: body, raw: raw})
	}
	open := decode[api.SavedFilter](t, post(s.staff, "sf-1", api.SavedFilterBody{Name: "Offene", Query: ptr("status=open&sort=number"), Default: true}, false), http.StatusCreated)
	require.True(t, open.Default)
	require.Equal(t, "sort=number&status=open", open.Query, "parameters sorted by name")
	again := post(s.staff, "sf-1", api.SavedFilterBody{Name: "Offene", Query: ptr("status=open&sort=number"), Default: true}, false)
	require.Equal(t, "true", again.Header.Get(api.HeaderIdempotentReplayed))
	require.Equal(t, open, decode[api.SavedFilter](t, again, http.StatusCreated), "a repeat answers the same")

	mine := decode[api.SavedFilter](t, post(s.staff, "sf-2", api.SavedFilterBody{Name: "Meine Golf", Query: ptr("?salesperson=verkauf-1&q=golf"), Default: true}, false), http.StatusCreated)
	require.Equal(t, "q=golf&salesperson=verkauf-1", mine.Query)
	list := decode[api.SavedFilterList](t, s.do(t, request{method: http.MethodGet, path: "/saved-filters"}), http.StatusOK)
	require.Len(t, list.SavedFilters, 2)
	require.Equal(t, []string{"Meine Golf", "Offene"}, []string{list.SavedFilters[0].Name, list.SavedFilters[1].Name})
	require.True(t, list.SavedFilters[0].Default)
	require.False(t, list.SavedFilters[1].Default, "the newer default took it")
	// The saved query is a list query.
	require.NotEmpty(t, s.list(t, mine.Query).Jobs)

	p := post(s.staff, "sf-3", api.SavedFilterBody{Name: "offene", Query: ptr("status=sold")}, false).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []string{"name"}, problemFields(p.Errors).names())
	p = post(s.staff, "sf-4", map[string]any{"name": "", "query": "stauts=open&status=bogus&cursor=abc&sort=colour&limit=0"}, true).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.ElementsMatch(t, []string{"name", "query.cursor", "query.stauts", "query.status", "query.sort", "query.limit"}, problemFields(p.Errors).names())
	p = post(s.staff, "sf-5", api.SavedFilterBody{Name: "kaputt", Query: ptr("status=%zz")}, false).problem(t)
	require.Equal(t, []string{"query"}, problemFields(p.Errors).names())
	p = post(s.staff, "sf-5b", map[string]any{"name": "ohne"}, true).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"query"}, problemFields(p.Errors).names())
	require.Equal(t, "required", p.Errors[0].Code)
	p = post(s.staff, "sf-6", map[string]any{"name": "x", "query": "", "columns": []string{"number"}}, true).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status, "an unknown field")

	// Another user sees none of them and cannot touch them.
	other := decode[api.SavedFilterList](t, s.do(t, request{method: http.MethodGet, path: "/saved-filters", as: s.sales}), http.StatusOK)
	require.Empty(t, other.SavedFilters)
	path := "/saved-filters/" + open.ID
	p = s.do(t, request{method: http.MethodPut, path: path, as: s.sales, key: "sf-7", body: api.SavedFilterBody{Name: "Gekapert", Query: ptr("")}}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	p = s.do(t, request{method: http.MethodDelete, path: path, as: s.sales, key: "sf-8"}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	// The sales user has filters of their own, under the same name.
	decode[api.SavedFilter](t, post(s.sales, "sf-9", api.SavedFilterBody{Name: "Offene", Query: ptr("status=open"), Default: true}, false), http.StatusCreated)

	replaced := decode[api.SavedFilter](t, s.do(t, request{method: http.MethodPut, path: path, key: "sf-10",
		body: api.SavedFilterBody{Name: "Offen und verkauft", Query: ptr("status=open,sold"), Default: true}}), http.StatusOK)
	require.Equal(t, open.ID, replaced.ID)
	require.Equal(t, "status=open%2Csold", replaced.Query)
	require.True(t, replaced.Default)
	list = decode[api.SavedFilterList](t, s.do(t, request{method: http.MethodGet, path: "/saved-filters"}), http.StatusOK)
	require.False(t, list.SavedFilters[0].Default, "Meine Golf lost the default")

	require.Equal(t, http.StatusNoContent, s.do(t, request{method: http.MethodDelete, path: path, key: "sf-11"}).Status)
	require.Equal(t, http.StatusNotFound, s.do(t, request{method: http.MethodDelete, path: path, key: "sf-12"}).problem(t).Status)
	p = s.do(t, request{method: http.MethodPut, path: "/saved-filters/nope", key: "sf-13", body: api.SavedFilterBody{Name: "x", Query: ptr("")}}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)

	// Integrations have no saved views; customers and anonymous callers neither.
	made := decode[api.APITokenCreated](t, s.do(t, request{method: http.MethodPost, path: "/api-tokens", body: api.APITokenBody{Name: "Views"}}), http.StatusCreated)
	require.Equal(t, http.StatusForbidden, s.do(t, request{method: http.MethodGet, path: "/saved-filters", as: &caller{token: made.Token}}).problem(t).Status)
	require.Equal(t, http.StatusForbidden, s.do(t, request{method: http.MethodGet, path: "/saved-filters", as: s.cust}).problem(t).Status)
	require.Equal(t, http.StatusUnauthorized, s.do(t, request{method: http.MethodGet, path: "/column-views", as: anonymous()}).problem(t).Status)
}

func (s *staffEnv) testColumnViews(t *testing.T) {
	post := func(key string, body any, raw bool) response {
		return s.do(t, request{method: http.MethodPost, path: "/column-views", as: s.admin, key: key, body: body, raw: raw})
	}
	compact := decode[api.ColumnView](t, post("cv-1", api.ColumnViewBody{Name: "Kompakt", Columns: []string{"number", "status", "customer"}, Default: true}, false), http.StatusCreated)
	require.Equal(t, []string{"number", "status", "customer"}, compact.Columns)
	full := decode[api.ColumnView](t, post("cv-2", api.ColumnViewBody{Name: "Alles", Columns: api.ColumnKeys}, false), http.StatusCreated)
	require.False(t, full.Default)

	p := post("cv-3", api.ColumnViewBody{Name: "Falsch", Columns: []string{"number", "colour", "number"}}, true).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"columns[1]", "columns[2]"}, problemFields(p.Errors).names())
	require.Equal(t, []string{"unknown_column", "duplicate_column"}, []string{p.Errors[0].Code, p.Errors[1].Code})
	p = post("cv-4", api.ColumnViewBody{Name: "Leer", Columns: []string{}}, true).problem(t)
	require.Equal(t, []string{"columns"}, problemFields(p.Errors).names())

	path := "/column-views/" + full.ID
	reordered := decode[api.ColumnView](t, s.do(t, request{method: http.MethodPut, path: path, as: s.admin, key: "cv-5",
		body: api.ColumnViewBody{Name: "Alles", Columns: []string{"updated_at", "number", "phase"}, Default: true}}), http.StatusOK)
	require.Equal(t, []string{"updated_at", "number", "phase"}, reordered.Columns)
	list := decode[api.ColumnViewList](t, s.do(t, request{method: http.MethodGet, path: "/column-views", as: s.admin}), http.StatusOK)
	require.Equal(t, []string{"Alles", "Kompakt"}, []string{list.ColumnViews[0].Name, list.ColumnViews[1].Name})
	require.Equal(t, []bool{true, false}, []bool{list.ColumnViews[0].Default, list.ColumnViews[1].Default})

	// The owner has none and cannot change the admin's.
	mineList := decode[api.ColumnViewList](t, s.do(t, request{method: http.MethodGet, path: "/column-views"}), http.StatusOK)
	require.Empty(t, mineList.ColumnViews)
	p = s.do(t, request{method: http.MethodPut, path: path, key: "cv-6", body: api.ColumnViewBody{Name: "x", Columns: []string{"number"}}}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Equal(t, http.StatusNotFound, s.do(t, request{method: http.MethodDelete, path: path, key: "cv-7"}).problem(t).Status)
	require.Equal(t, http.StatusNoContent, s.do(t, request{method: http.MethodDelete, path: path, as: s.admin, key: "cv-8"}).Status)
}

func phaseStates(phases []api.JobPhase) map[string]api.PhaseState {
	out := map[string]api.PhaseState{}
	for _, p := range phases {
		out[p.Key] = p.State
	}
	return out
}

// The detail lists every phase of the job's definition with its state along a journey
// that skips a phase.
func (s *staffEnv) testDetailPhases(t *testing.T) {
	n := s.newJob(t, "dp-job")
	s.waitProjected(t, n)
	d := s.detail(t, n)
	require.NotNil(t, d.View, d.ViewError)
	keys := make([]string, len(d.Phases))
	for i, p := range d.Phases {
		keys[i] = p.Key
	}
	require.Equal(t, []string{"anfrage", "angebot", "auftrag", "zahlung", "lieferung", "abholung", "feedback"}, keys)
	require.Equal(t, "Angebot", d.Phases[1].Name)
	require.Equal(t, map[string]api.PhaseState{
		"anfrage": api.PhaseCurrent, "angebot": api.PhaseReachable, "auftrag": api.PhaseReachable, "zahlung": api.PhaseReachable,
		// Delivery needs the customer to choose it; nobody has chosen yet.
		"lieferung": api.PhaseNotApplicable, "abholung": api.PhaseReachable, "feedback": api.PhaseReachable,
	}, phaseStates(d.Phases))

	s.act(t, n, "activate", "dp-1", api.ActivateBody{Phase: "angebot"})
	s.customerSubmit(t, n, "dp-2", "angebot", map[string]any{"lieferart": "abholung"})
	s.act(t, n, "activate", "dp-3", api.ActivateBody{Phase: "zahlung"})
	d = s.detail(t, n)
	require.Equal(t, map[string]api.PhaseState{
		"anfrage": api.PhaseDone, "angebot": api.PhaseDone, "auftrag": api.PhaseSkipped, "zahlung": api.PhaseCurrent,
		"lieferung": api.PhaseNotApplicable, "abholung": api.PhaseReachable, "feedback": api.PhaseReachable,
	}, phaseStates(d.Phases))

	s.act(t, n, "activate", "dp-4", nil)
	s.act(t, n, "status", "dp-5", api.StatusBody{Status: job.StatusClosed})
	d = s.detail(t, n)
	require.Equal(t, map[string]api.PhaseState{
		"anfrage": api.PhaseDone, "angebot": api.PhaseDone, "auftrag": api.PhaseSkipped, "zahlung": api.PhaseDone,
		"lieferung": api.PhaseSkipped, "abholung": api.PhaseCurrent, "feedback": api.PhaseNotApplicable,
	}, phaseStates(d.Phases), "a closed job has nothing reachable")
	require.Empty(t, d.Documents)
	require.Empty(t, d.Attachments)
}

// Stored documents and attachments are listed with their versions, without content.
func (s *staffEnv) testDocuments(t *testing.T) {
	ctx := context.Background()
	n := s.newJob(t, "doc-job")
	s.waitProjected(t, n)
	add := func(field, kind, phase, key, filename, contentType string, content []byte) store.Document {
		t.Helper()
		doc, created, err := s.store.AddDocumentVersion(ctx, store.NewDocument{
			Dealer: dealerID, Number: n, Field: field, Kind: kind, Phase: phase, RequestKey: key,
			Actor: job.Actor{Side: job.Staff, ID: s.staffID},
		}, func(int) (store.Content, error) {
			return store.Content{Filename: filename, ContentType: contentType, Bytes: content}, nil
		})
		require.NoError(t, err)
		require.True(t, created)
		return doc
	}
	v1 := add("angebot_dokument", store.DocumentRendered, "angebot", "doc-1", "Angebot_1.pdf", "application/pdf", []byte("%PDF-1.4 eins"))
	v2 := add("angebot_dokument", store.DocumentRendered, "angebot", "doc-2", "Angebot_2.pdf", "application/pdf", []byte("%PDF-1.4 zwei!"))
	up := add("unterlagen", store.DocumentUpload, "anfrage", "doc-3", "ausweis.jpg", "image/jpeg", []byte{0xff, 0xd8, 0xff})
	mail := add("unterlagen", store.DocumentInbound, "angebot", "doc-4", fmt.Sprintf("%d_Mandat.pdf", n), "application/pdf", []byte("%PDF-1.4 mandat"))

	r := s.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d", n)})
	require.NotContains(t, string(r.Body), "PDF-1.4", "no content in the detail")
	d := decode[api.JobDetail](t, r, http.StatusOK)
	require.Len(t, d.Documents, 2)
	require.Equal(t, []string{v1.ID, v2.ID}, []string{d.Documents[0].ID, d.Documents[1].ID})
	require.Equal(t, api.JobFile{
		ID: v1.ID, Field: "angebot_dokument", Version: 1, Kind: store.DocumentRendered, Superseded: true, Phase: "angebot",
		Filename: "Angebot_1.pdf", ContentType: "application/pdf", Size: 13, CreatedAt: v1.CreatedAt,
	}, d.Documents[0])
	require.False(t, d.Documents[1].Superseded)
	require.Equal(t, 2, d.Documents[1].Version)
	require.Len(t, d.Attachments, 2)
	require.Equal(t, []string{up.ID, mail.ID}, []string{d.Attachments[0].ID, d.Attachments[1].ID})
	require.Equal(t, []string{store.DocumentUpload, store.DocumentInbound}, []string{d.Attachments[0].Kind, d.Attachments[1].Kind})
	require.True(t, d.Attachments[0].Superseded)
	require.Equal(t, int64(3), d.Attachments[0].Size)
}

// A dealer's setting makes the sale date mandatory with status sold; the date is
// recorded in the history.
func (s *staffEnv) testSoldOn(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, s.store.SetDealerSetting(ctx, dealerID, store.SettingSoldOnRequired, true))
	defer func() { require.NoError(t, s.store.SetDealerSetting(ctx, dealerID, store.SettingSoldOnRequired, nil)) }()
	n := s.newJob(t, "so-job")
	s.waitProjected(t, n)
	status := func(key string, body api.StatusBody) response {
		return s.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/status", n), key: key, body: body})
	}
	p := status("so-1", api.StatusBody{Status: job.StatusSold}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"sold_on"}, problemFields(p.Errors).names())
	require.Equal(t, "required", p.Errors[0].Code)
	p = status("so-2", api.StatusBody{Status: job.StatusSold, SoldOn: "27.11.2026"}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"sold_on"}, problemFields(p.Errors).names())
	require.Equal(t, "invalid_date", p.Errors[0].Code)
	res := decode[job.Result](t, status("so-3", api.StatusBody{Status: job.StatusSold, SoldOn: "2026-11-20"}), http.StatusOK)
	require.Equal(t, job.StatusSold, res.Status)
	d := s.detail(t, n)
	asked := requested(d.History)
	last := asked[len(asked)-1]
	require.Equal(t, job.ActionStatus, last.Action)
	require.Equal(t, map[string]any{"status": "sold", "sold_on": "2026-11-20"}, last.After)
	require.Equal(t, []string{"created:", "phase_activated:anfrage", "status_changed:anfrage"}, actions(d.History), "refused requests left no trace")
	s.act(t, n, "status", "so-4", api.StatusBody{Status: job.StatusOpen})

	// Without the setting the date may be left out.
	require.NoError(t, s.store.SetDealerSetting(ctx, dealerID, store.SettingSoldOnRequired, false))
	res = s.act(t, n, "status", "so-5", api.StatusBody{Status: job.StatusSold})
	require.Equal(t, job.StatusSold, res.Status)
}

// Owners and admins reopen a closed job: a new run goes on from the projected state,
// the history continues with reopened; sales may not; an open job is not reopened.
func (s *staffEnv) testReopen(t *testing.T) {
	n := s.newJob(t, "ro-job")
	s.waitProjected(t, n)
	s.act(t, n, "activate", "ro-1", nil)
	closed := s.act(t, n, "status", "ro-2", api.StatusBody{Status: job.StatusClosed})
	s.waitClosed(t, n)
	reopen := func(as *caller, number int64, key string) response {
		return s.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/reopen", number), as: as, key: key})
	}

	// Sales may neither change the closed job nor reopen it.
	p := s.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/activate", n), as: s.sales, key: "ro-3"}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, api.ProblemJobEnded, p.Type)
	p = reopen(s.sales, n, "ro-4").problem(t)
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Equal(t, api.ProblemForbidden, p.Type)
	made := decode[api.APITokenCreated](t, s.do(t, request{method: http.MethodPost, path: "/api-tokens", body: api.APITokenBody{Name: "Reopen"}}), http.StatusCreated)
	require.Equal(t, http.StatusForbidden, reopen(&caller{token: made.Token}, n, "ro-4b").problem(t).Status)

	r := reopen(s.staff, n, "ro-5")
	res := decode[job.Result](t, r, http.StatusOK)
	require.Greater(t, res.Seq, closed.Seq)
	require.Equal(t, job.Result{Seq: res.Seq, Phase: "angebot", Status: job.StatusOpen, Turn: definitions.TurnStaff}, res)
	again := reopen(s.staff, n, "ro-5")
	require.Equal(t, "true", again.Header.Get(api.HeaderIdempotentReplayed))
	require.Equal(t, r.String(), again.String(), "a repeated reopen answers the same")

	d := s.detail(t, n)
	require.Equal(t, job.StatusOpen, d.Job.Status)
	require.Equal(t, "angebot", d.Job.Phase)
	require.NotNil(t, d.View, d.ViewError)
	require.Equal(t, job.StatusOpen, d.View.Status)
	requireGaplessHistory(t, d.History)
	asked := requested(d.History)
	last := asked[len(asked)-1]
	require.Equal(t, job.ActionReopened, last.Action)
	require.Equal(t, res.Seq, last.Seq)
	require.Equal(t, job.Actor{Side: job.Staff, ID: s.staffID}, last.Actor)
	require.Equal(t, map[string]any{"status": "closed"}, last.Before)
	_, listed := listed(s.list(t, "status=open&phase=angebot"), n)
	require.True(t, listed)

	// The job goes on in its new run; a second reopen of the open job is refused.
	p = reopen(s.staff, n, "ro-6").problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []string{"status"}, problemFields(p.Errors).names())
	res = s.act(t, n, "activate", "ro-7", nil)
	require.Equal(t, "auftrag", res.Phase)

	// Canceled, then reopened by an admin.
	s.act(t, n, "status", "ro-8", api.StatusBody{Status: job.StatusCanceled})
	s.waitClosed(t, n)
	res = decode[job.Result](t, reopen(s.admin, n, "ro-9"), http.StatusOK)
	require.Equal(t, job.StatusOpen, res.Status)
	require.Equal(t, "auftrag", res.Phase)
	d = s.detail(t, n)
	requireGaplessHistory(t, d.History)
	require.Equal(t, []string{
		"created:", "phase_activated:anfrage", "phase_activated:angebot", "status_changed:angebot", "reopened:angebot",
		"phase_activated:auftrag", "status_changed:auftrag", "reopened:auftrag",
	}, actions(d.History))

	// Unknown job.
	require.Equal(t, http.StatusNotFound, reopen(s.staff, 99_999_999, "ro-10").problem(t).Status)
}

// Owners and admins move a job to a newer published version of its workflow: the
// history records it, the staff view follows the new labels; a version without the
// job's current phase is refused.
func (s *staffEnv) testMigrate(t *testing.T) {
	a := newAdminEnv(t, s.env)
	// The admin dealer's jobs get numbers of this env's own, as the env's dealer's do:
	// the Temporal server is shared with the other tests that use the admin dealer.
	_, err := s.store.Pool().Exec(context.Background(), `UPDATE dealers SET next_job_number = $2 WHERE id = $1`,
		adminDealer, envJobNumbers.Add(1_000_000)-999_999)
	require.NoError(t, err)

	decode[api.WorkflowCopy](t, a.post(t, "/admin/workflows/copy-standard", "mg-1", api.CopyStandardBody{
		From: definitions.StandardMaster, Key: "mein_ablauf", Name: "Mein Ablauf", CopyPhases: true,
	}), http.StatusCreated)
	v1 := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/mein_ablauf/publish", "mg-2", nil), http.StatusCreated)
	decode[api.PublishedRef](t, a.put(t, "/admin/active-workflow", "mg-3", api.ActiveWorkflowBody{Workflow: "mein_ablauf"}), http.StatusOK)
	n := a.newJob(t, "mg-job-1")
	a.activate(t, n, "mg-4")
	require.Equal(t, definitions.Ref{Workflow: "mein_ablauf", Version: 1, Hash: v1.Hash}, a.jobDetail(t, n).Job.Definition)

	// Version 2 renames the job's current phase.
	angebot := decode[api.AdminPhase](t, a.get(t, "/admin/phases/mein_ablauf_angebot"), http.StatusOK).Phase
	angebot.Name = "Ihr Angebot"
	decode[api.AdminPhase](t, a.put(t, "/admin/phases/mein_ablauf_angebot", "mg-5", angebot), http.StatusOK)
	v2 := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/mein_ablauf/publish", "mg-6", nil), http.StatusCreated)
	require.Equal(t, 2, v2.Version)
	require.Equal(t, "Angebot", a.jobDetail(t, n).View.Phase.Name, "the job keeps its version until moved")

	migrate := func(as *caller, number int64, key string, version int) response {
		return a.do(t, request{method: http.MethodPost, path: a.path(fmt.Sprintf("/jobs/%d/migrate", number)), as: as, key: key,
			body: api.MigrateBody{Version: version}})
	}
	require.Equal(t, http.StatusForbidden, migrate(a.sales, n, "mg-7", 2).problem(t).Status)
	for _, tc := range []struct {
		version int
		code    string
	}{{1, "not_newer"}, {99, "no_published_version"}} {
		p := migrate(a.owner, n, "mg-8-"+strconv.Itoa(tc.version), tc.version).problem(t)
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Equal(t, []string{"version"}, problemFields(p.Errors).names())
		require.Equal(t, tc.code, p.Errors[0].Code)
	}
	p := a.do(t, request{method: http.MethodPost, path: a.path(fmt.Sprintf("/jobs/%d/migrate", n)), as: a.owner, key: "mg-9",
		body: map[string]any{"version": 0}, raw: true}).problem(t)
	require.Equal(t, []string{"version"}, problemFields(p.Errors).names())

	r := migrate(a.admin, n, "mg-10", 2)
	res := decode[job.Result](t, r, http.StatusOK)
	require.Equal(t, "mein_ablauf_angebot", res.Phase)
	require.Equal(t, r.String(), migrate(a.admin, n, "mg-10", 2).String(), "a repeat answers the same")
	d := a.jobDetail(t, n)
	require.Equal(t, definitions.Ref{Workflow: "mein_ablauf", Version: 2, Hash: v2.Hash}, d.Job.Definition)
	require.Equal(t, "Ihr Angebot", d.Job.PhaseName)
	require.NotNil(t, d.View, d.ViewError)
	require.Equal(t, "Ihr Angebot", d.View.Phase.Name, "the staff view follows the new labels")
	require.Equal(t, api.JobPhase{Key: "mein_ablauf_angebot", Name: "Ihr Angebot", State: api.PhaseCurrent}, d.Phases[1])
	requireGaplessHistory(t, d.History)
	asked := requested(d.History)
	last := asked[len(asked)-1]
	require.Equal(t, job.ActionMigrated, last.Action)
	require.Equal(t, job.Actor{Side: job.Staff, ID: a.adminID}, last.Actor)
	require.Equal(t, "mein_ablauf@1", last.Before["definition"])
	require.Equal(t, "mein_ablauf@2", last.After["definition"])

	// Version 3 drops the first phase, where a new job stands.
	n2 := a.newJob(t, "mg-job-2")
	require.Equal(t, 2, a.jobDetail(t, n2).Job.Definition.Version)
	wf := decode[api.AdminWorkflow](t, a.get(t, "/admin/workflows/mein_ablauf"), http.StatusOK).Workflow
	require.Equal(t, "mein_ablauf_anfrage", wf.Phases[0])
	wf.Phases = wf.Phases[1:]
	decode[api.AdminWorkflow](t, a.put(t, "/admin/workflows/mein_ablauf", "mg-11", wf), http.StatusOK)
	v3 := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/mein_ablauf/publish", "mg-12", nil), http.StatusCreated)
	require.Equal(t, 3, v3.Version)
	p = migrate(a.owner, n2, "mg-13", 3).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"version"}, problemFields(p.Errors).names())
	require.Equal(t, "phase_missing", p.Errors[0].Code)
	require.Equal(t, "mein_ablauf_anfrage", p.Errors[0].Params["phase"])
	// The job that stands in a phase version 3 has moves on.
	res = decode[job.Result](t, migrate(a.owner, n, "mg-14", 3), http.StatusOK)
	require.Equal(t, 3, a.jobDetail(t, n).Job.Definition.Version)
	require.Equal(t, "mein_ablauf_angebot", res.Phase)

	// A closed job is not moved.
	a.do(t, request{method: http.MethodPost, path: a.path(fmt.Sprintf("/jobs/%d/status", n2)), as: a.owner, key: "mg-15",
		body: api.StatusBody{Status: job.StatusClosed}})
	p = migrate(a.owner, n2, "mg-16", 3).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, api.ProblemJobEnded, p.Type)
	require.Equal(t, []string{"created:", "phase_activated:mein_ablauf_anfrage", "status_changed:mein_ablauf_anfrage"},
		actions(a.jobDetail(t, n2).History), "refused moves left no trace")
}

// Without a worker the reopened run starts but is not projected: the answer is 503 and
// the read model still shows the job closed; a repeat waits for the same run again
// instead of starting a second one; once a worker runs, the job is open, reopened once.
func (s *staffEnv) testReopenWithoutWorker(t *testing.T) {
	n := s.newJob(t, "rw-job")
	s.waitProjected(t, n)
	s.act(t, n, "status", "rw-1", api.StatusBody{Status: job.StatusClosed})
	s.waitClosed(t, n)

	s.stopWorker()
	restarted := false
	defer func() {
		if !restarted {
			s.startWorker(t)
		}
	}()
	impatient := httptest.NewServer(api.New(api.Deps{TaskQueue: s.queue, Store: s.store, Temporal: s.tc, Logger: s.logger, UpdateTimeout: time.Second}))
	defer impatient.Close()
	reopen := request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/reopen", n), key: "rw-2", server: impatient}
	for range 2 {
		r := s.do(t, reopen)
		p := r.problem(t)
		require.Equal(t, http.StatusServiceUnavailable, p.Status)
		require.Equal(t, "5", r.Header.Get("Retry-After"))
		require.Contains(t, p.Detail, api.HeaderIdempotencyKey)
		row, ok := listed(s.list(t, "status=closed"), n)
		require.True(t, ok)
		require.Equal(t, job.StatusClosed, row.Status)
	}

	s.startWorker(t)
	restarted = true
	require.Eventually(t, func() bool {
		_, ok := listed(s.list(t, "status=open"), n)
		return ok
	}, 20*time.Second, 50*time.Millisecond)
	// The client's retry after its 503s gets the first answer, not "job is open".
	res := decode[job.Result](t, s.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/reopen", n), key: "rw-2"}), http.StatusOK)
	require.Equal(t, job.StatusOpen, res.Status)
	d := s.detail(t, n)
	require.Equal(t, []string{"created:", "phase_activated:anfrage", "status_changed:anfrage", "reopened:anfrage"}, actions(d.History),
		"reopened once although asked three times")
	requireGaplessHistory(t, d.History)
}
