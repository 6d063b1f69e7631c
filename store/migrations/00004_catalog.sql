-- A dealer's own catalog parts: fields, phases, workflows and message templates that
-- the dealer created or copied. The system parts ship in the binary and are never
-- stored; the catalog a dealer builds from is the system parts plus these.

-- +goose Up
CREATE TABLE catalog_parts (
    dealer     text NOT NULL REFERENCES dealers (id),
    kind       text NOT NULL CHECK (kind IN ('field', 'phase', 'workflow', 'message')),
    key        text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- The part as definitions models it (definitions.Field, Phase, Workflow or
    -- MessageTemplate); its "key" equals the key column.
    body       jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object' AND body ->> 'key' = key),
    -- Creation order: the catalog lists own parts in it, so a resolved definition,
    -- and with it its content hash, does not depend on how the rows are stored.
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The staff user who made the last change.
    updated_by text NOT NULL DEFAULT '',
    PRIMARY KEY (dealer, kind, key)
);
CREATE INDEX catalog_parts_order ON catalog_parts (dealer, seq);

-- +goose Down
DROP TABLE catalog_parts;
