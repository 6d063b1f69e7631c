package api

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/jobmanager/jobmanager/job"
)

// maxTextBytes bounds every string of a JSON body, on every route: a name, a note, a
// message template's body, a document's terms. Handlers set tighter bounds where a
// field has one; this one keeps a field without its own from taking a megabyte.
const maxTextBytes = 64 << 10

// longTexts names every string in v (a decoded request body) longer than maxTextBytes,
// by its path in the JSON body (values.notiz, lines[2].text).
func longTexts(v any) []job.FieldError {
	var out []job.FieldError
	tooLong := func(path string) {
		out = append(out, field(path, "too_long", "max", strconv.Itoa(maxTextBytes)))
	}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.String:
			if v.Len() > maxTextBytes {
				tooLong(path)
			}
		case reflect.Struct:
			t := v.Type()
			for i := range t.NumField() {
				f := t.Field(i)
				name, embedded, ok := jsonName(f)
				switch {
				case !ok:
				case embedded:
					walk(v.Field(i), path)
				default:
					walk(v.Field(i), joinPath(path, name))
				}
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				key := iter.Key()
				if key.Kind() == reflect.String && key.Len() > maxTextBytes {
					tooLong(path)
					continue
				}
				walk(iter.Value(), joinPath(path, key.String()))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i), path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(reflect.ValueOf(v), "")
	return out
}

// jsonName is how encoding/json names a struct field: ok is false for a field it
// skips; embedded is true for an untagged embedded struct, whose fields it promotes.
func jsonName(f reflect.StructField) (name string, embedded, ok bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false, false
	}
	name, _, _ = strings.Cut(tag, ",")
	if name == "" && f.Anonymous {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			return "", true, true
		}
	}
	if !f.IsExported() {
		return "", false, false
	}
	if name == "" {
		name = f.Name
	}
	return name, false, true
}

// clientPath turns the field path of a json.UnmarshalTypeError for a value of type t
// into the path the client wrote: encoding/json names an embedded struct by its Go
// type (Field.key), which is no part of the JSON (key).
func clientPath(t reflect.Type, path string) string {
	var out []string
	for seg := range strings.SplitSeq(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(seg); ok && f.Anonymous {
				t = f.Type
				continue
			}
			next := reflect.Type(nil)
			for _, f := range reflect.VisibleFields(t) {
				if name, _, ok := jsonName(f); ok && name == seg {
					next = f.Type
					break
				}
			}
			t = next
		} else if t != nil && t.Kind() == reflect.Map {
			t = t.Elem()
		} else {
			t = nil
		}
		out = append(out, seg)
	}
	return strings.Join(out, ".")
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// blameField finds the top-level field of a JSON object that dst's type refuses, by
// decoding one field at a time into a new value like dst, and the JSON type of its
// value; "" when none alone is refused. It names the field when encoding/json cannot: a
// value refused by a type's own UnmarshalJSON (a time) comes back without its field.
func blameField(body []byte, dst any) (name, got string) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return "", ""
	}
	t := reflect.TypeOf(dst).Elem()
	for name, raw := range fields {
		one, err := json.Marshal(map[string]json.RawMessage{name: raw})
		if err != nil {
			continue
		}
		if json.Unmarshal(one, reflect.New(t).Interface()) != nil {
			return name, jsonType(raw)
		}
	}
	return "", ""
}

// jsonType is the JSON type of a value, as problems name it.
func jsonType(raw json.RawMessage) string {
	switch s := strings.TrimSpace(string(raw)); {
	case s == "":
		return ""
	case s[0] == '"':
		return "string"
	case s[0] == '{':
		return "object"
	case s[0] == '[':
		return "array"
	case s == "true" || s == "false":
		return "bool"
	case s == "null":
		return "null"
	}
	return "number"
}
