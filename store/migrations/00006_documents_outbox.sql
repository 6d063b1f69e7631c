-- Side effects of jobs: documents (rendered PDFs and uploads, every version kept), the
-- dealer's document texts and per-job overrides, invoice lines, the message outbox, and
-- bezahl.de payment orders with the webhook events seen.

-- +goose Up

-- A dealer's document settings: letterhead, central texts per document template
-- (template key -> section -> text) and whether documents carry the cancellation notice.
CREATE TABLE dealer_document_settings (
    dealer              text PRIMARY KEY REFERENCES dealers (id),
    letterhead          jsonb NOT NULL DEFAULT '{}',
    texts               jsonb NOT NULL DEFAULT '{}',
    cancellation_notice boolean NOT NULL DEFAULT false,
    cancellation_text   text NOT NULL DEFAULT '',
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Per-job edits of a template's texts (section -> text); they change only that job.
CREATE TABLE job_document_texts (
    dealer     text NOT NULL,
    number     bigint NOT NULL,
    template   text NOT NULL CHECK (template <> ''),
    texts      jsonb NOT NULL DEFAULT '{}',
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer, number, template),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);

-- The job's invoice lines (Rechnungsdaten), in order. Amounts are gross euro cents; a
-- negative amount is a deduction such as a trade-in.
CREATE TABLE job_invoice_lines (
    dealer       text NOT NULL,
    number       bigint NOT NULL,
    position     int NOT NULL CHECK (position >= 1),
    text         text NOT NULL CHECK (text <> ''),
    amount_cents bigint NOT NULL,
    tax_rate     int NOT NULL CHECK (tax_rate IN (0, 7, 19)),
    PRIMARY KEY (dealer, number, position),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);

-- Every version of every document of a job: rendered PDFs, uploads, files that came in
-- by mail. Versions are numbered per (job, field); the newest is current, older ones are
-- kept and point to the version that superseded them. request_key makes storing
-- idempotent: a retried render or upload finds its first version.
CREATE TABLE documents (
    id            uuid PRIMARY KEY,
    dealer        text NOT NULL,
    number        bigint NOT NULL,
    field         text NOT NULL CHECK (field <> ''),
    version       int NOT NULL CHECK (version >= 1),
    kind          text NOT NULL CHECK (kind IN ('rendered', 'upload', 'inbound')),
    template      text NOT NULL DEFAULT '',
    phase         text NOT NULL DEFAULT '',
    filename      text NOT NULL CHECK (filename <> ''),
    content_type  text NOT NULL CHECK (content_type <> ''),
    size          bigint NOT NULL CHECK (size >= 0),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content       bytea NOT NULL,
    request_key   text NOT NULL DEFAULT '',
    actor_side    text NOT NULL DEFAULT '',
    actor_id      text NOT NULL DEFAULT '',
    -- Deferred: the old version points to the new one within the insert's transaction.
    superseded_by uuid REFERENCES documents (id) DEFERRABLE INITIALLY DEFERRED,
    superseded_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dealer, number, field, version),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number),
    CHECK ((superseded_by IS NULL) = (superseded_at IS NULL))
);
CREATE UNIQUE INDEX documents_request ON documents (dealer, number, field, request_key) WHERE request_key <> '';
-- At most one current version per field.
CREATE UNIQUE INDEX documents_current ON documents (dealer, number, field) WHERE superseded_at IS NULL;
CREATE INDEX documents_job ON documents (dealer, number, created_at);

-- +goose StatementBegin
CREATE FUNCTION documents_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'documents are kept for good: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION documents_supersede_once() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.superseded_at IS NOT NULL THEN
        RAISE EXCEPTION 'document % (version %) is already superseded', OLD.id, OLD.version
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- The only change a version ever sees is being superseded, once. The column list makes
-- the guard cheap: it fires when an UPDATE names any other column, without comparing
-- (and so reading) the content.
CREATE TRIGGER documents_no_change
    BEFORE UPDATE OF id, dealer, number, field, version, kind, template, phase, filename, content_type,
        size, sha256, content, request_key, actor_side, actor_id, created_at OR DELETE
    ON documents FOR EACH ROW EXECUTE FUNCTION documents_immutable();
CREATE TRIGGER documents_supersede_once
    BEFORE UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION documents_supersede_once();
CREATE TRIGGER documents_no_truncate
    BEFORE TRUNCATE ON documents FOR EACH STATEMENT EXECUTE FUNCTION documents_immutable();
ALTER TABLE documents ENABLE ALWAYS TRIGGER documents_no_change;
ALTER TABLE documents ENABLE ALWAYS TRIGGER documents_supersede_once;
ALTER TABLE documents ENABLE ALWAYS TRIGGER documents_no_truncate;

-- The message outbox: one row per (job, activation, template), written before the send.
-- pending -> sending (claimed under a lease) -> sent; failed holds a permanent refusal;
-- unknown is a send whose attempt died after the message was handed over, so it is not
-- repeated by itself (see messages.SendMessage); suppressed was never due.
CREATE TABLE message_outbox (
    id             uuid PRIMARY KEY,
    dealer         text NOT NULL,
    number         bigint NOT NULL,
    activation_seq bigint NOT NULL CHECK (activation_seq >= 0),
    template       text NOT NULL CHECK (template <> ''),
    channel        text NOT NULL CHECK (channel IN ('email', 'sms')),
    phase          text NOT NULL DEFAULT '',
    recipient      text NOT NULL DEFAULT '',
    subject        text NOT NULL DEFAULT '',
    body_text      text NOT NULL DEFAULT '',
    body_html      text NOT NULL DEFAULT '',
    attachments    uuid[] NOT NULL DEFAULT '{}',
    status         text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'suppressed')),
    reason         text NOT NULL DEFAULT '',
    attempts       int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claim          text NOT NULL DEFAULT '',
    lease_until    timestamptz,
    message_id     text NOT NULL CHECK (message_id <> ''),
    provider_id    text NOT NULL DEFAULT '',
    sent_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dealer, number, activation_seq, template),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);
-- Staff list the messages that failed for good.
CREATE INDEX message_outbox_failed ON message_outbox (dealer, updated_at DESC) WHERE status IN ('failed', 'unknown');

-- bezahl.de payment orders, one per idempotency key (derived from job and phase). The
-- row is written before the order is created at the provider, so a retry knows to look.
CREATE TABLE payment_orders (
    unique_key      text PRIMARY KEY CHECK (unique_key <> ''),
    dealer          text NOT NULL,
    number          bigint NOT NULL,
    phase           text NOT NULL DEFAULT '',
    order_id        text NOT NULL DEFAULT '',
    link            text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT '',
    price_cents     bigint NOT NULL DEFAULT 0,
    paid_cents      bigint NOT NULL DEFAULT 0,
    remaining_cents bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);
CREATE UNIQUE INDEX payment_orders_order ON payment_orders (order_id) WHERE order_id <> '';
CREATE INDEX payment_orders_job ON payment_orders (dealer, number, created_at);

-- Webhook events of the payment provider, once each: a repeated delivery finds its row.
CREATE TABLE payment_events (
    event_id        text PRIMARY KEY CHECK (event_id <> ''),
    order_id        text NOT NULL,
    status          text NOT NULL DEFAULT '',
    paid_cents      bigint NOT NULL DEFAULT 0,
    remaining_cents bigint NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE payment_events;
DROP TABLE payment_orders;
DROP TABLE message_outbox;
DROP TABLE documents;
DROP FUNCTION documents_supersede_once();
DROP FUNCTION documents_immutable();
DROP TABLE job_invoice_lines;
DROP TABLE job_document_texts;
DROP TABLE dealer_document_settings;
