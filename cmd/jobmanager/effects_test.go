package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

var effectVars = []string{"SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_TLS",
	"SMS_URL", "SMS_TOKEN", "BEZAHL_URL", "BEZAHL_TOKEN", "BEZAHL_ORG", "BEZAHL_WEBHOOK_SECRET", "PUBLIC_URL"}

func TestEffectSettingsFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(*testing.T, effectSettings)
	}{
		{name: "nothing set leaves every side effect unconfigured", check: func(t *testing.T, es effectSettings) {
			require.Equal(t, effectSettings{}, es)
		}},
		{name: "SMTP with defaults", env: map[string]string{"SMTP_HOST": "smtp.example", "SMTP_FROM": "vorgaenge@example.org"},
			check: func(t *testing.T, es effectSettings) {
				require.Equal(t, &mail.Settings{Host: "smtp.example", Port: 587, TLS: mail.TLSMandatory, From: "vorgaenge@example.org"}, es.SMTP)
			}},
		{name: "SMTP without a sender", env: map[string]string{"SMTP_HOST": "smtp.example"}, wantErr: "SMTP_HOST set but SMTP_FROM not"},
		{name: "SMTP with a bad port and TLS", env: map[string]string{"SMTP_HOST": "smtp.example", "SMTP_FROM": "a@b.de", "SMTP_PORT": "x", "SMTP_TLS": "maybe"},
			wantErr: `SMTP_PORT "x" is not a number`},
		{name: "SMTP user without password", env: map[string]string{"SMTP_HOST": "smtp.example", "SMTP_FROM": "a@b.de", "SMTP_USER": "u"},
			wantErr: "username and password: give both or neither"},
		{name: "bezahl.de in part", env: map[string]string{"BEZAHL_URL": "https://bezahl.example/nxt/v1/", "BEZAHL_ORG": "o"},
			wantErr: "BEZAHL_URL, BEZAHL_ORG set but BEZAHL_TOKEN not"},
		{name: "SMS and bezahl.de", env: map[string]string{"SMS_URL": "https://sms.example/v1", "SMS_TOKEN": "t",
			"BEZAHL_URL": "https://bezahl.example/nxt/v1/", "BEZAHL_TOKEN": "nx", "BEZAHL_ORG": "o", "BEZAHL_WEBHOOK_SECRET": "s",
			"PUBLIC_URL": "https://autohaus.example/"},
			check: func(t *testing.T, es effectSettings) {
				require.Nil(t, es.SMTP)
				require.Equal(t, "https://sms.example/v1", es.SMSURL)
				require.Equal(t, "o", es.Bezahl.OrgID)
				require.Equal(t, "s", es.WebhookSecret)
				require.Equal(t, "https://autohaus.example", es.PublicURL)
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range effectVars {
				t.Setenv(k, tt.env[k])
			}
			es, err := effectSettingsFromEnv()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, es)
		})
	}
}

// The dev stack's simulators run, the webhook points at the API, and the services built
// from their settings reach them.
func TestDevEffects(t *testing.T) {
	ctx := context.Background()
	d, err := startDevEffects(ctx, "127.0.0.1:18080")
	require.NoError(t, err)
	defer d.close()

	hooks, err := d.settings.Bezahl.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, "http://127.0.0.1:18080/api/v1/webhooks/bezahl/"+demo.Dealer, hooks[0].URL)
	res, err := http.Get(d.smsURL + "/messages")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	st := pgtest.New(t)
	fx, err := d.settings.build(st, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotNil(t, fx.Documents)
	require.NotNil(t, fx.Messages.Mail)
	require.NotNil(t, fx.Messages.SMS)
	require.NotNil(t, fx.Messages.ParkingLink)
	require.NotNil(t, fx.Payments)
	require.NoError(t, fx.Mailer.SendPasswordReset(ctx, "erika@example.org", "http://127.0.0.1:18080/reset?token=x"))

	// The mail shows on the inbox page's JSON.
	res, err = http.Get(d.inboxURL + "messages")
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
