package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/store"
)

// HeaderIdempotentReplayed marks an answer replayed from the first request with the
// same Idempotency-Key.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

// idempotencyStale is how long a claimed key may stay without an answer before a
// repeat takes it over: far longer than any request runs (the write timeout of the
// server is UpdateTimeout + 30 s), so only the claim of a process that died is taken.
const idempotencyStale = 5 * time.Minute

// inFlightRetryAfter is what a 409 for a request still running asks the client to wait.
const inFlightRetryAfter = 1

// idempotent makes a state-changing route apply a request once per Idempotency-Key:
// the first request runs and its answer is stored; a repeat with the same key and the
// same request (method, path, body) gets that answer again, with
// Idempotent-Replayed: true, and changes nothing; the same key with another request
// answers 422 naming the header; a repeat while the first still runs answers 409.
// Keys are scoped by the route's dealer and the caller, so callers never see each
// other's answers.
//
// It goes on every state-changing route after the middleware that knows the caller,
// except workflow updates and job creation, which make the key count themselves (they
// take requireIdempotencyKey, which checks the header the same way), and login,
// logout and the exchange of a signed link, which change only the caller's own
// session and whose answers hold secrets that must not be stored.
//
// Server errors (5xx) are not stored: the request applied nothing a repeat would apply
// twice, so a repeat runs it again.
func (s *server) idempotent(c *gin.Context) {
	key, ok := checkIdempotencyKey(c)
	if !ok {
		return
	}
	c.Set(ctxIdempotencyKey, key)
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxBodyBytes+1))
	if err != nil {
		writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "body_not_acceptable").with("error", err.Error()))
		return
	}
	if len(body) > maxBodyBytes {
		writeProblem(c, bodyProblem(&http.MaxBytesError{Limit: maxBodyBytes}))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))

	req := store.IdempotentRequest{
		Dealer: c.Param("dealer"), Scope: principalScope(c), Key: key,
		Method: c.Request.Method, Path: c.Request.URL.Path, Fingerprint: bodyFingerprint(body),
	}
	ctx := c.Request.Context()
	claimed, claim, prior, err := s.store.ClaimIdempotentRequest(ctx, req, idempotencyStale)
	if err != nil {
		internal(c, err)
		return
	}
	if !claimed {
		switch {
		case !prior.SameRequest(req):
			writeProblem(c, keyReusedProblem())
		case !prior.Done:
			c.Header("Retry-After", strconv.Itoa(inFlightRetryAfter))
			writeProblem(c, problem(http.StatusConflict, ProblemConflict, "request_in_flight").with("header", HeaderIdempotencyKey))
		default:
			c.Header(HeaderIdempotentReplayed, "true")
			c.Data(prior.Status, prior.ContentType, prior.Body)
			c.Abort()
		}
		return
	}

	rec := &recordingWriter{ResponseWriter: c.Writer}
	c.Writer = rec
	// The answer is stored even when the client has gone: its repeat must find it.
	bg := context.WithoutCancel(ctx)
	finished := false
	defer func() {
		if !finished {
			// A panic is on its way to the recovery middleware; the key is given back so
			// a repeat runs the request again.
			s.releaseKey(bg, req, claim)
		}
	}()
	c.Next()
	finished = true
	status := rec.Status()
	if status >= http.StatusInternalServerError {
		s.releaseKey(bg, req, claim)
		return
	}
	stored, err := s.store.CompleteIdempotentRequest(bg, req.Dealer, req.Scope, req.Key, claim, status, rec.Header().Get("Content-Type"), rec.body.Bytes())
	if err != nil {
		// The client has its answer; a repeat finds the key running until it is stale.
		s.log.Error("store answer of idempotent request", "path", req.Path, "error", err)
		return
	}
	if !stored {
		s.log.Warn("idempotent request outlived its claim; its answer was not stored", "path", req.Path)
	}
}

func (s *server) releaseKey(ctx context.Context, req store.IdempotentRequest, claim string) {
	if err := s.store.ReleaseIdempotentRequest(ctx, req.Dealer, req.Scope, req.Key, claim); err != nil {
		s.log.Error("release idempotency key", "path", req.Path, "error", err)
	}
}

// keyReusedProblem answers a key that named a different request before; every route
// that stores keys says it the same way.
func keyReusedProblem() Problem {
	return problem(http.StatusUnprocessableEntity, ProblemInvalid, "idempotency_key_reused",
		field(HeaderIdempotencyKey, "key_reused")).with("header", HeaderIdempotencyKey)
}

// principalScope names the caller for the key's scope: the authenticated principal,
// an anonymous customer session, else anonymous.
func principalScope(c *gin.Context) string {
	p := auth.From(c)
	switch p.Kind {
	case auth.Staff:
		return "staff:" + p.StaffID
	case auth.Integration:
		return "token:" + p.TokenID
	case auth.Customer:
		if p.CustomerID != "" {
			return "customer:" + p.CustomerID
		}
		return "session:" + p.SessionID
	}
	if p.SessionID != "" {
		return "session:" + p.SessionID
	}
	return "anonymous"
}

// bodyFingerprint identifies a request body: JSON by its canonical form (keys sorted,
// no insignificant space), so a client that re-encodes its retry still repeats the same
// request; anything else by its bytes.
func bodyFingerprint(body []byte) string {
	canonical := body
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err == nil && !dec.More() {
		if b, err := json.Marshal(v); err == nil {
			canonical = b
		}
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// recordingWriter keeps a copy of the answer as it is written.
type recordingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
