package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/demo"
)

// parkFirst parks the first vehicle of the dealer's list in the customer's browser and
// returns the job's number from the parking page it leads to.
func (e *env) parkFirst(t *testing.T, ctx context.Context) string {
	t.Helper()
	run(t, ctx, chromedp.Navigate(e.shopURL("vehicles")), chromedp.WaitVisible(chromedp.CSS(`button.park`)),
		chromedp.Click(chromedp.CSS(`ul.vehicles li.vehicle:first-child button.park`)),
		chromedp.WaitVisible(chromedp.CSS(`article.job .fields`)))
	return jobNumber(t, ctx)
}

// TestAdminPublishField is the story through the admin pages: an admin creates
// a field, adds it to the customer view of the phase a parked job starts in, as
// required, with a save button, validates and publishes (and makes the copy active); a
// new job's parking page shows it and refuses to save without it, with the error
// beside the field, while the parking page of a job started before keeps its version
// without the field. A broken condition is shown beside its input when validating.
func TestAdminPublishField(t *testing.T) {
	e := newEnv(t)
	old := browser(t)
	oldJob := e.parkFirst(t, old)

	ctx := browser(t)
	e.loginStaff(t, ctx, demo.Staff[0].Email)
	admin := e.URL + "/staff/" + demo.Dealer + "/admin"

	// A text field of our own.
	run(t, ctx,
		chromedp.Navigate(admin+"/fields"),
		chromedp.WaitVisible(chromedp.CSS(`#new-type`)),
		chromedp.SetValue(chromedp.CSS(`#new-type`), "text"),
		chromedp.Click(chromedp.CSS(`form.row-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-form #key`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), "wunschtermin"),
		chromedp.SendKeys(chromedp.CSS(`#label`), "Wunschtermin"),
	)
	screenshots(t, ctx, "admin-field-new")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#save-field`)),
		chromedp.WaitVisible(chromedp.CSS(`#usage`)),
	)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.notice`))), "Gespeichert")
	screenshots(t, ctx, "admin-field")

	// Copy the standard workflow with its phases.
	run(t, ctx,
		chromedp.Navigate(admin+"/workflows"),
		chromedp.WaitVisible(chromedp.CSS(`#copy-standard`)),
	)
	screenshots(t, ctx, "admin-workflows")
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#from`), "standard_master"),
		chromedp.SendKeys(chromedp.CSS(`#copy-key`), "mein"),
		chromedp.SendKeys(chromedp.CSS(`#copy-name`), "Mein Ablauf"),
		chromedp.Click(chromedp.CSS(`#copy-standard-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#workflow-form`)),
	)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#row-0`))), "mein_anfrage")

	// A parked job starts in the first phase, Anfrage, whose customer view gets the
	// field, required.
	run(t, ctx,
		chromedp.Navigate(admin+"/phases/mein_anfrage"),
		chromedp.WaitVisible(chromedp.CSS(`#add_customer`)),
		chromedp.SetValue(chromedp.CSS(`#add_customer`), "wunschtermin"),
		chromedp.Click(chromedp.CSS(`#add_customer_required`)),
		chromedp.Click(chromedp.CSS(`#add-customer`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	rows := read(t, ctx, chromedp.Text(chromedp.CSS(`#customer-fields`)))
	require.Contains(t, rows, "Wunschtermin")
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](
		`document.querySelector('#customer-3-required').checked && document.querySelector('input[name="customer.3.field"]').value === 'wunschtermin'`)))
	// The view has no save button yet: the standard one goes after the field.
	run(t, ctx, chromedp.SetValue(chromedp.CSS(`#add_customer`), "speichern"))
	run(t, ctx, clickLoad(`#add-customer`)...)
	require.Equal(t, "speichern", read(t, ctx, chromedp.Evaluate[string](`document.querySelector('input[name="customer.4.field"]').value`)))
	screenshots(t, ctx, "admin-phase")

	// Move it up and back down: the order buttons save.
	run(t, ctx, clickLoad(`button[value="up:customer:3"]`)...)
	require.Equal(t, "wunschtermin", read(t, ctx, chromedp.Evaluate[string](`document.querySelector('input[name="customer.2.field"]').value`)))
	run(t, ctx, clickLoad(`button[value="down:customer:2"]`)...)
	require.Equal(t, "wunschtermin", read(t, ctx, chromedp.Evaluate[string](`document.querySelector('input[name="customer.3.field"]').value`)))

	// Saving a use condition that does not compile is refused beside its input.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#customer-3-condition`), "fields.(("),
		chromedp.Click(chromedp.CSS(`#save-phase`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-customer-3-condition`)),
	)
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#customer-3-condition`), "aria-invalid")).Value)
	screenshots(t, ctx, "admin-phase-refused")

	// A broken draft: a condition that does not compile is shown beside its input,
	// and nothing is saved.
	run(t, ctx,
		chromedp.Navigate(admin+"/workflows/mein"),
		chromedp.WaitVisible(chromedp.CSS(`#cond-1`)),
		chromedp.SendKeys(chromedp.CSS(`#cond-1`), "fields.lieferart == "),
		chromedp.Click(chromedp.CSS(`#validate`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-cond-1`)),
	)
	require.NotEmpty(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#err-cond-1`))))
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#cond-1`), "aria-invalid")).Value)
	require.Contains(t, read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#validation`), "class")).Value, "bad")
	screenshots(t, ctx, "admin-workflow-invalid")

	// The saved state validates, publishes, and becomes active.
	run(t, ctx,
		chromedp.Navigate(admin+"/workflows/mein"),
		chromedp.WaitVisible(chromedp.CSS(`#validate`)),
		chromedp.Click(chromedp.CSS(`#validate`)),
		chromedp.WaitVisible(chromedp.CSS(`#validation.ok`)),
		chromedp.Click(chromedp.CSS(`#publish`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`.notice`))), "Version 1")
	run(t, ctx, clickLoad(`#activate`)...)
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#activate-form`))), "Neue Vorgänge starten mit diesem Workflow")
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#versions`))), "veröffentlicht")
	screenshots(t, ctx, "admin-workflow")

	// A new job's parking page shows the field, required, and refuses to save without
	// it: the error stands beside the field.
	fresh := browser(t)
	newJob := e.parkFirst(t, fresh)
	input := "#j" + newJob + "-f-wunschtermin"
	save := `article.job button[name=_button][value=speichern]`
	run(t, fresh, chromedp.WaitVisible(chromedp.CSS(input)))
	require.Contains(t, read(t, fresh, chromedp.Text(chromedp.CSS(`label[for="j`+newJob+`-f-wunschtermin"]`))), "Wunschtermin")
	require.Equal(t, "true", read(t, fresh, chromedp.AttributeValue(chromedp.CSS(input), "aria-required")).Value)
	run(t, fresh, chromedp.Click(chromedp.CSS(save)), chromedp.WaitVisible(chromedp.CSS(`#err-wunschtermin`)))
	require.Equal(t, "true", read(t, fresh, chromedp.AttributeValue(chromedp.CSS(input), "aria-invalid")).Value)
	require.Equal(t, "err-wunschtermin", read(t, fresh, chromedp.AttributeValue(chromedp.CSS(input), "aria-describedby")).Value)
	screenshots(t, fresh, "admin-new-field-parking-refused")
	run(t, fresh, chromedp.SendKeys(chromedp.CSS(input), "Montag"), chromedp.Click(chromedp.CSS(save)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	require.False(t, read(t, fresh, chromedp.Evaluate[bool](`document.querySelector('#err-wunschtermin') !== null`)))

	// The job started before keeps its version: its parking page has no such field.
	run(t, old, chromedp.Navigate(e.shopURL("parkplatz")), chromedp.WaitVisible(chromedp.CSS(`#job-`+oldJob)))
	require.False(t, read(t, old, chromedp.Evaluate[bool](`document.querySelector('[data-key=wunschtermin]') !== null`)),
		"the running job's parking page is unchanged")
}

// clickLoad clicks what submits a form and waits for the page the answer loads.
func clickLoad(sel string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`),
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) main`)),
	}
}

// TestAdminPages: every admin page renders for the owner (screenshots), the message
// preview comes in by htmx, a refused save shows its error beside the input, and
// staff who are not admins are refused.
func TestAdminPages(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	e.loginStaff(t, ctx, demo.Staff[0].Email)
	admin := e.URL + "/staff/" + demo.Dealer + "/admin"

	run(t, ctx, chromedp.Navigate(admin), chromedp.WaitVisible(chromedp.CSS(`#active-form`)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#active-now`))), "standard_master")
	require.Equal(t, "/staff/"+demo.Dealer+"/admin/sandbox", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#nav-sandbox`), "href")).Value)
	screenshots(t, ctx, "admin-index")
	// An unpublished workflow cannot become active: the refusal shows at the select.
	run(t, ctx,
		chromedp.Navigate(admin+"/workflows"),
		chromedp.WaitVisible(chromedp.CSS(`#new-workflow`)),
		chromedp.SendKeys(chromedp.CSS(`#new-key`), "leer"),
		chromedp.SendKeys(chromedp.CSS(`#new-name`), "Leer"),
		chromedp.Click(chromedp.CSS(`#new-workflow button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#workflow-form`)),
		chromedp.Navigate(admin),
		chromedp.WaitVisible(chromedp.CSS(`#workflow`)),
		chromedp.SetValue(chromedp.CSS(`#workflow`), "leer"),
		chromedp.Click(chromedp.CSS(`#set-active`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-workflow`)),
	)
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#workflow`), "aria-invalid")).Value)

	run(t, ctx, chromedp.Navigate(admin+"/fields"), chromedp.WaitVisible(chromedp.CSS(`#system-fields`)))
	screenshots(t, ctx, "admin-fields")
	// A select field: its options are its own setting; a taken key is refused beside the key.
	run(t, ctx,
		chromedp.Navigate(admin+"/fields/new?type=select"),
		chromedp.WaitVisible(chromedp.CSS(`#options`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), "lieferart"),
		chromedp.SendKeys(chromedp.CSS(`#label`), "Lieferart"),
		chromedp.SendKeys(chromedp.CSS(`#options`), "a = A\nb = B"),
		chromedp.Click(chromedp.CSS(`#save-field`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-key`)),
	)
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#key`), "aria-invalid")).Value)
	screenshots(t, ctx, "admin-field-refused")
	run(t, ctx, chromedp.Navigate(admin+"/fields/lieferart"), chromedp.WaitVisible(chromedp.CSS(`#usage`)))
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#usage`))), "Angebot")
	screenshots(t, ctx, "admin-field-system")

	run(t, ctx, chromedp.Navigate(admin+"/phases"), chromedp.WaitVisible(chromedp.CSS(`#system-phases`)))
	screenshots(t, ctx, "admin-phases")
	run(t, ctx, chromedp.Navigate(admin+"/phases/angebot"), chromedp.WaitVisible(chromedp.CSS(`#customer-fields`)))
	screenshots(t, ctx, "admin-phase-system")
	run(t, ctx, chromedp.Navigate(admin+"/workflows/standard_master"), chromedp.WaitVisible(chromedp.CSS(`#versions`)))
	require.Contains(t, read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#sandbox-link`), "href")).Value, "/admin/sandbox")
	screenshots(t, ctx, "admin-workflow-system")

	run(t, ctx, chromedp.Navigate(admin+"/messages"), chromedp.WaitVisible(chromedp.CSS(`#system-messages`)))
	screenshots(t, ctx, "admin-messages")
	run(t, ctx,
		chromedp.Navigate(admin+"/messages"),
		chromedp.WaitVisible(chromedp.CSS(`#new-message`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), "mein_gruss"),
		chromedp.SendKeys(chromedp.CSS(`#subject`), "Hallo"),
		chromedp.SendKeys(chromedp.CSS(`#body`), "Guten Tag {kunde}, {unbekannt}"),
		chromedp.Click(chromedp.CSS(`#new-message button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#message-form`)),
		chromedp.SendKeys(chromedp.CSS(`#body_en`), "Hello {kunde}"),
		chromedp.Click(chromedp.CSS(`#preview-de`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-text`)),
	)
	previewText := read(t, ctx, chromedp.Text(chromedp.CSS(`#preview-text`)))
	require.True(t, strings.HasPrefix(previewText, "Guten Tag"), previewText)
	require.NotContains(t, previewText, "{kunde}")
	require.Contains(t, read(t, ctx, chromedp.Text(chromedp.CSS(`#preview`))), "unbekannt")
	screenshots(t, ctx, "admin-message")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#preview-en`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-text`)),
	)
	run(t, ctx, clickLoad(`#save-message`)...)
	require.Equal(t, "Hello {kunde}", read(t, ctx, chromedp.Value(chromedp.CSS(`#body_en`))))

	run(t, ctx,
		chromedp.Navigate(admin+"/documents"),
		chromedp.WaitVisible(chromedp.CSS(`#documents-form`)),
		chromedp.SendKeys(chromedp.CSS(`#lh-name`), "Autohaus Demo GmbH"),
		chromedp.SendKeys(chromedp.CSS(`#lh-address`), "Hauptstr. 1\n10115 Berlin"),
		chromedp.Click(chromedp.CSS(`#tpl-offer summary`)),
		chromedp.SendKeys(chromedp.CSS(`#text-offer-intro`), "Vielen Dank für Ihr Interesse."),
		chromedp.Click(chromedp.CSS(`#save-documents`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	require.Equal(t, "Autohaus Demo GmbH", read(t, ctx, chromedp.Value(chromedp.CSS(`#lh-name`))))
	run(t, ctx, chromedp.Click(chromedp.CSS(`#tpl-offer summary`)))
	require.Equal(t, "Vielen Dank für Ihr Interesse.", read(t, ctx, chromedp.Value(chromedp.CSS(`#text-offer-intro`))))
	screenshots(t, ctx, "admin-documents")

	// Sales staff are no admins: the API's 403 shows as such.
	sales := browser(t)
	e.loginStaff(t, sales, demo.Staff[1].Email)
	run(t, sales, chromedp.Navigate(admin+"/fields"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	require.Contains(t, read(t, sales, chromedp.Text(chromedp.CSS(`main`))), "Berechtigung")
	screenshots(t, sales, "admin-forbidden")
}
