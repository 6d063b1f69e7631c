package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/rs/cors"
	"go.temporal.io/sdk/converter"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/store"
)

// CodecPath is where the API serves the payload codec for Temporal UI and the
// Temporal CLI (--codec-endpoint): POST <CodecPath>/decode and /encode, Temporal's
// remote codec protocol (JSON Payloads in, JSON Payloads out, header X-Namespace).
const CodecPath = "/api/v1/codec"

// CodecPayloads is the body of a codec request and answer: Temporal's Payloads in
// protobuf JSON. The API checks only its outline (an object with a list); the SDK's
// handler reads the payloads (metadata values and data in base64). A request is
// limited to the API's body size (1 MiB), ample for this project's payloads, which
// carry IDs, never blobs.
type CodecPayloads struct {
	Payloads []json.RawMessage `json:"payloads,omitempty"`
}

// HeaderNamespace names the Temporal namespace of a codec request.
const HeaderNamespace = "X-Namespace"

// codecRoutes mounts the codec endpoint. It decrypts customers' personal data, so it
// is for the dealer's owners and admins with a staff session only (no integration
// tokens), and every call is logged with who made it. Temporal UI calls it from its
// own origin: those origins get CORS with credentials, so the browser sends the staff
// cookie (SameSite=Lax still sends it when UI and API share the site, e.g. the same
// host on other ports). Preflights answer 204 without authentication, as browsers send
// them without cookies.
func (s *server) codecRoutes(r *gin.Engine, st *store.Store, codec converter.PayloadCodec, uiOrigins []string) {
	origins := make([]string, 0, len(uiOrigins))
	for _, o := range uiOrigins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" && o != "*" {
			origins = append(origins, o)
		}
	}
	trusted := func(origin string) bool { return origin != "" && slices.Contains(origins, origin) }
	policy := cors.New(cors.Options{
		// A function, not AllowedOrigins: rs/cors allows every origin when that list
		// is empty, and this endpoint must allow none unless told.
		AllowOriginFunc:      trusted,
		AllowedMethods:       []string{http.MethodPost},
		AllowedHeaders:       []string{"Content-Type", HeaderNamespace},
		AllowCredentials:     true,
		MaxAge:               600,
		OptionsSuccessStatus: http.StatusNoContent,
	})
	preflight := func(c *gin.Context) {
		policy.HandlerFunc(c.Writer, c.Request)
		if c.GetHeader("Access-Control-Request-Method") == "" {
			c.Status(http.StatusNoContent)
		}
		c.Abort()
	}
	withCORS := func(c *gin.Context) {
		policy.HandlerFunc(c.Writer, c.Request)
		// auth.Middleware refuses state-changing requests from other origins (CSRF).
		// A codec call changes nothing, and the UI's origin was just checked: it goes
		// on as a same-origin request would.
		if trusted(c.GetHeader("Origin")) {
			c.Request.Header.Del("Origin")
			c.Request.Header.Del("Sec-Fetch-Site")
		}
	}
	var handler http.Handler
	if codec != nil {
		handler = converter.NewPayloadCodecHTTPHandler(codec)
	}
	serve := func(c *gin.Context) {
		if handler == nil {
			writeProblem(c, problem(http.StatusServiceUnavailable, ProblemUnavailable, "codec_not_configured"))
			return
		}
		// The API's own checks first, so a body that is no Payloads object gets the
		// same problem document as on every route; what passes goes to the SDK's
		// handler unchanged, which speaks Temporal's codec protocol.
		raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
		if err != nil {
			writeProblem(c, bodyProblem(err))
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(raw))
		if !decodeJSON(c, &CodecPayloads{}) {
			return
		}
		p := auth.From(c)
		s.log.Info("payload codec used", "op", strings.TrimPrefix(c.FullPath(), CodecPath+"/"),
			"dealer", p.Dealer, "staff", p.StaffID, "namespace", c.GetHeader(HeaderNamespace))
		c.Request.Body = io.NopCloser(bytes.NewReader(raw))
		handler.ServeHTTP(c.Writer, c.Request)
	}
	g := r.Group(CodecPath)
	for _, op := range []string{"/decode", "/encode"} {
		g.OPTIONS(op, preflight)
		g.POST(op, withCORS, auth.Middleware(st, s.auth), auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin), serve)
	}
}
