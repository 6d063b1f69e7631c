package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/sideeffects"
)

var effectVars = []string{"SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_TLS",
	"SMS_URL", "SMS_TOKEN", "BEZAHL_URL", "BEZAHL_TOKEN", "BEZAHL_ORG", "BEZAHL_WEBHOOK_SECRET", "PUBLIC_URL"}

func TestEffectSettingsFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(*testing.T, sideeffects.Settings)
	}{
		{name: "nothing set leaves every side effect unconfigured", check: func(t *testing.T, es sideeffects.Settings) {
			require.Equal(t, sideeffects.Settings{}, es)
		}},
		{name: "SMTP with defaults", env: map[string]string{"SMTP_HOST": "smtp.example", "SMTP_FROM": "vorgaenge@example.org"},
			check: func(t *testing.T, es sideeffects.Settings) {
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
			check: func(t *testing.T, es sideeffects.Settings) {
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
