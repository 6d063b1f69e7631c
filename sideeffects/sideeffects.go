// Package sideeffects builds the services that reach the outside world — documents,
// messages by e-mail and SMS with the parking-page link, payment orders at bezahl.de,
// the password reset mailer — from their settings. It is the one wiring every command
// (api, worker, mailbox, dev) and the end-to-end tests use, so that what a test runs is
// what a deployment runs. Reading the settings (from the environment, from the dev
// stack's simulators in deploy/simulators) is the callers' business.
package sideeffects

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/sms"
	"github.com/jobmanager/jobmanager/store"
)

// JobLinkTTL is how long the parking-page link in a message opens the job.
const JobLinkTTL = 30 * 24 * time.Hour

// Settings say how to reach the outside world of the side effects. A nil or empty
// setting leaves its side effect unconfigured: the worker records its failure in the
// job's history, the API answers 503 where it needs it.
type Settings struct {
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

// Services are the services built from the settings; nil ones are unconfigured.
type Services struct {
	Documents *documents.Service
	Messages  *messages.Service
	Payments  *bezahl.Activities
	// Mailer sends password reset links; nil leaves them to the log.
	Mailer auth.Mailer
	// Sender is the system's SMTP sender (the mailbox's notices); nil without SMTP.
	Sender *mail.Sender
}

// Build makes the services. Documents need only the database, so they are always
// there; messages need SMTP or an SMS provider (a channel without one fails for good,
// recorded); payments need bezahl.de.
func (s Settings) Build(st *store.Store, logger *slog.Logger) (Services, error) {
	fx := Services{Documents: &documents.Service{Store: st}}
	var sender *mail.Sender
	if s.SMTP != nil {
		var err error
		if sender, err = mail.NewSender(*s.SMTP); err != nil {
			return Services{}, fmt.Errorf("SMTP sender: %w", err)
		}
		fx.Mailer = &mail.PasswordResetMailer{Sender: sender}
		fx.Sender = sender
	}
	if sender != nil || s.SMSURL != "" {
		m := &messages.Service{Store: st}
		if sender != nil {
			m.Mail = &messages.DealerMail{Store: st, Secrets: s.Secrets, Fallback: sender}
		}
		if s.SMSURL != "" {
			m.SMS = &sms.HTTPProvider{BaseURL: s.SMSURL, Token: s.SMSToken}
		}
		if s.PublicURL != "" {
			m.ParkingLink = parkingLink(st, s.PublicURL)
		} else {
			logger.Warn("PUBLIC_URL is not set: messages carry no parking-page link")
		}
		fx.Messages = m
	}
	if s.Bezahl != nil {
		fx.Payments = &bezahl.Activities{Store: st, Clients: bezahl.StaticClient{Client: s.Bezahl}}
	}
	logger.Info("side effects", "email", sender != nil, "sms", s.SMSURL != "", "bezahl", s.Bezahl != nil,
		"bezahl_webhooks", s.WebhookSecret != "")
	return fx, nil
}

// parkingLink makes {parkplatz_link}: a signed link that opens the job's parking page
// with a customer session limited to the job (the page /shop/<dealer>/link/<token>).
func parkingLink(st *store.Store, publicURL string) messages.LinkMaker {
	return func(ctx context.Context, dealer string, number int64, customerID string) (string, error) {
		token, err := auth.NewJobLink(ctx, st, dealer, number, customerID, JobLinkTTL)
		if err != nil {
			return "", err
		}
		return publicURL + "/shop/" + url.PathEscape(dealer) + "/link/" + url.PathEscape(token), nil
	}
}
