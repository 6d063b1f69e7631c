package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
)

// xssPayload would set window.__xss if any page let it run as script.
const xssPayload = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`

// noScriptRan fails when the page ran the payload.
func noScriptRan(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__xss === undefined`)), "the payload ran on %s", page)
}

// TestXSS: a customer's name and message that are markup show as text on the
// customer's pages, the staff job list, the job's detail and its customer view, and
// never run.
func TestXSS(t *testing.T) {
	e := newEnv(t)
	customer := browser(t)
	var vehicles api.PublicVehicleList
	e.visitor(t).do(t, http.MethodGet, "/public/vehicles", nil, &vehicles)
	require.NotEmpty(t, vehicles.Vehicles)

	// The customer asks for a call back through the dealer's page.
	run(t, customer,
		chromedp.Navigate(e.URL+"/shop/"+demo.Dealer+"/callback?vehicle="+vehicles.Vehicles[0].ID),
		chromedp.WaitVisible(chromedp.CSS(`#cb-name`)),
		chromedp.SendKeys(chromedp.CSS(`#cb-name`), xssPayload),
		chromedp.SendKeys(chromedp.CSS(`#cb-phone`), "+49 30 555 0199"),
		chromedp.SendKeys(chromedp.CSS(`#cb-message`), xssPayload),
		chromedp.Submit(chromedp.CSS(`#cb-name`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#cb-name`)),
	)
	require.Contains(t, read(t, customer, chromedp.Location()), "/parkplatz")
	noScriptRan(t, customer, "the parking page")

	// Staff see the name as text in the list.
	staff := browser(t)
	e.loginStaff(t, staff, demo.Staff[0].Email)
	cell := `#job-rows td.col-customer`
	run(t, staff, chromedp.WaitVisible(chromedp.CSS(cell)))
	var n string
	for _, r := range read(t, staff, chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll('#job-rows tr[data-number]')].map(tr => [tr.dataset.number, tr.querySelector('td.col-customer').textContent])`)) {
		if strings.TrimSpace(r[1]) == xssPayload {
			n = r[0]
		}
	}
	require.NotEmpty(t, n, "the list shows the name as typed")
	noScriptRan(t, staff, "the job list")

	// The job's detail and its customer view.
	for _, page := range []string{"", "/kundenansicht"} {
		url := fmt.Sprintf("%s/staff/%s/jobs/%s%s", e.URL, demo.Dealer, n, page)
		run(t, staff, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`main`)))
		noScriptRan(t, staff, url)
		if page == "" {
			require.Contains(t, read(t, staff, chromedp.TextContent(chromedp.CSS(`main`))), xssPayload, url)
		}
	}
}
