package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/messages"
)

// TestSandbox: the owner copies the standard workflow (a draft, never published),
// starts a test job on it in the sandbox page, plays its customer in a second browser
// through the signed link, and the job list hides the test job; its e-mail went to the
// owner only, marked as a test.
func TestSandbox(t *testing.T) {
	e := newEnv(t)
	const draft = "standard_sandbox"
	owner := demo.Staff[0]
	e.copyStandard(t, owner.Email, draft)

	staff := browser(t)
	e.loginStaff(t, staff, owner.Email)
	run(t, staff,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/admin/sandbox"),
		chromedp.WaitVisible(chromedp.CSS(`#sandbox-form`)),
	)
	screenshots(t, staff, "sandbox")
	run(t, staff,
		chromedp.SetValue(chromedp.CSS(`#sandbox-workflow`), draft),
		chromedp.Click(chromedp.CSS(`#sandbox-start`)),
	)
	// The answer is a new document at the same address, which chromedp's DOM queries
	// do not follow: read it by script.
	waitFor(t, staff, `document.readyState === 'complete' && document.querySelector('#sandbox-started') !== null`)
	screenshots(t, staff, "sandbox-started")
	staffLink := read(t, staff, chromedp.Evaluate[string](`document.querySelector('#open-staff').getAttribute('href')`))
	number := staffLink[strings.LastIndex(staffLink, "/")+1:]
	require.NotEmpty(t, number)
	customerLink := read(t, staff, chromedp.Evaluate[string](`document.querySelector('#open-customer').getAttribute('href')`))
	require.Equal(t, "_blank", read(t, staff, chromedp.Evaluate[string](`document.querySelector('#open-customer').getAttribute('target')`)))
	require.True(t, strings.HasPrefix(customerLink, "/shop/"+demo.Dealer+"/link/"), "link %q", customerLink)

	// The customer, in a browser of its own, opens the link: the parking page with the job.
	cust := browser(t)
	run(t, cust,
		chromedp.Navigate(e.URL+customerLink),
		chromedp.WaitVisible(chromedp.CSS(`#job-`+number)),
	)
	screenshots(t, cust, "sandbox-customer")

	// The sandbox page lists the test job (the customer's page shows it, so its row is
	// projected by now).
	run(t, staff,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/admin/sandbox"),
		chromedp.WaitVisible(chromedp.CSS(`#sandbox-jobs`)),
	)
	require.Contains(t, read(t, staff, chromedp.Text(chromedp.CSS(`#sandbox-jobs`))), number, "the page lists the test jobs")

	// The job's own page opens, marked as a test; the staff list hides the test job.
	run(t, staff, chromedp.Navigate(e.URL+staffLink), chromedp.WaitVisible(chromedp.CSS(`.job-summary .test-badge`)))
	require.Equal(t, "Test", read(t, staff, chromedp.Text(chromedp.CSS(`.job-summary .test-badge`))))
	run(t, staff,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/jobs"),
		chromedp.WaitVisible(chromedp.CSS(`table.jobs`)),
	)
	hidden := read(t, staff, chromedp.Evaluate[bool](fmt.Sprintf(
		`!Array.from(document.querySelectorAll('table.jobs a')).some(a => a.getAttribute('href').endsWith('/jobs/%s'))`, number)))
	require.True(t, hidden, "the job list leaves test job %s out", number)

	// Its first e-mail went to the owner, marked as a test.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		found := false
		for _, m := range e.Inbox.Messages() {
			if strings.HasPrefix(m.Subject, messages.TestSubjectPrefix) {
				assert.Equal(c, []string{owner.Email}, m.To)
				found = true
			}
		}
		assert.True(c, found, "no test e-mail yet")
	}, 10*time.Second, 50*time.Millisecond)
}

// copyStandard makes a draft through the admin API: a copy of the standard workflow
// under key, as the staff member with the address.
func (e *env) copyStandard(t *testing.T, email, key string) {
	t.Helper()
	e.staffAPI(t, email).do(t, http.MethodPost, "/admin/workflows/copy-standard",
		api.CopyStandardBody{From: definitions.StandardMaster, Key: key, Name: "Zum Ausprobieren"}, nil)
}

// waitFor waits until the script expression is true in the page.
func waitFor(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		assert.NoError(c, err)
		assert.True(c, ok, "waiting for %s", expr)
	}, 15*time.Second, 50*time.Millisecond)
}
