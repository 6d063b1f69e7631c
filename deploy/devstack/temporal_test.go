package devstack

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/job"
)

// checkSearchAttributes fails the test unless every job search attribute is registered
// as a Keyword in the default namespace.
func checkSearchAttributes(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for _, name := range job.SearchAttributes {
		typ, ok := resp.GetCustomAttributes()[name]
		if !ok {
			t.Errorf("search attribute %s not registered; have %v", name, resp.GetCustomAttributes())
			continue
		}
		if typ != enums.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s has type %v, want Keyword", name, typ)
		}
	}
}

func TestStartTestTemporal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := StartTestTemporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil {
			t.Logf("stop: %v", err)
		}
	})
	checkSearchAttributes(t, ctx, srv.Client())
}

func TestStartTemporalPersists(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	uiPort, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	const codecEndpoint = "http://127.0.0.1:8080/api/v1/codec"
	start := func() (*Temporal, client.Client) {
		t.Helper()
		srv, err := StartTemporal(ctx, TemporalOptions{DataDir: dir, Port: port, UIPort: uiPort, Logf: t.Logf, CodecEndpoint: codecEndpoint})
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address(), Namespace: "default"})
		if err != nil {
			_ = srv.Stop()
			t.Fatal(err)
		}
		return srv, c
	}

	srv, c := start()
	checkSearchAttributes(t, ctx, c)
	resp, err := http.Get(srv.UIURL())
	if err != nil {
		t.Errorf("web UI: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("web UI answered %s", resp.Status)
		}
	}
	// The UI learns the API's codec endpoint from its settings, which it reads first.
	if resp, err := http.Get(srv.UIURL() + "/api/v1/settings"); err != nil {
		t.Errorf("web UI settings: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), codecEndpoint) {
			t.Errorf("web UI settings do not name the codec endpoint %s: %s", codecEndpoint, body)
		}
	}
	// A workflow that no worker runs is enough to see whether state survives a restart.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "devstack-persist", TaskQueue: "devstack-none"}, "Nothing")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A second start on the same directory registers the same search attributes again,
	// which must not fail, and finds the workflow.
	srv, c = start()
	defer func() {
		c.Close()
		if err := srv.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	checkSearchAttributes(t, ctx, c)
	described, err := c.DescribeWorkflow(ctx, "devstack-persist", run.GetRunID())
	if err != nil {
		t.Fatalf("workflow lost across restart: %v", err)
	}
	desc := described.RawResponse
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("workflow status %v after restart, want running", st)
	}
	if got := filepath.Join(dir, "temporal.log"); srv.LogPath() != got {
		t.Errorf("log path %s, want %s", srv.LogPath(), got)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The test runs in deploy/devstack, two levels below the module root.
	if want, _ := filepath.Abs("../.."); root != want {
		t.Errorf("RepoRoot() = %s, want %s", root, want)
	}
}

func TestChoosePort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port

	got, err := choosePort(0, taken)
	if err != nil {
		t.Fatal(err)
	}
	if got == taken || got == 0 {
		t.Errorf("choosePort(0, taken %d) = %d, want another free port", taken, got)
	}
	if _, err := choosePort(taken, DefaultTemporalPort); err == nil {
		t.Errorf("choosePort(taken %d) succeeded, want an error: an explicit port is not replaced", taken)
	}
}
