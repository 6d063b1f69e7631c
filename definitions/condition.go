package definitions

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// costLimit bounds the work one condition may do, so a dealer's expression can never
// stall a workflow task.
const costLimit = 10_000

// Subject is what a condition sees of a job. Every field of the definition is present in
// Fields (with its value, else its default, else the zero value of its type), so a
// condition never fails on a field that has not been filled in yet.
type Subject struct {
	Fields map[string]any
	// Status, Phase and Source of the job.
	Status, Phase, Source string
	// LoggedIn is true when the customer has an account and is logged in.
	LoggedIn bool
	// Side is the acting side: "staff" or "customer".
	Side string
}

func (s Subject) activation() map[string]any {
	fields := s.Fields
	if fields == nil {
		fields = map[string]any{}
	}
	return map[string]any{
		"fields":   fields,
		"job":      map[string]any{"status": s.Status, "phase": s.Phase, "source": s.Source},
		"customer": map[string]any{"logged_in": s.LoggedIn},
		"side":     s.Side,
	}
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.Variable("fields", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("job", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("customer", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("side", cel.StringType),
		)
	})
	return env, envErr
}

// Condition is a compiled CEL expression that yields a bool. The zero Condition (an
// empty expression) is always true.
type Condition struct {
	src  string
	prog cel.Program
}

// CompileError says why and where a condition does not compile.
type CompileError struct {
	// Line and Column are 1-based; zero when CEL gave no position.
	Line, Column int
	Reason       string
}

func (e *CompileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("condition does not compile at %d:%d: %s", e.Line, e.Column, e.Reason)
	}
	return "condition does not compile: " + e.Reason
}

// Compile checks a condition and prepares it for evaluation.
func Compile(src string) (Condition, error) {
	if src == "" {
		return Condition{}, nil
	}
	e, err := celEnv()
	if err != nil {
		return Condition{}, fmt.Errorf("condition environment: %w", err)
	}
	ast, iss := e.Compile(src)
	if iss != nil && iss.Err() != nil {
		ce := &CompileError{Reason: iss.Err().Error()}
		if errs := iss.Errors(); len(errs) > 0 {
			first := errs[0]
			ce.Reason = first.Message
			if loc := first.Location; loc != nil && loc.Line() > 0 {
				ce.Line, ce.Column = loc.Line(), loc.Column()+1
			}
		}
		return Condition{}, ce
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return Condition{}, &CompileError{Reason: fmt.Sprintf("yields %s, want bool", ast.OutputType())}
	}
	prog, err := e.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		return Condition{}, &CompileError{Reason: err.Error()}
	}
	return Condition{src: src, prog: prog}, nil
}

// String returns the source of the condition.
func (c Condition) String() string { return c.src }

// ErrNotBool is returned when a dynamic condition yields something other than a bool.
var ErrNotBool = errors.New("condition did not yield a bool")

// Eval evaluates the condition for the subject. It uses no clock and no randomness, so
// it is safe in workflow code.
func (c Condition) Eval(s Subject) (bool, error) {
	if c.prog == nil {
		return true, nil
	}
	out, _, err := c.prog.Eval(s.activation())
	if err != nil {
		return false, fmt.Errorf("evaluate %q: %w", c.src, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: %w", c.src, ErrNotBool)
	}
	return bool(b), nil
}

// Conditions caches compiled conditions by source. It is safe for concurrent use, so
// one cache can serve every workflow in a worker: compiling is deterministic, so a
// cached program behaves exactly like a fresh one on replay.
type Conditions struct {
	mu    sync.Mutex
	progs map[string]Condition
}

// Get compiles src once and returns the cached condition afterwards.
func (cs *Conditions) Get(src string) (Condition, error) {
	if src == "" {
		return Condition{}, nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.progs[src]; ok {
		return c, nil
	}
	c, err := Compile(src)
	if err != nil {
		return Condition{}, err
	}
	if cs.progs == nil {
		cs.progs = map[string]Condition{}
	}
	cs.progs[src] = c
	return c, nil
}

// Eval compiles (once) and evaluates src for the subject.
func (cs *Conditions) Eval(src string, s Subject) (bool, error) {
	c, err := cs.Get(src)
	if err != nil {
		return false, err
	}
	return c.Eval(s)
}
