package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/activities"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
)

var (
	staff    = job.Actor{Side: job.Staff, ID: "s1"}
	customer = job.Actor{Side: job.Customer, ID: "c1"}
)

func standardInput(t *testing.T, key string) StartInput {
	t.Helper()
	d, err := definitions.StandardDefinition(key)
	require.NoError(t, err)
	h, err := d.Hash()
	require.NoError(t, err)
	return StartInput{
		Dealer: "d1", Number: 7, Ref: definitions.Ref{Workflow: key, Version: 1, Hash: h}, Definition: d,
		Source: job.SourcePark, Vehicle: job.Vehicle{ID: "v1", Number: "A-100", Location: "Berlin", Extras: []string{"AHK", "Navi"}},
		CustomerID: "c1", Actor: customer, Values: map[string]any{"kundennachricht": "Ist der Wagen noch da?"},
	}
}

// harness runs a JobWorkflow in the test environment and plays steps one after the
// other, each when the previous one has finished.
type harness struct {
	t           *testing.T
	env         *testsuite.TestWorkflowEnvironment
	steps       []func()
	projections []job.Projection
	// Side effects the job asked for.
	sent      []string
	orders    int
	documents int
	polled    func(key string) bezahl.PaymentOrder
	lines     []money.Line
	texts     map[string]string
}

func newHarness(t *testing.T) *harness {
	s := &testsuite.WorkflowTestSuite{}
	h := &harness{t: t, env: s.NewTestWorkflowEnvironment()}
	h.env.RegisterWorkflowWithOptions(JobWorkflow, workflow.RegisterOptions{Name: job.WorkflowType})
	h.env.RegisterActivityWithOptions(func(_ context.Context, p job.Projection) error {
		h.projections = append(h.projections, p)
		return nil
	}, activity.RegisterOptions{Name: job.ActivityProject})
	// The side-effect activities as their contracts promise; the real ones are tested
	// in their packages and end to end in the API tests.
	h.env.RegisterActivityWithOptions(func(_ context.Context, req messages.PrepareRequest) ([]messages.Outcome, error) {
		var out []messages.Outcome
		for _, t := range req.Templates {
			key := store.OutboxKey{Dealer: req.Dealer, Number: req.Number, ActivationSeq: req.ActivationSeq, Template: t.Key}
			out = append(out, messages.Outcome{Key: key, Channel: string(t.Channel), Status: store.OutboxPending})
		}
		return out, nil
	}, activity.RegisterOptions{Name: messages.ActivityPrepare})
	h.env.RegisterActivityWithOptions(func(_ context.Context, key store.OutboxKey) (messages.Outcome, error) {
		h.sent = append(h.sent, key.Template)
		return messages.Outcome{Key: key, Status: store.OutboxSent, Attempts: 1}, nil
	}, activity.RegisterOptions{Name: messages.ActivitySend})
	h.env.RegisterActivityWithOptions(func(_ context.Context, req bezahl.PaymentRequest) (bezahl.PaymentOrder, error) {
		h.orders++
		return bezahl.PaymentOrder{Key: bezahl.Key(req.Dealer, req.Number, req.Phase), OrderID: "o1", Link: "https://pay.example/o1",
			Status: "open", PriceCents: 2_500_000, RemainingCents: 2_500_000}, nil
	}, activity.RegisterOptions{Name: bezahl.ActivityCreateOrder})
	h.env.RegisterActivityWithOptions(func(_ context.Context, key string) (bezahl.PaymentOrder, error) {
		return h.polled(key), nil
	}, activity.RegisterOptions{Name: bezahl.ActivityGetOrder})
	h.polled = func(key string) bezahl.PaymentOrder {
		return bezahl.PaymentOrder{Key: key, OrderID: "o1", Status: "open", PriceCents: 2_500_000, RemainingCents: 2_500_000}
	}
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.InvoiceLines) error {
		h.lines = in.Lines
		return nil
	}, activity.RegisterOptions{Name: activities.ActivitySaveInvoiceLines})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.DocumentTexts) error {
		h.texts = in.Texts
		return nil
	}, activity.RegisterOptions{Name: activities.ActivitySaveDocumentTexts})
	h.env.RegisterActivityWithOptions(func(_ context.Context, req documents.DocumentRequest) (documents.DocumentRef, error) {
		h.documents++
		return documents.DocumentRef{ID: fmt.Sprintf("doc-%d", h.documents), Field: req.Field, Version: h.documents, Template: req.Template,
			Phase: req.Phase, Filename: fmt.Sprintf("%s-%d.pdf", req.Template, h.documents), Created: true}, nil
	}, activity.RegisterOptions{Name: documents.ActivityRenderAndStore})
	return h
}

func (h *harness) step(f func()) { h.steps = append(h.steps, f) }

// update sends an update and checks its outcome: wantErr empty means it must succeed.
func (h *harness) update(name string, arg any, wantErr string, check func(job.Result)) {
	id := fmt.Sprintf("update-%d", len(h.steps))
	h.step(func() {
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {
				if wantErr != "" {
					h.t.Errorf("%s %+v: accepted, want rejection %q", name, arg, wantErr)
				}
			},
			OnReject: func(err error) {
				if wantErr == "" {
					h.t.Errorf("%s %+v: rejected: %v", name, arg, err)
					return
				}
				require.ErrorContains(h.t, err, wantErr)
				var appErr *temporal.ApplicationError
				require.True(h.t, errors.As(err, &appErr))
				require.Equal(h.t, job.RejectionErrorType, appErr.Type())
				var rej job.Rejection
				require.NoError(h.t, appErr.Details(&rej))
				require.NotEmpty(h.t, rej.Code)
				// The API words rejections in the client's language by these codes.
				require.NotEmpty(h.t, rej.MessageCode, "rejection %+v has no message code", rej)
				for _, f := range rej.Fields {
					require.NotEmpty(h.t, f.Code, "field error %+v has no code", f)
				}
			},
			OnComplete: func(v any, err error) {
				if err != nil {
					h.t.Errorf("%s: failed: %v", name, err)
					return
				}
				if check != nil {
					check(v.(job.Result))
				}
			},
		}, arg)
	})
}

func (h *harness) view(side job.Side, check func(job.View)) {
	h.step(func() {
		res, err := h.env.QueryWorkflow(job.QueryView, job.ViewRequest{Side: side})
		require.NoError(h.t, err)
		var v job.View
		require.NoError(h.t, res.Get(&v))
		check(v)
	})
}

func (h *harness) run(in StartInput) {
	for i, f := range h.steps {
		h.env.RegisterDelayedCallback(f, time.Duration(i+1)*time.Minute)
	}
	h.env.ExecuteWorkflow(job.WorkflowType, in)
}

func activate(key, phase string) job.ActivateRequest {
	return job.ActivateRequest{RequestKey: key, Actor: staff, Phase: phase}
}

func submit(key string, actor job.Actor, phase string, values map[string]any) job.SubmitRequest {
	return job.SubmitRequest{RequestKey: key, Actor: actor, Phase: phase, Values: values}
}

func wantPhase(t *testing.T, phase string, turn definitions.Turn) func(job.Result) {
	return func(r job.Result) {
		require.Equal(t, phase, r.Phase)
		require.Equal(t, turn, r.Turn)
	}
}

func fieldKeys(v job.View) []string {
	var keys []string
	for _, f := range v.Fields {
		keys = append(keys, f.Key)
	}
	return keys
}

func TestStandardJourneyWithDelivery(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	h.view(job.Staff, func(v job.View) {
		require.Equal(t, "anfrage", v.Phase.Key)
		require.Equal(t, definitions.TurnStaff, v.Turn)
		require.Equal(t, "Berlin", v.Location, "location comes from the vehicle")
		require.Equal(t, "angebot", v.Next.Key)
	})
	h.update(job.UpdateActivate, activate("k1", ""), "", wantPhase(t, "angebot", definitions.TurnCustomer))
	h.view(job.Customer, func(v job.View) {
		require.Equal(t, []string{"angebot_hinweis", "angebot_dokument", "ausstattung", "lieferart", "angebot_annehmen"}, fieldKeys(v),
			"no staff field, no hidden address, no after-submit text yet")
		for _, f := range v.Fields {
			if f.Key == "ausstattung" {
				require.Len(t, f.Options, 2)
			}
		}
	})
	h.update(job.UpdateSubmit, submit("k2", customer, "angebot", map[string]any{}), "lieferart: is required", nil)
	h.update(job.UpdateSubmit, submit("k3", customer, "angebot", map[string]any{"lieferart": "lieferung"}), "lieferadresse: is required", nil)
	h.update(job.UpdateSubmit, submit("k4", customer, "angebot", map[string]any{"lieferart": "drohne"}), "not one of the options", nil)
	h.update(job.UpdateSubmit, submit("k5", customer, "angebot", map[string]any{"notiz_verkauf": "x"}), "not a field of the customer view", nil)
	h.update(job.UpdateSubmit, submit("k6", customer, "angebot", map[string]any{"angebot_dokument": "x"}), "is read-only", nil)
	h.update(job.UpdateSubmit, submit("k7", customer, "angebot", map[string]any{"ausstattung": []any{"Schiebedach"}}), "not an extra offered here", nil)
	h.update(job.UpdateSubmit, submit("k8", customer, "anfrage", map[string]any{}), "is not the current phase", nil)
	h.update(job.UpdateSubmit, submit("k9", customer, "angebot", map[string]any{
		"lieferart": "lieferung", "lieferadresse": "Hauptstraße 1, 10115 Berlin", "ausstattung": []any{"AHK"},
	}), "", wantPhase(t, "angebot", definitions.TurnStaff))
	h.view(job.Customer, func(v job.View) {
		require.True(t, v.Submitted)
		require.Contains(t, fieldKeys(v), "angebot_danke", "after-submit text shows once submitted")
		require.Contains(t, fieldKeys(v), "lieferadresse")
	})
	h.update(job.UpdateActivate, activate("k10", ""), "", wantPhase(t, "auftrag", definitions.TurnCustomer))
	h.update(job.UpdateActivate, activate("k11", ""), "", wantPhase(t, "zahlung", definitions.TurnCustomer))
	h.step(func() {
		h.env.SignalWorkflow(job.SignalPaymentReceived, job.PaymentReceived{Key: "pay-1", AmountCents: 2_500_000})
		h.env.SignalWorkflow(job.SignalPaymentReceived, job.PaymentReceived{Key: "pay-1", AmountCents: 2_500_000})
	})
	h.view(job.Staff, func(v job.View) {
		require.Equal(t, definitions.TurnStaff, v.Turn, "a payment puts the staff on turn")
		for _, f := range v.Fields {
			if f.Key == "bezahlung" {
				require.Equal(t, map[string]any{"link": "https://pay.example/o1", "status": "paid",
					"paid_cents": 2_500_000.0, "remaining_cents": 0.0}, f.Value, "the payment field shows link and amounts")
			}
		}
	})
	h.update(job.UpdateSubmit, submit("k12", customer, "zahlung", map[string]any{}), "", nil)
	h.view(job.Staff, func(v job.View) {
		require.Equal(t, []string{"lieferung", "feedback"}, []string{v.Reachable[0].Key, v.Reachable[1].Key},
			"pick-up is not reachable when the customer wants delivery")
	})
	h.update(job.UpdateActivate, activate("k13", "abholung"), "not reachable", nil)
	h.update(job.UpdateActivate, activate("k14", "probefahrt"), "unknown phase", nil)
	h.update(job.UpdateActivate, activate("k15", ""), "", wantPhase(t, "lieferung", definitions.TurnStaff))
	h.update(job.UpdateSubmit, submit("k16", staff, "lieferung", map[string]any{"liefertermin": "Freitag"}), "", nil)
	h.update(job.UpdateActivate, activate("k17", ""), "", wantPhase(t, "feedback", definitions.TurnCustomer))
	h.update(job.UpdateActivate, activate("k18", ""), "the last one", nil)
	h.update(job.UpdateSubmit, submit("k19", customer, "feedback", map[string]any{"bewertung": "5"}), "", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "k20", Actor: customer, Status: job.StatusSold}, "customer may not", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "k21", Actor: staff, Status: job.StatusSold}, "", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "k22", Actor: staff, Status: job.StatusSold}, "already sold", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "k23", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)

	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var res job.Result
	require.NoError(t, h.env.GetWorkflowResult(&res))
	require.Equal(t, job.StatusClosed, res.Status)

	var actions []string
	var seq int64
	for _, p := range h.projections {
		for _, e := range p.Entries {
			seq++
			require.Equal(t, seq, e.Seq, "history is numbered without gaps")
			if !sideEffect(e.Action) {
				actions = append(actions, e.Action+":"+e.Phase)
			}
		}
		require.Equal(t, seq, p.Row.Seq)
	}
	require.Equal(t, []string{
		"created:", "phase_activated:anfrage", "phase_activated:angebot", "fields_submitted:angebot",
		"phase_activated:auftrag", "phase_activated:zahlung", "payment_received:zahlung", "fields_submitted:zahlung",
		"phase_activated:lieferung", "fields_submitted:lieferung", "phase_activated:feedback", "fields_submitted:feedback",
		"status_changed:feedback", "status_changed:feedback",
	}, actions, "rejected requests and the repeated payment leave no trace")
	last := h.projections[len(h.projections)-1].Row
	require.Equal(t, job.StatusClosed, last.Status)
	require.Equal(t, "Feedback", last.PhaseName)
	require.ElementsMatch(t, []string{"anfrage_eingang", "angebot_bereit", "angebot_sms", "auftrag_bereit", "zahlung_link",
		"lieferung_termin", "feedback_bitte"}, h.sent, "every activation sends its templates, each once")
	require.Equal(t, 1, h.orders, "one payment order, when the payment phase is entered")
}

func TestPickupSkipsDeliveryAndIdempotentRequests(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	h.update(job.UpdateActivate, activate("a1", ""), "", wantPhase(t, "angebot", definitions.TurnCustomer))
	h.update(job.UpdateActivate, activate("a1", ""), "", wantPhase(t, "angebot", definitions.TurnCustomer))
	h.update(job.UpdateSubmit, submit("a2", customer, "angebot", map[string]any{"lieferart": "abholung"}), "", nil)
	h.update(job.UpdateActivate, activate("a3", "zahlung"), "", wantPhase(t, "zahlung", definitions.TurnCustomer))
	h.update(job.UpdateActivate, activate("a4", ""), "", wantPhase(t, "abholung", definitions.TurnStaff))
	h.update(job.UpdateSubmit, submit("a5", staff, "abholung", map[string]any{}), "abholtermin: is required", nil)
	h.update(job.UpdateSubmit, submit("a6", staff, "abholung", map[string]any{"abholtermin": "Mo 10 Uhr", "status": "sold"}), "", nil)
	h.update(job.UpdateAssign, job.AssignRequest{RequestKey: "a7", Actor: staff, Salesperson: ptr("s2"), Location: ptr("Potsdam")}, "", nil)
	h.view(job.Staff, func(v job.View) {
		require.Equal(t, job.StatusSold, v.Status, "a job status field sets the status")
		require.Equal(t, "s2", v.Salesperson)
		require.Equal(t, "Potsdam", v.Location)
	})
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "a8", Actor: staff, Status: job.StatusCanceled}, "", nil)
	h.run(in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())

	var actions []string
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if !sideEffect(e.Action) {
				actions = append(actions, e.Action+":"+e.Phase)
			}
		}
	}
	require.Equal(t, []string{
		"created:", "phase_activated:anfrage", "phase_activated:angebot", "fields_submitted:angebot",
		"phase_skipped:auftrag", "phase_activated:zahlung", "phase_skipped:lieferung", "phase_activated:abholung",
		"fields_submitted:abholung", "status_changed:abholung", "assigned:abholung", "status_changed:abholung",
	}, actions, "the repeated activation a1 is applied once")
}

func TestSaveButtonConditionAndBasicSendsNoCustomerEmail(t *testing.T) {
	in := standardInput(t, definitions.StandardBasic)
	// A dealer's own variant: accepting the offer needs a logged-in customer.
	for i := range in.Definition.Fields {
		if in.Definition.Fields[i].Key == "angebot_annehmen" {
			in.Definition.Fields[i].Condition = "customer.logged_in"
		}
	}
	require.Empty(t, in.Definition.Validate())
	h := newHarness(t)
	h.update(job.UpdateActivate, activate("b1", ""), "", nil)
	h.update(job.UpdateSubmit, submit("b2", customer, "angebot", map[string]any{"lieferart": "abholung"}), "saving is not available", nil)
	h.view(job.Customer, func(v job.View) {
		require.NotContains(t, fieldKeys(v), "angebot_annehmen")
	})
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "b3", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if e.Action == job.ActionActivate {
				want := map[string]any{"anfrage": nil, "angebot": []any{"angebot_sms"}}[e.Phase]
				require.Equal(t, want, e.After["messages"], "the basic variant sends no customer e-mail, SMS still go")
			}
		}
	}
}

func TestContinueAsNewCarriesKeys(t *testing.T) {
	defer func(n int) { maxUpdatesPerRun = n }(maxUpdatesPerRun)
	maxUpdatesPerRun = 5
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	for i := 0; i < maxUpdatesPerRun; i++ {
		h.update(job.UpdateAssign, job.AssignRequest{RequestKey: fmt.Sprintf("c%d", i), Actor: staff, Location: ptr(fmt.Sprint(i))}, "", nil)
	}
	h.run(in)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.env.GetWorkflowError(), &can)

	// The next run: the first key of the old run is still known.
	var next StartInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Carry)
	firstSeq := next.Carry.Keys[0].Result.Seq
	require.Equal(t, h.projections[len(h.projections)-1].Row.Seq, next.Carry.Seq)
	h2 := newHarness(t)
	h2.update(job.UpdateAssign, job.AssignRequest{RequestKey: "c0", Actor: staff, Location: ptr("again")}, "", func(r job.Result) {
		require.Equal(t, firstSeq, r.Seq, "the repeated request answers what it answered first")
	})
	h2.view(job.Staff, func(v job.View) {
		require.Equal(t, fmt.Sprint(maxUpdatesPerRun-1), v.Location)
	})
	h2.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "c-end", Actor: staff, Status: job.StatusClosed}, "", nil)
	h2.run(next)
	require.NoError(t, h2.env.GetWorkflowError())
	require.Len(t, h2.projections, 1, "a continued run writes nothing new until something changes")
}

func ptr[T any](v T) *T { return &v }

// sideEffect tells the entries side effects write, which come when their activities
// finish rather than in request order.
func sideEffect(action string) bool {
	return action == job.ActionMessage || action == job.ActionPaymentOrder || action == job.ActionEffectFailed
}

func TestStartAttributesNameTheFirstPhaseWithoutPersonalData(t *testing.T) {
	in := standardInput(t, definitions.StandardMaster)
	attrs, res, err := StartAttributes(in)
	require.NoError(t, err)
	require.Equal(t, "anfrage", res.Phase)
	require.Equal(t, 5, attrs.Size())
	for key, want := range map[string]string{
		job.AttrDealer: "d1", job.AttrDefinition: "standard_master@1", job.AttrStatus: "open",
		job.AttrPhase: "anfrage", job.AttrTurn: "staff",
	} {
		got, ok := attrs.GetKeyword(temporal.NewSearchAttributeKeyKeyword(key))
		require.True(t, ok, key)
		require.Equal(t, want, got, key)
	}
}

func TestLinkCustomerMigrateAndSoldOn(t *testing.T) {
	in := standardInput(t, definitions.StandardMaster)
	in.CustomerID = ""
	next := in.Definition
	next.Fields = append([]definitions.Field(nil), next.Fields...)
	for i := range next.Fields {
		if next.Fields[i].Key == "notiz_verkauf" {
			next.Fields[i].Label = "Notiz (intern)"
		}
	}
	hash, err := next.Hash()
	require.NoError(t, err)
	nextRef := definitions.Ref{Workflow: in.Ref.Workflow, Version: 2, Hash: hash}

	h := newHarness(t)
	h.update(job.UpdateLinkCustomer, job.LinkCustomerRequest{RequestKey: "l1", Actor: customer, CustomerID: "c9", LoggedIn: true}, "", nil)
	h.update(job.UpdateLinkCustomer, job.LinkCustomerRequest{RequestKey: "l2", Actor: customer, CustomerID: "c10"}, "another customer", nil)
	h.update(job.UpdateMigrate, job.MigrateRequest{RequestKey: "m0", Actor: staff, Ref: in.Ref, Definition: in.Definition}, "not newer", nil)
	h.update(job.UpdateMigrate, job.MigrateRequest{RequestKey: "m1", Actor: staff, Ref: definitions.Ref{Workflow: in.Ref.Workflow, Version: 2, Hash: "x"}, Definition: next}, "hash", nil)
	h.update(job.UpdateMigrate, job.MigrateRequest{RequestKey: "m2", Actor: customer, Ref: nextRef, Definition: next}, "customer may not", nil)
	h.update(job.UpdateMigrate, job.MigrateRequest{RequestKey: "m3", Actor: staff, Ref: nextRef, Definition: next}, "", nil)
	h.view(job.Staff, func(v job.View) {
		for _, f := range v.Fields {
			if f.Key == "notiz_verkauf" {
				require.Equal(t, "Notiz (intern)", f.Label, "the view follows the new version")
			}
		}
	})
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "s1", Actor: staff, Status: job.StatusSold, SoldOn: "27.11.2026"}, "not a date", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "s2", Actor: staff, Status: job.StatusClosed, SoldOn: "2026-11-27"}, "only with status sold", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "s3", Actor: staff, Status: job.StatusSold, SoldOn: "2026-11-27"}, "", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "s4", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())

	last := h.projections[len(h.projections)-1]
	require.Equal(t, "c9", last.Row.CustomerID, "the linked customer reaches the read model")
	require.Equal(t, nextRef, last.Row.Definition)
	var st State
	require.NoError(t, json.Unmarshal(last.State, &st), "the projection carries the state")
	require.Equal(t, "2026-11-27", st.SoldOn)
	var actions []string
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if !sideEffect(e.Action) {
				actions = append(actions, e.Action)
			}
		}
	}
	require.Equal(t, []string{"created", "phase_activated", "customer_linked", "definition_migrated", "status_changed", "status_changed"}, actions)
}

func TestReopenStartsFromTheProjectedState(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	h.update(job.UpdateActivate, activate("r1", ""), "", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "r2", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())
	var closed State
	require.NoError(t, json.Unmarshal(h.projections[len(h.projections)-1].State, &closed))
	require.Equal(t, job.StatusClosed, closed.Status)

	again := in
	again.Carry, again.Reopen = &closed, true
	h2 := newHarness(t)
	h2.view(job.Staff, func(v job.View) {
		require.Equal(t, job.StatusOpen, v.Status)
		require.Equal(t, "angebot", v.Phase.Key, "the job goes on where it was closed")
	})
	h2.update(job.UpdateActivate, activate("r1", ""), "", func(r job.Result) {
		require.Equal(t, "angebot", r.Phase, "a request of the first run is still known")
	})
	h2.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "r3", Actor: staff, Status: job.StatusClosed}, "", nil)
	h2.run(again)
	require.NoError(t, h2.env.GetWorkflowError())
	first := h2.projections[0].Entries[0]
	require.Equal(t, job.ActionReopened, first.Action)
	require.Equal(t, closed.Seq+1, first.Seq, "the history goes on without a gap")
}

func TestDocumentsAndPaymentPolling(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	// The provider reports the order paid when polled; no webhook ever comes.
	h.polled = func(key string) bezahl.PaymentOrder {
		return bezahl.PaymentOrder{Key: key, OrderID: "o1", Status: "paid", PriceCents: 2_500_000, PaidCents: 2_500_000}
	}
	h.update(job.UpdateActivate, activate("d1", ""), "", nil)
	h.update(job.UpdateGenerateDocument, job.GenerateDocumentRequest{RequestKey: "d2", Actor: staff, Field: "angebot_dokument"}, "", nil)
	h.update(job.UpdateGenerateDocument, job.GenerateDocumentRequest{RequestKey: "d2", Actor: staff, Field: "angebot_dokument"}, "", nil)
	h.update(job.UpdateGenerateDocument, job.GenerateDocumentRequest{RequestKey: "d3", Actor: staff, Field: "angebot_vorschau"}, "stores no document", nil)
	h.update(job.UpdateGenerateDocument, job.GenerateDocumentRequest{RequestKey: "d4", Actor: staff, Field: "angebot_dokument", Template: "invoice"}, "does not offer", nil)
	h.update(job.UpdateGenerateDocument, job.GenerateDocumentRequest{RequestKey: "d5", Actor: customer, Field: "angebot_dokument"}, "customer may not", nil)
	h.view(job.Customer, func(v job.View) {
		for _, f := range v.Fields {
			if f.Key == "angebot_dokument" {
				require.Equal(t, map[string]any{"document_id": "doc-1", "version": 1.0, "filename": "offer-1.pdf"}, f.Value,
					"the customer sees the stored offer")
			}
		}
	})
	h.update(job.UpdateActivate, activate("d6", "zahlung"), "", nil)
	// Ten minutes pass; the poller finds the payment.
	for range 10 {
		h.step(func() {})
	}
	h.view(job.Staff, func(v job.View) {
		require.Equal(t, definitions.TurnStaff, v.Turn, "the polled payment puts the staff on turn")
	})
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "d7", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, 1, h.documents, "the repeated request rendered nothing new")
	var actions []string
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if e.Action == job.ActionDocument || e.Action == job.ActionPaymentOrder || e.Action == job.ActionPayment {
				actions = append(actions, e.Action)
			}
		}
	}
	require.Equal(t, []string{job.ActionDocument, job.ActionPaymentOrder, job.ActionPayment}, actions)
	var st State
	require.NoError(t, json.Unmarshal(h.projections[len(h.projections)-1].State, &st))
	require.Equal(t, "paid", st.Payment.Status)
	require.Equal(t, int64(2_500_000), st.PaidCents)
}

func TestDocumentReceivedByMailIsFiledOnce(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	doc := job.DocumentReceived{Key: "<m1@dealer>/965_Mandat.pdf", DocumentID: "d9", Filename: "7_Mandat.pdf", Remark: "Unterschrieben zurück", From: staff}
	h.step(func() {
		h.env.SignalWorkflow(job.SignalDocumentReceived, doc)
		h.env.SignalWorkflow(job.SignalDocumentReceived, doc)
	})
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "x", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())
	var got []job.AuditEntry
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if e.Action == job.ActionDocumentReceived {
				got = append(got, e)
			}
		}
	}
	require.Len(t, got, 1, "a redelivered mail is filed once")
	require.Equal(t, "anfrage", got[0].Phase, "filed under the phase it came in")
	require.Equal(t, "Unterschrieben zurück", got[0].After["remark"])
	require.Equal(t, staff, got[0].Actor)
}

func TestInvoiceLinesAndDocumentTextsAreRecorded(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	lines := []money.Line{{Text: "VW Golf", AmountCents: 2_789_000, TaxRate: 19}, {Text: "Inzahlungnahme", AmountCents: -300_000, TaxRate: 0}}
	h.update(job.UpdateSetInvoiceLines, job.InvoiceLinesRequest{RequestKey: "i1", Actor: staff, Lines: lines}, "", nil)
	h.update(job.UpdateSetInvoiceLines, job.InvoiceLinesRequest{RequestKey: "i2", Actor: staff, Lines: []money.Line{{Text: "", AmountCents: 1, TaxRate: 5}}}, "lines[0]", nil)
	h.update(job.UpdateSetInvoiceLines, job.InvoiceLinesRequest{RequestKey: "i3", Actor: customer, Lines: lines}, "customer may not", nil)
	h.update(job.UpdateSetDocumentTexts, job.DocumentTextsRequest{RequestKey: "t1", Actor: staff, Template: "offer", Texts: map[string]string{"intro": "Hallo"}}, "", nil)
	h.update(job.UpdateSetDocumentTexts, job.DocumentTextsRequest{RequestKey: "t2", Actor: staff, Template: "brief"}, "not a document template", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "x", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, lines, h.lines)
	require.Equal(t, map[string]string{"intro": "Hallo"}, h.texts)
	var got []string
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if e.Action == job.ActionInvoiceLines || e.Action == job.ActionDocumentTexts {
				got = append(got, e.Action)
				if e.Action == job.ActionInvoiceLines {
					require.Equal(t, int64(2_489_000), e.After["gross_cents"], "totals exact in cents")
				}
			}
		}
	}
	require.Equal(t, []string{job.ActionInvoiceLines, job.ActionDocumentTexts}, got)
}
