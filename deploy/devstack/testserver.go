package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/payloadcodec"
)

// StartTestTemporal starts an in-memory Temporal dev server on a free loopback port for
// a test, with the job search attributes registered. Its Client() is connected to the
// default namespace and encrypts payloads with the development key (TestConverters),
// like the API, worker and replayers of `make dev`; close that client and call Stop
// when done.
//
// It always passes ExistingPath: without it the SDK downloads a CLI from the internet,
// which cannot be reached here. The binary comes from TemporalBinary, which builds it
// from the module proxy if bin/temporal is missing.
func StartTestTemporal(ctx context.Context) (*testsuite.DevServer, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bin, err := TemporalBinary(root, func(format string, args ...any) {
		logger.Warn("devstack: "+format, args...)
	})
	if err != nil {
		return nil, err
	}
	dc, fc, err := TestConverters()
	if err != nil {
		return nil, err
	}
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: bin,
		ClientOptions: &client.Options{
			Namespace:        "default",
			DataConverter:    dc,
			FailureConverter: fc,
			// The SDK's default logger prints every start at info level into test output.
			Logger: log.NewStructuredLogger(logger),
		},
		SearchAttributes: SearchAttributeKeys(),
		LogLevel:         "warn",
		ExtraArgs: []string{
			// Without it a search attribute registered at start may be unknown to the
			// frontend for a while, and the first workflow start using it fails.
			"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
		},
	})
}

// TestConverters are the data and failure converters of test clients and replayers:
// the payload codec with the development key, as temporalclient.Dial uses it by
// default in `make dev`.
func TestConverters() (converter.DataConverter, converter.FailureConverter, error) {
	return payloadcodec.Converters(payloadcodec.Dev())
}

// SearchAttributeKeys returns job.SearchAttributes as Keyword keys, in the form
// testsuite.DevServerOptions wants: the dev server registers each key it finds, and only
// the key's name and type matter, so every value is empty.
func SearchAttributeKeys() temporal.SearchAttributes {
	updates := make([]temporal.SearchAttributeUpdate, 0, len(job.SearchAttributes))
	for _, name := range job.SearchAttributes {
		updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(""))
	}
	return temporal.NewSearchAttributes(updates...)
}

// RunTests is the TestMain of a test package that shares one Temporal dev server among
// its tests (starting one takes seconds): it starts the server, hands it to use, runs
// the tests, stops the server and exits with the tests' code.
func RunTests(m *testing.M, use func(*testsuite.DevServer)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	srv, err := StartTestTemporal(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start temporal dev server:", err)
		os.Exit(1)
	}
	use(srv)
	code := m.Run()
	srv.Client().Close()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop temporal dev server:", err)
	}
	os.Exit(code)
}
