package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/store"
)

// benchPassword is the password of the bench's staff users.
const benchPassword = "bench-passwort-2026"

// apiServer is the production API (api.Run, with its server timeouts) on a loopback
// port, in front of the bench's store and Temporal client: requests cross a real
// socket, as a browser's do.
type apiServer struct {
	base string // http://127.0.0.1:port
	stop func() error
}

func startAPI(ctx context.Context, st *store.Store, c client.Client, logger *slog.Logger) (*apiServer, error) {
	port, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- api.Run(ctx, addr, api.Deps{Store: st, Temporal: c, Logger: logger}) }()
	s := &apiServer{base: "http://" + addr, stop: func() error { cancel(); return <-done }}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-done:
			cancel()
			return nil, fmt.Errorf("api on %s ended before serving: %w", addr, err)
		default:
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return nil, fmt.Errorf("api on %s: no answer to /healthz within 10s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// staffClient is a browser of one logged-in staff user: its session cookie rides on
// every request, so each request pays the session lookup a real one pays.
type staffClient struct {
	base    string // .../api/v1/dealers/<dealer>
	http    *http.Client
	staffID string
}

// newStaffUser creates a staff user of the dealer with benchPassword.
func newStaffUser(ctx context.Context, st *store.Store, dealer, email, name string, role store.Role) (store.StaffUser, error) {
	hash, err := auth.HashPassword(benchPassword)
	if err != nil {
		return store.StaffUser{}, err
	}
	return st.CreateStaffUser(ctx, store.StaffUser{Dealer: dealer, Email: email, Name: name, Role: role, PasswordHash: hash})
}

// login logs the user in through POST .../staff/login. conns is how many requests the
// client sends at once; it keeps that many connections open, as browsers of that many
// users would.
func (s *apiServer) login(ctx context.Context, u store.StaffUser, conns int) (*staffClient, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	sc := &staffClient{
		base:    s.base + "/api/v1/dealers/" + url.PathEscape(u.Dealer),
		http:    &http.Client{Jar: jar, Transport: tr, Timeout: callTimeout},
		staffID: u.ID,
	}
	var out api.StaffAnswer
	status, err := sc.do(ctx, http.MethodPost, "/staff/login", "", api.LoginBody{Email: u.Email, Password: benchPassword}, &out)
	if err != nil {
		return nil, fmt.Errorf("log in %s: %w", u.Email, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("log in %s: status %d", u.Email, status)
	}
	return sc, nil
}

// errStatus is an answer with a status other than the one expected; its body says why.
type errStatus struct {
	status int
	body   string
}

func (e *errStatus) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// do sends one request (path below the dealer) and decodes a 2xx answer into out. The
// whole answer is read before it returns, so a timing around it covers the transfer.
// Answers other than 2xx return their status and an *errStatus.
func (sc *staffClient) do(ctx context.Context, method, path, key string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, sc.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(api.HeaderIdempotencyKey, key)
	}
	res, err := sc.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, &errStatus{status: res.StatusCode, body: string(raw)})
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// statusOf is the HTTP status in err, or 0.
func statusOf(err error) int {
	var e *errStatus
	if errors.As(err, &e) {
		return e.status
	}
	return 0
}
