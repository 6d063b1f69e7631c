package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"go.temporal.io/sdk/client"
)

// Environment variables for a remote cluster that wants TLS, a client certificate or
// an API key. Files, not PEM in the variable, because Kubernetes mounts a Secret's
// certificate and key as files and rotates them in place.
const (
	EnvTLS           = "TEMPORAL_TLS"             // "1": TLS with the system's roots, no client certificate
	EnvTLSCert       = "TEMPORAL_TLS_CERT"        // client certificate (PEM file) for mTLS
	EnvTLSKey        = "TEMPORAL_TLS_KEY"         // its private key (PEM file)
	EnvTLSCA         = "TEMPORAL_TLS_CA"          // CA bundle (PEM file) that signed the server's certificate
	EnvTLSServerName = "TEMPORAL_TLS_SERVER_NAME" // name to verify the server's certificate by
	EnvAPIKey        = "TEMPORAL_API_KEY"         // API key (Temporal Cloud); implies TLS
)

// TLSConfig says how to secure the connection to the frontend. The zero value is
// plain gRPC, as the dev server and the compose stack speak.
type TLSConfig struct {
	// Enabled turns TLS on; any of the other fields does too.
	Enabled bool
	// CertFile and KeyFile are the client certificate and key for mTLS: both or neither.
	CertFile, KeyFile string
	// CAFile verifies the server instead of the system's roots.
	CAFile string
	// ServerName overrides the host name the server's certificate is checked against.
	ServerName string
}

// tlsFromEnv reads the TEMPORAL_TLS* variables.
func tlsFromEnv() TLSConfig {
	return TLSConfig{
		Enabled:  os.Getenv(EnvTLS) == "1",
		CertFile: os.Getenv(EnvTLSCert), KeyFile: os.Getenv(EnvTLSKey),
		CAFile: os.Getenv(EnvTLSCA), ServerName: os.Getenv(EnvTLSServerName),
	}
}

func (t TLSConfig) on() bool {
	return t.Enabled || t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" || t.ServerName != ""
}

// build makes the crypto/tls configuration; nil when TLS is off.
func (t TLSConfig) build() (*tls.Config, error) {
	if !t.on() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%s and %s go together: both or neither", EnvTLSCert, EnvTLSKey)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load the client certificate (%s, %s): %w", EnvTLSCert, EnvTLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", EnvTLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New(EnvTLSCA + " holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// applySecurity sets TLS and the API key on the client options. An API key without
// TLS settings gets TLS with the system's roots (the SDK's own default for API keys).
func (c Config) applySecurity(opts *client.Options) error {
	tlsCfg, err := c.TLS.build()
	if err != nil {
		return fmt.Errorf("temporal TLS: %w", err)
	}
	opts.ConnectionOptions.TLS = tlsCfg
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return nil
}
