package mail_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
)

var _ auth.Mailer = (*mail.PasswordResetMailer)(nil)

func start(t *testing.T) (*inbox.Server, *mail.Sender) {
	t.Helper()
	in, err := inbox.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = in.Close() })
	s, err := mail.NewSender(mail.Settings{Host: in.Host(), Port: in.Port(), TLS: mail.TLSNone, From: "verkauf@autohaus.example", FromName: "Autohaus Müller", Timeout: 5 * time.Second})
	require.NoError(t, err)
	return in, s
}

func TestSendHTMLTextAndAttachment(t *testing.T) {
	in, s := start(t)
	pdf := []byte("%PDF-1.4 fake but binary \x00\x01\x02 ü")
	err := s.Send(context.Background(), mail.Message{
		To:          []string{"jürgen@example.test", "zweite@example.test"},
		Subject:     "Ihr Angebot für den Käfer – 12.345,00 €",
		Text:        "Grüße aus Köln: https://autohaus.example/p/1?a=1&b=2",
		HTML:        `<p>Grüße aus Köln: <a href="https://autohaus.example/p/1?a=1&amp;b=2">Link</a></p>`,
		MessageID:   "outbox.d.1.2.angebot@jobmanager.local",
		Attachments: []mail.Attachment{{Filename: "Angebot Nr. 1 – Käfer.pdf", ContentType: "application/pdf", Data: pdf}},
	})
	require.NoError(t, err)
	msgs := in.Messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Empty(t, m.ParseError)
	require.Equal(t, "verkauf@autohaus.example", m.From)
	require.Equal(t, []string{"jürgen@example.test", "zweite@example.test"}, m.To)
	require.Equal(t, "Ihr Angebot für den Käfer – 12.345,00 €", m.Subject)
	require.Contains(t, m.HeaderFrom, "Autohaus Müller")
	require.Equal(t, "outbox.d.1.2.angebot@jobmanager.local", m.MessageID)
	require.Contains(t, m.Text, "Grüße aus Köln: https://autohaus.example/p/1?a=1&b=2")
	require.Contains(t, m.HTML, `href="https://autohaus.example/p/1?a=1&amp;b=2"`)
	require.Len(t, m.Attachments, 1)
	require.Equal(t, "Angebot Nr. 1 – Käfer.pdf", m.Attachments[0].Filename)
	require.Equal(t, "application/pdf", m.Attachments[0].ContentType)
	require.Equal(t, pdf, m.Attachments[0].Data)
}

func TestDeliveryErrorsSayWhetherTheServerHasIt(t *testing.T) {
	in, s := start(t)
	ctx := context.Background()
	msg := mail.Message{To: []string{"a@example.test"}, Subject: "x", Text: "y"}

	in.FailNext(1, 451, "try later")
	err := s.Send(ctx, msg)
	require.Error(t, err)
	require.True(t, mail.NotDelivered(err), "a refusal with a code means the server does not have it")
	require.True(t, mail.Temporary(err))

	in.FailNext(1, 554, "rejected")
	err = s.Send(ctx, msg)
	require.True(t, mail.NotDelivered(err))
	require.False(t, mail.Temporary(err))
	require.Empty(t, in.Messages())

	err = s.Send(ctx, mail.Message{Subject: "no recipient"})
	require.True(t, mail.NotDelivered(err))
	require.False(t, mail.Temporary(err))

	// A port nobody listens on: nothing was sent, try again later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	dead, err := mail.NewSender(mail.Settings{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: "a@example.test", Timeout: 2 * time.Second})
	require.NoError(t, err)
	err = dead.Send(ctx, msg)
	var de *mail.DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, mail.StageConnect, de.Stage)
	require.True(t, mail.NotDelivered(err))

	require.NoError(t, s.Send(ctx, msg))
	require.Len(t, in.Messages(), 1)
}

func TestSettingsValidate(t *testing.T) {
	err := mail.Settings{Port: 70000, TLS: "ssl", From: "x", Username: "u"}.Validate()
	require.Error(t, err)
	for _, want := range []string{"host: is empty", "port: 70000", `tls: "ssl"`, `from: "x"`, "username and password"} {
		require.Contains(t, err.Error(), want)
	}
	_, err = mail.NewSender(mail.Settings{Host: "h", Port: 587, TLS: mail.TLSMandatory, From: "a@b.example", Username: "u", Password: "p"})
	require.NoError(t, err)
}

func TestPasswordResetMail(t *testing.T) {
	in, s := start(t)
	m := &mail.PasswordResetMailer{Sender: s}
	link := "https://autohaus.example/reset?token=abc&x=<1>"
	require.NoError(t, m.SendPasswordReset(context.Background(), "kunde@example.test", link))
	msgs := in.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"kunde@example.test"}, msgs[0].To)
	require.Equal(t, "Ihr neues Passwort", msgs[0].Subject)
	require.Contains(t, msgs[0].Text, link)
	require.Contains(t, msgs[0].Text, "Über diesen Link")
	require.Contains(t, msgs[0].HTML, `href="https://autohaus.example/reset?token=abc&amp;x=&lt;1&gt;"`)
}

func TestInboxPages(t *testing.T) {
	in, s := start(t)
	require.NoError(t, s.Send(context.Background(), mail.Message{
		To: []string{"a@example.test"}, Subject: "Grüße <script>", Text: "t", HTML: "<p>h</p>",
		Attachments: []mail.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("anhang")}},
	}))
	srv := httptest.NewServer(http.StripPrefix("/dev/mail", in.Handler()))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + "/dev/mail" + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, page := get("/")
	require.Equal(t, 200, code)
	require.Contains(t, page, "Grüße &lt;script&gt;")
	require.NotContains(t, page, "<script>")
	code, page = get("/1")
	require.Equal(t, 200, code)
	require.Contains(t, page, "a.txt")
	code, body := get("/messages")
	require.Equal(t, 200, code)
	var list []inbox.Message
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list, 1)
	require.Equal(t, "Grüße <script>", list[0].Subject)
	code, body = get("/messages/1/attachments/0")
	require.Equal(t, 200, code)
	require.Equal(t, "anhang", body)
	code, _ = get("/messages/9")
	require.Equal(t, 404, code)
	code, raw := get("/messages/1/raw")
	require.Equal(t, 200, code)
	require.True(t, strings.Contains(raw, "Subject:"))
}
