package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/store"
)

func TestSMTPSettings(t *testing.T) {
	e := newEnv(t)
	box := secrets.Dev()
	srv := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger, Secrets: box}))
	t.Cleanup(srv.Close)
	const path = "/admin/smtp-settings"
	const password = "Sehr-Geheim-42"
	pw := password
	body := api.SMTPSettingsBody{Host: "smtp.autohaus-test.de", Port: 587, TLS: "mandatory", Username: "info", Password: &pw, From: "info@autohaus-test.de"}

	// None yet: the system's sender.
	got := decode[api.SMTPSettings](t, e.do(t, request{method: http.MethodGet, path: path, server: srv}), http.StatusOK)
	require.False(t, got.Configured)

	r := e.do(t, request{method: http.MethodPut, path: path, key: "smtp-1", body: body, server: srv})
	require.NotContains(t, string(r.Body), password)
	set := decode[api.SMTPSettings](t, r, http.StatusOK)
	require.True(t, set.Configured)
	require.True(t, set.PasswordSet)

	r = e.do(t, request{method: http.MethodGet, path: path, server: srv})
	require.NotContains(t, string(r.Body), password, "GET never shows the password")
	require.NotContains(t, string(r.Body), `"password"`)
	got = decode[api.SMTPSettings](t, r, http.StatusOK)
	require.Equal(t, "smtp.autohaus-test.de", got.Host)
	require.True(t, got.PasswordSet)
	stored, err := e.store.GetDealerSMTP(context.Background(), dealerID)
	require.NoError(t, err)
	plain, err := stored.Password(box)
	require.NoError(t, err)
	require.Equal(t, password, plain)

	// Password left out keeps the stored one.
	keep := body
	keep.Password, keep.Port = nil, 465
	keep.TLS = "implicit"
	got = decode[api.SMTPSettings](t, e.do(t, request{method: http.MethodPut, path: path, key: "smtp-2", body: keep, server: srv}), http.StatusOK)
	require.Equal(t, 465, got.Port)
	require.True(t, got.PasswordSet)

	// Sales may not read or change it.
	e.addStaff(t, dealerID, "Sina Sales", "sales-smtp@autohaus-test.de", store.RoleSales)
	sales := e.loginStaff(t, dealerID, "sales-smtp@autohaus-test.de")
	require.Equal(t, http.StatusForbidden, e.do(t, request{method: http.MethodGet, path: path, as: sales, server: srv}).Status)
	require.Equal(t, http.StatusForbidden, e.do(t, request{method: http.MethodPut, path: path, key: "smtp-3", body: keep, as: sales, server: srv}).Status)

	// Bad values: 422 naming each field; nothing changes.
	bad := keep
	bad.Port = 70000
	p := errorsOf(t, e.do(t, request{method: http.MethodPut, path: path, key: "smtp-4", body: bad, raw: true, server: srv}), http.StatusUnprocessableEntity)
	require.Equal(t, []string{"port"}, problemFields(p).names())
	bad = api.SMTPSettingsBody{Host: "smtp host", Port: 0, TLS: "starttls", From: "kein-absender"}
	p = errorsOf(t, e.do(t, request{method: http.MethodPut, path: path, key: "smtp-5", body: bad, raw: true, server: srv}), http.StatusUnprocessableEntity)
	require.ElementsMatch(t, []string{"host", "port", "tls", "from"}, problemFields(p).names())
	got = decode[api.SMTPSettings](t, e.do(t, request{method: http.MethodGet, path: path, server: srv}), http.StatusOK)
	require.Equal(t, 465, got.Port)

	// Without a key the API refuses to store a password (503), but not the rest.
	r = e.do(t, request{method: http.MethodPut, path: path, key: "smtp-6", body: body})
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "answer: %s", r)
	require.True(t, strings.Contains(r.problem(t).Detail, "SECRETS_KEY"))

	// DELETE: back to the system's sender.
	require.Equal(t, http.StatusNoContent, e.do(t, request{method: http.MethodDelete, path: path, key: "smtp-7", server: srv}).Status)
	got = decode[api.SMTPSettings](t, e.do(t, request{method: http.MethodGet, path: path, server: srv}), http.StatusOK)
	require.False(t, got.Configured)
}
