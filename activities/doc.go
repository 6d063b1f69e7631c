// Package activities holds the job workflow's side effects: projection into PostgreSQL
// now; documents, messages and payments later. Every activity is idempotent.
package activities
