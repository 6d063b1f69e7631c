// Package simulators starts the dev stack's stand-ins for the outside world, each a
// real server on loopback: an SMTP catcher (mail/inbox) with its inbox page, the SMS
// provider simulator (deploy/smssim) and the bezahl.de simulator (deploy/bezahlsim),
// whose webhooks go to the API. Its Settings reach them, and sideeffects builds the
// services from those settings exactly as for a deployment.
//
// `jobmanager dev` and the end-to-end tests of api/ and web/ use it, so the tests
// exercise the wiring `make dev` runs. It is for development and tests only: its
// tokens and webhook secret are public.
package simulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/deploy/bezahlsim"
	"github.com/jobmanager/jobmanager/deploy/smssim"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/sideeffects"
)

// The simulators' credentials and the system's sender. Public: production refuses to
// start with WebhookSecret.
const (
	SMSToken      = "dev-sms-token"
	BezahlToken   = "dev-token"
	BezahlOrg     = "dev-org"
	WebhookSecret = "dev-webhook-secret-0123456789"
	MailFrom      = "vorgaenge@autohaus-demo.example"
	MailFromName  = "Autohaus Demo"
)

// Options say where the API is, known to the caller before the simulators start.
type Options struct {
	// PublicURL is where the API with the pages is reached, without a trailing slash:
	// the parking-page links in messages and the registered webhook point there.
	PublicURL string
	// WebhookDealer is the dealer whose bezahl.de webhook (PublicURL plus
	// api.BezahlWebhookPath) is registered with the simulator; "" registers none.
	WebhookDealer string
}

// Simulators are the running stand-ins. Close stops them.
type Simulators struct {
	// Inbox catches every e-mail the system sends; InboxURL is its page.
	Inbox    *inbox.Server
	InboxURL string
	SMS      *smssim.Server
	Pay      *bezahlsim.Server
	// Settings reach the simulators; Settings.Build makes the side-effect services.
	Settings sideeffects.Settings

	closers []func() error
}

// Start starts the simulators on loopback (each on a free port) and registers the
// webhook of opts.WebhookDealer with the bezahl.de simulator.
func Start(ctx context.Context, opts Options) (*Simulators, error) {
	s := &Simulators{}
	fail := func(err error) (*Simulators, error) {
		return nil, errors.Join(err, s.Close())
	}
	ib, err := inbox.Start("127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("start the SMTP inbox: %w", err))
	}
	s.Inbox = ib
	s.closers = append(s.closers, ib.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("listen for the inbox page: %w", err))
	}
	page := &http.Server{Handler: ib.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = page.Serve(ln) }()
	s.closers = append(s.closers, page.Close)
	s.InboxURL = "http://" + ln.Addr().String() + "/"
	if s.SMS, err = smssim.Start("127.0.0.1:0", SMSToken); err != nil {
		return fail(fmt.Errorf("start the SMS simulator: %w", err))
	}
	s.closers = append(s.closers, s.SMS.Close)
	if s.Pay, err = bezahlsim.Start("127.0.0.1:0", BezahlToken, BezahlOrg); err != nil {
		return fail(fmt.Errorf("start the bezahl.de simulator: %w", err))
	}
	s.closers = append(s.closers, s.Pay.Close)
	client := &bezahl.Client{BaseURL: s.Pay.APIURL(), Token: BezahlToken, OrgID: BezahlOrg}
	if opts.WebhookDealer != "" {
		hook := opts.PublicURL + api.BezahlWebhookPath(opts.WebhookDealer)
		if _, err := client.RegisterWebhook(ctx, hook, WebhookSecret); err != nil {
			return fail(fmt.Errorf("register the webhook with the bezahl.de simulator: %w", err))
		}
	}
	s.Settings = sideeffects.Settings{
		SMTP:   &mail.Settings{Host: ib.Host(), Port: ib.Port(), TLS: mail.TLSNone, From: MailFrom, FromName: MailFromName},
		SMSURL: s.SMS.URL, SMSToken: SMSToken, Bezahl: client, WebhookSecret: WebhookSecret,
		PublicURL: opts.PublicURL,
		// The fixed, public development key: dev stack and tests only.
		Secrets: secrets.Dev(),
	}
	return s, nil
}

// Close stops the simulators, the last started first.
func (s *Simulators) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop the simulators: %w", err)
	}
	return nil
}
