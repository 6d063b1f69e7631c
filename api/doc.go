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
// A customer sees only their own jobs and those their anonymous session started, or the
// one job of a signed link.
//
// Jobs start from four sources (sources.go): staff by hand, a customer parking a vehicle
// or asking for a call back on the public site, and a marketplace inquiry from an
// integration; all through one start (startJob). Vehicles and customers are kept by
// staff (vehicles.go).
//
// The staff side (staff.go): the job list's free text search and sorts, each staff
// user's saved filters and column views, the detail's phases with their states and its
// documents and attachments, and two actions for owners and admins: reopen (a new run
// of the job's workflow from the state the read model keeps) and migrate (to a newer
// published version of the job's workflow).
//
// Side effects the API touches itself (documents.go, outbox.go, webhooks.go): document
// versions are listed and downloaded from PostgreSQL, a document view is rendered on
// the request, an upload is checked and stored before the job records its ID (update
// attach-file), a failed message is sent again through the outbox, and bezahl.de's
// signed webhooks become the job's payment signal. The webhook route takes no login:
// the provider's signature is its credential.
//
// Errors are RFC 9457 problem details (application/problem+json) with a list of field
// problems; code names them by IDs of the message catalog (locales/*.toml), which words
// titles, details and reasons in German or English by Accept-Language (problem.go,
// messages.go). Every other state-changing route stores its first answer per
// Idempotency-Key (idempotency.go). api/openapi.yaml describes every route; the tests
// validate every request and answer against it.
package api
