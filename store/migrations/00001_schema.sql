-- The first schema: dealers and their people and vehicles, workflow definitions, and the
-- job read model with its append-only audit trail.

-- +goose Up

-- The dealer ID is a slug because it appears in workflow IDs job/<dealer>/<number>:
-- no slash, nothing personal, readable in Temporal UI.
CREATE TABLE dealers (
    id                  text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                text NOT NULL,
    -- The next job number to hand out; it only grows, so a number is never reused.
    next_job_number     bigint NOT NULL DEFAULT 1 CHECK (next_job_number >= 1),
    default_salesperson text NOT NULL DEFAULT '',
    settings            jsonb NOT NULL DEFAULT '{}',
    -- The workflow key new jobs start with; its latest published version is used.
    active_workflow     text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff_users (
    id            uuid PRIMARY KEY,
    dealer        text NOT NULL REFERENCES dealers (id),
    email         text NOT NULL CHECK (email <> ''),
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'sales')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- E-mail addresses compare case-insensitively at login.
CREATE UNIQUE INDEX staff_users_dealer_email ON staff_users (dealer, lower(email));

CREATE TABLE customers (
    id         uuid PRIMARY KEY,
    dealer     text NOT NULL REFERENCES dealers (id),
    name       text NOT NULL,
    email      text NOT NULL DEFAULT '',
    phone      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_dealer_email ON customers (dealer, lower(email)) WHERE email <> '';

CREATE TABLE vehicles (
    id          uuid PRIMARY KEY,
    dealer      text NOT NULL REFERENCES dealers (id),
    number      text NOT NULL CHECK (number <> ''),
    make        text NOT NULL DEFAULT '',
    model       text NOT NULL DEFAULT '',
    price_cents bigint NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    location    text NOT NULL DEFAULT '',
    extras      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dealer, number)
);

-- One row per workflow version. A dealer has at most one draft per workflow, numbered
-- as the version it becomes when published; a published row never changes again,
-- because running jobs pin it by (workflow, version, hash).
CREATE TABLE definitions (
    dealer       text NOT NULL REFERENCES dealers (id),
    workflow     text NOT NULL CHECK (workflow <> ''),
    version      int NOT NULL CHECK (version >= 1),
    state        text NOT NULL CHECK (state IN ('draft', 'published')),
    hash         text NOT NULL DEFAULT '',
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (dealer, workflow, version),
    CHECK (state = 'draft' OR (hash <> '' AND published_at IS NOT NULL))
);
CREATE UNIQUE INDEX definitions_one_draft ON definitions (dealer, workflow) WHERE state = 'draft';

-- +goose StatementBegin
CREATE FUNCTION definitions_published_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM definitions WHERE state = 'published') THEN
            RAISE EXCEPTION 'definitions: published versions are immutable, TRUNCATE refused'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END IF;
    IF OLD.state = 'published' THEN
        RAISE EXCEPTION 'definitions: version % of workflow % (dealer %) is published and immutable, % refused',
            OLD.version, OLD.workflow, OLD.dealer, TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER definitions_published_immutable
    BEFORE UPDATE OR DELETE ON definitions
    FOR EACH ROW EXECUTE FUNCTION definitions_published_immutable();
CREATE TRIGGER definitions_published_no_truncate
    BEFORE TRUNCATE ON definitions
    FOR EACH STATEMENT EXECUTE FUNCTION definitions_published_immutable();
-- ALWAYS: the guard also holds for sessions with session_replication_role = replica,
-- which skips ordinary triggers.
ALTER TABLE definitions ENABLE ALWAYS TRIGGER definitions_published_immutable;
ALTER TABLE definitions ENABLE ALWAYS TRIGGER definitions_published_no_truncate;

-- The job read model: one row per job, written by the job workflow's projection. seq is
-- the workflow's history sequence number; a write with a lower seq never replaces a row.
-- Vehicle, customer and salesperson are kept as the workflow reports them (text, no
-- foreign keys): the read model mirrors the workflow and must accept whatever it holds.
CREATE TABLE jobs (
    dealer              text NOT NULL REFERENCES dealers (id),
    number              bigint NOT NULL CHECK (number >= 1),
    phase               text NOT NULL DEFAULT '',
    phase_name          text NOT NULL DEFAULT '',
    status              text NOT NULL CHECK (status IN ('open', 'sold', 'closed', 'canceled')),
    turn                text NOT NULL DEFAULT '' CHECK (turn IN ('', 'customer', 'staff')),
    vehicle_id          text NOT NULL DEFAULT '',
    customer_id         text NOT NULL DEFAULT '',
    salesperson         text NOT NULL DEFAULT '',
    location            text NOT NULL DEFAULT '',
    source              text NOT NULL CHECK (source IN ('manual', 'park', 'callback', 'marketplace')),
    definition_workflow text NOT NULL DEFAULT '',
    definition_version  int NOT NULL DEFAULT 0,
    definition_hash     text NOT NULL DEFAULT '',
    seq                 bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer, number)
);
-- Lists are newest first per dealer; each filter gets an index in that order, so a page
-- is an index range scan. Turn and source have few values and ride on jobs_list.
CREATE INDEX jobs_list ON jobs (dealer, updated_at DESC, number DESC);
CREATE INDEX jobs_status ON jobs (dealer, status, updated_at DESC, number DESC);
CREATE INDEX jobs_phase ON jobs (dealer, phase, updated_at DESC, number DESC);
CREATE INDEX jobs_salesperson ON jobs (dealer, salesperson, updated_at DESC, number DESC);
CREATE INDEX jobs_location ON jobs (dealer, location, updated_at DESC, number DESC);
CREATE INDEX jobs_vehicle ON jobs (dealer, vehicle_id, updated_at DESC, number DESC) WHERE vehicle_id <> '';
CREATE INDEX jobs_customer ON jobs (dealer, customer_id, updated_at DESC, number DESC) WHERE customer_id <> '';

-- The history of every job, kept for good: entries are only ever inserted.
CREATE TABLE job_audit (
    dealer     text NOT NULL,
    number     bigint NOT NULL,
    seq        bigint NOT NULL CHECK (seq >= 0),
    at         timestamptz NOT NULL,
    actor_side text NOT NULL DEFAULT '',
    actor_id   text NOT NULL DEFAULT '',
    action     text NOT NULL CHECK (action <> ''),
    phase      text NOT NULL DEFAULT '',
    before     jsonb,
    after      jsonb,
    PRIMARY KEY (dealer, number, seq),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);

-- +goose StatementBegin
CREATE FUNCTION job_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'job_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd

-- Statement level, so even a statement that matches no row is refused, and a trigger
-- rather than a REVOKE, because privileges do not bind the table owner or a superuser.
CREATE TRIGGER job_audit_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON job_audit
    FOR EACH STATEMENT EXECUTE FUNCTION job_audit_append_only();
ALTER TABLE job_audit ENABLE ALWAYS TRIGGER job_audit_append_only;

-- Idempotent job creation: a repeated request with the same key gets the same number.
CREATE TABLE job_requests (
    dealer     text NOT NULL REFERENCES dealers (id),
    key        text NOT NULL CHECK (key <> ''),
    number     bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer, key),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);

-- +goose Down
DROP TABLE job_requests;
DROP TABLE job_audit;
DROP FUNCTION job_audit_append_only();
DROP TABLE jobs;
DROP TABLE definitions;
DROP FUNCTION definitions_published_immutable();
DROP TABLE vehicles;
DROP TABLE customers;
DROP TABLE staff_users;
DROP TABLE dealers;
