package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
)

// Document kinds: how a version came to be.
const (
	DocumentRendered = "rendered" // a PDF rendered from a document template
	DocumentUpload   = "upload"   // a file uploaded through a file upload field
	DocumentInbound  = "inbound"  // a file that came in by e-mail
)

// Document is one stored version of a job's document field, without its content.
type Document struct {
	ID          string `db:"id" json:"id"`
	Dealer      string `db:"dealer" json:"dealer"`
	Number      int64  `db:"number" json:"number"`
	Field       string `db:"field" json:"field"`
	Version     int    `db:"version" json:"version"`
	Kind        string `db:"kind" json:"kind"`
	Template    string `db:"template" json:"template,omitempty"`
	Phase       string `db:"phase" json:"phase,omitempty"`
	Filename    string `db:"filename" json:"filename"`
	ContentType string `db:"content_type" json:"content_type"`
	Size        int64  `db:"size" json:"size"`
	SHA256      string `db:"sha256" json:"sha256"`
	RequestKey  string `db:"request_key" json:"request_key,omitempty"`
	ActorSide   string `db:"actor_side" json:"actor_side,omitempty"`
	ActorID     string `db:"actor_id" json:"actor_id,omitempty"`
	// SupersededBy is the ID of the version that replaced this one; nil while current.
	SupersededBy *string    `db:"superseded_by" json:"superseded_by,omitempty"`
	SupersededAt *time.Time `db:"superseded_at" json:"superseded_at,omitempty"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
}

// Superseded reports whether a newer version replaced this one.
func (d Document) Superseded() bool { return d.SupersededAt != nil }

const documentColumns = `id::text AS id, dealer, number, field, version, kind, template, phase, filename,
	content_type, size, sha256, request_key, actor_side, actor_id, superseded_by::text AS superseded_by,
	superseded_at, created_at`

// NewDocument describes a version to add to a job's document field.
type NewDocument struct {
	Dealer string
	Number int64
	Field  string
	Kind   string
	// Template is the document template a rendered version came from.
	Template string
	// Phase is the phase the version is filed under: the one it was created in.
	Phase string
	// RequestKey makes the add idempotent: a second add with the same (job, field, key)
	// returns the first version. Empty means no idempotency.
	RequestKey string
	Actor      job.Actor
}

// Content is a version's file.
type Content struct {
	Filename    string
	ContentType string
	Bytes       []byte
}

// AddDocumentVersion adds the next version of a job's document field and marks the
// version it replaces superseded, in one transaction. content is called with the new
// version's number (so a rendered document can print it) and only when a version is
// really added: with a RequestKey that was seen before, the stored version comes back
// with created false and content is not called. Versions of one field are added one at
// a time. ErrNotFound (wrapped) when the job has no row.
func (s *Store) AddDocumentVersion(ctx context.Context, d NewDocument, content func(version int) (Content, error)) (doc Document, created bool, err error) {
	if d.Field == "" {
		return Document{}, false, errors.New("add document version: field is empty")
	}
	what := fmt.Sprintf("add version of document %q of job %s", d.Field, job.WorkflowID(d.Dealer, d.Number))
	if d.RequestKey != "" {
		// The common retry finds its version without taking the field's lock.
		doc, err = s.documentByRequest(ctx, s.pool, d)
		if err == nil {
			return doc, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Document{}, false, wrap(err, "%s", what)
		}
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One adder per field at a time, so version numbers come out without gaps and
		// the previous current version is well defined.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			fmt.Sprintf("documents/%s/%d/%s", d.Dealer, d.Number, d.Field)); err != nil {
			return err
		}
		if d.RequestKey != "" {
			found, err := s.documentByRequest(ctx, tx, d)
			if err == nil {
				doc = found
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE dealer = $1 AND number = $2)`, d.Dealer, d.Number).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("job %s: %w", job.WorkflowID(d.Dealer, d.Number), ErrNotFound)
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM documents WHERE dealer = $1 AND number = $2 AND field = $3`,
			d.Dealer, d.Number, d.Field).Scan(&version); err != nil {
			return err
		}
		c, err := content(version)
		if err != nil {
			return fmt.Errorf("content of version %d: %w", version, err)
		}
		id := newID()
		// The old version points to the new one before the new one exists: the foreign
		// key is deferred to commit, and the old one must stop being current before the
		// new one may be.
		if _, err := tx.Exec(ctx, `
			UPDATE documents SET superseded_by = $4, superseded_at = now()
			WHERE dealer = $1 AND number = $2 AND field = $3 AND superseded_at IS NULL`,
			d.Dealer, d.Number, d.Field, id); err != nil {
			return err
		}
		sum := sha256.Sum256(c.Bytes)
		rows, _ := tx.Query(ctx, `
			INSERT INTO documents (id, dealer, number, field, version, kind, template, phase, filename, content_type,
				size, sha256, content, request_key, actor_side, actor_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			RETURNING `+documentColumns,
			id, d.Dealer, d.Number, d.Field, version, d.Kind, d.Template, d.Phase, c.Filename, c.ContentType,
			len(c.Bytes), hex.EncodeToString(sum[:]), c.Bytes, d.RequestKey, string(d.Actor.Side), d.Actor.ID)
		doc, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Document])
		if err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return Document{}, false, wrap(err, "%s", what)
	}
	return doc, created, nil
}

// DocumentByRequest returns the version that d's request key stored, or ErrNotFound.
func (s *Store) DocumentByRequest(ctx context.Context, d NewDocument) (Document, error) {
	if d.RequestKey == "" {
		return Document{}, fmt.Errorf("document by request: empty request key: %w", ErrNotFound)
	}
	doc, err := s.documentByRequest(ctx, s.pool, d)
	return doc, wrap(err, "document %q of job %s with request key %q", d.Field, job.WorkflowID(d.Dealer, d.Number), d.RequestKey)
}

func (s *Store) documentByRequest(ctx context.Context, q rowsQuerier, d NewDocument) (Document, error) {
	rows, _ := q.Query(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE dealer = $1 AND number = $2 AND field = $3 AND request_key = $4`,
		d.Dealer, d.Number, d.Field, d.RequestKey)
	return pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Document])
}

// GetDocument returns one version of the dealer's documents, or ErrNotFound.
func (s *Store) GetDocument(ctx context.Context, dealer, id string) (Document, error) {
	if !validUUID(id) {
		return Document{}, fmt.Errorf("get document %q: %w", id, ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+documentColumns+` FROM documents WHERE dealer = $1 AND id = $2`, dealer, id)
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Document])
	return d, wrap(err, "get document %q of dealer %q", id, dealer)
}

// DocumentContent returns one version of the dealer's documents with its bytes, or
// ErrNotFound.
func (s *Store) DocumentContent(ctx context.Context, dealer, id string) (Document, []byte, error) {
	d, err := s.GetDocument(ctx, dealer, id)
	if err != nil {
		return Document{}, nil, err
	}
	var content []byte
	if err := s.pool.QueryRow(ctx, `SELECT content FROM documents WHERE dealer = $1 AND id = $2`, dealer, id).Scan(&content); err != nil {
		return Document{}, nil, wrap(err, "read document %q of dealer %q", id, dealer)
	}
	return d, content, nil
}

// ListDocuments returns every version of every document of a job, by field and
// version; superseded versions included.
func (s *Store) ListDocuments(ctx context.Context, dealer string, number int64) ([]Document, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE dealer = $1 AND number = $2 ORDER BY field, version`, dealer, number)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[Document])
	return ds, wrap(err, "list documents of job %s", job.WorkflowID(dealer, number))
}

// Letterhead is what a dealer's documents carry at the top and in the footer.
type Letterhead struct {
	Name    string   `json:"name,omitempty"`
	Address []string `json:"address,omitempty"`
	Phone   string   `json:"phone,omitempty"`
	Email   string   `json:"email,omitempty"`
	Web     string   `json:"web,omitempty"`
	// TaxID is the VAT identification number (USt-IdNr.).
	TaxID string `json:"tax_id,omitempty"`
	Bank  string `json:"bank,omitempty"`
	IBAN  string `json:"iban,omitempty"`
	BIC   string `json:"bic,omitempty"`
	// Register is the commercial register entry and managing directors, as one line.
	Register string `json:"register,omitempty"`
}

// DocumentSettings are a dealer's central document settings.
type DocumentSettings struct {
	Letterhead Letterhead `json:"letterhead"`
	// Texts are the dealer's central texts: template key -> section -> text. A section
	// missing here falls back to the product's standard text.
	Texts map[string]map[string]string `json:"texts,omitempty"`
	// CancellationNotice prints the cancellation notice (Widerrufsbelehrung) block.
	CancellationNotice bool `json:"cancellation_notice"`
	// CancellationText replaces the standard notice when not empty.
	CancellationText string `json:"cancellation_text,omitempty"`
}

// GetDocumentSettings returns the dealer's document settings; zero settings when the
// dealer has none stored.
func (s *Store) GetDocumentSettings(ctx context.Context, dealer string) (DocumentSettings, error) {
	var ds DocumentSettings
	err := s.pool.QueryRow(ctx, `SELECT letterhead, texts, cancellation_notice, cancellation_text
		FROM dealer_document_settings WHERE dealer = $1`, dealer).
		Scan(&ds.Letterhead, &ds.Texts, &ds.CancellationNotice, &ds.CancellationText)
	if errors.Is(err, pgx.ErrNoRows) {
		return DocumentSettings{}, nil
	}
	return ds, wrap(err, "get document settings of dealer %q", dealer)
}

// SetDocumentSettings stores the dealer's document settings, replacing earlier ones.
func (s *Store) SetDocumentSettings(ctx context.Context, dealer string, ds DocumentSettings) error {
	texts := ds.Texts
	if texts == nil {
		texts = map[string]map[string]string{}
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO dealer_document_settings (dealer, letterhead, texts, cancellation_notice, cancellation_text)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (dealer) DO UPDATE SET letterhead = EXCLUDED.letterhead, texts = EXCLUDED.texts,
			cancellation_notice = EXCLUDED.cancellation_notice, cancellation_text = EXCLUDED.cancellation_text,
			updated_at = now()`,
		dealer, ds.Letterhead, texts, ds.CancellationNotice, ds.CancellationText)
	return wrap(err, "set document settings of dealer %q", dealer)
}

// JobDocumentTexts returns a job's own texts for a template (section -> text); empty
// when the job has none.
func (s *Store) JobDocumentTexts(ctx context.Context, dealer string, number int64, template string) (map[string]string, error) {
	texts := map[string]string{}
	err := s.pool.QueryRow(ctx, `SELECT texts FROM job_document_texts WHERE dealer = $1 AND number = $2 AND template = $3`,
		dealer, number, template).Scan(&texts)
	if errors.Is(err, pgx.ErrNoRows) {
		return map[string]string{}, nil
	}
	return texts, wrap(err, "get texts of template %q of job %s", template, job.WorkflowID(dealer, number))
}

// SetJobDocumentTexts stores a job's own texts for a template, replacing its earlier
// ones; the dealer's central texts and other jobs stay as they are. An empty map
// returns the job to the central texts.
func (s *Store) SetJobDocumentTexts(ctx context.Context, dealer string, number int64, template string, texts map[string]string, by job.Actor) error {
	if texts == nil {
		texts = map[string]string{}
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO job_document_texts (dealer, number, template, texts, updated_by)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (dealer, number, template) DO UPDATE SET texts = EXCLUDED.texts,
			updated_by = EXCLUDED.updated_by, updated_at = now()`,
		dealer, number, template, texts, string(by.Side)+":"+by.ID)
	return wrap(err, "set texts of template %q of job %s", template, job.WorkflowID(dealer, number))
}

// InvoiceLines returns the job's invoice lines in order; empty when it has none.
func (s *Store) InvoiceLines(ctx context.Context, dealer string, number int64) ([]money.Line, error) {
	rows, _ := s.pool.Query(ctx, `SELECT text, amount_cents, tax_rate FROM job_invoice_lines
		WHERE dealer = $1 AND number = $2 ORDER BY position`, dealer, number)
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (money.Line, error) {
		var l money.Line
		err := row.Scan(&l.Text, &l.AmountCents, &l.TaxRate)
		return l, err
	})
	return lines, wrap(err, "invoice lines of job %s", job.WorkflowID(dealer, number))
}

// SetInvoiceLines replaces the job's invoice lines. Every line must have a text and a
// rate of 19, 7 or 0; the error names the first bad line (as lines[i]).
func (s *Store) SetInvoiceLines(ctx context.Context, dealer string, number int64, lines []money.Line) error {
	for i, l := range lines {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("set invoice lines of job %s: lines[%d]: %w", job.WorkflowID(dealer, number), i, err)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM job_invoice_lines WHERE dealer = $1 AND number = $2`, dealer, number); err != nil {
			return err
		}
		for i, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO job_invoice_lines (dealer, number, position, text, amount_cents, tax_rate)
				VALUES ($1, $2, $3, $4, $5, $6)`, dealer, number, i+1, strings.TrimSpace(l.Text), l.AmountCents, l.TaxRate); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "set invoice lines of job %s", job.WorkflowID(dealer, number))
}
