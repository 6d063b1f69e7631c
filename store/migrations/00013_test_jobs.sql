-- Test jobs (the admin's sandbox): a job started on a workflow's unpublished draft,
-- with the acting staff member playing the customer. A test job is marked here when
-- its number is allocated, and the projection never changes the mark; lists leave
-- test jobs out unless asked for them.
--
-- The definition a test job pins is not a published version: it is kept in
-- test_definitions under its content hash, and the job's row names it as version 0
-- with that hash (published versions start at 1).
--
-- The customer of a test job is a test customer record per staff member's address,
-- kept apart from real customers: lookups by e-mail (log-in, reset, linking) skip it.

-- +goose Up
ALTER TABLE jobs ADD COLUMN test boolean NOT NULL DEFAULT false;
CREATE INDEX jobs_test ON jobs (dealer, updated_at DESC, number DESC) WHERE test;

CREATE TABLE test_definitions (
    dealer     text NOT NULL REFERENCES dealers (id),
    workflow   text NOT NULL CHECK (workflow <> ''),
    hash       text NOT NULL CHECK (hash <> ''),
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer, workflow, hash)
);

ALTER TABLE customers ADD COLUMN test boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX customers_test_email ON customers (dealer, lower(email)) WHERE test;

-- +goose Down
DROP INDEX customers_test_email;
ALTER TABLE customers DROP COLUMN test;
DROP TABLE test_definitions;
DROP INDEX jobs_test;
ALTER TABLE jobs DROP COLUMN test;
