package documents_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

var staff = job.Actor{Side: job.Staff, ID: "u1"}

// fixture makes a dealer with a customer, a vehicle, a salesperson and one job.
func fixture(t *testing.T) (*store.Store, int64) {
	t.Helper()
	s := pgtest.New(t)
	ctx := context.Background()
	_, err := s.CreateDealer(ctx, store.Dealer{ID: "autohaus", Name: "Autohaus Müller GmbH"})
	require.NoError(t, err)
	c, err := s.CreateCustomer(ctx, store.Customer{Dealer: "autohaus", Name: "Jürgen Größe", Email: "jg@example.test"})
	require.NoError(t, err)
	v, err := s.CreateVehicle(ctx, "autohaus", job.Vehicle{Number: "F-100", Make: "Volkswagen", Model: "Käfer Cabrio", PriceCents: 2345000, Extras: []string{"Sitzheizung", "Anhängerkupplung"}})
	require.NoError(t, err)
	u, err := s.CreateStaffUser(ctx, store.StaffUser{Dealer: "autohaus", Email: "vk@example.test", Name: "Søren Weiß", Role: store.RoleSales, PasswordHash: "x"})
	require.NoError(t, err)
	n, _, err := s.AllocateJob(ctx, "autohaus", "", "", job.Row{
		Phase: "angebot", Source: job.SourceManual, VehicleID: v.ID, CustomerID: c.ID, Salesperson: u.ID,
		Definition: definitions.Ref{Workflow: "w", Version: 1, Hash: "h"},
	})
	require.NoError(t, err)
	return s, n
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatalf("pdftotext is missing (Debian poppler-utils; deploy/ensure-packages installs it): %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	require.NoError(t, os.WriteFile(in, pdf, 0o600))
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", in, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

func TestInvoicePDFHasEveryLineAndTotals(t *testing.T) {
	s, n := fixture(t)
	ctx := context.Background()
	require.NoError(t, s.SetDocumentSettings(ctx, "autohaus", store.DocumentSettings{
		Letterhead: store.Letterhead{
			Name: "Autohaus Müller GmbH", Address: []string{"Hauptstraße 1", "50667 Köln"},
			IBAN: "DE02 1001 0010 0006 8201 01", TaxID: "DE123456789",
		},
		CancellationNotice: true,
	}))
	lines := []money.Line{
		{Text: "Kaufpreis Volkswagen Käfer Cabrio", AmountCents: 2345000, TaxRate: 19},
		{Text: "Überführung und Zulassung", AmountCents: 89000, TaxRate: 19},
		{Text: "Fußmatten-Set (ermäßigt)", AmountCents: 10700, TaxRate: 7},
		{Text: "Inzahlungnahme Opel Corsa", AmountCents: -300000, TaxRate: 0},
	}
	require.NoError(t, s.SetInvoiceLines(ctx, "autohaus", n, lines))
	svc := &documents.Service{Store: s}
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	ref, err := svc.RenderAndStore(ctx, documents.DocumentRequest{
		Dealer: "autohaus", Number: n, Field: "rechnung", Template: documents.Invoice, Phase: "auftrag",
		RequestKey: "act-7", Extras: []string{"Sitzheizung"}, Actor: staff, At: at,
	})
	require.NoError(t, err)
	require.True(t, ref.Created)
	require.Equal(t, 1, ref.Version)
	require.Equal(t, "auftrag", ref.Phase)
	_, content, err := s.DocumentContent(ctx, "autohaus", ref.ID)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(content, []byte("%PDF-")))
	require.Len(t, ref.SHA256, 64)

	text := pdfText(t, content)
	for _, want := range []string{
		"Autohaus Müller GmbH", "Hauptstraße 1 · 50667 Köln", "Rechnung Nr. 1-1", "03.11.2026",
		"Jürgen Größe", "Søren Weiß", "Volkswagen Käfer Cabrio (Fahrzeug-Nr. F-100)",
		"Guten Tag Jürgen Größe,", "für den Kauf von Volkswagen Käfer Cabrio berechnen wir Ihnen:",
		"Kaufpreis Volkswagen Käfer Cabrio", "23.450,00 €",
		"Überführung und Zulassung", "890,00 €",
		"Fußmatten-Set (ermäßigt)", "107,00 €",
		"Inzahlungnahme Opel Corsa", "-3.000,00 €",
		"Sonderausstattung: Sitzheizung", "0,00 €",
		// 19 %: 24.340,00 gross -> 3.886,22 VAT, 20.453,78 net; 7 %: 107,00 -> 7,00 / 100,00.
		"Summe netto", "17.553,78 €",
		"MwSt. 19 % auf 20.453,78 € netto", "3.886,22 €",
		"MwSt. 7 % auf 100,00 € netto", "7,00 €",
		"MwSt. 0 % auf -3.000,00 € netto",
		"Gesamtbetrag brutto", "21.447,00 €",
		"Widerrufsbelehrung", "Widerrufsrecht: Sie haben das Recht",
		"IBAN DE02 1001 0010 0006 8201 01", "USt-IdNr. DE123456789", "Seite 1 von 1",
	} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "Sitzheizung, ", "only the chosen extra is printed")
}

func TestVersionsAreKeptAndSuperseded(t *testing.T) {
	s, n := fixture(t)
	ctx := context.Background()
	svc := &documents.Service{Store: s}
	req := documents.DocumentRequest{Dealer: "autohaus", Number: n, Field: "angebot_dokument", Template: documents.Offer, Phase: "angebot", Actor: staff, RequestKey: "r1"}

	first, err := svc.RenderAndStore(ctx, req)
	require.NoError(t, err)
	again, err := svc.RenderAndStore(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "a retry with the same key returns the first version")
	require.False(t, again.Created)

	// The job's own text changes this job's next version only.
	require.NoError(t, s.SetJobDocumentTexts(ctx, "autohaus", n, documents.Offer, map[string]string{
		documents.SectionIntro: "Sonderkonditionen für {kunde}: nur diese Woche!",
	}, staff))
	req.RequestKey, req.Phase = "r2", "auftrag"
	second, err := svc.RenderAndStore(ctx, req)
	require.NoError(t, err)
	require.Equal(t, 2, second.Version)
	require.NotEqual(t, first.SHA256, second.SHA256)

	docs, err := s.ListDocuments(ctx, "autohaus", n)
	require.NoError(t, err)
	require.Len(t, docs, 2)
	require.True(t, docs[0].Superseded())
	require.Equal(t, second.ID, *docs[0].SupersededBy)
	require.Equal(t, "angebot", docs[0].Phase, "filed under the phase it was created in")
	require.False(t, docs[1].Superseded())
	require.Equal(t, "auftrag", docs[1].Phase)

	_, v1, err := s.DocumentContent(ctx, "autohaus", first.ID)
	require.NoError(t, err)
	_, v2, err := s.DocumentContent(ctx, "autohaus", second.ID)
	require.NoError(t, err)
	t1, t2 := pdfText(t, v1), pdfText(t, v2)
	require.Contains(t, t1, "Angebot Nr. 1-1")
	require.Contains(t, t1, "vielen Dank für Ihr Interesse an Volkswagen Käfer Cabrio")
	require.Contains(t, t2, "Angebot Nr. 1-2")
	require.Contains(t, t2, "Sonderkonditionen für Jürgen Größe: nur diese Woche!")
	require.NotContains(t, t1, "Widerrufsbelehrung", "the dealer did not turn the notice on")

	// A stored version never changes and is never deleted.
	_, err = s.Pool().Exec(ctx, `UPDATE documents SET content = 'x' WHERE id = $1`, first.ID)
	require.Error(t, err)
	_, err = s.Pool().Exec(ctx, `DELETE FROM documents WHERE id = $1`, second.ID)
	require.Error(t, err)
}

func TestRenderStoresNothing(t *testing.T) {
	s, n := fixture(t)
	ctx := context.Background()
	svc := &documents.Service{Store: s}
	r, err := svc.Render(ctx, documents.DocumentRequest{Dealer: "autohaus", Number: n, Field: "angebot_vorschau", Template: documents.Offer})
	require.NoError(t, err)
	require.Equal(t, documents.PDFContentType, r.ContentType)
	text := pdfText(t, r.Bytes)
	require.Contains(t, text, "Vorschau – nicht gespeichert")
	// Without invoice lines, the vehicle's price is the line.
	require.Contains(t, text, "Kaufpreis Volkswagen Käfer Cabrio")
	require.Contains(t, text, "23.450,00 €")
	docs, err := s.ListDocuments(ctx, "autohaus", n)
	require.NoError(t, err)
	require.Empty(t, docs)
}

func TestRenderAndStoreAsActivity(t *testing.T) {
	s, n := fixture(t)
	svc := &documents.Service{Store: s}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(svc.RenderAndStore, activity.RegisterOptions{Name: documents.ActivityRenderAndStore})

	val, err := env.ExecuteActivity(documents.ActivityRenderAndStore, documents.DocumentRequest{
		Dealer: "autohaus", Number: n, Field: "kaufvertrag", Template: documents.PurchaseContract, Phase: "auftrag", RequestKey: "k", Actor: staff,
	})
	require.NoError(t, err)
	var ref documents.DocumentRef
	require.NoError(t, val.Get(&ref))
	require.Equal(t, "Kaufvertrag-1-v1.pdf", ref.Filename)

	for name, req := range map[string]documents.DocumentRequest{
		"unknown template": {Dealer: "autohaus", Number: n, Field: "f", Template: "brief", RequestKey: "k"},
		"no key":           {Dealer: "autohaus", Number: n, Field: "f", Template: documents.Offer},
		"unknown job":      {Dealer: "autohaus", Number: 99, Field: "f", Template: documents.Offer, RequestKey: "k"},
	} {
		_, err := svc.RenderAndStore(context.Background(), req)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: %v", name, err)
		require.True(t, appErr.NonRetryable(), name)
	}
}

func TestUploadLimitAndType(t *testing.T) {
	s, n := fixture(t)
	ctx := context.Background()
	svc := &documents.Service{Store: s, MaxUploadBytes: 1024}
	pdf, err := documents.RenderPDF(documents.Data{Template: documents.Offer, Texts: map[string]string{"title": "x"}})
	require.NoError(t, err)
	svc.MaxUploadBytes = int64(len(pdf))
	req := documents.UploadRequest{Dealer: "autohaus", Number: n, Field: "unterlagen", Phase: "auftrag", Filename: `C:\Scans\Kaufvertrag unterschrieben.pdf`, RequestKey: "up-1", Actor: staff}

	ref, err := svc.StoreUpload(ctx, req, bytes.NewReader(pdf))
	require.NoError(t, err)
	require.Equal(t, "Kaufvertrag unterschrieben.pdf", ref.Filename)
	require.Equal(t, "application/pdf", ref.ContentType)
	again, err := svc.StoreUpload(ctx, req, bytes.NewReader(pdf))
	require.NoError(t, err)
	require.Equal(t, ref.ID, again.ID)

	req.RequestKey = "up-2"
	_, err = svc.StoreUpload(ctx, req, bytes.NewReader(append(pdf, ' ')))
	require.ErrorIs(t, err, documents.ErrTooLarge)

	// A script named .pdf is sniffed for what it is.
	_, err = svc.StoreUpload(ctx, req, strings.NewReader("#!/bin/sh\nrm -rf /\n"))
	require.ErrorIs(t, err, documents.ErrTypeNotAllowed)
	require.Contains(t, err.Error(), "text/x-shellscript")

	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	req.Allowed = []string{"application/pdf"}
	_, err = svc.StoreUpload(ctx, req, bytes.NewReader(png))
	require.ErrorIs(t, err, documents.ErrTypeNotAllowed)
	req.Allowed = nil
	img, err := svc.StoreUpload(ctx, req, bytes.NewReader(png))
	require.NoError(t, err)
	require.Equal(t, "image/png", img.ContentType)
	require.Equal(t, 2, img.Version)

	_, err = svc.StoreUpload(ctx, documents.UploadRequest{Dealer: "autohaus", Number: n, Field: "unterlagen", RequestKey: "up-3"}, strings.NewReader(""))
	require.ErrorIs(t, err, documents.ErrEmpty)
}

func TestConcurrentRendersNumberWithoutGaps(t *testing.T) {
	s, n := fixture(t)
	ctx := context.Background()
	svc := &documents.Service{Store: s}
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			// Keys k0..k2 each twice: three versions, not six.
			_, err := svc.RenderAndStore(ctx, documents.DocumentRequest{Dealer: "autohaus", Number: n, Field: "rechnung",
				Template: documents.Invoice, RequestKey: fmt.Sprintf("k%d", i%3), Actor: staff})
			errs <- err
		}()
	}
	for range 6 {
		require.NoError(t, <-errs)
	}
	docs, err := s.ListDocuments(ctx, "autohaus", n)
	require.NoError(t, err)
	require.Len(t, docs, 3)
	current := 0
	for i, d := range docs {
		require.Equal(t, i+1, d.Version)
		if !d.Superseded() {
			current++
		}
	}
	require.Equal(t, 1, current)
}
