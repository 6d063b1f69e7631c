package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
)

// shopURL is a customer page of the demo dealer.
func (e *env) shopURL(page string) string { return e.URL + "/shop/" + demo.Dealer + "/" + page }

// jobNumber is the number of the first job card on the parking page.
func jobNumber(t *testing.T, ctx context.Context) string {
	t.Helper()
	id := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`article.job`), "id"))
	require.True(t, id.Exists)
	return strings.TrimPrefix(id.Value, "job-")
}

// TestShopParkCallbackRegister: the public vehicle list; parking a vehicle without an
// account shows it on the parking page with its current step; a call back request; a
// registration keeps the anonymously parked jobs.
func TestShopParkCallbackRegister(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)

	run(t, ctx, chromedp.Navigate(e.shopURL("vehicles")), chromedp.WaitVisible(chromedp.CSS(`ul.vehicles li.vehicle`)))
	names := read(t, ctx, chromedp.Text(chromedp.CSS(`ul.vehicles`)))
	for _, v := range demo.Vehicles {
		require.Contains(t, names, v.Model)
	}
	require.Contains(t, names, "27.890,00 €")
	noHorizontalScroll(t, ctx)
	screenshots(t, ctx, "shop-vehicles")

	// Park the first vehicle anonymously: the parking page shows it and its step.
	run(t, ctx, chromedp.Click(chromedp.CSS(`ul.vehicles li.vehicle:first-child button.park`)),
		chromedp.WaitVisible(chromedp.CSS(`article.job .fields`)))
	card := read(t, ctx, chromedp.Text(chromedp.CSS(`article.job`)))
	require.Contains(t, card, demo.Vehicles[0].Model)
	require.Contains(t, card, "Wir sind dran")
	require.Contains(t, card, "Vielen Dank für Ihr Interesse")
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.notice`))), "Parkplatz")
	noHorizontalScroll(t, ctx)
	screenshots(t, ctx, "shop-parking-anonymous")

	// The vehicle list now says it is parked.
	run(t, ctx, chromedp.Navigate(e.shopURL("vehicles")), chromedp.WaitVisible(chromedp.CSS(`ul.vehicles li.vehicle:first-child a.button.primary`)))

	// A call back for the second vehicle.
	run(t, ctx, chromedp.Click(chromedp.CSS(`ul.vehicles li.vehicle:nth-child(2) a.callback`)),
		chromedp.WaitVisible(chromedp.CSS(`#cb-phone`)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.about`))), demo.Vehicles[1].Model)
	noHorizontalScroll(t, ctx)
	screenshots(t, ctx, "shop-callback")
	// A phone number the API refuses shows beside the field.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#cb-name`), "Max Muster"),
		chromedp.SendKeys(chromedp.CSS(`#cb-phone`), "abc"),
		chromedp.SendKeys(chromedp.CSS(`#cb-message`), "Bitte nachmittags anrufen."),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-phone`)))
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#cb-phone`), "aria-invalid")).Value)
	screenshots(t, ctx, "shop-callback-error")
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#cb-phone`), "+49 30 9876543"),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`article.job:nth-of-type(2)`)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.notice`))), "zurück")
	page := read(t, ctx, chromedp.Text(chromedp.CSS(`main`)))
	require.Contains(t, page, demo.Vehicles[1].Model)
	require.Contains(t, page, "Bitte nachmittags anrufen.")

	// Register: the parked jobs stay on the parking page, now the account's.
	run(t, ctx, chromedp.Click(chromedp.CSS(`.account a[href*="/register"]`)), chromedp.WaitVisible(chromedp.CSS(`#name`)))
	screenshots(t, ctx, "shop-register")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#name`), "Max Muster"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "max@example.org"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "ein-langes-passwort"),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.account button.logout`)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.account`))), "Max Muster")
	page = read(t, ctx, chromedp.Text(chromedp.CSS(`main`)))
	require.Contains(t, page, demo.Vehicles[0].Model)
	require.Contains(t, page, demo.Vehicles[1].Model)
	screenshots(t, ctx, "shop-parking-registered")

	// Log out: back to the vehicles, the parking page is empty.
	run(t, ctx, chromedp.Click(chromedp.CSS(`.account button.logout`)), chromedp.WaitVisible(chromedp.CSS(`ul.vehicles`)),
		chromedp.Navigate(e.shopURL("parkplatz")), chromedp.WaitVisible(chromedp.CSS(`section.empty`)))
	screenshots(t, ctx, "shop-parking-empty")
}

// TestShopSubmitAndLink: the demo customer logs in and parks a vehicle; staff make an
// offer; the customer's submit without a required choice shows the error beside the
// field, with the choice it goes through; the e-mail's signed link opens the job in
// another browser.
func TestShopSubmitAndLink(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)

	run(t, ctx, chromedp.Navigate(e.shopURL("login")), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	screenshots(t, ctx, "shop-login")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#email`), demo.Customer.Email),
		chromedp.SendKeys(chromedp.CSS(`#password`), demo.Password),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.account button.logout`)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.account`))), demo.Customer.Name)

	run(t, ctx, chromedp.Navigate(e.shopURL("vehicles")), chromedp.WaitVisible(chromedp.CSS(`button.park`)),
		chromedp.Click(chromedp.CSS(`ul.vehicles li.vehicle:first-child button.park`)),
		chromedp.WaitVisible(chromedp.CSS(`article.job .fields`)))
	number := jobNumber(t, ctx)

	// Staff make the offer and its document: the customer's turn, with fields to fill.
	staff := e.staffAPI(t, demo.Staff[0].Email)
	staff.do(t, http.MethodPost, "/jobs/"+number+"/activate", api.ActivateBody{Phase: "angebot"}, nil)
	staff.do(t, http.MethodPost, "/jobs/"+number+"/documents", api.GenerateDocumentBody{Field: "angebot_dokument"}, nil)
	sel := "#j" + number + "-f-lieferart"
	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(sel)))
	// The offer downloads through the parking page.
	offer := `[data-key=angebot_dokument] ul.files a`
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(offer)))
	href := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(offer), "href")).Value
	require.Contains(t, href, "/shop/"+demo.Dealer+"/jobs/"+number+"/files/")
	require.Equal(t, "200 application/pdf", read(t, ctx, chromedp.Evaluate[string](
		`fetch(`+strconv.Quote(href)+`).then(r => r.status + " " + r.headers.get("Content-Type"))`, chromedp.EvalAwaitPromise)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`article.job .turn`))), "Sie sind dran")
	extras := read(t, ctx, chromedp.Text(chromedp.CSS(`article.job fieldset`)))
	require.Contains(t, extras, demo.Vehicles[0].Extras[0])
	noHorizontalScroll(t, ctx)
	screenshots(t, ctx, "shop-parking-offer")

	// The save button has its own label; without the required choice the error shows
	// beside the select.
	button := `article.job button[name=_button][value=angebot_annehmen]`
	require.Equal(t, "Angebot annehmen", read(t, ctx, chromedp.Text(chromedp.CSS(button))))
	form := "#job-" + number + "-form"
	afterSwap(t, ctx, form, chromedp.Click(chromedp.CSS(`#j`+number+`-f-ausstattung-0`)))
	run(t, ctx, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(`#err-lieferart`)))
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(sel), "aria-invalid")).Value)
	require.Equal(t, "err-lieferart", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(sel), "aria-describedby")).Value)
	// What the customer ticked stays ticked.
	require.True(t, read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#j`+number+`-f-ausstattung-0`), "checked")).Exists)
	screenshots(t, ctx, "shop-parking-error")

	afterSwap(t, ctx, form, selectOption(sel, "abholung"))
	run(t, ctx, chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)), chromedp.WaitVisible(chromedp.CSS(`article.job .after-submit`)))
	card := read(t, ctx, chromedp.Text(chromedp.CSS(`article.job`)))
	require.Contains(t, card, "Sie haben das Angebot angenommen")
	require.Contains(t, card, "Wir sind dran")
	screenshots(t, ctx, "shop-parking-submitted")

	// The order: the customer uploads the signed contract; the file is linked.
	staff.do(t, http.MethodPost, "/jobs/"+number+"/activate", api.ActivateBody{Phase: "auftrag"}, nil)
	upload := "#j" + number + "-f-unterlagen"
	pdf := filepath.Join(t.TempDir(), "kaufvertrag-unterschrieben.pdf")
	require.NoError(t, os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"), 0o600))
	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(upload)))
	screenshots(t, ctx, "shop-parking-order")
	run(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(upload), []string{pdf}),
		chromedp.Click(chromedp.CSS(`article.job form.step > button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-key=unterlagen] ul.files a`)))
	require.Equal(t, "kaufvertrag-unterschrieben.pdf", read(t, ctx, chromedp.Text(chromedp.CSS(`[data-key=unterlagen] ul.files a`))))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`article.job .turn`))), "Wir sind dran")
	screenshots(t, ctx, "shop-parking-uploaded")

	// The offer's e-mail carries a signed link that opens the job in a browser without
	// a session.
	link := waitForLink(t, e, demo.Customer.Email)
	other := browser(t)
	run(t, other, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#job-`+number)))
	require.Contains(t, read(t, other, chromedp.Text(chromedp.CSS(`.notice`))), "Vorgang")
	require.Contains(t, read(t, other, chromedp.Text(chromedp.CSS(`#job-`+number))), demo.Vehicles[0].Model)
	screenshots(t, other, "shop-parking-link")

	// A link that is no longer valid leads to the login.
	run(t, other, chromedp.Navigate(e.shopURL("link/nicht-gueltig")), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	require.Contains(t, read(t, other, chromedp.Text(chromedp.CSS(`.notice`))), "nicht mehr gültig")
}

var parkingLink = regexp.MustCompile(`https?://[^\s"<>]+/shop/[^\s"<>/]+/link/[^\s"<>]+`)

// waitForLink waits for an e-mail to the address with a parking page link.
func waitForLink(t *testing.T, e *env, to string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		msgs, err := e.Inbox.Wait(ctx, n)
		require.NoError(t, err, "no e-mail to %s with a parking link", to)
		m := msgs[n-1]
		if strings.Contains(strings.Join(m.To, ","), to) {
			if link := parkingLink.FindString(m.Text); link != "" {
				return link
			}
		}
	}
}

// noHorizontalScroll fails when the page at phone width is wider than the screen.
func noHorizontalScroll(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight))
	width := read(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	run(t, ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight))
	require.LessOrEqual(t, width, phoneWidth, fmt.Sprintf("page is %dpx wide at %dpx", width, phoneWidth))
}
