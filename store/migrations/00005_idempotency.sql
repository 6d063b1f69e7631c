-- The first answer to each state-changing request that is not a workflow update or a
-- job creation (those keep their own records), by the Idempotency-Key the client
-- named it with: a repeat is answered from here instead of being applied again.

-- +goose Up
CREATE TABLE idempotent_requests (
    -- The dealer of the route ('' for routes without one) and the caller ("staff:<id>",
    -- "customer:<id>", "session:<id>", "token:<id>"): a key is the caller's own, so two
    -- callers never see each other's answers.
    dealer       text        NOT NULL,
    scope        text        NOT NULL,
    key          text        NOT NULL CHECK (key <> ''),
    method       text        NOT NULL,
    path         text        NOT NULL,
    -- SHA-256 of the body (canonical JSON when it is JSON), to refuse the key for a
    -- different request.
    fingerprint  text        NOT NULL,
    -- Who holds the request while it runs; a repeat meanwhile answers 409.
    claim        text        NOT NULL,
    -- The first answer; all NULL while the request runs.
    status       integer,
    content_type text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (dealer, scope, key),
    CHECK ((status IS NULL) = (completed_at IS NULL))
);

-- +goose Down
DROP TABLE idempotent_requests;
