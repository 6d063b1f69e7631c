package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/i18n"
	"github.com/jobmanager/jobmanager/job"
)

// catalogUse is a message ID the code names, where, and the params it gives.
type catalogUse struct {
	section string
	id      string
	params  []string
	// checkParams is false where the params are not all visible at the call.
	checkParams bool
	pos         string
}

// catalogCall is a function whose arguments name a catalog message: the index of the
// ID, and of the first name, value pair (-1: none at the call).
type catalogCall struct {
	section   string
	idArg     int
	paramsArg int
}

// catalogSources are, by directory, the calls and the composite literal fields
// (type.field) that name catalog messages.
var catalogSources = map[string]struct {
	calls  map[string]catalogCall
	fields map[string]string
}{
	".": {
		calls: map[string]catalogCall{
			"problem":       {sectionDetail, 2, -1}, // params come from a chained with
			"field":         {sectionReason, 1, 2},
			"NewFieldError": {sectionReason, 1, 3},
		},
		fields: map[string]string{"FieldError.Code": sectionReason},
	},
	"../workflows": {
		calls: map[string]catalogCall{
			"reject":        {sectionDetail, 1, 3},
			"NewFieldError": {sectionReason, 1, 3},
		},
		fields: map[string]string{"FieldError.Code": sectionReason, "Rejection.MessageCode": sectionDetail},
	},
	"../job": {
		calls: map[string]catalogCall{"NewFieldError": {sectionReason, 1, 3}},
	},
	"../definitions": {
		calls: map[string]catalogCall{"valueError": {sectionReason, 0, 2}},
	},
	"../auth": {
		fields: map[string]string{"Error.Code": sectionDetail},
	},
}

// TestMessageCatalog fails when a message lacks a language, when the languages name
// different values, or when the code names a message the catalog lacks or gives it
// fewer values than its text names. It reads the code that makes problems: this
// package, the workflow engine and the definitions' value checks.
func TestMessageCatalog(t *testing.T) {
	require.NoError(t, messagesErr)
	for _, problem := range messages.Check() {
		t.Error(problem)
	}
	base := i18n.Default
	// Every problem type has a title.
	for _, typ := range []string{ProblemBadRequest, ProblemNoMethod, ProblemUnauthorized, ProblemForbidden, ProblemNotFound,
		ProblemConflict, ProblemJobEnded, ProblemInvalid, ProblemTooLarge, ProblemUnavailable, ProblemInternal} {
		if _, ok := messages[base][sectionTitle][strings.TrimPrefix(typ, problemURN)]; !ok {
			t.Errorf("problem type %s has no [title] in %s.toml", typ, base)
		}
	}

	// Every message the code names is there, with the values its text names.
	uses := catalogUses(t)
	require.NotEmpty(t, uses)
	uses = append(uses, catalogUse{section: sectionReason, id: job.ReasonInvalidValue, params: []string{"error"}, checkParams: true, pos: "job.ValueFieldError"})
	for _, u := range uses {
		for _, tag := range i18n.Languages {
			lang := tag.String()
			text, ok := messages[lang][u.section][u.id]
			if !ok {
				t.Errorf("%s: [%s] %q is not in locales/%s.toml; add it to every language (an ID, not a sentence: the catalog words it)", u.pos, u.section, u.id, lang)
				continue
			}
			if !u.checkParams {
				continue
			}
			for _, name := range i18n.Placeholders(text) {
				if !slices.Contains(u.params, name) {
					t.Errorf("%s: [%s] %s in %s.toml names {%s}, which the call does not give (it gives %v)", u.pos, u.section, u.id, lang, name, u.params)
				}
			}
		}
	}
}

// catalogUses finds the catalog messages the Go code (not tests) names. A message
// named by a variable is passed on from elsewhere (a rejection's code, an auth
// error's code) and checked where it is written; one named by a call or an expression
// (fmt.Sprintf, concatenation) is an error: the catalog words messages, the code only
// names them.
func catalogUses(t *testing.T) []catalogUse {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string][]*ast.File{}
	consts := map[string]string{}
	for dir := range catalogSources {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			require.NoError(t, err)
			files[dir] = append(files[dir], f)
			// String constants, so a code may be a named constant as well as a literal.
			ast.Inspect(f, func(n ast.Node) bool {
				spec, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range spec.Names {
					if i < len(spec.Values) {
						if s, ok := stringValue(spec.Values[i], nil); ok {
							consts[name.Name] = s
						}
					}
				}
				return true
			})
		}
	}

	var uses []catalogUse
	for dir, src := range catalogSources {
		calls := forwarders(files[dir], src.calls)
		for _, f := range files[dir] {
			// Calls of with chained on problem(...) give the detail's params.
			withParams := map[*ast.CallExpr][]string{}
			ast.Inspect(f, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "with" {
						if inner, ok := sel.X.(*ast.CallExpr); ok {
							withParams[inner] = paramNames(call.Args, consts)
						}
					}
				}
				return true
			})
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if u, ok := callUse(t, fset, n, calls, consts, withParams); ok {
						uses = append(uses, u)
					}
				case *ast.CompositeLit:
					uses = append(uses, literalUses(t, fset, n, src.fields, consts)...)
				}
				return true
			})
		}
	}
	return uses
}

// forwarders adds to calls the functions that pass an ID they take on to one of calls
// (such as a helper bad(field, code, reason) that makes a field error), so the IDs
// their callers give are checked too.
func forwarders(files []*ast.File, calls map[string]catalogCall) map[string]catalogCall {
	out := maps.Clone(calls)
	type fn struct {
		name   string
		params []string
		body   *ast.BlockStmt
	}
	var fns []fn
	paramList := func(ft *ast.FuncType) []string {
		var names []string
		for _, f := range ft.Params.List {
			for _, n := range f.Names {
				names = append(names, n.Name)
			}
		}
		return names
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Body != nil {
					fns = append(fns, fn{n.Name.Name, paramList(n.Type), n.Body})
				}
			case *ast.AssignStmt:
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
					name, isIdent := n.Lhs[0].(*ast.Ident)
					lit, isFunc := n.Rhs[0].(*ast.FuncLit)
					if isIdent && isFunc {
						fns = append(fns, fn{name.Name, paramList(lit.Type), lit.Body})
					}
				}
			}
			return true
		})
	}
	for changed := true; changed; {
		changed = false
		for _, f := range fns {
			if _, known := out[f.name]; known {
				continue
			}
			ast.Inspect(f.body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				how, ok := out[calleeName(call)]
				if !ok || len(call.Args) <= how.idArg {
					return true
				}
				id, ok := call.Args[how.idArg].(*ast.Ident)
				if !ok {
					return true
				}
				idArg := slices.Index(f.params, id.Name)
				if idArg < 0 {
					return true
				}
				paramsArg := -1
				if how.paramsArg >= 0 && len(call.Args) > how.paramsArg && call.Ellipsis.IsValid() {
					if kv, ok := call.Args[how.paramsArg].(*ast.Ident); ok {
						paramsArg = slices.Index(f.params, kv.Name)
					}
				}
				out[f.name] = catalogCall{section: how.section, idArg: idArg, paramsArg: paramsArg}
				changed = true
				return false
			})
		}
	}
	return out
}

func calleeName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	}
	return ""
}

func callUse(t *testing.T, fset *token.FileSet, call *ast.CallExpr, calls map[string]catalogCall, consts map[string]string, withParams map[*ast.CallExpr][]string) (catalogUse, bool) {
	name := calleeName(call)
	how, ok := calls[name]
	if !ok || len(call.Args) <= how.idArg {
		return catalogUse{}, false
	}
	pos := fset.Position(call.Pos()).String()
	id, ok := messageID(t, pos, name, call.Args[how.idArg], consts)
	if !ok {
		return catalogUse{}, false
	}
	u := catalogUse{section: how.section, id: id, pos: pos, checkParams: true}
	switch {
	case how.paramsArg >= 0 && len(call.Args) > how.paramsArg:
		u.params = paramNames(call.Args[how.paramsArg:], consts)
		u.checkParams = !call.Ellipsis.IsValid()
	case how.paramsArg < 0:
		u.params = withParams[call]
	}
	return u, true
}

func literalUses(t *testing.T, fset *token.FileSet, lit *ast.CompositeLit, fields map[string]string, consts map[string]string) []catalogUse {
	typ := ""
	switch x := lit.Type.(type) {
	case *ast.Ident:
		typ = x.Name
	case *ast.SelectorExpr:
		typ = x.Sel.Name
	}
	var out []catalogUse
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok {
			continue
		}
		section, ok := fields[typ+"."+key.Name]
		if !ok {
			continue
		}
		pos := fset.Position(kv.Pos()).String()
		if id, ok := messageID(t, pos, typ+"."+key.Name, kv.Value, consts); ok {
			// Params of a literal are not checked: they may be set apart from it.
			out = append(out, catalogUse{section: section, id: id, pos: pos})
		}
	}
	return out
}

// messageID is the ID an argument names; false for a variable passed on, and an error
// for anything else that is not a constant.
func messageID(t *testing.T, pos, what string, e ast.Expr, consts map[string]string) (string, bool) {
	if id, ok := stringValue(e, consts); ok {
		return id, true
	}
	switch e.(type) {
	case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr:
		return "", false
	}
	t.Errorf("%s: %s names its message by %s; name it by a string literal or constant (the catalog words it)", pos, what, types(e))
	return "", false
}

// paramNames are the names of name, value pairs.
func paramNames(args []ast.Expr, consts map[string]string) []string {
	var out []string
	for i := 0; i < len(args); i += 2 {
		if s, ok := stringValue(args[i], consts); ok {
			out = append(out, s)
		}
	}
	return out
}

// stringValue is the value of a string literal or of a known string constant.
func stringValue(e ast.Expr, consts map[string]string) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind == token.STRING {
			s, err := strconv.Unquote(v.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[v.Name]
		return s, ok
	case *ast.SelectorExpr:
		s, ok := consts[v.Sel.Name]
		return s, ok
	}
	return "", false
}

func types(e ast.Expr) string {
	switch e.(type) {
	case *ast.CallExpr:
		return "a call"
	case *ast.BinaryExpr:
		return "an expression"
	}
	return "a variable"
}
