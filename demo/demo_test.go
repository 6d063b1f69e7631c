package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// The logins the dev banner prints work with the login routes.
func TestDemoLogins(t *testing.T) {
	st := pgtest.New(t)
	created, err := Seed(context.Background(), st, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, created)
	srv := httptest.NewServer(api.New(api.Deps{Store: st}))
	defer srv.Close()
	login := func(path, email string) int {
		body, err := json.Marshal(api.LoginBody{Email: email, Password: Password})
		require.NoError(t, err)
		res, err := http.Post(srv.URL+"/api/v1/dealers/"+Dealer+path, "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	for _, u := range Staff {
		require.Equal(t, http.StatusOK, login("/staff/login", u.Email), u.Email)
	}
	require.Equal(t, http.StatusOK, login("/customer/login", Customer.Email))
}
