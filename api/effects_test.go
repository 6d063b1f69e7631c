package api_test

// The side effects end to end, every part real: the Temporal dev server of TestMain,
// PostgreSQL, a worker whose documents, messages and payments reach an SMTP server
// (mail/inbox), the SMS provider simulator and the bezahl.de simulator over loopback,
// and the API with the webhook secret registered at the simulator.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/simulators"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/payments/bezahl"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workers"
)

const (
	// fxUploadLimit is the test's upload limit, small so a file beyond it is cheap.
	fxUploadLimit = 64 << 10
	// fxStaffOnlyDoc is a document store field only the staff view of the offer shows.
	fxStaffOnlyDoc = "angebot_intern"
)

// effectsEnv is an env of its own whose worker and API have real side effects.
type effectsEnv struct {
	*env
	// The simulators the side effects reach (Inbox, SMS, Pay).
	*simulators.Simulators
	hook string
}

func newEffectsEnv(t *testing.T) *effectsEnv {
	t.Helper()
	ctx := context.Background()
	// The standard workflow with a dealer's own document that only staff see.
	d, err := definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)
	d.Fields = append(d.Fields, definitions.Field{Key: fxStaffOnlyDoc, Type: definitions.TypeDocumentStore, Label: "Interne Kalkulation", Templates: []string{documents.Offer}})
	i := d.PhaseIndex("angebot")
	d.Phases[i].StaffFields = append(d.Phases[i].StaffFields, definitions.FieldUse{Field: fxStaffOnlyDoc})
	require.Empty(t, d.Validate())
	e := baseEnv(t, job.Vehicle{
		Number: "A-200", Make: "VW", Model: "Käfer Cabrio", PriceCents: 2_500_000, Location: "Berlin", Extras: []string{"AHK", "Navi"},
	}, store.Customer{Name: "Jürgen Größe", Email: "juergen@example.org", Phone: "+491701234567"}, d)
	st := e.store

	fx := &effectsEnv{env: e}
	// The API's address is known before it serves: the parking links in messages and
	// the webhook registered with the bezahl.de simulator point at it.
	srv := httptest.NewUnstartedServer(nil)
	sims, err := simulators.Start(ctx, simulators.Options{PublicURL: "http://" + srv.Listener.Addr().String(), WebhookDealer: dealerID})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sims.Close()) })
	fx.Simulators = sims
	svc, err := sims.Settings.Build(st, e.logger)
	require.NoError(t, err)
	svc.Documents.MaxUploadBytes = fxUploadLimit
	w := workers.New(e.tc, workers.Deps{TaskQueue: e.queue, Store: st, Logger: e.logger, Documents: svc.Documents, Messages: svc.Messages,
		Payments: svc.Payments})
	require.NoError(t, w.Start())
	e.worker = w
	t.Cleanup(e.stopWorker)
	srv.Config.Handler = api.New(api.Deps{TaskQueue: e.queue, Store: st, Temporal: e.tc, Logger: e.logger,
		Documents: svc.Documents, Messages: svc.Messages, BezahlWebhookSecret: sims.Settings.WebhookSecret})
	srv.Start()
	e.srv = srv
	t.Cleanup(e.srv.Close)
	fx.hook = api.BezahlWebhookPath(dealerID)
	e.seedAuth(t)
	return fx
}

// entry waits for the job's first history entry that match accepts.
func (fx *effectsEnv) entry(t *testing.T, n int64, what string, match func(job.AuditEntry) bool) job.AuditEntry {
	t.Helper()
	var found job.AuditEntry
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		history, err := fx.store.Audit(context.Background(), dealerID, n)
		require.NoError(c, err)
		for _, h := range history {
			if match(h) {
				found = h
				return
			}
		}
		c.Errorf("job %d has no %s in its history yet", n, what)
	}, 10*time.Second, 20*time.Millisecond)
	return found
}

// entries are the job's history entries of an action.
func (fx *effectsEnv) entries(t *testing.T, n int64, action string) []job.AuditEntry {
	t.Helper()
	history, err := fx.store.Audit(context.Background(), dealerID, n)
	require.NoError(t, err)
	var out []job.AuditEntry
	for _, h := range history {
		if h.Action == action {
			out = append(out, h)
		}
	}
	return out
}

func messageEntry(template, status string) func(job.AuditEntry) bool {
	return func(h job.AuditEntry) bool {
		return h.Action == job.ActionMessage && h.After["template"] == template && h.After["status"] == status
	}
}

// mailTo waits for the e-mail to addr whose subject starts with subject.
func (fx *effectsEnv) mailTo(t *testing.T, addr, subject string) inbox.Message {
	t.Helper()
	var found inbox.Message
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, m := range fx.Inbox.Messages() {
			if slices.Equal(m.To, []string{addr}) && strings.HasPrefix(m.Subject, subject) {
				found = m
				return
			}
		}
		c.Errorf("no e-mail to %s about %q yet", addr, subject)
	}, 10*time.Second, 20*time.Millisecond)
	return found
}

func (fx *effectsEnv) documents(t *testing.T, n int64, as *caller) []api.JobFile {
	t.Helper()
	path := fmt.Sprintf("/jobs/%d/documents", n)
	if as != nil && as != fx.staff {
		path = fmt.Sprintf("/jobs/%d/customer/documents", n)
	}
	return decode[api.DocumentList](t, fx.do(t, request{method: http.MethodGet, path: path, as: as}), http.StatusOK).Documents
}

func versionsOf(files []api.JobFile, field string) []api.JobFile {
	var out []api.JobFile
	for _, f := range files {
		if f.Field == field {
			out = append(out, f)
		}
	}
	return out
}

// uploadRequest is a multipart upload of data as the file.
func uploadRequest(t *testing.T, path, key, field, filename string, data []byte, as *caller) request {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	require.NoError(t, w.WriteField("field", field))
	fw, err := w.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, err = fw.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return request{method: http.MethodPost, path: path, key: key, body: b.String(), as: as,
		header: http.Header{"Content-Type": {w.FormDataContentType()}}}
}

// webhook posts an event as the provider would, signed with secret.
func (fx *effectsEnv) webhook(t *testing.T, ev bezahl.Event, secret string) response {
	t.Helper()
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	return fx.do(t, request{method: http.MethodPost, path: fx.hook, body: string(body), as: anonymous(),
		header: http.Header{bezahl.SignatureHeader: {bezahl.Sign(secret, body)}}})
}

func TestEffects(t *testing.T) {
	start := time.Now()
	fx := newEffectsEnv(t)
	cust := fx.customer

	// A new job: its first phase's e-mail goes out and is recorded.
	n := fx.newJob(t, "fx-create")
	welcome := fx.mailTo(t, cust.Email, "Ihre Anfrage zu VW Käfer Cabrio")
	require.Contains(t, welcome.Text, "Guten Tag Jürgen Größe")
	require.Contains(t, welcome.Text, fmt.Sprintf("Vorgang %d", n))
	linkPrefix := fx.srv.URL + "/shop/" + dealerID + "/link/"
	require.Contains(t, welcome.Text, linkPrefix)
	require.Contains(t, welcome.HTML, `<a href="`+linkPrefix, "the HTML part links the parking page")
	fx.entry(t, n, "the welcome e-mail", messageEntry("anfrage_eingang", store.OutboxSent))
	// The link opens the job, and only it.
	token := strings.Fields(welcome.Text[strings.Index(welcome.Text, linkPrefix)+len(linkPrefix):])[0]
	opened := decode[api.JobLinkOpened](t, fx.do(t, request{method: http.MethodGet, path: "/customer/link/" + token, as: anonymous()}), http.StatusOK)
	require.Equal(t, n, opened.Number)

	// The offer: e-mail and SMS; the SMS provider refuses it for good once.
	fx.SMS.FailNext(1, http.StatusBadRequest)
	fx.act(t, n, "activate", "fx-offer", api.ActivateBody{Phase: "angebot"})
	fx.mailTo(t, cust.Email, "Ihr Angebot für VW Käfer Cabrio")
	failedSMS := fx.entry(t, n, "the failed SMS", messageEntry("angebot_sms", store.OutboxFailed))
	require.Contains(t, failedSMS.After["reason"], "simulated failure")
	t.Run("FailedMessages", func(t *testing.T) { fx.testFailedMessages(t, n) })

	// Staff make the offer twice, and a staff-only document.
	first := fx.act(t, n, "documents", "fx-doc-1", api.GenerateDocumentBody{Field: "angebot_dokument"})
	fx.act(t, n, "documents", "fx-doc-2", api.GenerateDocumentBody{Field: "angebot_dokument", Template: documents.Offer})
	require.Equal(t, first, fx.act(t, n, "documents", "fx-doc-1", api.GenerateDocumentBody{Field: "angebot_dokument"}),
		"a repeated request answers the same and stores nothing")
	fx.act(t, n, "documents", "fx-doc-3", api.GenerateDocumentBody{Field: fxStaffOnlyDoc})
	p := fx.do(t, request{method: http.MethodPost, path: fmt.Sprintf("/jobs/%d/documents", n), key: "fx-doc-4",
		body: api.GenerateDocumentBody{Field: "angebot_vorschau"}}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status, "a document view stores nothing")
	require.Equal(t, []string{"field"}, problemFields(p.Errors).names())
	require.Len(t, fx.entries(t, n, job.ActionDocument), 3)

	all := fx.documents(t, n, fx.staff)
	offers := versionsOf(all, "angebot_dokument")
	require.Len(t, offers, 2)
	require.Equal(t, []int{1, 2}, []int{offers[0].Version, offers[1].Version})
	require.True(t, offers[0].Superseded, "the first version is superseded")
	require.False(t, offers[1].Superseded)
	require.Equal(t, "angebot", offers[0].Phase)
	require.Equal(t, store.DocumentRendered, offers[0].Kind)
	internal := versionsOf(all, fxStaffOnlyDoc)
	require.Len(t, internal, 1)
	for _, f := range offers {
		r := fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/%s", n, f.ID)})
		require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
		require.True(t, bytes.HasPrefix(r.Body, []byte("%PDF-")))
		require.Equal(t, documents.PDFContentType, r.Header.Get("Content-Type"))
		require.Equal(t, `attachment; filename=`+f.Filename, r.Header.Get("Content-Disposition"))
		require.EqualValues(t, f.Size, len(r.Body))
		sum := sha256.Sum256(r.Body)
		require.Equal(t, `"`+hex.EncodeToString(sum[:])+`"`, r.Header.Get("ETag"), "a download names its version")
	}

	// The customer sees and downloads the offer, not the staff-only document.
	mine := fx.documents(t, n, fx.cust)
	require.ElementsMatch(t, offers, mine)
	r := fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents/%s", n, offers[0].ID), as: fx.cust})
	require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
	require.True(t, bytes.HasPrefix(r.Body, []byte("%PDF-")))
	r = fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents/%s", n, internal[0].ID), as: fx.cust})
	require.Equal(t, http.StatusNotFound, r.problem(t).Status, "a staff-only document does not exist for the customer")
	t.Run("OtherJobsDocuments", func(t *testing.T) { fx.testOtherJobsDocuments(t, n, offers[1].ID) })
	t.Run("DocumentView", func(t *testing.T) { fx.testDocumentView(t, n, len(all)) })

	// The order: its e-mail's subject has umlauts; the customer uploads the signed
	// contract.
	fx.act(t, n, "activate", "fx-order", api.ActivateBody{})
	fx.mailTo(t, cust.Email, "Auftragsbestätigung und Rechnung für VW Käfer Cabrio")
	t.Run("Uploads", func(t *testing.T) { fx.testUploads(t, n) })

	// The payment phase: the order at bezahl.de with the job's amount, its link in the
	// e-mail.
	fx.act(t, n, "activate", "fx-payment", api.ActivateBody{Phase: "zahlung"})
	created := fx.entry(t, n, "the payment order", func(h job.AuditEntry) bool { return h.Action == job.ActionPaymentOrder })
	orderID, _ := created.After["order_id"].(string)
	order, ok := fx.Pay.Order(orderID)
	require.True(t, ok, "the simulator has order %q", orderID)
	require.EqualValues(t, 2_500_000, order.Price)
	require.EqualValues(t, 2_500_000, order.Remaining)
	require.Equal(t, bezahl.Key(dealerID, n, "zahlung"), order.Unique)
	payMail := fx.mailTo(t, cust.Email, "Bezahlung Ihres Fahrzeugs VW Käfer Cabrio")
	require.Contains(t, payMail.Text, order.Link)
	require.Equal(t, fx.Pay.URL+"/pay/"+orderID, order.Link)
	fx.entry(t, n, "the payment e-mail", messageEntry("zahlung_link", store.OutboxSent))
	fx.testPayments(t, n, order)

	t.Run("Preview", fx.testPreview)

	// Closed, the job's history (with every side effect in it) must replay against the
	// current code, and is kept for the replay test.
	fx.act(t, n, "status", "fx-close", api.StatusBody{Status: job.StatusClosed})
	fx.waitClosed(t, n)
	fx.recordHistory(t, n, "standard_master_with_side_effects")
	t.Logf("walked in %s", time.Since(start).Round(time.Millisecond))
}

func (fx *effectsEnv) testFailedMessages(t *testing.T, n int64) {
	list := decode[api.FailedMessages](t, fx.do(t, request{method: http.MethodGet, path: "/messages/failed"}), http.StatusOK)
	var failed *api.FailedMessage
	for i, m := range list.Messages {
		if m.Key.Job == n && m.Key.Template == "angebot_sms" {
			failed = &list.Messages[i]
		}
	}
	require.NotNil(t, failed, "listed: %+v", list.Messages)
	require.Equal(t, "sms", failed.Channel)
	require.Equal(t, store.OutboxFailed, failed.Status)
	require.Equal(t, fx.customer.Phone, failed.Recipient)
	require.Contains(t, failed.Reason, "simulated failure")
	require.Equal(t, 1, failed.Attempts)
	require.Empty(t, fx.SMS.Sent())

	requeue := request{method: http.MethodPost, path: "/messages/failed/requeue", key: "fx-requeue", body: api.RequeueBody{Key: failed.Key}}
	res := decode[api.RequeueAnswer](t, fx.do(t, requeue), http.StatusOK)
	require.Equal(t, store.OutboxSent, res.Status)
	require.Equal(t, 2, res.Attempts)
	require.True(t, res.Recorded, "the retry lands in the job's history")
	retried := fx.entry(t, n, "the retried SMS", func(h job.AuditEntry) bool {
		return h.Action == job.ActionMessage && h.After["retried"] == true
	})
	require.Equal(t, "angebot_sms", retried.After["template"])
	require.Equal(t, store.OutboxSent, retried.After["status"])
	require.Equal(t, job.Staff, retried.Actor.Side, "who asked for the retry")
	sent := fx.SMS.Sent()
	require.Len(t, sent, 1)
	require.Equal(t, fx.customer.Phone, sent[0].To)
	require.Contains(t, sent[0].Text, "Ihr Angebot für VW Käfer Cabrio liegt bereit: "+fx.srv.URL)
	again := fx.do(t, requeue)
	require.Equal(t, "true", again.Header.Get(api.HeaderIdempotentReplayed))
	require.Equal(t, res, decode[api.RequeueAnswer](t, again, http.StatusOK))
	require.Len(t, fx.SMS.Sent(), 1, "a repeated requeue sends nothing")
	p := fx.do(t, request{method: http.MethodPost, path: "/messages/failed/requeue", key: "fx-requeue-2", body: api.RequeueBody{Key: failed.Key}}).problem(t)
	require.Equal(t, http.StatusConflict, p.Status, "a sent message is not sent again")
	p = fx.do(t, request{method: http.MethodPost, path: "/messages/failed/requeue", key: "fx-requeue-3",
		body: api.RequeueBody{Key: api.MessageKey{Job: n, ActivationSeq: 999, Template: "angebot_sms"}}}).problem(t)
	require.Equal(t, http.StatusNotFound, p.Status)
	p = fx.do(t, request{method: http.MethodPost, path: "/messages/failed/requeue", key: "fx-requeue-4", body: `{"key":{"job":0,"template":""}}`, raw: true}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"key.job", "key.activation_seq", "key.template"}, problemFields(p.Errors).names())

	list = decode[api.FailedMessages](t, fx.do(t, request{method: http.MethodGet, path: "/messages/failed"}), http.StatusOK)
	for _, m := range list.Messages {
		require.False(t, m.Key == failed.Key, "a sent message is no longer listed")
	}
	p = fx.do(t, request{method: http.MethodGet, path: "/messages/failed", as: fx.cust}).problem(t)
	require.Equal(t, http.StatusForbidden, p.Status, "staff only")
}

// testOtherJobsDocuments: a document of another job is not found through this job, nor
// is another customer's job's.
func (fx *effectsEnv) testOtherJobsDocuments(t *testing.T, n int64, own string) {
	other, err := fx.store.FindCustomerByEmail(context.Background(), dealerID, "max@example.org")
	require.NoError(t, err)
	m := fx.create(t, "fx-other", map[string]any{"vehicle_id": fx.vehicle.ID, "customer_id": other.ID}).Number
	fx.act(t, m, "activate", "fx-other-offer", api.ActivateBody{Phase: "angebot"})
	fx.act(t, m, "documents", "fx-other-doc", api.GenerateDocumentBody{Field: "angebot_dokument"})
	theirs := versionsOf(fx.documents(t, m, fx.staff), "angebot_dokument")[0].ID

	for _, r := range []request{
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents/%s", n, theirs), as: fx.cust},
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents/%s", m, theirs), as: fx.cust},
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents", m), as: fx.cust},
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents/%s", n, own), as: fx.otherCust},
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/%s", n, theirs)},
		{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/%s", n, "not-a-uuid")},
	} {
		require.Equal(t, http.StatusNotFound, fx.do(t, r).problem(t).Status, "%s %s", r.method, r.path)
	}
	p := fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents", n), as: fx.cust}).problem(t)
	require.Equal(t, http.StatusForbidden, p.Status, "the staff list is not the customer's")
}

// testDocumentView: a view renders on every call and stores nothing.
func (fx *effectsEnv) testDocumentView(t *testing.T, n int64, stored int) {
	for range 2 {
		r := fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/view?field=angebot_vorschau", n)})
		require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
		require.Equal(t, documents.PDFContentType, r.Header.Get("Content-Type"))
		require.True(t, bytes.HasPrefix(r.Body, []byte("%PDF-")))
		require.True(t, strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline; "))
	}
	require.Len(t, fx.documents(t, n, fx.staff), stored)
	p := fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/view?field=angebot_dokument&template=invoice", n)}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, "not_document_view", p.Errors[0].Code)
	p = fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/view?field=angebot_vorschau&template=invoice", n)}).problem(t)
	require.Equal(t, []string{"template"}, problemFields(p.Errors).names())
	p = fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/documents/view?field=angebot_vorschau&size=a4", n), raw: true}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Equal(t, []string{"size"}, problemFields(p.Errors).names())
}

// minimalPDF is enough of a PDF for its type to be sniffed as one.
var minimalPDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

func (fx *effectsEnv) testUploads(t *testing.T, n int64) {
	staffPath, custPath := fmt.Sprintf("/jobs/%d/uploads", n), fmt.Sprintf("/jobs/%d/customer/uploads", n)
	uploads := func() []api.JobFile { return versionsOf(fx.documents(t, n, fx.staff), "unterlagen") }

	big := append(append([]byte{}, minimalPDF...), bytes.Repeat([]byte("x"), fxUploadLimit)...)
	p := fx.do(t, uploadRequest(t, staffPath, "fx-up-1", "unterlagen", "gross.pdf", big, fx.staff)).problem(t)
	require.Equal(t, http.StatusRequestEntityTooLarge, p.Status)
	require.Equal(t, []string{"file"}, problemFields(p.Errors).names())
	p = fx.do(t, uploadRequest(t, custPath, "fx-up-2", "unterlagen", "vertrag.pdf", []byte("Das ist nur Text, kein PDF."), fx.cust)).problem(t)
	require.Equal(t, http.StatusUnsupportedMediaType, p.Status, "the type comes from the content, not the name")
	require.Equal(t, "type_not_allowed", p.Errors[0].Code)
	require.Equal(t, "text/plain; charset=utf-8", p.Errors[0].Params["type"])
	p = fx.do(t, uploadRequest(t, custPath, "fx-up-3", "kaufvertrag", "vertrag.pdf", minimalPDF, fx.cust)).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status, "a document field takes no upload")
	p = fx.do(t, uploadRequest(t, custPath, "fx-up-4", "notiz_verkauf", "vertrag.pdf", minimalPDF, fx.cust)).problem(t)
	require.Equal(t, "not_in_view", p.Errors[0].Code, "a staff field is not the customer's")
	p = fx.do(t, uploadRequest(t, custPath, "fx-up-5", "unterlagen", "leer.pdf", nil, fx.cust)).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, "empty", p.Errors[0].Code)
	p = fx.do(t, request{method: http.MethodPost, path: custPath, key: "fx-up-6", as: fx.cust, body: `{"field":"unterlagen"}`, raw: true}).problem(t)
	require.Equal(t, http.StatusBadRequest, p.Status, "an upload is multipart")
	require.Empty(t, uploads(), "nothing refused was stored")

	upload := uploadRequest(t, custPath, "fx-up-7", "unterlagen", "Kaufvertrag unterschrieben.pdf", minimalPDF, fx.cust)
	res := decode[job.Result](t, fx.do(t, upload), http.StatusOK)
	require.Equal(t, definitions.TurnStaff, res.Turn, "the customer's upload hands the turn to staff")
	require.Equal(t, res, decode[job.Result](t, fx.do(t, upload), http.StatusOK), "a repeat answers the same")
	stored := uploads()
	require.Len(t, stored, 1, "a repeat stores nothing")
	require.Equal(t, store.DocumentUpload, stored[0].Kind)
	require.Equal(t, "Kaufvertrag unterschrieben.pdf", stored[0].Filename)
	require.Equal(t, "application/pdf", stored[0].ContentType)
	require.Equal(t, "auftrag", stored[0].Phase)
	r := fx.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/jobs/%d/customer/documents/%s", n, stored[0].ID), as: fx.cust})
	require.Equal(t, minimalPDF, r.Body)
	require.Equal(t, `attachment; filename="Kaufvertrag unterschrieben.pdf"`, r.Header.Get("Content-Disposition"))

	attached := fx.entries(t, n, job.ActionFileAttached)
	require.Len(t, attached, 1)
	require.Equal(t, job.Actor{Side: job.Customer, ID: fx.customer.ID}, attached[0].Actor)
	require.Equal(t, stored[0].ID, attached[0].After["document_id"])
	d := fx.detail(t, n)
	require.NotNil(t, d.View, "view error: %s", d.ViewError)
	for _, f := range d.View.Fields {
		if f.Key == "unterlagen" {
			require.Equal(t, map[string]any{"document_id": stored[0].ID, "version": 1.0, "filename": "Kaufvertrag unterschrieben.pdf"}, f.Value)
		}
	}
	// Staff add a newer version.
	decode[job.Result](t, fx.do(t, uploadRequest(t, staffPath, "fx-up-8", "unterlagen", "scan.pdf", minimalPDF, fx.staff)), http.StatusOK)
	stored = uploads()
	require.Len(t, stored, 2)
	require.True(t, stored[0].Superseded)
	require.Equal(t, 2, stored[1].Version)
}

func (fx *effectsEnv) testPayments(t *testing.T, n int64, order bezahl.Order) {
	ctx := context.Background()
	paid := func(cents float64) func(job.AuditEntry) bool {
		return func(h job.AuditEntry) bool { return h.Action == job.ActionPayment && h.After["paid_cents"] == cents }
	}
	// Part of it through the pay page, as a customer would: the simulator delivers the
	// signed webhook before it answers.
	res, err := http.PostForm(order.Link, url.Values{"amount": {"10.000,00"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	part := fx.entry(t, n, "the partial payment", paid(1_000_000))
	require.Equal(t, 1_500_000.0, part.After["remaining_cents"])
	require.Equal(t, 1_000_000.0, part.After["amount_cents"])
	deliveries := fx.Pay.Deliveries()
	require.Len(t, deliveries, 1)
	require.Equal(t, http.StatusOK, deliveries[0].Status)
	eventID := deliveries[0].EventID
	require.Equal(t, eventID, part.After["key"])

	// The provider delivers it again: recorded once, signaled once.
	require.NoError(t, fx.Pay.Redeliver(ctx, eventID))
	require.Equal(t, http.StatusOK, fx.Pay.Deliveries()[1].Status)

	// A forged webhook changes nothing.
	history, err := fx.store.Audit(ctx, dealerID, n)
	require.NoError(t, err)
	forged := bezahl.Event{ID: "evt_forged", Type: bezahl.EventPayment, OrderID: order.ID, Status: bezahl.StatusPaid,
		Amount: 1_500_000, Paid: 2_500_000, Remaining: 0, At: time.Now().UTC()}
	r := fx.webhook(t, forged, "not-the-secret-0123456789")
	require.Equal(t, http.StatusUnauthorized, r.problem(t).Status)
	body, err := json.Marshal(forged)
	require.NoError(t, err)
	r = fx.do(t, request{method: http.MethodPost, path: fx.hook, body: string(body), as: anonymous()})
	require.Equal(t, http.StatusUnauthorized, r.problem(t).Status, "no signature at all")
	stillOpen, err := fx.store.GetPaymentOrder(ctx, order.Unique)
	require.NoError(t, err)
	require.EqualValues(t, 1_000_000, stillOpen.PaidCents, "the order's row is unchanged")
	// An event of an order no job has, or of another dealer's webhook URL.
	r = fx.webhook(t, bezahl.Event{ID: "evt_x", OrderID: "ord_unknown"}, simulators.WebhookSecret)
	require.Equal(t, http.StatusNotFound, r.problem(t).Status)
	r = fx.do(t, request{method: http.MethodPost, path: "/api/v1/webhooks/bezahl/other-dealer", as: anonymous(), body: string(body),
		header: http.Header{bezahl.SignatureHeader: {bezahl.Sign(simulators.WebhookSecret, body)}}})
	require.Equal(t, http.StatusNotFound, r.problem(t).Status)

	// The rest through the simulator's API.
	res, err = http.Post(fx.Pay.URL+"/sim/orders/"+order.ID+"/pay", "application/json", strings.NewReader(`{"amount_cents":0}`))
	require.NoError(t, err)
	var rest bezahl.Event
	require.NoError(t, json.NewDecoder(res.Body).Decode(&rest))
	res.Body.Close()
	full := fx.entry(t, n, "the full payment", paid(2_500_000))
	require.Equal(t, 0.0, full.After["remaining_cents"])
	again := decode[api.WebhookAnswer](t, fx.webhook(t, rest, simulators.WebhookSecret), http.StatusOK)
	require.Equal(t, api.WebhookAnswer{EventID: rest.ID, First: false, Signaled: false}, again)

	after, err := fx.store.Audit(ctx, dealerID, n)
	require.NoError(t, err)
	require.Len(t, fx.entries(t, n, job.ActionPayment), 2, "one history entry per payment, however often delivered")
	require.Len(t, after, len(history)+1, "nothing else happened: the forged and repeated webhooks left no trace")
	d := fx.detail(t, n)
	require.NotNil(t, d.View, "view error: %s", d.ViewError)
	require.Equal(t, definitions.TurnStaff, d.View.Turn)
	for _, f := range d.View.Fields {
		if f.Key == "bezahlung" {
			require.Equal(t, map[string]any{"link": order.Link, "status": bezahl.StatusPaid, "paid_cents": 2_500_000.0, "remaining_cents": 0.0}, f.Value)
		}
	}
	// Temporal got one signal per payment: the repeats were answered from the record.
	signals := 0
	iter := fx.tc.GetWorkflowHistory(ctx, job.WorkflowID(dealerID, n), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			signals++
		}
	}
	require.Equal(t, 2, signals)
}

func (fx *effectsEnv) testPreview(t *testing.T) {
	preview := func(body any) response {
		return fx.do(t, request{method: http.MethodPost, path: "/admin/messages/preview", body: body})
	}
	got := decode[api.MessagePreview](t, preview(api.PreviewBody{Channel: definitions.ChannelEmail,
		Subject: "Ihr Angebot für {fahrzeug}", Body: "Guten Tag {kunde},\n\n<b>{rabatt}</b>: {zahlungs_link}"}), http.StatusOK)
	require.Equal(t, "Ihr Angebot für Volkswagen Golf 1.5 eTSI", got.Subject)
	require.Equal(t, []string{"rabatt"}, got.Unknown)
	require.Contains(t, got.Text, "Guten Tag Erika Mustermann")
	require.Contains(t, got.HTML, "&lt;b&gt;", "the template's text is escaped")
	require.Contains(t, got.HTML, `<a href="https://bezahl.example/pay/beispiel">`)
	sms := decode[api.MessagePreview](t, preview(api.PreviewBody{Channel: definitions.ChannelSMS, Body: "Hallo {kunde}"}), http.StatusOK)
	require.Equal(t, "Hallo Erika Mustermann", sms.Text)
	require.Empty(t, sms.HTML)
	require.Equal(t, []string{}, sms.Unknown)
	p := fx.do(t, request{method: http.MethodPost, path: "/admin/messages/preview", body: `{"channel":"fax","body":""}`, raw: true}).problem(t)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []string{"channel", "body"}, problemFields(p.Errors).names())
	p = fx.do(t, request{method: http.MethodPost, path: "/admin/messages/preview", as: fx.cust, body: api.PreviewBody{Channel: "sms", Body: "x"}}).problem(t)
	require.Equal(t, http.StatusForbidden, p.Status)
}
