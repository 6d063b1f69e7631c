package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/demo"
)

// TestCSRF: a form post without the token of the visitor's CSRF cookie is refused, in
// a plain HTTP client and in the browser (the token removed from a real form); the
// same form with its token logs in.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	loginURL := e.URL + "/staff/" + demo.Dealer + "/login"
	res, err := client.Get(loginURL)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	form := url.Values{"email": {demo.Staff[0].Email}, "password": {demo.Password}}
	res, err = client.PostForm(loginURL, form)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode, "a post without the token is refused")
	for _, c := range res.Cookies() {
		require.False(t, strings.HasPrefix(c.Name, "jm_staff"), "no session for a refused post")
	}

	ctx := browser(t)
	run(t, ctx,
		chromedp.Navigate(loginURL),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), demo.Staff[0].Email),
		chromedp.SendKeys(chromedp.CSS(`#password`), demo.Password),
		chromedp.SetAttributeValue(chromedp.CSS(`input[name=csrf_token]`), "value", "forged"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.error-page`)),
	)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`h1`))), "Formular")
	e.loginStaff(t, ctx, demo.Staff[0].Email)
}
