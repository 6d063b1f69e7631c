package api_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
)

// testLanguages checks that problems speak German by default and English when asked,
// from the API's own checks and from the workflow's, and that codes and the values
// given stay as they are in both.
func (e *env) testLanguages(t *testing.T) {
	type want struct {
		lang, title, detail string
	}
	// An unknown job: title and detail with values.
	for accept, w := range map[string]want{
		"":             {"de", "Nicht gefunden", `Händler „autohaus-test“ hat keinen Vorgang „99999“.`},
		"de":           {"de", "Nicht gefunden", `Händler „autohaus-test“ hat keinen Vorgang „99999“.`},
		"de-AT":        {"de", "Nicht gefunden", `Händler „autohaus-test“ hat keinen Vorgang „99999“.`},
		"fr":           {"de", "Nicht gefunden", `Händler „autohaus-test“ hat keinen Vorgang „99999“.`},
		"en":           {"en", "Not found", `dealer "autohaus-test" has no job "99999"`},
		"en-GB":        {"en", "Not found", `dealer "autohaus-test" has no job "99999"`},
		"fr, en;q=0.5": {"en", "Not found", `dealer "autohaus-test" has no job "99999"`},
	} {
		r := e.do(t, request{method: http.MethodGet, path: "/jobs/99999", lang: accept})
		p := r.problem(t)
		require.Equal(t, http.StatusNotFound, p.Status)
		require.Equal(t, w.lang, r.Header.Get("Content-Language"), "Accept-Language: %q", accept)
		require.Equal(t, w.title, p.Title, "Accept-Language: %q", accept)
		require.Equal(t, w.detail, p.Detail, "Accept-Language: %q", accept)
	}

	// The API's field checks: codes and values stay, reasons follow the language.
	create := map[string]any{"vehicle_id": e.vehicle.ID, "source": "fax", "values": map[string]any{"lieferart": "drohne"}}
	reasons := map[string]map[string]string{
		"de": {
			"source":           "„fax“ ist keine von manual, park, callback, marketplace",
			"values.lieferart": `„drohne“ ist keine der Optionen "abholung", "lieferung"`,
		},
		"en": {
			"source":           `"fax" is not one of manual, park, callback, marketplace`,
			"values.lieferart": `"drohne" is not one of the options "abholung", "lieferung"`,
		},
	}
	for _, lang := range []string{"de", "en"} {
		p := e.do(t, request{method: http.MethodPost, path: "/jobs", key: "lang-create-" + lang, body: create, lang: lang, raw: true}).problem(t)
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Equal(t, []string{"source", "values.lieferart"}, problemFields(p.Errors).names())
		require.Equal(t, "unknown_source", p.Errors[0].Code)
		require.Equal(t, "not_an_option", p.Errors[1].Code)
		require.Equal(t, "drohne", p.Errors[1].Params["value"], "the value given stays as given")
		for _, f := range p.Errors {
			require.Equal(t, reasons[lang][f.Field], f.Reason, "%s: %s", lang, f.Field)
		}
	}
	p := e.do(t, request{method: http.MethodPost, path: "/jobs", key: "lang-create-x", body: map[string]any{"vehicle": 1}, raw: true}).problem(t)
	require.Equal(t, "Fehlerhafte Anfrage", p.Title)
	require.Equal(t, "unknown_field", p.Errors[0].Code)
	require.Equal(t, "ist kein Feld dieser Anfrage", p.Errors[0].Reason)

	// The workflow's rejections carry codes the API words the same way.
	n := e.newJob(t, "lang-job")
	e.act(t, n, "activate", "lang-1", api.ActivateBody{Phase: "angebot"})
	submit := api.SubmitBody{Phase: "angebot", Values: map[string]any{"lieferart": "drohne", "notiz_verkauf": "psst"}}
	for lang, w := range map[string]struct{ detail, option, view string }{
		"de": {"Die gesendeten Felder sind nicht gültig.", `„drohne“ ist keine der Optionen "abholung", "lieferung"`,
			`ist kein Feld der Ansicht customer der Phase „angebot“`},
		"en": {"The submitted fields are not valid.", `"drohne" is not one of the options "abholung", "lieferung"`,
			`not a field of the customer view of phase "angebot"`},
	} {
		r := e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/customer/submit", n), key: "lang-2-" + lang,
			as: e.cust, body: submit, lang: lang})
		p := r.problem(t)
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Equal(t, lang, r.Header.Get("Content-Language"))
		require.Equal(t, w.detail, p.Detail)
		require.Equal(t, []string{"lieferart", "notiz_verkauf"}, problemFields(p.Errors).names())
		require.Equal(t, "not_an_option", p.Errors[0].Code)
		require.Equal(t, w.option, p.Errors[0].Reason)
		require.Equal(t, "not_in_view", p.Errors[1].Code)
		require.Equal(t, w.view, p.Errors[1].Reason)
	}
	p = e.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/status", n), key: "lang-3", body: api.StatusBody{Status: "open"}}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, "Der Status ist unverändert.", p.Detail)
	require.Equal(t, "status_unchanged", p.Errors[0].Code)
	require.Equal(t, "Der Vorgang ist bereits open", p.Errors[0].Reason)
}

// testOpenAPI fetches the served spec, which must be the file the tests validate with.
func (e *env) testOpenAPI(t *testing.T) {
	r := e.do(t, request{method: http.MethodGet, path: "/api/v1/openapi.yaml"})
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, api.ContentTypeYAML, r.Header.Get("Content-Type"))
	want, err := os.ReadFile(specFile)
	require.NoError(t, err)
	require.Equal(t, string(want), string(r.Body))
}
