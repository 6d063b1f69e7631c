-- The staff side of the job list: free text search over what the job's row does not
-- carry (its vehicle's and customer's data), sorts by status and phase with stable
-- keyset cursors, and each staff user's saved filters and column views.

-- +goose Up

-- Free text search uses trigrams (pg_trgm, in Debian's postgresql-contrib, which comes
-- with the postgresql package): staff type fragments of vehicle numbers (A-10), e-mail
-- addresses and names, which a substring match finds and a full-text tsvector does not
-- (it splits and stems words and matches whole words only). A GIN trigram index answers
-- LIKE '%fragment%' for fragments of three characters and more; shorter ones are
-- checked on the rows the list's own scan passes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Each job's search text, lower-cased: vehicle number, make and model, customer name,
-- e-mail and phone, kept by the triggers below. The job number is not in it: a number
-- staff type is compared with the number column as a whole (store.ListJobs), as a
-- fragment 96 would find jobs 196, 961, 1960 and so on.
--
-- It lives in the jobs row, so a search is one more filter on the list's own index
-- scan. Measured over 100,000 jobs, a separate search table cost up to 50 ms per page
-- (one probe into it per job the scan passes), the column at most 1.5 ms. Its price is
-- one more GIN index on a row every projection rewrites: about 0.03 ms per write with
-- GIN's pending list (fastupdate), which autovacuum folds into the index, and about
-- 0.03 ms for the insert trigger, which runs before every upsert.
ALTER TABLE jobs ADD COLUMN search text NOT NULL DEFAULT '';

-- +goose StatementBegin
-- job_search_text is the search text of one job. The row keeps vehicle and customer
-- IDs as text the workflow reported (no foreign keys), so only well-formed UUIDs of
-- the job's own dealer are looked up.
CREATE FUNCTION job_search_text(p_dealer text, p_vehicle text, p_customer text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := '';
    c text := '';
BEGIN
    IF p_vehicle ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT concat_ws(' ', number, make, model) INTO v
        FROM vehicles WHERE id = p_vehicle::uuid AND dealer = p_dealer;
    END IF;
    IF p_customer ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT concat_ws(' ', name, email, phone) INTO c
        FROM customers WHERE id = p_customer::uuid AND dealer = p_dealer;
    END IF;
    RETURN lower(concat_ws(' ', v, c));
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION jobs_search_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := job_search_text(NEW.dealer, NEW.vehicle_id, NEW.customer_id);
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION jobs_search_vehicle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs SET search = job_search_text(dealer, vehicle_id, customer_id)
    WHERE dealer = NEW.dealer AND vehicle_id = NEW.id::text AND vehicle_id <> '';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION jobs_search_customer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs SET search = job_search_text(dealer, vehicle_id, customer_id)
    WHERE dealer = NEW.dealer AND customer_id = NEW.id::text AND customer_id <> '';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- A projection rewrites the row's vehicle and customer columns every time; the WHEN
-- clause keeps the lookups to the writes that change them. Updates of search alone
-- (below) fire neither.
CREATE TRIGGER jobs_search_insert BEFORE INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_search_set();
CREATE TRIGGER jobs_search_update BEFORE UPDATE OF vehicle_id, customer_id ON jobs
    FOR EACH ROW WHEN (OLD.vehicle_id IS DISTINCT FROM NEW.vehicle_id OR OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION jobs_search_set();
-- A vehicle or customer created after a job that names it (data restored out of order)
-- counts as a change too.
CREATE TRIGGER jobs_search_vehicle_insert AFTER INSERT ON vehicles
    FOR EACH ROW EXECUTE FUNCTION jobs_search_vehicle();
CREATE TRIGGER jobs_search_vehicle_update AFTER UPDATE OF number, make, model ON vehicles
    FOR EACH ROW WHEN (OLD.number IS DISTINCT FROM NEW.number OR OLD.make IS DISTINCT FROM NEW.make OR OLD.model IS DISTINCT FROM NEW.model)
    EXECUTE FUNCTION jobs_search_vehicle();
CREATE TRIGGER jobs_search_customer_insert AFTER INSERT ON customers
    FOR EACH ROW EXECUTE FUNCTION jobs_search_customer();
CREATE TRIGGER jobs_search_customer_update AFTER UPDATE OF name, email, phone ON customers
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email OR OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION jobs_search_customer();

UPDATE jobs SET search = job_search_text(dealer, vehicle_id, customer_id);
CREATE INDEX jobs_search ON jobs USING gin (search gin_trgm_ops);

-- Sorts by status and by phase group the list in descending order of the key and show
-- the newest change first within a group. All three columns descending make the order
-- one index scan and the cursor one row comparison ((status, updated_at, number) <
-- (...)); the indexes they replace ordered the key ascending, which serves the status
-- and phase filters just as well but not this sort.
DROP INDEX jobs_status;
DROP INDEX jobs_phase;
CREATE INDEX jobs_status ON jobs (dealer, status DESC, updated_at DESC, number DESC);
CREATE INDEX jobs_phase ON jobs (dealer, phase DESC, updated_at DESC, number DESC);

-- A staff user's saved job list filters (kind filter: a query string of the list's
-- parameters) and column views (kind columns: column keys in order), each with at most
-- one default per user and kind.
CREATE TABLE staff_views (
    id         uuid PRIMARY KEY,
    dealer     text NOT NULL REFERENCES dealers (id),
    staff_id   uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('filter', 'columns')),
    name       text NOT NULL CHECK (name <> ''),
    query      text NOT NULL DEFAULT '',
    columns    text[] NOT NULL DEFAULT '{}',
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'columns' OR cardinality(columns) = 0),
    CHECK (kind = 'filter' OR (query = '' AND cardinality(columns) > 0))
);
CREATE UNIQUE INDEX staff_views_name ON staff_views (staff_id, kind, lower(name));
CREATE UNIQUE INDEX staff_views_default ON staff_views (staff_id, kind) WHERE is_default;

-- +goose Down
DROP TABLE staff_views;
DROP INDEX jobs_phase;
DROP INDEX jobs_status;
CREATE INDEX jobs_status ON jobs (dealer, status, updated_at DESC, number DESC);
CREATE INDEX jobs_phase ON jobs (dealer, phase, updated_at DESC, number DESC);
DROP TRIGGER jobs_search_customer_update ON customers;
DROP TRIGGER jobs_search_customer_insert ON customers;
DROP TRIGGER jobs_search_vehicle_update ON vehicles;
DROP TRIGGER jobs_search_vehicle_insert ON vehicles;
DROP TRIGGER jobs_search_update ON jobs;
DROP TRIGGER jobs_search_insert ON jobs;
DROP FUNCTION jobs_search_customer();
DROP FUNCTION jobs_search_vehicle();
DROP FUNCTION jobs_search_set();
DROP FUNCTION job_search_text(text, text, text);
DROP INDEX jobs_search;
ALTER TABLE jobs DROP COLUMN search;
