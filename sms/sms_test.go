package sms_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/deploy/smssim"
	"github.com/jobmanager/jobmanager/sms"
)

func TestHTTPProviderAgainstSimulator(t *testing.T) {
	sim, err := smssim.Start("127.0.0.1:0", "tok")
	require.NoError(t, err)
	defer sim.Close()
	ctx := context.Background()
	p := &sms.HTTPProvider{BaseURL: sim.URL, Token: "tok"}
	m := sms.Message{To: "+4917012345678", Text: "Grüße: Ihr Käfer ist da", IdempotencyKey: "k1"}

	r, err := p.Send(ctx, m)
	require.NoError(t, err)
	require.False(t, r.Duplicate)
	again, err := p.Send(ctx, m)
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, r.ID, again.ID)
	require.Len(t, sim.Sent(), 1)
	require.Equal(t, "Grüße: Ihr Käfer ist da", sim.Sent()[0].Text)

	sim.FailNext(1, 503)
	_, err = p.Send(ctx, sms.Message{To: "+4917012345678", Text: "x", IdempotencyKey: "k2"})
	require.Error(t, err)
	require.False(t, sms.Permanent(err))

	_, err = p.Send(ctx, sms.Message{To: "0170", Text: "x", IdempotencyKey: "k3"})
	require.True(t, sms.Permanent(err), "%v", err)
	require.Contains(t, err.Error(), "international number")

	_, err = (&sms.HTTPProvider{BaseURL: sim.URL, Token: "wrong"}).Send(ctx, m)
	require.True(t, sms.Permanent(err))
	require.Len(t, sim.Sent(), 1)
}
