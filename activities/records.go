package activities

import (
	"context"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/store"
)

// Registered names of the record activities.
const (
	ActivitySaveInvoiceLines  = "SaveInvoiceLines"
	ActivitySaveDocumentTexts = "SaveDocumentTexts"
)

// Records stores the job's own data that lives beside the workflow. Both writes replace
// what was there, so a retry writes the same again.
type Records struct {
	Store *store.Store
}

// InvoiceLines is the input of SaveInvoiceLines.
type InvoiceLines struct {
	Dealer string       `json:"dealer"`
	Number int64        `json:"number"`
	Lines  []money.Line `json:"lines"`
}

// SaveInvoiceLines replaces the job's invoice lines.
func (r *Records) SaveInvoiceLines(ctx context.Context, in InvoiceLines) error {
	return r.Store.SetInvoiceLines(ctx, in.Dealer, in.Number, in.Lines)
}

// DocumentTexts is the input of SaveDocumentTexts.
type DocumentTexts struct {
	Dealer   string            `json:"dealer"`
	Number   int64             `json:"number"`
	Template string            `json:"template"`
	Texts    map[string]string `json:"texts"`
	Actor    job.Actor         `json:"actor"`
}

// SaveDocumentTexts replaces the job's own texts of one template.
func (r *Records) SaveDocumentTexts(ctx context.Context, in DocumentTexts) error {
	return r.Store.SetJobDocumentTexts(ctx, in.Dealer, in.Number, in.Template, in.Texts, in.Actor)
}
