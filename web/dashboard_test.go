package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
)

// TestJobList walks the staff job list: a job a customer started shows with its phase
// icon, turn, vehicle, customer and salesperson; a filter is applied, saved and
// applied again; a column view is built, saved and switched; the row changes without
// a reload when the job changes; staff log out.
func TestJobList(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	token := "Probe" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	customer := "Max " + token
	created := e.callbackJob(t, customer)
	n := created.Number
	other := e.callbackJob(t, "Erna Zweitkundin").Number
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
	staff := e.staffAPI(t, demo.Staff[0].Email)
	staff.do(t, http.MethodPost, fmt.Sprintf("/jobs/%d/status", n), api.StatusBody{Status: "sold"}, nil)
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
