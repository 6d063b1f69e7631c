package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// idemEnv is the idempotent middleware on real PostgreSQL and real HTTP, in front of
// handlers that count how often they apply a request.
type idemEnv struct {
	srv     *httptest.Server
	store   *store.Store
	applied atomic.Int64
	// gate holds the slow handler until the test closes it.
	gate chan struct{}
	// failedOnce is false until the flaky handlers have failed once (503, panic).
	failedOnce atomic.Bool
}

const testStaffHeader = "X-Test-Staff"

func newIdemEnv(t *testing.T) *idemEnv {
	t.Helper()
	e := &idemEnv{store: pgtest.New(t), gate: make(chan struct{})}
	s := &server{store: e.store, log: slog.New(slog.DiscardHandler)}
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, s.recovered))
	// What auth.Middleware does for a logged-in staff user; the middleware under test
	// only reads the principal it leaves.
	r.Use(func(c *gin.Context) {
		if id := c.GetHeader(testStaffHeader); id != "" {
			auth.Set(c, auth.Principal{Kind: auth.Staff, Dealer: "d1", StaffID: id, Role: auth.RoleOwner})
		}
	})
	apply := func(c *gin.Context) {
		var body map[string]any
		if !decodeJSON(c, &body) {
			return
		}
		n := e.applied.Add(1)
		c.JSON(http.StatusCreated, gin.H{"applied": n, "got": body})
	}
	r.POST("/api/v1/dealers/:dealer/things", s.idempotent, apply)
	r.PUT("/api/v1/dealers/:dealer/things/:id", s.idempotent, apply)
	r.POST("/api/v1/dealers/:dealer/slow", s.idempotent, func(c *gin.Context) {
		<-e.gate
		apply(c)
	})
	r.POST("/api/v1/dealers/:dealer/flaky", s.idempotent, func(c *gin.Context) {
		if !e.failedOnce.Swap(true) {
			writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "not_ready"))
			return
		}
		apply(c)
	})
	r.POST("/api/v1/dealers/:dealer/panicky", s.idempotent, func(c *gin.Context) {
		if !e.failedOnce.Swap(true) {
			panic("handler broke")
		}
		apply(c)
	})
	r.POST("/api/v1/dealers/:dealer/invalid", s.idempotent, func(c *gin.Context) {
		e.applied.Add(1)
		writeProblem(c, problem(http.StatusUnprocessableEntity, ProblemInvalid, "create_invalid", field("name", "required")))
	})
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

type idemAnswer struct {
	status int
	header http.Header
	body   string
}

func (e *idemEnv) send(t *testing.T, method, path, staff, key, body string) idemAnswer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/api/v1/dealers/d1"+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if staff != "" {
		req.Header.Set(testStaffHeader, staff)
	}
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return idemAnswer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func decodeProblem(t *testing.T, a idemAnswer) Problem {
	t.Helper()
	require.Equal(t, ContentTypeProblem, a.header.Get("Content-Type"), "answer: %d %s", a.status, a.body)
	var p Problem
	require.NoError(t, json.Unmarshal([]byte(a.body), &p))
	return p
}

func TestIdempotent(t *testing.T) {
	e := newIdemEnv(t)

	t.Run("RepeatReplaysTheFirstAnswer", func(t *testing.T) {
		first := e.send(t, http.MethodPost, "/things", "anna", "k-1", `{"name": "Golf", "seats": 5}`)
		require.Equal(t, http.StatusCreated, first.status, first.body)
		require.Empty(t, first.header.Get(HeaderIdempotentReplayed))
		before := e.applied.Load()
		// The same request, encoded differently: same keys and values.
		again := e.send(t, http.MethodPost, "/things", "anna", "k-1", `{"seats":5,"name":"Golf"}`)
		require.Equal(t, first.status, again.status)
		require.Equal(t, first.body, again.body)
		require.Equal(t, "application/json; charset=utf-8", again.header.Get("Content-Type"))
		require.Equal(t, "true", again.header.Get(HeaderIdempotentReplayed))
		require.Equal(t, before, e.applied.Load(), "a repeat changes nothing")
	})

	t.Run("KeyReusedForAnotherRequest", func(t *testing.T) {
		e.send(t, http.MethodPost, "/things", "anna", "k-2", `{"name": "Polo"}`)
		before := e.applied.Load()
		for _, other := range []struct{ method, path, body string }{
			{http.MethodPost, "/things", `{"name": "Passat"}`}, // another body
			{http.MethodPut, "/things/7", `{"name": "Polo"}`},  // another method and path
			{http.MethodPost, "/slow", `{"name": "Polo"}`},     // another path
		} {
			a := e.send(t, other.method, other.path, "anna", "k-2", other.body)
			require.Equal(t, http.StatusUnprocessableEntity, a.status, a.body)
			p := decodeProblem(t, a)
			require.Equal(t, ProblemInvalid, p.Type)
			require.Len(t, p.Errors, 1)
			require.Equal(t, HeaderIdempotencyKey, p.Errors[0].Field)
			require.Equal(t, "key_reused", p.Errors[0].Code)
			require.Contains(t, p.Detail, HeaderIdempotencyKey)
		}
		require.Equal(t, before, e.applied.Load(), "a refused key applies nothing")
	})

	t.Run("KeysAreTheCallersOwn", func(t *testing.T) {
		a := e.send(t, http.MethodPost, "/things", "anna", "k-3", `{"name": "Up"}`)
		b := e.send(t, http.MethodPost, "/things", "bernd", "k-3", `{"name": "Up"}`)
		require.Equal(t, http.StatusCreated, a.status)
		require.Equal(t, http.StatusCreated, b.status)
		require.NotEqual(t, a.body, b.body, "another caller's key is another request")
		require.Empty(t, b.header.Get(HeaderIdempotentReplayed))
	})

	t.Run("HeaderRules", func(t *testing.T) {
		before := e.applied.Load()
		for key, code := range map[string]string{
			"":                       "required",
			strings.Repeat("x", 201): "too_long",
			"two words":              "not_printable",
		} {
			a := e.send(t, http.MethodPost, "/things", "anna", key, `{}`)
			require.Equal(t, http.StatusBadRequest, a.status, a.body)
			p := decodeProblem(t, a)
			require.Equal(t, HeaderIdempotencyKey, p.Errors[0].Field)
			require.Equal(t, code, p.Errors[0].Code)
		}
		require.Equal(t, before, e.applied.Load())
	})

	t.Run("ClientErrorsAreStoredToo", func(t *testing.T) {
		a := e.send(t, http.MethodPost, "/invalid", "anna", "k-4", `{}`)
		before := e.applied.Load()
		b := e.send(t, http.MethodPost, "/invalid", "anna", "k-4", `{}`)
		require.Equal(t, http.StatusUnprocessableEntity, b.status)
		require.Equal(t, a.body, b.body)
		require.Equal(t, ContentTypeProblem, b.header.Get("Content-Type"))
		require.Equal(t, "true", b.header.Get(HeaderIdempotentReplayed))
		require.Equal(t, before, e.applied.Load())
	})

	t.Run("ServerErrorsAreNotStored", func(t *testing.T) {
		e.failedOnce.Store(false)
		a := e.send(t, http.MethodPost, "/flaky", "anna", "k-5", `{"name": "ID.3"}`)
		require.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
		b := e.send(t, http.MethodPost, "/flaky", "anna", "k-5", `{"name": "ID.3"}`)
		require.Equal(t, http.StatusCreated, b.status, "the repeat runs the request: %s", b.body)
		require.Empty(t, b.header.Get(HeaderIdempotentReplayed))

		e.failedOnce.Store(false)
		a = e.send(t, http.MethodPost, "/panicky", "anna", "k-6", `{}`)
		require.Equal(t, http.StatusInternalServerError, a.status, a.body)
		b = e.send(t, http.MethodPost, "/panicky", "anna", "k-6", `{}`)
		require.Equal(t, http.StatusCreated, b.status, "a panic gives the key back: %s", b.body)
	})

	t.Run("ConcurrentSameKeyAppliesOnce", func(t *testing.T) {
		const n = 8
		before := e.applied.Load()
		answers := make(chan idemAnswer, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				answers <- e.send(t, http.MethodPost, "/slow", "anna", "k-7", `{"name": "Tiguan"}`)
			})
		}
		// The request that claimed the key waits at the gate; every other one is told
		// it is still running.
		for range n - 1 {
			select {
			case a := <-answers:
				require.Equal(t, http.StatusConflict, a.status, a.body)
				require.Equal(t, "1", a.header.Get("Retry-After"))
				p := decodeProblem(t, a)
				require.Equal(t, ProblemConflict, p.Type)
				require.Contains(t, p.Detail, HeaderIdempotencyKey)
			case <-time.After(10 * time.Second):
				t.Fatal("no answer while the first request runs")
			}
		}
		close(e.gate)
		first := <-answers
		wg.Wait()
		require.Equal(t, http.StatusCreated, first.status, first.body)
		require.Equal(t, before+1, e.applied.Load(), "applied once")
		again := e.send(t, http.MethodPost, "/slow", "anna", "k-7", `{"name": "Tiguan"}`)
		require.Equal(t, first.body, again.body)
		require.Equal(t, "true", again.header.Get(HeaderIdempotentReplayed))
	})

	t.Run("StaleClaimIsTakenOver", func(t *testing.T) {
		ctx := t.Context()
		req := store.IdempotentRequest{Dealer: "d1", Scope: "staff:anna", Key: "k-8", Method: http.MethodPost, Path: "/x", Fingerprint: "f"}
		claimed, _, _, err := e.store.ClaimIdempotentRequest(ctx, req, time.Hour)
		require.NoError(t, err)
		require.True(t, claimed)
		claimed, _, prior, err := e.store.ClaimIdempotentRequest(ctx, req, time.Hour)
		require.NoError(t, err)
		require.False(t, claimed, "a fresh claim holds")
		require.False(t, prior.Done)
		other := req
		other.Fingerprint = "g"
		claimed, _, _, err = e.store.ClaimIdempotentRequest(ctx, other, 0)
		require.NoError(t, err)
		require.False(t, claimed, "another request never takes a claim over")
		claimed, claim, _, err := e.store.ClaimIdempotentRequest(ctx, req, 0)
		require.NoError(t, err)
		require.True(t, claimed, "the same request takes a stale claim over")
		stored, err := e.store.CompleteIdempotentRequest(ctx, req.Dealer, req.Scope, req.Key, claim, 201, "application/json", []byte(`{}`))
		require.NoError(t, err)
		require.True(t, stored)
		_, _, prior, err = e.store.ClaimIdempotentRequest(ctx, req, 0)
		require.NoError(t, err)
		require.True(t, prior.Done, "an answered request is never taken over")
		require.Equal(t, 201, prior.Status)
	})
}
