package definitions

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Statuses a job can have; a job_status field takes one of them.
var Statuses = []string{"open", "sold", "closed", "canceled"}

// maxTextLen bounds a text value so one submit cannot bloat workflow history.
const maxTextLen = 10_000

// Zero returns the value a field holds before anyone sets it: its default, else the
// zero value of its type. Types without a value return nil.
func (f Field) Zero() any {
	if !f.Type.HoldsValue() {
		return nil
	}
	if f.Default != nil {
		return f.Default
	}
	switch f.Type {
	case TypeCheckbox, TypeSuppressMessages:
		return false
	case TypeVehicleConfig:
		return []any{}
	}
	return ""
}

// Normalize checks a submitted value against the field and returns it in its canonical
// form (string, bool or []any of strings, as JSON decodes them). allowedExtras are the
// extras of the job's vehicle, for a vehicle configuration.
func (f Field) Normalize(v any, allowedExtras []string) (any, error) {
	switch f.Type {
	case TypeCheckbox, TypeSuppressMessages:
		b, ok := v.(bool)
		if !ok {
			return nil, valueError("not_true_false", fmt.Sprintf("must be true or false, got %s", describe(v)), "got", jsonKind(v))
		}
		return b, nil
	case TypeSelect:
		s, ok := v.(string)
		if !ok {
			return nil, notAString(v)
		}
		if s == "" {
			return s, nil
		}
		for _, o := range f.Options {
			if o.Value == s {
				return s, nil
			}
		}
		return nil, valueError("not_an_option", fmt.Sprintf("%q is not one of the options %s", s, optionList(f.Options)),
			"value", s, "options", optionList(f.Options))
	case TypeJobStatus:
		s, ok := v.(string)
		if !ok {
			return nil, notAString(v)
		}
		if !slices.Contains(Statuses, s) {
			return nil, valueError("not_a_status", fmt.Sprintf("%q is not a status (%s)", s, strings.Join(Statuses, ", ")),
				"value", s, "statuses", strings.Join(Statuses, ", "))
		}
		return s, nil
	case TypeVehicleConfig:
		list, ok := v.([]any)
		if !ok {
			if ss, isStrings := v.([]string); isStrings {
				for _, s := range ss {
					list = append(list, s)
				}
			} else {
				return nil, valueError("not_a_list", fmt.Sprintf("must be a list of extras, got %s", describe(v)), "got", jsonKind(v))
			}
		}
		allowed := allowedExtras
		if len(f.Extras) > 0 {
			allowed = slices.DeleteFunc(slices.Clone(f.Extras), func(e string) bool {
				return !slices.Contains(allowedExtras, e)
			})
		}
		out := make([]any, 0, len(list))
		seen := map[string]bool{}
		for i, item := range list {
			s, ok := item.(string)
			if !ok {
				return nil, valueError("item_not_a_string", fmt.Sprintf("[%d]: must be a string, got %s", i, describe(item)),
					"index", strconv.Itoa(i), "got", jsonKind(item))
			}
			if !slices.Contains(allowed, s) {
				return nil, valueError("extra_not_offered", fmt.Sprintf("[%d]: %q is not an extra offered here", i, s),
					"index", strconv.Itoa(i), "value", s)
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		return out, nil
	case TypeText, TypeLocation, TypeCallbackPhone, TypeExternalMessage:
		s, ok := v.(string)
		if !ok {
			return nil, notAString(v)
		}
		if len(s) > maxTextLen {
			return nil, valueError("too_long", fmt.Sprintf("is longer than %d bytes", maxTextLen), "max", strconv.Itoa(maxTextLen))
		}
		if f.Type == TypeCallbackPhone && s != "" && !validPhone(s) {
			return nil, valueError("not_a_phone_number", fmt.Sprintf("%q is not a phone number", s), "value", s)
		}
		return s, nil
	}
	return nil, valueError("takes_no_value", fmt.Sprintf("a %s field takes no value from a submit", f.Type), "type", string(f.Type))
}

// ValueError is why Normalize refused a value: a stable code (not_an_option, too_long,
// ...) and the values it names, so the API can say it in the client's language, and
// the reason in English as its text.
type ValueError struct {
	Code   string
	Params map[string]string
	reason string
}

func (e *ValueError) Error() string { return e.reason }

// valueError makes a ValueError; params are name, value pairs.
func valueError(code, reason string, params ...string) *ValueError {
	m := make(map[string]string, len(params)/2)
	for i := 0; i+1 < len(params); i += 2 {
		m[params[i]] = params[i+1]
	}
	return &ValueError{Code: code, Params: m, reason: reason}
}

func notAString(v any) *ValueError {
	return valueError("not_a_string", fmt.Sprintf("must be a string, got %s", describe(v)), "got", jsonKind(v))
}

// jsonKind names the JSON type of a decoded value, as a param that reads the same in
// every language.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, int, int64:
		return "number"
	case []any, []string:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Empty reports whether a value counts as missing for a required field.
func Empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case bool:
		return !x
	case []any:
		return len(x) == 0
	}
	return false
}

func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '/', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 15
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func optionList(opts []Option) string {
	vals := make([]string, len(opts))
	for i, o := range opts {
		vals[i] = fmt.Sprintf("%q", o.Value)
	}
	return strings.Join(vals, ", ")
}
