package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/jobmanager/jobmanager/api"
)

// formKeyField is the hidden field with the form's idempotency key: each rendered form
// has its own, so a form sent twice (a double click, a reload that posts again) is
// applied once by the API.
const formKeyField = "_key"

// apiPath is the API's address of a dealer's resource: apiPath(dealer, "jobs", 12)
// is /api/v1/dealers/<dealer>/jobs/12. Parts are path-escaped.
func apiPath(dealer string, parts ...any) string {
	var b strings.Builder
	b.WriteString("/api/v1/dealers/")
	b.WriteString(url.PathEscape(dealer))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(fmt.Sprint(p)))
	}
	return b.String()
}

// apiError is an API answer that is not a success: a problem the page shows (with its
// field errors beside the fields), or a failure to call at all.
type apiError struct {
	Status  int
	Problem api.Problem
}

func (e *apiError) Error() string {
	return fmt.Sprintf("api %d: %s %s", e.Status, e.Problem.Title, e.Problem.Detail)
}

// asProblem is the API problem behind err, if that is what it is.
func asProblem(err error) (*apiError, bool) {
	var ae *apiError
	ok := errors.As(err, &ae)
	return ae, ok
}

// apiRequest is one call of the API on behalf of the visitor.
type apiRequest struct {
	Method string
	Path   string
	// Query is added to Path.
	Query url.Values
	// Body is sent as JSON unless Raw is set.
	Body any
	// Raw is sent as is with ContentType (file uploads).
	Raw         io.Reader
	ContentType string
	// Key is the idempotency key of a state-changing call; a new one when empty.
	Key string
}

// apiResponse is the API's answer read in full.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// call sends req to the API with the visitor's cookies and language and decodes a
// success into out (nil skips). Cookies the API sets (log in, log out, a signed link)
// go on to the visitor. Failures come back as *apiError.
func (s *site) call(c *gin.Context, req apiRequest, out any) (*apiResponse, error) {
	var body io.Reader
	contentType := ""
	switch {
	case req.Raw != nil:
		body, contentType = req.Raw, req.ContentType
	case req.Body != nil:
		raw, err := json.Marshal(req.Body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", req.Method, req.Path, err)
		}
		body, contentType = bytes.NewReader(raw), "application/json"
	}
	target := req.Path
	if len(req.Query) > 0 {
		target += "?" + req.Query.Encode()
	}
	r, err := http.NewRequestWithContext(c.Request.Context(), req.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", req.Method, req.Path, err)
	}
	if r.Body == nil {
		// A server request always has a body; handlers read it without a nil check.
		r.Body = http.NoBody
	}
	r.RemoteAddr = c.Request.RemoteAddr
	r.Host = c.Request.Host
	r.TLS = c.Request.TLS
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Accept-Language", pageLanguage(c))
	r.Header.Set("User-Agent", c.Request.UserAgent())
	for _, ck := range c.Request.Cookies() {
		r.AddCookie(ck)
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		key := req.Key
		if key == "" {
			key = uuid.NewString()
		}
		r.Header.Set(api.HeaderIdempotencyKey, key)
	}
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, r)
	res := &apiResponse{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	for _, ck := range res.Header.Values("Set-Cookie") {
		c.Writer.Header().Add("Set-Cookie", ck)
	}
	adoptCookies(c, res.Header.Values("Set-Cookie"))
	if res.Status >= 400 {
		ae := &apiError{Status: res.Status}
		if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); strings.HasSuffix(mt, "json") {
			_ = json.Unmarshal(res.Body, &ae.Problem)
		}
		return res, ae
	}
	if out != nil && len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, out); err != nil {
			return res, fmt.Errorf("decode %s %s: %w", req.Method, req.Path, err)
		}
	}
	return res, nil
}

// get is call for a GET that decodes into out.
func (s *site) get(c *gin.Context, path string, query url.Values, out any) error {
	_, err := s.call(c, apiRequest{Method: http.MethodGet, Path: path, Query: query}, out)
	return err
}

// send is call for a state-changing JSON request with the form's idempotency key.
func (s *site) send(c *gin.Context, method, path string, body, out any) error {
	_, err := s.call(c, apiRequest{Method: method, Path: path, Body: body, Key: c.PostForm(formKeyField)}, out)
	return err
}

// partKey is the idempotency key of one of several requests a form makes: the form's
// key and part, which names the request, so a form sent twice makes each once. Empty
// (a new key for each request) when the form has none.
func partKey(c *gin.Context, part string) string {
	k := c.PostForm(formKeyField)
	if k == "" {
		return ""
	}
	return k + "/" + part
}

// adoptCookies makes the cookies an API answer set (a new session, a cleared one) part
// of the visitor's request, so later API calls of the same page go with them.
func adoptCookies(c *gin.Context, setCookies []string) {
	set := (&http.Response{Header: http.Header{"Set-Cookie": setCookies}}).Cookies()
	if len(set) == 0 {
		return
	}
	byName := map[string]*http.Cookie{}
	var order []string
	for _, ck := range c.Request.Cookies() {
		if _, ok := byName[ck.Name]; !ok {
			order = append(order, ck.Name)
		}
		byName[ck.Name] = ck
	}
	for _, ck := range set {
		if _, ok := byName[ck.Name]; !ok {
			order = append(order, ck.Name)
		}
		byName[ck.Name] = &http.Cookie{Name: ck.Name, Value: ck.Value}
		if ck.MaxAge < 0 {
			delete(byName, ck.Name)
		}
	}
	c.Request.Header.Del("Cookie")
	for _, name := range order {
		if ck, ok := byName[name]; ok {
			c.Request.AddCookie(ck)
		}
	}
}
