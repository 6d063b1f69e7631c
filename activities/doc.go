// Package activities holds the job workflow's own storage activities: the projection
// into PostgreSQL and the job data kept beside the workflow (invoice lines, the job's
// document texts). Documents, messages and payments have their own packages. Every
// activity is idempotent.
package activities
