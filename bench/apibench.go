package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/workflows"
)

// Targets of the API part.
const (
	targetActionRatio = 1.25 // HTTP action latency / SDK update latency, p50 and p99, at most
	targetListP99Ms   = 20.0 // job list p99 per filter and overall, at most
)

// apiConfig sizes the API part.
type apiConfig struct {
	actions, steps, concurrency int
	listJobs, listSamples       int
}

// latency is a sample's size and percentiles.
type latency struct {
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
}

func latencyOf(ds []time.Duration) latency {
	return latency{Samples: len(ds), P50Ms: ms(percentile(ds, 0.50)), P99Ms: ms(percentile(ds, 0.99))}
}

// actionReport compares one interactive action through the API with the same update
// sent by the SDK directly.
type actionReport struct {
	Action      string  `json:"action"`
	Jobs        int     `json:"jobs"`
	StepsPerJob int     `json:"actions_per_job"`
	Concurrency int     `json:"concurrency"`
	HTTP        latency `json:"http"`
	SDK         latency `json:"sdk"`
	RatioP50    float64 `json:"ratio_p50_http_over_sdk"`
	RatioP99    float64 `json:"ratio_p99_http_over_sdk"`
	TargetMax   float64 `json:"target_ratio_max"`
	Met         bool    `json:"met"`
}

// filterResult is one filter's timings.
type filterResult struct {
	Name    string `json:"name"`
	Example string `json:"example_query"`
	latency
	RowsPerRequest float64 `json:"rows_per_request"`
	Met            bool    `json:"met"`
}

// listReport is the job list over a large read model.
type listReport struct {
	Dealer           string         `json:"dealer"`
	Jobs             int            `json:"jobs"`
	OtherDealersJobs int            `json:"other_dealers_jobs"`
	Vehicles         int            `json:"vehicles"`
	Customers        int            `json:"customers"`
	Salespeople      int            `json:"salespeople"`
	SeedSeconds      float64        `json:"seed_seconds"`
	PageSize         int            `json:"page_size"`
	Filters          []filterResult `json:"filters"`
	// NotOffered are filters the API refused as unknown parameters: not timed.
	NotOffered  []string `json:"filters_not_offered,omitempty"`
	Overall     latency  `json:"overall"`
	TargetP99Ms float64  `json:"target_p99_ms_max"`
	Met         bool     `json:"met"`
}

// apiReport is the API part of bench.json.
type apiReport struct {
	Actions actionReport `json:"actions"`
	List    listReport   `json:"job_list"`
}

func (r *apiReport) met() bool { return r.Actions.Met && r.List.Met }

// runAPI runs the API part on the same Temporal server, worker and PostgreSQL as the
// workflow comparison: the real API on a loopback port, a logged-in staff user, first
// the actions (HTTP against SDK, interleaved), then the job list over a large read
// model.
func runAPI(ctx context.Context, cfg apiConfig, dbURL string, c client.Client, def definitions.Definition, ref definitions.Ref,
	input func(int64) workflows.StartInput, logger *slog.Logger, logf func(string, ...any),
) (*apiReport, error) {
	// The API gets a pool of its own, as the api process has in production: sharing the
	// worker's would make HTTP requests queue behind projections for a connection.
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	srv, err := startAPI(ctx, st, c, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			logf("stop api: %v", err)
		}
	}()
	rep := &apiReport{}

	// Actions.
	u, err := newStaffUser(ctx, st, benchDealer, "verkauf@bench.example", "Bench Verkauf", store.RoleSales)
	if err != nil {
		return nil, err
	}
	sc, err := srv.login(ctx, u, cfg.concurrency)
	if err != nil {
		return nil, err
	}
	jobs := max(2, (2*cfg.actions+cfg.steps-1)/cfg.steps)
	warm := cfg.concurrency
	numbers, err := allocateJobs(ctx, st, "bench-api", warm+jobs, ref)
	if err != nil {
		return nil, err
	}
	ab := &actionBench{c: c, sc: sc, input: input, steps: cfg.steps}
	logf("actions: warm-up on %d jobs", warm)
	if err := ab.run(ctx, numbers[:warm], 0, cfg.concurrency, &actionTimings{}); err != nil {
		return nil, fmt.Errorf("actions warm-up: %w", err)
	}
	logf("actions: %d jobs × %d actions, HTTP and SDK alternating, %d jobs at a time", jobs, cfg.steps, cfg.concurrency)
	var at actionTimings
	if err := ab.run(ctx, numbers[warm:], 0, cfg.concurrency, &at); err != nil {
		return nil, fmt.Errorf("actions: %w", err)
	}
	a := &rep.Actions
	a.Action = fmt.Sprintf("staff submit of phase %q (POST /jobs/:number/submit; update %s)", actionPhase, job.UpdateSubmit)
	a.Jobs, a.StepsPerJob, a.Concurrency = jobs, cfg.steps, cfg.concurrency
	a.HTTP, a.SDK = latencyOf(at.http), latencyOf(at.sdk)
	a.RatioP50 = round(a.HTTP.P50Ms/a.SDK.P50Ms, 3)
	a.RatioP99 = round(a.HTTP.P99Ms/a.SDK.P99Ms, 3)
	a.TargetMax = targetActionRatio
	a.Met = a.RatioP50 <= targetActionRatio && a.RatioP99 <= targetActionRatio

	// The job list. A real workflow state of one of the action jobs goes with every
	// generated row, so rows are as wide as in production.
	state, err := st.JobState(ctx, benchDealer, numbers[warm])
	if err != nil {
		return nil, fmt.Errorf("state of an action job: %w", err)
	}
	logf("job list: seeding %d jobs of %s and %d of other dealers (state %d bytes per row)",
		cfg.listJobs, listDealer, len(otherListDealers)*max(1, cfg.listJobs/4), len(state))
	seed, err := seedList(ctx, st, def, ref, state, cfg.listJobs, logf)
	if err != nil {
		return nil, fmt.Errorf("seed job list: %w", err)
	}
	lc, err := srv.login(ctx, seed.owner, 1)
	if err != nil {
		return nil, err
	}
	timed, skipped, err := benchList(ctx, lc, listFilters(seed), cfg.listSamples, max(1, cfg.listSamples/10), logf)
	if err != nil {
		return nil, err
	}
	l := &rep.List
	l.Dealer, l.Jobs, l.OtherDealersJobs = listDealer, seed.main.jobs, seed.other
	l.Vehicles, l.Customers, l.Salespeople = len(seed.main.vehicles), len(seed.main.customers), len(seed.main.salespeople)
	l.SeedSeconds = round(seed.seconds, 1)
	l.PageSize = store.DefaultJobLimit
	l.NotOffered = skipped
	l.TargetP99Ms = targetListP99Ms
	l.Met = true
	var all []time.Duration
	for _, ft := range timed {
		fr := filterResult{Name: ft.f.name, Example: exampleQuery(ft.f), latency: latencyOf(ft.times)}
		if len(ft.times) > 0 {
			fr.RowsPerRequest = round(float64(ft.rows)/float64(len(ft.times)), 1)
		}
		fr.Met = fr.P99Ms <= targetListP99Ms
		l.Met = l.Met && fr.Met
		l.Filters = append(l.Filters, fr)
		all = append(all, ft.times...)
	}
	l.Overall = latencyOf(all)
	l.Met = l.Met && l.Overall.P99Ms <= targetListP99Ms
	return rep, nil
}

// exampleQuery shows a filter's parameters with IDs replaced by their name, for the
// report.
func exampleQuery(f listFilter) string {
	q := f.query(rand.New(rand.NewPCG(1, 1)))
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q.Get(k)
		switch k {
		case "salesperson", "vehicle", "customer":
			v = "<" + k + " id>"
		}
		parts = append(parts, k+"="+v)
	}
	if f.pages > 1 {
		parts = append(parts, "then cursor="+"<next_cursor> ×"+strconv.Itoa(f.pages-1))
	}
	return strings.Join(parts, "&")
}

func (r *apiReport) print(out io.Writer) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	a := r.Actions
	fmt.Fprintf(out, "API: %s\n%d jobs × %d actions, %d jobs at a time, HTTP and SDK alternating within each job\n\n",
		a.Action, a.Jobs, a.StepsPerJob, a.Concurrency)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\tHTTP\tSDK\tHTTP/SDK\ttarget")
	fmt.Fprintf(w, "action p50 ms\t%s\t%s\t%s\t≤ %s: %s\n", f(a.HTTP.P50Ms), f(a.SDK.P50Ms), f(a.RatioP50), f(a.TargetMax), verdict(a.RatioP50 <= a.TargetMax))
	fmt.Fprintf(w, "action p99 ms\t%s\t%s\t%s\t≤ %s: %s\n", f(a.HTTP.P99Ms), f(a.SDK.P99Ms), f(a.RatioP99), f(a.TargetMax), verdict(a.RatioP99 <= a.TargetMax))
	fmt.Fprintf(w, "samples\t%d\t%d\t\t\n", a.HTTP.Samples, a.SDK.Samples)
	w.Flush()

	l := r.List
	fmt.Fprintf(out, "\nJob list (GET /jobs, %d per page, one request at a time) over %d jobs of %s (%d vehicles, %d customers, %d salespeople) and %d jobs of other dealers; seeded in %ss\n\n",
		l.PageSize, l.Jobs, l.Dealer, l.Vehicles, l.Customers, l.Salespeople, l.OtherDealersJobs, f(l.SeedSeconds))
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "filter\tsamples\trows/req\tp50 ms\tp99 ms\ttarget p99")
	for _, fr := range l.Filters {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t≤ %s: %s\n", fr.Name, fr.Samples, f(fr.RowsPerRequest), f(fr.P50Ms), f(fr.P99Ms), f(l.TargetP99Ms), verdict(fr.Met))
	}
	fmt.Fprintf(w, "overall\t%d\t\t%s\t%s\t≤ %s: %s\n", l.Overall.Samples, f(l.Overall.P50Ms), f(l.Overall.P99Ms), f(l.TargetP99Ms), verdict(l.Overall.P99Ms <= l.TargetP99Ms))
	w.Flush()
	if len(l.NotOffered) > 0 {
		fmt.Fprintf(out, "not timed, the API does not offer them yet: %s\n", strings.Join(l.NotOffered, "; "))
	}
	fmt.Fprintln(out)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
