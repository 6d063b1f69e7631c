-- Job list indexes that answer combined filters inside the index.
--
-- Each list index orders one filter's jobs by the list's sort. A second filter used to be
-- checked against the table row: when few or no jobs match the combination (open jobs
-- of one salesperson in a phase where it is never the customer's turn), the scan read
-- the row of every job in the first filter's range, 22,000 rows and 30 ms for a busy
-- salesperson out of 100,000 jobs (measured with `make bench`; EXPLAIN ANALYZE showed
-- "Rows Removed by Filter: 22354"). The few-valued filter columns now follow the sort
-- key in every index: PostgreSQL checks equality on them against the index entry, and
-- reads a row only for a job that matches, which brought that query to 2.4 ms. They sit
-- after updated_at and number, so the order a page is read in is unchanged. Vehicle and
-- customer need nothing more: a vehicle or customer has a handful of jobs. The price is
-- in every projection, which rewrites the row and so every index entry: 20,000 single
-- row updates took 2.07 s against 1.76 s with the narrow indexes, 0.015 ms more each.
--
-- A set of several statuses (status=open,sold) is an array comparison, which PostgreSQL
-- 15 checks only against the row when it is not the index's first column; a single
-- status is compared with = (store.ListJobs), which the index can check.
--
-- Free text (jobs.search LIKE '%fragment%', migration 00009) is estimated from the
-- column's statistics. With the default 100 sampled values, a fragment that one sample
-- happened to contain was taken to match 1 % of the jobs, and the planner read the list
-- in order expecting 51 matches soon, while a vehicle number matches twenty: 90 ms,
-- every row of the dealer read ("Rows Removed by Filter: 99976"). A thousand samples
-- estimate such fragments as rare, so the trigram index finds them: 2.3 ms at worst
-- over 150 vehicle numbers; common names still read the list in order (3-6 ms).

-- +goose Up
ALTER TABLE jobs ALTER COLUMN search SET STATISTICS 1000;
DROP INDEX jobs_list;
DROP INDEX jobs_status;
DROP INDEX jobs_phase;
DROP INDEX jobs_salesperson;
DROP INDEX jobs_location;
CREATE INDEX jobs_list ON jobs (dealer, updated_at DESC, number DESC, status, phase, turn, source, location);
-- Status and phase descending: their sorts (store.SortStatus, SortPhase) read these
-- indexes in order (migration 00009).
CREATE INDEX jobs_status ON jobs (dealer, status DESC, updated_at DESC, number DESC, phase, turn, source, location);
CREATE INDEX jobs_phase ON jobs (dealer, phase DESC, updated_at DESC, number DESC, status, turn, source, location);
CREATE INDEX jobs_salesperson ON jobs (dealer, salesperson, updated_at DESC, number DESC, status, phase, turn, source, location);
CREATE INDEX jobs_location ON jobs (dealer, location, updated_at DESC, number DESC, status, phase, turn, source);

-- +goose Down
ALTER TABLE jobs ALTER COLUMN search SET STATISTICS -1;
DROP INDEX jobs_location;
DROP INDEX jobs_salesperson;
DROP INDEX jobs_phase;
DROP INDEX jobs_status;
DROP INDEX jobs_list;
CREATE INDEX jobs_list ON jobs (dealer, updated_at DESC, number DESC);
CREATE INDEX jobs_status ON jobs (dealer, status DESC, updated_at DESC, number DESC);
CREATE INDEX jobs_phase ON jobs (dealer, phase DESC, updated_at DESC, number DESC);
CREATE INDEX jobs_salesperson ON jobs (dealer, salesperson, updated_at DESC, number DESC);
CREATE INDEX jobs_location ON jobs (dealer, location, updated_at DESC, number DESC);
