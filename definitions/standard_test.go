package definitions

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/placeholders"
)

func TestStandardWorkflowsResolveAndValidate(t *testing.T) {
	c := standardCatalog(t)
	require.ElementsMatch(t, []string{StandardMaster, StandardBasic}, workflowKeys(c))
	require.Nil(t, ValidateCatalog(c, c))
	for _, key := range []string{StandardMaster, StandardBasic} {
		t.Run(key, func(t *testing.T) {
			d, err := c.Resolve(key)
			require.NoError(t, err)
			require.Nil(t, d.Validate())

			sd, err := StandardDefinition(key)
			require.NoError(t, err)
			require.Equal(t, d, sd)
			require.True(t, sd.Workflow.System)

			v, err := Publish(1, sd)
			require.NoError(t, err)
			require.Regexp(t, hexHash, v.Hash)
		})
	}
	_, err := StandardDefinition("standard_gibt_es_nicht")
	ps, ok := AsProblems(err)
	require.True(t, ok)
	require.Equal(t, Problems{problem("workflow", `unknown workflow "standard_gibt_es_nicht"`)}, ps)
}

func workflowKeys(c Catalog) []string {
	var keys []string
	for _, w := range c.Workflows {
		keys = append(keys, w.Key)
	}
	return keys
}

func TestStandardIsSystemAndStable(t *testing.T) {
	c := standardCatalog(t)
	for _, f := range c.Fields {
		require.True(t, f.System, f.Key)
	}
	for _, p := range c.Phases {
		require.True(t, p.System, p.Key)
	}
	for _, w := range c.Workflows {
		require.True(t, w.System, w.Key)
	}
	for _, m := range c.Messages {
		require.True(t, m.System, m.Key)
	}
	again := standardCatalog(t)
	require.Equal(t, c, again)

	// Changing a returned catalog does not change the next one.
	c.Fields[0].Label = "geändert"
	c.Workflows[0].Phases[0] = "geändert"
	require.Equal(t, again, standardCatalog(t))
}

// Nothing in the standard catalog is dead data: every field, phase, message and
// document template is used.
func TestStandardCatalogHasNoUnusedParts(t *testing.T) {
	c := standardCatalog(t)
	usedPhases := map[string]bool{}
	for _, w := range c.Workflows {
		for _, p := range w.Phases {
			usedPhases[p] = true
		}
	}
	usedFields := map[string]bool{}
	usedMessages := map[string]bool{}
	for _, p := range c.Phases {
		require.True(t, usedPhases[p.Key], "phase %q is in no standard workflow", p.Key)
		for _, u := range append(append([]FieldUse{}, p.StaffFields...), p.CustomerFields...) {
			usedFields[u.Field] = true
		}
		for _, m := range p.Messages {
			usedMessages[m] = true
		}
	}
	usedDocuments := map[string]bool{}
	for _, f := range c.Fields {
		require.True(t, usedFields[f.Key], "field %q is used by no standard phase", f.Key)
		for _, d := range f.Templates {
			usedDocuments[d] = true
		}
	}
	for _, m := range c.Messages {
		require.True(t, usedMessages[m.Key], "message %q is sent by no standard phase", m.Key)
	}
	for _, d := range c.Documents {
		require.True(t, usedDocuments[d], "document template %q is offered by no standard field", d)
	}
}

// englishWords are words that give away an untranslated label.
var englishWords = map[string]bool{
	"the": true, "and": true, "your": true, "you": true, "please": true, "thank": true,
	"thanks": true, "save": true, "send": true, "submit": true, "offer": true, "order": true,
	"payment": true, "pay": true, "paid": true, "delivery": true, "pickup": true, "request": true,
	"note": true, "customer": true, "message": true, "rating": true, "comment": true,
	"invoice": true, "contract": true, "upload": true, "document": true, "location": true,
	"date": true, "yes": true, "no": true, "here": true, "for": true, "with": true, "is": true,
	"are": true, "our": true, "we": true, "will": true, "handover": true, "call": true,
	"phone": true, "number": true, "accept": true, "confirm": true, "options": true,
}

// transliterated catches umlauts written out, as in the keys (rueckruf, uebergabe):
// what people read uses ä, ö, ü and ß.
var transliterated = regexp.MustCompile(`(?i)\b(fuer|ueber\w*|\w*rueck\w*|moecht\w*|koenn\w*|persoenlich\w*|\w*bestaetig\w*|gruess\w*|schoen\w*|waehl\w*|zurueck\w*|bewaehr\w*|aender\w*|\w*strasse)\b`)

var letters = regexp.MustCompile(`\p{L}+`)

// texts lists every text of the standard catalog a dealer or customer reads, by where
// it is.
func texts(c Catalog) map[string]string {
	out := map[string]string{}
	for i, f := range c.Fields {
		out[fmt.Sprintf("fields[%d](%s).label", i, f.Key)] = f.Label
		if f.Type == TypeStaticText {
			out[fmt.Sprintf("fields[%d](%s).text", i, f.Key)] = f.Text
		}
		for j, o := range f.Options {
			out[fmt.Sprintf("fields[%d](%s).options[%d].label", i, f.Key, j)] = o.Label
		}
	}
	for i, p := range c.Phases {
		out[fmt.Sprintf("phases[%d](%s).name", i, p.Key)] = p.Name
		for j, u := range p.StaffFields {
			if u.Label != "" {
				out[fmt.Sprintf("phases[%d](%s).staff_fields[%d].label", i, p.Key, j)] = u.Label
			}
		}
		for j, u := range p.CustomerFields {
			if u.Label != "" {
				out[fmt.Sprintf("phases[%d](%s).customer_fields[%d].label", i, p.Key, j)] = u.Label
			}
		}
	}
	for i, w := range c.Workflows {
		out[fmt.Sprintf("workflows[%d](%s).name", i, w.Key)] = w.Name
	}
	for i, m := range c.Messages {
		if m.Channel == ChannelEmail {
			out[fmt.Sprintf("messages[%d](%s).subject", i, m.Key)] = m.Subject
		}
		out[fmt.Sprintf("messages[%d](%s).body", i, m.Key)] = m.Body
	}
	return out
}

func TestStandardTextsAreGerman(t *testing.T) {
	c := standardCatalog(t)
	all := texts(c)
	require.NotEmpty(t, all)
	umlauts := 0
	for where, text := range all {
		t.Run(where, func(t *testing.T) {
			trimmed := strings.TrimSpace(text)
			require.NotEmpty(t, trimmed, "empty text")
			first := []rune(trimmed)[0]
			require.True(t, unicode.IsUpper(first), "%q does not start with a capital letter", trimmed)
			// Placeholders such as {kunde} are keys, not text.
			plain := regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(trimmed, "")
			for _, w := range letters.FindAllString(plain, -1) {
				require.False(t, englishWords[strings.ToLower(w)], "%q has the English word %q", trimmed, w)
			}
			require.False(t, transliterated.MatchString(plain), "%q writes an umlaut out: %q", trimmed, transliterated.FindString(plain))
			require.NotContains(t, plain, "_", "%q looks like a key", trimmed)
			if strings.ContainsAny(plain, "äöüÄÖÜß") {
				umlauts++
			}
		})
	}
	require.Greater(t, umlauts, 5, "German texts with umlauts")
}

// The placeholders in message templates are the ones the messages activity fills.
func TestStandardMessagePlaceholders(t *testing.T) {
	known := []string{"kunde", "fahrzeug", "phase", "jobnummer", "parkplatz_link", "zahlungs_link", "verkaeufer"}
	placeholder := regexp.MustCompile(`\{([^{}]*)\}`)
	for _, m := range standardCatalog(t).Messages {
		for _, text := range []string{m.Subject, m.Body} {
			for _, match := range placeholder.FindAllStringSubmatch(text, -1) {
				require.Contains(t, known, match[1], "message %q", m.Key)
			}
		}
	}
}

// Every standard customer message has an English text, using only placeholders the
// messages activity fills (German names or their English aliases).
func TestStandardMessagesHaveEnglish(t *testing.T) {
	placeholder := regexp.MustCompile(`\{([^{}]*)\}`)
	for _, m := range standardCatalog(t).Messages {
		en, ok := m.Translations["en"]
		require.True(t, ok || !m.Customer, "message %q has no English text", m.Key)
		require.NotEqual(t, m.Body, en.Body, "message %q", m.Key)
		for _, text := range []string{en.Subject, en.Body} {
			for _, match := range placeholder.FindAllStringSubmatch(text, -1) {
				_, known := placeholders.Canonical(match[1])
				require.True(t, known, "message %q: unknown placeholder {%s}", m.Key, match[1])
			}
		}
	}
}

func TestStandardMasterJourney(t *testing.T) {
	d, err := StandardDefinition(StandardMaster)
	require.NoError(t, err)
	require.Equal(t, "standard_master", StandardMaster)
	require.False(t, d.Workflow.NoCustomerEmails)
	require.Equal(t, []string{"anfrage", "angebot", "auftrag", "zahlung", "lieferung", "abholung", "feedback"}, d.Workflow.Phases)
	keys := make([]string, len(d.Phases))
	for i, p := range d.Phases {
		keys[i] = p.Key
	}
	require.Equal(t, d.Workflow.Phases, keys)

	lieferung := d.Phases[d.PhaseIndex("lieferung")]
	require.NotEmpty(t, lieferung.Condition, "delivery happens only when chosen")
	require.Equal(t, "feedback", lieferung.FollowUp, "after delivery comes feedback, not pick-up")
	abholung := d.Phases[d.PhaseIndex("abholung")]
	require.NotEmpty(t, abholung.Condition, "pick-up happens only without delivery")
	for _, p := range d.Phases {
		if p.Key != "lieferung" && p.Key != "abholung" {
			require.Empty(t, p.Condition, "phase %q always applies", p.Key)
		}
		if p.Key != "lieferung" {
			require.Empty(t, p.FollowUp, "phase %q goes on in order", p.Key)
		}
	}

	// The customer chooses the way in the offer.
	angebot := d.Phases[d.PhaseIndex("angebot")]
	require.True(t, slices.ContainsFunc(angebot.CustomerFields, func(u FieldUse) bool { return u.Field == "lieferart" && u.Required }))

	tests := []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{
			name:   "delivery",
			values: map[string]any{"lieferart": "lieferung"},
			want:   []string{"anfrage", "angebot", "auftrag", "zahlung", "lieferung", "feedback"},
		},
		{
			name:   "pick-up",
			values: map[string]any{"lieferart": "abholung"},
			want:   []string{"anfrage", "angebot", "auftrag", "zahlung", "abholung", "feedback"},
		},
		{
			name: "nothing chosen yet means pick-up",
			want: []string{"anfrage", "angebot", "auftrag", "zahlung", "abholung", "feedback"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, journey(t, d, tt.values))
		})
	}
}

// journey walks a definition as documented on Phase: the follow-up if a phase has one,
// else the next in order, skipping phases whose condition is false.
func journey(t *testing.T, d Definition, values map[string]any) []string {
	t.Helper()
	fields := map[string]any{}
	for _, f := range d.Fields {
		if f.Type.HoldsValue() {
			fields[f.Key] = f.Zero()
		}
	}
	for k, v := range values {
		fields[k] = v
	}
	var path []string
	next := 0
	for next < len(d.Phases) && len(path) <= len(d.Phases) {
		p := d.Phases[next]
		c, err := Compile(p.Condition)
		require.NoError(t, err)
		ok, err := c.Eval(Subject{Fields: fields, Status: "open", Phase: p.Key, Side: "staff"})
		require.NoError(t, err)
		if !ok {
			next++
			continue
		}
		path = append(path, p.Key)
		if p.FollowUp != "" {
			next = d.PhaseIndex(p.FollowUp)
			continue
		}
		next++
	}
	return path
}

func TestStandardBasic(t *testing.T) {
	d, err := StandardDefinition(StandardBasic)
	require.NoError(t, err)
	require.Equal(t, "standard_basic", StandardBasic)
	require.True(t, d.Workflow.NoCustomerEmails)
	require.Equal(t, []string{"anfrage", "angebot", "auftrag", "zahlung", "uebergabe"}, d.Workflow.Phases)
	for _, values := range []map[string]any{nil, {"lieferart": "lieferung"}, {"lieferart": "abholung"}} {
		require.Equal(t, d.Workflow.Phases, journey(t, d, values))
	}
	// The master and basic share the phases they have in common, unchanged.
	m, err := StandardDefinition(StandardMaster)
	require.NoError(t, err)
	for _, p := range d.Phases {
		if i := m.PhaseIndex(p.Key); i >= 0 {
			require.Equal(t, m.Phases[i], p)
		}
	}
}

// Every field a standard phase shows to the customer may be shown to customers, and
// every condition of the standard evaluates on a fresh job, for both sides.
func TestStandardConditionsEvaluateOnFreshJob(t *testing.T) {
	for _, key := range []string{StandardMaster, StandardBasic} {
		d, err := StandardDefinition(key)
		require.NoError(t, err)
		fields := map[string]any{}
		for _, f := range d.Fields {
			if f.Type.HoldsValue() {
				fields[f.Key] = f.Zero()
			}
		}
		var srcs []string
		for _, f := range d.Fields {
			srcs = append(srcs, f.Condition)
		}
		for _, p := range d.Phases {
			srcs = append(srcs, p.Condition)
			for _, u := range append(append([]FieldUse{}, p.StaffFields...), p.CustomerFields...) {
				srcs = append(srcs, u.Condition)
			}
		}
		for _, src := range srcs {
			for _, side := range []string{"staff", "customer"} {
				c, err := Compile(src)
				require.NoError(t, err)
				_, err = c.Eval(Subject{Fields: fields, Status: "open", Side: side})
				require.NoError(t, err, "%s: %q", key, src)
			}
		}
	}
}

// --- No standard phase key in Go code ---

// repoRoot is the directory of the module's go.mod, found upwards from the test.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, fs.ErrNotExist) {
			require.NoError(t, err)
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test")
		dir = parent
	}
}

var keyToken = regexp.MustCompile(`[A-Za-z0-9_]+`)

// TestNoStandardPhaseKeyInGoCode enforces that the standard workflows are data: no Go
// code outside tests names one of their phases in a string literal, whole ("angebot")
// or as a word of a larger literal (`phase = 'angebot'`). Comments do not count.
func TestNoStandardPhaseKeyInGoCode(t *testing.T) {
	c := standardCatalog(t)
	phaseKeys := map[string]bool{}
	for _, w := range c.Workflows {
		for _, p := range w.Phases {
			phaseKeys[p] = true
		}
	}
	require.NotEmpty(t, phaseKeys)

	root := repoRoot(t)
	var offenders []string
	files := 0
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		if e.IsDir() {
			// bin holds built tools; the go command ignores testdata and dirs starting
			// with . or _, so they hold no code of the module. bench is a test driver
			// that walks the standard journey on purpose, like a _test.go file.
			if path != root && (name == "bin" || name == "vendor" || name == "testdata" ||
				(name == "bench" && filepath.Dir(path) == root) ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				s = lit.Value
			}
			for _, w := range keyToken.FindAllString(s, -1) {
				if phaseKeys[w] {
					rel, _ := filepath.Rel(root, fset.Position(lit.Pos()).Filename)
					offenders = append(offenders, fmt.Sprintf("%s:%d: %s names phase %q",
						rel, fset.Position(lit.Pos()).Line, lit.Value, w))
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 5, "found the module's Go files under %s", root)
	require.Empty(t, offenders, "standard phase keys belong in definitions/standard/*.yaml, not in Go code:\n%s",
		strings.Join(offenders, "\n"))
}

// The scan itself finds literals and ignores comments.
func TestPhaseKeyScanSeesLiteralsNotComments(t *testing.T) {
	src := "package x\n\n// angebot is in a comment.\nvar a = \"angebot\"\nvar b = `phase = 'zahlung'`\nvar c = \"angebot_bereit\"\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.SkipObjectResolution)
	require.NoError(t, err)
	keys := map[string]bool{"angebot": true, "zahlung": true}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			for _, w := range keyToken.FindAllString(s, -1) {
				if keys[w] {
					found = append(found, fmt.Sprintf("%d:%s", fset.Position(lit.Pos()).Line, w))
				}
			}
		}
		return true
	})
	require.Equal(t, []string{"4:angebot", "5:zahlung"}, found)
}
