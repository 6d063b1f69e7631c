package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/payloadcodec"
)

func randomKey(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(key)
}

func TestCheckProduction(t *testing.T) {
	devSecrets := base64.StdEncoding.EncodeToString([]byte("jobmanager-DEV-ONLY-secrets-key!"))
	devCSRF := base64.StdEncoding.EncodeToString(devCSRFKey)
	// good is a production environment with nothing to object to.
	good := map[string]string{
		envMode: modeProduction, "SECRETS_KEY": randomKey(t), "CSRF_KEY": randomKey(t),
		"PAYLOAD_KEYS": "k2026:" + randomKey(t), "SECURE_COOKIES": "1", "PUBLIC_URL": "https://jobs.autohaus.example",
		"BEZAHL_URL": "https://partnerapi.bezahl.de/nxt/v1/", "BEZAHL_WEBHOOK_SECRET": "a-long-random-secret-of-32-chars",
	}
	with := func(changes map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range good {
			env[k] = v
		}
		for k, v := range changes {
			env[k] = v
		}
		return env
	}
	for _, tt := range []struct {
		name string
		role role
		env  map[string]string
		// want are the variables the error must name, in order; none means no error.
		want []string
	}{
		{"development checks nothing", roleAPI, map[string]string{}, nil},
		{"development said so", roleAPI, map[string]string{envMode: modeDevelopment, "SECRETS_KEY": devSecrets}, nil},
		{"unknown mode", roleWorker, map[string]string{envMode: "prod"}, []string{envMode + `="prod"`}},
		{"production, all good: api", roleAPI, good, nil},
		{"production, all good: worker", roleWorker, good, nil},
		{"production, all good: mailbox", roleMailbox, good, nil},
		{"dev secrets key", roleWorker, with(map[string]string{"SECRETS_KEY": devSecrets}), []string{"SECRETS_KEY"}},
		{"dev secrets key in the mailbox", roleMailbox, with(map[string]string{"SECRETS_KEY": devSecrets}), []string{"SECRETS_KEY"}},
		{"payload keys unset", roleWorker, with(map[string]string{"PAYLOAD_KEYS": ""}), []string{"PAYLOAD_KEYS"}},
		{"dev payload key active", roleAPI, with(map[string]string{"PAYLOAD_KEYS": payloadcodec.DevSpec()}), []string{"PAYLOAD_KEYS"}},
		{"dev payload key kept for decoding only", roleWorker,
			with(map[string]string{"PAYLOAD_KEYS": "k2026:" + randomKey(t) + "," + payloadcodec.DevSpec()}), nil},
		{"dev payload key made active by id", roleWorker,
			with(map[string]string{"PAYLOAD_KEYS": "k2026:" + randomKey(t) + "," + payloadcodec.DevSpec(), "PAYLOAD_KEY_ID": payloadcodec.DevKeyID}),
			[]string{"PAYLOAD_KEYS"}},
		{"csrf key unset", roleAPI, with(map[string]string{"CSRF_KEY": ""}), []string{"CSRF_KEY is not set"}},
		{"dev csrf key", roleAPI, with(map[string]string{"CSRF_KEY": devCSRF}), []string{"CSRF_KEY is the public"}},
		{"csrf key is the api's business only", roleWorker, with(map[string]string{"CSRF_KEY": ""}), nil},
		{"secure cookies off", roleAPI, with(map[string]string{"SECURE_COOKIES": ""}), []string{"SECURE_COOKIES"}},
		{"public url plain http", roleAPI, with(map[string]string{"PUBLIC_URL": "http://jobs.autohaus.example"}), []string{"PUBLIC_URL"}},
		{"public url unset for the api", roleAPI, with(map[string]string{"PUBLIC_URL": ""}), []string{"PUBLIC_URL"}},
		{"public url unset for the worker", roleWorker, with(map[string]string{"PUBLIC_URL": ""}), nil},
		{"public url plain http for the worker", roleWorker, with(map[string]string{"PUBLIC_URL": "http://x.example"}), []string{"PUBLIC_URL"}},
		{"bezahl without webhook secret", roleAPI, with(map[string]string{"BEZAHL_WEBHOOK_SECRET": ""}), []string{"BEZAHL_WEBHOOK_SECRET is not set"}},
		{"no bezahl, no webhook secret needed", roleAPI, with(map[string]string{"BEZAHL_URL": "", "BEZAHL_WEBHOOK_SECRET": ""}), nil},
		{"simulator webhook secret", roleAPI, with(map[string]string{"BEZAHL_WEBHOOK_SECRET": simulators.WebhookSecret}), []string{"simulator's secret"}},
		{"placeholder webhook secret", roleAPI, with(map[string]string{"BEZAHL_WEBHOOK_SECRET": "REPLACE-ME"}), []string{"BEZAHL_WEBHOOK_SECRET is shorter"}},
		{"everything at once, each named", roleAPI, map[string]string{envMode: modeProduction, "SECRETS_KEY": devSecrets,
			"CSRF_KEY": devCSRF, "PUBLIC_URL": "http://localhost:8080", "BEZAHL_URL": "http://bezahlsim:8090/nxt/v1/"},
			[]string{"SECRETS_KEY", "PAYLOAD_KEYS", "PUBLIC_URL", "CSRF_KEY", "SECURE_COOKIES", "BEZAHL_WEBHOOK_SECRET"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkProduction(tt.role, prodSettingsFromEnv(func(k string) string { return tt.env[k] }))
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				require.GreaterOrEqual(t, i, 0, "error %q should name %q after position %d", msg, w, at)
				at += i + len(w)
			}
		})
	}
}

// TestDevRefusesProduction: `jobmanager dev` runs on development keys, so it refuses
// production mode before it starts anything.
func TestDevRefusesProduction(t *testing.T) {
	t.Setenv(envMode, modeProduction)
	err := runDev(context.Background(), nil)
	require.ErrorContains(t, err, envMode)
}

func TestHealthcheck(t *testing.T) {
	ctx := context.Background()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer ok.Close()
	require.NoError(t, runHealthcheck(ctx, []string{ok.URL + "/readyz"}))
	require.ErrorContains(t, runHealthcheck(ctx, []string{ok.URL + "/other"}), "503")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, runHealthcheck(ctx, []string{"tcp://" + addr}))
	require.NoError(t, ln.Close())
	require.Error(t, runHealthcheck(ctx, []string{"tcp://" + addr}), "nothing listens any more")

	require.ErrorContains(t, runHealthcheck(ctx, []string{"ftp://x"}), "scheme")
	require.ErrorContains(t, runHealthcheck(ctx, nil), "usage")
}
