package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/worker"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workers"
)

// benchDealer is the dealer whose jobs A drives; the projection needs it in the store.
const benchDealer = "bench"

// jobSetup is what A needs: the dealer, the job numbers allocated for it, and the
// registration of the job workflow with its real dependencies.
type jobSetup struct {
	dealer   string
	numbers  []int64
	register func(worker.Registry)
	close    func()
	// st is the store the worker projects into; dbURL is its database, for the API
	// part's own pool.
	st    *store.Store
	dbURL string
}

// setupJobWorkflow starts a throwaway PostgreSQL, migrates it, creates the bench dealer
// and allocates total job numbers the way the API does, so the projection writes rows
// that exist, as in production. Allocation happens here, before any measuring.
func setupJobWorkflow(ctx context.Context, tmp string, total int, ref definitions.Ref, logger *slog.Logger,
	logf func(string, ...any),
) (_ *jobSetup, err error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()

	// os.MkdirTemp makes tmp private to root; PostgreSQL runs as its own user and
	// must be able to reach its data directory below it.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	pg, err := devstack.StartPostgres(ctx, filepath.Join(tmp, "postgres"), logf)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() {
		if err := pg.Stop(); err != nil {
			logf("stop postgres: %v", err)
		}
	})
	st, err := store.Open(ctx, pg.URL)
	if err != nil {
		return nil, err
	}
	closers = append(closers, st.Close)
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	if _, err := st.CreateDealer(ctx, store.Dealer{ID: benchDealer, Name: "Bench"}); err != nil {
		return nil, err
	}
	numbers, err := allocateJobs(ctx, st, "bench", total, ref)
	if err != nil {
		return nil, err
	}
	return &jobSetup{
		dealer:  benchDealer,
		numbers: numbers,
		st:      st,
		dbURL:   pg.URL,
		register: func(r worker.Registry) {
			workers.Register(r, workers.Deps{Store: st, Logger: logger})
		},
		close: closeAll,
	}, nil
}

// allocateJobs allocates k job numbers of the bench dealer as the API does, with
// idempotency keys <prefix>-0, <prefix>-1, ...
func allocateJobs(ctx context.Context, st *store.Store, prefix string, k int, ref definitions.Ref) ([]int64, error) {
	numbers := make([]int64, k)
	for i := range numbers {
		n, _, err := st.AllocateJob(ctx, benchDealer, fmt.Sprintf("%s-%d", prefix, i), "", job.Row{
			Source: job.SourceManual, Definition: ref, VehicleID: "v1", Location: "Berlin",
		})
		if err != nil {
			return nil, err
		}
		numbers[i] = n
	}
	return numbers, nil
}
