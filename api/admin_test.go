package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// adminDealer is the dealer whose definitions the admin tests edit. It is not the env's
// dealer: its jobs get workflow IDs of their own, and the other tests keep the standard
// workflow they rely on.
const adminDealer = "autohaus-admin"

// adminEnv is the env with a second dealer: its owner, admin and sales staff and a
// customer with an account, each logged in.
type adminEnv struct {
	*env
	owner, admin, sales *caller
	adminID             string
	cust                *caller
	customer            store.Customer
	vehicle             job.Vehicle
}

func newAdminEnv(t *testing.T, e *env) *adminEnv {
	t.Helper()
	ctx := context.Background()
	a := &adminEnv{env: e}
	_, err := e.store.CreateDealer(ctx, store.Dealer{ID: adminDealer, Name: "Autohaus Admin"})
	require.NoError(t, err)
	a.vehicle, err = e.store.CreateVehicle(ctx, adminDealer, job.Vehicle{Number: "B-200", Make: "Škoda", Model: "Octavia", PriceCents: 3_100_000, Location: "Potsdam"})
	require.NoError(t, err)
	a.customer, err = e.store.CreateCustomerAccount(ctx, store.Customer{Dealer: adminDealer, Name: "Jörg Käufer", Email: "joerg@example.org"}, testHash())
	require.NoError(t, err)

	e.addStaff(t, adminDealer, "Olga Owner", "olga@autohaus-admin.de", store.RoleOwner)
	a.adminID = e.addStaff(t, adminDealer, "Adam Admin", "adam@autohaus-admin.de", store.RoleAdmin).ID
	e.addStaff(t, adminDealer, "Sina Sales", "sina@autohaus-admin.de", store.RoleSales)
	a.owner = e.loginStaff(t, adminDealer, "olga@autohaus-admin.de")
	a.admin = e.loginStaff(t, adminDealer, "adam@autohaus-admin.de")
	a.sales = e.loginStaff(t, adminDealer, "sina@autohaus-admin.de")

	a.cust = anonymous()
	r := e.do(t, request{method: http.MethodPost, path: a.path("/customer/login"), as: a.cust,
		body: api.LoginBody{Email: a.customer.Email, Password: testPassword}})
	require.True(t, decode[api.CustomerAnswer](t, r, http.StatusOK).LoggedIn)
	return a
}

// path is the absolute path of a route of the admin dealer.
func (a *adminEnv) path(p string) string { return "/api/v1/dealers/" + adminDealer + p }

// get, post and put send as the dealer's admin unless as says otherwise.
func (a *adminEnv) get(t *testing.T, p string) response {
	t.Helper()
	return a.do(t, request{method: http.MethodGet, path: a.path(p), as: a.admin})
}

func (a *adminEnv) post(t *testing.T, p, key string, body any) response {
	t.Helper()
	return a.do(t, request{method: http.MethodPost, path: a.path(p), key: key, body: body, as: a.admin})
}

func (a *adminEnv) put(t *testing.T, p, key string, body any) response {
	t.Helper()
	return a.do(t, request{method: http.MethodPut, path: a.path(p), key: key, body: body, as: a.admin})
}

// errorsOf are the field errors of a problem answer with the status.
func errorsOf(t *testing.T, r response, status int) []job.FieldError {
	t.Helper()
	p := r.problem(t)
	require.Equal(t, status, p.Status, "answer: %s", r)
	return p.Errors
}

func TestAdmin(t *testing.T) {
	e := newEnv(t)
	a := newAdminEnv(t, e)
	t.Run("Access", a.testAccess)
	t.Run("Parts", a.testParts)
	t.Run("Messages", a.testMessages)
	t.Run("OwnWorkflowJourney", a.testOwnWorkflowJourney)
}

// Owners and admins edit definitions; sales staff may not (403); to staff of another
// dealer the dealer's definitions do not exist (404).
func (a *adminEnv) testAccess(t *testing.T) {
	fields := a.path("/admin/fields")
	for _, c := range []*caller{a.owner, a.admin} {
		list := decode[api.FieldList](t, a.do(t, request{method: http.MethodGet, path: fields, as: c}), http.StatusOK)
		require.NotEmpty(t, list.Fields)
	}
	require.Equal(t, http.StatusForbidden, a.do(t, request{method: http.MethodGet, path: fields, as: a.sales}).problem(t).Status)
	p := a.do(t, request{method: http.MethodPost, path: fields, as: a.sales, key: "acc-1",
		body: definitions.Field{Key: "von_sales", Type: definitions.TypeText, Label: "x"}}).problem(t)
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Equal(t, http.StatusForbidden, a.do(t, request{method: http.MethodGet, path: fields, as: a.cust}).problem(t).Status)
	require.Equal(t, http.StatusUnauthorized, a.do(t, request{method: http.MethodGet, path: fields, as: anonymous()}).problem(t).Status)

	// The env's owner is another dealer's admin.
	other := a.do(t, request{method: http.MethodGet, path: fields, as: a.staff}).problem(t)
	require.Equal(t, http.StatusNotFound, other.Status)
	p = a.do(t, request{method: http.MethodPut, path: a.path("/admin/active-workflow"), as: a.staff, key: "acc-2",
		body: api.ActiveWorkflowBody{Workflow: definitions.StandardMaster}}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	// And the other way round.
	r := a.do(t, request{method: http.MethodGet, path: "/admin/fields", as: a.admin})
	require.Equal(t, http.StatusNotFound, r.problem(t).Status)
}

func (a *adminEnv) testParts(t *testing.T) {
	list := decode[api.FieldList](t, a.get(t, "/admin/fields"), http.StatusOK)
	system, err := definitions.Standard()
	require.NoError(t, err)
	require.Len(t, list.Fields, len(system.Fields))
	for _, f := range list.Fields {
		require.True(t, f.System, f.Key)
		require.Nil(t, f.UpdatedAt)
	}

	// Create an own field; the key must be new and well-formed, and the part own.
	own := definitions.Field{Key: "rueckgabe", Type: definitions.TypeText, Label: "Rückgabe des Altfahrzeugs"}
	created := decode[api.AdminField](t, a.post(t, "/admin/fields", "parts-1", own), http.StatusCreated)
	require.Equal(t, own, created.Field)
	require.False(t, created.System)
	require.Equal(t, a.adminID, created.UpdatedBy)
	require.NotNil(t, created.UpdatedAt)
	again := a.post(t, "/admin/fields", "parts-1", own)
	require.Equal(t, http.StatusCreated, again.Status, "a repeat gets the first answer")
	require.Equal(t, "true", again.Header.Get(api.HeaderIdempotentReplayed))
	require.Equal(t, []string{"fields[rueckgabe].key"}, problemFields(errorsOf(t, a.post(t, "/admin/fields", "parts-2", own), http.StatusConflict)).names())
	errs := errorsOf(t, a.post(t, "/admin/fields", "parts-3", definitions.Field{Key: "lieferart", Type: definitions.TypeText, Label: "x"}), http.StatusConflict)
	require.Equal(t, "key_taken", errs[0].Code, "a system key is taken too")
	r := a.do(t, request{method: http.MethodPost, path: a.path("/admin/fields"), key: "parts-4", as: a.admin, raw: true,
		body: map[string]any{"key": "Mein Feld", "type": "text", "label": "x", "system": true}})
	errs = errorsOf(t, r, http.StatusUnprocessableEntity)
	require.Equal(t, []string{"system", "key"}, problemFields(errs).names())
	require.Equal(t, "invalid_key", errs[1].Code)
	r = a.do(t, request{method: http.MethodPost, path: a.path("/admin/fields"), as: a.admin, raw: true, body: own})
	require.Equal(t, []string{api.HeaderIdempotencyKey}, problemFields(errorsOf(t, r, http.StatusBadRequest)).names(), "a write needs an Idempotency-Key")

	got := decode[api.AdminField](t, a.get(t, "/admin/fields/rueckgabe"), http.StatusOK)
	require.Equal(t, created, got)
	list = decode[api.FieldList](t, a.get(t, "/admin/fields"), http.StatusOK)
	require.Equal(t, "rueckgabe", list.Fields[len(list.Fields)-1].Key, "own parts follow the system parts")

	// A system field is read and copied, never changed; the refusal names its path.
	lieferart := decode[api.AdminField](t, a.get(t, "/admin/fields/lieferart"), http.StatusOK)
	require.True(t, lieferart.System)
	changed := lieferart.Field
	changed.System, changed.Label = false, "Versand"
	r = a.do(t, request{method: http.MethodPut, path: a.path("/admin/fields/lieferart"), key: "parts-5", as: a.admin, body: changed, lang: "en"})
	p := r.problem(t)
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, []job.FieldError{{Field: "fields[lieferart]", Code: "system_field",
		Reason: `system field "lieferart" cannot be changed; copy it under a new key`, Params: map[string]string{"key": "lieferart"}}}, p.Errors)
	p = a.put(t, "/admin/fields/lieferart", "parts-5b", changed).problem(t)
	require.Equal(t, "Systemfeld „lieferart“ kann nicht geändert werden; kopieren Sie es unter neuem Schlüssel", p.Errors[0].Reason, "German by default")
	cp := decode[api.AdminField](t, a.post(t, "/admin/fields/lieferart/copy", "parts-6", api.CopyFieldBody{Key: "lieferwunsch", Label: "Ihr Lieferwunsch"}), http.StatusCreated)
	require.False(t, cp.System)
	require.Equal(t, "Ihr Lieferwunsch", cp.Label)
	require.Equal(t, lieferart.Options, cp.Options)
	cp.Field.Label = "Lieferwunsch"
	edited := decode[api.AdminField](t, a.put(t, "/admin/fields/lieferwunsch", "parts-7", cp.Field), http.StatusOK)
	require.Equal(t, "Lieferwunsch", edited.Label)

	// Edits that do not fit are refused, naming the path.
	cp.Field.Options = nil
	errs = errorsOf(t, a.put(t, "/admin/fields/lieferwunsch", "parts-8", cp.Field), http.StatusUnprocessableEntity)
	require.Equal(t, []string{"fields[lieferwunsch].options"}, problemFields(errs).names())
	require.Equal(t, "definition_problem", errs[0].Code)
	require.Equal(t, []string{"key"}, problemFields(errorsOf(t, a.put(t, "/admin/fields/rueckgabe", "parts-9", cp.Field), http.StatusUnprocessableEntity)).names(),
		"the body's key is not the path's")
	missing := own
	missing.Key = "gibtsnicht"
	require.Equal(t, http.StatusNotFound, a.put(t, "/admin/fields/gibtsnicht", "parts-10", missing).problem(t).Status)
	require.Equal(t, http.StatusNotFound, a.get(t, "/admin/fields/gibtsnicht").problem(t).Status)

	// Where a field is used: phase views with positions, workflows, conditions.
	usage := decode[api.FieldUsage](t, a.get(t, "/admin/fields/lieferart/usage"), http.StatusOK)
	require.Equal(t, []api.FieldPlacement{{Phase: "angebot", Name: "Angebot", System: true, View: "customer", Position: 3}}, usage.Phases)
	require.Equal(t, []string{definitions.StandardMaster, definitions.StandardBasic}, refKeys(usage.Workflows))
	var condPaths []string
	for _, c := range usage.Conditions {
		condPaths = append(condPaths, c.Path)
	}
	require.Equal(t, []string{"fields[lieferadresse].condition", "phases[lieferung].condition", "phases[abholung].condition"}, condPaths)

	// Phases and workflows: list, copy, usage.
	phases := decode[api.PhaseList](t, a.get(t, "/admin/phases"), http.StatusOK)
	require.Len(t, phases.Phases, len(system.Phases))
	pu := decode[api.PhaseUsage](t, a.get(t, "/admin/phases/feedback/usage"), http.StatusOK)
	require.Equal(t, []string{definitions.StandardMaster}, refKeys(pu.Workflows))
	require.Equal(t, 6, *pu.Workflows[0].Position)
	require.Equal(t, []string{"lieferung"}, refKeys(pu.FollowUps))
	wfs := decode[api.WorkflowList](t, a.get(t, "/admin/workflows"), http.StatusOK)
	require.Equal(t, []string{definitions.StandardMaster, definitions.StandardBasic}, keysOfWorkflows(wfs.Workflows))
	copied := decode[api.WorkflowCopy](t, a.post(t, "/admin/workflows/standard_basic/copy", "parts-11", api.CopyWorkflowBody{Key: "basic_kopie"}), http.StatusCreated)
	require.Equal(t, "Standard Basic", copied.Workflow.Name)
	require.Empty(t, copied.Phases, "without copy_phases the copy shares the phases")
	require.Equal(t, []string{"anfrage", "angebot", "auftrag", "zahlung", "uebergabe"}, copied.Workflow.Phases)
	r = a.do(t, request{method: http.MethodPost, path: a.path("/admin/workflows/copy-standard"), key: "parts-12", as: a.admin, raw: true,
		body: map[string]any{"from": "standard_deluxe", "key": "deluxe"}})
	require.Equal(t, []string{"from"}, problemFields(errorsOf(t, r, http.StatusUnprocessableEntity)).names())

	// A system workflow can be published for the dealer as it is.
	v := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/standard_basic/publish", "parts-13", nil), http.StatusCreated)
	require.Equal(t, api.PublishedRef{Workflow: definitions.StandardBasic, Version: 1, Hash: v.Hash}, v)
	std, err := definitions.StandardDefinition(definitions.StandardBasic)
	require.NoError(t, err)
	h, err := std.Hash()
	require.NoError(t, err)
	require.Equal(t, h, v.Hash, "the dealer's own parts do not change a workflow that does not use them")
	wu := decode[api.WorkflowUsage](t, a.get(t, "/admin/workflows/standard_basic/usage"), http.StatusOK)
	require.Equal(t, api.WorkflowUsage{Workflow: definitions.StandardBasic, PublishedVersions: []int{1}}, wu)
	full := decode[definitions.Version](t, a.get(t, "/admin/workflows/standard_basic/versions/1"), http.StatusOK)
	require.Equal(t, std, full.Definition)
	require.Equal(t, http.StatusNotFound, a.get(t, "/admin/workflows/standard_basic/versions/2").problem(t).Status)
	require.Equal(t, http.StatusNotFound, a.get(t, "/admin/workflows/gibtsnicht/versions").problem(t).Status)
}

// Message templates are created like any part and assigned to a phase through its
// messages list.
func (a *adminEnv) testMessages(t *testing.T) {
	sms := definitions.MessageTemplate{Key: "termin_sms", Channel: definitions.ChannelSMS, Customer: true, Body: "Ihr Termin steht: {parkplatz_link}"}
	created := decode[api.AdminMessage](t, a.post(t, "/admin/messages", "msg-1", sms), http.StatusCreated)
	require.Equal(t, sms, created.MessageTemplate)
	mail := definitions.MessageTemplate{Key: "termin_mail", Channel: definitions.ChannelEmail, Body: "Termin"}
	errs := errorsOf(t, a.post(t, "/admin/messages", "msg-2", mail), http.StatusUnprocessableEntity)
	require.Equal(t, []string{"messages[termin_mail].subject"}, problemFields(errs).names())
	list := decode[api.MessageList](t, a.get(t, "/admin/messages"), http.StatusOK)
	require.Equal(t, "termin_sms", list.Messages[len(list.Messages)-1].Key)

	phase := decode[api.AdminPhase](t, a.post(t, "/admin/phases/angebot/copy", "msg-3", api.CopyPhaseBody{Key: "angebot_mit_sms", Name: "Angebot per SMS"}), http.StatusCreated)
	require.False(t, phase.System)
	require.Equal(t, "Angebot per SMS", phase.Name)
	p := phase.Phase
	p.Messages = append(p.Messages, "termin_sms", "gibtsnicht")
	errs = errorsOf(t, a.put(t, "/admin/phases/angebot_mit_sms", "msg-4", p), http.StatusUnprocessableEntity)
	require.Equal(t, []string{"phases[angebot_mit_sms].messages[3]"}, problemFields(errs).names())
	require.Equal(t, `unknown message template "gibtsnicht"`, errs[0].Params["message"])
	p.Messages = p.Messages[:3]
	saved := decode[api.AdminPhase](t, a.put(t, "/admin/phases/angebot_mit_sms", "msg-5", p), http.StatusOK)
	require.Equal(t, []string{"angebot_bereit", "angebot_sms", "termin_sms"}, saved.Messages)

	usage := decode[api.MessageUsage](t, a.get(t, "/admin/messages/termin_sms/usage"), http.StatusOK)
	require.Equal(t, []string{"angebot_mit_sms"}, refKeys(usage.Phases))
	require.Equal(t, 2, *usage.Phases[0].Position)
	require.Empty(t, usage.Workflows, "no workflow has the phase yet")

	// A system template is copied, not changed.
	sys := decode[api.AdminMessage](t, a.get(t, "/admin/messages/angebot_sms"), http.StatusOK)
	require.True(t, sys.System)
	sys.MessageTemplate.System = false
	errs = errorsOf(t, a.put(t, "/admin/messages/angebot_sms", "msg-6", sys.MessageTemplate), http.StatusConflict)
	require.Equal(t, "system_message_template", errs[0].Code)
	cp := decode[api.AdminMessage](t, a.post(t, "/admin/messages/angebot_sms/copy", "msg-7", api.CopyMessageBody{Key: "angebot_sms_eigen"}), http.StatusCreated)
	require.Equal(t, sys.Body, cp.Body)
	require.Equal(t, sys.Translations, cp.Translations, "a copy keeps the English text")
	require.NotEmpty(t, sys.Translations["en"].Body, "the standard templates are in English too")

	// Translations: stored and returned; an e-mail's needs a subject.
	mail.Subject = "Ihr Termin"
	mail.Translations = map[string]definitions.MessageText{"en": {Body: "Your appointment"}}
	errs = errorsOf(t, a.post(t, "/admin/messages", "msg-8", mail), http.StatusUnprocessableEntity)
	require.Equal(t, []string{"messages[termin_mail].translations.en.subject"}, problemFields(errs).names())
	mail.Translations["en"] = definitions.MessageText{Subject: "Your appointment", Body: "Your appointment: {parking_link}"}
	created = decode[api.AdminMessage](t, a.post(t, "/admin/messages", "msg-9", mail), http.StatusCreated)
	require.Equal(t, mail, created.MessageTemplate)
	require.Equal(t, mail, decode[api.AdminMessage](t, a.get(t, "/admin/messages/termin_mail"), http.StatusOK).MessageTemplate)
}

// The journey: an own field, required in the customer view of a copied phase
// of the copied standard workflow; validate, publish, make active; a job pins the
// version; a new label is a new version that only new jobs get.
func (a *adminEnv) testOwnWorkflowJourney(t *testing.T) {
	field := definitions.Field{Key: "wunschtermin", Type: definitions.TypeText, Label: "Wunschtermin"}
	decode[api.AdminField](t, a.post(t, "/admin/fields", "jr-1", field), http.StatusCreated)

	cp := decode[api.WorkflowCopy](t, a.post(t, "/admin/workflows/copy-standard", "jr-2", api.CopyStandardBody{
		From: definitions.StandardMaster, Key: "mein_ablauf", Name: "Mein Ablauf", CopyPhases: true,
	}), http.StatusCreated)
	want := []string{"mein_ablauf_anfrage", "mein_ablauf_angebot", "mein_ablauf_auftrag", "mein_ablauf_zahlung",
		"mein_ablauf_lieferung", "mein_ablauf_abholung", "mein_ablauf_feedback"}
	require.Equal(t, want, cp.Workflow.Phases)
	require.Equal(t, "Mein Ablauf", cp.Workflow.Name)
	require.False(t, cp.Workflow.System)
	require.Len(t, cp.Phases, len(want))
	for i, p := range cp.Phases {
		require.Equal(t, want[i], p.Key)
		require.False(t, p.System)
	}
	require.Equal(t, "mein_ablauf_feedback", cp.Phases[4].FollowUp, "follow-ups point to the copies")

	// A draft with a broken condition: validate names its path and where in the
	// expression; saving it is refused where it is made.
	angebot := decode[api.AdminPhase](t, a.get(t, "/admin/phases/mein_ablauf_angebot"), http.StatusOK).Phase
	require.Len(t, angebot.CustomerFields, 7)
	broken := angebot
	broken.CustomerFields = append(slices.Clone(angebot.CustomerFields),
		definitions.FieldUse{Field: "wunschtermin", Required: true, Condition: `fields.lieferart == "abholung" &&`})
	val := decode[api.Validation](t, a.post(t, "/admin/workflows/mein_ablauf/validate", "", api.ValidateBody{Phases: []definitions.Phase{broken}}), http.StatusOK)
	require.Len(t, val.Problems, 1, "%+v", val.Problems)
	require.Equal(t, "phases[1].customer_fields[7].condition", val.Problems[0].Path)
	require.Contains(t, val.Problems[0].Message, "at 1:")
	require.Equal(t, []string{"phases[mein_ablauf_angebot].customer_fields[7].condition"}, problemPaths(val.CatalogProblems))
	require.Empty(t, val.Hash)
	errs := errorsOf(t, a.put(t, "/admin/phases/mein_ablauf_angebot", "jr-3", broken), http.StatusUnprocessableEntity)
	require.Equal(t, []string{"phases[mein_ablauf_angebot].customer_fields[7].condition"}, problemFields(errs).names())
	require.Equal(t, val.Problems[0].Message, errs[0].Params["message"])

	fixed := broken
	fixed.CustomerFields = slices.Clone(broken.CustomerFields)
	fixed.CustomerFields[7].Condition = ""
	decode[api.AdminPhase](t, a.put(t, "/admin/phases/mein_ablauf_angebot", "jr-4", fixed), http.StatusOK)
	val = decode[api.Validation](t, a.post(t, "/admin/workflows/mein_ablauf/validate", "", nil), http.StatusOK)
	require.Empty(t, val.Problems)
	require.Empty(t, val.CatalogProblems)
	require.NotEmpty(t, val.Hash)
	require.True(t, val.Changed)
	require.Nil(t, val.Published)

	// Unpublished workflows cannot be chosen for new jobs.
	errs = errorsOf(t, a.put(t, "/admin/active-workflow", "jr-5", api.ActiveWorkflowBody{Workflow: "mein_ablauf"}), http.StatusConflict)
	require.Equal(t, "workflow_unpublished", errs[0].Code)

	v1 := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/mein_ablauf/publish", "jr-6", nil), http.StatusCreated)
	require.Equal(t, api.PublishedRef{Workflow: "mein_ablauf", Version: 1, Hash: val.Hash}, v1)
	active := decode[api.PublishedRef](t, a.put(t, "/admin/active-workflow", "jr-7", api.ActiveWorkflowBody{Workflow: "mein_ablauf"}), http.StatusOK)
	require.Equal(t, v1, active)
	versions := decode[api.VersionList](t, a.get(t, "/admin/workflows/mein_ablauf/versions"), http.StatusOK)
	require.Equal(t, []api.VersionSummary{{Workflow: "mein_ablauf", Version: 1, State: definitions.Published, Hash: v1.Hash, Active: true}}, versions.Versions)

	// A job made by hand pins version 1; its customer must fill in the new field.
	n1 := a.newJob(t, "jr-job-1")
	require.Equal(t, definitions.Ref{Workflow: "mein_ablauf", Version: 1, Hash: v1.Hash}, a.jobDetail(t, n1).Job.Definition)
	a.activate(t, n1, "jr-act-1")
	view := a.customerView(t, n1)
	require.Equal(t, "mein_ablauf_angebot", view.Phase.Key)
	wunsch := viewField(t, view, "wunschtermin")
	require.Equal(t, "Wunschtermin", wunsch.Label)
	require.True(t, wunsch.Required)
	r := a.customerSubmit(t, n1, "jr-sub-1", map[string]any{"lieferart": "abholung"})
	p := r.problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"wunschtermin"}, problemFields(p.Errors).names())

	// The field is shared: a new label shows in the phase, in the next version.
	field.Label = "Ihr Wunschtermin"
	decode[api.AdminField](t, a.put(t, "/admin/fields/wunschtermin", "jr-8", field), http.StatusOK)
	usage := decode[api.FieldUsage](t, a.get(t, "/admin/fields/wunschtermin/usage"), http.StatusOK)
	require.Equal(t, []api.FieldPlacement{{Phase: "mein_ablauf_angebot", Name: "Angebot", View: "customer", Position: 7}}, usage.Phases)
	require.Equal(t, []string{"mein_ablauf"}, refKeys(usage.Workflows))
	val = decode[api.Validation](t, a.post(t, "/admin/workflows/mein_ablauf/validate", "", nil), http.StatusOK)
	require.True(t, val.Changed)
	require.Equal(t, &v1, val.Published)
	v2 := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/mein_ablauf/publish", "jr-9", nil), http.StatusCreated)
	require.Equal(t, 2, v2.Version)
	require.NotEqual(t, v1.Hash, v2.Hash)
	same := decode[api.PublishedRef](t, a.post(t, "/admin/workflows/mein_ablauf/publish", "jr-10", nil), http.StatusOK)
	require.Equal(t, v2, same, "publishing what did not change makes no new version")
	versions = decode[api.VersionList](t, a.get(t, "/admin/workflows/mein_ablauf/versions"), http.StatusOK)
	require.Len(t, versions.Versions, 2)
	require.False(t, versions.Versions[0].Active)
	require.True(t, versions.Versions[1].Active)

	// The running job keeps version 1 and its view; a new job gets version 2.
	require.Equal(t, 1, a.jobDetail(t, n1).Job.Definition.Version)
	require.Equal(t, "Wunschtermin", viewField(t, a.customerView(t, n1), "wunschtermin").Label)
	n2 := a.newJob(t, "jr-job-2")
	require.Equal(t, definitions.Ref{Workflow: "mein_ablauf", Version: 2, Hash: v2.Hash}, a.jobDetail(t, n2).Job.Definition)
	a.activate(t, n2, "jr-act-2")
	require.Equal(t, "Ihr Wunschtermin", viewField(t, a.customerView(t, n2), "wunschtermin").Label)

	// With the field filled in, the submit goes through.
	r = a.customerSubmit(t, n1, "jr-sub-2", map[string]any{"lieferart": "abholung", "wunschtermin": "Montag, 10 Uhr"})
	require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
}

// newJob creates a job of the admin dealer by hand, as its owner.
func (a *adminEnv) newJob(t *testing.T, key string) int64 {
	t.Helper()
	r := a.do(t, request{method: http.MethodPost, path: a.path("/jobs"), key: key, as: a.owner,
		body: map[string]any{"vehicle_id": a.vehicle.ID, "customer_id": a.customer.ID}})
	n := decode[api.JobCreated](t, r, http.StatusCreated).Number
	// The read model has the job's phase once the workflow has projected its start.
	require.Eventually(t, func() bool {
		row, err := a.store.GetJob(context.Background(), adminDealer, n)
		return err == nil && row.Phase != ""
	}, 10*time.Second, 20*time.Millisecond)
	return n
}

func (a *adminEnv) jobDetail(t *testing.T, n int64) api.JobDetail {
	t.Helper()
	return decode[api.JobDetail](t, a.do(t, request{method: http.MethodGet, path: a.path(fmt.Sprintf("/jobs/%d", n)), as: a.owner}), http.StatusOK)
}

// activate moves the job to its next phase, as its owner.
func (a *adminEnv) activate(t *testing.T, n int64, key string) job.Result {
	t.Helper()
	r := a.do(t, request{method: http.MethodPost, path: a.path(fmt.Sprintf("/jobs/%d/activate", n)), key: key, as: a.owner, body: api.ActivateBody{}})
	return decode[job.Result](t, r, http.StatusOK)
}

func (a *adminEnv) customerView(t *testing.T, n int64) job.View {
	t.Helper()
	r := a.do(t, request{method: http.MethodGet, path: a.path(fmt.Sprintf("/jobs/%d/customer/view", n)), as: a.cust})
	return decode[job.View](t, r, http.StatusOK)
}

// customerSubmit submits the current phase's customer view as the job's customer.
func (a *adminEnv) customerSubmit(t *testing.T, n int64, key string, values map[string]any) response {
	t.Helper()
	phase := a.customerView(t, n).Phase.Key
	return a.do(t, request{method: http.MethodPost, path: a.path(fmt.Sprintf("/jobs/%d/customer/submit", n)), key: key, as: a.cust,
		body: api.SubmitBody{Phase: phase, Values: values}})
}

func viewField(t *testing.T, v job.View, key string) job.ViewField {
	t.Helper()
	for _, f := range v.Fields {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("the %s view of phase %s has no field %s", v.Side, v.Phase.Key, key)
	return job.ViewField{}
}

func refKeys(refs []api.PartRef) []string {
	out := []string{}
	for _, r := range refs {
		out = append(out, r.Key)
	}
	return out
}

func keysOfWorkflows(ws []api.AdminWorkflow) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.Key)
	}
	return out
}

func problemPaths(ps []definitions.Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Path)
	}
	return out
}
