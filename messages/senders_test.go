package messages_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// A dealer with SMTP settings of its own sends through its server; a dealer without
// through the system's sender; removing the settings goes back to it.
func TestDealerMailSendsThroughTheDealersServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := pgtest.New(t)
	box := secrets.Dev()
	catcher := func() *inbox.Server {
		in, err := inbox.Start("127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = in.Close() })
		return in
	}
	system, own := catcher(), catcher()
	fallback, err := mail.NewSender(mail.Settings{Host: system.Host(), Port: system.Port(), TLS: mail.TLSNone, From: "system@jobmanager.example", Timeout: 5 * time.Second})
	require.NoError(t, err)
	for _, id := range []string{"eigen", "ohne"} {
		_, err := st.CreateDealer(ctx, store.Dealer{ID: id, Name: id})
		require.NoError(t, err)
	}
	pw := "smtp-geheim"
	_, err = st.SetDealerSMTP(ctx, box, store.DealerSMTP{Dealer: "eigen", Host: own.Host(), Port: own.Port(), TLS: "none",
		Username: "eigen", From: "info@eigen.example"}, &pw)
	require.NoError(t, err)

	dm := &messages.DealerMail{Store: st, Secrets: box, Fallback: fallback}
	send := func(dealer string) {
		t.Helper()
		s, err := dm.SenderFor(ctx, dealer)
		require.NoError(t, err)
		require.NoError(t, s.Send(ctx, mail.Message{To: []string{"kunde@example.test"}, Subject: "Hallo " + dealer, Text: "Text"}))
	}

	// The sender gets the password opened with the key.
	s, err := dm.SenderFor(ctx, "eigen")
	require.NoError(t, err)
	require.Equal(t, pw, s.Settings().Password)
	require.Equal(t, "eigen", s.Settings().Username)
	// The catcher takes no log-in: without it, and the changed settings make a new sender.
	none := ""
	_, err = st.SetDealerSMTP(ctx, box, store.DealerSMTP{Dealer: "eigen", Host: own.Host(), Port: own.Port(), TLS: "none",
		From: "info@eigen.example"}, &none)
	require.NoError(t, err)

	send("eigen")
	got, err := own.Wait(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "Hallo eigen", got[0].Subject)
	require.Equal(t, "info@eigen.example", got[0].From)

	send("ohne")
	got, err = system.Wait(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "Hallo ohne", got[0].Subject)
	require.Equal(t, "system@jobmanager.example", got[0].From)
	require.Len(t, own.Messages(), 1, "the other dealer's mail does not go through the dealer's server")

	// Removed settings: back to the system's sender.
	require.NoError(t, st.DeleteDealerSMTP(ctx, "eigen"))
	send("eigen")
	got, err = system.Wait(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, "Hallo eigen", got[1].Subject)
	require.Len(t, own.Messages(), 1)
}
