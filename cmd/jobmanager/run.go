package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/mailbox"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/telemetry"
	"github.com/jobmanager/jobmanager/temporalclient"
	"github.com/jobmanager/jobmanager/web"
	"github.com/jobmanager/jobmanager/workers"
)

func databaseURL() (string, error) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return "", errors.New("DATABASE_URL is not set")
	}
	return url, nil
}

func openStore(ctx context.Context) (*store.Store, error) {
	url, err := databaseURL()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, url)
}

func runMigrate(ctx context.Context) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

func runSeed(ctx context.Context, logger *slog.Logger) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err = demo.Seed(ctx, st, logger); err != nil {
		return err
	}
	return registerDemoWebhook(ctx, logger)
}

func runWorker(ctx context.Context, logger *slog.Logger) error {
	if err := refuseInProduction(roleWorker); err != nil {
		return err
	}
	es, err := effectSettingsFromEnv()
	if err != nil {
		return err
	}
	keys, err := payloadKeysFromEnv(logger)
	if err != nil {
		return err
	}
	tel, stopTelemetry, err := startTelemetry(ctx, logger, "jobmanager-worker")
	if err != nil {
		return err
	}
	defer stopTelemetry()
	st, c, closeAll, err := connect(ctx, logger, tel, keys)
	if err != nil {
		return err
	}
	defer closeAll()
	fx, err := es.Build(st, logger)
	if err != nil {
		return err
	}
	return runWorkerWithOps(ctx, tel, st, c, workers.Deps{Store: st, Logger: logger, Documents: fx.Documents, Messages: fx.Messages, Payments: fx.Payments}, logger, defaultWorkerMetricsAddr)
}

// connect opens the database and dials Temporal with the payload keys, as api, worker
// and mailbox need; the client records SDK metrics and traces into tel when it is not
// nil.
func connect(ctx context.Context, logger *slog.Logger, tel *telemetry.Telemetry, keys payloadcodec.Keys) (*store.Store, client.Client, func(), error) {
	st, err := openStore(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg := temporalclient.FromEnv()
	cfg.Keys = keys
	if err := withTelemetry(&cfg, tel); err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	c, err := temporalclient.Dial(cfg, logger)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, c, func() { c.Close(); st.Close() }, nil
}

// payloadKeysFromEnv reads the payload keys (PAYLOAD_KEYS) once per process: the
// Temporal client encrypts with them, and the API serves a codec of the same keys to
// Temporal UI.
func payloadKeysFromEnv(logger *slog.Logger) (payloadcodec.Keys, error) {
	keys, err := payloadcodec.FromEnv()
	if err != nil {
		return payloadcodec.Keys{}, err
	}
	if keys.IsDev() {
		logger.Warn("payloads are encrypted with the public development key: set " + payloadcodec.EnvKeys)
	}
	return keys, nil
}

// uiOriginsFromEnv are Temporal UI's origins (TEMPORAL_UI_ORIGIN, comma-separated) that
// may call the codec endpoint from a browser; the API's codec routes trim them and drop
// empty ones.
func uiOriginsFromEnv() []string { return strings.Split(os.Getenv("TEMPORAL_UI_ORIGIN"), ",") }

func runAPI(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	addr := fs.String("addr", envOr("API_ADDR", "127.0.0.1:8080"), "listen address (API_ADDR)")
	timeout := fs.Duration("update-timeout", 10*time.Second, "how long a request waits for the worker before 503")
	publicURL := fs.String("public-url", os.Getenv("PUBLIC_URL"), "where customers reach the web pages, for links in e-mails (PUBLIC_URL)")
	secureCookies := fs.Bool("secure-cookies", os.Getenv("SECURE_COOKIES") == "1",
		"mark session cookies Secure on plain HTTP, behind a TLS-terminating proxy (SECURE_COOKIES=1)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("api flags: %w", err)
	}
	prod := prodSettingsFromEnv(os.Getenv)
	prod.SecureCookies, prod.PublicURL = *secureCookies, *publicURL
	if err := checkProduction(roleAPI, prod); err != nil {
		return err
	}
	es, err := effectSettingsFromEnv()
	if err != nil {
		return err
	}
	csrfKey, err := csrfKeyFromEnv()
	if err != nil {
		return err
	}
	keys, err := payloadKeysFromEnv(logger)
	if err != nil {
		return err
	}
	codec, err := payloadcodec.NewCodec(keys)
	if err != nil {
		return err
	}
	tel, stopTelemetry, err := startTelemetry(ctx, logger, "jobmanager-api")
	if err != nil {
		return err
	}
	defer stopTelemetry()
	st, c, closeAll, err := connect(ctx, logger, tel, keys)
	if err != nil {
		return err
	}
	defer closeAll()
	// The outbox backlog is the same for every replica; the API reports it.
	if err := tel.WatchOutbox(st); err != nil {
		return err
	}
	if *publicURL == "" {
		*publicURL = "http://" + *addr
		logger.Warn("PUBLIC_URL is not set: links in e-mails point to the listen address", "url", *publicURL)
	}
	es.PublicURL = *publicURL
	fx, err := es.Build(st, logger)
	if err != nil {
		return err
	}
	return api.Run(ctx, *addr, api.Deps{
		Store: st, Temporal: c, Logger: logger, UpdateTimeout: *timeout,
		PublicURL: *publicURL, Auth: auth.Options{SecureCookies: *secureCookies},
		Mailer: fx.Mailer, Documents: fx.Documents, Messages: fx.Messages, BezahlWebhookSecret: es.WebhookSecret,
		Secrets: es.Secrets, Codec: codec, TemporalUIOrigins: uiOriginsFromEnv(), Telemetry: tel,
		Pages: func(r *gin.Engine) error {
			return web.Mount(r, web.Options{CSRFKey: csrfKey, SecureCookies: *secureCookies, Logger: logger})
		},
	})
}

// csrfKeyFromEnv reads CSRF_KEY: 32 bytes, base64, shared by every API replica.
// Unset, the pages make a random key (and say so), which suits one process only.
func csrfKeyFromEnv() ([]byte, error) {
	raw := os.Getenv("CSRF_KEY")
	if raw == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("CSRF_KEY: want 32 bytes in base64 (openssl rand -base64 32)")
	}
	return key, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// runMailbox serves the mailbox for signed documents until ctx is done.
func runMailbox(ctx context.Context, logger *slog.Logger) error {
	if err := refuseInProduction(roleMailbox); err != nil {
		return err
	}
	keys, err := payloadKeysFromEnv(logger)
	if err != nil {
		return err
	}
	// The mailbox has no HTTP listener to serve metrics from.
	st, c, closeAll, err := connect(ctx, logger, nil, keys)
	if err != nil {
		return err
	}
	defer closeAll()
	es, err := effectSettingsFromEnv()
	if err != nil {
		return err
	}
	fx, err := es.Build(st, logger)
	if err != nil {
		return err
	}
	box := &mailbox.Server{Store: st, Temporal: c, Notify: fx.Sender, Logger: logger}
	if err := box.Start(envOr("MAILBOX_ADDR", "127.0.0.1:2525")); err != nil {
		return err
	}
	logger.Info("mailbox listening", "addr", box.Addr())
	<-ctx.Done()
	return box.Close()
}
