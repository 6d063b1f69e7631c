-- +goose Up
-- A fingerprint of the request body, so a key reused for a different request is refused
-- instead of silently answering with the first request's job.
ALTER TABLE job_requests ADD COLUMN fingerprint text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE job_requests DROP COLUMN fingerprint;
