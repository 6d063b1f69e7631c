package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/workflows"
)

// measured accumulates one workflow's runs across rounds.
type measured struct {
	subject
	numbers   []int64 // job numbers to use, in order; warm-up takes the first ones
	next      int
	input     func(int64) workflows.StartInput
	serverPID int

	t          timings
	lifecycles int
	elapsed    time.Duration
	benchCPU   time.Duration
	serverCPU  time.Duration
	machineCPU time.Duration
	last       int64
}

func (m *measured) take(k int) []int64 {
	s := m.numbers[m.next : m.next+k]
	m.next += k
	return s
}

// measure drives k lifecycles and adds their wall time and CPU. A and B never run at
// the same time, so the CPU of this process and of the server during a round belongs
// to the workflow being measured (the other worker's idle pollers cost next to nothing).
func (m *measured) measure(ctx context.Context, c client.Client, k, concurrency int) error {
	nums := m.take(k)
	b0, s0, h0 := processCPU(), pidCPU(m.serverPID), machineCPU()
	elapsed, err := runMany(ctx, c, m.subject, nums, concurrency, m.input, &m.t)
	if err != nil {
		return err
	}
	m.benchCPU += processCPU() - b0
	m.serverCPU += pidCPU(m.serverPID) - s0
	m.machineCPU += machineCPU() - h0
	m.elapsed += elapsed
	m.lifecycles += k
	m.last = nums[len(nums)-1]
	return nil
}

// kindResult is one workflow's numbers in bench.json.
type kindResult struct {
	Workflow            string  `json:"workflow"`
	Lifecycles          int     `json:"lifecycles"`
	Seconds             float64 `json:"seconds"`
	LifecyclesPerSecond float64 `json:"lifecycles_per_second"`
	UpdateP50Ms         float64 `json:"update_p50_ms"`
	UpdateP99Ms         float64 `json:"update_p99_ms"`
	StartP50Ms          float64 `json:"start_p50_ms"`
	LifecycleP50Ms      float64 `json:"lifecycle_p50_ms"`
	EventsPerLifecycle  int     `json:"history_events_per_lifecycle"`
	EventsPerStep       float64 `json:"history_events_per_step"`
	// EventTypes counts one lifecycle's history by event type, to see where events go.
	EventTypes map[string]int `json:"history_event_types"`
	// BenchCPUMs is this process's CPU (worker, client and driver) per lifecycle; the
	// driver's share is the same for A and B, so the difference is the worker's.
	BenchCPUMs  float64 `json:"bench_process_cpu_ms_per_lifecycle"`
	ServerCPUMs float64 `json:"server_cpu_ms_per_lifecycle"`
	// MachineCPUMs is all busy CPU time of the machine per lifecycle: it adds
	// PostgreSQL and whatever else ran, so it is only clean on an otherwise idle machine.
	MachineCPUMs float64 `json:"machine_cpu_ms_per_lifecycle"`
}

func (m *measured) result(ctx context.Context, c client.Client, label string) (kindResult, error) {
	r := kindResult{
		Workflow:            label,
		Lifecycles:          m.lifecycles,
		Seconds:             round(m.elapsed.Seconds(), 3),
		LifecyclesPerSecond: round(float64(m.lifecycles)/m.elapsed.Seconds(), 2),
		UpdateP50Ms:         ms(percentile(m.t.updates, 0.50)),
		UpdateP99Ms:         ms(percentile(m.t.updates, 0.99)),
		StartP50Ms:          ms(percentile(m.t.starts, 0.50)),
		LifecycleP50Ms:      ms(percentile(m.t.lifecycle, 0.50)),
		BenchCPUMs:          round(float64(m.benchCPU.Microseconds())/1000/float64(m.lifecycles), 2),
		ServerCPUMs:         round(float64(m.serverCPU.Microseconds())/1000/float64(m.lifecycles), 2),
		MachineCPUMs:        round(float64(m.machineCPU.Microseconds())/1000/float64(m.lifecycles), 2),
		EventTypes:          map[string]int{},
	}
	id := job.WorkflowID(m.dealer, m.last)
	it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return r, fmt.Errorf("history of %s: %w", id, err)
		}
		r.EventsPerLifecycle++
		r.EventTypes[ev.GetEventType().String()]++
	}
	r.EventsPerStep = round(float64(r.EventsPerLifecycle)/interactiveSteps, 2)
	return r, nil
}

// report is bench.json.
type report struct {
	Time        string `json:"time"`
	Go          string `json:"go"`
	CPUs        int    `json:"cpus"`
	TemporalCLI string `json:"temporal_cli"`
	ServerStore string `json:"server_store"`
	// LoadAverage is /proc/loadavg at the start: other work on the machine shows here
	// and makes absolute numbers (less so the ratio) noisy.
	LoadAverage      string     `json:"load_average,omitempty"`
	N                int        `json:"lifecycles_per_workflow"`
	Concurrency      int        `json:"concurrency"`
	Warmup           int        `json:"warmup"`
	Rounds           int        `json:"rounds"`
	InteractiveSteps int        `json:"interactive_steps_per_lifecycle"`
	A                kindResult `json:"a"`
	B                kindResult `json:"b"`
	Ratio            float64    `json:"ratio_a_over_b"`
	EventsDiff       float64    `json:"history_events_per_step_a_minus_b"`
	Targets          struct {
		RatioMin          float64 `json:"ratio_min"`
		EventsPerStepDiff float64 `json:"history_events_per_step_diff_max"`
	} `json:"targets"`
	RatioMet  bool `json:"ratio_met"`
	EventsMet bool `json:"events_met"`
	// API is the API part: actions through HTTP against the SDK, and the job list.
	API *apiReport `json:"api,omitempty"`
}

func (r *report) finish() {
	r.Ratio = round(r.A.LifecyclesPerSecond/r.B.LifecyclesPerSecond, 3)
	r.EventsDiff = round(r.A.EventsPerStep-r.B.EventsPerStep, 2)
	r.Targets.RatioMin = targetRatio
	r.Targets.EventsPerStepDiff = targetEventsPerStep
	r.RatioMet = r.Ratio >= targetRatio
	r.EventsMet = r.EventsDiff <= targetEventsPerStep
}

func (r *report) print(out io.Writer) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	fmt.Fprintf(out, "\n%d lifecycles each (after %d warm-up), %d at a time, %d rounds; Temporal CLI %s, server state in %s; %s, %d CPUs, load %s at start\n\n",
		r.N, r.Warmup, r.Concurrency, r.Rounds, r.TemporalCLI, r.ServerStore, r.Go, r.CPUs, r.LoadAverage)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\tA JobWorkflow\tB minimal\ttarget")
	fmt.Fprintf(w, "lifecycles/s\t%s\t%s\tA/B ≥ %s: %s %s\n", f(r.A.LifecyclesPerSecond), f(r.B.LifecyclesPerSecond),
		f(targetRatio), f(r.Ratio), verdict(r.RatioMet))
	fmt.Fprintf(w, "update p50 ms\t%s\t%s\t\n", f(r.A.UpdateP50Ms), f(r.B.UpdateP50Ms))
	fmt.Fprintf(w, "update p99 ms\t%s\t%s\t\n", f(r.A.UpdateP99Ms), f(r.B.UpdateP99Ms))
	fmt.Fprintf(w, "start p50 ms\t%s\t%s\t\n", f(r.A.StartP50Ms), f(r.B.StartP50Ms))
	fmt.Fprintf(w, "lifecycle p50 ms\t%s\t%s\t\n", f(r.A.LifecycleP50Ms), f(r.B.LifecycleP50Ms))
	fmt.Fprintf(w, "history events/lifecycle\t%d\t%d\t\n", r.A.EventsPerLifecycle, r.B.EventsPerLifecycle)
	fmt.Fprintf(w, "history events/step\t%s\t%s\tA−B ≤ %s: %s %s\n", f(r.A.EventsPerStep), f(r.B.EventsPerStep),
		f(targetEventsPerStep), f(r.EventsDiff), verdict(r.EventsMet))
	fmt.Fprintf(w, "bench process CPU ms/lifecycle\t%s\t%s\t\n", f(r.A.BenchCPUMs), f(r.B.BenchCPUMs))
	fmt.Fprintf(w, "temporal server CPU ms/lifecycle\t%s\t%s\t\n", f(r.A.ServerCPUMs), f(r.B.ServerCPUMs))
	fmt.Fprintf(w, "machine CPU ms/lifecycle\t%s\t%s\t\n", f(r.A.MachineCPUMs), f(r.B.MachineCPUMs))
	w.Flush()
	fmt.Fprintf(out, "\nhistory of one lifecycle, A: %s\n", eventTypes(r.A.EventTypes))
	fmt.Fprintf(out, "history of one lifecycle, B: %s\n\n", eventTypes(r.B.EventTypes))
}

func eventTypes(m map[string]int) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	// Most frequent first: that is where a reader looks for savings.
	slices.SortFunc(names, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

func (r *report) write(path string) error { return writeJSON(path, r) }

// loadAverage is the first three fields of /proc/loadavg, or empty.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// percentile is the nearest-rank percentile; zero for no samples.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return round(float64(d.Microseconds())/1000, 2) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// processCPU is this process's user and system CPU so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU is a process's user and system CPU so far, from /proc; zero where there is no
// /proc. The clock tick is taken as 100 Hz, which Linux reports to user space on every
// architecture Go supports.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces; fields are counted after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// After the name: state is field 3 of the man page, utime 14 and stime 15.
	if len(fields) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// machineCPU is the busy time of all CPUs since boot from /proc/stat (every field but
// idle and iowait), at 100 ticks per second like pidCPU; zero where there is no /proc.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal; guest time is already in user.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	return time.Duration(busy) * 10 * time.Millisecond
}
