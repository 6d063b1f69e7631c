package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/secrets"
)

// envMode names the variable that says what a process runs as: "development" (the
// default) or "production". Production refuses to start on the public development keys
// and insecure defaults that keep `make dev` and the compose stack one command away.
const envMode = "JOBMANAGER_ENV"

const (
	modeDevelopment = "development"
	modeProduction  = "production"
)

// role is the command whose settings are checked; each reads a different part of them.
type role string

const (
	roleAPI     role = "api"
	roleWorker  role = "worker"
	roleMailbox role = "mailbox"
)

// prodSettings are the settings the production check reads, resolved (flags over
// environment) by the command that runs.
type prodSettings struct {
	Mode          string
	SecretsKey    string
	CSRFKey       string
	PayloadKeys   string
	PayloadKeyID  string
	BezahlURL     string
	WebhookSecret string
	SecureCookies bool
	PublicURL     string
}

// prodSettingsFromEnv reads the settings from the environment; the API overrides the
// ones its flags can set.
func prodSettingsFromEnv(getenv func(string) string) prodSettings {
	return prodSettings{
		Mode:          strings.TrimSpace(getenv(envMode)),
		SecretsKey:    strings.TrimSpace(getenv(secrets.EnvKey)),
		CSRFKey:       getenv("CSRF_KEY"),
		PayloadKeys:   getenv(payloadcodec.EnvKeys),
		PayloadKeyID:  getenv(payloadcodec.EnvKeyID),
		BezahlURL:     getenv("BEZAHL_URL"),
		WebhookSecret: getenv("BEZAHL_WEBHOOK_SECRET"),
		SecureCookies: getenv("SECURE_COOKIES") == "1",
		PublicURL:     getenv("PUBLIC_URL"),
	}
}

// minWebhookSecretLen is the shortest webhook secret production accepts: enough that
// nobody guesses it (openssl rand -base64 32 gives 44).
const minWebhookSecretLen = 24

// production tells whether the settings ask for production mode; a value other than
// the two known ones is an error, so a typo ("prod") does not quietly mean development.
func (s prodSettings) production() (bool, error) {
	switch s.Mode {
	case "", modeDevelopment:
		return false, nil
	case modeProduction:
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want %q or %q", envMode, s.Mode, modeDevelopment, modeProduction)
	}
}

// checkProduction refuses, in production mode, every development secret and insecure
// default that the role r would use, naming each variable at fault in one error. In
// development it checks nothing.
func checkProduction(r role, s prodSettings) error {
	prod, err := s.production()
	if err != nil || !prod {
		return err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Every role opens dealers' SMTP passwords and decodes Temporal payloads.
	if key, err := base64.StdEncoding.DecodeString(s.SecretsKey); err == nil && secrets.IsDevKey(key) {
		add("%s is the public development key (make one: openssl rand -base64 32)", secrets.EnvKey)
	}
	if devPayloadKey(s.PayloadKeys, s.PayloadKeyID) {
		add("%s is unset or its active key is the public development key: new payloads would be readable by anyone", payloadcodec.EnvKeys)
	}
	if s.PublicURL != "" || r == roleAPI {
		if u, err := url.Parse(s.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" {
			add("PUBLIC_URL %q is not an https:// URL: customers' links and cookies need TLS", s.PublicURL)
		}
	}
	if r == roleAPI {
		switch key, err := base64.StdEncoding.DecodeString(s.CSRFKey); {
		case s.CSRFKey == "":
			add("CSRF_KEY is not set: every replica would sign forms with a key of its own")
		case err == nil && bytes.Equal(key, devCSRFKey):
			add("CSRF_KEY is the public development key (make one: openssl rand -base64 32)")
		}
		if !s.SecureCookies {
			add("SECURE_COOKIES is not 1: session cookies would travel over plain HTTP")
		}
		if s.BezahlURL != "" && s.WebhookSecret == "" {
			add("BEZAHL_WEBHOOK_SECRET is not set while BEZAHL_URL is: payment webhooks could not be verified")
		}
		switch {
		case s.WebhookSecret == simulators.WebhookSecret:
			add("BEZAHL_WEBHOOK_SECRET is the development simulator's secret")
		case s.WebhookSecret != "" && len(s.WebhookSecret) < minWebhookSecretLen:
			// Also catches a placeholder left in (deploy/kubernetes/secret.yaml has one).
			add("BEZAHL_WEBHOOK_SECRET is shorter than %d characters: a guessable secret would let anyone fake payments", minWebhookSecretLen)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s=%s refuses to start %s: %s", envMode, modeProduction, r, strings.Join(problems, "; "))
	}
	return nil
}

// refuseInProduction runs checkProduction on the environment, for the commands without
// flags of their own (worker, mailbox).
func refuseInProduction(r role) error {
	return checkProduction(r, prodSettingsFromEnv(os.Getenv))
}

// devPayloadKey tells whether the payload key ring encrypts with the public development
// key: PAYLOAD_KEYS unset (payloadcodec.FromEnv then falls back to it) or its active
// key being it. A development key kept only to decode old histories is no risk for new
// payloads and passes. A spec that does not parse is payloadcodec.FromEnv's to report.
func devPayloadKey(spec, activeID string) bool {
	if strings.TrimSpace(spec) == "" {
		return true
	}
	keys, err := payloadcodec.Parse(spec, strings.TrimSpace(activeID))
	return err == nil && keys.IsDev()
}
