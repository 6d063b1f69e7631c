package store

import (
	"context"
	"time"
)

// OutboxBacklog is how many messages of the outbox still want attention, for the
// metrics the operators alert on: messages waiting to go out, and messages that failed
// for good or whose outcome is unknown (staff must look at those).
type OutboxBacklog struct {
	// ByStatus counts messages per open status: pending, sending, failed, unknown.
	// Sent and suppressed messages are done and not counted.
	ByStatus map[string]int64
	// OldestPending is the age of the oldest pending or sending message; zero when
	// there is none. A growing age means sends are stuck, even when the count is small.
	OldestPending time.Duration
}

// OpenOutboxStatuses are the statuses OutboxBacklog counts.
var OpenOutboxStatuses = []string{OutboxPending, OutboxSending, OutboxFailed, OutboxUnknown}

// OutboxBacklog counts the outbox's open messages over every dealer. It reads only the
// rows in open statuses (the partial index message_outbox_open), so a scrape stays
// cheap however many sent messages the table keeps.
func (s *Store) OutboxBacklog(ctx context.Context) (OutboxBacklog, error) {
	b := OutboxBacklog{ByStatus: make(map[string]int64, len(OpenOutboxStatuses))}
	for _, st := range OpenOutboxStatuses {
		b.ByStatus[st] = 0
	}
	rows, err := s.pool.Query(ctx, `SELECT status, count(*),
			COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE status IN ('pending', 'sending'))), 0)::float8
		FROM message_outbox WHERE status = ANY($1) GROUP BY status`, OpenOutboxStatuses)
	if err != nil {
		return OutboxBacklog{}, wrap(err, "count the outbox backlog")
	}
	defer rows.Close()
	var oldest float64
	for rows.Next() {
		var (
			status string
			n      int64
			age    float64
		)
		if err := rows.Scan(&status, &n, &age); err != nil {
			return OutboxBacklog{}, wrap(err, "count the outbox backlog")
		}
		b.ByStatus[status] = n
		oldest = max(oldest, age)
	}
	if err := rows.Err(); err != nil {
		return OutboxBacklog{}, wrap(err, "count the outbox backlog")
	}
	b.OldestPending = time.Duration(oldest * float64(time.Second))
	return b, nil
}
