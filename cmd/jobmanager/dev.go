package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/mailbox"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/temporalclient"
	"github.com/jobmanager/jobmanager/web"
	"github.com/jobmanager/jobmanager/workers"
)

// runDev runs the whole system on its embedded defaults. Data lives under data/ in the
// repository (git-ignored), so a second run keeps jobs, definitions and Temporal state.
func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	addr := fs.String("addr", envOr("API_ADDR", "127.0.0.1:8080"), "API listen address")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("dev flags: %w", err)
	}
	// The dev stack runs on the public development keys by design.
	if prod, err := prodSettingsFromEnv(os.Getenv).production(); err != nil {
		return err
	} else if prod {
		return fmt.Errorf("jobmanager dev runs on public development keys: unset %s=%s", envMode, modeProduction)
	}
	// Text for the terminal; LOG_FORMAT=json to try what production writes.
	logger, err := newLogger("text")
	if err != nil {
		return err
	}
	say := func(format string, args ...any) { logger.Info(fmt.Sprintf(format, args...)) }
	root, err := devstack.RepoRoot()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(root, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dataDir, err)
	}

	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		pg, err := devstack.StartPostgres(ctx, filepath.Join(dataDir, "postgres"), say)
		if err != nil {
			return err
		}
		defer stopLogged(logger, "postgres", pg.Stop)
		dbURL = pg.URL
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if _, err := demo.Seed(ctx, st, logger); err != nil {
		return err
	}
	// One process, one telemetry: the API's /metrics shows the worker's Temporal
	// metrics too, so the worker's own listener is off unless METRICS_ADDR is set.
	tel, stopTelemetry, err := startTelemetry(ctx, logger, "jobmanager")
	if err != nil {
		return err
	}
	defer stopTelemetry()
	if err := tel.WatchOutbox(st); err != nil {
		return err
	}

	temporalCfg := temporalclient.FromEnv()
	// Payloads are encrypted with the public development key unless PAYLOAD_KEYS says
	// otherwise; Temporal UI shows them decoded through the API's codec endpoint.
	if temporalCfg.Keys, err = payloadcodec.FromEnv(); err != nil {
		return err
	}
	codec, err := payloadcodec.NewCodec(temporalCfg.Keys)
	if err != nil {
		return err
	}
	codecURL := devCodecEndpoint(*addr)
	uiOrigins := uiOriginsFromEnv()
	uiURL, uiLink := "(remote Temporal: see its own UI)", ""
	if os.Getenv("TEMPORAL_ADDRESS") == "" {
		t, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{DataDir: filepath.Join(dataDir, "temporal"), Logf: say,
			CodecEndpoint: codecURL})
		if err != nil {
			return err
		}
		defer stopLogged(logger, "temporal", t.Stop)
		temporalCfg.Address, uiURL = t.Address(), t.UIURL()
		uiLink = uiURL
		uiOrigins = append(uiOrigins, t.UIURL())
	}
	if err := withTelemetry(&temporalCfg, tel); err != nil {
		return err
	}
	c, err := temporalclient.Dial(temporalCfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()

	vehicles, err := st.ListVehicles(ctx, demo.Dealer)
	if err != nil {
		return err
	}
	var stock string
	for _, v := range vehicles {
		stock += fmt.Sprintf("\n               vehicle %s  %s %s  id %s", v.Number, v.Make, v.Model, v.ID)
	}
	customer, err := st.FindCustomerByEmail(ctx, demo.Dealer, demo.Customer.Email)
	if err != nil {
		return err
	}

	// Real side effects against stand-ins of the outside world on loopback.
	sims, err := simulators.Start(ctx, simulators.Options{PublicURL: "http://" + *addr, WebhookDealer: demo.Dealer})
	if err != nil {
		return err
	}
	defer stopLogged(logger, "simulators", sims.Close)
	fx, err := sims.Settings.Build(st, logger)
	if err != nil {
		return err
	}

	// Signed documents come back by e-mail to this mailbox.
	box := &mailbox.Server{Store: st, Temporal: c, Notify: fx.Sender, Logger: logger}
	if err := box.Start(envOr("MAILBOX_ADDR", "127.0.0.1:2525")); err != nil {
		// 2525 is taken (another dev stack): any free port, printed below.
		if err := box.Start("127.0.0.1:0"); err != nil {
			return err
		}
	}
	defer func() { _ = box.Close() }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// The API's /metrics has the worker's metrics too (one process): the worker's
		// own listener is off unless METRICS_ADDR asks for it.
		return runWorkerWithOps(gctx, tel, st, c, workers.Deps{Store: st, Logger: logger, Documents: fx.Documents, Messages: fx.Messages, Payments: fx.Payments}, logger, "")
	})
	g.Go(func() error {
		return api.Run(gctx, *addr, api.Deps{Store: st, Temporal: c, Logger: logger, PublicURL: sims.Settings.PublicURL,
			Mailer: fx.Mailer, Documents: fx.Documents, Messages: fx.Messages, BezahlWebhookSecret: sims.Settings.WebhookSecret,
			Secrets: sims.Settings.Secrets, Codec: codec, TemporalUIOrigins: uiOrigins, Telemetry: tel,
			Pages: func(r *gin.Engine) error {
				return web.Mount(r, web.Options{CSRFKey: devCSRFKey, Logger: logger,
					Dev: web.DevLinks{Inbox: sims.InboxURL, TemporalUI: uiLink, Namespace: temporalCfg.Namespace}})
			}})
	})
	g.Go(func() error {
		select {
		case <-gctx.Done():
		case <-time.After(time.Second):
			fmt.Fprintf(os.Stderr, `
Jobmanager is running. Ctrl-C stops everything.

  Staff pages  http://%[1]s/staff/%[2]s/jobs   (log in with a staff login below)
  Customers    http://%[1]s/shop/%[2]s/vehicles   (park a vehicle, ask for a call back)
  API          http://%[1]s/api/v1/dealers/%[2]s/jobs   (health: http://%[1]s/healthz)
  Temporal UI  %[3]s
  Codec        %[16]s   (Temporal UI shows payloads decoded to a logged-in owner or
               admin: log in on the staff pages first, on the same host name as the UI,
               then tick "Include cross-origin credentials" in the UI's codec settings)
  PostgreSQL   %[4]s
  E-mail inbox %[12]s   (every e-mail the system sends lands here)
  SMS          %[13]s/messages   (the SMS provider simulator, JSON)
  bezahl.de    %[14]s/pay/<order id>   (the simulator's pay page; the link is in the payment e-mail)
  Mailbox      smtp://%[15]s   (signed documents back: mail <job number>_<name>.pdf from a staff
               address to %[2]s@eingang.jobmanager.local)
  Demo dealer  %[2]s, staff logins %[5]s (owner) and %[6]s (sales),
               customer login %[11]s, each with password %[7]q%[8]s
               customer %[9]s  id %[10]s
  Log in       curl -c staff.jar -H Content-Type:application/json \
                 -d '{"email":"%[5]s","password":"%[7]s"}' http://%[1]s/api/v1/dealers/%[2]s/staff/login
               curl -b staff.jar http://%[1]s/api/v1/dealers/%[2]s/jobs
               (customers alike: .../customer/login with their own cookie jar; see README)

`, *addr, demo.Dealer, uiURL, redact(dbURL), demo.Staff[0].Email, demo.Staff[1].Email, demo.Password, stock, customer.Name, customer.ID, customer.Email,
				sims.InboxURL, sims.SMS.URL, sims.Pay.URL, box.Addr(), codecURL)
		}
		return nil
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		logger.Info("stopping")
		return nil
	}
	return err
}

// devCodecEndpoint is the API's codec endpoint as Temporal UI reaches it: on the
// listen address's host, 127.0.0.1 when it listens on every interface, so that the UI
// (on 127.0.0.1 too) and the staff pages share a site and the staff cookie goes along.
func devCodecEndpoint(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + api.CodecPath
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + api.CodecPath
}

// devCSRFKey is the dev stack's fixed CSRF key, so forms survive a restart; public,
// like secrets.Dev, and for the dev stack only.
var devCSRFKey = []byte("jobmanager-dev-csrf-key-32-bytes")

func stopLogged(logger *slog.Logger, what string, stop func() error) {
	if err := stop(); err != nil {
		logger.Warn("stop failed", "what", what, "error", err)
	}
}

// redact hides a password in a database URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}
