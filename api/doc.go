// Package api is the gin HTTP server: JSON API under /api/v1, health. It translates web
// actions into Temporal updates, signals and queries and reads lists from the PostgreSQL
// read model.
//
// Interactive actions are workflow updates: the caller waits for the answer, a rejected
// request leaves no trace, and every update carries an ID derived from the request's
// Idempotency-Key, so a retried request is applied once. Lists, the job row and its
// history come from the read model, so they work while no worker runs; only the live
// view needs a worker (a workflow query).
//
// Package auth's middleware tells who calls every route below /api/v1/dealers/:dealer
// (staff session, customer session, API token); guards refuse the wrong caller, and the
// path's dealer must be the caller's: another dealer's jobs do not exist for them (404).
// A customer sees only their own jobs, or the one job of a signed link.
//
// Errors are RFC 9457 problem details (application/problem+json) with a list of field
// problems; code names them by IDs of the message catalog (locales/*.toml), which words
// titles, details and reasons in German or English by Accept-Language (problem.go,
// messages.go). Every other state-changing route stores its first answer per
// Idempotency-Key (idempotency.go). api/openapi.yaml describes every route; the tests
// validate every request and answer against it.
package api
