package store_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// The search text follows the job's vehicle and customer: it is made when the job is
// allocated, and kept when they change, when the job gets another customer, and when
// a vehicle or customer the job names appears later.
func TestJobSearchFollowsVehicleAndCustomer(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	newDealer(t, s, "other")
	v, err := s.CreateVehicle(ctx, "d", job.Vehicle{Number: "WOB-4711", Make: "VW", Model: "Golf"})
	require.NoError(t, err)
	c, err := s.CreateCustomer(ctx, store.Customer{Dealer: "d", Name: "Jürgen Größe", Email: "jg@example.org", Phone: "+49 30 1234567"})
	require.NoError(t, err)
	n, _, err := s.AllocateJob(ctx, "d", "", "", job.Row{Source: job.SourceManual, VehicleID: v.ID, CustomerID: c.ID})
	require.NoError(t, err)
	r := row("d", n, 1)
	r.VehicleID, r.CustomerID = v.ID, c.ID
	require.NoError(t, s.Project(ctx, job.Projection{Row: r}))
	// A job of another dealer naming the same IDs finds nothing of this dealer's.
	_, _, err = s.AllocateJob(ctx, "other", "", "", job.Row{Source: job.SourceManual, VehicleID: v.ID, CustomerID: c.ID})
	require.NoError(t, err)

	search := func(dealer string, q string) []int64 {
		t.Helper()
		rows, _, err := s.ListJobs(ctx, dealer, store.JobFilter{Query: q})
		require.NoError(t, err)
		var out []int64
		for _, r := range rows {
			out = append(out, r.Number)
		}
		return out
	}
	for _, q := range []string{"wob-47", "GOLF", "GRÖßE", "jg@example", "1234567", "vw golf größe jürgen"} {
		require.Equal(t, []int64{n}, search("d", q), q)
	}
	require.Equal(t, []int64{n}, search("d", strconv.FormatInt(n, 10)), "the job number")
	require.Empty(t, search("d", "golf polo"), "every word must occur")
	require.Empty(t, search("other", "golf"))
	require.Empty(t, search("d", "%"), "LIKE's characters are taken literally")
	require.Empty(t, search("d", "_"))

	_, err = s.Pool().Exec(ctx, `UPDATE vehicles SET model = 'Passat' WHERE id = $1`, v.ID)
	require.NoError(t, err)
	require.Empty(t, search("d", "golf"))
	require.Equal(t, []int64{n}, search("d", "passat"))
	_, err = s.Pool().Exec(ctx, `UPDATE customers SET name = 'Erika Klein' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	require.Equal(t, []int64{n}, search("d", "erika"))

	// The workflow links another customer, who is created only afterwards.
	later := "0190a3c4-0000-7000-8000-000000000001"
	r = row("d", n, 2)
	r.VehicleID, r.CustomerID = v.ID, later
	require.NoError(t, s.Project(ctx, job.Projection{Row: r}))
	require.Empty(t, search("d", "erika"))
	_, err = s.CreateCustomer(ctx, store.Customer{ID: later, Dealer: "d", Name: "Max Später"})
	require.NoError(t, err)
	require.Equal(t, []int64{n}, search("d", "später"))
}

// Every sort pages through all jobs without gaps or repeats, ties included, in its
// order; a cursor of one sort is refused for another.
func TestListJobsSorts(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	base := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	statuses := []job.Status{job.StatusOpen, job.StatusSold, job.StatusClosed, job.StatusCanceled}
	phases := []string{"anfrage", "angebot", "zahlung"}
	var all []job.Row
	for i := range 23 {
		r := row("d", int64(i+1), 1)
		r.Status = statuses[i%len(statuses)]
		r.Phase = phases[i%len(phases)]
		// Groups of three share their time: ties broken by the number.
		r.UpdatedAt = base.Add(time.Duration(i/3) * time.Minute)
		require.NoError(t, s.Project(ctx, job.Projection{Row: r}))
		all = append(all, r)
	}
	want := map[store.JobSort]func(a, b job.Row) int{
		store.SortUpdated: func(a, b job.Row) int {
			if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
				return c
			}
			return int(b.Number - a.Number)
		},
		store.SortNumber: func(a, b job.Row) int { return int(b.Number - a.Number) },
		store.SortStatus: func(a, b job.Row) int {
			if c := strings.Compare(string(b.Status), string(a.Status)); c != 0 {
				return c
			}
			if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
				return c
			}
			return int(b.Number - a.Number)
		},
		store.SortPhase: func(a, b job.Row) int {
			if c := strings.Compare(b.Phase, a.Phase); c != 0 {
				return c
			}
			if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
				return c
			}
			return int(b.Number - a.Number)
		},
	}
	require.Len(t, want, len(store.JobSorts))
	for _, sort := range store.JobSorts {
		expected := slices.Clone(all)
		slices.SortFunc(expected, want[sort])
		var got []int64
		cursor := ""
		for {
			rows, next, err := s.ListJobs(ctx, "d", store.JobFilter{Sort: sort, Limit: 4, Cursor: cursor})
			require.NoError(t, err)
			for _, r := range rows {
				got = append(got, r.Number)
			}
			if next == "" {
				break
			}
			cursor = next
			other := store.SortNumber
			if sort == store.SortNumber {
				other = store.SortStatus
			}
			_, _, err = s.ListJobs(ctx, "d", store.JobFilter{Sort: other, Cursor: cursor})
			require.ErrorIs(t, err, store.ErrCursorSort)
			require.ErrorIs(t, err, store.ErrInvalidCursor)
		}
		var wantNumbers []int64
		for _, r := range expected {
			wantNumbers = append(wantNumbers, r.Number)
		}
		require.Equal(t, wantNumbers, got, "sort %s", sort)
	}
	// A filter pages in the sort's order too.
	rows, next, err := s.ListJobs(ctx, "d", store.JobFilter{Sort: store.SortPhase, Statuses: []job.Status{job.StatusOpen}, Limit: 2})
	require.NoError(t, err)
	require.NotEmpty(t, next)
	require.Equal(t, "zahlung", rows[0].Phase)

	_, _, err = s.ListJobs(ctx, "d", store.JobFilter{Sort: "colour"})
	require.ErrorIs(t, err, store.ErrUnknownSort)
	for _, bad := range []string{"W10", "WyJudW1iZXIiXQ", "WyJudW1iZXIiLCJ4Il0", "WzFd"} {
		_, _, err = s.ListJobs(ctx, "d", store.JobFilter{Sort: store.SortNumber, Cursor: bad})
		require.ErrorIs(t, err, store.ErrInvalidCursor, bad)
	}
}

// Saved views belong to one user: a name once per user and kind, one default per user
// and kind, and another user's view does not exist for the user.
func TestStaffViews(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "d")
	anna, err := s.CreateStaffUser(ctx, store.StaffUser{Dealer: "d", Email: "anna@d", Name: "Anna", Role: store.RoleOwner, PasswordHash: "x"})
	require.NoError(t, err)
	ben, err := s.CreateStaffUser(ctx, store.StaffUser{Dealer: "d", Email: "ben@d", Name: "Ben", Role: store.RoleSales, PasswordHash: "x"})
	require.NoError(t, err)

	open, err := s.CreateStaffView(ctx, "d", anna.ID, store.StaffView{Kind: store.ViewFilter, Name: "Offen", Query: "status=open", Default: true})
	require.NoError(t, err)
	require.True(t, open.Default)
	mine, err := s.CreateStaffView(ctx, "d", anna.ID, store.StaffView{Kind: store.ViewFilter, Name: "Meine", Query: "salesperson=" + anna.ID, Default: true})
	require.NoError(t, err)
	_, err = s.CreateStaffView(ctx, "d", anna.ID, store.StaffView{Kind: store.ViewFilter, Name: "offen", Query: "status=sold"})
	require.ErrorIs(t, err, store.ErrConflict, "names compare case-insensitively")
	cols, err := s.CreateStaffView(ctx, "d", anna.ID, store.StaffView{Kind: store.ViewColumns, Name: "Offen", Columns: []string{"number", "status"}, Default: true})
	require.NoError(t, err, "another kind may have the name")
	require.Equal(t, []string{"number", "status"}, cols.Columns)

	filters, err := s.ListStaffViews(ctx, "d", anna.ID, store.ViewFilter)
	require.NoError(t, err)
	require.Len(t, filters, 2)
	require.Equal(t, []string{"Meine", "Offen"}, []string{filters[0].Name, filters[1].Name})
	require.True(t, filters[0].Default, "the newest default took it")
	require.False(t, filters[1].Default)

	// Ben sees none of Anna's and cannot touch them.
	none, err := s.ListStaffViews(ctx, "d", ben.ID, store.ViewFilter)
	require.NoError(t, err)
	require.Empty(t, none)
	_, err = s.ReplaceStaffView(ctx, "d", ben.ID, open.ID, store.StaffView{Kind: store.ViewFilter, Name: "x"})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteStaffView(ctx, "d", ben.ID, open.ID, store.ViewFilter), store.ErrNotFound)
	require.ErrorIs(t, s.DeleteStaffView(ctx, "d", anna.ID, open.ID, store.ViewColumns), store.ErrNotFound, "the kind counts")

	got, err := s.ReplaceStaffView(ctx, "d", anna.ID, open.ID, store.StaffView{Kind: store.ViewFilter, Name: "Offen", Query: "status=open,sold", Default: true})
	require.NoError(t, err)
	require.Equal(t, "status=open,sold", got.Query)
	require.True(t, got.Default)
	require.True(t, got.UpdatedAt.After(got.CreatedAt) || got.UpdatedAt.Equal(got.CreatedAt))
	_, err = s.ReplaceStaffView(ctx, "d", anna.ID, open.ID, store.StaffView{Kind: store.ViewFilter, Name: "MEINE"})
	require.ErrorIs(t, err, store.ErrConflict)
	filters, err = s.ListStaffViews(ctx, "d", anna.ID, store.ViewFilter)
	require.NoError(t, err)
	require.False(t, filters[0].Default, "Meine lost the default")
	require.True(t, filters[1].Default)

	require.NoError(t, s.DeleteStaffView(ctx, "d", anna.ID, mine.ID, store.ViewFilter))
	require.ErrorIs(t, s.DeleteStaffView(ctx, "d", anna.ID, mine.ID, store.ViewFilter), store.ErrNotFound)
	require.ErrorIs(t, s.DeleteStaffView(ctx, "d", anna.ID, "not-a-uuid", store.ViewFilter), store.ErrNotFound)
}
