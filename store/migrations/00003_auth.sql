-- Authentication: customer passwords, sessions, API tokens, signed job links, password
-- reset tokens and login throttling. Every secret a client holds (session cookie, API
-- token, link, reset token) is a random token; only its SHA-256 (hex) is stored, so a
-- copy of the database opens no session.

-- +goose Up

-- A customer with a password has an account; one account per dealer and address.
ALTER TABLE customers ADD COLUMN password_hash text NOT NULL DEFAULT '';
ALTER TABLE customers ADD CONSTRAINT customers_account_has_email CHECK (password_hash = '' OR email <> '');
CREATE UNIQUE INDEX customers_dealer_account ON customers (dealer, lower(email)) WHERE password_hash <> '';

-- A session of a browser. Staff sessions name the staff user; customer sessions name
-- the customer (account, or an anonymous session linked to a customer record), or no
-- one (anonymous), and a session opened through a signed link is limited to one job.
CREATE TABLE sessions (
    id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    kind         text NOT NULL CHECK (kind IN ('staff', 'customer')),
    dealer       text NOT NULL REFERENCES dealers (id),
    staff_id     uuid REFERENCES staff_users (id) ON DELETE CASCADE,
    customer_id  uuid REFERENCES customers (id) ON DELETE CASCADE,
    -- True once the customer logged in to the account with a password.
    logged_in    boolean NOT NULL DEFAULT false,
    job_number   bigint,
    -- The anonymous session this one continues (after a login, registration or link),
    -- so the jobs parked anonymously can be found and attached to the account.
    origin       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- Sliding: each use moves it on, never past not_after.
    expires_at   timestamptz NOT NULL,
    -- A hard end, such as the expiry of the signed link the session came from.
    not_after    timestamptz,
    CHECK ((kind = 'staff') = (staff_id IS NOT NULL)),
    CHECK (kind = 'customer' OR (customer_id IS NULL AND job_number IS NULL AND NOT logged_in)),
    CHECK (NOT logged_in OR customer_id IS NOT NULL),
    FOREIGN KEY (dealer, job_number) REFERENCES jobs (dealer, number)
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_staff ON sessions (staff_id) WHERE staff_id IS NOT NULL;
CREATE INDEX sessions_customer ON sessions (customer_id) WHERE customer_id IS NOT NULL;

-- API tokens of integrations, each scoped to one dealer. Revoked tokens stay listed.
CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY,
    dealer     text NOT NULL REFERENCES dealers (id),
    name       text NOT NULL CHECK (name <> ''),
    hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_tokens_dealer ON api_tokens (dealer, created_at);

-- Signed links from messages that open one job's parking page.
CREATE TABLE job_links (
    hash        text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    dealer      text NOT NULL,
    number      bigint NOT NULL,
    customer_id uuid REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);
CREATE INDEX job_links_expires ON job_links (expires_at);

-- One-time password reset tokens sent by e-mail.
CREATE TABLE password_resets (
    hash        text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    dealer      text NOT NULL REFERENCES dealers (id),
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_customer ON password_resets (customer_id, created_at);
CREATE INDEX password_resets_expires ON password_resets (expires_at);

-- Login attempts under way or failed, one row per throttle key (an e-mail address of a
-- dealer, a client IP) and attempt. A success deletes its rows; what is left within the
-- window are failures. In PostgreSQL, so every API replica counts the same.
CREATE TABLE login_attempts (
    key     text NOT NULL CHECK (key <> ''),
    attempt uuid NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, attempt)
);
CREATE INDEX login_attempts_key_at ON login_attempts (key, at);
CREATE INDEX login_attempts_at ON login_attempts (at);

-- +goose Down
DROP TABLE login_attempts;
DROP TABLE password_resets;
DROP TABLE job_links;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP INDEX customers_dealer_account;
ALTER TABLE customers DROP CONSTRAINT customers_account_has_email;
ALTER TABLE customers DROP COLUMN password_hash;
