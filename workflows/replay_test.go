package workflows

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/telemetry"
)

// TestReplayRecordedHistories replays every history the integration tests recorded
// against the current workflow code, with the data converter the workers use (payloads
// encrypted by package payloadcodec; histories recorded before encryption pass through
// it in clear): a change that a running job could not replay fails here. It fails on
// an empty corpus, and on one without an encrypted history, so it can never be
// silently green.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in testdata/histories; run the api integration tests with JOBMANAGER_RECORD_HISTORIES=1")
	dc, fc, err := devstack.TestConverters()
	require.NoError(t, err)
	// The JSON form of histories writes metadata values in base64.
	encrypted := []byte(base64.StdEncoding.EncodeToString([]byte(payloadcodec.EncodingEncrypted)))
	var sawEncrypted bool
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		sawEncrypted = sawEncrypted || bytes.Contains(raw, encrypted)
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The workers run with the tracing interceptor (set on their client); the
			// replayer does too, so a change to it that touched history fails here.
			tracing, err := telemetry.TracingInterceptor()
			require.NoError(t, err)
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: fc,
				Interceptors: []interceptor.WorkerInterceptor{tracing}})
			require.NoError(t, err)
			r.RegisterWorkflowWithOptions(JobWorkflow, workflow.RegisterOptions{Name: job.WorkflowType})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
	require.True(t, sawEncrypted, "no history with encrypted payloads in testdata/histories; record one (api TestPayloadEncryption with JOBMANAGER_RECORD_HISTORIES=1)")
}
