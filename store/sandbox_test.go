package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// TestTestJobs: a test job keeps its mark through projections and is listed only when
// asked; its pinned definition is found by hash; test customers are apart from real
// ones.
func TestTestJobs(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "a")

	d, err := definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)
	hash, err := d.Hash()
	require.NoError(t, err)
	ref, err := s.SaveTestDefinition(ctx, "a", d, hash)
	require.NoError(t, err)
	require.Equal(t, definitions.Ref{Workflow: d.Workflow.Key, Version: store.TestVersion, Hash: hash}, ref)
	again, err := s.SaveTestDefinition(ctx, "a", d, hash)
	require.NoError(t, err, "saving the same content again is fine")
	require.Equal(t, ref, again)
	v, err := s.PinnedDefinition(ctx, "a", ref)
	require.NoError(t, err)
	require.Equal(t, d.Workflow.Key, v.Definition.Workflow.Key)
	require.Equal(t, hash, v.Hash)
	_, err = s.PinnedDefinition(ctx, "a", definitions.Ref{Workflow: ref.Workflow, Hash: "other"})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.PinnedDefinition(ctx, "a", definitions.Ref{Workflow: ref.Workflow, Version: 1, Hash: hash})
	require.ErrorIs(t, err, store.ErrNotFound, "version 1 is looked up among published versions")

	plain, _, err := s.AllocateJob(ctx, "a", "", "", row("a", 0, 0))
	require.NoError(t, err)
	testRow := row("a", 0, 0)
	testRow.Test, testRow.Definition = true, ref
	test, _, err := s.AllocateJob(ctx, "a", "", "", testRow)
	require.NoError(t, err)
	// The workflow's projections know nothing of tests: the mark stays.
	for _, n := range []int64{plain, test} {
		r := row("a", n, 1)
		require.NoError(t, s.Project(ctx, job.Projection{Row: r}))
	}
	got, err := s.GetJob(ctx, "a", test)
	require.NoError(t, err)
	require.True(t, got.Test)

	numbers := func(f store.TestFilter) []int64 {
		rows, _, err := s.ListJobs(ctx, "a", store.JobFilter{Test: f})
		require.NoError(t, err)
		var out []int64
		for _, r := range rows {
			out = append(out, r.Number)
		}
		return out
	}
	require.Equal(t, []int64{plain}, numbers(store.TestExclude))
	require.Equal(t, []int64{test}, numbers(store.TestOnly))
	require.ElementsMatch(t, []int64{plain, test}, numbers(store.TestInclude))
	_, _, err = s.ListJobs(ctx, "a", store.JobFilter{Test: "maybe"})
	require.ErrorIs(t, err, store.ErrUnknownTestFilter)

	c1, err := s.TestCustomer(ctx, "a", "Petra", "petra@autohaus.example")
	require.NoError(t, err)
	c2, err := s.TestCustomer(ctx, "a", "Petra Schulz", "PETRA@autohaus.example")
	require.NoError(t, err)
	require.Equal(t, c1.ID, c2.ID, "one test customer per address")
	require.Equal(t, "Petra Schulz", c2.Name)
	_, err = s.FindCustomerByEmail(ctx, "a", "petra@autohaus.example")
	require.ErrorIs(t, err, store.ErrNotFound, "a test customer is no real customer")
	_, err = s.CustomerAccountByEmail(ctx, "a", "petra@autohaus.example")
	require.ErrorIs(t, err, store.ErrNotFound)
	realCust, created, err := s.FindOrCreateCustomer(ctx, store.Customer{Dealer: "a", Name: "Petra privat", Email: "petra@autohaus.example"})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, c1.ID, realCust.ID)
}
