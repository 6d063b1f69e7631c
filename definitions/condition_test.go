package definitions

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// subject is a job as a condition sees it: every field present.
func subject() Subject {
	return Subject{
		Fields: map[string]any{
			"lieferart":   "lieferung",
			"bewertung":   "4",
			"notiz":       "",
			"bestaetigt":  true,
			"stumm":       false,
			"ausstattung": []any{"AHK", "Navi"},
			"telefon":     "+49 30 1234567",
		},
		Status:   "open",
		Phase:    "offerte",
		Source:   "mobile.de",
		LoggedIn: true,
		Side:     "customer",
	}
}

func TestConditionEval(t *testing.T) {
	base := subject()
	staff := subject()
	staff.Side = "staff"
	anonymous := subject()
	anonymous.LoggedIn = false
	sold := subject()
	sold.Status = "sold"
	web := subject()
	web.Source = "website"
	web.Phase = "versand"
	pickup := subject()
	pickup.Fields = map[string]any{"lieferart": "abholung", "ausstattung": []any{}, "bestaetigt": false}

	tests := []struct {
		src  string
		subj Subject
		want bool
	}{
		// The empty condition always holds.
		{"", base, true},
		{"", Subject{}, true},
		// Fields.
		{`fields.lieferart == "lieferung"`, base, true},
		{`fields.lieferart == "lieferung"`, pickup, false},
		{`fields.lieferart != "lieferung"`, pickup, true},
		{`fields["lieferart"] == "lieferung"`, base, true},
		{`fields.bestaetigt`, base, true},
		{`fields.bestaetigt`, pickup, false},
		{`!fields.bestaetigt`, pickup, true},
		{`fields.bestaetigt == true && fields.stumm == false`, base, true},
		{`int(fields.bewertung) >= 4`, base, true},
		{`fields.bewertung in ["1", "2"]`, base, false},
		{`fields.notiz == ""`, base, true},
		{`size(fields.notiz) == 0`, base, true},
		{`fields.telefon.startsWith("+49")`, base, true},
		{`"AHK" in fields.ausstattung`, base, true},
		{`"AHK" in fields.ausstattung`, pickup, false},
		{`size(fields.ausstattung) > 1`, base, true},
		{`fields.ausstattung.exists(x, x == "Navi")`, base, true},
		{`fields.ausstattung.all(x, x.size() >= 3)`, base, true},
		{`has(fields.lieferart)`, base, true},
		{`has(fields.gibt_es_nicht)`, base, false},
		{`"lieferart" in fields`, base, true},
		// Job.
		{`job.status == "open"`, base, true},
		{`job.status == "open"`, sold, false},
		{`job.status in ["sold", "closed"]`, sold, true},
		{`job.phase == "offerte"`, base, true},
		{`job.phase == "versand"`, web, true},
		{`job.source == "mobile.de"`, base, true},
		{`job.source == "website"`, web, true},
		{`job.source.contains(".de")`, web, false},
		// Customer.
		{`customer.logged_in`, base, true},
		{`customer.logged_in`, anonymous, false},
		{`!customer.logged_in`, anonymous, true},
		// Side.
		{`side == "customer"`, base, true},
		{`side == "staff"`, staff, true},
		{`side == "staff"`, base, false},
		// Combined.
		{`side == "staff" || (customer.logged_in && fields.lieferart == "lieferung")`, base, true},
		{`side == "staff" || (customer.logged_in && fields.lieferart == "lieferung")`, anonymous, false},
		{`side == "staff" || (customer.logged_in && fields.lieferart == "lieferung")`, staff, true},
		{"job.status == \"open\" &&\n  side == \"customer\"", base, true},
		// Timestamps from fixed text need no clock and are allowed.
		{`timestamp("2024-05-01T10:00:00Z") < timestamp("2024-06-01T10:00:00Z")`, base, true},
		{`timestamp("2024-05-01T10:00:00Z").getFullYear() == 2024`, base, true},
		{`timestamp("2024-05-01T23:30:00Z").getHours() == 23`, base, true},
		{`timestamp("2024-05-01T23:30:00Z") + duration("1h") > timestamp("2024-05-02T00:00:00Z")`, base, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			c, err := Compile(tt.src)
			require.NoError(t, err)
			require.Equal(t, tt.src, c.String())
			got, err := c.Eval(tt.subj)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestZeroConditionIsTrue(t *testing.T) {
	var c Condition
	got, err := c.Eval(Subject{})
	require.NoError(t, err)
	require.True(t, got)
	require.Equal(t, "", c.String())
}

func TestConditionCompileErrors(t *testing.T) {
	tests := []struct {
		src          string
		line, column int
		reason       string
	}{
		// Not a bool: refused when compiling, not when a job runs into it.
		{src: `1 + 1`, reason: "yields int, want bool"},
		{src: `"ja"`, reason: "yields string, want bool"},
		{src: `job`, reason: "yields map(string, dyn), want bool"},
		{src: `side`, reason: "yields string, want bool"},
		{src: `[true]`, reason: "yields list(bool), want bool"},
		{src: `size(fields)`, reason: "yields int, want bool"},
		// Syntax and references, with their position.
		{src: `fields.lieferart ==`, line: 1, column: 20, reason: "Syntax error: mismatched input '<EOF>'"},
		{src: `fields.lieferart = "ja"`, line: 1, column: 18, reason: "Syntax error: token recognition error at: '= '"},
		{src: `felder.lieferart == "ja"`, line: 1, column: 1, reason: "undeclared reference to 'felder'"},
		{src: "side == \"staff\" ||\n  kunde.eingeloggt", line: 2, column: 3, reason: "undeclared reference to 'kunde'"},
		{src: `side == 1`, line: 1, column: 6, reason: "found no matching overload for '_==_' applied to '(string, int)'"},
		{src: `side.gross()`, line: 1, column: 11, reason: "undeclared reference to 'gross'"},
		// No clock: there is no now, neither as a variable nor as a function.
		{src: `now > timestamp("2024-01-01T00:00:00Z")`, line: 1, column: 1, reason: "undeclared reference to 'now'"},
		{src: `now() > timestamp("2024-01-01T00:00:00Z")`, line: 1, column: 4, reason: "undeclared reference to 'now'"},
		{src: `time.now() > timestamp("2024-01-01T00:00:00Z")`, line: 1, column: 1, reason: "undeclared reference to 'time'"},
		{src: `request.time > timestamp("2024-01-01T00:00:00Z")`, line: 1, column: 1, reason: "undeclared reference to 'request'"},
		// No randomness either.
		{src: `rand() > 0.5`, line: 1, column: 5, reason: "undeclared reference to 'rand'"},
		// Only the standard library: no extension libraries (strings, math, ...).
		{src: `["a"].join(",") == "a"`, line: 1, column: 11, reason: "undeclared reference to 'join'"},
		{src: `side.lowerAscii() == "staff"`, line: 1, column: 16, reason: "undeclared reference to 'lowerAscii'"},
		{src: `math.greatest(1, 2) == 2`, line: 1, column: 1, reason: "undeclared reference to 'math'"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			c, err := Compile(tt.src)
			require.Error(t, err)
			require.Equal(t, Condition{}, c)
			var ce *CompileError
			require.True(t, errors.As(err, &ce), "%T", err)
			require.Equal(t, tt.line, ce.Line, "line")
			require.Equal(t, tt.column, ce.Column, "column")
			require.Contains(t, ce.Reason, tt.reason)
			if tt.line > 0 {
				require.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("condition does not compile at %d:%d: ", tt.line, tt.column)), err.Error())
			} else {
				require.Equal(t, "condition does not compile: "+tt.reason, err.Error())
			}
		})
	}
}

// A dynamic expression can compile and yield a non-bool at run time; Eval refuses it.
func TestConditionEvalNotBool(t *testing.T) {
	for _, src := range []string{`fields.lieferart`, `job.status`, `fields.ausstattung`, `fields["bewertung"]`} {
		t.Run(src, func(t *testing.T) {
			c, err := Compile(src)
			require.NoError(t, err)
			got, err := c.Eval(subject())
			require.ErrorIs(t, err, ErrNotBool)
			require.False(t, got)
			require.Contains(t, err.Error(), fmt.Sprintf("evaluate %q", src))
		})
	}
}

func TestConditionEvalErrors(t *testing.T) {
	tests := []struct {
		src  string
		subj Subject
		want string
	}{
		{`fields.gibt_es_nicht == "x"`, subject(), "no such key: gibt_es_nicht"},
		{`fields.lieferart == "x"`, Subject{}, "no such key: lieferart"},
		{`int(fields.lieferart) > 1`, subject(), "type conversion error from 'string' to 'int'"},
		{`fields.bestaetigt && fields.lieferart`, subject(), "no such overload"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			c, err := Compile(tt.src)
			require.NoError(t, err)
			got, err := c.Eval(tt.subj)
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, fmt.Sprintf("evaluate %q", tt.src))
			require.False(t, got)
		})
	}
}

// Evaluation uses no clock and no randomness: the same condition and subject give the
// same answer every time, whether compiled once or afresh, in any order.
func TestConditionEvalIsDeterministic(t *testing.T) {
	srcs := []string{
		`fields.lieferart == "lieferung" && customer.logged_in`,
		`fields.ausstattung.exists(x, x == "Navi") || side == "staff"`,
		`fields.ausstattung.map(x, x + "!").size() == 2`,
		`timestamp("2024-05-01T10:00:00Z").getDayOfWeek() == 3`,
		`timestamp("2024-05-01T23:30:00Z").getHours("Europe/Berlin") == 1`,
		`{"a": 1, "b": 2, "c": 3}.all(k, k != job.phase)`,
		`fields.lieferart + "," + job.status + "," + side == "lieferung,open,customer"`,
	}
	s := subject()
	for _, src := range srcs {
		t.Run(src, func(t *testing.T) {
			c, err := Compile(src)
			require.NoError(t, err)
			first, err := c.Eval(s)
			require.NoError(t, err)
			require.True(t, first)
			for range 500 {
				got, err := c.Eval(s)
				require.NoError(t, err)
				require.Equal(t, first, got)
			}
			for range 20 {
				fresh, err := Compile(src)
				require.NoError(t, err)
				got, err := fresh.Eval(s)
				require.NoError(t, err)
				require.Equal(t, first, got)
			}
		})
	}
}

func TestConditionCostLimit(t *testing.T) {
	big := make([]any, 1000)
	for i := range big {
		big[i] = fmt.Sprintf("extra_%d", i)
	}
	s := subject()
	s.Fields["liste"] = big
	tests := []string{
		// A million comparisons.
		`fields.liste.all(x, fields.liste.all(y, x != y || x == y))`,
		// A billion, if nothing stopped it.
		`fields.liste.all(x, fields.liste.all(y, fields.liste.all(z, x != y || y != z || true)))`,
		// Building large intermediate lists.
		`fields.liste.map(x, fields.liste.map(y, x + y)).size() > 0`,
		// String work over every pair.
		`fields.liste.all(x, fields.liste.filter(y, y.contains(x)).size() >= 1)`,
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			c, err := Compile(src)
			require.NoError(t, err)
			start := time.Now()
			got, err := c.Eval(s)
			require.ErrorContains(t, err, "cost limit exceeded")
			require.False(t, got)
			require.Less(t, time.Since(start), 5*time.Second, "stopped early, not after running to the end")
		})
	}

	// The same expression over a small list stays within the limit.
	small := subject()
	small.Fields["liste"] = big[:10]
	c, err := Compile(tests[0])
	require.NoError(t, err)
	got, err := c.Eval(small)
	require.NoError(t, err)
	require.True(t, got)
}

func TestConditionsCache(t *testing.T) {
	srcs := []string{
		"",
		`fields.lieferart == "lieferung"`,
		`customer.logged_in && side == "customer"`,
		`job.status == "open"`,
		`"AHK" in fields.ausstattung`,
		`fields.bestaetigt`,
	}
	subjects := []Subject{subject(), {Fields: map[string]any{"lieferart": "abholung", "ausstattung": []any{}, "bestaetigt": false}, Side: "staff", Status: "sold"}}
	var cs Conditions
	for _, src := range srcs {
		fresh, err := Compile(src)
		require.NoError(t, err)
		cached, err := cs.Get(src)
		require.NoError(t, err)
		again, err := cs.Get(src)
		require.NoError(t, err)
		require.Equal(t, src, cached.String())
		require.True(t, cached.prog == again.prog, "the second Get returns the cached program")
		for _, s := range subjects {
			want, wantErr := fresh.Eval(s)
			got, err := cached.Eval(s)
			require.Equal(t, wantErr, err, src)
			require.Equal(t, want, got, src)
			viaCache, err := cs.Eval(src, s)
			require.Equal(t, wantErr, err, src)
			require.Equal(t, want, viaCache, src)
		}
	}

	// Errors are the same as a fresh compile's and are not cached as conditions.
	for _, src := range []string{`1 + 1`, `felder.x == 1`} {
		_, want := Compile(src)
		_, got := cs.Get(src)
		require.Equal(t, want, got)
		_, got = cs.Get(src)
		require.Equal(t, want, got)
		ok, err := cs.Eval(src, subject())
		require.Equal(t, want, err)
		require.False(t, ok)
	}
	_, cachedBad := cs.progs[`1 + 1`]
	require.False(t, cachedBad)
}

func TestConditionsCacheConcurrent(t *testing.T) {
	var cs Conditions
	srcs := []string{`fields.lieferart == "lieferung"`, `side == "staff"`, `customer.logged_in`, `job.status == "sold"`}
	want := make([]bool, len(srcs))
	for i, src := range srcs {
		c, err := Compile(src)
		require.NoError(t, err)
		want[i], err = c.Eval(subject())
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 100 {
				i := (g + n) % len(srcs)
				got, err := cs.Eval(srcs[i], subject())
				if err != nil {
					errs <- err
					return
				}
				if got != want[i] {
					errs <- fmt.Errorf("%s: got %v, want %v", srcs[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, cs.progs, len(srcs))
}
