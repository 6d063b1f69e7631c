package messages

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/jobmanager/jobmanager/store"
)

// sends counts the send attempts that settled a message, through the global meter
// provider (package telemetry serves it as jobmanager_messages_sends_total{channel,
// status}). The outbox gauges say how many messages failed; this says when: a rise in
// failed sends shows at once in rate(), before staff look at the list.
var sends, _ = otel.Meter("github.com/jobmanager/jobmanager/messages").Int64Counter("jobmanager.messages.sends",
	metric.WithDescription("Messages an attempt settled, by channel and the status it left them in: sent, failed (refused for good) or unknown (the hand-over broke)."))

// countSend records an attempt that moved a message from status before to a settled
// status; an attempt that found it settled already, or left it pending, counts nothing.
func countSend(ctx context.Context, before string, o Outcome) {
	if o.Status == before || sends == nil {
		return
	}
	switch o.Status {
	case store.OutboxSent, store.OutboxFailed, store.OutboxUnknown:
		sends.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(attribute.String("channel", o.Channel), attribute.String("status", o.Status)))
	}
}
