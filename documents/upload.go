package documents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"

	"github.com/gabriel-vasile/mimetype"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// DefaultMaxUploadBytes is the upload size limit when Service.MaxUploadBytes is zero.
const DefaultMaxUploadBytes = 20 << 20

// DefaultAllowedTypes are the content types a file upload field accepts when it names
// none: PDF and the usual photo formats of a phone.
var DefaultAllowedTypes = []string{"application/pdf", "image/jpeg", "image/png", "image/heic"}

// Upload refusals; the API answers 413 and 415. The wrapping error says the details.
var (
	ErrTooLarge       = errors.New("file too large")
	ErrTypeNotAllowed = errors.New("file type not allowed")
	ErrEmpty          = errors.New("file is empty")
)

// UploadRequest describes a file uploaded into a job's file upload field.
type UploadRequest struct {
	Dealer string
	Number int64
	Field  string
	// Phase is the phase the file is filed under: the current one.
	Phase string
	// Filename is the name the uploader gave; only its base name is kept.
	Filename string
	// RequestKey makes the upload idempotent (the request's Idempotency-Key); a
	// repeated upload with it returns the first version.
	RequestKey string
	Actor      job.Actor
	// Allowed are the content types the field accepts; DefaultAllowedTypes when empty.
	Allowed []string
}

// StoreUpload reads a file of at most the size limit, sniffs its type from the
// content (never from the name or the client's header), checks it against the allowed
// types, and stores it as the next version of the field. Errors wrap ErrTooLarge,
// ErrTypeNotAllowed or ErrEmpty for the refusals.
func (s *Service) StoreUpload(ctx context.Context, req UploadRequest, r io.Reader) (DocumentRef, error) {
	if req.Dealer == "" || req.Number <= 0 || req.Field == "" {
		return DocumentRef{}, fmt.Errorf("upload: dealer, number and field are required (got %q, %d, %q)", req.Dealer, req.Number, req.Field)
	}
	head := store.NewDocument{
		Dealer: req.Dealer, Number: req.Number, Field: req.Field, Kind: store.DocumentUpload,
		Phase: req.Phase, RequestKey: req.RequestKey, Actor: req.Actor,
	}
	if doc, err := s.Store.DocumentByRequest(ctx, head); err == nil {
		return Ref(doc, false), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return DocumentRef{}, err
	}
	limit := s.MaxUploadBytes
	if limit <= 0 {
		limit = DefaultMaxUploadBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return DocumentRef{}, fmt.Errorf("upload %q: read: %w", req.Filename, err)
	}
	if int64(len(data)) > limit {
		return DocumentRef{}, fmt.Errorf("upload %q: %w: more than %d bytes", req.Filename, ErrTooLarge, limit)
	}
	if len(data) == 0 {
		return DocumentRef{}, fmt.Errorf("upload %q: %w", req.Filename, ErrEmpty)
	}
	mt, err := SniffType(data, req.Allowed)
	if err != nil {
		return DocumentRef{}, fmt.Errorf("upload %q: %w", req.Filename, err)
	}
	name := cleanFilename(req.Filename, mt)
	doc, created, err := s.Store.AddDocumentVersion(ctx, head, func(int) (store.Content, error) {
		return store.Content{Filename: name, ContentType: mt.String(), Bytes: data}, nil
	})
	if err != nil {
		return DocumentRef{}, fmt.Errorf("upload %q: %w", req.Filename, err)
	}
	return Ref(doc, created), nil
}

// SniffType detects the content type of data and checks it against allowed
// (DefaultAllowedTypes when empty); the error wraps ErrTypeNotAllowed and names what
// was found and what is allowed.
func SniffType(data []byte, allowed []string) (*mimetype.MIME, error) {
	if len(allowed) == 0 {
		allowed = DefaultAllowedTypes
	}
	mt := mimetype.Detect(data)
	for _, a := range allowed {
		if mt.Is(a) {
			return mt, nil
		}
	}
	return nil, fmt.Errorf("%w: the content is %s; allowed: %s", ErrTypeNotAllowed, mt.String(), strings.Join(allowed, ", "))
}

// cleanFilename keeps the base name without control characters and path parts; a
// name that ends up empty becomes "datei" with the type's extension.
func cleanFilename(name string, mt *mimetype.MIME) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == "/" {
		name = "datei" + mt.Extension()
	}
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return name
}
