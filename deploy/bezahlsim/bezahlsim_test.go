package bezahlsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/payments/bezahl"
)

// TestStartPublic checks that pay links use the public URL while the API and the pay
// page are served on the listen address, as behind a container's published port.
func TestStartPublic(t *testing.T) {
	srv, err := StartPublic("127.0.0.1:0", "http://localhost:8090/", "tok", "org")
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	require.Equal(t, "http://localhost:8090", srv.PublicURL)
	require.NotEqual(t, srv.PublicURL, srv.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &bezahl.Client{BaseURL: srv.APIURL(), Token: "tok", OrgID: "org"}
	o, err := c.CreateOrder(ctx, bezahl.OrderRequest{OrgID: "org", Name: "Anzahlung", Price: 50000, Unique: "test-1",
		Assets: []bezahl.Asset{{Label: "Anzahlung", Amount: 50000}}})
	require.NoError(t, err)
	require.Equal(t, "http://localhost:8090/pay/"+o.ID, o.Link)

	// The page behind the link, reached where the simulator really listens.
	resp, err := http.Get(srv.URL + strings.TrimPrefix(o.Link, srv.PublicURL))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "Anzahlung")
}

func TestStartPublicDefaultsAndErrors(t *testing.T) {
	srv, err := Start("127.0.0.1:0", "tok", "org")
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	require.Equal(t, srv.URL, srv.PublicURL, "without a public URL links use the listen address")

	for _, bad := range []string{"localhost:8090", "ftp://localhost", "http://"} {
		_, err := StartPublic("127.0.0.1:0", bad, "tok", "org")
		require.ErrorContains(t, err, "is not an http(s):// URL", bad)
	}
}
