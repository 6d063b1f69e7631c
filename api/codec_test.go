package api_test

// Customer personal data in Temporal: encrypted in the history the server keeps,
// readable through the same converter and through the API's codec endpoint, which only
// owners and admins may use, from Temporal UI's origin too.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/store"
)

// devCodec is the codec of the test clients (devstack.StartTestTemporal).
func devCodec(t *testing.T) *payloadcodec.Codec {
	t.Helper()
	c, err := payloadcodec.NewCodec(payloadcodec.Dev())
	require.NoError(t, err)
	return c
}

// codecBody is a codec request's body: one payload of v, encrypted with the dev key
// when encrypt is set.
func codecBody(t *testing.T, v any, encrypt bool) string {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	ps := []*commonpb.Payload{p}
	if encrypt {
		ps, err = devCodec(t).Encode(ps)
		require.NoError(t, err)
	}
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return string(raw)
}

// codecRequest is the authorization matrix's request to the codec endpoint: decode an
// encrypted payload, encode a clear one, or a preflight.
func codecRequest(method, op string) func(*testing.T, party, bool) request {
	return func(t *testing.T, _ party, _ bool) request {
		r := request{method: method, path: api.CodecPath + op, header: http.Header{api.HeaderNamespace: {"default"}}}
		if method == http.MethodPost {
			r.body = codecBody(t, "Erika Mustermann", op == "/decode")
		}
		return r
	}
}

const (
	secretName  = "Ottilie Geheimrat"
	secretEmail = "ottilie.geheimrat@example.org"
)

// TestPayloadEncryption puts a customer's name and e-mail address into a job through
// the API and finds neither in the history the Temporal server keeps, while the
// workers' converter reads them back; the finished history is recorded for the replay
// test as standard_master_encrypted.
func TestPayloadEncryption(t *testing.T) {
	e := newEnv(t)
	def, err := definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)
	first := def.Phases[0]
	var text string
	for _, u := range first.StaffFields {
		if f, _ := def.Field(u.Field); f.Type == definitions.TypeText && !u.ReadOnly {
			text = u.Field
			break
		}
	}
	require.NotEmpty(t, text, "the first phase has a text field staff can fill in")

	n := e.newJob(t, "enc-create")
	e.act(t, n, "submit", "enc-1", api.SubmitBody{Phase: first.Key, Values: map[string]any{text: secretName + " <" + secretEmail + ">"}})
	e.act(t, n, "status", "enc-2", api.StatusBody{Status: job.StatusClosed})
	require.Equal(t, job.StatusClosed, e.waitClosed(t, n).Status)

	// A client without the codec gets the history as the server stores it.
	raw, err := client.Dial(client.Options{HostPort: devServer.FrontendHostPort(), Namespace: "default", Logger: quietSDKLogger{}})
	require.NoError(t, err)
	defer raw.Close()
	hist := history(t, raw, n)
	stored, err := proto.Marshal(hist)
	require.NoError(t, err)
	for _, secret := range []string{secretName, secretEmail, "Ottilie", "geheimrat@"} {
		require.False(t, bytes.Contains(stored, []byte(secret)), "the stored history holds %q in clear", secret)
	}

	// Every payload outside the search attributes is encrypted, and the workers'
	// codec reads the name and address back.
	var plain strings.Builder
	count := 0
	codec := devCodec(t)
	eachPayload(hist.ProtoReflect(), func(p *commonpb.Payload) {
		count++
		require.Equal(t, payloadcodec.EncodingEncrypted, string(p.GetMetadata()[payloadcodec.MetadataEncoding]), "payload %d: %s", count, p)
		dec, err := codec.Decode([]*commonpb.Payload{p})
		require.NoError(t, err)
		plain.Write(dec[0].GetData())
		plain.WriteByte('\n')
	})
	require.Greater(t, count, 5, "payloads in the history")
	require.Contains(t, plain.String(), secretName)
	require.Contains(t, plain.String(), secretEmail)

	e.recordHistory(t, n, "standard_master_encrypted")
}

// TestCodecEndpoint: who may decode, what comes back, and CORS for Temporal UI.
func TestCodecEndpoint(t *testing.T) {
	e := newEnv(t)
	const uiOrigin = "http://127.0.0.1:8233"
	srv := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger,
		Codec: devCodec(t), TemporalUIOrigins: []string{uiOrigin + "/"}}))
	t.Cleanup(srv.Close)
	e.addStaff(t, dealerID, "Sina Sales", "sales@autohaus-test.de", store.RoleSales)
	sales := e.loginStaff(t, dealerID, "sales@autohaus-test.de")
	decodeAs := func(as *caller, body string, header http.Header) response {
		return e.do(t, request{method: http.MethodPost, path: api.CodecPath + "/decode", body: body, as: as, server: srv, header: header})
	}
	encrypted := codecBody(t, secretEmail, true)

	require.Equal(t, http.StatusUnauthorized, decodeAs(anonymous(), encrypted, nil).problem(t).Status)
	require.Equal(t, http.StatusForbidden, decodeAs(sales, encrypted, nil).problem(t).Status)
	require.Equal(t, http.StatusForbidden, decodeAs(e.cust, encrypted, nil).problem(t).Status)

	r := decodeAs(e.staff, encrypted, http.Header{api.HeaderNamespace: {"default"}})
	require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
	require.NotContains(t, encrypted, secretEmail)
	require.Equal(t, secretEmail, payloadValue(t, r))

	// Encode gives what decode reads; clear payloads pass through decode.
	r = e.do(t, request{method: http.MethodPost, path: api.CodecPath + "/encode", body: codecBody(t, secretName, false), server: srv})
	require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
	var enc commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(r.Body, &enc))
	require.Equal(t, payloadcodec.EncodingEncrypted, string(enc.Payloads[0].Metadata[payloadcodec.MetadataEncoding]))
	r = decodeAs(e.staff, string(r.Body), nil)
	require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
	require.Equal(t, secretName, payloadValue(t, r))
	r = decodeAs(e.staff, codecBody(t, secretName, false), nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, secretName, payloadValue(t, r))

	// A payload under a key the API does not have: the answer names the key.
	otherKeys, err := payloadcodec.Parse("k-alt:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), payloadcodec.KeySize)), "")
	require.NoError(t, err)
	other, err := payloadcodec.NewCodec(otherKeys)
	require.NoError(t, err)
	p, err := converter.GetDefaultDataConverter().ToPayload(secretEmail)
	require.NoError(t, err)
	ps, err := other.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	r = decodeAs(e.staff, string(body), nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Contains(t, string(r.Body), `unknown key ID "k-alt"`)

	// Temporal UI's preflight: no cookie, the UI's origin allowed with credentials.
	preflight := func(origin string) response {
		return e.do(t, request{method: http.MethodOptions, path: api.CodecPath + "/decode", as: anonymous(), server: srv, header: http.Header{
			"Origin": {origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type,x-namespace"},
		}})
	}
	r = preflight(uiOrigin)
	require.Equal(t, http.StatusNoContent, r.Status)
	require.Equal(t, uiOrigin, r.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", r.Header.Get("Access-Control-Allow-Credentials"))
	require.Contains(t, strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "x-namespace")
	require.Contains(t, r.Header.Get("Access-Control-Allow-Methods"), "POST")
	r = preflight("http://evil.example")
	require.Equal(t, http.StatusNoContent, r.Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"), "other origins get no CORS headers")

	// The UI's call as a browser sends it (same site, another port): the staff cookie
	// gets in and the answer may be read there; another site is refused.
	r = decodeAs(e.staff, encrypted, http.Header{"Origin": {uiOrigin}, "Sec-Fetch-Site": {"same-site"}, api.HeaderNamespace: {"default"}})
	require.Equal(t, http.StatusOK, r.Status, "answer: %s", r)
	require.Equal(t, uiOrigin, r.Header.Get("Access-Control-Allow-Origin"))
	r = decodeAs(e.staff, encrypted, http.Header{"Origin": {"http://evil.example"}, "Sec-Fetch-Site": {"cross-site"}})
	require.Equal(t, http.StatusForbidden, r.problem(t).Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))

	// Without a codec the route says so.
	bare := httptest.NewServer(api.New(api.Deps{TaskQueue: e.queue, Store: e.store, Temporal: e.tc, Logger: e.logger}))
	t.Cleanup(bare.Close)
	r = e.do(t, request{method: http.MethodPost, path: api.CodecPath + "/decode", body: encrypted, server: bare})
	require.Equal(t, http.StatusServiceUnavailable, r.problem(t).Status)
}

// payloadValue is the string in the codec answer's one payload.
func payloadValue(t *testing.T, r response) string {
	t.Helper()
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(r.Body, &out))
	require.Len(t, out.Payloads, 1)
	var v string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &v))
	return v
}

// history is job n's whole history as the server keeps it.
func history(t *testing.T, c client.Client, n int64) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hist := &historypb.History{}
	iter := c.GetWorkflowHistory(ctx, job.WorkflowID(dealerID, n), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	require.NotEmpty(t, hist.Events, fmt.Sprintf("history of job %d", n))
	return hist
}

// eachPayload visits every payload in m except search attributes', which Temporal
// indexes in clear (they hold no personal data by design).
func eachPayload(m protoreflect.Message, visit func(*commonpb.Payload)) {
	switch v := m.Interface().(type) {
	case *commonpb.Payload:
		visit(v)
		return
	case *commonpb.SearchAttributes:
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				eachPayload(v.List().Get(i).Message(), visit)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				eachPayload(mv.Message(), visit)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			eachPayload(v.Message(), visit)
		}
		return true
	})
}

// quietSDKLogger keeps the raw client's connection chatter out of the test output.
type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}
