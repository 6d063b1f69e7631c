package messages_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/deploy/smssim"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/sms"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

type env struct {
	st    *store.Store
	in    *inbox.Server
	sim   *smssim.Server
	svc   *messages.Service
	n     int64
	tpl   map[string]definitions.MessageTemplate
	phase string
}

const customerName = `Jürgen <b>Größe</b> & Söhne`

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st := pgtest.New(t)
	_, err := st.CreateDealer(ctx, store.Dealer{ID: "autohaus", Name: "Autohaus Müller"})
	require.NoError(t, err)
	c, err := st.CreateCustomer(ctx, store.Customer{Dealer: "autohaus", Name: customerName, Email: "kunde@example.test", Phone: "+4917012345678"})
	require.NoError(t, err)
	v, err := st.CreateVehicle(ctx, "autohaus", job.Vehicle{Number: "F-1", Make: "Volkswagen", Model: "Käfer"})
	require.NoError(t, err)
	u, err := st.CreateStaffUser(ctx, store.StaffUser{Dealer: "autohaus", Email: "verkauf@autohaus.example", Name: "Søren Weiß", Role: store.RoleSales, PasswordHash: "x"})
	require.NoError(t, err)
	n, _, err := st.AllocateJob(ctx, "autohaus", "", "", job.Row{
		Phase: "angebot", Source: job.SourceManual, VehicleID: v.ID, CustomerID: c.ID, Salesperson: u.ID, Seq: 1,
		Definition: definitions.Ref{Workflow: "w", Version: 1, Hash: "h"},
	})
	require.NoError(t, err)

	in, err := inbox.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = in.Close() })
	sender, err := mail.NewSender(mail.Settings{Host: in.Host(), Port: in.Port(), TLS: mail.TLSNone, From: "info@autohaus.example", Timeout: 5 * time.Second})
	require.NoError(t, err)
	sim, err := smssim.Start("127.0.0.1:0", "sms-token")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })

	cat, err := definitions.Standard()
	require.NoError(t, err)
	tpl := map[string]definitions.MessageTemplate{}
	for _, m := range cat.Messages {
		tpl[m.Key] = m
	}
	tpl["intern"] = definitions.MessageTemplate{Key: "intern", Channel: definitions.ChannelEmail, Subject: "Neuer Auftrag {jobnummer}", Body: "{kunde} hat bestellt."}
	svc := &messages.Service{
		Store: st, Mail: messages.StaticMail{Sender: sender},
		SMS: &sms.HTTPProvider{BaseURL: sim.URL, Token: "sms-token"},
		ParkingLink: func(_ context.Context, dealer string, number int64, customerID string) (string, error) {
			return fmt.Sprintf("https://autohaus.example/p/%s/%d?t=a&c=%s", dealer, number, customerID[:4]), nil
		},
		Lease: time.Second,
	}
	return &env{st: st, in: in, sim: sim, svc: svc, n: n, tpl: tpl, phase: "angebot"}
}

func (e *env) prepare(t *testing.T, seq int64, keys ...string) []messages.Outcome {
	t.Helper()
	req := messages.PrepareRequest{Dealer: "autohaus", Number: e.n, ActivationSeq: seq, Phase: e.phase, PhaseName: "Angebot", Status: job.StatusOpen}
	for _, k := range keys {
		req.Templates = append(req.Templates, e.tpl[k])
	}
	out, err := e.svc.PrepareMessages(context.Background(), req)
	require.NoError(t, err)
	return out
}

func TestEmailAndSMSGoOutOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	doc, _, err := e.st.AddDocumentVersion(ctx, store.NewDocument{Dealer: "autohaus", Number: e.n, Field: "angebot_dokument", Kind: store.DocumentRendered, RequestKey: "r"},
		func(int) (store.Content, error) {
			return store.Content{Filename: "angebot-1-v1.pdf", ContentType: "application/pdf", Bytes: []byte("%PDF-1.4 Angebot")}, nil
		})
	require.NoError(t, err)

	req := messages.PrepareRequest{Dealer: "autohaus", Number: e.n, ActivationSeq: 5, Phase: "angebot", PhaseName: "Angebot", Status: job.StatusOpen,
		Templates:   []definitions.MessageTemplate{e.tpl["angebot_bereit"], e.tpl["angebot_sms"], e.tpl["intern"]},
		Attachments: []string{doc.ID}}
	out, err := e.svc.PrepareMessages(ctx, req)
	require.NoError(t, err)
	require.Len(t, out, 3)
	for _, o := range out {
		require.Equal(t, store.OutboxPending, o.Status, o.Key.Template)
	}
	again, err := e.svc.PrepareMessages(ctx, req)
	require.NoError(t, err)
	require.Equal(t, out, again, "a repeated prepare writes nothing new")

	for _, o := range out {
		res, err := e.svc.SendMessage(ctx, o.Key)
		require.NoError(t, err)
		require.Equal(t, store.OutboxSent, res.Status, o.Key.Template)
		res, err = e.svc.SendMessage(ctx, o.Key)
		require.NoError(t, err)
		require.Equal(t, store.OutboxSent, res.Status, "sending a sent message again is a no-op")
	}

	mails := e.in.Messages()
	require.Len(t, mails, 2)
	customer, staff := mails[0], mails[1]
	require.Equal(t, []string{"kunde@example.test"}, customer.To)
	require.Equal(t, "Ihr Angebot für Volkswagen Käfer", customer.Subject)
	require.Equal(t, fmt.Sprintf("outbox.autohaus.%d.5.angebot_bereit@jobmanager.local", e.n), customer.MessageID)
	require.Contains(t, customer.Text, "Guten Tag "+customerName+",")
	require.Contains(t, customer.Text, "https://autohaus.example/p/autohaus/1?t=a&c=")
	require.Contains(t, customer.HTML, "Guten Tag Jürgen &lt;b&gt;Größe&lt;/b&gt; &amp; Söhne,")
	require.NotContains(t, customer.HTML, "<b>")
	require.Contains(t, customer.HTML, `<a href="https://autohaus.example/p/autohaus/1?t=a&amp;c=`)
	require.Len(t, customer.Attachments, 1)
	require.Equal(t, "angebot-1-v1.pdf", customer.Attachments[0].Filename)
	require.Equal(t, []byte("%PDF-1.4 Angebot"), customer.Attachments[0].Data)
	require.Equal(t, []string{"verkauf@autohaus.example"}, staff.To)
	require.Equal(t, "Neuer Auftrag 1", staff.Subject)

	sent := e.sim.Sent()
	require.Len(t, sent, 1)
	require.Equal(t, "+4917012345678", sent[0].To)
	require.True(t, strings.HasPrefix(sent[0].Text, "Ihr Angebot für Volkswagen Käfer liegt bereit: https://autohaus.example/p/autohaus/1"))

	msgs, err := e.st.ListJobMessages(ctx, "autohaus", e.n)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.Equal(t, 1, m.Attempts)
		require.NotNil(t, m.SentAt)
	}
}

func TestRulesSuppressMessages(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	base := messages.PrepareRequest{Dealer: "autohaus", Number: e.n, Phase: "angebot", Status: job.StatusOpen,
		Templates: []definitions.MessageTemplate{e.tpl["angebot_bereit"], e.tpl["angebot_sms"], e.tpl["intern"]}}
	statuses := func(out []messages.Outcome) []string {
		var s []string
		for _, o := range out {
			s = append(s, o.Status+": "+o.Reason)
		}
		return s
	}

	closed := base
	closed.ActivationSeq, closed.Status = 1, job.StatusClosed
	out, err := e.svc.PrepareMessages(ctx, closed)
	require.NoError(t, err)
	require.Equal(t, []string{"suppressed: the job is closed", "suppressed: the job is closed", "suppressed: the job is closed"}, statuses(out))

	quiet := base
	quiet.ActivationSeq, quiet.Suppressed = 2, true
	out, err = e.svc.PrepareMessages(ctx, quiet)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSuppressed, out[0].Status)
	require.Equal(t, "messages are suppressed for this job", out[2].Reason)

	basic := base
	basic.ActivationSeq, basic.NoCustomerEmails = 3, true
	out, err = e.svc.PrepareMessages(ctx, basic)
	require.NoError(t, err)
	require.Equal(t, []string{"suppressed: the workflow sends no e-mail to customers", "pending: ", "pending: "}, statuses(out))

	for seq := int64(1); seq <= 3; seq++ {
		for _, tk := range []string{"angebot_bereit", "angebot_sms", "intern"} {
			_, err := e.svc.SendMessage(ctx, store.OutboxKey{Dealer: "autohaus", Number: e.n, ActivationSeq: seq, Template: tk})
			require.NoError(t, err)
		}
	}
	require.Len(t, e.in.Messages(), 1, "only the staff e-mail of the basic variant went out")
	require.Len(t, e.sim.Sent(), 1)

	// A job that ends between prepare and send sends nothing.
	out = e.prepare(t, 4, "angebot_bereit")
	require.Equal(t, store.OutboxPending, out[0].Status)
	row, err := e.st.GetJob(ctx, "autohaus", e.n)
	require.NoError(t, err)
	row.Status, row.Seq = job.StatusCanceled, row.Seq+1
	require.NoError(t, e.st.Project(ctx, job.Projection{Row: row}))
	res, err := e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSuppressed, res.Status)
	require.Equal(t, "the job is canceled", res.Reason)
	require.Len(t, e.in.Messages(), 1)
}

func TestMissingRecipientFails(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	c, err := e.st.CreateCustomer(ctx, store.Customer{Dealer: "autohaus", Name: "Ohne Adresse"})
	require.NoError(t, err)
	row, err := e.st.GetJob(ctx, "autohaus", e.n)
	require.NoError(t, err)
	row.CustomerID, row.Seq = c.ID, row.Seq+1
	require.NoError(t, e.st.Project(ctx, job.Projection{Row: row}))
	out := e.prepare(t, 1, "angebot_bereit", "angebot_sms")
	require.Equal(t, store.OutboxFailed, out[0].Status)
	require.Equal(t, "no recipient: the customer has no e-mail address", out[0].Reason)
	require.Equal(t, "no recipient: the customer has no phone number", out[1].Reason)
	failed, err := e.st.ListFailedMessages(ctx, "autohaus", 0)
	require.NoError(t, err)
	require.Len(t, failed, 2)
}

func TestTemporaryAndPermanentRefusals(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	out := e.prepare(t, 1, "angebot_bereit", "angebot_sms")

	e.in.FailNext(1, 451, "greylisted")
	_, err := e.svc.SendMessage(ctx, out[0].Key)
	require.ErrorContains(t, err, "will retry")
	m, err := e.st.GetOutboxMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxPending, m.Status)
	require.Contains(t, m.Reason, "greylisted")
	res, err := e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSent, res.Status)
	require.Equal(t, 2, res.Attempts)

	e.sim.FailNext(1, 503)
	_, err = e.svc.SendMessage(ctx, out[1].Key)
	require.Error(t, err)
	res, err = e.svc.SendMessage(ctx, out[1].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSent, res.Status)

	out = e.prepare(t, 2, "angebot_bereit", "angebot_sms")
	e.in.FailNext(1, 550, "mailbox unknown")
	res, err = e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxFailed, res.Status)
	require.Contains(t, res.Reason, "mailbox unknown")
	e.sim.FailNext(1, 422)
	res, err = e.svc.SendMessage(ctx, out[1].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxFailed, res.Status)

	// Staff send the failed e-mail again.
	_, err = e.st.RequeueOutboxMessage(ctx, out[0].Key)
	require.NoError(t, err)
	res, err = e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSent, res.Status)
	require.Len(t, e.in.Messages(), 2)

	// Giving up after MaxAttempts.
	e.svc.MaxAttempts = 2
	out = e.prepare(t, 3, "intern")
	e.in.FailNext(2, 421, "busy")
	_, err = e.svc.SendMessage(ctx, out[0].Key)
	require.Error(t, err)
	res, err = e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxFailed, res.Status)
	require.Contains(t, res.Reason, "gave up after 2 attempts")
}

// sendWorkflow runs SendMessage with Temporal's retries, as the job workflow will.
func sendWorkflow(ctx workflow.Context, key store.OutboxKey) (messages.Outcome, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 300 * time.Millisecond, BackoffCoefficient: 1.5, MaximumAttempts: 20},
	})
	var out messages.Outcome
	err := workflow.ExecuteActivity(ctx, messages.ActivitySend, key).Get(ctx, &out)
	return out, err
}

// The worker "dies" right after the hand-over, before the outbox knows: Temporal
// retries the activity, and neither the SMTP server nor the SMS provider gets a second
// message.
func TestNoDuplicateWhenRetriedAfterTheSend(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devstack.StartTestTemporal(ctx)
	require.NoError(t, err)
	defer func() { _ = srv.Stop() }()
	c := srv.Client()
	defer c.Close()

	crashed := map[string]bool{}
	e.svc.FaultAfterSend = func(k store.OutboxKey) error {
		if crashed[k.Template] {
			return nil
		}
		crashed[k.Template] = true
		return errors.New("worker died between the send and marking it sent")
	}
	w := worker.New(c, "messages-test", worker.Options{})
	w.RegisterWorkflow(sendWorkflow)
	w.RegisterActivityWithOptions(e.svc.SendMessage, activity.RegisterOptions{Name: messages.ActivitySend})
	require.NoError(t, w.Start())
	defer w.Stop()

	out := e.prepare(t, 1, "angebot_bereit", "angebot_sms")
	results := map[string]messages.Outcome{}
	for _, o := range out {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "messages-test"}, sendWorkflow, o.Key)
		require.NoError(t, err)
		var res messages.Outcome
		require.NoError(t, run.Get(ctx, &res))
		results[o.Key.Template] = res
	}
	require.Len(t, e.in.Messages(), 1, "the SMTP server got exactly one mail")
	require.Equal(t, store.OutboxUnknown, results["angebot_bereit"].Status, "an e-mail whose outcome is unknown is not sent again")
	require.Contains(t, results["angebot_bereit"].Reason, "not sent again by itself")

	require.Len(t, e.sim.Sent(), 1, "the provider sent exactly one SMS")
	require.GreaterOrEqual(t, e.sim.Posts(), 2, "the retry did post again, with the same idempotency key")
	require.Equal(t, store.OutboxSent, results["angebot_sms"].Status)
	require.GreaterOrEqual(t, results["angebot_sms"].Attempts, 2)
}

func TestPreviewReportsUnknownPlaceholders(t *testing.T) {
	r := messages.Preview(definitions.MessageTemplate{
		Key: "x", Channel: definitions.ChannelEmail,
		Subject: "Hallo {kunde} – {fahrzeg}",
		Body:    "Guten Tag {customer},\n\nIhr {fahrzeug} wartet: {zahlungs_link}\n{unbekannt} <b>fett</b>",
	})
	require.Equal(t, []string{"fahrzeg", "unbekannt"}, r.Unknown)
	require.Equal(t, "Hallo Erika Mustermann – {fahrzeg}", r.Subject)
	require.Contains(t, r.Text, "Guten Tag Erika Mustermann,")
	require.Contains(t, r.HTML, `<a href="https://bezahl.example/pay/beispiel">https://bezahl.example/pay/beispiel</a>`)
	require.Contains(t, r.HTML, "&lt;b&gt;fett&lt;/b&gt;")
	require.Contains(t, r.HTML, "<p>Guten Tag Erika Mustermann,</p>")

	s := messages.Preview(definitions.MessageTemplate{Key: "s", Channel: definitions.ChannelSMS, Body: "Link: {parkplatz_link}"})
	require.Empty(t, s.HTML)
	require.Empty(t, s.Unknown)
	require.Equal(t, "Link: https://autohaus.example/parkplatz/beispiel", s.Text)
}

func TestCustomerMessagesInTheCustomersLanguage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	keys := []string{"angebot_bereit", "angebot_sms", "intern"}
	send := func(out []messages.Outcome) {
		t.Helper()
		for _, o := range out {
			res, err := e.svc.SendMessage(ctx, o.Key)
			require.NoError(t, err)
			require.Equal(t, store.OutboxSent, res.Status, o.Key.Template)
		}
	}
	send(e.prepare(t, 1, keys...))

	row, err := e.st.GetJob(ctx, "autohaus", e.n)
	require.NoError(t, err)
	en := store.LanguageEnglish
	_, err = e.st.UpdateCustomer(ctx, "autohaus", row.CustomerID, store.CustomerChange{Language: &en})
	require.NoError(t, err)
	send(e.prepare(t, 2, keys...))

	mails := e.in.Messages()
	require.Len(t, mails, 4)
	german, germanStaff, english, englishStaff := mails[0], mails[1], mails[2], mails[3]
	require.Equal(t, "Ihr Angebot für Volkswagen Käfer", german.Subject)
	require.Contains(t, german.Text, "Guten Tag "+customerName+",")
	require.Contains(t, german.HTML, `<html lang="de">`)

	require.Equal(t, []string{"kunde@example.test"}, english.To)
	require.Equal(t, "Your offer for Volkswagen Käfer", english.Subject)
	require.Contains(t, english.Text, "Hello "+customerName+",")
	require.Contains(t, english.Text, "your personal offer is ready")
	require.Contains(t, english.Text, "https://autohaus.example/p/autohaus/1?t=a&c=")
	require.NotContains(t, english.Text, "Guten Tag")
	require.Contains(t, english.HTML, `<html lang="en">`)
	require.Contains(t, english.HTML, "Hello Jürgen &lt;b&gt;Größe&lt;/b&gt; &amp; Söhne,")

	// Staff read German whatever the customer's language.
	require.Equal(t, "Neuer Auftrag 1", germanStaff.Subject)
	require.Equal(t, "Neuer Auftrag 1", englishStaff.Subject)

	texts := e.sim.Sent()
	require.Len(t, texts, 2)
	require.True(t, strings.HasPrefix(texts[0].Text, "Ihr Angebot für Volkswagen Käfer liegt bereit: "), texts[0].Text)
	require.True(t, strings.HasPrefix(texts[1].Text, "Your offer for Volkswagen Käfer is ready: https://autohaus.example/p/autohaus/1"), texts[1].Text)
}
