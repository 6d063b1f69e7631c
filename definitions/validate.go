package definitions

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Problem is one thing wrong with a definition, at a path such as
// `phases[3].customer_fields[1].field`.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is every problem found; as an error it lists them all.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "; ")
}

// AsProblems extracts the problems from an error chain.
func AsProblems(err error) (Problems, bool) {
	var ps Problems
	if errors.As(err, &ps) {
		return ps, true
	}
	return nil, false
}

type checker struct {
	problems Problems
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) condition(path, src string) {
	if _, err := Compile(src); err != nil {
		c.add(path, "%v", err)
	}
}

// Validate checks that a definition is complete and consistent; it returns every
// problem it finds, or nil.
func (d *Definition) Validate() Problems {
	c := &checker{}
	if d.Workflow.Key == "" {
		c.add("workflow.key", "must not be empty")
	}
	if strings.TrimSpace(d.Workflow.Name) == "" {
		c.add("workflow.name", "must not be empty")
	}
	fields := map[string]Field{}
	for i, f := range d.Fields {
		c.field(fmt.Sprintf("fields[%d]", i), f, fields, d.Documents)
		fields[f.Key] = f
	}
	messages := map[string]bool{}
	for i, m := range d.Messages {
		c.message(fmt.Sprintf("messages[%d]", i), m, messages)
		messages[m.Key] = true
	}
	phases := map[string]bool{}
	for i, p := range d.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		if p.Key == "" {
			c.add(path+".key", "must not be empty")
		} else if phases[p.Key] {
			c.add(path+".key", "duplicate phase %q", p.Key)
		}
		phases[p.Key] = true
		if strings.TrimSpace(p.Name) == "" {
			c.add(path+".name", "must not be empty")
		}
		c.condition(path+".condition", p.Condition)
		if p.Turn != "" && p.Turn != TurnCustomer && p.Turn != TurnStaff {
			c.add(path+".turn", "%q is neither %q nor %q", p.Turn, TurnCustomer, TurnStaff)
		}
		c.uses(path+".staff_fields", p.StaffFields, fields, false)
		c.uses(path+".customer_fields", p.CustomerFields, fields, true)
		for j, m := range p.Messages {
			if !messages[m] {
				c.add(fmt.Sprintf("%s.messages[%d]", path, j), "unknown message template %q", m)
			}
		}
	}
	if len(d.Workflow.Phases) == 0 {
		c.add("workflow.phases", "must list at least one phase")
	}
	inWorkflow := map[string]bool{}
	for i, pk := range d.Workflow.Phases {
		if inWorkflow[pk] {
			c.add(fmt.Sprintf("workflow.phases[%d]", i), "phase %q listed twice", pk)
		}
		inWorkflow[pk] = true
		if !phases[pk] {
			c.add(fmt.Sprintf("workflow.phases[%d]", i), "unknown phase %q", pk)
		}
	}
	if len(d.Phases) == len(d.Workflow.Phases) {
		for i, p := range d.Phases {
			if d.Workflow.Phases[i] != p.Key {
				c.add(fmt.Sprintf("phases[%d]", i), "phase %q is out of workflow order (want %q)", p.Key, d.Workflow.Phases[i])
			}
		}
	} else {
		c.add("phases", "has %d phases, the workflow lists %d", len(d.Phases), len(d.Workflow.Phases))
	}
	c.followUps(d.Phases, inWorkflow)
	return c.problems
}

func (c *checker) field(path string, f Field, seen map[string]Field, documents []string) {
	if f.Key == "" {
		c.add(path+".key", "must not be empty")
	} else if _, dup := seen[f.Key]; dup {
		c.add(path+".key", "duplicate field %q", f.Key)
	} else if !validKey(f.Key) {
		c.add(path+".key", "%q may hold only a-z, 0-9 and _ and must start with a letter", f.Key)
	}
	if !f.Type.Known() {
		c.add(path+".type", "unknown field type %q", f.Type)
		return
	}
	if strings.TrimSpace(f.Label) == "" && f.Type != TypeStaticText {
		c.add(path+".label", "must not be empty")
	}
	switch f.Type {
	case TypeSelect:
		if len(f.Options) == 0 {
			c.add(path+".options", "a select needs at least one option")
		}
		values := map[string]bool{}
		for j, o := range f.Options {
			if o.Value == "" {
				c.add(fmt.Sprintf("%s.options[%d].value", path, j), "must not be empty")
			} else if values[o.Value] {
				c.add(fmt.Sprintf("%s.options[%d].value", path, j), "duplicate option %q", o.Value)
			}
			values[o.Value] = true
		}
	case TypeDocumentView, TypeDocumentStore:
		if len(f.Templates) == 0 {
			c.add(path+".templates", "a document field needs at least one document template")
		}
		for j, t := range f.Templates {
			if len(documents) > 0 && !slices.Contains(documents, t) {
				c.add(fmt.Sprintf("%s.templates[%d]", path, j), "unknown document template %q", t)
			}
		}
	}
	if len(f.Options) > 0 && f.Type != TypeSelect {
		c.add(path+".options", "only a select has options, not a %s", f.Type)
	}
	if len(f.Templates) > 0 && f.Type != TypeDocumentView && f.Type != TypeDocumentStore {
		c.add(path+".templates", "only a document field offers templates, not a %s", f.Type)
	}
	if len(f.Accept) > 0 && f.Type != TypeFileUpload {
		c.add(path+".accept", "only a file upload accepts content types, not a %s", f.Type)
	}
	for j, ct := range f.Accept {
		if typ, sub, ok := strings.Cut(ct, "/"); !ok || typ == "" || sub == "" || strings.ContainsAny(ct, " ;,") {
			c.add(fmt.Sprintf("%s.accept[%d]", path, j), "%q is not a content type like application/pdf", ct)
		}
	}
	if len(f.Extras) > 0 && f.Type != TypeVehicleConfig {
		c.add(path+".extras", "only a vehicle configuration restricts extras, not a %s", f.Type)
	}
	if f.Default != nil {
		if !f.Type.Input() {
			c.add(path+".default", "a %s field takes no default", f.Type)
		} else if _, err := f.Normalize(f.Default, defaultExtras(f)); err != nil {
			c.add(path+".default", "%v", err)
		}
	}
	c.condition(path+".condition", f.Condition)
}

// defaultExtras are the extras a field's default may name. The vehicle's extras are not
// known here: a restricted field allows its own extras, an unrestricted one any extra, so
// only the shape of its default is checked.
func defaultExtras(f Field) []string {
	if f.Type != TypeVehicleConfig || len(f.Extras) > 0 {
		return f.Extras
	}
	var named []string
	switch v := f.Default.(type) {
	case []string:
		named = v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				named = append(named, s)
			}
		}
	}
	return named
}

func (c *checker) uses(path string, uses []FieldUse, fields map[string]Field, customer bool) {
	seen := map[string]bool{}
	for j, u := range uses {
		p := fmt.Sprintf("%s[%d]", path, j)
		f, ok := fields[u.Field]
		switch {
		case u.Field == "":
			c.add(p+".field", "must not be empty")
			continue
		case !ok:
			c.add(p+".field", "unknown field %q", u.Field)
			continue
		case seen[u.Field]:
			c.add(p+".field", "field %q used twice in this view", u.Field)
		}
		seen[u.Field] = true
		if customer && f.Type.StaffOnly() {
			c.add(p+".field", "a %s field cannot be used in the customer view", f.Type)
		}
		// An unknown type is reported once, at the field.
		if u.Required && !f.Type.Input() && f.Type.Known() {
			c.add(p+".required", "a %s field cannot be required", f.Type)
		}
		if u.Required && u.ReadOnly {
			c.add(p+".required", "a read-only use cannot be required")
		}
		c.condition(p+".condition", u.Condition)
	}
}

func (c *checker) message(path string, m MessageTemplate, seen map[string]bool) {
	if m.Key == "" {
		c.add(path+".key", "must not be empty")
	} else if seen[m.Key] {
		c.add(path+".key", "duplicate message template %q", m.Key)
	}
	if m.Channel != ChannelEmail && m.Channel != ChannelSMS {
		c.add(path+".channel", "%q is neither %q nor %q", m.Channel, ChannelEmail, ChannelSMS)
	}
	if m.Channel == ChannelEmail && strings.TrimSpace(m.Subject) == "" {
		c.add(path+".subject", "an e-mail needs a subject")
	}
	if strings.TrimSpace(m.Body) == "" {
		c.add(path+".body", "must not be empty")
	}
	langs := make([]string, 0, len(m.Translations))
	for lang := range m.Translations {
		langs = append(langs, lang)
	}
	// Sorted, so the problems come in the same order every time.
	slices.Sort(langs)
	for _, lang := range langs {
		t, p := m.Translations[lang], path+".translations."+lang
		if !slices.Contains(TranslationLanguages, lang) {
			c.add(p, "unknown language %q; known are %s", lang, strings.Join(TranslationLanguages, ", "))
			continue
		}
		if m.Channel == ChannelEmail && strings.TrimSpace(t.Subject) == "" {
			c.add(p+".subject", "an e-mail needs a subject")
		}
		if strings.TrimSpace(t.Body) == "" {
			c.add(p+".body", "must not be empty")
		}
	}
}

func (c *checker) followUps(phases []Phase, inWorkflow map[string]bool) {
	next := map[string]string{}
	for _, p := range phases {
		next[p.Key] = p.FollowUp
	}
	for i, p := range phases {
		if p.FollowUp == "" {
			continue
		}
		path := fmt.Sprintf("phases[%d].follow_up", i)
		if !inWorkflow[p.FollowUp] {
			c.add(path, "follow-up %q is not a phase of this workflow", p.FollowUp)
			continue
		}
		chain := []string{p.Key}
		for cur := p.FollowUp; cur != ""; cur = next[cur] {
			if slices.Contains(chain, cur) {
				c.add(path, "follow-ups loop: %s", strings.Join(append(chain, cur), " → "))
				break
			}
			chain = append(chain, cur)
		}
	}
}

func validKey(k string) bool {
	for i, r := range k {
		switch {
		case r >= 'a' && r <= 'z':
		case (r >= '0' && r <= '9') || r == '_':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return k != ""
}

// ValidateCatalog checks a dealer's catalog against the system catalog that ships with
// the product: system parts (fields, phases, workflows, message templates) must be
// unchanged, own parts must not claim to be system
// parts, keys are unique, and every workflow resolves into a valid definition.
func ValidateCatalog(c Catalog, system Catalog) Problems {
	ch := &checker{}
	fieldKey := func(f Field) (string, bool) { return f.Key, f.System }
	phaseKey := func(p Phase) (string, bool) { return p.Key, p.System }
	workflowKey := func(w Workflow) (string, bool) { return w.Key, w.System }
	messageKey := func(m MessageTemplate) (string, bool) { return m.Key, m.System }
	seen := map[string]Field{}
	for i, f := range c.Fields {
		ch.field(fmt.Sprintf("fields[%d]", i), f, seen, c.Documents)
		seen[f.Key] = f
	}
	checkSystemParts(ch, "field", "fields", c.Fields, system.Fields, fieldKey, false)
	checkSystemParts(ch, "phase", "phases", c.Phases, system.Phases, phaseKey, true)
	checkSystemParts(ch, "workflow", "workflows", c.Workflows, system.Workflows, workflowKey, true)
	checkSystemParts(ch, "message template", "messages", c.Messages, system.Messages, messageKey, true)
	for i, w := range c.Workflows {
		path := fmt.Sprintf("workflows[%d]", i)
		d, err := c.Resolve(w.Key)
		if ps, ok := AsProblems(err); ok {
			for _, p := range ps {
				ch.add(path+"."+strings.TrimPrefix(p.Path, "workflow."), "%s", p.Message)
			}
			continue
		}
		for _, p := range d.Validate() {
			if strings.HasPrefix(p.Path, "fields[") {
				continue // reported once above, at the catalog's own path
			}
			ch.add(path+"."+strings.TrimPrefix(p.Path, "workflow."), "%s", p.Message)
		}
	}
	return ch.problems
}

// checkSystemParts refuses a changed system part and an own part that claims to be one;
// with checkDuplicates it also refuses a key used twice (fields report that themselves).
func checkSystemParts[T any](ch *checker, kind, list string, parts, system []T, key func(T) (string, bool), checkDuplicates bool) {
	sys := map[string]T{}
	for _, p := range system {
		k, _ := key(p)
		sys[k] = p
	}
	seen := map[string]bool{}
	for i, p := range parts {
		path := fmt.Sprintf("%s[%d]", list, i)
		k, claimsSystem := key(p)
		if checkDuplicates && seen[k] {
			ch.add(path+".key", "duplicate %s %q", kind, k)
		}
		seen[k] = true
		if s, isSys := sys[k]; isSys {
			if !reflect.DeepEqual(s, p) {
				ch.add(path, "system %s %q cannot be changed; copy it under a new key", kind, k)
			}
		} else if claimsSystem {
			ch.add(path+".system", "own %s %q cannot be a system %s", kind, k, kind)
		}
	}
}
