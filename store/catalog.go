package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/definitions"
)

// PartKind is a kind of catalog part.
type PartKind string

// The kinds of catalog parts a dealer can own.
const (
	PartField    PartKind = "field"
	PartPhase    PartKind = "phase"
	PartWorkflow PartKind = "workflow"
	PartMessage  PartKind = "message"
)

// list is the name of the kind's list in a catalog, as problem paths use it.
func (k PartKind) list() string {
	switch k {
	case PartField:
		return "fields"
	case PartPhase:
		return "phases"
	case PartWorkflow:
		return "workflows"
	case PartMessage:
		return "messages"
	}
	return string(k)
}

// noun is how messages name a part of the kind.
func (k PartKind) noun() string {
	if k == PartMessage {
		return "message template"
	}
	return string(k)
}

// PartInfo says when a dealer's own part was created and last changed, and by whom.
type PartInfo struct {
	Kind      PartKind  `json:"kind"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// UpdatedBy is the staff user who made the last change.
	UpdatedBy string `json:"updated_by"`
}

// Parts are own catalog parts written together, in one transaction and checked as one
// change, such as a copied workflow with its copied phases.
type Parts struct {
	Fields    []definitions.Field
	Phases    []definitions.Phase
	Workflows []definitions.Workflow
	Messages  []definitions.MessageTemplate
}

func (p Parts) empty() bool {
	return len(p.Fields)+len(p.Phases)+len(p.Workflows)+len(p.Messages) == 0
}

// ErrSystemPart is returned (wrapped, together with definitions.Problems naming the
// part's path) when a write would change a system part: those ship with the product and
// can only be copied.
var ErrSystemPart = errors.New("system part")

// keyPattern is the shape of an own part's key; the table checks it too. Keys appear in
// conditions (fields.<key>), in phase lists and in problem paths.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ValidPartKey reports whether key may name an own part: a lower-case letter, then up
// to 62 lower-case letters, digits and underscores.
func ValidPartKey(key string) bool { return keyPattern.MatchString(key) }

// Catalog returns what the dealer builds workflows from: the system catalog that ships
// with the product (definitions.Standard) followed by the dealer's own parts in the
// order they were created. ErrNotFound when the dealer does not exist.
func (s *Store) Catalog(ctx context.Context, dealer string) (definitions.Catalog, error) {
	c, _, err := s.CatalogInfo(ctx, dealer)
	return c, err
}

// CatalogInfo is Catalog with the creation and change data of every own part.
func (s *Store) CatalogInfo(ctx context.Context, dealer string) (definitions.Catalog, []PartInfo, error) {
	c, infos, err := loadCatalog(ctx, s.pool, dealer)
	if err != nil {
		return definitions.Catalog{}, nil, wrap(err, "catalog of dealer %q", dealer)
	}
	return c, infos, nil
}

// CreateParts adds own parts to the dealer's catalog. A key that is taken, by a system
// part or an own one, is ErrConflict (wrapped with definitions.Problems naming it). The
// catalog with the parts added must not have problems it did not have before
// (definitions.ValidateCatalog, plus each own phase and message template on its own);
// those come back as definitions.Problems. It returns the change data of the parts
// written: fields, then phases, workflows and message templates, each in given order.
func (s *Store) CreateParts(ctx context.Context, dealer, by string, parts Parts) ([]PartInfo, error) {
	return s.writeParts(ctx, dealer, by, modeCreate, parts)
}

// ReplaceParts changes own parts of the dealer's catalog. A part that does not exist is
// ErrNotFound; a system part is ErrSystemPart. A field is shared, so changing it changes
// every phase that uses it; the change is checked like CreateParts checks, so a change
// that breaks a phase or workflow using the part is refused at the part.
func (s *Store) ReplaceParts(ctx context.Context, dealer, by string, parts Parts) ([]PartInfo, error) {
	return s.writeParts(ctx, dealer, by, modeReplace, parts)
}

// PreviewParts shows a write before it is made: the dealer's catalog with the parts
// applied (each replacing the own part with its key, else added) and the problems a
// write of them would meet: malformed keys, system parts (left out of the catalog
// returned), and the problems the catalog would newly have. Nothing is stored. An
// editor uses it to check a draft, including workflows not saved yet.
func (s *Store) PreviewParts(ctx context.Context, dealer string, parts Parts) (definitions.Catalog, definitions.Problems, error) {
	system, err := definitions.Standard()
	if err != nil {
		return definitions.Catalog{}, nil, fmt.Errorf("preview catalog parts: %w", err)
	}
	current, _, err := loadCatalog(ctx, s.pool, dealer)
	if err != nil {
		return definitions.Catalog{}, nil, wrap(err, "preview catalog parts of dealer %q", dealer)
	}
	if parts.empty() {
		return current, nil, nil
	}
	var problems definitions.Problems
	if err := checkKeys(current, parts.list(), modePreview); err != nil {
		ps, ok := definitions.AsProblems(err)
		if !ok {
			return definitions.Catalog{}, nil, err
		}
		problems = ps
		parts = withoutSystemParts(current, parts)
	}
	next := applyParts(current, parts)
	problems = append(problems, newProblems(catalogProblems(current, system), catalogProblems(next, system))...)
	return next, problems, nil
}

// withoutSystemParts drops the parts whose keys are system keys, which a preview
// reports instead of applying.
func withoutSystemParts(c definitions.Catalog, p Parts) Parts {
	system, _ := partKeys(c)
	var out Parts
	for _, f := range p.Fields {
		if !system[PartField][f.Key] {
			out.Fields = append(out.Fields, f)
		}
	}
	for _, ph := range p.Phases {
		if !system[PartPhase][ph.Key] {
			out.Phases = append(out.Phases, ph)
		}
	}
	for _, w := range p.Workflows {
		if !system[PartWorkflow][w.Key] {
			out.Workflows = append(out.Workflows, w)
		}
	}
	for _, m := range p.Messages {
		if !system[PartMessage][m.Key] {
			out.Messages = append(out.Messages, m)
		}
	}
	return out
}

// part is one part of a write, whatever its kind.
type part struct {
	kind PartKind
	key  string
	body any
}

func (p Parts) list() []part {
	var out []part
	for _, f := range p.Fields {
		out = append(out, part{PartField, f.Key, f})
	}
	for _, ph := range p.Phases {
		out = append(out, part{PartPhase, ph.Key, ph})
	}
	for _, w := range p.Workflows {
		out = append(out, part{PartWorkflow, w.Key, w})
	}
	for _, m := range p.Messages {
		out = append(out, part{PartMessage, m.Key, m})
	}
	return out
}

func (s *Store) writeParts(ctx context.Context, dealer, by string, mode writeMode, parts Parts) ([]PartInfo, error) {
	op := "replace"
	if mode == modeCreate {
		op = "create"
	}
	if parts.empty() {
		return nil, fmt.Errorf("%s catalog parts of dealer %q: nothing to write", op, dealer)
	}
	system, err := definitions.Standard()
	if err != nil {
		return nil, fmt.Errorf("%s catalog parts: %w", op, err)
	}
	var written []PartInfo
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One writer per dealer at a time: each write is checked against the whole
		// catalog, so two writes that are each fine alone (a field made staff-only,
		// a phase showing it to the customer) cannot both slip through.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "catalog/"+dealer); err != nil {
			return err
		}
		current, _, err := loadCatalog(ctx, tx, dealer)
		if err != nil {
			return err
		}
		list := parts.list()
		if err := checkKeys(current, list, mode); err != nil {
			return err
		}
		next := applyParts(current, parts)
		if added := newProblems(catalogProblems(current, system), catalogProblems(next, system)); len(added) > 0 {
			return added
		}
		for _, p := range list {
			info, err := writePart(ctx, tx, dealer, by, mode == modeCreate, p)
			if err != nil {
				return err
			}
			written = append(written, info)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "%s catalog parts of dealer %q", op, dealer)
	}
	return written, nil
}

// writeMode is how a write treats keys: a create needs new ones, a replace existing own
// ones, a preview takes either.
type writeMode int

const (
	modeCreate writeMode = iota
	modeReplace
	modePreview
)

// checkKeys refuses a write whose keys do not fit: malformed or repeated keys, a system
// key, a taken key on create, a missing part on replace.
func checkKeys(c definitions.Catalog, parts []part, mode writeMode) error {
	system, own := partKeys(c)
	var malformed, conflicts, sys, missing definitions.Problems
	seen := map[PartKind]map[string]bool{}
	for _, p := range parts {
		path := p.kind.list() + "[" + p.key + "]"
		if seen[p.kind] == nil {
			seen[p.kind] = map[string]bool{}
		}
		switch {
		case !ValidPartKey(p.key):
			malformed = append(malformed, definitions.Problem{Path: path + ".key",
				Message: fmt.Sprintf("%q may hold only a-z, 0-9 and _, must start with a letter and have at most 63 characters", p.key)})
		case seen[p.kind][p.key]:
			malformed = append(malformed, definitions.Problem{Path: path + ".key",
				Message: fmt.Sprintf("%s %q is written twice", p.kind.noun(), p.key)})
		case system[p.kind][p.key] && mode == modeCreate:
			conflicts = append(conflicts, definitions.Problem{Path: path + ".key",
				Message: fmt.Sprintf("system %s %q exists; copy it under a new key", p.kind.noun(), p.key)})
		case system[p.kind][p.key]:
			sys = append(sys, definitions.Problem{Path: path,
				Message: fmt.Sprintf("system %s %q cannot be changed; copy it under a new key", p.kind.noun(), p.key)})
		case own[p.kind][p.key] && mode == modeCreate:
			conflicts = append(conflicts, definitions.Problem{Path: path + ".key",
				Message: fmt.Sprintf("%s %q exists already", p.kind.noun(), p.key)})
		case !own[p.kind][p.key] && mode == modeReplace:
			missing = append(missing, definitions.Problem{Path: path,
				Message: fmt.Sprintf("no own %s %q", p.kind.noun(), p.key)})
		}
		seen[p.kind][p.key] = true
	}
	switch {
	case mode == modePreview && len(malformed)+len(sys) > 0:
		return append(malformed, sys...)
	case len(malformed) > 0:
		return malformed
	case len(sys) > 0:
		return fmt.Errorf("%w: %w", ErrSystemPart, sys)
	case len(conflicts) > 0:
		return fmt.Errorf("%w: %w", ErrConflict, conflicts)
	case len(missing) > 0:
		return fmt.Errorf("%w: %w", ErrNotFound, missing)
	}
	return nil
}

// partKeys lists the catalog's keys per kind, system and own apart.
func partKeys(c definitions.Catalog) (system, own map[PartKind]map[string]bool) {
	system, own = map[PartKind]map[string]bool{}, map[PartKind]map[string]bool{}
	add := func(kind PartKind, key string, isSystem bool) {
		m := own
		if isSystem {
			m = system
		}
		if m[kind] == nil {
			m[kind] = map[string]bool{}
		}
		m[kind][key] = true
	}
	for _, f := range c.Fields {
		add(PartField, f.Key, f.System)
	}
	for _, p := range c.Phases {
		add(PartPhase, p.Key, p.System)
	}
	for _, w := range c.Workflows {
		add(PartWorkflow, w.Key, w.System)
	}
	for _, m := range c.Messages {
		add(PartMessage, m.Key, m.System)
	}
	return system, own
}

// applyParts returns the catalog with the parts replaced in place or appended. The
// input's lists are not changed.
func applyParts(c definitions.Catalog, p Parts) definitions.Catalog {
	next := c
	next.Fields = upsert(c.Fields, p.Fields, func(f definitions.Field) string { return f.Key })
	next.Phases = upsert(c.Phases, p.Phases, func(ph definitions.Phase) string { return ph.Key })
	next.Workflows = upsert(c.Workflows, p.Workflows, func(w definitions.Workflow) string { return w.Key })
	next.Messages = upsert(c.Messages, p.Messages, func(m definitions.MessageTemplate) string { return m.Key })
	return next
}

func upsert[T any](list, changed []T, key func(T) string) []T {
	out := append([]T(nil), list...)
	for _, ch := range changed {
		replaced := false
		for i := range out {
			if key(out[i]) == key(ch) {
				out[i], replaced = ch, true
				break
			}
		}
		if !replaced {
			out = append(out, ch)
		}
	}
	return out
}

func writePart(ctx context.Context, tx pgx.Tx, dealer, by string, create bool, p part) (PartInfo, error) {
	info := PartInfo{Kind: p.kind, Key: p.key, UpdatedBy: by}
	body, err := json.Marshal(p.body)
	if err != nil {
		return info, fmt.Errorf("encode %s %q: %w", p.kind.noun(), p.key, err)
	}
	query := `
		UPDATE catalog_parts SET body = $4, updated_at = now(), updated_by = $5
		WHERE dealer = $1 AND kind = $2 AND key = $3
		RETURNING created_at, updated_at`
	if create {
		query = `
			INSERT INTO catalog_parts (dealer, kind, key, body, updated_by)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING created_at, updated_at`
	}
	err = tx.QueryRow(ctx, query, dealer, string(p.kind), p.key, body, by).Scan(&info.CreatedAt, &info.UpdatedAt)
	return info, err
}

// rowsQuerier is a pool or a transaction.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// partRecord is a catalog_parts row joined to its dealer; the part columns are NULL
// for a dealer without own parts.
type partRecord struct {
	Kind      *string    `db:"kind"`
	Key       *string    `db:"key"`
	Body      []byte     `db:"body"`
	CreatedAt *time.Time `db:"created_at"`
	UpdatedAt *time.Time `db:"updated_at"`
	UpdatedBy *string    `db:"updated_by"`
}

// loadCatalog reads the dealer's own parts and puts them after the system parts.
func loadCatalog(ctx context.Context, q rowsQuerier, dealer string) (definitions.Catalog, []PartInfo, error) {
	c, err := definitions.Standard()
	if err != nil {
		return definitions.Catalog{}, nil, err
	}
	rows, _ := q.Query(ctx, `
		SELECT p.kind, p.key, p.body, p.created_at, p.updated_at, p.updated_by
		FROM dealers d LEFT JOIN catalog_parts p ON p.dealer = d.id
		WHERE d.id = $1
		ORDER BY p.seq`,
		dealer)
	records, err := pgx.CollectRows(rows, pgx.RowToStructByName[partRecord])
	if err != nil {
		return definitions.Catalog{}, nil, err
	}
	if len(records) == 0 {
		return definitions.Catalog{}, nil, fmt.Errorf("dealer %q: %w", dealer, ErrNotFound)
	}
	var infos []PartInfo
	for _, r := range records {
		if r.Kind == nil {
			continue
		}
		kind, key := PartKind(*r.Kind), *r.Key
		if err := appendPart(&c, kind, r.Body); err != nil {
			return definitions.Catalog{}, nil, fmt.Errorf("decode %s %q: %w", kind.noun(), key, err)
		}
		infos = append(infos, PartInfo{Kind: kind, Key: key, CreatedAt: *r.CreatedAt, UpdatedAt: *r.UpdatedAt, UpdatedBy: *r.UpdatedBy})
	}
	return c, infos, nil
}

// appendPart decodes a stored own part into its list. System is forced off: only the
// binary ships system parts.
func appendPart(c *definitions.Catalog, kind PartKind, body []byte) error {
	switch kind {
	case PartField:
		var f definitions.Field
		if err := json.Unmarshal(body, &f); err != nil {
			return err
		}
		f.System = false
		c.Fields = append(c.Fields, f)
	case PartPhase:
		var p definitions.Phase
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		p.System = false
		c.Phases = append(c.Phases, p)
	case PartWorkflow:
		var w definitions.Workflow
		if err := json.Unmarshal(body, &w); err != nil {
			return err
		}
		w.System = false
		c.Workflows = append(c.Workflows, w)
	case PartMessage:
		var m definitions.MessageTemplate
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		m.System = false
		c.Messages = append(c.Messages, m)
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	return nil
}

// catalogProblems returns every problem of a dealer's catalog, with paths that name
// parts by key (`phases[my_offer].customer_fields[2].field`) rather than by position,
// so they stay true while parts are added.
//
// It is definitions.ValidateCatalog plus a check of each phase and message template on
// its own: ValidateCatalog sees those only through the workflows that use them, and a
// broken reference is best refused where it is made, before any workflow uses the
// part. A problem inside a phase or message template is named once, at the part, not
// again at every workflow that uses it.
func catalogProblems(c, system definitions.Catalog) definitions.Problems {
	var out definitions.Problems
	for _, p := range definitions.ValidateCatalog(c, system) {
		if phaseIntrinsic(p.Path) {
			continue
		}
		p.Path = keyPath(c, p.Path)
		out = append(out, p)
	}
	for _, p := range c.Phases {
		out = append(out, phaseProblems(c, p)...)
	}
	for _, m := range c.Messages {
		out = append(out, messageProblems(m)...)
	}
	return out
}

// workflowPartPath matches the problems ValidateCatalog reports inside a workflow's
// resolved phases and message templates.
var workflowPartPath = regexp.MustCompile(`^workflows\[\d+\]\.(phases\[\d+\]\.([a-z_]+)|messages\[\d+\])`)

// phaseIntrinsic reports whether a workflow problem lies within one phase or message
// template, which phaseProblems and messageProblems report at the part. What only the
// workflow decides stays: its phase list, phase order and follow-ups.
func phaseIntrinsic(path string) bool {
	m := workflowPartPath.FindStringSubmatch(path)
	if m == nil {
		return false
	}
	return m[2] != "follow_up"
}

var indexPath = regexp.MustCompile(`^(fields|phases|workflows|messages)\[(\d+)\]`)

// keyPath rewrites a catalog path's leading `list[index]` to `list[key]`.
func keyPath(c definitions.Catalog, path string) string {
	m := indexPath.FindStringSubmatchIndex(path)
	if m == nil {
		return path
	}
	list := path[m[2]:m[3]]
	i, err := strconv.Atoi(path[m[4]:m[5]])
	if err != nil {
		return path
	}
	key, ok := "", false
	switch list {
	case "fields":
		if ok = i < len(c.Fields); ok {
			key = c.Fields[i].Key
		}
	case "phases":
		if ok = i < len(c.Phases); ok {
			key = c.Phases[i].Key
		}
	case "workflows":
		if ok = i < len(c.Workflows); ok {
			key = c.Workflows[i].Key
		}
	case "messages":
		if ok = i < len(c.Messages); ok {
			key = c.Messages[i].Key
		}
	}
	if !ok || key == "" {
		return path
	}
	return list + "[" + key + "]" + path[m[1]:]
}

// Keys of the throwaway workflow that checks one part on its own.
const checkKey = "part_check"

// phaseProblems checks one phase against the catalog's fields and message templates,
// outside any workflow. Its follow-up only has to name a phase of the catalog; whether
// it is part of the workflow is the workflow's check.
func phaseProblems(c definitions.Catalog, p definitions.Phase) definitions.Problems {
	followUp := p.FollowUp
	p.FollowUp = ""
	d := definitions.Definition{
		Workflow:  definitions.Workflow{Key: checkKey, Name: checkKey, Phases: []string{p.Key}},
		Phases:    []definitions.Phase{p},
		Fields:    c.Fields,
		Messages:  c.Messages,
		Documents: c.Documents,
	}
	prefix := "phases[" + p.Key + "]"
	var out definitions.Problems
	for _, pr := range d.Validate() {
		if rest, ok := strings.CutPrefix(pr.Path, "phases[0]"); ok {
			out = append(out, definitions.Problem{Path: prefix + rest, Message: pr.Message})
		}
	}
	if followUp != "" {
		known := false
		for _, other := range c.Phases {
			known = known || other.Key == followUp
		}
		if !known {
			out = append(out, definitions.Problem{Path: prefix + ".follow_up", Message: fmt.Sprintf("unknown phase %q", followUp)})
		}
	}
	return out
}

// messageProblems checks one message template on its own.
func messageProblems(m definitions.MessageTemplate) definitions.Problems {
	d := definitions.Definition{
		Workflow: definitions.Workflow{Key: checkKey, Name: checkKey, Phases: []string{checkKey}},
		Phases:   []definitions.Phase{{Key: checkKey, Name: checkKey}},
		Messages: []definitions.MessageTemplate{m},
	}
	var out definitions.Problems
	for _, pr := range d.Validate() {
		if rest, ok := strings.CutPrefix(pr.Path, "messages[0]"); ok {
			out = append(out, definitions.Problem{Path: "messages[" + m.Key + "]" + rest, Message: pr.Message})
		}
	}
	return out
}

// newProblems returns the problems of after that before did not have. A catalog that
// already has problems (say, a product update changed a system field an own phase
// uses) can still be repaired one part at a time.
func newProblems(before, after definitions.Problems) definitions.Problems {
	had := map[definitions.Problem]int{}
	for _, p := range before {
		had[p]++
	}
	var out definitions.Problems
	for _, p := range after {
		if had[p] > 0 {
			had[p]--
			continue
		}
		out = append(out, p)
	}
	return out
}
