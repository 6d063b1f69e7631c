package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// IdempotentRequest is a state-changing request by its Idempotency-Key and, once
// answered, its first answer.
type IdempotentRequest struct {
	// Dealer, Scope and Key identify the request: the route's dealer, the caller and
	// the caller's key.
	Dealer string
	Scope  string
	Key    string
	// Method, Path and Fingerprint tell a repeat from another request with the key.
	Method      string
	Path        string
	Fingerprint string
	// Done is false while the request runs; then Status, ContentType and Body are
	// its answer.
	Done        bool
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// SameRequest reports whether r and o are the same request (method, path, body).
func (r IdempotentRequest) SameRequest(o IdempotentRequest) bool {
	return r.Method == o.Method && r.Path == o.Path && r.Fingerprint == o.Fingerprint
}

// ClaimIdempotentRequest records req as running, unless its key is taken. When it
// claims the key (claimed true, with claim naming the claim), the caller runs the request and then
// stores the answer with CompleteIdempotentRequest or gives the key back with
// ReleaseIdempotentRequest. Otherwise prior is what the key holds: a request still
// running, or an answered one. A claim older than stale that never completed (its
// process died) is taken over by the same request, so a key cannot stay stuck.
func (s *Store) ClaimIdempotentRequest(ctx context.Context, req IdempotentRequest, stale time.Duration) (claimed bool, claim string, prior IdempotentRequest, err error) {
	claim = uuid.NewString()
	// A released claim vanishes between the insert and the read; the second round then
	// claims the key.
	for range 3 {
		var took bool
		err = s.pool.QueryRow(ctx, `
			INSERT INTO idempotent_requests AS r (dealer, scope, key, method, path, fingerprint, claim)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (dealer, scope, key) DO UPDATE SET claim = EXCLUDED.claim, created_at = now()
				WHERE r.status IS NULL AND r.created_at < now() - make_interval(secs => $8)
				AND r.method = EXCLUDED.method AND r.path = EXCLUDED.path AND r.fingerprint = EXCLUDED.fingerprint
			RETURNING true`,
			req.Dealer, req.Scope, req.Key, req.Method, req.Path, req.Fingerprint, claim, stale.Seconds()).Scan(&took)
		if err == nil {
			return true, claim, IdempotentRequest{}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, "", IdempotentRequest{}, wrap(err, "claim idempotency key %q", req.Key)
		}
		prior, err = s.idempotentRequest(ctx, req.Dealer, req.Scope, req.Key)
		if err == nil {
			return false, "", prior, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return false, "", IdempotentRequest{}, err
		}
	}
	return false, "", IdempotentRequest{}, fmt.Errorf("claim idempotency key %q: the key is claimed and released over and over", req.Key)
}

func (s *Store) idempotentRequest(ctx context.Context, dealer, scope, key string) (IdempotentRequest, error) {
	r := IdempotentRequest{Dealer: dealer, Scope: scope, Key: key}
	var status *int32
	var contentType *string
	err := s.pool.QueryRow(ctx, `
		SELECT method, path, fingerprint, status, content_type, body, created_at
		FROM idempotent_requests WHERE dealer = $1 AND scope = $2 AND key = $3`,
		dealer, scope, key).Scan(&r.Method, &r.Path, &r.Fingerprint, &status, &contentType, &r.Body, &r.CreatedAt)
	if err != nil {
		return IdempotentRequest{}, wrap(err, "read idempotency key %q", key)
	}
	if status != nil {
		r.Done, r.Status = true, int(*status)
	}
	if contentType != nil {
		r.ContentType = *contentType
	}
	return r, nil
}

// CompleteIdempotentRequest stores the answer of the request that holds claim. It
// reports false when the claim was lost (taken over as stale), so the answer was not
// stored.
func (s *Store) CompleteIdempotentRequest(ctx context.Context, dealer, scope, key, claim string, status int, contentType string, body []byte) (bool, error) {
	if body == nil {
		body = []byte{}
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE idempotent_requests SET status = $5, content_type = $6, body = $7, completed_at = now()
		WHERE dealer = $1 AND scope = $2 AND key = $3 AND claim = $4 AND status IS NULL`,
		dealer, scope, key, claim, status, contentType, body)
	if err != nil {
		return false, wrap(err, "store answer of idempotency key %q", key)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseIdempotentRequest gives back a key whose request did not finish with an
// answer worth keeping, so a repeat runs it again.
func (s *Store) ReleaseIdempotentRequest(ctx context.Context, dealer, scope, key, claim string) error {
	_, err := s.pool.Exec(ctx, `
		DELETE FROM idempotent_requests WHERE dealer = $1 AND scope = $2 AND key = $3 AND claim = $4 AND status IS NULL`,
		dealer, scope, key, claim)
	if err != nil {
		return wrap(err, "release idempotency key %q", key)
	}
	return nil
}
