// Command bench measures what the job workflow costs on top of Temporal itself.
//
// It starts a throwaway Temporal dev server and PostgreSQL, then drives the same job
// lifecycle (start, ten updates, one payment signal, close) through two workflows on
// the same server: A, the real JobWorkflow with its validators, definition
// interpretation, search attributes and read-model projection; and B, a minimal
// workflow that answers the same messages and does nothing else. The ratio of their
// throughput and the difference in history events per step show the project's own
// overhead, measured rather than guessed.
//
// Then, on the same server, worker and database, the API part: the real API (api.Run
// on a loopback port, a logged-in staff user's session) sends an interactive action
// (a staff submit) through HTTP, interleaved with the same update sent by the SDK
// directly, and compares their latencies; and the job list (GET /jobs) is timed with
// the dashboard's filters, free text, sorts and cursor paging over 100,000 jobs of one
// dealer projected into PostgreSQL beside other dealers' jobs. Run it with `make
// bench`; results go to bench-results/bench.json. -hold keeps PostgreSQL up afterwards
// for EXPLAIN ANALYZE of a filter that misses its target.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/deploy/devstack"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/payloadcodec"
	"github.com/jobmanager/jobmanager/temporalclient"
	"github.com/jobmanager/jobmanager/workers"
	"github.com/jobmanager/jobmanager/workflows"
)

// Targets the job workflow must meet against the minimal one.
const (
	targetRatio         = 0.8 // lifecycles per second, A / B, at least
	targetEventsPerStep = 2.0 // history events per interactive step, A − B, at most
)

type config struct {
	n, concurrency, warmup, rounds int
	out                            string
	sqlite, strict                 bool
	cpuProfile                     string
	api, hold                      bool
	apiCfg                         apiConfig
}

func main() {
	var cfg config
	flag.IntVar(&cfg.n, "n", 200, "measured lifecycles per workflow")
	flag.IntVar(&cfg.concurrency, "c", 8, "lifecycles driven at the same time")
	flag.IntVar(&cfg.warmup, "warmup", 20, "unmeasured lifecycles per workflow before measuring")
	flag.IntVar(&cfg.rounds, "rounds", 2, "measured rounds; A and B alternate who goes first, so a server that slows as it fills hurts both alike")
	flag.StringVar(&cfg.out, "out", "", "result file (default <repo>/bench-results/bench.json)")
	flag.BoolVar(&cfg.sqlite, "sqlite", false, "keep server state in a SQLite file, as `make dev` does, instead of in memory")
	flag.BoolVar(&cfg.strict, "strict", false, "exit with status 1 when a target is missed")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and workers) to the file")
	flag.BoolVar(&cfg.api, "api", true, "also run the API part: actions through HTTP against the SDK, and the job list")
	flag.IntVar(&cfg.apiCfg.actions, "actions", 400, "API part: measured actions per path (HTTP and SDK)")
	flag.IntVar(&cfg.apiCfg.steps, "action-steps", 10, "API part: actions per job")
	flag.IntVar(&cfg.apiCfg.listJobs, "list-jobs", 100_000, "API part: jobs of the listed dealer (other dealers get a quarter each)")
	flag.IntVar(&cfg.apiCfg.listSamples, "list-samples", 200, "API part: timed requests per list filter")
	flag.BoolVar(&cfg.hold, "hold", false, "keep PostgreSQL running after the run until interrupted, to look at query plans (EXPLAIN ANALYZE)")
	flag.Parse()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: cpu profile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.n < 1 || cfg.concurrency < 1 || cfg.warmup < 0 || cfg.rounds < 1 || cfg.n < cfg.rounds {
		fmt.Fprintln(os.Stderr, "bench: need n ≥ rounds ≥ 1, c ≥ 1, warmup ≥ 0")
		os.Exit(2)
	}
	cfg.apiCfg.concurrency = cfg.concurrency
	if cfg.api && (cfg.apiCfg.actions < 1 || cfg.apiCfg.steps < 2 || cfg.apiCfg.listJobs < 4 || cfg.apiCfg.listSamples < 1) {
		fmt.Fprintln(os.Stderr, "bench: need actions ≥ 1, action-steps ≥ 2, list-jobs ≥ 4, list-samples ≥ 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	met, err := run(ctx, cfg)
	stop()
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if cfg.strict && !met {
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) (targetsMet bool, err error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

	load := loadAverage() // before we add our own
	root, err := devstack.RepoRoot()
	if err != nil {
		return false, err
	}
	if cfg.out == "" {
		cfg.out = filepath.Join(root, "bench-results", "bench.json")
	}
	tmp, err := os.MkdirTemp("", "jobmanager-bench-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	// A free port rather than 7233, so a running `make dev` and the bench do not meet.
	port, err := devstack.FreePort()
	if err != nil {
		return false, err
	}
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		DataDir: filepath.Join(tmp, "temporal"), Port: port, Headless: true, InMemory: !cfg.sqlite, Logf: logf,
	})
	if err != nil {
		return false, err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			logf("stop temporal: %v", err)
		}
	}()

	def, err := definitions.StandardDefinition(definitions.StandardMaster)
	if err != nil {
		return false, err
	}
	hash, err := def.Hash()
	if err != nil {
		return false, err
	}
	ref := definitions.Ref{Workflow: definitions.StandardMaster, Version: 1, Hash: hash}

	total := cfg.warmup + cfg.n
	a, err := setupJobWorkflow(ctx, tmp, total, ref, logger, logf)
	if err != nil {
		return false, err
	}
	defer a.close()

	// The production client and worker options for both, so B differs from A only in
	// its workflow code. The options matter: with the SDK's default two workflow-task
	// pollers new workflows starve behind a sticky-queue backlog at this concurrency,
	// and the numbers would measure the poller setting, not the workflow.
	c, err := temporalclient.Dial(temporalclient.Config{Address: srv.Address(), Namespace: "default", Keys: payloadcodec.Dev()}, logger)
	if err != nil {
		return false, err
	}
	defer c.Close()
	opts := workers.Options()
	wa := worker.New(c, job.TaskQueue, opts)
	a.register(wa)
	wb := worker.New(c, minimalTaskQueue, opts)
	wb.RegisterWorkflowWithOptions(minimalWorkflow, workflow.RegisterOptions{Name: minimalWorkflowType})
	for _, w := range []worker.Worker{wa, wb} {
		if err := w.Start(); err != nil {
			return false, fmt.Errorf("start worker: %w", err)
		}
		defer w.Stop()
	}

	input := func(dealer string) func(int64) workflows.StartInput {
		return func(n int64) workflows.StartInput {
			return workflows.StartInput{
				Dealer: dealer, Number: n, Ref: ref, Definition: def, Source: job.SourceManual,
				Vehicle: job.Vehicle{ID: "v1", Number: "A-1", Location: "Berlin"},
				Actor:   staff,
			}
		}
	}

	kinds := []*measured{
		{subject: subject{name: "A", dealer: a.dealer, workflowType: job.WorkflowType, taskQueue: job.TaskQueue, checkPhases: true},
			numbers: a.numbers, input: input(a.dealer), serverPID: srv.PID()},
		{subject: subject{name: "B", dealer: "bench-minimal", workflowType: minimalWorkflowType, taskQueue: minimalTaskQueue},
			numbers: sequence(total), input: input("bench-minimal"), serverPID: srv.PID()},
	}
	for _, k := range kinds {
		if cfg.warmup == 0 {
			continue
		}
		logf("warm-up %s: %d lifecycles", k.name, cfg.warmup)
		if _, err := runMany(ctx, c, k.subject, k.take(cfg.warmup), cfg.concurrency, k.input, &timings{}); err != nil {
			return false, fmt.Errorf("warm-up %s: %w", k.name, err)
		}
	}
	for r := range cfg.rounds {
		per := cfg.n / cfg.rounds
		if r == cfg.rounds-1 {
			per = cfg.n - per*(cfg.rounds-1)
		}
		order := kinds
		if r%2 == 1 {
			order = []*measured{kinds[1], kinds[0]}
		}
		for _, k := range order {
			logf("round %d/%d, %s: %d lifecycles, %d at a time", r+1, cfg.rounds, k.name, per, cfg.concurrency)
			if err := k.measure(ctx, c, per, cfg.concurrency); err != nil {
				return false, fmt.Errorf("%s: %w", k.name, err)
			}
		}
	}

	rep := report{
		Time: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), CPUs: runtime.NumCPU(),
		TemporalCLI: devstack.TemporalCLIVersion, ServerStore: "memory",
		N: cfg.n, Concurrency: cfg.concurrency, Warmup: cfg.warmup, Rounds: cfg.rounds,
		InteractiveSteps: interactiveSteps, LoadAverage: load,
	}
	if cfg.sqlite {
		rep.ServerStore = "sqlite"
	}
	if rep.A, err = kinds[0].result(ctx, c, "JobWorkflow"); err != nil {
		return false, err
	}
	if rep.B, err = kinds[1].result(ctx, c, "minimal"); err != nil {
		return false, err
	}
	rep.finish()
	if cfg.api {
		// After the comparison, so it is measured on a server and database without the
		// API part's data.
		if rep.API, err = runAPI(ctx, cfg.apiCfg, a.dbURL, c, def, ref, input(a.dealer), logger, logf); err != nil {
			return false, fmt.Errorf("api part: %w", err)
		}
	}
	rep.print(os.Stdout)
	if rep.API != nil {
		rep.API.print(os.Stdout)
	}
	if err := rep.write(cfg.out); err != nil {
		return false, err
	}
	logf("wrote %s", cfg.out)
	if cfg.hold {
		logf("holding PostgreSQL until interrupted: psql '%s'", a.dbURL)
		<-ctx.Done()
	}
	met := rep.RatioMet && rep.EventsMet
	if rep.API != nil {
		met = met && rep.API.met()
	}
	return met, nil
}

func sequence(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i + 1)
	}
	return s
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
