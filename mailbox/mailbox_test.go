package mailbox_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/mailbox"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
	"github.com/jobmanager/jobmanager/workers"
	"github.com/jobmanager/jobmanager/workflows"
)

var dev *testsuite.DevServer

func TestMain(m *testing.M) {
	devstack.RunTests(m, func(srv *testsuite.DevServer) { dev = srv })
}

func sender(t *testing.T, addr, from string) *mail.Sender {
	t.Helper()
	host, port := splitAddr(t, addr)
	s, err := mail.NewSender(mail.Settings{Host: host, Port: port, TLS: mail.TLSNone, From: from})
	require.NoError(t, err)
	return s
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return host, p
}

// A scanned contract in miniature: enough for a PDF sniffer.
var pdf = []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")

func TestSignedDocumentComesBackByMail(t *testing.T) {
	ctx := context.Background()
	st := pgtest.New(t)
	c := dev.Client()

	_, err := st.CreateDealer(ctx, store.Dealer{ID: "autohaus", Name: "Autohaus"})
	require.NoError(t, err)
	sales, err := st.CreateStaffUser(ctx, store.StaffUser{Dealer: "autohaus", Email: "verkauf@autohaus.de", Name: "Jonas Becker", Role: store.RoleSales, PasswordHash: "x"})
	require.NoError(t, err)

	w := workers.New(c, workers.Deps{Store: st})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	d, err := definitions.StandardDefinition(definitions.StandardBasic)
	require.NoError(t, err)
	h, err := d.Hash()
	require.NoError(t, err)
	n, _, err := st.AllocateJob(ctx, "autohaus", "k1", "", job.Row{Source: job.SourceManual})
	require.NoError(t, err)
	in := workflows.StartInput{Dealer: "autohaus", Number: n, Ref: definitions.Ref{Workflow: d.Workflow.Key, Version: 1, Hash: h},
		Definition: d, Source: job.SourceManual, Salesperson: sales.ID, Actor: job.Actor{Side: job.Staff, ID: sales.ID}}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: job.WorkflowID("autohaus", n), TaskQueue: job.TaskQueue}, job.WorkflowType, in)
	require.NoError(t, err)

	// The job is projected once its workflow ran its first task.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		row, err := st.GetJob(ctx, "autohaus", n)
		assert.NoError(c, err)
		assert.Equal(c, "anfrage", row.Phase)
	}, 15*time.Second, 50*time.Millisecond)
	notices, err := inbox.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = notices.Close() })
	mb := &mailbox.Server{Store: st, Temporal: c, Notify: sender(t, notices.Addr(), "jobmanager@autohaus.de")}
	require.NoError(t, mb.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = mb.Close() })

	signed := mail.Message{
		To: []string{"autohaus@eingang.jobmanager.test"}, Subject: "Mandat unterschrieben zurück", Text: "anbei",
		MessageID:   "m1.autohaus@example.org",
		Attachments: []mail.Attachment{{Filename: fmt.Sprint(n) + "_Mandat.pdf", ContentType: "application/pdf", Data: pdf}},
	}
	staffMail := sender(t, mb.Addr(), "Verkauf@Autohaus.de")
	require.NoError(t, staffMail.Send(ctx, signed))
	require.NoError(t, staffMail.Send(ctx, signed), "a redelivery is accepted")

	var entries []job.AuditEntry
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		audit, err := st.Audit(ctx, "autohaus", n)
		require.NoError(t, err)
		entries = entries[:0]
		for _, e := range audit {
			if e.Action == job.ActionDocumentReceived {
				entries = append(entries, e)
			}
		}
		assert.Len(c, entries, 1)
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, "Mandat unterschrieben zurück", entries[0].After["remark"], "the subject becomes a remark")
	require.Equal(t, "anfrage", entries[0].Phase, "filed under the phase it came in")
	require.Equal(t, job.Actor{Side: job.Staff, ID: sales.ID}, entries[0].Actor)

	docs, err := st.ListDocuments(ctx, "autohaus", n)
	require.NoError(t, err)
	require.Len(t, docs, 1, "the redelivery stored nothing new")
	require.Equal(t, "anfrage", docs[0].Phase)
	_, body, err := st.DocumentContent(ctx, "autohaus", docs[0].ID)
	require.NoError(t, err)
	require.Equal(t, pdf, body)

	got, err := notices.Wait(ctx, 1)
	require.NoError(t, err)
	require.Len(t, got, 1, "the salesperson is told once")
	require.Equal(t, []string{"verkauf@autohaus.de"}, got[0].To)
	require.Contains(t, got[0].Subject, fmt.Sprint(n)+"_Mandat.pdf")

	// Refused: a stranger, a mail without a fitting attachment, an unknown job.
	stranger := sender(t, mb.Addr(), "someone@example.org")
	require.ErrorContains(t, stranger.Send(ctx, signed), "not authorised")
	plain := signed
	plain.MessageID = "m2.autohaus@example.org"
	plain.Attachments = []mail.Attachment{{Filename: "Mandat.pdf", ContentType: "application/pdf", Data: pdf}}
	require.ErrorContains(t, staffMail.Send(ctx, plain), "no attachment named")
	lost := signed
	lost.MessageID = "m3.autohaus@example.org"
	lost.Attachments = []mail.Attachment{{Filename: "999_Mandat.pdf", ContentType: "application/pdf", Data: pdf}}
	require.ErrorContains(t, staffMail.Send(ctx, lost), "no job 999")
	notPDF := signed
	notPDF.MessageID = "m4.autohaus@example.org"
	notPDF.Attachments = []mail.Attachment{{Filename: fmt.Sprint(n) + "_Mandat.pdf", ContentType: "application/pdf", Data: []byte("hello")}}
	require.ErrorContains(t, staffMail.Send(ctx, notPDF), "is not a PDF")
	wrongBox := signed
	wrongBox.To = []string{"nobody@eingang.jobmanager.test"}
	require.ErrorContains(t, staffMail.Send(ctx, wrongBox), "no such mailbox")
	docs, err = st.ListDocuments(ctx, "autohaus", n)
	require.NoError(t, err)
	require.Len(t, docs, 1, "refused mail stores nothing")
}
