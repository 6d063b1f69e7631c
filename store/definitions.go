package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/definitions"
)

const versionColumns = `workflow, version AS number, state, hash, body AS definition`

// SaveDraft stores d as the draft of its workflow (d.Workflow.Key), replacing the
// current draft or starting a new one numbered after the latest version. Drafts are not
// validated: an editor saves work in progress; PublishVersion validates.
func (s *Store) SaveDraft(ctx context.Context, dealer string, d definitions.Definition) (definitions.Version, error) {
	key := d.Workflow.Key
	if key == "" {
		return definitions.Version{}, errors.New("save draft: the definition has no workflow key")
	}
	var v definitions.Version
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockWorkflow(ctx, tx, dealer, key); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			INSERT INTO definitions (dealer, workflow, version, state, body)
			VALUES ($1, $2,
				(SELECT coalesce(max(version), 0) + 1 FROM definitions WHERE dealer = $1 AND workflow = $2),
				'draft', $3)
			ON CONFLICT (dealer, workflow) WHERE state = 'draft' DO UPDATE SET body = EXCLUDED.body
			RETURNING `+versionColumns,
			dealer, key, d)
		var err error
		v, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[definitions.Version])
		return err
	})
	return v, wrap(err, "save draft of workflow %q for dealer %q", key, dealer)
}

// Draft returns the draft of the workflow, or ErrNotFound when it has none.
func (s *Store) Draft(ctx context.Context, dealer, workflowKey string) (definitions.Version, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT `+versionColumns+` FROM definitions
		WHERE dealer = $1 AND workflow = $2 AND state = 'draft'`,
		dealer, workflowKey)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[definitions.Version])
	return v, wrap(err, "draft of workflow %q for dealer %q", workflowKey, dealer)
}

// PublishVersion validates the workflow's draft and publishes it under its version
// number with the hash of definitions.Publish. From then on the version is immutable (the
// database refuses to change it) and the next draft gets the next number. ErrNotFound
// when there is no draft; validation problems come back as definitions.Problems in the
// error chain.
func (s *Store) PublishVersion(ctx context.Context, dealer, workflowKey string) (definitions.Version, error) {
	var v definitions.Version
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockWorkflow(ctx, tx, dealer, workflowKey); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			SELECT `+versionColumns+` FROM definitions
			WHERE dealer = $1 AND workflow = $2 AND state = 'draft'
			FOR UPDATE`,
			dealer, workflowKey)
		draft, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[definitions.Version])
		if err != nil {
			return err
		}
		// Hash what was read back from the database, which is exactly what
		// PublishedVersion will return, so the hash can be checked against it any time.
		v, err = definitions.Publish(draft.Number, draft.Definition)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE definitions SET state = 'published', hash = $4, published_at = now()
			WHERE dealer = $1 AND workflow = $2 AND version = $3`,
			dealer, workflowKey, v.Number, v.Hash)
		return err
	})
	if err != nil {
		return definitions.Version{}, wrap(err, "publish workflow %q for dealer %q", workflowKey, dealer)
	}
	return v, nil
}

// PublishedVersion returns one published version, or ErrNotFound.
func (s *Store) PublishedVersion(ctx context.Context, dealer, workflowKey string, version int) (definitions.Version, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT `+versionColumns+` FROM definitions
		WHERE dealer = $1 AND workflow = $2 AND version = $3 AND state = 'published'`,
		dealer, workflowKey, version)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[definitions.Version])
	return v, wrap(err, "version %d of workflow %q for dealer %q", version, workflowKey, dealer)
}

// LatestPublished returns the newest published version of the workflow, or ErrNotFound.
func (s *Store) LatestPublished(ctx context.Context, dealer, workflowKey string) (definitions.Version, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT `+versionColumns+` FROM definitions
		WHERE dealer = $1 AND workflow = $2 AND state = 'published'
		ORDER BY version DESC LIMIT 1`,
		dealer, workflowKey)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[definitions.Version])
	return v, wrap(err, "latest published version of workflow %q for dealer %q", workflowKey, dealer)
}

// Versions returns every version of the workflow, draft included, oldest first.
func (s *Store) Versions(ctx context.Context, dealer, workflowKey string) ([]definitions.Version, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT `+versionColumns+` FROM definitions
		WHERE dealer = $1 AND workflow = $2
		ORDER BY version`,
		dealer, workflowKey)
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByName[definitions.Version])
	return vs, wrap(err, "versions of workflow %q for dealer %q", workflowKey, dealer)
}

// SetActiveWorkflow makes the workflow the one the dealer's new jobs start with. It must
// have a published version; ErrNotFound otherwise, or when the dealer does not exist.
func (s *Store) SetActiveWorkflow(ctx context.Context, dealer, workflowKey string) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE dealers SET active_workflow = $2
		WHERE id = $1 AND EXISTS (
			SELECT 1 FROM definitions WHERE dealer = $1 AND workflow = $2 AND state = 'published')`,
		dealer, workflowKey)
	if err != nil {
		return wrap(err, "set active workflow of dealer %q", dealer)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set active workflow of dealer %q: dealer or published workflow %q: %w", dealer, workflowKey, ErrNotFound)
	}
	return nil
}

// ActiveDefinition returns the latest published version of the dealer's active
// workflow: what a new job pins. ErrNotFound when the dealer has no active workflow.
func (s *Store) ActiveDefinition(ctx context.Context, dealer string) (definitions.Version, error) {
	rows, _ := s.pool.Query(ctx, `
		SELECT d.workflow, d.version AS number, d.state, d.hash, d.body AS definition
		FROM dealers r JOIN definitions d ON d.dealer = r.id AND d.workflow = r.active_workflow
		WHERE r.id = $1 AND d.state = 'published'
		ORDER BY d.version DESC LIMIT 1`,
		dealer)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[definitions.Version])
	return v, wrap(err, "active definition of dealer %q", dealer)
}

// lockWorkflow serialises draft and publish of one workflow, so two editors cannot both
// take the same next version number.
func lockWorkflow(ctx context.Context, tx pgx.Tx, dealer, workflowKey string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "definitions/"+dealer+"/"+workflowKey)
	return err
}
