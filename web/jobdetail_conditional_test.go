package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/demo"
)

// TestStaffConditionalField: on the Bearbeitung tab, staff fields that show only for a
// choice of another staff field of the same form (made through the admin API: a date
// for a test drive once one is wanted, the old car once a trade-in is ticked) appear
// and go as staff choose, without a reload and with the values typed kept; required
// once shown, the empty date is refused beside the field with the values entered
// still there, and the save goes through with it.
func TestStaffConditionalField(t *testing.T) {
	e := newEnv(t)
	admin := e.staffAPI(t, demo.Staff[0].Email)
	admin.do(t, http.MethodPost, "/admin/fields", definitions.Field{Key: "probefahrt", Type: definitions.TypeSelect, Label: "Probefahrt gewünscht?",
		Options: []definitions.Option{{Value: "nein", Label: "Nein"}, {Value: "ja", Label: "Ja"}}}, nil)
	admin.do(t, http.MethodPost, "/admin/fields", definitions.Field{Key: "probefahrt_termin", Type: definitions.TypeText, Label: "Termin der Probefahrt"}, nil)
	admin.do(t, http.MethodPost, "/admin/fields", definitions.Field{Key: "inzahlungnahme", Type: definitions.TypeCheckbox, Label: "Inzahlungnahme"}, nil)
	admin.do(t, http.MethodPost, "/admin/fields", definitions.Field{Key: "altfahrzeug", Type: definitions.TypeText, Label: "Altfahrzeug"}, nil)
	admin.do(t, http.MethodPost, "/admin/workflows/copy-standard", api.CopyStandardBody{
		From: definitions.StandardMaster, Key: "intern", Name: "Mit interner Bedingung", CopyPhases: true}, nil)
	var phase api.AdminPhase
	admin.do(t, http.MethodGet, "/admin/phases/intern_anfrage", nil, &phase)
	p := phase.Phase
	save := slices.IndexFunc(p.StaffFields, func(u definitions.FieldUse) bool { return u.Field == "speichern" })
	require.GreaterOrEqual(t, save, 0, "the Anfrage staff view has a save button")
	p.StaffFields = slices.Insert(slices.Clone(p.StaffFields), save,
		definitions.FieldUse{Field: "probefahrt"},
		definitions.FieldUse{Field: "probefahrt_termin", Required: true, Condition: `fields.probefahrt == "ja"`},
		definitions.FieldUse{Field: "inzahlungnahme"},
		definitions.FieldUse{Field: "altfahrzeug", Condition: `fields.inzahlungnahme == true`})
	admin.do(t, http.MethodPut, "/admin/phases/intern_anfrage", p, nil)
	admin.do(t, http.MethodPost, "/admin/workflows/intern/publish", nil, nil)
	admin.do(t, http.MethodPut, "/admin/active-workflow", api.ActiveWorkflowBody{Workflow: "intern"}, nil)
	n := admin.createJob(t)

	ctx := browser(t)
	e.loginStaff(t, ctx, demo.Staff[0].Email)
	run(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/staff/%s/jobs/%d?tab=bearbeitung", e.URL, demo.Dealer, n)),
		chromedp.WaitVisible(chromedp.CSS(`#work-form #f-probefahrt`)),
	)
	present := func(sel string) bool {
		return read(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, sel)))
	}
	value := func(sel string) string { return read(t, ctx, chromedp.Value(chromedp.CSS(sel))) }
	require.False(t, present(`#f-probefahrt_termin`))
	require.False(t, present(`#f-altfahrzeug`))
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded = true`)))

	// A note typed first stays through every change of a choice.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-notiz_verkauf`), "Will am Samstag kommen"))

	// Ja: the date appears, required; Nein: it goes again; Ja once more.
	afterSwap(t, ctx, `#work-form`, selectOption(`#f-probefahrt`, "ja"))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#f-probefahrt_termin`)))
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#f-probefahrt_termin`), "aria-required")).Value)
	require.Equal(t, "ja", value(`#f-probefahrt`))
	require.Equal(t, "Will am Samstag kommen", value(`#f-notiz_verkauf`))
	screenshots(t, ctx, "job-conditional-field")
	afterSwap(t, ctx, `#work-form`, selectOption(`#f-probefahrt`, "nein"))
	require.False(t, present(`#f-probefahrt_termin`))
	afterSwap(t, ctx, `#work-form`, selectOption(`#f-probefahrt`, "ja"))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#f-probefahrt_termin`)))

	// A ticked trade-in shows the old car's field, the date and its choice kept.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-probefahrt_termin`), "Samstag 10 Uhr"))
	afterSwap(t, ctx, `#work-form`, chromedp.Click(chromedp.CSS(`#f-inzahlungnahme`)))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#f-altfahrzeug`)))
	require.Equal(t, "Samstag 10 Uhr", value(`#f-probefahrt_termin`))
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#f-inzahlungnahme').checked`)))
	afterSwap(t, ctx, `#work-form`, chromedp.Click(chromedp.CSS(`#f-inzahlungnahme`)))
	require.False(t, present(`#f-altfahrzeug`))
	require.True(t, read(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded === true`)), "the page was not reloaded")

	// Without the date the save is refused beside the field, which stays shown with
	// the values entered.
	run(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-probefahrt_termin').value = ''`),
		chromedp.Click(chromedp.CSS(`#work-form button[name=_button][value=speichern]`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-probefahrt_termin`)),
	)
	require.Equal(t, "true", read(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#f-probefahrt_termin`), "aria-invalid")).Value)
	require.Equal(t, "ja", value(`#f-probefahrt`))
	require.Equal(t, "Will am Samstag kommen", value(`#f-notiz_verkauf`))
	screenshots(t, ctx, "job-conditional-field-refused")

	// With it the save goes through; the stored choice keeps the field shown.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-probefahrt_termin`), "Samstag 10 Uhr"),
		chromedp.Click(chromedp.CSS(`#work-form button[name=_button][value=speichern]`)),
		notice("submitted"),
	)
	require.False(t, present(`#err-probefahrt_termin`))
	require.Equal(t, "Samstag 10 Uhr", value(`#f-probefahrt_termin`))
	require.Equal(t, "ja", value(`#f-probefahrt`))
	require.Equal(t, "Will am Samstag kommen", value(`#f-notiz_verkauf`))
	screenshots(t, ctx, "job-conditional-field-saved")
}
