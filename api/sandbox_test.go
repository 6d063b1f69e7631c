package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/store"
)

// TestSandbox starts a test job on a draft (a copy of the standard workflow, never
// published): it is kept out of the job list unless asked for, its e-mails reach only
// the staff member who started it, marked as tests, and its SMS no phone.
func TestSandbox(t *testing.T) {
	fx := newEffectsEnv(t)
	ctx := context.Background()
	const draft = "standard_sandbox"
	r := fx.do(t, request{method: http.MethodPost, path: "/admin/workflows/copy-standard", key: "sb-copy",
		body: api.CopyStandardBody{From: definitions.StandardMaster, Key: draft, Name: "Zum Ausprobieren"}})
	require.Equal(t, http.StatusCreated, r.Status, "answer: %s", r)

	start := request{method: http.MethodPost, path: "/admin/workflows/" + draft + "/sandbox", key: "sb-start"}
	sb := decode[api.SandboxJob](t, fx.do(t, start), http.StatusCreated)
	n := sb.Number
	require.Equal(t, ownerEmail, sb.CustomerEmail, "the staff member plays the customer")
	require.Equal(t, draft, sb.Definition.Workflow)
	require.Equal(t, store.TestVersion, sb.Definition.Version, "a draft is no published version")
	require.NotEmpty(t, sb.Definition.Hash)
	prefix := "/shop/" + dealerID + "/link/"
	require.True(t, strings.HasPrefix(sb.CustomerLink, prefix), "link %q", sb.CustomerLink)
	versions := decode[api.VersionList](t, fx.do(t, request{method: http.MethodGet, path: "/admin/workflows/" + draft + "/versions"}), http.StatusOK)
	for _, v := range versions.Versions {
		require.NotEqual(t, definitions.Published, v.State, "the sandbox publishes nothing")
	}

	// A repeat answers the same job with a new link.
	again := decode[api.SandboxJob](t, fx.do(t, start), http.StatusOK)
	require.Equal(t, n, again.Number)
	require.NotEqual(t, sb.CustomerLink, again.CustomerLink)

	// The link opens the job as its customer.
	token := strings.TrimPrefix(sb.CustomerLink, prefix)
	opened := decode[api.JobLinkOpened](t, fx.do(t, request{method: http.MethodGet, path: "/customer/link/" + token, as: anonymous()}), http.StatusOK)
	require.Equal(t, n, opened.Number)

	// Lists leave it out unless asked. A list shows a job once its workflow has
	// projected its start: wait for that before asking the normal list.
	var row job.Row
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var ok bool
		row, ok = listed(fx.list(t, "test=only"), n)
		assert.True(c, ok, "test=only lists it")
	}, 10*time.Second, 50*time.Millisecond)
	require.True(t, row.Test)
	_, ok := listed(fx.list(t, ""), n)
	require.False(t, ok, "the normal list hides test jobs")
	_, ok = listed(fx.list(t, "test=include"), n)
	require.True(t, ok, "test=include lists it")
	for _, j := range fx.list(t, "test=only").Jobs {
		require.True(t, j.Test, "test=only lists test jobs alone")
	}
	p := fx.do(t, request{method: http.MethodGet, path: "/jobs?test=yes", raw: true}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, []string{"test"}, problemFields(p.Errors).names())

	// The detail shows the flag and the phases of the pinned draft.
	d := fx.detail(t, n)
	require.True(t, d.Job.Test)
	require.Equal(t, sb.Definition, d.Job.Definition)
	require.NotEmpty(t, d.Phases, "the pinned draft is found for the detail")
	cust, err := fx.store.GetCustomer(ctx, dealerID, d.Job.CustomerID)
	require.NoError(t, err)
	require.Equal(t, ownerEmail, cust.Email)
	require.NotEqual(t, fx.customer.ID, cust.ID)
	_, err = fx.store.FindCustomerByEmail(ctx, dealerID, ownerEmail)
	require.ErrorIs(t, err, store.ErrNotFound, "a test customer is no real customer")

	// Its e-mail goes to the staff member only, marked as a test.
	welcome := fx.mailTo(t, ownerEmail, messages.TestSubjectPrefix+"Ihre Anfrage zu VW Käfer Cabrio")
	require.Contains(t, welcome.Text, "Testnachricht")
	require.Contains(t, welcome.HTML, "Testnachricht")

	// Its SMS go to no phone.
	fx.act(t, n, "activate", "sb-offer", api.ActivateBody{Phase: "angebot"})
	fx.mailTo(t, ownerEmail, messages.TestSubjectPrefix+"Ihr Angebot für VW Käfer Cabrio")
	sms := fx.entry(t, n, "the offer's SMS", messageEntry("angebot_sms", store.OutboxSuppressed))
	require.Equal(t, messages.TestSMSReason, sms.After["reason"])

	for _, m := range fx.Inbox.Messages() {
		if strings.HasPrefix(m.Subject, messages.TestSubjectPrefix) {
			require.Equal(t, []string{ownerEmail}, m.To, "test e-mail %q", m.Subject)
		} else {
			require.False(t, slices.Contains(m.To, ownerEmail) && strings.Contains(m.Text, fmt.Sprintf("Vorgang %d", n)),
				"an e-mail of the test job without the mark: %q", m.Subject)
		}
	}

	// Refusals: an unknown workflow, an unknown vehicle.
	p = fx.do(t, request{method: http.MethodPost, path: "/admin/workflows/gibt_es_nicht/sandbox", key: "sb-404"}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	p = fx.do(t, request{method: http.MethodPost, path: "/admin/workflows/" + draft + "/sandbox", key: "sb-vehicle",
		body: api.SandboxBody{VehicleID: "0190b6d2-0000-7000-8000-000000000000"}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"vehicle_id"}, problemFields(p.Errors).names())
}
