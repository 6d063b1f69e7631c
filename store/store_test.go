package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

func newDealer(t *testing.T, s *store.Store, id string) store.Dealer {
	t.Helper()
	d, err := s.CreateDealer(context.Background(), store.Dealer{ID: id, Name: "Autohaus " + id, Settings: map[string]any{"lang": "de"}})
	require.NoError(t, err)
	return d
}

func row(dealer string, number, seq int64) job.Row {
	return job.Row{
		Dealer: dealer, Number: number, Phase: "offer", PhaseName: "Angebot", Status: job.StatusOpen,
		Turn: definitions.TurnStaff, Source: job.SourceManual, Seq: seq,
		Definition: definitions.Ref{Workflow: "standard_basic", Version: 1, Hash: "abc"},
		UpdatedAt:  time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute),
	}
}

func entry(seq int64, action string) job.AuditEntry {
	return job.AuditEntry{
		Seq: seq, At: time.Date(2026, 11, 1, 10, 0, int(seq), 0, time.UTC),
		Actor: job.Actor{Side: job.Staff, ID: "u1"}, Action: action, Phase: "offer",
		Before: map[string]any{"status": "open"}, After: map[string]any{"status": "sold", "n": 2.5},
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	current, latest, err := store.SchemaVersion(ctx, s.Pool())
	require.NoError(t, err)
	require.Positive(t, latest)
	require.Equal(t, latest, current)

	var before, after int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&before))
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, store.Migrate(ctx, s.Pool()))
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&after))
	require.Equal(t, before, after)
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- store.MigrateURL(ctx, u) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestDealersStaffCustomersVehicles(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)

	d := newDealer(t, s, "autohaus-berg")
	require.Equal(t, int64(1), d.NextJobNumber)
	require.Equal(t, "de", d.Settings["lang"])
	require.Equal(t, time.UTC, d.CreatedAt.Location())
	_, err := s.CreateDealer(ctx, store.Dealer{ID: "autohaus-berg", Name: "again"})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateDealer(ctx, store.Dealer{ID: "Bad/Slug", Name: "x"})
	require.Error(t, err, "a dealer ID must be usable in workflow IDs")
	got, err := s.GetDealer(ctx, "autohaus-berg")
	require.NoError(t, err)
	require.Equal(t, d, got)
	_, err = s.GetDealer(ctx, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)

	u, err := s.CreateStaffUser(ctx, store.StaffUser{Dealer: d.ID, Email: "Anna@Berg.example", Name: "Anna", Role: store.RoleOwner, PasswordHash: "$2a$hash"})
	require.NoError(t, err)
	require.NotEmpty(t, u.ID)
	byMail, err := s.GetStaffUserByEmail(ctx, d.ID, "anna@berg.example")
	require.NoError(t, err)
	require.Equal(t, u, byMail)
	require.Equal(t, "$2a$hash", byMail.PasswordHash)
	byID, err := s.GetStaffUser(ctx, d.ID, u.ID)
	require.NoError(t, err)
	require.Equal(t, u, byID)
	_, err = s.CreateStaffUser(ctx, store.StaffUser{Dealer: d.ID, Email: "anna@berg.example", Name: "Anna 2", Role: store.RoleSales, PasswordHash: "x"})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateStaffUser(ctx, store.StaffUser{Dealer: d.ID, Email: "b@berg.example", Name: "B", Role: "boss", PasswordHash: "x"})
	require.Error(t, err)
	_, err = s.GetStaffUser(ctx, d.ID, "not-a-uuid")
	require.ErrorIs(t, err, store.ErrNotFound)
	staff, err := s.ListStaffUsers(ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, staff, 1)

	c, err := s.CreateCustomer(ctx, store.Customer{Dealer: d.ID, Name: "Jörg Müller", Email: "j@example.com", Phone: "+49 170 1234567"})
	require.NoError(t, err)
	gotC, err := s.GetCustomer(ctx, d.ID, c.ID)
	require.NoError(t, err)
	require.Equal(t, c, gotC)
	_, err = s.GetCustomer(ctx, "other", c.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a customer is only visible to its dealer")
	require.Equal(t, store.LanguageGerman, c.Language, "customers read German unless told otherwise")
	en, err := s.CreateCustomer(ctx, store.Customer{Dealer: d.ID, Name: "John Smith", Language: store.LanguageEnglish})
	require.NoError(t, err)
	require.Equal(t, store.LanguageEnglish, en.Language)
	de := store.LanguageGerman
	rec, err := s.UpdateCustomer(ctx, d.ID, en.ID, store.CustomerChange{Language: &de})
	require.NoError(t, err)
	require.Equal(t, store.LanguageGerman, rec.Language)
	fr := "fr"
	_, err = s.UpdateCustomer(ctx, d.ID, en.ID, store.CustomerChange{Language: &fr})
	require.Error(t, err, "the database knows only de and en")

	v, err := s.CreateVehicle(ctx, d.ID, job.Vehicle{Number: "V-100", Make: "VW", Model: "Golf", PriceCents: 2_345_600, Location: "Berg", Extras: []string{"ahk", "navi"}})
	require.NoError(t, err)
	gotV, err := s.GetVehicle(ctx, d.ID, v.ID)
	require.NoError(t, err)
	require.Equal(t, v, gotV)
	require.Equal(t, []string{"ahk", "navi"}, gotV.Extras)
	_, err = s.CreateVehicle(ctx, d.ID, job.Vehicle{Number: "V-100"})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateVehicle(ctx, d.ID, job.Vehicle{Number: "V-099"})
	require.NoError(t, err)
	vs, err := s.ListVehicles(ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, vs, 2)
	require.Equal(t, "V-099", vs[0].Number)
	require.Equal(t, []string{}, vs[0].Extras)
	_, err = s.GetVehicle(ctx, d.ID, "V-100")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAllocateJobSequentialPerDealerAndIdempotent(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "a")
	newDealer(t, s, "b")

	r := job.Row{Source: job.SourcePark, Phase: "start", Definition: definitions.Ref{Workflow: "w", Version: 1, Hash: "h"}}
	n, created, err := s.AllocateJob(ctx, "a", "req-1", "", r)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(1), n)
	n, created, err = s.AllocateJob(ctx, "a", "req-2", "", r)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(2), n)
	n, created, err = s.AllocateJob(ctx, "a", "req-1", "", r)
	require.NoError(t, err)
	require.False(t, created, "the same request key never creates a second job")
	require.Equal(t, int64(1), n)
	n, created, err = s.AllocateJob(ctx, "b", "req-1", "", r)
	require.NoError(t, err)
	require.True(t, created, "request keys are per dealer")
	require.Equal(t, int64(1), n, "numbers are per dealer")

	got, err := s.GetJob(ctx, "a", 2)
	require.NoError(t, err)
	require.Equal(t, int64(0), got.Seq)
	require.Equal(t, job.StatusOpen, got.Status)
	require.Equal(t, job.SourcePark, got.Source)
	require.Equal(t, "start", got.Phase)
	require.Equal(t, r.Definition, got.Definition)
	require.False(t, got.UpdatedAt.IsZero())

	d, err := s.GetDealer(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, int64(3), d.NextJobNumber)

	_, _, err = s.AllocateJob(ctx, "nobody", "req-1", "", r)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.AllocateJob(ctx, "a", "req-bad", "", job.Row{Source: "carrier-pigeon"})
	require.Error(t, err)
	n, _, err = s.AllocateJob(ctx, "a", "req-3", "", r)
	require.NoError(t, err)
	require.Equal(t, int64(3), n, "a failed allocation does not use up a number")

	_, err = s.GetJob(ctx, "a", 99)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestAllocateJobConcurrent(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "busy")
	r := job.Row{Source: job.SourceManual}

	const workers = 20
	numbers := make([]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { numbers[i], _, errs[i] = s.AllocateJob(ctx, "busy", fmt.Sprintf("req-%d", i), "", r) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	slices.Sort(numbers)
	for i, n := range numbers {
		require.Equal(t, int64(i+1), n, "distinct consecutive numbers")
	}

	// The same request sent many times at once makes one job.
	same := make([]int64, workers)
	createdCount := 0
	var mu sync.Mutex
	for i := range workers {
		wg.Go(func() {
			n, created, err := s.AllocateJob(ctx, "busy", "same-request", "", r)
			errs[i] = err
			same[i] = n
			if created {
				mu.Lock()
				createdCount++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := range workers {
		require.NoError(t, errs[i])
		require.Equal(t, int64(workers+1), same[i])
	}
	require.Equal(t, 1, createdCount)
}

func TestProjectIdempotentAndNeverOlder(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	n, _, err := s.AllocateJob(ctx, "d", "k", "", job.Row{Source: job.SourceManual})
	require.NoError(t, err)

	p := job.Projection{Row: row("d", n, 2), Entries: []job.AuditEntry{entry(1, job.ActionCreated), entry(2, job.ActionActivate)}}
	require.NoError(t, s.Project(ctx, p))
	require.NoError(t, s.Project(ctx, p), "a retried projection")
	audit, err := s.Audit(ctx, "d", n)
	require.NoError(t, err)
	require.Len(t, audit, 2, "one entry per seq, however often projected")
	require.Equal(t, p.Entries, audit)

	got, err := s.GetJob(ctx, "d", n)
	require.NoError(t, err)
	require.Equal(t, p.Row, got)

	newer := job.Projection{Row: row("d", n, 4), Entries: []job.AuditEntry{entry(4, job.ActionStatus), entry(3, job.ActionSubmit)}}
	newer.Row.Status, newer.Row.Phase, newer.Row.Turn = job.StatusSold, "order", definitions.TurnCustomer
	newer.Entries[1].Before, newer.Entries[1].After = nil, nil
	require.NoError(t, s.Project(ctx, newer))

	// A late write of an older state adds its missing entry but leaves the row alone.
	older := job.Projection{Row: row("d", n, 3), Entries: []job.AuditEntry{entry(3, "should-not-replace")}}
	older.Row.Phase = "stale"
	require.NoError(t, s.Project(ctx, older))
	samePos := job.Projection{Row: row("d", n, 4)}
	samePos.Row.Phase = "same-seq"
	require.NoError(t, s.Project(ctx, samePos))

	got, err = s.GetJob(ctx, "d", n)
	require.NoError(t, err)
	require.Equal(t, newer.Row, got)

	audit, err = s.Audit(ctx, "d", n)
	require.NoError(t, err)
	require.Len(t, audit, 4)
	for i, e := range audit {
		require.Equal(t, int64(i+1), e.Seq, "ordered by seq")
	}
	require.Equal(t, job.ActionSubmit, audit[2].Action, "the first write of a seq stays")
	require.Nil(t, audit[2].Before)
	require.Equal(t, map[string]any{"status": "sold", "n": 2.5}, audit[3].After)
	require.Equal(t, time.UTC, audit[0].At.Location())
}

func TestProjectInsertsMissingRow(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	p := job.Projection{Row: row("d", 7, 1), Entries: []job.AuditEntry{entry(1, job.ActionCreated)}}
	p.Row.UpdatedAt = time.Time{}
	require.NoError(t, s.Project(ctx, p))
	got, err := s.GetJob(ctx, "d", 7)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Seq)
	require.WithinDuration(t, time.Now(), got.UpdatedAt, time.Minute, "a missing time means now")

	bad := job.Projection{Row: row("d", 8, 1)}
	bad.Row.Status = "lost"
	err = s.Project(ctx, bad)
	require.Error(t, err)
	require.True(t, store.IsPermanent(err))
}

func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	require.NoError(t, s.Project(ctx, job.Projection{Row: row("d", 1, 2), Entries: []job.AuditEntry{entry(1, job.ActionCreated), entry(2, job.ActionSubmit)}}))

	var super bool
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super))
	t.Logf("connected as superuser: %v", super)

	for _, sql := range []string{
		"UPDATE job_audit SET action = 'forged' WHERE seq = 1",
		"UPDATE job_audit SET action = 'forged' WHERE false",
		"DELETE FROM job_audit WHERE seq = 2",
		"DELETE FROM job_audit",
		"TRUNCATE job_audit",
		"TRUNCATE jobs CASCADE",
	} {
		_, err := s.Pool().Exec(ctx, sql)
		require.ErrorContains(t, err, "append-only", sql)
	}

	// Replication mode skips ordinary triggers; this one is enabled ALWAYS.
	conn, err := s.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET session_replication_role = replica")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "DELETE FROM job_audit")
	require.ErrorContains(t, err, "append-only")
	_, err = conn.Exec(ctx, "RESET session_replication_role")
	require.NoError(t, err)

	audit, err := s.Audit(ctx, "d", 1)
	require.NoError(t, err)
	require.Len(t, audit, 2)
	require.Equal(t, job.ActionCreated, audit[0].Action)
}

func TestDefinitionVersions(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	def, err := definitions.StandardDefinition(definitions.StandardBasic)
	require.NoError(t, err)
	key := def.Workflow.Key

	_, err = s.PublishVersion(ctx, "d", key)
	require.ErrorIs(t, err, store.ErrNotFound, "nothing to publish without a draft")

	draft, err := s.SaveDraft(ctx, "d", def)
	require.NoError(t, err)
	require.Equal(t, 1, draft.Number)
	require.Equal(t, definitions.Draft, draft.State)
	def.Workflow.Name = "Mein Ablauf"
	draft, err = s.SaveDraft(ctx, "d", def)
	require.NoError(t, err)
	require.Equal(t, 1, draft.Number, "saving again replaces the draft")
	gotDraft, err := s.Draft(ctx, "d", key)
	require.NoError(t, err)
	require.Equal(t, "Mein Ablauf", gotDraft.Definition.Workflow.Name)

	v1, err := s.PublishVersion(ctx, "d", key)
	require.NoError(t, err)
	want, err := definitions.Publish(1, def)
	require.NoError(t, err)
	require.Equal(t, want.Hash, v1.Hash)
	require.Equal(t, definitions.Published, v1.State)
	require.Equal(t, 1, v1.Number)

	stored, err := s.PublishedVersion(ctx, "d", key, 1)
	require.NoError(t, err)
	require.Equal(t, v1, stored)
	rehash, err := stored.Definition.Hash()
	require.NoError(t, err)
	require.Equal(t, v1.Hash, rehash, "the stored body hashes to the published hash")
	_, err = s.Draft(ctx, "d", key)
	require.ErrorIs(t, err, store.ErrNotFound)

	for _, sql := range []string{
		"UPDATE definitions SET body = '{}' WHERE version = 1",
		"UPDATE definitions SET state = 'draft' WHERE version = 1",
		"DELETE FROM definitions WHERE version = 1",
		"TRUNCATE definitions",
	} {
		_, err := s.Pool().Exec(ctx, sql)
		require.ErrorContains(t, err, "immutable", sql)
	}

	def.Workflow.Name = "Mein Ablauf 2"
	draft, err = s.SaveDraft(ctx, "d", def)
	require.NoError(t, err)
	require.Equal(t, 2, draft.Number)
	v2, err := s.PublishVersion(ctx, "d", key)
	require.NoError(t, err)
	require.Equal(t, 2, v2.Number)
	require.NotEqual(t, v1.Hash, v2.Hash)
	latest, err := s.LatestPublished(ctx, "d", key)
	require.NoError(t, err)
	require.Equal(t, v2, latest)
	stillV1, err := s.PublishedVersion(ctx, "d", key, 1)
	require.NoError(t, err)
	require.Equal(t, v1, stillV1)

	broken := def
	broken.Workflow.Name = ""
	_, err = s.SaveDraft(ctx, "d", broken)
	require.NoError(t, err, "drafts may be incomplete")
	_, err = s.PublishVersion(ctx, "d", key)
	problems, ok := definitions.AsProblems(err)
	require.True(t, ok, "validation problems reach the caller: %v", err)
	require.NotEmpty(t, problems)
	versions, err := s.Versions(ctx, "d", key)
	require.NoError(t, err)
	require.Len(t, versions, 3)
	require.Equal(t, definitions.Draft, versions[2].State)

	_, err = s.ActiveDefinition(ctx, "d")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.SetActiveWorkflow(ctx, "d", "no-such-workflow"), store.ErrNotFound)
	require.NoError(t, s.SetActiveWorkflow(ctx, "d", key))
	active, err := s.ActiveDefinition(ctx, "d")
	require.NoError(t, err)
	require.Equal(t, v2, active)
	_, err = s.PublishedVersion(ctx, "d", key, 3)
	require.ErrorIs(t, err, store.ErrNotFound, "a draft is not a published version")
}

func TestListJobsFiltersAndCursor(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	newDealer(t, s, "other")
	base := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	type spec struct {
		status      job.Status
		phase       string
		turn        definitions.Turn
		salesperson string
		location    string
		source      job.Source
		vehicle     string
		customer    string
	}
	specs := []spec{
		{job.StatusOpen, "offer", definitions.TurnStaff, "anna", "berg", job.SourceManual, "v1", "c1"},
		{job.StatusOpen, "offer", definitions.TurnCustomer, "ben", "berg", job.SourcePark, "v2", "c2"},
		{job.StatusSold, "order", definitions.TurnStaff, "anna", "tal", job.SourceCallback, "v1", "c3"},
		{job.StatusClosed, "handover", definitions.TurnStaff, "ben", "tal", job.SourceMarketplace, "v3", "c1"},
		{job.StatusOpen, "offer", definitions.TurnCustomer, "anna", "berg", job.SourcePark, "v4", "c4"},
		{job.StatusCanceled, "offer", definitions.TurnStaff, "anna", "berg", job.SourceManual, "v5", "c5"},
		{job.StatusOpen, "start", definitions.TurnStaff, "ben", "berg", job.SourceManual, "v6", "c6"},
	}
	for i, sp := range specs {
		n := int64(i + 1)
		r := job.Row{
			Dealer: "d", Number: n, Phase: sp.phase, Status: sp.status, Turn: sp.turn, Salesperson: sp.salesperson,
			Location: sp.location, Source: sp.source, VehicleID: sp.vehicle, CustomerID: sp.customer, Seq: 1,
			UpdatedAt: base.Add(time.Duration(i) * time.Minute),
		}
		if n == 6 {
			r.UpdatedAt = base.Add(4 * time.Minute) // a tie with job 5, broken by number
		}
		require.NoError(t, s.Project(ctx, job.Projection{Row: r}))
	}
	other := row("other", 1, 1)
	require.NoError(t, s.Project(ctx, job.Projection{Row: other}))

	numbers := func(f store.JobFilter) []int64 {
		t.Helper()
		rows, next, err := s.ListJobs(ctx, "d", f)
		require.NoError(t, err)
		require.Empty(t, next)
		var ns []int64
		for _, r := range rows {
			require.Equal(t, "d", r.Dealer)
			ns = append(ns, r.Number)
		}
		return ns
	}
	require.Equal(t, []int64{7, 6, 5, 4, 3, 2, 1}, numbers(store.JobFilter{}))
	require.Equal(t, []int64{7, 5, 2, 1}, numbers(store.JobFilter{Statuses: []job.Status{job.StatusOpen}}))
	require.Equal(t, []int64{7, 5, 3, 2, 1}, numbers(store.JobFilter{Statuses: []job.Status{job.StatusOpen, job.StatusSold}}))
	require.Equal(t, []int64{6, 5, 2, 1}, numbers(store.JobFilter{Phase: "offer"}))
	require.Equal(t, []int64{5, 2}, numbers(store.JobFilter{Turn: definitions.TurnCustomer}))
	require.Equal(t, []int64{6, 5, 3, 1}, numbers(store.JobFilter{Salesperson: "anna"}))
	require.Equal(t, []int64{4, 3}, numbers(store.JobFilter{Location: "tal"}))
	require.Equal(t, []int64{5, 2}, numbers(store.JobFilter{Source: job.SourcePark}))
	require.Equal(t, []int64{3, 1}, numbers(store.JobFilter{VehicleID: "v1"}))
	require.Equal(t, []int64{4, 1}, numbers(store.JobFilter{CustomerID: "c1"}))
	require.Equal(t, []int64{5, 1}, numbers(store.JobFilter{Statuses: []job.Status{job.StatusOpen}, Salesperson: "anna", Location: "berg"}))
	require.Empty(t, numbers(store.JobFilter{Phase: "nope"}))

	var all []int64
	cursor := ""
	pages := 0
	for {
		rows, next, err := s.ListJobs(ctx, "d", store.JobFilter{Limit: 3, Cursor: cursor})
		require.NoError(t, err)
		require.LessOrEqual(t, len(rows), 3)
		for _, r := range rows {
			all = append(all, r.Number)
		}
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, 3, pages)
	require.Equal(t, []int64{7, 6, 5, 4, 3, 2, 1}, all, "pages neither skip nor repeat, ties included")

	rows, next, err := s.ListJobs(ctx, "d", store.JobFilter{Limit: 2, Statuses: []job.Status{job.StatusOpen}})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	rows, next, err = s.ListJobs(ctx, "d", store.JobFilter{Limit: 2, Statuses: []job.Status{job.StatusOpen}, Cursor: next})
	require.NoError(t, err)
	require.Equal(t, []int64{2, 1}, []int64{rows[0].Number, rows[1].Number})
	require.Empty(t, next, "an exactly full last page has no next cursor")

	_, _, err = s.ListJobs(ctx, "d", store.JobFilter{Cursor: "garbage!"})
	require.ErrorIs(t, err, store.ErrInvalidCursor)
}

// A projection is all or nothing: one broken audit entry leaves neither the row nor the
// other entries behind, so a retry after a fix starts from a clean state.
func TestProjectIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	n, _, err := s.AllocateJob(ctx, "d", "k", "", job.Row{Source: job.SourceManual})
	require.NoError(t, err)
	p := job.Projection{Row: row("d", n, 2), Entries: []job.AuditEntry{entry(1, job.ActionCreated), entry(2, "")}}
	require.Error(t, s.Project(ctx, p), "an entry without action violates its check")

	got, err := s.GetJob(ctx, "d", n)
	require.NoError(t, err)
	require.Equal(t, int64(0), got.Seq, "the row is unchanged")
	audit, err := s.Audit(ctx, "d", n)
	require.NoError(t, err)
	require.Empty(t, audit, "the valid first entry was rolled back too")
}

// A number whose workflow never started (seq 0) is not listed: nobody can work on it
// until the client's retry starts it.
func TestListJobsHidesUnstartedJobs(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	n, _, err := s.AllocateJob(ctx, "d", "k", "", job.Row{Source: job.SourceManual})
	require.NoError(t, err)
	jobs, _, err := s.ListJobs(ctx, "d", store.JobFilter{})
	require.NoError(t, err)
	require.Empty(t, jobs)
	require.NoError(t, s.Project(ctx, job.Projection{Row: row("d", n, 1), Entries: []job.AuditEntry{entry(1, job.ActionCreated)}}))
	jobs, _, err = s.ListJobs(ctx, "d", store.JobFilter{})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
}

// The state travels with the row that wins: an older projection leaves it alone.
func TestProjectKeepsTheNewestState(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	n, _, err := s.AllocateJob(ctx, "d", "k", "", job.Row{Source: job.SourceManual})
	require.NoError(t, err)
	_, err = s.JobState(ctx, "d", n)
	require.ErrorIs(t, err, store.ErrNotFound, "no state before the first projection")
	require.NoError(t, s.Project(ctx, job.Projection{Row: row("d", n, 2), State: []byte(`{"seq":2}`)}))
	require.NoError(t, s.Project(ctx, job.Projection{Row: row("d", n, 1), State: []byte(`{"seq":1}`)}))
	got, err := s.JobState(ctx, "d", n)
	require.NoError(t, err)
	require.JSONEq(t, `{"seq":2}`, string(got))
}
