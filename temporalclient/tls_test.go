package temporalclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/payloadcodec"
)

// serverName is the only name in the proxy's certificate: dialing 127.0.0.1 works only
// when TEMPORAL_TLS_SERVER_NAME says it.
const serverName = "temporal.test"

// pki is a test CA with a server and a client certificate, all written as PEM files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	pool                                                 *x509.CertPool
}

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// issue makes a certificate from tmpl signed by parent (self-signed when nil).
func issue(t *testing.T, tmpl *x509.Certificate, parent *issued) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return issued{cert: cert, key: key, der: der}
}

func writePEM(t *testing.T, path, typ string, der []byte) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

func writeKey(t *testing.T, path string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return writePEM(t, path, "PRIVATE KEY", der)
}

// newPKI issues a CA, a server certificate for serverName and a client certificate.
func newPKI(t *testing.T, name string) pki {
	t.Helper()
	dir := t.TempDir()
	ca := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: name + " CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
	srv := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: serverName}, DNSNames: []string{serverName},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, &ca)
	cli := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "jobmanager-worker"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, &ca)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pki{
		caFile:     writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.der),
		serverCert: writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", srv.der),
		serverKey:  writeKey(t, filepath.Join(dir, "server-key.pem"), srv.key),
		clientCert: writePEM(t, filepath.Join(dir, "client.pem"), "CERTIFICATE", cli.der),
		clientKey:  writeKey(t, filepath.Join(dir, "client-key.pem"), cli.key),
		pool:       pool,
	}
}

// serverTLS is the proxy's TLS configuration; with mTLS it demands a client
// certificate signed by the test CA. gRPC clients insist on ALPN "h2".
func (p pki) serverTLS(t *testing.T, mTLS bool) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	require.NoError(t, err)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
	if mTLS {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, p.pool
	}
	return cfg
}

// startTLSProxy terminates TLS on a loopback port and copies the bytes to backend's
// plain gRPC port, as a TLS-terminating load balancer in front of a cluster does.
func startTLSProxy(t *testing.T, cfg *tls.Config, backend string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { pipe(conn.(*tls.Conn), backend) })
		}
	})
	return ln.Addr().String()
}

// pipe completes the handshake (where a missing or foreign client certificate is
// refused) and then copies both ways until either side closes.
func pipe(conn *tls.Conn, backend string) {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		return
	}
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
}

var (
	devOnce   sync.Once
	devServer *testsuite.DevServer
	devErr    error
)

// temporalServer is one dev server for the package's tests, stopped by TestMain.
func temporalServer(t *testing.T) *testsuite.DevServer {
	t.Helper()
	devOnce.Do(func() { devServer, devErr = devstack.StartTestTemporal(context.Background()) })
	require.NoError(t, devErr)
	return devServer
}

func TestMain(m *testing.M) {
	code := m.Run()
	if devServer != nil {
		_ = devServer.Stop()
	}
	os.Exit(code)
}

// clearTLSEnv unsets every TLS and API key variable for the test, so that the
// environment of whoever runs it does not leak in.
func clearTLSEnv(t *testing.T) {
	for _, k := range []string{EnvTLS, EnvTLSCert, EnvTLSKey, EnvTLSCA, EnvTLSServerName, EnvAPIKey} {
		t.Setenv(k, "")
	}
}

// dialEnv dials addr with the settings FromEnv reads.
func dialEnv(t *testing.T, addr string) (client.Client, error) {
	t.Helper()
	t.Setenv("TEMPORAL_ADDRESS", addr)
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	cfg := FromEnv()
	cfg.Keys = payloadcodec.Dev()
	return Dial(cfg, nil)
}

// requireWorks checks the client reaches the cluster: health and a visibility query.
func requireWorks(t *testing.T, c client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
	require.NoError(t, err)
	_, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"})
	require.NoError(t, err)
}

func TestDialMutualTLS(t *testing.T) {
	srv := temporalServer(t)
	p := newPKI(t, "test")
	addr := startTLSProxy(t, p.serverTLS(t, true), srv.FrontendHostPort())

	t.Run("client certificate and CA", func(t *testing.T) {
		clearTLSEnv(t)
		t.Setenv(EnvTLSCert, p.clientCert)
		t.Setenv(EnvTLSKey, p.clientKey)
		t.Setenv(EnvTLSCA, p.caFile)
		t.Setenv(EnvTLSServerName, serverName)
		c, err := dialEnv(t, addr)
		require.NoError(t, err)
		defer c.Close()
		requireWorks(t, c)
	})

	t.Run("wrong CA", func(t *testing.T) {
		other := newPKI(t, "other")
		clearTLSEnv(t)
		t.Setenv(EnvTLSCert, p.clientCert)
		t.Setenv(EnvTLSKey, p.clientKey)
		t.Setenv(EnvTLSCA, other.caFile)
		t.Setenv(EnvTLSServerName, serverName)
		_, err := dialEnv(t, addr)
		require.Error(t, err)
		require.ErrorContains(t, err, "certificate signed by unknown authority")
		require.ErrorContains(t, err, "dial temporal at "+addr)
	})

	t.Run("no client certificate", func(t *testing.T) {
		clearTLSEnv(t)
		t.Setenv(EnvTLSCA, p.caFile)
		t.Setenv(EnvTLSServerName, serverName)
		_, err := dialEnv(t, addr)
		require.Error(t, err)
		// The server's "certificate required" alert may come after the client has
		// written, which then sees a broken pipe; the error says what is missing.
		require.ErrorContains(t, err, "if the cluster wants mTLS, set "+EnvTLSCert+" and "+EnvTLSKey)
	})

	t.Run("server name not in the certificate", func(t *testing.T) {
		clearTLSEnv(t)
		t.Setenv(EnvTLSCert, p.clientCert)
		t.Setenv(EnvTLSKey, p.clientKey)
		t.Setenv(EnvTLSCA, p.caFile)
		_, err := dialEnv(t, addr)
		require.Error(t, err)
		require.ErrorContains(t, err, "doesn't contain any IP SANs")
	})
}

// TestDialAPIKey puts an HTTP/2 reverse proxy with TLS in front of the dev server that
// forwards only calls whose authorization header carries the key, as Temporal Cloud
// checks it; the dev server itself ignores the header. So the key is shown to be sent
// on the calls the system makes, not merely set in the client options.
func TestDialAPIKey(t *testing.T) {
	srv := temporalServer(t)
	p := newPKI(t, "test")
	const key = "test-api-key-0123456789"
	backend := &url.URL{Scheme: "http", Host: srv.FrontendHostPort()}
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(backend) },
		Transport:     transport,
		FlushInterval: -1,
	}
	var authorized, refused atomic.Int64
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+key {
				refused.Add(1)
				http.Error(w, "bad API key", http.StatusUnauthorized)
				return
			}
			authorized.Add(1)
			proxy.ServeHTTP(w, r)
		}),
		TLSConfig:         p.serverTLS(t, false),
		ReadHeaderTimeout: 10 * time.Second,
		// Refused handshakes are the point of some cases, not noise for the test log.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = hs.Close(); transport.CloseIdleConnections() })
	addr := ln.Addr().String()

	t.Run("key sent", func(t *testing.T) {
		clearTLSEnv(t)
		t.Setenv(EnvAPIKey, key)
		t.Setenv(EnvTLSCA, p.caFile)
		t.Setenv(EnvTLSServerName, serverName)
		c, err := dialEnv(t, addr)
		require.NoError(t, err)
		defer c.Close()
		requireWorks(t, c)
		require.Zero(t, refused.Load())
		require.Positive(t, authorized.Load())
	})

	t.Run("wrong key refused", func(t *testing.T) {
		clearTLSEnv(t)
		t.Setenv(EnvAPIKey, "not-the-key")
		t.Setenv(EnvTLSCA, p.caFile)
		t.Setenv(EnvTLSServerName, serverName)
		_, err := dialEnv(t, addr)
		require.Error(t, err)
		require.ErrorContains(t, err, "Unauthenticated")
	})

	t.Run("key alone turns TLS on", func(t *testing.T) {
		clearTLSEnv(t)
		t.Setenv(EnvAPIKey, key)
		t.Setenv(EnvTLSServerName, serverName)
		cfg := FromEnv()
		var opts client.Options
		require.NoError(t, cfg.applySecurity(&opts))
		require.NotNil(t, opts.Credentials)
		// The SDK turns TLS on with the system's roots for an API key; ours trusts no
		// test CA, so the proxy's certificate is refused.
		_, err := dialEnv(t, addr)
		require.ErrorContains(t, err, "certificate signed by unknown authority")
	})
}

func TestTLSSettingsErrors(t *testing.T) {
	p := newPKI(t, "test")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("no certificate here\n"), 0o600))
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"cert without key", map[string]string{EnvTLSCert: p.clientCert}, []string{EnvTLSCert, EnvTLSKey, "both or neither"}},
		{"key without cert", map[string]string{EnvTLSKey: p.clientKey}, []string{EnvTLSCert, EnvTLSKey}},
		{"missing cert file", map[string]string{EnvTLSCert: missing, EnvTLSKey: p.clientKey}, []string{EnvTLSCert, "missing.pem"}},
		{"key not matching cert", map[string]string{EnvTLSCert: p.clientCert, EnvTLSKey: p.serverKey}, []string{EnvTLSCert, EnvTLSKey}},
		{"missing CA file", map[string]string{EnvTLSCA: missing}, []string{EnvTLSCA, "missing.pem"}},
		{"CA file without PEM", map[string]string{EnvTLSCA: notPEM}, []string{EnvTLSCA, "no PEM certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearTLSEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			// The address is never dialed: the settings are refused first.
			_, err := dialEnv(t, "127.0.0.1:1")
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			var ne *net.OpError
			require.False(t, errors.As(err, &ne), "refused before dialing: %v", err)
		})
	}
}
