package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
)

// listClient calls the env's API over HTTP as a client of its own, with a cookie jar:
// a visitor of the public pages, or staff after login.
type listClient struct {
	e *env
	c *http.Client
}

func (e *env) listClient(t *testing.T) *listClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &listClient{e: e, c: &http.Client{Jar: jar}}
}

// do sends body as JSON to the dealer's path (below /api/v1/dealers/<dealer>) with a
// fresh Idempotency-Key, expects status and decodes the answer into out (nil skips).
func (a *listClient) do(t *testing.T, method, path string, body any, status int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.e.URL+"/api/v1/dealers/"+demo.Dealer+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(api.HeaderIdempotencyKey, uuid.NewString())
	}
	res, err := a.c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, status, res.StatusCode, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
}

// login logs the client in as a demo staff member.
func (a *listClient) login(t *testing.T, email string) {
	t.Helper()
	a.do(t, http.MethodPost, "/staff/login", api.LoginBody{Email: email, Password: demo.Password}, http.StatusOK, nil)
}

// listCallbackJob starts a job as a visitor of the dealer's site asking for a call back
// about the first demo vehicle: the customer's name is name.
func (e *env) listCallbackJob(t *testing.T, name string) api.JobCreated {
	t.Helper()
	visitor := e.listClient(t)
	var vehicles api.PublicVehicleList
	visitor.do(t, http.MethodGet, "/public/vehicles", nil, http.StatusOK, &vehicles)
	var id string
	for _, v := range vehicles.Vehicles {
		if v.Number == demo.Vehicles[0].Number {
			id = v.ID
		}
	}
	require.NotEmpty(t, id, "demo vehicle %s", demo.Vehicles[0].Number)
	var created api.JobCreated
	visitor.do(t, http.MethodPost, "/public/callback", api.CallbackBody{Phone: "+49 30 555 0101", Name: name, VehicleID: id},
		http.StatusCreated, &created)
	return created
}

// TestJobList walks the staff job list: a job a customer started shows with its phase
// icon, turn, vehicle, customer and salesperson; a filter is applied, saved and
// applied again; a column view is built, saved and switched; the row changes without
// a reload when the job changes; staff log out.
func TestJobList(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	token := "Probe" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	customer := "Max " + token
	created := e.listCallbackJob(t, customer)
	n := created.Number
	other := e.listCallbackJob(t, "Erna Zweitkundin").Number
	row := fmt.Sprintf(`tr[data-number="%d"]`, n)

	e.loginStaff(t, ctx, demo.Staff[0].Email)
	// The list polls: the job appears once the workflow has projected it.
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(row+` .phase-open`)), chromedp.WaitVisible(chromedp.CSS(row+` .turn-staff`)))
	text := read(t, ctx, chromedp.Text(chromedp.CSS(row)))
	require.Contains(t, text, demo.Vehicles[0].Number)
	require.Contains(t, text, customer)
	require.Contains(t, text, demo.Staff[0].Name, "the salesperson's name, not the ID")
	label := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(row+` .phase-icon`), "aria-label"))
	require.True(t, strings.HasPrefix(label.Value, "Phase ") && strings.HasSuffix(label.Value, ", offen"), label.Value)
	bell := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(row+` .turn-staff`), "aria-label"))
	require.NotEmpty(t, bell.Value)
	href := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(row+` td a`), "href"))
	require.Equal(t, fmt.Sprintf("/staff/%s/jobs/%d", demo.Dealer, n), href.Value)
	screenshots(t, ctx, "staff-job-list")

	// Filter by free text and status, save the filter, and apply it again.
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`details.job-tools summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-q`)),
		chromedp.SendKeys(chromedp.CSS(`#f-q`), token),
		chromedp.SetValue(chromedp.CSS(`#f-status`), "open"),
		chromedp.Click(chromedp.CSS(`#apply-filter`)),
		chromedp.WaitVisible(chromedp.CSS(`table.jobs[data-filter*="q=`+token+`&"][data-filter*="status=open"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	require.Equal(t, 1, read(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#job-rows tr[data-number]').length`)))
	require.Contains(t, read(t, ctx, chromedp.Location()), "q="+token)
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#filter-name`), "Meine Probe"),
		chromedp.Click(chromedp.CSS(`#save-filter`)),
		chromedp.WaitReady(chromedp.CSS(`ul.saved-filters a[aria-current]`)),
	)
	screenshots(t, ctx, "staff-job-list-filter")
	run(t, ctx,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/jobs"),
		chromedp.WaitVisible(chromedp.CSS(`table.jobs`)),
		chromedp.Click(chromedp.CSS(`details.job-tools summary`)),
		chromedp.Click(chromedp.CSS(`ul.saved-filters a`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.saved-filters a[aria-current]`)),
	)
	require.Equal(t, token, read(t, ctx, chromedp.Value(chromedp.CSS(`#f-q`))))
	require.Equal(t, "open", read(t, ctx, chromedp.Value(chromedp.CSS(`#f-status`))))
	require.Equal(t, 1, read(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#job-rows tr[data-number]').length`)))

	// A column view: hide the location, move the vehicle forward, save, switch.
	headers := func() []string {
		return read(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.jobs thead th')].map(th => th.className)`))
	}
	require.Equal(t, []string{"col-number", "col-phase", "col-turn", "col-vehicle", "col-status", "col-customer", "col-salesperson", "col-location", "col-source", "col-updated_at"}, headers())
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#columns summary`)),
		chromedp.Click(chromedp.CSS(`li[data-column="location"] a.remove`)),
		chromedp.WaitNotPresent(chromedp.CSS(`th.col-location`)),
		chromedp.Click(chromedp.CSS(`li[data-column="vehicle"] a.move-up`)),
		chromedp.WaitVisible(chromedp.CSS(`li[data-column="vehicle"]:nth-child(3)`)),
	)
	compact := []string{"col-number", "col-phase", "col-vehicle", "col-turn", "col-status", "col-customer", "col-salesperson", "col-source", "col-updated_at"}
	require.Equal(t, compact, headers())
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#view-name`), "Kompakt"),
		chromedp.Click(chromedp.CSS(`#save-view`)),
		chromedp.WaitReady(chromedp.CSS(`ul.column-views a[aria-current]`)),
	)
	require.Equal(t, compact, headers())
	require.Equal(t, "Kompakt", read(t, ctx, chromedp.TextContent(chromedp.CSS(`ul.column-views a[aria-current]`))))
	require.Contains(t, read(t, ctx, chromedp.Location()), "q="+token, "the filter stays")
	screenshots(t, ctx, "staff-job-list-columns")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#columns summary`)),
		chromedp.Click(chromedp.CSS(`ul.column-views li:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS(`th.col-location`)),
		// Columns from the address are being edited: the column tools stay open.
		chromedp.Click(chromedp.CSS(`ul.column-views li:nth-child(2) a`)),
		chromedp.WaitNotPresent(chromedp.CSS(`th.col-location`)),
	)
	require.Equal(t, compact, headers())

	// Live: the job is sold through the API while the page is open; the row turns
	// green without a reload.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/jobs"),
		chromedp.WaitVisible(chromedp.CSS(row+` .phase-open`)),
	)
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded = true`)))
	staff := e.listClient(t)
	staff.login(t, demo.Staff[0].Email)
	staff.do(t, http.MethodPost, fmt.Sprintf("/jobs/%d/status", n), api.StatusBody{Status: "sold"}, http.StatusOK, nil)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(row+` .phase-sold`)))
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded === true`)), "the page was not reloaded")
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(row))), "verkauft")

	// Pages of one job each follow the API's cursor.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/jobs?limit=1"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(`a[rel=next]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-number="%d"]`, other))),
	)
	require.Equal(t, 1, read(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#job-rows tr[data-number]').length`)))

	// Log out: the list is behind the login again.
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`.main-nav form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/jobs"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
	)
}
