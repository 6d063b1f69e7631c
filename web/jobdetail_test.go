package web_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
)

// selectOption sets the value of the form control sel (chromedp.SetValue refuses
// selects), as if the visitor had chosen it.
func selectOption(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, sel, value))
}

// notice waits for the job page that a change led to, with its notice (a key of
// [jobnotice]); a selector, so the wait outlives the navigation.
func notice(key string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.job-detail[data-notice=%q] .tabs`, key)))
}

// TestJobDetail walks the staff job detail: every tab with screenshots, assigning,
// invoice lines with live totals, a rendered offer and its download, an upload, a
// staff field submitted, phases activated, the history and the customer view.
func TestJobDetail(t *testing.T) {
	e := newEnv(t)
	owner := e.staffAPI(t, demo.Staff[0].Email)
	n := owner.createJob(t)
	var staff api.StaffUserList
	owner.do(t, http.MethodGet, "/staff-users", nil, &staff)
	jonas := ""
	for _, u := range staff.StaffUsers {
		if u.Email == demo.Staff[1].Email {
			jonas = u.ID
		}
	}
	require.NotEmpty(t, jonas)

	ctx := browser(t)
	e.loginStaff(t, ctx, demo.Staff[0].Email)
	base := fmt.Sprintf("%s/staff/%s/jobs/%d", e.URL, demo.Dealer, n)
	tab := func(name string) {
		t.Helper()
		run(t, ctx, chromedp.Navigate(base+"?tab="+name), chromedp.WaitVisible(chromedp.CSS(`#panel-`+name)))
	}

	// The new job is in Anfrage, staff's turn: the page opens on Bearbeitung.
	run(t, ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(`#panel-bearbeitung`)))
	require.Equal(t, "Bearbeitung", read(t, ctx, chromedp.Text(chromedp.CSS(`.tabs a[aria-current=page]`))))
	workflowLink := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`.job-links a[href*=temporal-ui]`), "href"))
	require.Equal(t, fmt.Sprintf("http://temporal-ui.invalid/namespaces/default/workflows/job%%2F%s%%2F%d", demo.Dealer, n), workflowLink.Value)
	screenshots(t, ctx, "job-bearbeitung")

	// Basis: job, vehicle and customer data; assign another salesperson.
	tab("basis")
	facts := read(t, ctx, chromedp.Text(chromedp.CSS(`.job-facts`)))
	for _, want := range []string{demo.Vehicles[0].Number, demo.Vehicles[0].Make, "27.890,00 €", demo.Customer.Name, demo.Customer.Email, demo.Staff[0].Name} {
		require.Contains(t, facts, want)
	}
	screenshots(t, ctx, "job-basis")
	run(t, ctx,
		selectOption(`#assign-salesperson`, jonas),
		selectOption(`#assign-location`, "Potsdam"),
		chromedp.Click(chromedp.CSS(`.assign-form button[type=submit]`)),
		notice("assigned"),
	)
	require.Equal(t, demo.Staff[1].Name, read(t, ctx, chromedp.Text(chromedp.CSS(`dd.salesperson`))))
	require.Equal(t, "Potsdam", read(t, ctx, chromedp.Text(chromedp.CSS(`dd.location`))))

	// Rechnungsdaten: two lines, totals follow the typing, then saved.
	tab("rechnung")
	require.Equal(t, "0,00 €", read(t, ctx, chromedp.Text(chromedp.CSS(`.total-gross`))))
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`button.add-line`)),
		chromedp.WaitVisible(chromedp.CSS(`#line-text-0`)),
		chromedp.SendKeys(chromedp.CSS(`#line-text-0`), "Volkswagen Golf"),
		chromedp.SendKeys(chromedp.CSS(`#line-amount-0`), "27.890,00"),
		chromedp.Poll[chromedp.Void](`document.querySelector('.total-gross').textContent === '27.890,00 €'`),
	)
	require.Equal(t, "23.436,97 €", read(t, ctx, chromedp.Text(chromedp.CSS(`.total-net`))))
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`button.add-line`)),
		chromedp.WaitVisible(chromedp.CSS(`#line-text-1`)),
		chromedp.SendKeys(chromedp.CSS(`#line-text-1`), "Inzahlungnahme"),
		chromedp.SendKeys(chromedp.CSS(`#line-amount-1`), "-5000"),
		chromedp.Poll[chromedp.Void](`document.querySelector('.total-gross').textContent === '22.890,00 €'`),
	)
	screenshots(t, ctx, "job-rechnung")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`button.save-lines`)),
		notice("invoice_saved"),
	)
	require.Equal(t, "22.890,00 €", read(t, ctx, chromedp.Text(chromedp.CSS(`.total-gross`))))
	require.Equal(t, "-5.000,00", read(t, ctx, chromedp.Value(chromedp.CSS(`#line-amount-1`))))

	// Bearbeitung: a staff field saved, then on to the next phase.
	tab("bearbeitung")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-notiz_verkauf`), "Kunde ruft morgen an"),
		chromedp.Click(chromedp.CSS(`.work-form button[name=_button]`)),
		notice("submitted"),
	)
	require.Equal(t, "Kunde ruft morgen an", read(t, ctx, chromedp.Value(chromedp.CSS(`#f-notiz_verkauf`))))
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`button.activate-next`)),
		notice("activated"),
	)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.job-summary`))), "Angebot")

	// Dokumente: the offer rendered, stored and downloadable as a PDF.
	tab("dokumente")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`button[data-field=angebot_dokument]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.documents a`)),
	)
	screenshots(t, ctx, "job-dokumente")
	contentType := read(t, ctx, chromedp.Evaluate[string](
		`fetch(document.querySelector('table.documents a').href).then(r => r.ok ? r.headers.get('content-type') : 'status ' + r.status)`,
		chromedp.EvalAwaitPromise))
	require.Equal(t, "application/pdf", contentType)
	disposition := read(t, ctx, chromedp.Evaluate[string](
		`fetch(document.querySelector('table.documents a').href).then(r => r.headers.get('content-disposition'))`,
		chromedp.EvalAwaitPromise))
	require.Contains(t, disposition, "attachment")

	// Bearbeitung: any reachable phase; Auftrag takes uploads.
	tab("bearbeitung")
	run(t, ctx,
		selectOption(`#activate-phase`, "auftrag"),
		chromedp.Submit(chromedp.CSS(`#activate-phase`)),
		notice("activated"),
	)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.job-summary`))), "Auftrag")
	screenshots(t, ctx, "job-bearbeitung-auftrag")

	// Dateianhänge: a PDF uploaded and listed.
	pdf := filepath.Join(t.TempDir(), "kaufvertrag-unterschrieben.pdf")
	require.NoError(t, os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 0o644))
	tab("anhaenge")
	run(t, ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#upload-file`), []string{pdf}),
		chromedp.Click(chromedp.CSS(`.upload-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.attachments a`)),
	)
	require.Equal(t, "kaufvertrag-unterschrieben.pdf", read(t, ctx, chromedp.Text(chromedp.CSS(`table.attachments a`))))
	screenshots(t, ctx, "job-anhaenge")

	// Bearbeitungsverlauf: what happened, newest first, with links to the documents.
	// The history is the read model's, which the workflow writes a moment after each
	// change: the page is loaded again until the last change is there.
	wants := []string{"Phase aktiviert", "Felder gespeichert", "Dokument erzeugt", "Datei hochgeladen", "Rechnungsdaten geändert", "Zuständigkeit geändert", demo.Staff[0].Name}
	var history string
	for deadline := time.Now().Add(10 * time.Second); ; {
		tab("verlauf")
		history = read(t, ctx, chromedp.Text(chromedp.CSS(`.history`)))
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(history, w) }) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		require.Contains(t, history, want)
	}
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.action-document_stored .history-files a`))), ".pdf")
	screenshots(t, ctx, "job-verlauf")

	// Kundenansicht: the customer's view of Auftrag, nothing to fill in.
	href := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`.job-links a.button`), "href"))
	run(t, ctx, chromedp.Navigate(e.URL+href.Value), chromedp.WaitVisible(chromedp.CSS(`.customer-fields`)))
	require.Equal(t, "Auftrag", read(t, ctx, chromedp.Text(chromedp.CSS(`h1`))))
	enabled := read(t, ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('.customer-fields input:not([disabled]), .customer-fields select:not([disabled]), .customer-fields textarea:not([disabled]), .customer-fields button').length`))
	require.Zero(t, enabled)
	require.True(t, strings.Contains(read(t, ctx, chromedp.Text(chromedp.CSS(`.customer-fields`))), "Kaufvertrag"))
	screenshots(t, ctx, "job-kundenansicht")
}
