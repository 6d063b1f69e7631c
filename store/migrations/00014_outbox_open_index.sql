-- The metrics scrape counts the outbox's open messages (store.OutboxBacklog) every few
-- seconds. Sent and suppressed rows are kept for good, so without an index the count
-- would read the whole table; this partial index holds only the open rows, which are
-- few while sending works.

-- +goose Up
CREATE INDEX message_outbox_open ON message_outbox (status, created_at)
    WHERE status IN ('pending', 'sending', 'failed', 'unknown');

-- +goose Down
DROP INDEX message_outbox_open;
