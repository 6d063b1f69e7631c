-- Job sources: vehicles known by their marketplace listings, a customer's own
-- salesperson, and the anonymous sessions that parked jobs.
-- Vehicles are deleted softly, so the jobs they started keep showing what they were.

-- +goose Up

-- Internal vehicle data the public vehicle list never shows, and the soft delete.
ALTER TABLE vehicles ADD COLUMN purchase_price_cents bigint NOT NULL DEFAULT 0 CHECK (purchase_price_cents >= 0);
ALTER TABLE vehicles ADD COLUMN notes text NOT NULL DEFAULT '';
ALTER TABLE vehicles ADD COLUMN deleted_at timestamptz;
-- A deleted vehicle keeps its number for the jobs that name it; a new vehicle may take
-- the number again.
ALTER TABLE vehicles DROP CONSTRAINT vehicles_dealer_number_key;
CREATE UNIQUE INDEX vehicles_dealer_number ON vehicles (dealer, number) WHERE deleted_at IS NULL;

-- A vehicle's listing on a marketplace, by which an inquiry from there finds it. A
-- listing names one live vehicle of the dealer; deleting the vehicle drops its listings.
CREATE TABLE vehicle_listings (
    dealer      text NOT NULL REFERENCES dealers (id),
    marketplace text NOT NULL CHECK (marketplace IN ('mobile.de', 'autoscout24')),
    listing_id  text NOT NULL CHECK (listing_id <> ''),
    vehicle_id  uuid NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
    PRIMARY KEY (dealer, marketplace, listing_id),
    UNIQUE (vehicle_id, marketplace)
);

-- The customer's own salesperson, who new jobs of the customer get when the dealer's
-- setting customer_salesperson is on.
ALTER TABLE customers ADD COLUMN salesperson uuid REFERENCES staff_users (id) ON DELETE SET NULL;

-- The anonymous customer session that started a job (parked a vehicle, asked for a
-- call back), so its parking page finds the job, and a later login or registration
-- links the job to the customer. session is the session's ID (the hash of its token)
-- as the principal carries it; no foreign key, as the session row ends at login while
-- the sessions continuing it keep its ID as their origin.
CREATE TABLE job_sessions (
    dealer      text NOT NULL,
    number      bigint NOT NULL,
    session     text NOT NULL CHECK (session ~ '^[0-9a-f]{64}$'),
    -- Set once the job's workflow has linked the customer the session logged in as.
    linked_to   uuid REFERENCES customers (id) ON DELETE SET NULL,
    linked_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dealer, number),
    FOREIGN KEY (dealer, number) REFERENCES jobs (dealer, number)
);
CREATE INDEX job_sessions_session ON job_sessions (dealer, session);

-- The call-back rate limit needs no table of its own: it counts requests per client in
-- login_attempts (store.BeginLoginAttempt) under keys callback:<dealer>:<ip>, in
-- PostgreSQL so every replica counts the same, purged with the login attempts.

-- +goose Down
DROP TABLE job_sessions;
ALTER TABLE customers DROP COLUMN salesperson;
DROP TABLE vehicle_listings;
DROP INDEX vehicles_dealer_number;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_dealer_number_key UNIQUE (dealer, number);
ALTER TABLE vehicles DROP COLUMN deleted_at;
ALTER TABLE vehicles DROP COLUMN notes;
ALTER TABLE vehicles DROP COLUMN purchase_price_cents;
