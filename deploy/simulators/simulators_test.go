package simulators_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// The dev stack's simulators run, the webhook points at the API, and the services built
// from their settings reach them.
func TestStart(t *testing.T) {
	ctx := context.Background()
	d, err := simulators.Start(ctx, simulators.Options{PublicURL: "http://127.0.0.1:18080", WebhookDealer: demo.Dealer})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })

	hooks, err := d.Settings.Bezahl.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, "http://127.0.0.1:18080/api/v1/webhooks/bezahl/"+demo.Dealer, hooks[0].URL)
	res, err := http.Get(d.SMS.URL + "/messages")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	st := pgtest.New(t)
	fx, err := d.Settings.Build(st, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotNil(t, fx.Documents)
	require.NotNil(t, fx.Messages.Mail)
	require.NotNil(t, fx.Messages.SMS)
	require.NotNil(t, fx.Messages.ParkingLink)
	require.NotNil(t, fx.Payments)
	require.NoError(t, fx.Mailer.SendPasswordReset(ctx, "erika@example.org", "http://127.0.0.1:18080/reset?token=x"))

	// The mail shows on the inbox page's JSON.
	res, err = http.Get(d.InboxURL + "messages")
	require.NoError(t, err)
	defer res.Body.Close()
	var msgs []inbox.Message
	require.NoError(t, json.NewDecoder(res.Body).Decode(&msgs))
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"erika@example.org"}, msgs[0].To)
	require.Equal(t, "Ihr neues Passwort", msgs[0].Subject)

	// The parking link opens the job through the API's link route.
	_, err = st.CreateDealer(ctx, store.Dealer{ID: demo.Dealer, Name: "Autohaus Demo GmbH"})
	require.NoError(t, err)
	number, _, err := st.AllocateJob(ctx, demo.Dealer, "link-test", "", job.Row{Phase: "anfrage", Status: job.StatusOpen, Source: job.SourceManual})
	require.NoError(t, err)
	link, err := fx.Messages.ParkingLink(ctx, demo.Dealer, number, "")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link, "http://127.0.0.1:18080/shop/"+demo.Dealer+"/link/"), link)
}
