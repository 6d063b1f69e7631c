package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobmanager/jobmanager/store"
)

// scrapeTimeout bounds the outbox query of one scrape: Prometheus waits 10 s by
// default, and a slow database must not make the whole scrape time out.
const scrapeTimeout = 2 * time.Second

// OutboxCollector reports the message outbox's backlog, read from PostgreSQL at scrape
// time, so every API and worker replica reports the same numbers and none needs to
// keep count:
//
//	jobmanager_outbox_messages{status="pending|sending|failed|unknown"}
//	jobmanager_outbox_oldest_pending_seconds
//	jobmanager_outbox_scrape_ok (0 when the query failed; the others are then left out)
//
// Failed and unknown messages are the failed sends staff must look at (the API's
// GET .../messages/failed lists them).
type OutboxCollector struct {
	// Backlog reads the numbers; store.Store.OutboxBacklog.
	Backlog func(context.Context) (store.OutboxBacklog, error)
	// Logger gets failed queries; nil discards.
	Logger *slog.Logger
}

var (
	outboxMessagesDesc = prometheus.NewDesc("jobmanager_outbox_messages",
		"Messages in the outbox by open status: pending and sending wait to go out, failed and unknown failed to send and wait for staff.",
		[]string{"status"}, nil)
	outboxOldestDesc = prometheus.NewDesc("jobmanager_outbox_oldest_pending_seconds",
		"Age of the oldest pending or sending message; 0 when none waits.", nil, nil)
	outboxOKDesc = prometheus.NewDesc("jobmanager_outbox_scrape_ok",
		"1 when the outbox backlog could be read from PostgreSQL at this scrape, else 0.", nil, nil)
)

// Describe implements prometheus.Collector.
func (o *OutboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxMessagesDesc
	ch <- outboxOldestDesc
	ch <- outboxOKDesc
}

// Collect implements prometheus.Collector.
func (o *OutboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	b, err := o.Backlog(ctx)
	if err != nil {
		if o.Logger != nil {
			o.Logger.Warn("outbox backlog not read for metrics", "error", err)
		}
		ch <- prometheus.MustNewConstMetric(outboxOKDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxOKDesc, prometheus.GaugeValue, 1)
	for status, n := range b.ByStatus {
		ch <- prometheus.MustNewConstMetric(outboxMessagesDesc, prometheus.GaugeValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, b.OldestPending.Seconds())
}

// WatchOutbox adds the outbox backlog of st to t's registry.
func (t *Telemetry) WatchOutbox(st *store.Store) error {
	return t.registry.Register(&OutboxCollector{Backlog: st.OutboxBacklog, Logger: t.log})
}
