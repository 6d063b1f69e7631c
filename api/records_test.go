package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/store"
)

// Invoice lines and a job's own document texts go through the workflow: stored, and
// recorded in the job's history with who and when.
func TestJobRecords(t *testing.T) {
	e := newEnv(t)
	n := e.newJob(t, "records")
	path := fmt.Sprintf("/jobs/%d/invoice-lines", n)

	empty := decode[api.InvoiceLines](t, e.do(t, request{method: http.MethodGet, path: path}), http.StatusOK)
	require.Empty(t, empty.Lines)

	lines := []money.Line{
		{Text: "VW Golf 8 Life", AmountCents: 2_500_000, TaxRate: 19},
		{Text: "Überführung", AmountCents: 89_000, TaxRate: 19},
		{Text: "Inzahlungnahme VW Polo", AmountCents: -300_000, TaxRate: 0},
	}
	decode[job.Result](t, e.do(t, request{method: http.MethodPut, path: path, key: "lines-1", body: api.InvoiceLinesBody{Lines: lines}}), http.StatusOK)
	got := decode[api.InvoiceLines](t, e.do(t, request{method: http.MethodGet, path: path}), http.StatusOK)
	require.Equal(t, lines, got.Lines)
	require.Equal(t, int64(2_289_000), got.Totals.GrossCents, "gross exact in cents, the trade-in deducted")
	require.Equal(t, got.Totals.GrossCents, got.Totals.NetCents+got.Totals.TaxCents)

	p := e.do(t, request{method: http.MethodPut, path: path, key: "lines-2", raw: true,
		body: map[string]any{"lines": []map[string]any{{"text": "", "amount_cents": 1, "tax_rate": 5}}}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)

	texts := fmt.Sprintf("/jobs/%d/document-texts/offer", n)
	decode[job.Result](t, e.do(t, request{method: http.MethodPut, path: texts, key: "texts-1", body: api.DocumentTextsBody{Texts: map[string]string{"intro": "Guten Tag, nur für Sie:"}}}), http.StatusOK)
	dt := decode[api.DocumentTexts](t, e.do(t, request{method: http.MethodGet, path: texts}), http.StatusOK)
	require.Equal(t, map[string]string{"intro": "Guten Tag, nur für Sie:"}, dt.Texts)
	p = e.do(t, request{method: http.MethodPut, path: texts, key: "texts-2", body: api.DocumentTextsBody{Texts: map[string]string{"epilog": "x"}}}).problem(t)
	require.Equal(t, []string{"texts.epilog"}, problemFields(p.Errors).names())
	p = e.do(t, request{method: http.MethodPut, path: fmt.Sprintf("/jobs/%d/document-texts/brief", n), key: "texts-3",
		body: api.DocumentTextsBody{Texts: map[string]string{"intro": "x"}}}).problem(t)
	require.Equal(t, []string{"template"}, problemFields(p.Errors).names())

	other := e.newJob(t, "records-other")
	otherTexts := decode[api.DocumentTexts](t, e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/document-texts/offer", other)}), http.StatusOK)
	require.Empty(t, otherTexts.Texts, "another job keeps the central texts")

	d := e.detail(t, n)
	var recorded []string
	for _, h := range d.History {
		if h.Action == job.ActionInvoiceLines || h.Action == job.ActionDocumentTexts {
			recorded = append(recorded, h.Action)
			require.Equal(t, job.Actor{Side: job.Staff, ID: e.staffID}, h.Actor)
		}
	}
	require.Equal(t, []string{job.ActionInvoiceLines, job.ActionDocumentTexts}, recorded, "refused changes leave no trace")

	settings := store.DocumentSettings{
		Letterhead:         store.Letterhead{Name: "Autohaus Test GmbH", Address: []string{"Hauptstraße 1", "10115 Berlin"}},
		Texts:              map[string]map[string]string{"invoice": {"closing": "Vielen Dank für Ihren Kauf."}},
		CancellationNotice: true,
	}
	decode[store.DocumentSettings](t, e.do(t, request{method: http.MethodPut, path: "/admin/document-settings", key: "settings-1", body: settings}), http.StatusOK)
	back := decode[store.DocumentSettings](t, e.do(t, request{method: http.MethodGet, path: "/admin/document-settings"}), http.StatusOK)
	require.Equal(t, settings, back)
	settings.Texts = map[string]map[string]string{"brief": {"intro": "x"}}
	p = e.do(t, request{method: http.MethodPut, path: "/admin/document-settings", key: "settings-2", body: settings}).problem(t)
	require.Equal(t, []string{"texts.brief"}, problemFields(p.Errors).names())
}
