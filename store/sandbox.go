package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/definitions"
)

// The sandbox's data: the definitions test jobs pin (a workflow's draft as it resolved
// when the test job started) and the test customers staff play (migration 00013).

// TestVersion is the version number of a test job's pinned definition; published
// versions start at 1, so a ref with it never names one.
const TestVersion = 0

// SaveTestDefinition keeps d, whose content hash is hash, as a definition test jobs
// may pin, and returns the ref they pin it by: version TestVersion with the hash.
// Saving the same content again changes nothing.
func (s *Store) SaveTestDefinition(ctx context.Context, dealer string, d definitions.Definition, hash string) (definitions.Ref, error) {
	key := d.Workflow.Key
	if key == "" || hash == "" {
		return definitions.Ref{}, fmt.Errorf("save test definition of dealer %q: workflow key and hash are required", dealer)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO test_definitions (dealer, workflow, hash, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (dealer, workflow, hash) DO NOTHING`, dealer, key, hash, d)
	if err != nil {
		return definitions.Ref{}, wrap(err, "save test definition of workflow %q for dealer %q", key, dealer)
	}
	return definitions.Ref{Workflow: key, Version: TestVersion, Hash: hash}, nil
}

// PinnedDefinition returns the definition a job pins by ref: a published version, or
// for version TestVersion the test definition with the ref's hash. ErrNotFound when
// the dealer has neither.
func (s *Store) PinnedDefinition(ctx context.Context, dealer string, ref definitions.Ref) (definitions.Version, error) {
	if ref.Version != TestVersion {
		return s.PublishedVersion(ctx, dealer, ref.Workflow, ref.Version)
	}
	var d definitions.Definition
	err := s.pool.QueryRow(ctx, `SELECT body FROM test_definitions WHERE dealer = $1 AND workflow = $2 AND hash = $3`,
		dealer, ref.Workflow, ref.Hash).Scan(&d)
	if err != nil {
		return definitions.Version{}, wrap(err, "test definition %s (hash %.12s) of dealer %q", ref, ref.Hash, dealer)
	}
	return definitions.Version{Workflow: ref.Workflow, Number: TestVersion, State: definitions.Draft, Hash: ref.Hash, Definition: d}, nil
}

// TestCustomer returns the dealer's test customer with the e-mail address (compared
// case-insensitively), made with name when there is none: the customer a staff member
// plays in the sandbox, so every message to "the customer" of a test job goes to the
// staff member's own address. Test customers are not found by the lookups of real
// customers by address.
func (s *Store) TestCustomer(ctx context.Context, dealer, name, email string) (Customer, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return Customer{}, fmt.Errorf("test customer of dealer %q: empty address: %w", dealer, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `
		INSERT INTO customers (id, dealer, name, email, test) VALUES ($1, $2, $3, $4, true)
		ON CONFLICT (dealer, lower(email)) WHERE test DO UPDATE SET name = EXCLUDED.name
		RETURNING `+customerColumns, newID(), dealer, name, email)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Customer])
	return c, wrap(err, "test customer %q of dealer %q", email, dealer)
}
