package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/demo"
)

// TestLanguageSwitch: pages are German until the visitor picks English in the header;
// the choice sticks across pages, and the API's refusals come in the same language.
func TestLanguageSwitch(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(e.URL+"/shop/"+demo.Dealer+"/vehicles"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	require.Equal(t, "Unsere Fahrzeuge", read(t, ctx, chromedp.Text(chromedp.CSS(`h1`))))
	require.Equal(t, "de", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`html`), "lang")).Value)

	run(t, ctx, chromedp.Click(chromedp.CSS(`nav.lang a`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] h1`)))
	require.Equal(t, "Our vehicles", read(t, ctx, chromedp.Text(chromedp.CSS(`h1`))))
	screenshots(t, ctx, "shop-vehicles-en")

	// The choice holds on the next page, and a refused login is worded in English.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/staff/"+demo.Dealer+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), demo.Staff[0].Email),
		chromedp.SendKeys(chromedp.CSS(`#password`), "wrong password"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)),
	)
	require.Equal(t, "Staff log in", read(t, ctx, chromedp.Text(chromedp.CSS(`h1`))))
	refusal := read(t, ctx, chromedp.Text(chromedp.CSS(`p.error`)))
	require.NotEmpty(t, refusal)
	require.NotContains(t, refusal, "Passwort", "the API's refusal follows the page language")
	screenshots(t, ctx, "staff-login-refused-en")

	run(t, ctx, chromedp.Click(chromedp.CSS(`nav.lang a`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=de] #email`)))
	require.Equal(t, "Anmeldung für Mitarbeiter", read(t, ctx, chromedp.Text(chromedp.CSS(`h1`))))
}
