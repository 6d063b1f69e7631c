package workflows

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// conditions is shared by every job in the worker: compiling is deterministic, so a
// cached program gives on replay exactly what a fresh one would.
var conditions = &definitions.Conditions{}

// engine interprets a job's pinned definition. It is pure: it changes State and
// collects audit entries, and never talks to the outside world, so the same code serves
// the workflow, its validators, and unit tests without Temporal.
type engine struct {
	in      StartInput
	def     *definitions.Definition
	st      *State
	pending []job.AuditEntry
	// activations are the phase activations not yet handed to side effects.
	activations []activation
}

// activation is one phase activation and the message templates it sends.
type activation struct {
	Seq      int64
	Phase    string
	Messages []string
}

func newEngine(in StartInput) *engine {
	e := &engine{in: in, def: &in.Definition}
	if in.Carry != nil {
		e.st = in.Carry
		if e.st.Values == nil {
			e.st.Values = map[string]any{}
		}
		if e.st.Definition != nil {
			e.def = e.st.Definition
		}
	}
	return e
}

// reject refuses a request. category is one of job.Code*, which the API maps to an
// HTTP status; code names message for the API's message catalog, and params (name,
// value pairs) are the values it names. Codes and params never reach workflow history
// from a validator, so changing them needs no GetVersion.
func reject(category, code, message string, params ...string) *job.Rejection {
	return &job.Rejection{Code: category, MessageCode: code, Message: message, MessageParams: job.Params(params...)}
}

// start sets up a fresh job: initial values, location from the vehicle, first phase.
func (e *engine) start(now time.Time) error {
	e.st = &State{Status: job.StatusOpen, Values: map[string]any{}, Salesperson: e.in.Salesperson, Location: e.in.Vehicle.Location}
	for _, k := range sortedKeys(e.in.Values) {
		if f, ok := e.def.Field(k); ok && f.Type.HoldsValue() {
			e.st.Values[k] = e.in.Values[k]
		}
	}
	first, skipped := e.walk("")
	if first == "" {
		return fmt.Errorf("definition %s: no phase applies to a new job", e.in.Ref)
	}
	e.record(now, e.in.Actor, job.ActionCreated, "", nil, map[string]any{
		"source": string(e.in.Source), "vehicle": e.in.Vehicle.Number, "definition": e.in.Ref.String(),
		"salesperson": e.st.Salesperson, "location": e.st.Location,
	})
	e.enter(now, e.in.Actor, first, skipped)
	return nil
}

// subject is what conditions see, for the acting side.
func (e *engine) subject(side job.Side, values map[string]any) definitions.Subject {
	fields := make(map[string]any, len(e.def.Fields))
	for _, f := range e.def.Fields {
		if !f.Type.HoldsValue() {
			continue
		}
		fields[f.Key] = e.value(f, values)
	}
	_, loggedIn := e.customer()
	return definitions.Subject{
		Fields: fields, Status: string(e.st.Status), Phase: e.st.Phase,
		Source: string(e.in.Source), LoggedIn: loggedIn, Side: string(side),
	}
}

// value is a field's current value: the job's status and location live in the state,
// everything else in the values, else the field's zero.
func (e *engine) value(f definitions.Field, values map[string]any) any {
	switch f.Type {
	case definitions.TypeJobStatus:
		return string(e.st.Status)
	case definitions.TypeLocation:
		if v, ok := values[f.Key]; ok {
			return v
		}
		return e.st.Location
	}
	if v, ok := values[f.Key]; ok {
		return v
	}
	return f.Zero()
}

// holds evaluates a condition; an expression that fails at run time counts as false,
// so a broken condition hides a field or skips a phase instead of blocking the job.
func (e *engine) holds(src string, s definitions.Subject) bool {
	ok, err := conditions.Eval(src, s)
	return err == nil && ok
}

func (e *engine) phase(key string) *definitions.Phase {
	if i := e.def.PhaseIndex(key); i >= 0 {
		return &e.def.Phases[i]
	}
	return nil
}

// phaseSubject is what phase conditions see; one per walk, as the state does not
// change while phases are weighed.
func (e *engine) phaseSubject() definitions.Subject {
	return e.subject(job.Staff, e.st.Values)
}

// walk finds the phase that follows from: the follow-up of from if it has one, else
// the next in order; phases whose condition is false are skipped in order (a skipped
// phase's own follow-up does not count, as the phase never happened). An empty from
// means the start of the workflow.
func (e *engine) walk(from string) (next string, skipped []string) {
	idx := -1
	if from != "" {
		idx = e.def.PhaseIndex(from)
		if p := e.phase(from); p != nil && p.FollowUp != "" {
			idx = e.def.PhaseIndex(p.FollowUp) - 1
		}
	}
	s := e.phaseSubject()
	for i := idx + 1; i < len(e.def.Phases); i++ {
		p := &e.def.Phases[i]
		if p.Key == from {
			continue
		}
		if e.holds(p.Condition, s) {
			return p.Key, skipped
		}
		skipped = append(skipped, p.Key)
	}
	return "", skipped
}

// reachable lists the phases staff can activate now: the next one, and any phase later
// in order (or after the follow-up) whose condition holds.
func (e *engine) reachable() []string {
	next, _ := e.walk(e.st.Phase)
	if next == "" {
		return nil
	}
	out := []string{next}
	s := e.phaseSubject()
	for i := e.def.PhaseIndex(next) + 1; i < len(e.def.Phases); i++ {
		p := &e.def.Phases[i]
		if p.Key != e.st.Phase && e.holds(p.Condition, s) {
			out = append(out, p.Key)
		}
	}
	return out
}

// checkActive refuses any change to a job that has ended.
func (e *engine) checkActive() error {
	if e.st.Status.Ended() {
		return reject(job.CodeEnded, "job_ended", fmt.Sprintf("job is %s", e.st.Status), "status", string(e.st.Status))
	}
	return nil
}

func checkActor(a job.Actor, want ...job.Side) error {
	if a.Side != job.Staff && a.Side != job.Customer {
		return reject(job.CodeInvalid, "actor_side_invalid", fmt.Sprintf("actor side %q is neither staff nor customer", a.Side), "side", string(a.Side))
	}
	if !slices.Contains(want, a.Side) {
		return reject(job.CodeForbidden, "side_forbidden", fmt.Sprintf("%s may not do this", a.Side), "side", string(a.Side))
	}
	return nil
}

// planActivate returns the phase an activation goes to and the phases it skips.
func (e *engine) planActivate(req job.ActivateRequest) (string, []string, error) {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return "", nil, err
	}
	if err := e.checkActive(); err != nil {
		return "", nil, err
	}
	next, skipped := e.walk(e.st.Phase)
	if req.Phase == "" || req.Phase == next {
		if next == "" {
			return "", nil, reject(job.CodeConflict, "last_phase", fmt.Sprintf("phase %q is the last one; no phase follows", e.st.Phase), "phase", e.st.Phase)
		}
		return next, skipped, nil
	}
	if e.phase(req.Phase) == nil {
		return "", nil, reject(job.CodeInvalid, "unknown_phase", "unknown phase").WithFields(job.NewFieldError("phase", "unknown_phase", fmt.Sprintf("unknown phase %q", req.Phase), "phase", req.Phase))
	}
	if !slices.Contains(e.reachable(), req.Phase) {
		return "", nil, reject(job.CodeConflict, "not_reachable", "phase not reachable").WithFields(job.NewFieldError("phase", "not_reachable",
			fmt.Sprintf("phase %q is not reachable from %q", req.Phase, e.st.Phase), "phase", req.Phase, "current", e.st.Phase))
	}
	var between []string
	for i := e.def.PhaseIndex(next); i < e.def.PhaseIndex(req.Phase); i++ {
		between = append(between, e.def.Phases[i].Key)
	}
	return req.Phase, between, nil
}

func (e *engine) activate(now time.Time, req job.ActivateRequest) error {
	target, skipped, err := e.planActivate(req)
	if err != nil {
		return err
	}
	e.enter(now, req.Actor, target, skipped)
	return nil
}

// enter makes target the current phase and records the skipped phases.
func (e *engine) enter(now time.Time, actor job.Actor, target string, skipped []string) {
	for _, s := range skipped {
		e.record(now, actor, job.ActionSkip, s, nil, nil)
	}
	before := map[string]any{"phase": e.st.Phase, "turn": string(e.st.Turn)}
	e.st.Phase = target
	e.st.StaffSubmitted, e.st.CustomerSubmitted = false, false
	e.st.Visited = append(e.st.Visited, target)
	e.st.Turn = e.turnOnEntry(e.phase(target))
	after := map[string]any{"phase": target, "turn": string(e.st.Turn)}
	if msgs := e.dueMessages(e.phase(target)); len(msgs) > 0 {
		after["messages"] = msgs
	}
	if before["phase"] == "" {
		before = nil
	}
	e.record(now, actor, job.ActionActivate, target, before, after)
	act := activation{Seq: e.st.Seq, Phase: target}
	for _, m := range e.dueMessages(e.phase(target)) {
		act.Messages = append(act.Messages, m.(string))
	}
	e.activations = append(e.activations, act)
}

// turnOnEntry is the phase's turn, else the customer's when their view asks them to
// act, else the staff's.
func (e *engine) turnOnEntry(p *definitions.Phase) definitions.Turn {
	if p.Turn != "" {
		return p.Turn
	}
	for _, u := range e.visibleUses(p, job.Customer, e.st.Values, false) {
		f, _ := e.def.Field(u.Field)
		switch {
		case f.Type == definitions.TypeSaveButton, f.Type == definitions.TypePayment:
			return definitions.TurnCustomer
		case (f.Type.Input() || f.Type == definitions.TypeFileUpload) && !u.ReadOnly:
			return definitions.TurnCustomer
		}
	}
	return definitions.TurnStaff
}

// dueMessages lists the message templates that activating p sends, leaving out what the
// job's state or the workflow variant suppresses.
func (e *engine) dueMessages(p *definitions.Phase) []any {
	if e.st.Status.Ended() || e.suppressed() {
		return nil
	}
	var out []any
	for _, k := range p.Messages {
		m, ok := e.def.Message(k)
		if !ok {
			continue
		}
		if m.Customer && m.Channel == definitions.ChannelEmail && e.def.Workflow.NoCustomerEmails {
			continue
		}
		out = append(out, k)
	}
	return out
}

func (e *engine) suppressed() bool {
	for _, f := range e.def.Fields {
		if f.Type == definitions.TypeSuppressMessages && e.value(f, e.st.Values) == true {
			return true
		}
	}
	return false
}

func (e *engine) uses(p *definitions.Phase, side job.Side) []definitions.FieldUse {
	if side == job.Customer {
		return p.CustomerFields
	}
	return p.StaffFields
}

// visibleUses is the side's view of p for the given values: uses whose field and use
// conditions hold, and after-submit uses only once the side has submitted.
func (e *engine) visibleUses(p *definitions.Phase, side job.Side, values map[string]any, submitted bool) []definitions.FieldUse {
	s := e.subject(side, values)
	var out []definitions.FieldUse
	for _, u := range e.uses(p, side) {
		f, ok := e.def.Field(u.Field)
		if !ok || (u.ShowAfterSubmit && !submitted) {
			continue
		}
		if e.holds(f.Condition, s) && e.holds(u.Condition, s) {
			out = append(out, u)
		}
	}
	return out
}

// currentUse is the use of a field in the side's view of the current phase as the side
// sees it now, or nil when the view does not show it.
func (e *engine) currentUse(side job.Side, field string) *definitions.FieldUse {
	for _, u := range e.visibleUses(e.phase(e.st.Phase), side, e.st.Values, e.submitted(side)) {
		if u.Field == field {
			return &u
		}
	}
	return nil
}

func (e *engine) submitted(side job.Side) bool {
	if side == job.Customer {
		return e.st.CustomerSubmitted
	}
	return e.st.StaffSubmitted
}

// planSubmit checks a submit and returns the normalized changes it makes.
func (e *engine) planSubmit(req job.SubmitRequest) (map[string]any, error) {
	if err := checkActor(req.Actor, job.Staff, job.Customer); err != nil {
		return nil, err
	}
	if err := e.checkActive(); err != nil {
		return nil, err
	}
	if req.Phase != e.st.Phase {
		return nil, reject(job.CodeConflict, "stale_phase", "the form is for another phase").WithFields(job.NewFieldError("phase", "stale_phase",
			fmt.Sprintf("phase %q is not the current phase %q", req.Phase, e.st.Phase), "phase", req.Phase, "current", e.st.Phase))
	}
	p := e.phase(e.st.Phase)
	side := req.Actor.Side
	inView := map[string]definitions.FieldUse{}
	for _, u := range e.uses(p, side) {
		inView[u.Field] = u
	}
	rej := reject(job.CodeInvalid, "fields_invalid", "the submitted fields are not valid")
	changes := map[string]any{}
	for _, k := range sortedKeys(req.Values) {
		u, ok := inView[k]
		f, _ := e.def.Field(k)
		switch {
		case !ok:
			rej.Fields = append(rej.Fields, job.NewFieldError(k, "not_in_view",
				fmt.Sprintf("not a field of the %s view of phase %q", side, p.Key), "side", string(side), "phase", p.Key))
		case u.ReadOnly:
			rej.Fields = append(rej.Fields, job.NewFieldError(k, "read_only", "is read-only"))
		case !f.Type.Input():
			rej.Fields = append(rej.Fields, job.NewFieldError(k, "not_input",
				fmt.Sprintf("a %s field is not set by a submit", f.Type), "type", string(f.Type)))
		default:
			v, err := f.Normalize(req.Values[k], e.in.Vehicle.Extras)
			if err != nil {
				rej.Fields = append(rej.Fields, job.ValueFieldError(k, err))
				continue
			}
			changes[k] = v
		}
	}
	if len(rej.Fields) > 0 {
		return nil, rej
	}
	merged := make(map[string]any, len(e.st.Values)+len(changes))
	for _, k := range sortedKeys(e.st.Values) {
		merged[k] = e.st.Values[k]
	}
	for _, k := range sortedKeys(changes) {
		merged[k] = changes[k]
	}
	visible := e.visibleUses(p, side, merged, e.submitted(side))
	visibleKeys := map[string]bool{}
	var buttons, visibleButtons []string
	for _, u := range e.uses(p, side) {
		if f, _ := e.def.Field(u.Field); f.Type == definitions.TypeSaveButton {
			buttons = append(buttons, u.Field)
		}
	}
	for _, u := range visible {
		visibleKeys[u.Field] = true
		f, _ := e.def.Field(u.Field)
		if f.Type == definitions.TypeSaveButton {
			visibleButtons = append(visibleButtons, u.Field)
		}
		if u.Required && definitions.Empty(e.value(f, merged)) {
			rej.Fields = append(rej.Fields, job.NewFieldError(u.Field, "required", "is required"))
		}
	}
	for _, k := range sortedKeys(changes) {
		if !visibleKeys[k] {
			rej.Fields = append(rej.Fields, job.NewFieldError(k, "hidden", "is hidden by its condition"))
		}
	}
	if len(buttons) > 0 && len(visibleButtons) == 0 {
		rej.Fields = append(rej.Fields, job.NewFieldError(buttons[0], "save_unavailable", "saving is not available: its condition does not hold"))
	}
	if len(rej.Fields) > 0 {
		return nil, rej
	}
	return changes, nil
}

func (e *engine) submit(now time.Time, req job.SubmitRequest) error {
	changes, err := e.planSubmit(req)
	if err != nil {
		return err
	}
	before, after := map[string]any{}, map[string]any{}
	var newStatus job.Status
	for _, k := range sortedKeys(changes) {
		f, _ := e.def.Field(k)
		old := e.value(f, e.st.Values)
		switch f.Type {
		case definitions.TypeJobStatus:
			if s := job.Status(changes[k].(string)); s != e.st.Status {
				newStatus = s
			}
			continue
		case definitions.TypeLocation:
			e.st.Location = changes[k].(string)
		}
		e.st.Values[k] = changes[k]
		if !equalValue(old, changes[k]) {
			before[k], after[k] = old, changes[k]
		}
	}
	if req.Actor.Side == job.Customer {
		e.st.CustomerSubmitted = true
		e.st.Turn = definitions.TurnStaff
	} else {
		e.st.StaffSubmitted = true
	}
	e.record(now, req.Actor, job.ActionSubmit, e.st.Phase, before, after)
	if newStatus != "" {
		e.setStatus(now, req.Actor, newStatus, "")
	}
	return nil
}

func (e *engine) planStatus(req job.StatusRequest) error {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	if !req.Status.Valid() {
		return reject(job.CodeInvalid, "unknown_status", "unknown status").WithFields(job.NewFieldError("status", "unknown_status",
			fmt.Sprintf("%q is not one of open, sold, closed, canceled", req.Status), "status", string(req.Status)))
	}
	if req.Status == e.st.Status {
		return reject(job.CodeConflict, "status_unchanged", "status unchanged").WithFields(job.NewFieldError("status", "status_unchanged",
			fmt.Sprintf("the job is already %s", req.Status), "status", string(req.Status)))
	}
	if req.SoldOn != "" {
		reason, code := "", ""
		if req.Status != job.StatusSold {
			code, reason = "sold_on_not_sold", "a sale date goes only with status sold"
		} else if _, err := time.Parse(time.DateOnly, req.SoldOn); err != nil {
			code, reason = "invalid_date", fmt.Sprintf("%q is not a date like 2026-11-27", req.SoldOn)
		}
		if code != "" {
			return reject(job.CodeInvalid, "sold_on_invalid", "invalid sale date").WithFields(job.NewFieldError("sold_on", code, reason, "sold_on", req.SoldOn))
		}
	}
	return nil
}

func (e *engine) status(now time.Time, req job.StatusRequest) error {
	if err := e.planStatus(req); err != nil {
		return err
	}
	e.setStatus(now, req.Actor, req.Status, req.SoldOn)
	return nil
}

func (e *engine) setStatus(now time.Time, actor job.Actor, s job.Status, soldOn string) {
	before := map[string]any{"status": string(e.st.Status)}
	after := map[string]any{"status": string(s)}
	e.st.Status = s
	if soldOn != "" {
		e.st.SoldOn = soldOn
		after["sold_on"] = soldOn
	}
	e.record(now, actor, job.ActionStatus, e.st.Phase, before, after)
}

func (e *engine) planAssign(req job.AssignRequest) error {
	if err := checkActor(req.Actor, job.Staff); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	if req.Salesperson == nil && req.Location == nil {
		return reject(job.CodeInvalid, "nothing_to_assign", "nothing to assign: give salesperson or location")
	}
	return nil
}

func (e *engine) assign(now time.Time, req job.AssignRequest) error {
	if err := e.planAssign(req); err != nil {
		return err
	}
	before, after := map[string]any{}, map[string]any{}
	if req.Salesperson != nil {
		before["salesperson"], after["salesperson"] = e.st.Salesperson, *req.Salesperson
		e.st.Salesperson = *req.Salesperson
	}
	if req.Location != nil {
		before["location"], after["location"] = e.st.Location, *req.Location
		e.st.Location = *req.Location
	}
	e.record(now, req.Actor, job.ActionAssign, e.st.Phase, before, after)
	return nil
}

// payment records a payment; payment fields show "paid" and it is the staff's turn to
// check it and go on.
func (e *engine) payment(now time.Time, p job.PaymentReceived) {
	if p.PaidCents > 0 {
		e.st.PaidCents = p.PaidCents
	} else {
		e.st.PaidCents += p.AmountCents
	}
	status := "paid"
	after := map[string]any{"key": p.Key, "amount_cents": p.AmountCents, "paid_cents": e.st.PaidCents, "reference": p.Reference}
	if pay := e.st.Payment; pay != nil {
		pay.PaidCents = e.st.PaidCents
		// The provider's own totals win; a bare amount (a payment reported another
		// way) is added up against the order's price.
		if p.Status != "" || p.PaidCents > 0 {
			pay.RemainingCents, pay.Status = p.RemainingCents, p.Status
		} else {
			pay.RemainingCents = max(pay.PriceCents-e.st.PaidCents, 0)
			pay.Status = ""
		}
		if pay.Status == "" {
			pay.Status = "received"
			if pay.RemainingCents == 0 {
				pay.Status = "paid"
			}
		}
		after["remaining_cents"] = pay.RemainingCents
		status = pay.Status
	}
	e.setPaymentValues(status)
	if !e.st.Status.Ended() {
		e.st.Turn = definitions.TurnStaff
	}
	e.record(now, job.Actor{Side: "provider", ID: "payment"}, job.ActionPayment, e.st.Phase, nil, after)
}

// setPaymentValues shows the payment's state in every payment field: a plain "paid"
// before an order exists (a payment reported by hand), else the order's link, status
// and amounts.
func (e *engine) setPaymentValues(status string) {
	var v any = status
	if pay := e.st.Payment; pay != nil {
		v = map[string]any{
			"link": pay.Link, "status": pay.Status,
			"paid_cents": float64(pay.PaidCents), "remaining_cents": float64(pay.RemainingCents),
		}
	}
	for _, f := range e.def.Fields {
		if f.Type == definitions.TypePayment {
			e.st.Values[f.Key] = v
		}
	}
}

func (e *engine) record(now time.Time, actor job.Actor, action, phase string, before, after map[string]any) {
	e.st.Seq++
	if len(before) == 0 {
		before = nil
	}
	if len(after) == 0 {
		after = nil
	}
	e.pending = append(e.pending, job.AuditEntry{Seq: e.st.Seq, At: now, Actor: actor, Action: action, Phase: phase, Before: before, After: after})
}

// row is the job's read-model row as of now.
func (e *engine) row(now time.Time) job.Row {
	name := ""
	if p := e.phase(e.st.Phase); p != nil {
		name = p.Name
	}
	customerID, _ := e.customer()
	return job.Row{
		Dealer: e.in.Dealer, Number: e.in.Number, Phase: e.st.Phase, PhaseName: name,
		Status: e.st.Status, Turn: e.st.Turn, VehicleID: e.in.Vehicle.ID, CustomerID: customerID,
		Salesperson: e.st.Salesperson, Location: e.st.Location, Source: e.in.Source,
		Definition: e.ref(), Seq: e.st.Seq, UpdatedAt: now,
	}
}

// view is what a side sees of the current phase; draft values, merged over the stored
// ones, decide the fields' conditions only (a query: nothing changes).
func (e *engine) view(side job.Side, draft map[string]any) (job.View, error) {
	if side != job.Staff && side != job.Customer {
		return job.View{}, fmt.Errorf("side %q is neither staff nor customer", side)
	}
	p := e.phase(e.st.Phase)
	submitted := e.submitted(side)
	v := job.View{
		Dealer: e.in.Dealer, Number: e.in.Number, Side: side,
		Phase: job.PhaseRef{Key: p.Key, Name: p.Name}, Status: e.st.Status, Turn: e.st.Turn,
		Submitted: submitted, Seq: e.st.Seq, Fields: []job.ViewField{},
	}
	values := e.st.Values
	if len(draft) > 0 {
		values = make(map[string]any, len(e.st.Values)+len(draft))
		// Sorted, though copying is order-free: workflowcheck allows no bare map walk.
		for _, k := range sortedKeys(e.st.Values) {
			values[k] = e.st.Values[k]
		}
		for _, k := range sortedKeys(draft) {
			values[k] = draft[k]
		}
	}
	for _, u := range e.visibleUses(p, side, values, submitted) {
		f, _ := e.def.Field(u.Field)
		label := f.Label
		if u.Label != "" {
			label = u.Label
		}
		vf := job.ViewField{
			Key: f.Key, Type: f.Type, Label: label, HideLabel: u.HideLabel, Text: f.Text,
			Required: u.Required, ReadOnly: u.ReadOnly, Options: f.Options, AfterSubmit: u.ShowAfterSubmit, Accept: f.Accept,
		}
		if f.Type.HoldsValue() {
			vf.Value = e.value(f, e.st.Values)
		}
		if f.Type == definitions.TypeVehicleConfig {
			vf.Options = e.extraOptions(f)
		}
		v.Fields = append(v.Fields, vf)
	}
	if side == job.Staff {
		v.Salesperson, v.Location = e.st.Salesperson, e.st.Location
		for _, k := range e.reachable() {
			v.Reachable = append(v.Reachable, job.PhaseRef{Key: k, Name: e.phase(k).Name})
		}
		if len(v.Reachable) > 0 {
			next := v.Reachable[0]
			v.Next = &next
		}
	}
	return v, nil
}

func (e *engine) extraOptions(f definitions.Field) []definitions.Option {
	var out []definitions.Option
	for _, x := range e.in.Vehicle.Extras {
		if len(f.Extras) == 0 || slices.Contains(f.Extras, x) {
			out = append(out, definitions.Option{Value: x, Label: x})
		}
	}
	return out
}

func equalValue(a, b any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
