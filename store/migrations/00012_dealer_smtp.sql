-- A dealer's own SMTP server for its e-mail (messages.DealerMail); a dealer without a
-- row sends through the system's sender. The password is sealed by package secrets
-- (AES-256-GCM, the dealer's ID as authenticated context) before it gets here, so the
-- database and its backups never hold it in plain text; NULL means none.
--
-- Settings once meant for dealers.settings->'smtp' are not carried over: nothing wrote
-- them, and a password there would be plain text.

-- +goose Up
CREATE TABLE dealer_smtp (
    dealer       text PRIMARY KEY REFERENCES dealers (id) ON DELETE CASCADE,
    host         text NOT NULL,
    port         integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    tls          text NOT NULL CHECK (tls IN ('none', 'opportunistic', 'mandatory', 'implicit')),
    username     text NOT NULL DEFAULT '',
    password_enc bytea,
    from_address text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE dealer_smtp;
