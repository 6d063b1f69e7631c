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
// Errors are RFC 9457 problem details (application/problem+json).
package api
