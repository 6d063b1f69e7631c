package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// The admin API edits how a dealer works: own fields, phases, workflows and message
// templates (system ones are read and copied, never changed), and publishes workflows
// as immutable versions that new jobs pin. Owners and admins only.
//
// Parts are addressed by key. Problems name their place in the dealer's catalog by key,
// such as `phases[my_offer].customer_fields[2].field`; problems of one workflow (validate,
// publish) use the paths of its resolved definition, such as
// `phases[1].customer_fields[7].condition`.

// PartChange says when an own part was created and last changed, and by whom; system
// parts have none. It is read-only: a request may carry it back and it is ignored.
type PartChange struct {
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	// UpdatedBy is the staff user who made the last change.
	UpdatedBy string `json:"updated_by,omitempty"`
}

// AdminField is a field of the dealer's catalog. System is true for a field that ships
// with the product.
type AdminField struct {
	definitions.Field
	System bool `json:"system"`
	PartChange
}

// AdminPhase is a phase of the dealer's catalog.
type AdminPhase struct {
	definitions.Phase
	System bool `json:"system"`
	PartChange
}

// AdminWorkflow is a workflow of the dealer's catalog.
type AdminWorkflow struct {
	definitions.Workflow
	System bool `json:"system"`
	PartChange
}

// AdminMessage is a message template of the dealer's catalog.
type AdminMessage struct {
	definitions.MessageTemplate
	System bool `json:"system"`
	PartChange
}

// FieldList, PhaseList, WorkflowList and MessageList answer the list routes: system
// parts first, then the dealer's own in the order they were created.
type (
	FieldList struct {
		Fields []AdminField `json:"fields"`
	}
	PhaseList struct {
		Phases []AdminPhase `json:"phases"`
	}
	WorkflowList struct {
		Workflows []AdminWorkflow `json:"workflows"`
	}
	MessageList struct {
		Messages []AdminMessage `json:"messages"`
	}
)

// FieldPlacement is one use of a field in a phase view. Position is the use's index in the
// view's list, as problem paths count it.
type FieldPlacement struct {
	Phase    string `json:"phase"`
	Name     string `json:"name"`
	System   bool   `json:"system"`
	View     string `json:"view"`
	Position int    `json:"position"`
}

// PartRef names a part that uses another; Position is the index in its list (a
// workflow's phases, a phase's messages).
type PartRef struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	System   bool   `json:"system"`
	Position *int   `json:"position,omitempty"`
}

// ConditionUse is a condition that reads a field, at its catalog path.
type ConditionUse struct {
	Path      string `json:"path"`
	Condition string `json:"condition"`
}

// FieldUsage answers GET /fields/:key/usage: the phase views that show the field, the
// workflows that have such a phase, and the conditions that read the field.
type FieldUsage struct {
	Field      string           `json:"field"`
	Phases     []FieldPlacement `json:"phases"`
	Workflows  []PartRef        `json:"workflows"`
	Conditions []ConditionUse   `json:"conditions"`
}

// PhaseUsage answers GET /phases/:key/usage: the workflows that list the phase, and the
// phases that name it as their follow-up.
type PhaseUsage struct {
	Phase     string    `json:"phase"`
	Workflows []PartRef `json:"workflows"`
	FollowUps []PartRef `json:"follow_ups"`
}

// MessageUsage answers GET /messages/:key/usage: the phases that send the template on
// activation, and the workflows that have such a phase.
type MessageUsage struct {
	Message   string    `json:"message"`
	Phases    []PartRef `json:"phases"`
	Workflows []PartRef `json:"workflows"`
}

// WorkflowUsage answers GET /workflows/:key/usage: whether new jobs start with the
// workflow, and its published versions.
type WorkflowUsage struct {
	Workflow          string `json:"workflow"`
	Active            bool   `json:"active"`
	PublishedVersions []int  `json:"published_versions"`
}

// CopyFieldBody is the body of POST /fields/:key/copy: the copy's key and, optionally,
// its label.
type CopyFieldBody struct {
	Key   string `json:"key"`
	Label string `json:"label,omitempty"`
}

// CopyPhaseBody is the body of POST /phases/:key/copy: the copy's key and,
// optionally, its name.
type CopyPhaseBody struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
}

// CopyMessageBody is the body of POST /messages/:key/copy: the copy's key.
type CopyMessageBody struct {
	Key string `json:"key"`
}

// CopyWorkflowBody is the body of POST /workflows/:key/copy. With CopyPhases the
// workflow's phases are copied too, under the keys `<key>_<phase>`, so the copy can be
// adapted without touching the phases other workflows use.
type CopyWorkflowBody struct {
	Key        string `json:"key"`
	Name       string `json:"name,omitempty"`
	CopyPhases bool   `json:"copy_phases,omitempty"`
}

// CopyStandardBody is the body of POST /workflows/copy-standard.
type CopyStandardBody struct {
	From       string `json:"from"`
	Key        string `json:"key"`
	Name       string `json:"name"`
	CopyPhases bool   `json:"copy_phases,omitempty"`
}

// WorkflowCopy answers a workflow copy: the new workflow and the phases copied with it.
type WorkflowCopy struct {
	Workflow AdminWorkflow `json:"workflow"`
	Phases   []AdminPhase  `json:"phases"`
}

// PublishedRef is a published workflow version.
type PublishedRef struct {
	Workflow string `json:"workflow"`
	Version  int    `json:"version"`
	Hash     string `json:"hash"`
}

// ValidateBody is the optional body of POST /workflows/:key/validate: a draft, own parts
// as an editor has them before saving. The check applies them to the dealer's catalog
// (each replacing the own part with its key, else added); nothing is stored.
type ValidateBody struct {
	Fields    []definitions.Field           `json:"fields,omitempty"`
	Phases    []definitions.Phase           `json:"phases,omitempty"`
	Workflows []definitions.Workflow        `json:"workflows,omitempty"`
	Messages  []definitions.MessageTemplate `json:"messages,omitempty"`
}

// Validation answers POST /workflows/:key/validate. Problems is empty when the
// workflow, resolved from the dealer's catalog (with the draft applied), can be
// published; its paths are those of the resolved definition. CatalogProblems are what
// saving the draft's parts would be refused for, at catalog paths. Hash is the
// workflow's content hash when it has no problems, and Changed says whether it differs
// from the latest published version.
type Validation struct {
	Workflow        string                `json:"workflow"`
	Problems        []definitions.Problem `json:"problems"`
	CatalogProblems []definitions.Problem `json:"catalog_problems"`
	Hash            string                `json:"hash,omitempty"`
	Published       *PublishedRef         `json:"published,omitempty"`
	Changed         bool                  `json:"changed"`
}

// VersionSummary is one version of a workflow; Active marks the one new jobs start with.
type VersionSummary struct {
	Workflow string                   `json:"workflow"`
	Version  int                      `json:"version"`
	State    definitions.VersionState `json:"state"`
	Hash     string                   `json:"hash,omitempty"`
	Active   bool                     `json:"active"`
}

// VersionList answers GET /workflows/:key/versions, oldest first.
type VersionList struct {
	Versions []VersionSummary `json:"versions"`
}

// ActiveWorkflowBody is the body of PUT /active-workflow.
type ActiveWorkflowBody struct {
	Workflow string `json:"workflow"`
}

// adminRoutes registers the admin API below the dealer's group.
func (s *server) adminRoutes(dealer *gin.RouterGroup) {
	// Staff of another dealer get 404: to them, this dealer's definitions do not exist.
	a := dealer.Group("/admin", auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin))
	// Each write stores its first answer, so a repeat with the same Idempotency-Key
	// answers the same and writes nothing.
	write := s.idempotent

	a.GET("/fields", s.listFields)
	a.POST("/fields", write, s.createField)
	a.GET("/fields/:key", s.getField)
	a.PUT("/fields/:key", write, s.replaceField)
	a.GET("/fields/:key/usage", s.fieldUsage)
	a.POST("/fields/:key/copy", write, s.copyField)

	a.GET("/phases", s.listPhases)
	a.POST("/phases", write, s.createPhase)
	a.GET("/phases/:key", s.getPhase)
	a.PUT("/phases/:key", write, s.replacePhase)
	a.GET("/phases/:key/usage", s.phaseUsage)
	a.POST("/phases/:key/copy", write, s.copyPhase)

	a.GET("/messages", s.listMessages)
	a.POST("/messages", write, s.createMessage)
	a.GET("/messages/:key", s.getMessage)
	a.PUT("/messages/:key", write, s.replaceMessage)
	a.GET("/messages/:key/usage", s.messageUsage)
	a.POST("/messages/:key/copy", write, s.copyMessage)

	a.GET("/workflows", s.listWorkflows)
	a.POST("/workflows", write, s.createWorkflow)
	a.POST("/workflows/copy-standard", write, s.copyStandard)
	a.GET("/workflows/:key", s.getWorkflow)
	a.PUT("/workflows/:key", write, s.replaceWorkflow)
	a.GET("/workflows/:key/usage", s.workflowUsage)
	a.POST("/workflows/:key/copy", write, s.copyWorkflow)
	a.POST("/workflows/:key/validate", s.validateWorkflow)
	a.POST("/workflows/:key/publish", write, s.publishWorkflow)
	// A test job on the workflow as it resolves now (api/sandbox.go). Its answer holds
	// a signed link, a secret that is not stored: the job's start counts the key.
	a.POST("/workflows/:key/sandbox", s.requireIdempotencyKey, s.sandboxJob)
	a.GET("/workflows/:key/versions", s.listVersions)
	a.GET("/workflows/:key/versions/:version", s.getVersion)

	a.GET("/active-workflow", s.getActiveWorkflow)
	a.PUT("/active-workflow", write, s.setActiveWorkflow)
}

// kind describes one kind of catalog part to the generic handlers: T is the part as
// definitions models it, A as the admin API shows it.
type kind[T, A any] struct {
	part   store.PartKind
	list   func(definitions.Catalog) []T
	key    func(T) string
	setKey func(*T, string)
	// admin shows a part; fromAdmin takes one from a request, with the system flag
	// the client sent.
	admin     func(T, PartChange) A
	fromAdmin func(A) (T, bool)
	parts     func(...T) store.Parts
}

var (
	fieldKind = kind[definitions.Field, AdminField]{
		part:   store.PartField,
		list:   func(c definitions.Catalog) []definitions.Field { return c.Fields },
		key:    func(f definitions.Field) string { return f.Key },
		setKey: func(f *definitions.Field, k string) { f.Key = k },
		admin: func(f definitions.Field, ch PartChange) AdminField {
			return AdminField{Field: f, System: f.System, PartChange: ch}
		},
		fromAdmin: func(a AdminField) (definitions.Field, bool) { return a.Field, a.System },
		parts:     func(fs ...definitions.Field) store.Parts { return store.Parts{Fields: fs} },
	}
	phaseKind = kind[definitions.Phase, AdminPhase]{
		part:   store.PartPhase,
		list:   func(c definitions.Catalog) []definitions.Phase { return c.Phases },
		key:    func(p definitions.Phase) string { return p.Key },
		setKey: func(p *definitions.Phase, k string) { p.Key = k },
		admin: func(p definitions.Phase, ch PartChange) AdminPhase {
			return AdminPhase{Phase: p, System: p.System, PartChange: ch}
		},
		fromAdmin: func(a AdminPhase) (definitions.Phase, bool) { return a.Phase, a.System },
		parts:     func(ps ...definitions.Phase) store.Parts { return store.Parts{Phases: ps} },
	}
	workflowKind = kind[definitions.Workflow, AdminWorkflow]{
		part:   store.PartWorkflow,
		list:   func(c definitions.Catalog) []definitions.Workflow { return c.Workflows },
		key:    func(w definitions.Workflow) string { return w.Key },
		setKey: func(w *definitions.Workflow, k string) { w.Key = k },
		admin: func(w definitions.Workflow, ch PartChange) AdminWorkflow {
			return AdminWorkflow{Workflow: w, System: w.System, PartChange: ch}
		},
		fromAdmin: func(a AdminWorkflow) (definitions.Workflow, bool) { return a.Workflow, a.System },
		parts:     func(ws ...definitions.Workflow) store.Parts { return store.Parts{Workflows: ws} },
	}
	messageKind = kind[definitions.MessageTemplate, AdminMessage]{
		part:   store.PartMessage,
		list:   func(c definitions.Catalog) []definitions.MessageTemplate { return c.Messages },
		key:    func(m definitions.MessageTemplate) string { return m.Key },
		setKey: func(m *definitions.MessageTemplate, k string) { m.Key = k },
		admin: func(m definitions.MessageTemplate, ch PartChange) AdminMessage {
			return AdminMessage{MessageTemplate: m, System: m.System, PartChange: ch}
		},
		fromAdmin: func(a AdminMessage) (definitions.MessageTemplate, bool) { return a.MessageTemplate, a.System },
		parts:     func(ms ...definitions.MessageTemplate) store.Parts { return store.Parts{Messages: ms} },
	}
)

// find returns the catalog's part with the key.
func (k kind[T, A]) find(c definitions.Catalog, key string) (T, bool) {
	for _, p := range k.list(c) {
		if k.key(p) == key {
			return p, true
		}
	}
	var zero T
	return zero, false
}

// changes indexes the change data of the catalog's own parts of the kind by key.
func (k kind[T, A]) changes(infos []store.PartInfo) map[string]PartChange {
	out := map[string]PartChange{}
	for _, in := range infos {
		if in.Kind == k.part {
			out[in.Key] = PartChange{CreatedAt: &in.CreatedAt, UpdatedAt: &in.UpdatedAt, UpdatedBy: in.UpdatedBy}
		}
	}
	return out
}

// catalog loads the dealer's catalog with its change data, answering the request
// itself when that fails.
func (s *server) catalog(c *gin.Context) (definitions.Catalog, []store.PartInfo, bool) {
	cat, infos, err := s.store.CatalogInfo(c.Request.Context(), c.Param("dealer"))
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", c.Param("dealer")))
		return definitions.Catalog{}, nil, false
	}
	if err != nil {
		internal(c, err)
		return definitions.Catalog{}, nil, false
	}
	return cat, infos, true
}

// partNotFound answers a key the dealer's catalog lacks.
func partNotFound(kind store.PartKind, key string) Problem {
	switch kind {
	case store.PartField:
		return problem(http.StatusNotFound, ProblemNotFound, "no_field").with("key", key)
	case store.PartPhase:
		return problem(http.StatusNotFound, ProblemNotFound, "no_phase").with("key", key)
	case store.PartWorkflow:
		return problem(http.StatusNotFound, ProblemNotFound, "no_workflow").with("key", key)
	}
	return problem(http.StatusNotFound, ProblemNotFound, "no_message_template").with("key", key)
}

// lookup finds the part the path names, answering 404 when there is none.
func lookup[T, A any](s *server, c *gin.Context, k kind[T, A]) (definitions.Catalog, []store.PartInfo, T, bool) {
	var zero T
	cat, infos, ok := s.catalog(c)
	if !ok {
		return cat, nil, zero, false
	}
	p, ok := k.find(cat, c.Param("key"))
	if !ok {
		writeProblem(c, partNotFound(k.part, c.Param("key")))
		return cat, nil, zero, false
	}
	return cat, infos, p, true
}

func listParts[T, A any](s *server, c *gin.Context, k kind[T, A]) ([]A, bool) {
	cat, infos, ok := s.catalog(c)
	if !ok {
		return nil, false
	}
	changes := k.changes(infos)
	out := []A{}
	for _, p := range k.list(cat) {
		out = append(out, k.admin(p, changes[k.key(p)]))
	}
	return out, true
}

func getPart[T, A any](s *server, c *gin.Context, k kind[T, A]) {
	_, infos, p, ok := lookup(s, c, k)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, k.admin(p, k.changes(infos)[k.key(p)]))
}

// decodePart reads a part from the body. The key comes from the body on create and
// from the path on replace, where a differing body key is refused: a key is how phases,
// workflows and conditions refer to a part, so it never changes; a copy gets a new one.
func decodePart[T, A any](c *gin.Context, k kind[T, A], pathKey string) (T, bool) {
	var body A
	var zero T
	if !decodeJSON(c, &body) {
		return zero, false
	}
	p, claimsSystem := k.fromAdmin(body)
	var fields []job.FieldError
	if claimsSystem {
		fields = append(fields, field("system", "own_part_not_system"))
	}
	switch key := k.key(p); {
	case pathKey != "" && key == "":
		k.setKey(&p, pathKey)
	case pathKey != "" && key != pathKey:
		fields = append(fields, field("key", "key_not_path", "key", key, "path", pathKey))
	case key == "":
		fields = append(fields, field("key", "required"))
	case !store.ValidPartKey(key):
		fields = append(fields, field("key", "invalid_key", "key", key))
	}
	if len(fields) > 0 {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "part_invalid", fields...))
		return zero, false
	}
	return p, true
}

func createPart[T, A any](s *server, c *gin.Context, k kind[T, A]) {
	p, ok := decodePart(c, k, "")
	if !ok {
		return
	}
	if written, ok := s.writeParts(c, true, k.parts(p)); ok {
		c.JSON(http.StatusCreated, k.admin(p, change(written[0])))
	}
}

func replacePart[T, A any](s *server, c *gin.Context, k kind[T, A]) {
	p, ok := decodePart(c, k, c.Param("key"))
	if !ok {
		return
	}
	if written, ok := s.writeParts(c, false, k.parts(p)); ok {
		c.JSON(http.StatusOK, k.admin(p, change(written[0])))
	}
}

func change(in store.PartInfo) PartChange {
	return PartChange{CreatedAt: &in.CreatedAt, UpdatedAt: &in.UpdatedAt, UpdatedBy: in.UpdatedBy}
}

// writeParts creates or replaces own parts as the calling staff user, answering the
// request itself when the store refuses: a system part or a taken key is 409, a
// missing part 404, a catalog the change would break 422; each field error names a
// catalog path, such as fields[lieferart] or phases[my_offer].customer_fields[2].field.
func (s *server) writeParts(c *gin.Context, create bool, parts store.Parts) ([]store.PartInfo, bool) {
	ctx := c.Request.Context()
	dealer, by := c.Param("dealer"), auth.From(c).StaffID
	write := s.store.ReplaceParts
	if create {
		write = s.store.CreateParts
	}
	written, err := write(ctx, dealer, by, parts)
	if err == nil {
		return written, true
	}
	ps, _ := definitions.AsProblems(err)
	switch {
	case errors.Is(err, store.ErrSystemPart):
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "system_part", partFields(ps, err)...))
	case errors.Is(err, store.ErrConflict):
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "key_taken", partFields(ps, err)...))
	case errors.Is(err, store.ErrNotFound) && len(ps) > 0:
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_own_part", partFields(ps, err)...))
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", dealer))
	case len(ps) > 0:
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "catalog_invalid", problemFields(ps)...).
			with("count", strconv.Itoa(len(ps))))
	default:
		internal(c, err)
	}
	return nil, false
}

// partPath matches the store's paths of whole parts: fields[key], phases[key].key.
var partPath = regexp.MustCompile(`^(fields|phases|workflows|messages)\[([^\]]*)\]`)

// partFields words the store's refusal of whole parts (a system part, a taken key, a
// missing part) by code, naming each part's key; the field is the part's path.
func partFields(ps definitions.Problems, refusal error) []job.FieldError {
	out := make([]job.FieldError, len(ps))
	for i, p := range ps {
		m := partPath.FindStringSubmatch(p.Path)
		if m == nil {
			out[i] = definitionProblem(p)
			continue
		}
		list, key := m[1], m[2]
		switch {
		case errors.Is(refusal, store.ErrSystemPart) && list == "fields":
			out[i] = field(p.Path, "system_field", "key", key)
		case errors.Is(refusal, store.ErrSystemPart) && list == "phases":
			out[i] = field(p.Path, "system_phase", "key", key)
		case errors.Is(refusal, store.ErrSystemPart) && list == "workflows":
			out[i] = field(p.Path, "system_workflow", "key", key)
		case errors.Is(refusal, store.ErrSystemPart):
			out[i] = field(p.Path, "system_message_template", "key", key)
		case errors.Is(refusal, store.ErrConflict):
			out[i] = field(p.Path, "key_taken", "key", key)
		default:
			out[i] = field(p.Path, "no_own_part", "key", key)
		}
	}
	return out
}

// problemFields turns definition problems into field errors: the field is the path.
func problemFields(ps definitions.Problems) []job.FieldError {
	out := make([]job.FieldError, len(ps))
	for i, p := range ps {
		out[i] = definitionProblem(p)
	}
	return out
}

// definitionProblem is one problem of the definitions package as a field error. That
// package words its problems in English only, so the message is passed on as it is,
// in every language.
func definitionProblem(p definitions.Problem) job.FieldError {
	return field(p.Path, "definition_problem", "message", p.Message)
}

// copyPart writes p, a copy of the part the path names, under the key the body gives.
func copyPart[T, A any](s *server, c *gin.Context, k kind[T, A], key string, edit func(*T)) {
	if !checkNewKey(c, key) {
		return
	}
	_, _, p, ok := lookup(s, c, k)
	if !ok {
		return
	}
	k.setKey(&p, key)
	if edit != nil {
		edit(&p)
	}
	if written, ok := s.writeParts(c, true, k.parts(p)); ok {
		c.JSON(http.StatusCreated, k.admin(p, change(written[0])))
	}
}

// checkNewKey answers 422 unless key can name a new own part.
func checkNewKey(c *gin.Context, key string) bool {
	var bad job.FieldError
	switch {
	case key == "":
		bad = field("key", "required")
	case !store.ValidPartKey(key):
		bad = field("key", "invalid_key", "key", key)
	default:
		return true
	}
	writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "copy_needs_key", bad))
	return false
}

func (s *server) listFields(c *gin.Context) {
	if out, ok := listParts(s, c, fieldKind); ok {
		c.JSON(http.StatusOK, FieldList{Fields: out})
	}
}

func (s *server) listPhases(c *gin.Context) {
	if out, ok := listParts(s, c, phaseKind); ok {
		c.JSON(http.StatusOK, PhaseList{Phases: out})
	}
}

func (s *server) listWorkflows(c *gin.Context) {
	if out, ok := listParts(s, c, workflowKind); ok {
		c.JSON(http.StatusOK, WorkflowList{Workflows: out})
	}
}

func (s *server) listMessages(c *gin.Context) {
	if out, ok := listParts(s, c, messageKind); ok {
		c.JSON(http.StatusOK, MessageList{Messages: out})
	}
}

func (s *server) getField(c *gin.Context)    { getPart(s, c, fieldKind) }
func (s *server) getPhase(c *gin.Context)    { getPart(s, c, phaseKind) }
func (s *server) getWorkflow(c *gin.Context) { getPart(s, c, workflowKind) }
func (s *server) getMessage(c *gin.Context)  { getPart(s, c, messageKind) }

func (s *server) createField(c *gin.Context)    { createPart(s, c, fieldKind) }
func (s *server) createPhase(c *gin.Context)    { createPart(s, c, phaseKind) }
func (s *server) createWorkflow(c *gin.Context) { createPart(s, c, workflowKind) }
func (s *server) createMessage(c *gin.Context)  { createPart(s, c, messageKind) }

func (s *server) replaceField(c *gin.Context)    { replacePart(s, c, fieldKind) }
func (s *server) replacePhase(c *gin.Context)    { replacePart(s, c, phaseKind) }
func (s *server) replaceWorkflow(c *gin.Context) { replacePart(s, c, workflowKind) }
func (s *server) replaceMessage(c *gin.Context)  { replacePart(s, c, messageKind) }

func (s *server) copyField(c *gin.Context) {
	var b CopyFieldBody
	if !decodeJSON(c, &b) {
		return
	}
	copyPart(s, c, fieldKind, b.Key, func(f *definitions.Field) {
		f.System = false
		if b.Label != "" {
			f.Label = b.Label
		}
	})
}

func (s *server) copyPhase(c *gin.Context) {
	var b CopyPhaseBody
	if !decodeJSON(c, &b) {
		return
	}
	copyPart(s, c, phaseKind, b.Key, func(p *definitions.Phase) {
		p.System = false
		if b.Name != "" {
			p.Name = b.Name
		}
	})
}

func (s *server) copyMessage(c *gin.Context) {
	var b CopyMessageBody
	if !decodeJSON(c, &b) {
		return
	}
	copyPart(s, c, messageKind, b.Key, func(m *definitions.MessageTemplate) { m.System = false })
}

func (s *server) copyWorkflow(c *gin.Context) {
	var b CopyWorkflowBody
	if !decodeJSON(c, &b) {
		return
	}
	s.copyWorkflowFrom(c, c.Param("key"), b)
}

// copyStandard copies one of the standard workflows that ship with the product, so a
// dealer can adapt it; with copy_phases its phases become the dealer's own too.
func (s *server) copyStandard(c *gin.Context) {
	var b CopyStandardBody
	if !decodeJSON(c, &b) {
		return
	}
	if b.From != definitions.StandardMaster && b.From != definitions.StandardBasic {
		bad := field("from", "not_a_standard_workflow", "from", b.From, "standards", definitions.StandardMaster+", "+definitions.StandardBasic)
		if b.From == "" {
			bad = field("from", "required")
		}
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "copy_invalid", bad))
		return
	}
	s.copyWorkflowFrom(c, b.From, CopyWorkflowBody{Key: b.Key, Name: b.Name, CopyPhases: b.CopyPhases})
}

// copyWorkflowFrom copies the workflow from under b.Key, with its phases when asked:
// each phase p becomes `<key>_<p>`, the copy lists the copies, and follow-ups between
// copied phases point to the copies. Fields and message templates stay shared.
func (s *server) copyWorkflowFrom(c *gin.Context, from string, b CopyWorkflowBody) {
	if !checkNewKey(c, b.Key) {
		return
	}
	cat, _, ok := s.catalog(c)
	if !ok {
		return
	}
	wf, ok := workflowKind.find(cat, from)
	if !ok {
		writeProblem(c, partNotFound(store.PartWorkflow, from))
		return
	}
	wf.Key, wf.System = b.Key, false
	wf.Phases = slices.Clone(wf.Phases)
	if b.Name != "" {
		wf.Name = b.Name
	}
	parts := store.Parts{Workflows: []definitions.Workflow{wf}}
	if b.CopyPhases {
		renamed := map[string]string{}
		for _, pk := range wf.Phases {
			renamed[pk] = b.Key + "_" + pk
		}
		for i, pk := range wf.Phases {
			p, ok := phaseKind.find(cat, pk)
			if !ok {
				// The workflow lists a phase that is gone; the copy keeps the
				// reference and the store names the problem.
				continue
			}
			p.Key, p.System = renamed[pk], false
			if to, ok := renamed[p.FollowUp]; ok {
				p.FollowUp = to
			}
			if !store.ValidPartKey(p.Key) {
				writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "copy_invalid",
					field("key", "phase_copy_key_invalid", "phase", pk, "key", p.Key)))
				return
			}
			parts.Phases = append(parts.Phases, p)
			wf.Phases[i] = p.Key
		}
		parts.Workflows[0] = wf
	}
	written, ok := s.writeParts(c, true, parts)
	if !ok {
		return
	}
	changes := map[string]PartChange{}
	for _, in := range written {
		changes[string(in.Kind)+"/"+in.Key] = change(in)
	}
	out := WorkflowCopy{Workflow: workflowKind.admin(wf, changes["workflow/"+wf.Key]), Phases: []AdminPhase{}}
	for _, p := range parts.Phases {
		out.Phases = append(out.Phases, phaseKind.admin(p, changes["phase/"+p.Key]))
	}
	c.JSON(http.StatusCreated, out)
}

// fieldReference finds a condition's reference to one field: fields.key or
// fields["key"] (either quote).
func fieldReference(key string) *regexp.Regexp {
	q := regexp.QuoteMeta(key)
	return regexp.MustCompile(`\bfields\s*(\.\s*` + q + `\b|\[\s*["']` + q + `["']\s*\])`)
}

func (s *server) fieldUsage(c *gin.Context) {
	cat, _, f, ok := lookup(s, c, fieldKind)
	if !ok {
		return
	}
	out := FieldUsage{Field: f.Key, Phases: []FieldPlacement{}, Workflows: []PartRef{}, Conditions: []ConditionUse{}}
	ref := fieldReference(f.Key)
	reads := func(path, cond string) {
		if cond != "" && ref.MatchString(cond) {
			out.Conditions = append(out.Conditions, ConditionUse{Path: path, Condition: cond})
		}
	}
	for _, other := range cat.Fields {
		reads("fields["+other.Key+"].condition", other.Condition)
	}
	using := map[string]bool{}
	for _, p := range cat.Phases {
		reads("phases["+p.Key+"].condition", p.Condition)
		for _, view := range []struct {
			name string
			uses []definitions.FieldUse
		}{{"staff", p.StaffFields}, {"customer", p.CustomerFields}} {
			for i, u := range view.uses {
				reads(fmt.Sprintf("phases[%s].%s_fields[%d].condition", p.Key, view.name, i), u.Condition)
				if u.Field == f.Key {
					out.Phases = append(out.Phases, FieldPlacement{Phase: p.Key, Name: p.Name, System: p.System, View: view.name, Position: i})
					using[p.Key] = true
				}
			}
		}
	}
	out.Workflows = workflowsWith(cat, using)
	c.JSON(http.StatusOK, out)
}

// workflowsWith lists the workflows that have one of the phases.
func workflowsWith(cat definitions.Catalog, phases map[string]bool) []PartRef {
	out := []PartRef{}
	for _, w := range cat.Workflows {
		if slices.ContainsFunc(w.Phases, func(pk string) bool { return phases[pk] }) {
			out = append(out, PartRef{Key: w.Key, Name: w.Name, System: w.System})
		}
	}
	return out
}

func (s *server) phaseUsage(c *gin.Context) {
	cat, _, p, ok := lookup(s, c, phaseKind)
	if !ok {
		return
	}
	out := PhaseUsage{Phase: p.Key, Workflows: []PartRef{}, FollowUps: []PartRef{}}
	for _, w := range cat.Workflows {
		if i := slices.Index(w.Phases, p.Key); i >= 0 {
			out.Workflows = append(out.Workflows, PartRef{Key: w.Key, Name: w.Name, System: w.System, Position: &i})
		}
	}
	for _, other := range cat.Phases {
		if other.FollowUp == p.Key {
			out.FollowUps = append(out.FollowUps, PartRef{Key: other.Key, Name: other.Name, System: other.System})
		}
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) messageUsage(c *gin.Context) {
	cat, _, m, ok := lookup(s, c, messageKind)
	if !ok {
		return
	}
	out := MessageUsage{Message: m.Key, Phases: []PartRef{}}
	using := map[string]bool{}
	for _, p := range cat.Phases {
		if i := slices.Index(p.Messages, m.Key); i >= 0 {
			out.Phases = append(out.Phases, PartRef{Key: p.Key, Name: p.Name, System: p.System, Position: &i})
			using[p.Key] = true
		}
	}
	out.Workflows = workflowsWith(cat, using)
	c.JSON(http.StatusOK, out)
}

func (s *server) workflowUsage(c *gin.Context) {
	_, _, w, ok := lookup(s, c, workflowKind)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	dealer, err := s.store.GetDealer(ctx, c.Param("dealer"))
	if err != nil {
		internal(c, err)
		return
	}
	versions, err := s.store.Versions(ctx, dealer.ID, w.Key)
	if err != nil {
		internal(c, err)
		return
	}
	out := WorkflowUsage{Workflow: w.Key, Active: dealer.ActiveWorkflow == w.Key, PublishedVersions: []int{}}
	for _, v := range versions {
		if v.State == definitions.Published {
			out.PublishedVersions = append(out.PublishedVersions, v.Number)
		}
	}
	c.JSON(http.StatusOK, out)
}

// resolve builds the workflow the path names from the catalog, with the problems that
// keep it from being published; it answers 404 itself for a workflow the catalog lacks.
func resolve(c *gin.Context, cat definitions.Catalog) (definitions.Definition, definitions.Problems, bool) {
	key := c.Param("key")
	if _, ok := workflowKind.find(cat, key); !ok {
		writeProblem(c, partNotFound(store.PartWorkflow, key))
		return definitions.Definition{}, nil, false
	}
	d, err := cat.Resolve(key)
	if ps, isProblems := definitions.AsProblems(err); isProblems {
		// Validating a definition with phases missing would only repeat them.
		return d, ps, true
	}
	if err != nil {
		internal(c, err)
		return definitions.Definition{}, nil, false
	}
	return d, d.Validate(), true
}

// latest returns the newest published version of the workflow, if there is one.
func (s *server) latest(c *gin.Context, workflow string) (*definitions.Version, bool) {
	v, err := s.store.LatestPublished(c.Request.Context(), c.Param("dealer"), workflow)
	if errors.Is(err, store.ErrNotFound) {
		return nil, true
	}
	if err != nil {
		internal(c, err)
		return nil, false
	}
	return &v, true
}

// validateWorkflow reports what keeps the workflow from being published, with a draft
// applied when the body holds one. It changes nothing, so it needs no Idempotency-Key.
func (s *server) validateWorkflow(c *gin.Context) {
	var b ValidateBody
	if !decodeJSON(c, &b) {
		return
	}
	draft := store.Parts{Fields: b.Fields, Phases: b.Phases, Workflows: b.Workflows, Messages: b.Messages}
	out := Validation{Workflow: c.Param("key"), Problems: []definitions.Problem{}, CatalogProblems: []definitions.Problem{}}
	cat, catalogProblems, err := s.store.PreviewParts(c.Request.Context(), c.Param("dealer"), draft)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_dealer").with("dealer", c.Param("dealer")))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	out.CatalogProblems = append(out.CatalogProblems, catalogProblems...)
	d, ps, ok := resolve(c, cat)
	if !ok {
		return
	}
	out.Problems = append(out.Problems, ps...)
	latest, ok := s.latest(c, out.Workflow)
	if !ok {
		return
	}
	if latest != nil {
		out.Published = &PublishedRef{Workflow: latest.Workflow, Version: latest.Number, Hash: latest.Hash}
	}
	if len(ps) == 0 {
		h, err := d.Hash()
		if err != nil {
			internal(c, err)
			return
		}
		out.Hash = h
		out.Changed = latest == nil || latest.Hash != h
	}
	c.JSON(http.StatusOK, out)
}

// publishWorkflow snapshots the workflow as the dealer's catalog resolves it now into a
// new immutable version: 201. When nothing changed since the latest version, that
// version is the answer (200), so a repeated publish makes no empty versions.
func (s *server) publishWorkflow(c *gin.Context) {
	key := c.Param("key")
	d, h, ok := s.resolveValid(c, func(ps definitions.Problems) Problem { return publishProblem(key, ps) })
	if !ok {
		return
	}
	latest, ok := s.latest(c, key)
	if !ok {
		return
	}
	if latest != nil && latest.Hash == h {
		c.JSON(http.StatusOK, PublishedRef{Workflow: key, Version: latest.Number, Hash: latest.Hash})
		return
	}
	ctx, dealer := c.Request.Context(), c.Param("dealer")
	if _, err := s.store.SaveDraft(ctx, dealer, d); err != nil {
		internal(c, err)
		return
	}
	v, err := s.store.PublishVersion(ctx, dealer, key)
	if errors.Is(err, store.ErrNotFound) {
		// A concurrent publish took the draft between our two steps. If it published
		// what we resolved, that is our answer; else the caller should look again.
		if latest, ok := s.latest(c, key); ok && latest != nil && latest.Hash == h {
			c.JSON(http.StatusOK, PublishedRef{Workflow: key, Version: latest.Number, Hash: latest.Hash})
		} else if ok {
			writeProblem(c, problem(http.StatusConflict, ProblemConflict, "publish_raced").with("workflow", key))
		}
		return
	}
	if ps, isProblems := definitions.AsProblems(err); isProblems {
		writeProblem(c, publishProblem(key, ps))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, PublishedRef{Workflow: v.Workflow, Version: v.Number, Hash: v.Hash})
}

// resolveValid resolves the path's workflow as the dealer's catalog has it now, with
// its hash, for publishing it or starting a test job on it; a workflow with problems
// is refused with what refuse makes of them. False when answered.
func (s *server) resolveValid(c *gin.Context, refuse func(definitions.Problems) Problem) (definitions.Definition, string, bool) {
	cat, _, ok := s.catalog(c)
	if !ok {
		return definitions.Definition{}, "", false
	}
	d, ps, ok := resolve(c, cat)
	if !ok {
		return definitions.Definition{}, "", false
	}
	if len(ps) > 0 {
		writeProblem(c, refuse(ps))
		return definitions.Definition{}, "", false
	}
	h, err := d.Hash()
	if err != nil {
		internal(c, err)
		return definitions.Definition{}, "", false
	}
	return d, h, true
}

// publishProblem refuses to publish a workflow with problems, naming each by its path.
func publishProblem(workflow string, ps definitions.Problems) Problem {
	return problem(http.StatusUnprocessableEntity, ProblemInvalid, "publish_invalid", problemFields(ps)...).
		with("workflow", workflow, "count", strconv.Itoa(len(ps)))
}

func (s *server) listVersions(c *gin.Context) {
	if _, _, _, ok := lookup(s, c, workflowKind); !ok {
		return
	}
	ctx, dealerID, key := c.Request.Context(), c.Param("dealer"), c.Param("key")
	dealer, err := s.store.GetDealer(ctx, dealerID)
	if err != nil {
		internal(c, err)
		return
	}
	versions, err := s.store.Versions(ctx, dealerID, key)
	if err != nil {
		internal(c, err)
		return
	}
	out := VersionList{Versions: []VersionSummary{}}
	newest := 0
	for _, v := range versions {
		if v.State == definitions.Published {
			newest = v.Number
		}
	}
	for _, v := range versions {
		out.Versions = append(out.Versions, VersionSummary{
			Workflow: v.Workflow, Version: v.Number, State: v.State, Hash: v.Hash,
			Active: dealer.ActiveWorkflow == key && v.Number == newest,
		})
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getVersion(c *gin.Context) {
	key := c.Param("key")
	noVersion := problem(http.StatusNotFound, ProblemNotFound, "no_version").with("workflow", key, "version", c.Param("version"))
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		writeProblem(c, noVersion)
		return
	}
	v, err := s.store.PublishedVersion(c.Request.Context(), c.Param("dealer"), key, n)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, noVersion)
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *server) getActiveWorkflow(c *gin.Context) {
	v, err := s.store.ActiveDefinition(c.Request.Context(), c.Param("dealer"))
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_active_workflow").with("dealer", c.Param("dealer")))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, PublishedRef{Workflow: v.Workflow, Version: v.Number, Hash: v.Hash})
}

// setActiveWorkflow chooses the workflow new jobs start with: its latest published
// version, now and after each later publish. Running jobs keep the version they pinned.
func (s *server) setActiveWorkflow(c *gin.Context) {
	var b ActiveWorkflowBody
	if !decodeJSON(c, &b) {
		return
	}
	if b.Workflow == "" {
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "active_workflow_invalid", field("workflow", "required")))
		return
	}
	ctx, dealer := c.Request.Context(), c.Param("dealer")
	err := s.store.SetActiveWorkflow(ctx, dealer, b.Workflow)
	if errors.Is(err, store.ErrNotFound) {
		cat, _, ok := s.catalog(c)
		if !ok {
			return
		}
		if _, known := workflowKind.find(cat, b.Workflow); !known {
			writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "active_workflow_invalid",
				field("workflow", "unknown_workflow", "workflow", b.Workflow)))
			return
		}
		writeProblem(c, problem(http.StatusConflict, ProblemConflict, "workflow_unpublished",
			field("workflow", "workflow_unpublished", "workflow", b.Workflow)).with("workflow", b.Workflow))
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	s.getActiveWorkflow(c)
}
