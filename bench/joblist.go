package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// listDealer owns the jobs the list is timed on; otherListDealers hold jobs of other
// tenants in the same tables, as in production.
const listDealer = "bench-list"

var otherListDealers = []string{"bench-list-b", "bench-list-c"}

// listSize says how much data one dealer gets.
type listSize struct {
	jobs, vehicles, customers, salespeople int
}

func sizeFor(jobs int) listSize {
	return listSize{jobs: jobs, vehicles: max(1, jobs/20), customers: max(1, jobs*3/10), salespeople: 12}
}

// listTenant is one dealer's generated data, kept to build realistic filters.
type listTenant struct {
	dealer      string
	salespeople []string
	vehicles    []job.Vehicle
	customers   []store.Customer
	jobs        int
}

// listSeed is what seeding wrote.
type listSeed struct {
	main    listTenant
	owner   store.StaffUser
	other   int // jobs of the other dealers
	seconds float64
}

// seedList writes the list's data: dealers, staff, vehicles and customers through the
// store's own functions, and every job through store.Project, the write the job
// workflow's projection makes, so whatever the store keeps beside the row (search
// text, state) is kept as in production. state is a real projected workflow state,
// stored with every row so rows have their production width.
func seedList(ctx context.Context, st *store.Store, def definitions.Definition, ref definitions.Ref, state json.RawMessage,
	jobs int, logf func(string, ...any),
) (listSeed, error) {
	begin := time.Now()
	hash, err := auth.HashPassword(benchPassword)
	if err != nil {
		return listSeed{}, err
	}
	var seed listSeed
	dealers := append([]string{listDealer}, otherListDealers...)
	for i, d := range dealers {
		size := sizeFor(jobs)
		if i > 0 {
			// Smaller neighbours: a quarter each.
			size = sizeFor(max(1, jobs/4))
		}
		t, owner, err := seedTenant(ctx, st, d, hash, size, def, ref, state, uint64(i+1), logf)
		if err != nil {
			return listSeed{}, err
		}
		if i == 0 {
			seed.main, seed.owner = t, owner
		} else {
			seed.other += t.jobs
		}
	}
	// A database in use has its statistics and visibility map up to date through
	// autovacuum; a freshly loaded one gets them now, or the first plans would be
	// made for empty tables.
	for _, table := range []string{"jobs", "job_audit", "vehicles", "customers"} {
		if _, err := st.Pool().Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
			return listSeed{}, fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	seed.seconds = time.Since(begin).Seconds()
	return seed, nil
}

func seedTenant(ctx context.Context, st *store.Store, dealer, hash string, size listSize, def definitions.Definition,
	ref definitions.Ref, state json.RawMessage, seed uint64, logf func(string, ...any),
) (listTenant, store.StaffUser, error) {
	t := listTenant{dealer: dealer, jobs: size.jobs}
	if _, err := st.CreateDealer(ctx, store.Dealer{ID: dealer, Name: "Autohaus " + dealer}); err != nil {
		return t, store.StaffUser{}, err
	}
	owner, err := st.CreateStaffUser(ctx, store.StaffUser{Dealer: dealer, Email: "chef@" + dealer + ".example", Name: "Chefin",
		Role: store.RoleOwner, PasswordHash: hash})
	if err != nil {
		return t, owner, err
	}
	for i := range size.salespeople {
		u, err := st.CreateStaffUser(ctx, store.StaffUser{Dealer: dealer, Email: fmt.Sprintf("verkauf%d@%s.example", i+1, dealer),
			Name: fmt.Sprintf("Verkauf %d", i+1), Role: store.RoleSales, PasswordHash: hash})
		if err != nil {
			return t, owner, err
		}
		t.salespeople = append(t.salespeople, u.ID)
	}

	logf("list data %s: %d vehicles, %d customers", dealer, size.vehicles, size.customers)
	rng := rand.New(rand.NewPCG(seed, 42))
	t.vehicles = make([]job.Vehicle, size.vehicles)
	for i := range t.vehicles {
		m := makes[rng.IntN(len(makes))]
		t.vehicles[i] = job.Vehicle{
			Number: fmt.Sprintf("%s-%05d", vehiclePrefix(dealer), i+1), Make: m.make, Model: m.models[rng.IntN(len(m.models))],
			PriceCents: int64(800_000 + rng.IntN(6_000_000)), Location: pick(rng, locations),
		}
	}
	t.customers = make([]store.Customer, size.customers)
	for i := range t.customers {
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		t.customers[i] = store.Customer{Dealer: dealer, Name: first + " " + last,
			Email: fmt.Sprintf("%s.%s.%d@example.org", asciiLower(first), asciiLower(last), i+1),
			Phone: fmt.Sprintf("+49 30 %07d", rng.IntN(10_000_000))}
	}
	if err := parallel(ctx, len(t.vehicles), 8, func(i int) error {
		v, err := st.CreateVehicle(ctx, dealer, t.vehicles[i])
		t.vehicles[i] = v
		return err
	}); err != nil {
		return t, owner, err
	}
	if err := parallel(ctx, len(t.customers), 8, func(i int) error {
		c, err := st.CreateCustomer(ctx, t.customers[i])
		t.customers[i] = c
		return err
	}); err != nil {
		return t, owner, err
	}

	logf("list data %s: projecting %d jobs", dealer, size.jobs)
	begin := time.Now()
	now := time.Now().UTC()
	// Rows are generated up front from one seeded generator, so the data is the same
	// on every run whatever order the writers take them in.
	projections := make([]job.Projection, size.jobs)
	for i := range projections {
		projections[i] = genJob(rng, &t, def, ref, state, int64(i+1), size.jobs, now)
	}
	var done atomic.Int64
	if err := parallel(ctx, len(projections), 8, func(i int) error {
		if k := done.Add(1); k%20_000 == 0 {
			logf("list data %s: %d/%d jobs projected", dealer, k, len(projections))
		}
		return st.Project(ctx, projections[i])
	}); err != nil {
		return t, owner, err
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE dealers SET next_job_number = $2 WHERE id = $1`, dealer, size.jobs+1); err != nil {
		return t, owner, fmt.Errorf("number jobs of %s: %w", dealer, err)
	}
	logf("list data %s: %d jobs in %s", dealer, size.jobs, time.Since(begin).Round(time.Millisecond))
	return t, owner, nil
}

// The spread of the generated jobs: three years of a mid-sized dealer. Young jobs are
// mostly open; old ones mostly closed. Numbers grow with the start time.
const listHistory = 3 * 365 * 24 * time.Hour

var (
	locations   = []weighted{{"Berlin", 50}, {"Hamburg", 30}, {"München", 20}}
	sources     = []weighted{{string(job.SourceManual), 35}, {string(job.SourcePark), 30}, {string(job.SourceCallback), 15}, {string(job.SourceMarketplace), 20}}
	openPhases  = []weighted{{"anfrage", 35}, {"angebot", 25}, {"auftrag", 12}, {"zahlung", 10}, {"lieferung", 5}, {"abholung", 8}, {"feedback", 5}}
	soldPhases  = []weighted{{"auftrag", 15}, {"zahlung", 25}, {"lieferung", 15}, {"abholung", 25}, {"feedback", 20}}
	closedPhase = []weighted{{"feedback", 70}, {"anfrage", 15}, {"angebot", 15}}
	cancelPhase = []weighted{{"anfrage", 60}, {"angebot", 40}}
	// customerTurn is how likely it is the customer's turn in an open job's phase.
	customerTurn = map[string]float64{"angebot": 0.7, "auftrag": 0.5, "zahlung": 0.8, "feedback": 0.9}
)

type weighted struct {
	v string
	w int
}

func pick(rng *rand.Rand, ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := rng.IntN(total)
	for _, w := range ws {
		if n < w.w {
			return w.v
		}
		n -= w.w
	}
	return ws[len(ws)-1].v
}

// genJob makes job number n of total: its start lies in the last three years (denser
// recently, as a growing dealer's), and its status, phase and turn fit its age.
func genJob(rng *rand.Rand, t *listTenant, def definitions.Definition, ref definitions.Ref, state json.RawMessage,
	n int64, total int, now time.Time,
) job.Projection {
	// Position in time by number: job 1 is three years old, the last one is new.
	frac := float64(n) / float64(total)
	age := time.Duration(float64(listHistory) * (1 - math.Sqrt(frac)))
	created := now.Add(-age)
	// The last change: within two months of the start, never in the future.
	updated := created.Add(time.Duration(rng.Float64() * float64(min(age, 60*24*time.Hour))))

	var status job.Status
	r := rng.Float64()
	switch {
	case age < 30*24*time.Hour:
		status = choose(r, 0.85, 0.05, 0.05)
	case age < 180*24*time.Hour:
		status = choose(r, 0.40, 0.20, 0.30)
	default:
		status = choose(r, 0.05, 0.10, 0.75)
	}
	var phase string
	switch status {
	case job.StatusOpen:
		phase = pick(rng, openPhases)
	case job.StatusSold:
		phase = pick(rng, soldPhases)
	case job.StatusClosed:
		phase = pick(rng, closedPhase)
	default:
		phase = pick(rng, cancelPhase)
	}
	turn := definitions.TurnStaff
	if rng.Float64() < customerTurn[phase] {
		turn = definitions.TurnCustomer
	}
	// Vehicles come and go: a job's vehicle is one stocked around its time.
	vi := int(frac*float64(len(t.vehicles))) + rng.IntN(101) - 50
	vi = min(max(vi, 0), len(t.vehicles)-1)
	vehicle := t.vehicles[vi]
	var customerID string
	if rng.Float64() < 0.8 {
		customerID = t.customers[rng.IntN(len(t.customers))].ID
	}
	// Salespeople are not equally busy.
	sp := t.salespeople[min(int(rng.ExpFloat64()*float64(len(t.salespeople))/3), len(t.salespeople)-1)]
	row := job.Row{
		Dealer: t.dealer, Number: n, Phase: phase, Status: status, Turn: turn,
		VehicleID: vehicle.ID, CustomerID: customerID, Salesperson: sp, Location: vehicle.Location,
		Source: job.Source(pick(rng, sources)), Definition: ref, Seq: int64(2 + rng.IntN(40)), UpdatedAt: updated,
	}
	if i := def.PhaseIndex(phase); i >= 0 {
		row.PhaseName = def.Phases[i].Name
	}
	actor := job.Actor{Side: job.Staff, ID: sp}
	entries := []job.AuditEntry{{Seq: 1, At: created, Actor: actor, Action: job.ActionCreated}}
	if status.Ended() {
		entries = append(entries, job.AuditEntry{Seq: row.Seq, At: updated, Actor: actor, Action: job.ActionStatus,
			Before: map[string]any{"status": string(job.StatusOpen)}, After: map[string]any{"status": string(status)}})
	}
	return job.Projection{Row: row, Entries: entries, State: state}
}

// choose maps r in [0,1) to a status with the given shares of open, sold and closed;
// the rest is canceled.
func choose(r, open, sold, closed float64) job.Status {
	switch {
	case r < open:
		return job.StatusOpen
	case r < open+sold:
		return job.StatusSold
	case r < open+sold+closed:
		return job.StatusClosed
	}
	return job.StatusCanceled
}

// parallel runs f(0..n-1) on workers goroutines; the first error stops the rest.
func parallel(ctx context.Context, n, workers int, f func(int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// --- timing the list ---

// listFilter is one kind of list request the staff dashboard makes.
type listFilter struct {
	name string
	// query makes one sample's parameters.
	query func(rng *rand.Rand) url.Values
	// pages > 1 follows next_cursor that many pages deep; every page is a sample.
	pages int
	// needs names a parameter the API must offer (probed before timing), or "".
	needs string
}

func listFilters(seed listSeed) []listFilter {
	t := &seed.main
	sp := func(rng *rand.Rand) string { return t.salespeople[rng.IntN(len(t.salespeople))] }
	vehicle := func(rng *rand.Rand) job.Vehicle { return t.vehicles[rng.IntN(len(t.vehicles))] }
	customer := func(rng *rand.Rand) store.Customer { return t.customers[rng.IntN(len(t.customers))] }
	phase := func(rng *rand.Rand) string { return pick(rng, openPhases) }
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	return []listFilter{
		{name: "all, newest first", query: func(*rand.Rand) url.Values { return q() }},
		{name: "status open + turn staff", query: func(*rand.Rand) url.Values { return q("status", "open", "turn", "staff") }},
		{name: "phase", query: func(rng *rand.Rand) url.Values { return q("phase", phase(rng)) }},
		{name: "salesperson", query: func(rng *rand.Rand) url.Values { return q("salesperson", sp(rng)) }},
		{name: "salesperson + status open", query: func(rng *rand.Rand) url.Values { return q("salesperson", sp(rng), "status", "open") }},
		{name: "location + status open,sold", query: func(rng *rand.Rand) url.Values {
			return q("location", pick(rng, locations), "status", "open,sold")
		}},
		{name: "source", query: func(rng *rand.Rand) url.Values { return q("source", pick(rng, sources)) }},
		{name: "vehicle", query: func(rng *rand.Rand) url.Values { return q("vehicle", vehicle(rng).ID) }},
		{name: "customer", query: func(rng *rand.Rand) url.Values { return q("customer", customer(rng).ID) }},
		{name: "combined: status, phase, turn, salesperson", query: func(rng *rand.Rand) url.Values {
			return q("status", "open", "phase", phase(rng), "turn", "customer", "salesperson", sp(rng))
		}},
		{name: "cursor paging, 5 pages", pages: 5, query: func(*rand.Rand) url.Values { return q("status", "open") }},
		{name: "q: customer name", needs: "q", query: func(rng *rand.Rand) url.Values { return q("q", customer(rng).Name) }},
		{name: "q: vehicle number", needs: "q", query: func(rng *rand.Rand) url.Values { return q("q", vehicle(rng).Number) }},
		{name: "q: job number", needs: "q", query: func(rng *rand.Rand) url.Values {
			return q("q", strconv.Itoa(1+rng.IntN(t.jobs)))
		}},
		{name: "q: common surname + status open", needs: "q", query: func(rng *rand.Rand) url.Values {
			return q("q", lastNames[rng.IntN(len(lastNames))], "status", "open")
		}},
		{name: "sort number, 3 pages", needs: "sort", pages: 3, query: func(*rand.Rand) url.Values { return q("sort", "number") }},
		{name: "sort status", needs: "sort", query: func(*rand.Rand) url.Values { return q("sort", "status") }},
		{name: "sort phase + salesperson", needs: "sort", query: func(rng *rand.Rand) url.Values { return q("sort", "phase", "salesperson", sp(rng)) }},
	}
}

// filterTimings are one filter's samples.
type filterTimings struct {
	f     listFilter
	times []time.Duration
	rows  int
}

// benchList times every filter samples times through GET /jobs. Requests go one at a
// time: the target is a single user's wait, not throughput. Each round takes the
// filters in a new order, so caches and background work favour none.
func benchList(ctx context.Context, sc *staffClient, filters []listFilter, samples, warmup int, logf func(string, ...any)) ([]*filterTimings, []string, error) {
	var skipped []string
	supported := map[string]bool{}
	var active []*filterTimings
	for _, f := range filters {
		if f.needs != "" {
			ok, seen := supported[f.needs]
			if !seen {
				var err error
				ok, err = offers(ctx, sc, f)
				if err != nil {
					return nil, nil, err
				}
				supported[f.needs] = ok
			}
			if !ok {
				skipped = append(skipped, f.name)
				continue
			}
		}
		active = append(active, &filterTimings{f: f})
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range warmup + samples {
		if round == warmup {
			logf("job list: %d filters, %d samples each", len(active), samples)
		}
		order := slices.Clone(active)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, ft := range order {
			q := ft.f.query(rng)
			for page := 0; page < max(1, ft.f.pages); page++ {
				var l api.JobList
				begin := time.Now()
				if _, err := sc.do(ctx, http.MethodGet, "/jobs?"+q.Encode(), "", nil, &l); err != nil {
					return nil, nil, fmt.Errorf("list %q: %w", ft.f.name, err)
				}
				d := time.Since(begin)
				if round >= warmup {
					ft.times = append(ft.times, d)
					ft.rows += len(l.Jobs)
				}
				if l.NextCursor == "" {
					break
				}
				q.Set("cursor", l.NextCursor)
			}
		}
	}
	return active, skipped, nil
}

// offers reports whether the API knows the filter's parameter: an unknown one is
// refused with 400.
func offers(ctx context.Context, sc *staffClient, f listFilter) (bool, error) {
	q := f.query(rand.New(rand.NewPCG(1, 1)))
	q.Set("limit", "1")
	_, err := sc.do(ctx, http.MethodGet, "/jobs?"+q.Encode(), "", nil, nil)
	if statusOf(err) == http.StatusBadRequest {
		return false, nil
	}
	return err == nil, err
}

// --- generated names ---

type makeModels struct {
	make   string
	models []string
}

var (
	makes = []makeModels{
		{"VW", []string{"Golf", "Polo", "Passat", "Tiguan", "ID.3", "ID.4", "T-Roc"}},
		{"BMW", []string{"118i", "320d", "X1", "X3", "i4"}},
		{"Mercedes-Benz", []string{"A 180", "C 200", "E 220 d", "GLA", "GLC"}},
		{"Audi", []string{"A3", "A4 Avant", "Q3", "Q5", "e-tron"}},
		{"Opel", []string{"Corsa", "Astra", "Mokka"}},
		{"Skoda", []string{"Fabia", "Octavia", "Kodiaq", "Enyaq"}},
		{"Ford", []string{"Fiesta", "Focus", "Kuga"}},
	}
	firstNames = []string{"Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannah", "Jonas", "Julia", "Karl",
		"Lena", "Lukas", "Maria", "Max", "Mia", "Noah", "Paul", "Sophie", "Tim", "Ursula", "Werner", "Jürgen", "Özlem"}
	lastNames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
		"Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
		"Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Yılmaz", "Kaya"}
)

func vehiclePrefix(dealer string) string {
	switch dealer {
	case listDealer:
		return "BL"
	default:
		return "X" + strconv.Itoa(len(dealer)%10) + dealer[len(dealer)-1:]
	}
}

// asciiLower makes a name usable in an e-mail address.
func asciiLower(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			out = append(out, byte(r-'A'+'a'))
		case r >= 'a' && r <= 'z':
			out = append(out, byte(r))
		case r == 'ä':
			out = append(out, 'a', 'e')
		case r == 'ö' || r == 'Ö':
			out = append(out, 'o', 'e')
		case r == 'ü':
			out = append(out, 'u', 'e')
		case r == 'ß':
			out = append(out, 's', 's')
		default:
			out = append(out, 'x')
		}
	}
	return string(out)
}
