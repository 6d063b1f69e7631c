package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// ErrTypeInvalidProjection is the application error type of a projection the database
// refuses for good (a violated constraint, bad data). It is not retried: the workflow
// sees it at once instead of after a day of retries.
const ErrTypeInvalidProjection = "InvalidProjection"

// Projector writes the job read model and audit trail.
type Projector struct {
	Store *store.Store
}

// ProjectJob writes one projection. Register it under job.ActivityProject; the workflow
// runs it as a local activity from update handlers, so it is one short transaction.
// Repeating it is harmless: audit entries are keyed by seq and an older row never
// replaces a newer one.
func (p *Projector) ProjectJob(ctx context.Context, in job.Projection) error {
	if in.Row.Dealer == "" || in.Row.Number <= 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("projection names no job (dealer %q, number %d)", in.Row.Dealer, in.Row.Number),
			ErrTypeInvalidProjection, nil)
	}
	err := p.Store.Project(ctx, in)
	if err == nil {
		return nil
	}
	if store.IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidProjection, err)
	}
	return err
}
