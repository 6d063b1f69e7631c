package messages_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/jobmanager/jobmanager/store"
)

// TestSettledSendsAreCounted: an attempt that settles a message counts once by channel
// and status; asking again about a settled message counts nothing.
func TestSettledSendsAreCounted(t *testing.T) {
	// The counter follows the global meter provider, as package telemetry sets it.
	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	e := setup(t)
	ctx := context.Background()
	out := e.prepare(t, 1, "angebot_bereit", "angebot_sms")

	e.in.FailNext(1, 550, "mailbox unknown")
	res, err := e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxFailed, res.Status)
	res, err = e.svc.SendMessage(ctx, out[0].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxFailed, res.Status)
	res, err = e.svc.SendMessage(ctx, out[1].Key)
	require.NoError(t, err)
	require.Equal(t, store.OutboxSent, res.Status)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	counts := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "jobmanager.messages.sends" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				channel, _ := p.Attributes.Value("channel")
				status, _ := p.Attributes.Value("status")
				counts[channel.AsString()+"/"+status.AsString()] += p.Value
			}
		}
	}
	require.Equal(t, map[string]int64{"email/failed": 1, "sms/sent": 1}, counts)
}
