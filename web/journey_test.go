package web_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/demo"
)

// journey is the standard journey's two browsers, the customer's and the staff's, on
// one job.
type journey struct {
	t      *testing.T
	e      *env
	cust   context.Context
	staff  context.Context
	number string
	step   int
}

// shot takes the screenshots of a step: journey-NN-<what>.
func (j *journey) shot(ctx context.Context, what string) {
	j.t.Helper()
	j.step++
	screenshots(j.t, ctx, fmt.Sprintf("journey-%02d-%s", j.step, what))
}

// staffBase is the job's detail page.
func (j *journey) staffBase() string {
	return fmt.Sprintf("%s/staff/%s/jobs/%s", j.e.URL, demo.Dealer, j.number)
}

// listed opens the staff job list and waits until the job's row shows the phase, the
// turn (staff: bell, customer: hourglass) and the status colour; the read model
// follows each change a moment later, and the list's rows poll for it.
func (j *journey) listed(phase, turn, status string) {
	j.t.Helper()
	row := fmt.Sprintf(`tr[data-number="%s"]`, j.number)
	check := fmt.Sprintf(`(() => {
		const r = document.querySelector(%q);
		if (!r) return false;
		const phase = r.querySelector('td.col-phase'), icon = r.querySelector('.phase-icon');
		return !!phase && phase.textContent.includes(%q) && !!icon && icon.classList.contains(%q) &&
			!!r.querySelector('.turn-' + %q) && !!r.querySelector('td.col-status .status-' + %q);
	})()`, row, phase, "phase-"+status, turn, status)
	run(j.t, j.staff,
		chromedp.Navigate(j.e.URL+"/staff/"+demo.Dealer+"/jobs"),
		chromedp.WaitVisible(chromedp.CSS(`table.jobs`)),
		chromedp.Poll[chromedp.Void](check, chromedp.WithPollingTimeout(25*time.Second)),
	)
	label := read(j.t, j.staff, chromedp.AttributeValue(chromedp.CSS(row+` .phase-icon`), "aria-label")).Value
	require.Contains(j.t, label, phase)
}

// staffTab opens a tab of the job's detail page.
func (j *journey) staffTab(tab string) {
	j.t.Helper()
	run(j.t, j.staff, chromedp.Navigate(j.staffBase()+"?tab="+tab), chromedp.WaitVisible(chromedp.CSS(`#panel-`+tab)))
}

// activateNext activates the next phase from Bearbeitung and checks it is phase.
func (j *journey) activateNext(phase string) {
	j.t.Helper()
	j.staffTab("bearbeitung")
	require.Contains(j.t, read(j.t, j.staff, chromedp.Text(chromedp.CSS(`button.activate-next`))), phase)
	run(j.t, j.staff, chromedp.Click(chromedp.CSS(`button.activate-next`)), notice("activated"))
	require.Contains(j.t, read(j.t, j.staff, chromedp.Text(chromedp.CSS(`.job-summary`))), phase)
}

// generate stores the documents of the fields on the Dokumente tab, one after the
// other, waiting for each new version in the list.
func (j *journey) generate(fields ...string) {
	j.t.Helper()
	j.staffTab("dokumente")
	for _, f := range fields {
		count := read(j.t, j.staff, chromedp.Evaluate[int](`document.querySelectorAll('table.documents tbody tr').length`))
		run(j.t, j.staff,
			chromedp.Click(chromedp.CSS(`button[data-field=`+f+`]`)),
			// A selector, so the wait outlives the navigation: one more version.
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.job-detail[data-notice=document_stored] table.documents tbody tr:nth-child(%d)`, count+1))),
		)
	}
}

// parking opens the customer's parking page at the job once it shows sel: the
// workflow's side effects (a payment order, the projection) land a moment later, so
// the page fetches itself until its job card has sel, then loads.
func (j *journey) parking(sel string) {
	j.t.Helper()
	card := "#job-" + j.number
	if !strings.HasPrefix(read(j.t, j.cust, chromedp.Location()), j.e.URL) {
		run(j.t, j.cust, chromedp.Navigate(j.e.shopURL("parkplatz")), chromedp.WaitVisible(chromedp.CSS(card)))
	}
	found := read(j.t, j.cust, chromedp.Evaluate[bool](fmt.Sprintf(`(async () => {
		const end = Date.now() + 25000;
		while (Date.now() < end) {
			const html = await fetch(%q).then(r => r.text());
			if (new DOMParser().parseFromString(html, 'text/html').querySelector(%q)) return true;
			await new Promise(r => setTimeout(r, 200));
		}
		return false;
	})()`, j.e.shopURL("parkplatz"), card+" "+sel), chromedp.EvalAwaitPromise))
	require.True(j.t, found, "the parking page does not show %s", sel)
	run(j.t, j.cust, chromedp.Navigate(j.e.shopURL("parkplatz")), chromedp.WaitReady(chromedp.CSS(card+" "+sel)))
}

// changed runs a change of the job's form on the parking page and waits until htmx
// has put the form back as the change makes it.
func (j *journey) changed(action chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	afterSwap(j.t, j.cust, "#job-"+j.number+"-form", action)
}

// pdf fetches a link of the page and checks it answers a PDF.
func pdf(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	href := read(t, ctx, chromedp.AttributeValue(chromedp.CSS(sel), "href")).Value
	require.NotEmpty(t, href, sel)
	require.Equal(t, "200 application/pdf", read(t, ctx, chromedp.Evaluate[string](
		`fetch(`+strconv.Quote(href)+`).then(r => r.status + " " + r.headers.get("Content-Type"))`, chromedp.EvalAwaitPromise)), sel)
}

// mailLink waits for an e-mail to the address whose subject contains subject and
// answers its parking page link.
func mailLink(t *testing.T, e *env, to, subject string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		msgs, err := e.Inbox.Wait(ctx, n)
		require.NoError(t, err, "no e-mail to %s about %q", to, subject)
		m := msgs[n-1]
		if strings.Contains(strings.Join(m.To, ","), to) && strings.Contains(m.Subject, subject) {
			link := parkingLink.FindString(m.Text)
			require.NotEmpty(t, link, "the e-mail %q has no parking page link", m.Subject)
			return link
		}
	}
}

// TestJourney walks the standard journey through the pages only, a staff member and a
// customer in two browsers: park a vehicle, offer, acceptance with delivery, order
// documents, payment in the bezahl.de simulator, delivery, feedback, sold and closed;
// the list shows phase, turn and status colour at each step, the history every step.
func TestJourney(t *testing.T) {
	e := newEnv(t)
	j := &journey{t: t, e: e, cust: browser(t), staff: browser(t)}
	cust, staff := j.cust, j.staff

	// The customer logs in and parks the first vehicle.
	run(t, cust,
		chromedp.Navigate(e.shopURL("login")),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), demo.Customer.Email),
		chromedp.SendKeys(chromedp.CSS(`#password`), demo.Password),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.account button.logout`)),
		chromedp.Navigate(e.shopURL("vehicles")),
		chromedp.WaitVisible(chromedp.CSS(`ul.vehicles li.vehicle:first-child button.park`)),
	)
	j.shot(cust, "vehicles")
	run(t, cust, chromedp.Click(chromedp.CSS(`ul.vehicles li.vehicle:first-child button.park`)),
		chromedp.WaitVisible(chromedp.CSS(`article.job .fields`)))
	j.number = jobNumber(t, cust)
	card := read(t, cust, chromedp.Text(chromedp.CSS(`#job-`+j.number)))
	require.Contains(t, card, demo.Vehicles[0].Model)
	require.Contains(t, card, "Wir sind dran")
	j.shot(cust, "parked")

	// Staff find it in the list: Anfrage, their turn, open.
	e.loginStaff(t, staff, demo.Staff[0].Email)
	j.listed("Anfrage", "staff", "open")
	j.shot(staff, "list-anfrage")

	// Staff open it on Bearbeitung, activate Angebot and store the offer.
	run(t, staff, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-number="%s"] td a`, j.number))),
		chromedp.WaitVisible(chromedp.CSS(`#panel-bearbeitung`)))
	j.shot(staff, "job-anfrage")
	j.activateNext("Angebot")
	j.generate("angebot_dokument")
	j.shot(staff, "job-angebot-dokument")
	j.listed("Angebot", "customer", "open")
	j.shot(staff, "list-angebot")

	// The offer e-mail's signed link opens the job in a browser without a session.
	link := mailLink(t, e, demo.Customer.Email, "Ihr Angebot")
	other := browser(t)
	run(t, other, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#job-`+j.number)))
	require.Contains(t, read(t, other, chromedp.Text(chromedp.CSS(`#job-`+j.number))), "Sie sind dran")

	// The customer sees the offer, chooses delivery: the address field appears without
	// a reload; the offer is accepted.
	pre := "#j" + j.number + "-f-"
	j.parking(`[data-key=angebot_dokument] ul.files a`)
	pdf(t, cust, `#job-`+j.number+` [data-key=angebot_dokument] ul.files a`)
	require.Contains(t, read(t, cust, chromedp.Text(chromedp.CSS(`#job-`+j.number+` .turn`))), "Sie sind dran")
	j.shot(cust, "parking-angebot")
	require.False(t, read(t, cust, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, pre+"lieferadresse"))))
	require.True(t, read(t, cust, chromedp.Evaluate[bool](`window.__journeyPage = true`)))
	j.changed(chromedp.Click(chromedp.CSS(pre + `ausstattung-0`)))
	j.changed(selectOption(pre+"lieferart", "lieferung"))
	run(t, cust, chromedp.WaitVisible(chromedp.CSS(pre+`lieferadresse`)))
	require.True(t, read(t, cust, chromedp.Evaluate[bool](`window.__journeyPage === true`)), "the page was not reloaded")
	require.Equal(t, "lieferung", read(t, cust, chromedp.Value(chromedp.CSS(pre+`lieferart`))), "the choice stays")
	require.True(t, read(t, cust, chromedp.AttributeValue(chromedp.CSS(pre+`ausstattung-0`), "checked")).Exists, "the ticked extra stays")
	run(t, cust, chromedp.SendKeys(chromedp.CSS(pre+`lieferadresse`), "Hauptstraße 1, 10115 Berlin"))
	j.shot(cust, "parking-lieferung")
	run(t, cust,
		chromedp.Click(chromedp.CSS(`#job-`+j.number+` button[name=_button][value=angebot_annehmen]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitVisible(chromedp.CSS(`#job-`+j.number+` .after-submit`)),
	)
	require.Contains(t, read(t, cust, chromedp.Text(chromedp.CSS(`#job-`+j.number))), "Sie haben das Angebot angenommen")
	j.shot(cust, "parking-angenommen")
	j.listed("Angebot", "staff", "open")
	j.shot(staff, "list-angebot-angenommen")

	// Staff activate Auftrag and store its documents.
	j.activateNext("Auftrag")
	j.generate("auftragsbestaetigung", "kaufvertrag", "rechnung")
	j.shot(staff, "job-auftrag-dokumente")
	j.listed("Auftrag", "customer", "open")
	j.shot(staff, "list-auftrag")
	j.parking(`[data-key=rechnung] ul.files a`)
	for _, f := range []string{"auftragsbestaetigung", "kaufvertrag", "rechnung"} {
		pdf(t, cust, `#job-`+j.number+` [data-key=`+f+`] ul.files a`)
	}
	j.shot(cust, "parking-auftrag")

	// Zahlung: the payment link shows; the customer pays in the bezahl.de simulator.
	j.activateNext("Zahlung")
	j.listed("Zahlung", "customer", "open")
	j.shot(staff, "list-zahlung")
	j.parking(`a.pay-now`)
	j.shot(cust, "parking-zahlung")
	href := read(t, cust, chromedp.AttributeValue(chromedp.CSS(`#job-`+j.number+` a.pay-now`), "href")).Value
	require.True(t, strings.HasPrefix(href, e.Pay.URL+"/pay/"), href)
	run(t, cust, chromedp.Click(chromedp.CSS(`#job-`+j.number+` a.pay-now`)), chromedp.WaitVisible(chromedp.CSS(`button[name=full]`)))
	j.shot(cust, "bezahlsim")
	run(t, cust, chromedp.Click(chromedp.CSS(`button[name=full]`)), chromedp.WaitVisible(chromedp.CSS(`p.ok`)))
	require.Contains(t, read(t, cust, chromedp.Text(chromedp.CSS(`body`))), "Vollständig bezahlt")
	j.shot(cust, "bezahlsim-bezahlt")
	// The webhook reaches the API: staff's turn, the payment shows as paid.
	j.listed("Zahlung", "staff", "open")
	j.shot(staff, "list-bezahlt")
	j.parking(`.payment-paid`)
	require.Zero(t, read(t, cust, chromedp.Evaluate[int](`document.querySelectorAll('a.pay-now').length`)))
	j.shot(cust, "parking-bezahlt")
	// The phase asks the customer to confirm.
	run(t, cust,
		chromedp.Click(chromedp.CSS(`#job-`+j.number+` button[name=_button][value=bezahlt_melden]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitVisible(chromedp.CSS(`#job-`+j.number+` .after-submit`)),
	)
	require.Contains(t, read(t, cust, chromedp.Text(chromedp.CSS(`#job-`+j.number))), "Zahlungseingang")

	// Lieferung: staff enter the date, then Feedback follows.
	j.activateNext("Lieferung")
	j.listed("Lieferung", "staff", "open")
	j.staffTab("bearbeitung")
	require.Contains(t, read(t, staff, chromedp.Text(chromedp.CSS(`.work-form`))), "Hauptstraße 1, 10115 Berlin")
	run(t, staff,
		chromedp.SendKeys(chromedp.CSS(`#f-liefertermin`), "Freitag, 10 Uhr"),
		chromedp.Click(chromedp.CSS(`.work-form button[name=_button]`)),
		notice("submitted"),
	)
	require.Equal(t, "Freitag, 10 Uhr", read(t, staff, chromedp.Value(chromedp.CSS(`#f-liefertermin`))))
	j.shot(staff, "job-lieferung")
	j.parking(`[data-key=liefertermin]`)
	require.Contains(t, read(t, cust, chromedp.Text(chromedp.CSS(`#job-`+j.number))), "Freitag, 10 Uhr")
	j.shot(cust, "parking-lieferung-termin")
	j.activateNext("Feedback")
	j.listed("Feedback", "customer", "open")
	j.shot(staff, "list-feedback")

	// The customer rates and sends.
	j.parking(`button[name=_button][value=feedback_senden]`)
	j.changed(selectOption(pre+"bewertung", "5"))
	require.Equal(t, "5", read(t, cust, chromedp.Value(chromedp.CSS(pre+`bewertung`))), "the choice stays")
	run(t, cust, chromedp.SendKeys(chromedp.CSS(pre+`feedback_text`), "Alles bestens, danke!"))
	j.shot(cust, "parking-feedback")
	run(t, cust,
		chromedp.Click(chromedp.CSS(`#job-`+j.number+` button[name=_button][value=feedback_senden]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitVisible(chromedp.CSS(`#job-`+j.number+` .after-submit`)),
	)
	require.Contains(t, read(t, cust, chromedp.Text(chromedp.CSS(`#job-`+j.number))), "Vielen Dank für Ihre Bewertung")
	j.shot(cust, "parking-feedback-gesendet")
	j.listed("Feedback", "staff", "open")

	// Staff sell (with the sale date) and close: green, then grey.
	j.staffTab("bearbeitung")
	run(t, staff,
		selectOption(`#status-select`, "sold"),
		chromedp.SetValue(chromedp.CSS(`#status-sold-on`), time.Now().Format("2006-01-02")),
		chromedp.Submit(chromedp.CSS(`#status-select`)),
		notice("status_set"),
	)
	j.listed("Feedback", "staff", "sold")
	j.shot(staff, "list-verkauft")
	j.staffTab("bearbeitung")
	run(t, staff,
		selectOption(`#status-select`, "closed"),
		chromedp.Submit(chromedp.CSS(`#status-select`)),
		notice("status_set"),
	)
	j.listed("Feedback", "staff", "closed")
	j.shot(staff, "list-abgeschlossen")
	j.parking(`.turn.ended`)
	j.shot(cust, "parking-abgeschlossen")

	// Bearbeitungsverlauf: every step, with the documents linked. The read model
	// follows the workflow a moment later: the tab is loaded again until it has all.
	wants := map[string]int{
		"created": 1, "phase_activated": 6, "fields_submitted": 4, "document_stored": 4,
		"payment_received": 1, "status_changed": 2,
	}
	count := func() map[string]int {
		return read(t, staff, chromedp.Evaluate[map[string]int](`(() => {
			const out = {};
			for (const li of document.querySelectorAll('.history-entry')) {
				for (const c of li.classList) if (c.startsWith('action-')) out[c.slice(7)] = (out[c.slice(7)] || 0) + 1;
			}
			return out;
		})()`))
	}
	var got map[string]int
	for deadline := time.Now().Add(20 * time.Second); ; {
		j.staffTab("verlauf")
		got = count()
		complete := true
		for k, n := range wants {
			complete = complete && got[k] >= n
		}
		if complete || time.Now().After(deadline) {
			break
		}
	}
	for k, n := range wants {
		require.GreaterOrEqual(t, got[k], n, "history entries %s: %v", k, got)
	}
	history := read(t, staff, chromedp.Text(chromedp.CSS(`.history`)))
	for _, want := range []string{"Vorgang angelegt", "Phase aktiviert", "Felder gespeichert", "Zahlung eingegangen",
		"Status geändert", "Dokument erzeugt", demo.Customer.Name, demo.Staff[0].Name, "Hauptstraße 1, 10115 Berlin"} {
		require.Contains(t, history, want)
	}
	require.GreaterOrEqual(t, read(t, staff, chromedp.Evaluate[int](`document.querySelectorAll('.action-document_stored .history-files a').length`)), 4)
	j.shot(staff, "verlauf")
}

// TestConditionalField: a field of the customer's form that shows only for one choice
// of another field of the same form (made through the admin API) appears and goes as
// the customer chooses, without a reload; required once shown, it is refused beside
// the field when empty, and the submit goes through with it.
func TestConditionalField(t *testing.T) {
	e := newEnv(t)
	admin := e.staffAPI(t, demo.Staff[0].Email)
	admin.do(t, http.MethodPost, "/admin/fields", definitions.Field{Key: "kontaktweg", Type: definitions.TypeSelect, Label: "Wie erreichen wir Sie?",
		Options: []definitions.Option{{Value: "email", Label: "Per E-Mail"}, {Value: "telefon", Label: "Per Telefon"}}}, nil)
	admin.do(t, http.MethodPost, "/admin/fields", definitions.Field{Key: "rueckruf_zeit", Type: definitions.TypeText, Label: "Wann dürfen wir anrufen?"}, nil)
	admin.do(t, http.MethodPost, "/admin/workflows/copy-standard", api.CopyStandardBody{
		From: definitions.StandardMaster, Key: "bedingt", Name: "Mit Bedingung", CopyPhases: true}, nil)
	var phase api.AdminPhase
	admin.do(t, http.MethodGet, "/admin/phases/bedingt_anfrage", nil, &phase)
	p := phase.Phase
	p.CustomerFields = append(slices.Clone(p.CustomerFields),
		definitions.FieldUse{Field: "kontaktweg", Required: true},
		definitions.FieldUse{Field: "rueckruf_zeit", Required: true, Condition: `fields.kontaktweg == "telefon"`},
		definitions.FieldUse{Field: "speichern"})
	admin.do(t, http.MethodPut, "/admin/phases/bedingt_anfrage", p, nil)
	admin.do(t, http.MethodPost, "/admin/workflows/bedingt/publish", nil, nil)
	admin.do(t, http.MethodPut, "/admin/active-workflow", api.ActiveWorkflowBody{Workflow: "bedingt"}, nil)

	ctx := browser(t)
	j := &journey{t: t, e: e, cust: ctx}
	j.number = e.parkFirst(t, ctx)
	pre := "#j" + j.number + "-f-"
	present := func(sel string) bool {
		return read(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, sel)))
	}
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(pre+"kontaktweg")))
	require.False(t, present(pre+"rueckruf_zeit"))
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded = true`)))

	// Telefon: the time field appears, required; E-Mail: it goes again.
	j.changed(selectOption(pre+"kontaktweg", "telefon"))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(pre+"rueckruf_zeit")))
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(pre+"rueckruf_zeit"), "aria-required")).Value)
	require.Equal(t, "telefon", read(t, ctx, chromedp.Value(chromedp.CSS(pre+"kontaktweg"))))
	screenshots(t, ctx, "shop-conditional-field")
	j.changed(selectOption(pre+"kontaktweg", "email"))
	require.False(t, present(pre+"rueckruf_zeit"))
	j.changed(selectOption(pre+"kontaktweg", "telefon"))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(pre+"rueckruf_zeit")))
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded === true`)), "the page was not reloaded")

	// Without the time the save is refused beside the field, which stays shown.
	save := `#job-` + j.number + ` button[name=_button][value=speichern]`
	run(t, ctx, chromedp.Click(chromedp.CSS(save)), chromedp.WaitVisible(chromedp.CSS(`#err-rueckruf_zeit`)))
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(pre+"rueckruf_zeit"), "aria-invalid")).Value)
	require.Equal(t, "telefon", read(t, ctx, chromedp.Value(chromedp.CSS(pre+"kontaktweg"))))
	screenshots(t, ctx, "shop-conditional-field-refused")

	// With it the save goes through; the stored choice keeps the field shown.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(pre+"rueckruf_zeit"), "Abends ab 18 Uhr"),
		chromedp.Click(chromedp.CSS(save)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	require.False(t, present(`#err-rueckruf_zeit`))
	require.Equal(t, "Abends ab 18 Uhr", read(t, ctx, chromedp.Value(chromedp.CSS(pre+"rueckruf_zeit"))))
	screenshots(t, ctx, "shop-conditional-field-saved")
}
