package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/demo"
	"github.com/jobmanager/jobmanager/deploy/bezahlsim"
	"github.com/jobmanager/jobmanager/deploy/smssim"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/sms"
	"github.com/jobmanager/jobmanager/store"
)

// jobLinkTTL is how long the parking-page link in a message opens the job.
const jobLinkTTL = 30 * 24 * time.Hour

// effectSettings say how to reach the outside world of the side effects. A nil or
// empty setting leaves its side effect unconfigured: the worker records its failure in
// the job's history, the API answers 503 where it needs it.
type effectSettings struct {
	// SMTP sends e-mail (and password reset links); dealers with SMTP settings of their
	// own use those instead.
	SMTP *mail.Settings
	// SMSURL and SMSToken reach the SMS provider's API.
	SMSURL, SMSToken string
	// Bezahl is the bezahl.de client of the one organisation all dealers use for now.
	Bezahl *bezahl.Client
	// WebhookSecret verifies bezahl.de's webhooks.
	WebhookSecret string
	// PublicURL is where customers reach the system, for the parking-page link.
	PublicURL string
	// Secrets seals and opens dealers' SMTP passwords (SECRETS_KEY); nil refuses to
	// store one and cannot open one.
	Secrets *secrets.Box
}

// effectSettingsFromEnv reads the settings of `jobmanager worker` and `api`. A group of
// settings entirely absent leaves its side effect unconfigured; one given in part is an
// error naming what is missing, so a typo does not silently switch e-mail off.
func effectSettingsFromEnv() (effectSettings, error) {
	es := effectSettings{
		SMSURL: os.Getenv("SMS_URL"), SMSToken: os.Getenv("SMS_TOKEN"),
		WebhookSecret: os.Getenv("BEZAHL_WEBHOOK_SECRET"), PublicURL: strings.TrimRight(os.Getenv("PUBLIC_URL"), "/"),
	}
	var problems []string
	if missing := partial("SMTP_HOST", "SMTP_FROM"); missing != "" {
		problems = append(problems, missing)
	} else if host := os.Getenv("SMTP_HOST"); host != "" {
		port := 587
		if p := os.Getenv("SMTP_PORT"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				problems = append(problems, fmt.Sprintf("SMTP_PORT %q is not a number", p))
			}
			port = n
		}
		tls := mail.TLSPolicy(envOr("SMTP_TLS", string(mail.TLSMandatory)))
		es.SMTP = &mail.Settings{Host: host, Port: port, TLS: tls, Username: os.Getenv("SMTP_USER"),
			Password: os.Getenv("SMTP_PASSWORD"), From: os.Getenv("SMTP_FROM")}
		if err := es.SMTP.Validate(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if missing := partial("SMS_URL", "SMS_TOKEN"); missing != "" {
		problems = append(problems, missing)
	}
	if missing := partial("BEZAHL_URL", "BEZAHL_TOKEN", "BEZAHL_ORG"); missing != "" {
		problems = append(problems, missing)
	} else if u := os.Getenv("BEZAHL_URL"); u != "" {
		es.Bezahl = &bezahl.Client{BaseURL: u, Token: os.Getenv("BEZAHL_TOKEN"), OrgID: os.Getenv("BEZAHL_ORG")}
	}
	if box, err := secrets.FromEnv(); err != nil {
		problems = append(problems, err.Error())
	} else {
		es.Secrets = box
	}
	if len(problems) > 0 {
		return effectSettings{}, fmt.Errorf("side effect settings: %s", strings.Join(problems, "; "))
	}
	return es, nil
}

// partial names the variables missing from a group of which some are set; "" when
// all or none are.
func partial(names ...string) string {
	var set, unset []string
	for _, n := range names {
		if os.Getenv(n) != "" {
			set = append(set, n)
		} else {
			unset = append(unset, n)
		}
	}
	if len(set) == 0 || len(unset) == 0 {
		return ""
	}
	return fmt.Sprintf("%s set but %s not", strings.Join(set, ", "), strings.Join(unset, ", "))
}

// sideEffects are the services built from the settings; nil ones are unconfigured.
type sideEffects struct {
	Documents *documents.Service
	Messages  *messages.Service
	Payments  *bezahl.Activities
	// Mailer sends password reset links; nil leaves them to the log.
	Mailer auth.Mailer
	// Sender is the system's SMTP sender (the mailbox's notices); nil without SMTP.
	Sender *mail.Sender
}

// build makes the services. Documents need only the database, so they are always
// there; messages need SMTP or an SMS provider (a channel without one fails for good,
// recorded); payments need bezahl.de.
func (es effectSettings) build(st *store.Store, logger *slog.Logger) (sideEffects, error) {
	fx := sideEffects{Documents: &documents.Service{Store: st}}
	var sender *mail.Sender
	if es.SMTP != nil {
		var err error
		if sender, err = mail.NewSender(*es.SMTP); err != nil {
			return sideEffects{}, err
		}
		fx.Mailer = &mail.PasswordResetMailer{Sender: sender}
		fx.Sender = sender
	}
	if sender != nil || es.SMSURL != "" {
		m := &messages.Service{Store: st}
		if sender != nil {
			m.Mail = &messages.DealerMail{Store: st, Secrets: es.Secrets, Fallback: sender}
		}
		if es.SMSURL != "" {
			m.SMS = &sms.HTTPProvider{BaseURL: es.SMSURL, Token: es.SMSToken}
		}
		if es.PublicURL != "" {
			m.ParkingLink = parkingLink(st, es.PublicURL)
		} else {
			logger.Warn("PUBLIC_URL is not set: messages carry no parking-page link")
		}
		fx.Messages = m
	}
	if es.Bezahl != nil {
		fx.Payments = &bezahl.Activities{Store: st, Clients: bezahl.StaticClient{Client: es.Bezahl}}
	}
	logger.Info("side effects", "email", sender != nil, "sms", es.SMSURL != "", "bezahl", es.Bezahl != nil,
		"bezahl_webhooks", es.WebhookSecret != "")
	return fx, nil
}

// parkingLink makes {parkplatz_link}: a signed link that opens the job's parking page
// with a customer session limited to the job (the page /shop/<dealer>/link/<token>).
func parkingLink(st *store.Store, publicURL string) messages.LinkMaker {
	return func(ctx context.Context, dealer string, number int64, customerID string) (string, error) {
		token, err := auth.NewJobLink(ctx, st, dealer, number, customerID, jobLinkTTL)
		if err != nil {
			return "", err
		}
		return publicURL + "/shop/" + url.PathEscape(dealer) + "/link/" + url.PathEscape(token), nil
	}
}

// Settings of the dev stack's simulators.
const (
	devSMSToken      = "dev-sms-token"
	devBezahlToken   = "dev-token"
	devBezahlOrg     = "dev-org"
	devWebhookSecret = "dev-webhook-secret-0123456789"
	devMailFrom      = "vorgaenge@autohaus-demo.example"
)

// devEffects are the dev stack's stand-ins for the outside world, each a real server
// on loopback: an SMTP catcher with its inbox page, the SMS provider simulator and the
// bezahl.de simulator, whose webhooks go to the API.
type devEffects struct {
	settings effectSettings
	inboxURL string
	smsURL   string
	payURL   string
	closers  []func() error
}

// startDevEffects starts the simulators and registers the API's webhook URL (for the
// demo dealer) with the bezahl.de simulator.
func startDevEffects(ctx context.Context, apiAddr string) (*devEffects, error) {
	d := &devEffects{}
	fail := func(err error) (*devEffects, error) {
		d.close()
		return nil, err
	}
	ib, err := inbox.Start("127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	d.closers = append(d.closers, ib.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("listen for the inbox page: %w", err))
	}
	page := &http.Server{Handler: ib.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = page.Serve(ln) }()
	d.closers = append(d.closers, page.Close)
	d.inboxURL = "http://" + ln.Addr().String() + "/"
	sim, err := smssim.Start("127.0.0.1:0", devSMSToken)
	if err != nil {
		return fail(err)
	}
	d.closers = append(d.closers, sim.Close)
	d.smsURL = sim.URL
	pay, err := bezahlsim.Start("127.0.0.1:0", devBezahlToken, devBezahlOrg)
	if err != nil {
		return fail(err)
	}
	d.closers = append(d.closers, pay.Close)
	d.payURL = pay.URL
	client := &bezahl.Client{BaseURL: pay.APIURL(), Token: devBezahlToken, OrgID: devBezahlOrg}
	hook := "http://" + apiAddr + "/api/v1/webhooks/bezahl/" + url.PathEscape(demo.Dealer)
	if _, err := client.RegisterWebhook(ctx, hook, devWebhookSecret); err != nil {
		return fail(fmt.Errorf("register the webhook with the bezahl.de simulator: %w", err))
	}
	d.settings = effectSettings{
		SMTP:   &mail.Settings{Host: ib.Host(), Port: ib.Port(), TLS: mail.TLSNone, From: devMailFrom, FromName: "Autohaus Demo"},
		SMSURL: sim.URL, SMSToken: devSMSToken, Bezahl: client, WebhookSecret: devWebhookSecret,
		PublicURL: "http://" + apiAddr,
		// The fixed, public development key: dev stack only.
		Secrets: secrets.Dev(),
	}
	return d, nil
}

func (d *devEffects) close() {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "stop dev simulators:", err)
	}
}
