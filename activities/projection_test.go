package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/activities"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

func projection(seq int64, status job.Status) job.Projection {
	at := time.Date(2026, 11, 3, 9, 0, int(seq), 0, time.UTC)
	return job.Projection{
		Row: job.Row{
			Dealer: "d", Number: 1, Phase: "offer", PhaseName: "Angebot", Status: status,
			Turn: definitions.TurnCustomer, Source: job.SourceManual, Seq: seq, UpdatedAt: at,
			Definition: definitions.Ref{Workflow: "w", Version: 1, Hash: "h"},
		},
		Entries: []job.AuditEntry{{Seq: seq, At: at, Actor: job.Actor{Side: job.Staff, ID: "u"}, Action: job.ActionStatus}},
	}
}

func TestProjectJobRegisteredByName(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	_, err := s.CreateDealer(ctx, store.Dealer{ID: "d", Name: "D"})
	require.NoError(t, err)
	p := &activities.Projector{Store: s}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(p.ProjectJob, activity.RegisterOptions{Name: job.ActivityProject})

	in := projection(1, job.StatusOpen)
	_, err = env.ExecuteActivity(job.ActivityProject, in)
	require.NoError(t, err)
	_, err = env.ExecuteLocalActivity(p.ProjectJob, in)
	require.NoError(t, err, "a repeated projection is harmless")

	audit, err := s.Audit(ctx, "d", 1)
	require.NoError(t, err)
	require.Len(t, audit, 1)
	row, err := s.GetJob(ctx, "d", 1)
	require.NoError(t, err)
	require.Equal(t, in.Row, row)
}

func TestProjectJobRefusalIsNotRetried(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	_, err := s.CreateDealer(ctx, store.Dealer{ID: "d", Name: "D"})
	require.NoError(t, err)
	p := &activities.Projector{Store: s}

	for name, in := range map[string]job.Projection{
		"unknown status": projection(1, "lost"),
		"no job":         {},
		"unknown dealer": func() job.Projection { in := projection(1, job.StatusOpen); in.Row.Dealer = "x"; return in }(),
	} {
		err := p.ProjectJob(ctx, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: %v", name, err)
		require.True(t, appErr.NonRetryable(), name)
		require.Equal(t, activities.ErrTypeInvalidProjection, appErr.Type(), name)
	}

	// A transient failure (here: the pool is gone) stays retryable.
	s.Close()
	err = p.ProjectJob(ctx, projection(2, job.StatusOpen))
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.False(t, errors.As(err, &appErr) && appErr.NonRetryable())
}
