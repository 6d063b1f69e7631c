package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/job"
	msgs "github.com/jobmanager/jobmanager/messages"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/telemetry"
)

// DefaultUpdateTimeout bounds how long a request waits for the job workflow to answer.
const DefaultUpdateTimeout = 10 * time.Second

// DefaultQueryTimeout bounds how long a page waits for the job's live view.
const DefaultQueryTimeout = 3 * time.Second

// Headers the API reads.
const (
	// HeaderIdempotencyKey is required on every state-changing request; a retry with
	// the same key is applied once and answers the same.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// maxIdempotencyKeyLen keeps update IDs (update name + key) short; clients send UUIDs.
const maxIdempotencyKeyLen = 200

// Deps are what the API needs from the outside world.
type Deps struct {
	Store    *store.Store
	Temporal client.Client
	// Logger gets one line per request; nil discards.
	Logger *slog.Logger
	// UpdateTimeout bounds the wait for an update's answer (and for a workflow start);
	// DefaultUpdateTimeout when zero. When it passes, the API answers 503 with
	// Retry-After.
	UpdateTimeout time.Duration
	// QueryTimeout bounds the wait for a live view; DefaultQueryTimeout when zero. It
	// is shorter than UpdateTimeout because the staff page shows the read model without
	// the view rather than keep a person waiting.
	QueryTimeout time.Duration
	// Auth configures sessions and login throttling (package auth); its Deny is the
	// API's own.
	Auth auth.Options
	// Mailer sends password reset links; nil logs them (auth.LogMailer), for development.
	Mailer auth.Mailer
	// PublicURL is where customers reach the web pages (scheme and host, no trailing
	// slash), for links in e-mails. Empty makes the links relative, which mails cannot use.
	PublicURL string
	// CallbackLimit limits call-back requests per client IP; DefaultCallbackLimit
	// when zero.
	CallbackLimit RateLimit
	// Documents renders document views and stores uploads; its MaxUploadBytes is the
	// upload limit (documents.DefaultMaxUploadBytes when zero). Nil answers 503 there.
	Documents *documents.Service
	// Messages sends a message staff requeue; nil answers 503 there.
	Messages *msgs.Service
	// BezahlWebhookSecret verifies bezahl.de's signed webhooks (one secret for every
	// dealer until dealers have their own); empty refuses every webhook with 401.
	BezahlWebhookSecret string
	// TaskQueue is where jobs' workflows run; job.TaskQueue when empty. Workers serve
	// the same queue (workers.Deps.TaskQueue).
	TaskQueue string
	// Secrets seals dealers' SMTP passwords; nil refuses to store one (503).
	Secrets *secrets.Box
	// Telemetry, when set, records request metrics by route and serves its registry at
	// /metrics; Run then also traces every request (telemetry.WrapHTTP).
	Telemetry *telemetry.Telemetry
	// Pages, when set, adds the web pages to the API's engine before Run serves it
	// (web.Mount); the pages call the API in process, so both share one listener.
	Pages func(*gin.Engine) error
	// Codec is the payload codec of the Temporal clients, served at CodecPath for
	// Temporal UI to owners and admins; nil answers 503 there.
	Codec converter.PayloadCodec
	// TemporalUIOrigins are Temporal UI's origins (scheme://host:port), whose browsers
	// may call the codec endpoint with the staff cookie (CORS); none when empty.
	TemporalUIOrigins []string
}

type server struct {
	store     *store.Store
	temporal  client.Client
	log       *slog.Logger
	timeout   time.Duration
	qtimeout  time.Duration
	auth      auth.Options
	mailer    auth.Mailer
	publicURL string
	// callbackLimit limits call-back requests per client IP.
	callbackLimit RateLimit
	// effects are the side-effect services the API calls itself.
	effects effects
	// taskQueue is where jobs' workflows start.
	taskQueue string
}

// Keys of values the middleware hands to handlers.
const (
	ctxIdempotencyKey = "jobmanager.idempotency_key"
)

func init() {
	// Gin's debug mode prints every route at start and warns on each request; the
	// server logs through slog instead. GIN_MODE still wins when set.
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
}

// New returns the HTTP handler with every route.
func New(deps Deps) *gin.Engine {
	s := &server{store: deps.Store, temporal: deps.Temporal, log: deps.Logger, timeout: deps.UpdateTimeout, qtimeout: deps.QueryTimeout,
		taskQueue: cmp.Or(deps.TaskQueue, job.TaskQueue)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultUpdateTimeout
	}
	if s.qtimeout <= 0 {
		s.qtimeout = min(DefaultQueryTimeout, s.timeout)
	}
	s.auth, s.mailer, s.publicURL = deps.Auth, deps.Mailer, strings.TrimRight(deps.PublicURL, "/")
	s.auth.Deny = s.denied
	s.callbackLimit = deps.CallbackLimit
	s.effects = effects{documents: deps.Documents, messages: deps.Messages, webhookSecret: deps.BezahlWebhookSecret}
	if s.callbackLimit.Limit <= 0 || s.callbackLimit.Window <= 0 {
		s.callbackLimit = DefaultCallbackLimit
	}
	if s.mailer == nil {
		s.mailer = auth.LogMailer{Logger: s.log}
	}

	r := gin.New()
	r.HandleMethodNotAllowed = true
	// No proxy is trusted until deployment says which; client IPs come from the socket.
	_ = r.SetTrustedProxies(nil)
	// Request ID and span name first, so the log line and the recovery see them.
	r.Use(telemetry.RequestIDs, telemetry.NameSpan)
	if deps.Telemetry != nil {
		r.Use(deps.Telemetry.HTTPMiddleware())
	}
	r.Use(s.logRequests, gin.CustomRecovery(s.recovered))
	r.NoRoute(func(c *gin.Context) {
		writeProblem(c, problem(http.StatusNotFound, ProblemNotFound, "no_route").with("path", c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, problem(http.StatusMethodNotAllowed, ProblemNoMethod, "method_not_allowed").with("method", c.Request.Method))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	if deps.Telemetry != nil {
		r.GET("/metrics", gin.WrapH(deps.Telemetry.MetricsHandler()))
	}
	r.GET("/api/v1/openapi.yaml", serveOpenAPI)

	dealer := r.Group("/api/v1/dealers/:dealer", auth.Middleware(deps.Store, s.auth))
	staff := dealer.Group("", auth.RequireStaffOrIntegration())
	staff.POST("/jobs", s.requireIdempotencyKey, s.createJob)
	staff.GET("/jobs", s.listJobs)
	staff.GET("/jobs/:number", s.getJob)
	staff.GET("/jobs/:number/customer-view", s.customerView)
	staff.POST("/jobs/:number/view", s.draftView(job.Staff))
	staff.POST("/jobs/:number/activate", s.requireIdempotencyKey, s.activate)
	staff.POST("/jobs/:number/submit", s.requireIdempotencyKey, s.submit)
	staff.POST("/jobs/:number/status", s.requireIdempotencyKey, s.setStatus)
	staff.POST("/jobs/:number/assign", s.requireIdempotencyKey, s.assign)

	customer := dealer.Group("/jobs/:number/customer", auth.RequireCustomer())
	customer.POST("/submit", s.requireIdempotencyKey, s.submit)
	customer.GET("/view", s.customerView)
	customer.POST("/view", s.draftView(job.Customer))

	s.adminRoutes(dealer)
	s.authRoutes(dealer)
	s.staffRoutes(dealer, staff)
	s.sourceRoutes(dealer)
	s.vehicleRoutes(dealer)
	s.recordRoutes(dealer)
	s.documentRoutes(staff, customer)
	s.messageRoutes(dealer, staff)
	s.smtpRoutes(dealer, deps.Secrets)
	s.webhookRoutes(r)
	s.codecRoutes(r, deps.Store, deps.Codec, deps.TemporalUIOrigins)
	return r
}

// Run serves the API on addr until ctx is done, then shuts down gracefully: it stops
// accepting connections and lets requests in flight (an update waits at most
// UpdateTimeout) finish.
func Run(ctx context.Context, addr string, deps Deps) error {
	timeout := deps.UpdateTimeout
	if timeout <= 0 {
		timeout = DefaultUpdateTimeout
	}
	handler := New(deps)
	if deps.Pages != nil {
		if err := deps.Pages(handler); err != nil {
			return fmt.Errorf("mount pages: %w", err)
		}
	}
	srv := &http.Server{
		Addr:    addr,
		Handler: telemetry.WrapHTTP(handler),
		// Guards against clients that open a connection and trickle headers.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// An update may wait UpdateTimeout for the workflow; the answer must still fit.
		WriteTimeout:   timeout + 30*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		// Requests keep ctx's values but not its end: on shutdown, updates in flight
		// finish and answer instead of being cut off mid-wait.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	go auth.PurgeLoop(ctx, deps.Store, time.Hour, deps.Logger)
	if deps.Logger != nil {
		deps.Logger.Info("api listening", "addr", addr)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve api on %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down api: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve api on %s: %w", addr, err)
	}
	return nil
}

// ready reports whether the API can do its work: PostgreSQL for lists and creation,
// Temporal for every action. A load balancer takes the instance out while either fails.
func (s *server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	var failed []job.FieldError
	if err := s.store.Pool().Ping(ctx); err != nil {
		failed = append(failed, field("postgres", "dependency_down", "error", err.Error()))
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		failed = append(failed, field("temporal", "dependency_down", "error", err.Error()))
	}
	if len(failed) > 0 {
		s.log.Warn("not ready", "problems", failed)
		writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "not_ready", failed...))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "postgres": "ok", "temporal": "ok"})
}

// requireIdempotencyKey makes every state-changing request name itself, so that a
// retry after a lost answer or a 503 cannot apply the change twice. It only checks
// the header: routes whose handler makes the key count themselves (workflow updates
// use it as update ID, job creation stores it with the number) use it alone; every
// other state-changing route uses idempotent, which checks the header the same way.
func (s *server) requireIdempotencyKey(c *gin.Context) {
	if key, ok := checkIdempotencyKey(c); ok {
		c.Set(ctxIdempotencyKey, key)
	}
}

// checkIdempotencyKey reads the Idempotency-Key header; when it is missing or
// malformed, it answers 400 naming the header and returns false.
func checkIdempotencyKey(c *gin.Context) (string, bool) {
	key := strings.TrimSpace(c.GetHeader(HeaderIdempotencyKey))
	var bad job.FieldError
	switch {
	case key == "":
		bad = field(HeaderIdempotencyKey, "required")
	case len(key) > maxIdempotencyKeyLen:
		bad = field(HeaderIdempotencyKey, "too_long", "max", strconv.Itoa(maxIdempotencyKeyLen))
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r == 0x7f }):
		bad = field(HeaderIdempotencyKey, "not_printable")
	default:
		return key, true
	}
	writeProblem(c, problem(http.StatusBadRequest, ProblemBadRequest, "idempotency_key_invalid", bad).
		with("header", HeaderIdempotencyKey))
	return "", false
}

func idempotencyKey(c *gin.Context) string { return c.GetString(ctxIdempotencyKey) }

func (s *server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	status := c.Writer.Status()
	level := slog.LevelInfo
	switch {
	case status == http.StatusServiceUnavailable:
		// Expected while Temporal or the workers are down; the client retries.
		level = slog.LevelWarn
	case status >= 500:
		level = slog.LevelError
	}
	attrs := []any{
		"method", c.Request.Method, "route", c.FullPath(), "path", c.Request.URL.Path,
		"status", status, "duration", time.Since(start), "request_id", telemetry.RequestID(c.Request.Context()),
	}
	// The job the request is about, so a job's requests can be found in the logs.
	if d := c.Param("dealer"); d != "" {
		attrs = append(attrs, "dealer", d)
	}
	if n := c.Param("number"); n != "" {
		attrs = append(attrs, "job_number", n)
	}
	if len(c.Errors) > 0 {
		attrs = append(attrs, "error", c.Errors.String())
	}
	s.log.Log(c.Request.Context(), level, "http request", attrs...)
}

func (s *server) recovered(c *gin.Context, err any) {
	s.log.Error("panic in handler", "path", c.Request.URL.Path, "panic", err)
	writeProblem(c, problem(http.StatusInternalServerError, ProblemInternal, "internal_error"))
}

// internal answers 500 for an error the client cannot act on; the details go to the log
// only, as they may name internals.
func internal(c *gin.Context, err error) {
	_ = c.Error(err)
	writeProblem(c, problem(http.StatusInternalServerError, ProblemInternal, "internal_error"))
}
