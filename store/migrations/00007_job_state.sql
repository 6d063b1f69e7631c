-- +goose Up
-- The job workflow's whole state as of the row's seq, so a closed job can be reopened
-- in a new run long after Temporal's retention has dropped the old one.
ALTER TABLE jobs ADD COLUMN state jsonb;

-- +goose Down
ALTER TABLE jobs DROP COLUMN state;
