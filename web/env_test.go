package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
	"github.com/jobmanager/jobmanager/web"
	"github.com/jobmanager/jobmanager/workers"
)

// devServer is the package's one Temporal dev server; envs use task queues and job
// number ranges of their own.
var devServer *testsuite.DevServer

func TestMain(m *testing.M) {
	devstack.RunTests(m, func(srv *testsuite.DevServer) { devServer = srv })
}

var envCount atomic.Int64

// env is the whole system on loopback, as `make dev` runs it: the demo dealer on a
// database of its own, a worker with real side effects (SMTP to the inbox, the SMS and
// bezahl.de simulators), and the API with the pages on one server.
type env struct {
	URL   string
	Store *store.Store
	// The simulators the side effects reach (Inbox, SMS, Pay).
	*simulators.Simulators
	queue string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{queue: fmt.Sprintf("web-test-%d", envCount.Add(1))}
	e.Store = pgtest.New(t)
	_, err := demo.Seed(ctx, e.Store, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	// Envs share one Temporal server, where a workflow ID job/<dealer>/<number> can be
	// used once: each env numbers its jobs from a range of its own.
	_, err = e.Store.Pool().Exec(ctx, `UPDATE dealers SET next_job_number = $2 WHERE id = $1`,
		demo.Dealer, time.Now().UnixMilli()%1_000_000_000*1000+envCount.Load()*100_000)
	require.NoError(t, err)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	// The server's address is known before it serves: the parking links in messages and
	// the webhook registered with the bezahl.de simulator point at it.
	srv := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + srv.Listener.Addr().String()
	sims, err := simulators.Start(ctx, simulators.Options{PublicURL: e.URL, WebhookDealer: demo.Dealer})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sims.Close()) })
	e.Simulators = sims
	svc, err := sims.Settings.Build(e.Store, logger)
	require.NoError(t, err)
	tc := devServer.Client()
	w := workers.New(tc, workers.Deps{TaskQueue: e.queue, Store: e.Store, Logger: logger, Documents: svc.Documents, Messages: svc.Messages,
		Payments: svc.Payments})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	handler := api.New(api.Deps{TaskQueue: e.queue, Store: e.Store, Temporal: tc, Logger: logger,
		Documents: svc.Documents, Messages: svc.Messages, BezahlWebhookSecret: sims.Settings.WebhookSecret})
	require.NoError(t, web.Mount(handler, web.Options{CSRFKey: []byte("web-test-csrf-key-0123456789abcd"), Logger: logger,
		Dev: web.DevLinks{Inbox: sims.InboxURL, TemporalUI: "http://temporal-ui.invalid"}}))
	srv.Config.Handler = handler
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

// browser is a headless Debian Chromium with a profile of its own; each call is a
// separate browser, so staff and customer sessions never share cookies.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	require.NoError(t, err, "the page tests need Debian's chromium (apt-get install chromium); deploy/ensure-packages installs it")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(desktopWidth, desktopHeight),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// run runs browser steps with a time limit, failing the test on error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

// read runs one browser action that answers a value, such as chromedp.Text.
func read[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	require.NoError(t, err)
	return v
}

// Screen sizes of the screenshots.
const (
	phoneWidth, phoneHeight     = 390, 844
	desktopWidth, desktopHeight = 1366, 900
)

// screenshotDir is where screenshots land: $JOBMANAGER_ARTIFACTS/screenshots, else
// test-artifacts/screenshots at the repository root (git-ignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("JOBMANAGER_ARTIFACTS")
	if dir == "" {
		root, err := devstack.RepoRoot()
		require.NoError(t, err)
		dir = filepath.Join(root, "test-artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// screenshots writes the page as it is now, full length, at phone and at desktop width:
// <name>-phone.png and <name>-desktop.png.
func screenshots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := screenshotDir(t)
	name = strings.ReplaceAll(name, "/", "-")
	for _, size := range []struct {
		label         string
		width, height int64
	}{{"phone", phoneWidth, phoneHeight}, {"desktop", desktopWidth, desktopHeight}} {
		run(t, ctx, chromedp.EmulateViewport(size.width, size.height))
		checkPage(t, ctx, name+"-"+size.label, size.width)
		png := read(t, ctx, chromedp.FullScreenshot(100))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+"-"+size.label+".png"), png, 0o644))
	}
	run(t, ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight))
}

// pageProblems finds what makes a page hard to use: an input, select or text area that
// no label names (label, aria-label or aria-labelledby), an image without alt text, and
// a page wider than the screen. It runs on every page a test takes screenshots of.
const pageProblems = `(() => {
	const out = [];
	for (const el of document.querySelectorAll('input, select, textarea')) {
		if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) continue;
		const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
		if (!named) out.push('no label: ' + el.outerHTML.slice(0, 160));
	}
	for (const img of document.querySelectorAll('img:not([alt])')) out.push('no alt: ' + img.outerHTML.slice(0, 160));
	if (document.documentElement.scrollWidth > window.innerWidth + 1) {
		out.push('wider than the screen: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
	}
	return out;
})()`

// checkPage fails the test for every problem pageProblems finds on the page as shown at
// width.
func checkPage(t *testing.T, ctx context.Context, name string, width int64) {
	t.Helper()
	for _, problem := range read(t, ctx, chromedp.Evaluate[[]string](pageProblems)) {
		t.Errorf("page %s at %d px: %s", name, width, problem)
	}
}

// loginStaff logs a demo staff member in through the login page.
func (e *env) loginStaff(t *testing.T, ctx context.Context, email string) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), demo.Password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.jobs`)),
	)
}

// TestStaffLogin: the login page logs staff in and the job list shows; screenshots of both.
func TestStaffLogin(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/jobs"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	screenshots(t, ctx, "staff-login")
	e.loginStaff(t, ctx, demo.Staff[0].Email)
	who := read(t, ctx, chromedp.Text(chromedp.CSS(`.who`)))
	require.Equal(t, demo.Staff[0].Name, who)
	screenshots(t, ctx, "staff-jobs")
}

// apiClient calls the dealer's API over HTTP outside the browser, with a cookie jar of
// its own: a visitor of the public pages (e.visitor), or staff after login (e.staffAPI).
type apiClient struct {
	base string
	http *http.Client
}

// visitor is an API client without a session.
func (e *env) visitor(t *testing.T) *apiClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &apiClient{base: e.URL + "/api/v1/dealers/" + demo.Dealer, http: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// staffAPI is an API client logged in as the demo staff member with the address.
func (e *env) staffAPI(t *testing.T, email string) *apiClient {
	t.Helper()
	a := e.visitor(t)
	a.do(t, http.MethodPost, "/staff/login", api.LoginBody{Email: email, Password: demo.Password}, nil)
	return a
}

// do sends body as JSON to the dealer's path (below /api/v1/dealers/<dealer>) and
// decodes a success into out (nil skips); a failure fails the test.
func (a *apiClient) do(t *testing.T, method, path string, body, out any) {
	t.Helper()
	status, raw := a.try(t, method, path, body)
	require.Less(t, status, 300, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
}

// try sends body as JSON (a state change with a fresh Idempotency-Key) and returns the
// answer's status and body.
func (a *apiClient) try(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(api.HeaderIdempotencyKey, uuid.NewString())
	}
	res, err := a.http.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, raw
}

// createJob starts a job as staff for the first demo vehicle and the demo customer and
// waits until the read model has it.
func (a *apiClient) createJob(t *testing.T) int64 {
	t.Helper()
	var vehicles api.VehicleList
	a.do(t, http.MethodGet, "/vehicles", nil, &vehicles)
	var customers api.CustomerList
	a.do(t, http.MethodGet, "/customers", nil, &customers)
	customer := ""
	for _, c := range customers.Customers {
		if c.Email == demo.Customer.Email {
			customer = c.ID
		}
	}
	require.NotEmpty(t, customer)
	vehicle := ""
	for _, v := range vehicles.Vehicles {
		if v.Number == demo.Vehicles[0].Number {
			vehicle = v.ID
		}
	}
	require.NotEmpty(t, vehicle, "demo vehicle %s", demo.Vehicles[0].Number)
	var created api.JobCreated
	a.do(t, http.MethodPost, "/jobs", api.CreateJobRequest{VehicleID: vehicle, CustomerID: customer}, &created)
	require.Eventually(t, func() bool {
		status, _ := a.try(t, http.MethodGet, fmt.Sprintf("/jobs/%d", created.Number), nil)
		return status == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond)
	return created.Number
}

// callbackJob starts a job as a visitor of the dealer's site asking for a call back
// about the first demo vehicle: the customer's name is name.
func (e *env) callbackJob(t *testing.T, name string) api.JobCreated {
	t.Helper()
	visitor := e.visitor(t)
	var vehicles api.PublicVehicleList
	visitor.do(t, http.MethodGet, "/public/vehicles", nil, &vehicles)
	var id string
	for _, v := range vehicles.Vehicles {
		if v.Number == demo.Vehicles[0].Number {
			id = v.ID
		}
	}
	require.NotEmpty(t, id, "demo vehicle %s", demo.Vehicles[0].Number)
	var created api.JobCreated
	visitor.do(t, http.MethodPost, "/public/callback", api.CallbackBody{Phone: "+49 30 555 0101", Name: name, VehicleID: id}, &created)
	return created
}

// afterSwap does action, a change of a choice that makes htmx answer a form again (the
// parking page's job form, the Bearbeitung form), and waits until htmx has put the new
// form in place and settled, and ready (a selector of the new form) shows: a click
// meant for the form must not land on the one being replaced.
func afterSwap(t *testing.T, ctx context.Context, ready string, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx,
		chromedp.Evaluate[chromedp.Void](`window.__settled = false; document.body.addEventListener('htmx:afterSettle', () => { window.__settled = true }, {once: true})`),
		action,
		chromedp.Poll[chromedp.Void](`window.__settled === true`),
		chromedp.WaitVisible(chromedp.CSS(ready)),
	)
}
