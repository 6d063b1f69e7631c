package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
)

// envSeedWebhookBase names the API's base URL as bezahl.de reaches it (http://api:8080
// in the compose stack). With it and the BEZAHL_* settings, `jobmanager seed` registers
// the demo dealer's payment webhook, the step an operator takes once with bezahl.de in
// production. The simulator keeps registrations in memory, so the demo's seed does it
// on every start of the stack.
const envSeedWebhookBase = "SEED_BEZAHL_WEBHOOK_BASE"

// demoWebhookURL is where bezahl.de posts the demo dealer's payment events.
func demoWebhookURL(base string) string {
	return strings.TrimRight(base, "/") + api.BezahlWebhookPath(demo.Dealer)
}

// registerDemoWebhook registers the demo dealer's webhook unless one with its URL is
// there already, so seeding again changes nothing. Without SEED_BEZAHL_WEBHOOK_BASE or
// BEZAHL_URL it does nothing; with them, a missing setting is an error naming it.
func registerDemoWebhook(ctx context.Context, logger *slog.Logger) error {
	base := os.Getenv(envSeedWebhookBase)
	if base == "" {
		return nil
	}
	if os.Getenv("BEZAHL_URL") == "" {
		logger.Info("BEZAHL_URL is not set: no payment webhook to register", "setting", envSeedWebhookBase)
		return nil
	}
	es, err := effectSettingsFromEnv()
	if err != nil {
		return err
	}
	if es.WebhookSecret == "" {
		return fmt.Errorf("%s is set but BEZAHL_WEBHOOK_SECRET is not: the API could not verify the webhook", envSeedWebhookBase)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q is not an http(s):// URL", envSeedWebhookBase, base)
	}
	hook := demoWebhookURL(base)
	existing, err := es.Bezahl.Webhooks(ctx)
	if err != nil {
		return fmt.Errorf("list bezahl.de webhooks: %w", err)
	}
	for _, h := range existing {
		if h.URL == hook {
			logger.Info("bezahl.de webhook already registered", "url", hook)
			return nil
		}
	}
	if _, err := es.Bezahl.RegisterWebhook(ctx, hook, es.WebhookSecret); err != nil {
		return fmt.Errorf("register the bezahl.de webhook %s: %w", hook, err)
	}
	logger.Info("bezahl.de webhook registered", "url", hook)
	return nil
}
