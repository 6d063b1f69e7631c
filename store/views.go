package store

// The staff side of the job list: its sorts with their keyset cursors, the terms of
// its free text search (jobs.search, kept by triggers of migration 00009), and each
// staff user's saved filters and column views.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SettingSoldOnRequired (bool) makes a sale date mandatory when staff set a job to sold.
const SettingSoldOnRequired = "sold_on_required"

// JobSort orders a job list. Every order ends in the job number, so it is total.
type JobSort string

// Sorts of the job list.
const (
	// SortUpdated: the newest change first (the default).
	SortUpdated JobSort = "updated_at"
	// SortNumber: the highest job number, the newest job, first.
	SortNumber JobSort = "number"
	// SortStatus: grouped by status in descending order (sold, open, closed,
	// canceled), the newest change first within a status.
	SortStatus JobSort = "status"
	// SortPhase: grouped by phase key in descending order, the newest change first
	// within a phase.
	SortPhase JobSort = "phase"
)

// JobSorts lists the sorts ListJobs knows, the default first.
var JobSorts = []JobSort{SortUpdated, SortNumber, SortStatus, SortPhase}

// Valid reports whether ListJobs knows the sort.
func (s JobSort) Valid() bool { return slices.Contains(JobSorts, s) }

// keyKind is the type of one key of a cursor.
type keyKind int

const (
	keyText keyKind = iota
	keyTime         // a timestamp, kept as Unix microseconds: PostgreSQL's precision
	keyInt
)

// sortSpec is how ListJobs orders by a sort. Every column of order is descending and
// has an index behind it (migrations 00001 and 00009), so a page is one index range
// scan and the rows after a cursor are one row comparison.
type sortSpec struct {
	order string
	// after is the condition for the rows after a cursor, with a ? for each key.
	after string
	kinds []keyKind
	keys  func(jobRecord) []any
}

var sortSpecs = map[JobSort]sortSpec{
	SortUpdated: {
		order: "updated_at DESC, number DESC",
		after: "(updated_at, number) < (?, ?)",
		kinds: []keyKind{keyTime, keyInt},
		keys:  func(r jobRecord) []any { return []any{r.UpdatedAt, r.Number} },
	},
	SortNumber: {
		order: "number DESC",
		after: "number < ?",
		kinds: []keyKind{keyInt},
		keys:  func(r jobRecord) []any { return []any{r.Number} },
	},
	SortStatus: {
		order: "status DESC, updated_at DESC, number DESC",
		after: "(status, updated_at, number) < (?, ?, ?)",
		kinds: []keyKind{keyText, keyTime, keyInt},
		keys:  func(r jobRecord) []any { return []any{r.Status, r.UpdatedAt, r.Number} },
	},
	SortPhase: {
		order: "phase DESC, updated_at DESC, number DESC",
		after: "(phase, updated_at, number) < (?, ?, ?)",
		kinds: []keyKind{keyText, keyTime, keyInt},
		keys:  func(r jobRecord) []any { return []any{r.Phase, r.UpdatedAt, r.Number} },
	},
}

// A job cursor is the sort's name and the sort keys of a page's last row, as a JSON
// array in base64url. The name makes a cursor of one sort useless for another.
func encodeJobCursor(sort JobSort, keys []any) string {
	out := make([]any, 0, len(keys)+1)
	out = append(out, string(sort))
	for _, k := range keys {
		if t, ok := k.(time.Time); ok {
			k = t.UnixMicro()
		}
		out = append(out, k)
	}
	// Strings, integers and nothing else: this cannot fail.
	b, _ := json.Marshal(out)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeJobCursor returns the keys of a cursor made for sort, as query arguments.
func decodeJobCursor(c string, sort JobSort) ([]any, error) {
	invalid := fmt.Errorf("%w: %q", ErrInvalidCursor, c)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, invalid
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var vs []any
	if err := dec.Decode(&vs); err != nil || dec.More() || len(vs) == 0 {
		return nil, invalid
	}
	name, ok := vs[0].(string)
	if !ok {
		return nil, invalid
	}
	if JobSort(name) != sort {
		return nil, fmt.Errorf("%w: the cursor is for sort %q, not %q", ErrCursorSort, name, sort)
	}
	spec := sortSpecs[sort]
	if len(vs)-1 != len(spec.kinds) {
		return nil, invalid
	}
	keys := make([]any, len(spec.kinds))
	for i, kind := range spec.kinds {
		v := vs[i+1]
		switch kind {
		case keyText:
			s, ok := v.(string)
			if !ok {
				return nil, invalid
			}
			keys[i] = s
		case keyTime, keyInt:
			num, ok := v.(json.Number)
			if !ok {
				return nil, invalid
			}
			n, err := num.Int64()
			if err != nil {
				return nil, invalid
			}
			if kind == keyTime {
				keys[i] = time.UnixMicro(n).UTC()
			} else {
				keys[i] = n
			}
		}
	}
	return keys, nil
}

// Bounds of free text search, so a query stays a handful of index lookups.
const (
	MaxQueryLen   = 200
	MaxQueryTerms = 8
)

// SearchTerms splits free text into the terms a job must all contain: words separated
// by white space, each once.
func SearchTerms(q string) []string {
	var out []string
	for _, t := range strings.Fields(q) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// likeEscaper takes LIKE's own characters literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likePattern matches a term anywhere, with LIKE's own characters taken literally.
func likePattern(term string) string {
	return "%" + likeEscaper.Replace(term) + "%"
}

// ViewKind says what a staff view keeps.
type ViewKind string

// Kinds of staff views.
const (
	// ViewFilter keeps a job list filter: the list's query parameters.
	ViewFilter ViewKind = "filter"
	// ViewColumns keeps the job list's columns, in order.
	ViewColumns ViewKind = "columns"
)

// StaffView is one staff user's saved filter or column view. A user names each of a
// kind differently (compared case-insensitively) and has at most one default per kind.
type StaffView struct {
	ID   string   `db:"id"`
	Kind ViewKind `db:"kind"`
	Name string   `db:"name"`
	// Query is a filter's query string (status=open&sort=number); empty for columns.
	Query string `db:"query"`
	// Columns are a column view's column keys in order; empty for a filter.
	Columns   []string  `db:"columns"`
	Default   bool      `db:"is_default"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

const staffViewColumns = `id::text AS id, kind, name, query, columns, is_default, created_at, updated_at`

// ListStaffViews returns the user's views of the kind, by name.
func (s *Store) ListStaffViews(ctx context.Context, dealer, staffID string, kind ViewKind) ([]StaffView, error) {
	if !validUUID(staffID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+staffViewColumns+` FROM staff_views
		WHERE dealer = $1 AND staff_id = $2 AND kind = $3 ORDER BY lower(name), id`, dealer, staffID, string(kind))
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByName[StaffView])
	return vs, wrap(err, "list %s views of staff user %q", kind, staffID)
}

// CreateStaffView adds a view of v.Kind for the user; a default view takes the default
// from the user's other view of the kind. ErrConflict when the user has a view of the
// kind with that name.
func (s *Store) CreateStaffView(ctx context.Context, dealer, staffID string, v StaffView) (StaffView, error) {
	return s.writeStaffView(ctx, dealer, staffID, newID(), v, true)
}

// ReplaceStaffView replaces name, content and default of the user's view with the ID
// and kind v.Kind. ErrNotFound when the user has no such view (another user's view
// included); ErrConflict when another view of the user's has the name.
func (s *Store) ReplaceStaffView(ctx context.Context, dealer, staffID, id string, v StaffView) (StaffView, error) {
	if !validUUID(id) || !validUUID(staffID) {
		return StaffView{}, fmt.Errorf("replace %s view %q: %w", v.Kind, id, ErrNotFound)
	}
	return s.writeStaffView(ctx, dealer, staffID, id, v, false)
}

func (s *Store) writeStaffView(ctx context.Context, dealer, staffID, id string, v StaffView, create bool) (StaffView, error) {
	columns := v.Columns
	if columns == nil {
		columns = []string{}
	}
	var out StaffView
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One writer per user: the default moves from one view to another in one step,
		// without two concurrent writes each taking it.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "staff_views/"+staffID); err != nil {
			return err
		}
		if v.Default {
			if _, err := tx.Exec(ctx, `UPDATE staff_views SET is_default = false
				WHERE dealer = $1 AND staff_id = $2 AND kind = $3 AND is_default AND id <> $4`,
				dealer, staffID, string(v.Kind), id); err != nil {
				return err
			}
		}
		var rows pgx.Rows
		if create {
			rows, _ = tx.Query(ctx, `
				INSERT INTO staff_views (id, dealer, staff_id, kind, name, query, columns, is_default)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				RETURNING `+staffViewColumns,
				id, dealer, staffID, string(v.Kind), v.Name, v.Query, columns, v.Default)
		} else {
			rows, _ = tx.Query(ctx, `
				UPDATE staff_views SET name = $5, query = $6, columns = $7, is_default = $8, updated_at = now()
				WHERE id = $1 AND dealer = $2 AND staff_id = $3 AND kind = $4
				RETURNING `+staffViewColumns,
				id, dealer, staffID, string(v.Kind), v.Name, v.Query, columns, v.Default)
		}
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[StaffView])
		return err
	})
	return out, wrap(err, "write %s view %q of staff user %q", v.Kind, v.Name, staffID)
}

// DeleteStaffView deletes the user's view with the ID and kind. ErrNotFound when the
// user has no such view.
func (s *Store) DeleteStaffView(ctx context.Context, dealer, staffID, id string, kind ViewKind) error {
	if !validUUID(id) || !validUUID(staffID) {
		return fmt.Errorf("delete %s view %q: %w", kind, id, ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM staff_views WHERE id = $1 AND dealer = $2 AND staff_id = $3 AND kind = $4`,
		id, dealer, staffID, string(kind))
	if err != nil {
		return wrap(err, "delete %s view %q", kind, id)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete %s view %q of staff user %q: %w", kind, id, staffID, ErrNotFound)
	}
	return nil
}
