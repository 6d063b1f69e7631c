// Package placeholders fills the {name} placeholders of dealer texts: message templates
// and document texts. It knows the placeholder names (German, with English aliases) and
// splits a text into literal parts and placeholders, so a caller can escape or link each
// value as its output format needs. It does no I/O; callers supply the values.
package placeholders

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Placeholder names, as dealers write them in German templates.
const (
	Customer    = "kunde"
	Vehicle     = "fahrzeug"
	Phase       = "phase"
	JobNumber   = "jobnummer"
	ParkingLink = "parkplatz_link"
	PaymentLink = "zahlungs_link"
	Salesperson = "verkaeufer"
)

// Known lists the placeholder names in a stable order.
var Known = []string{Customer, Vehicle, Phase, JobNumber, ParkingLink, PaymentLink, Salesperson}

// aliases are the English names of the placeholders, for templates written in English.
var aliases = map[string]string{
	"customer":     Customer,
	"vehicle":      Vehicle,
	"job_number":   JobNumber,
	"parking_link": ParkingLink,
	"payment_link": PaymentLink,
	"salesperson":  Salesperson,
}

// Links are the placeholders whose values are URLs.
var Links = []string{ParkingLink, PaymentLink}

// Canonical returns the German name of a placeholder name or alias, and whether it is
// known.
func Canonical(name string) (string, bool) {
	if slices.Contains(Known, name) {
		return name, true
	}
	c, ok := aliases[name]
	return c, ok
}

// IsLink reports whether the placeholder's value is a URL.
func IsLink(name string) bool { return slices.Contains(Links, name) }

// Values maps placeholder names (German) to their values.
type Values map[string]string

// Segment is a piece of a text: a literal, or a placeholder (Name set, Raw is the text
// as written, such as "{customer}").
type Segment struct {
	Literal string
	// Name is the canonical name of a known placeholder; empty for a literal and for
	// an unknown placeholder, which stays literal text.
	Name string
	Raw  string
}

var pattern = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)

// Parse splits text into segments. Unknown placeholders stay in the literal text and
// are returned, sorted and once each, so an editor can point at typos.
func Parse(text string) (segs []Segment, unknown []string) {
	seen := map[string]bool{}
	last := 0
	for _, m := range pattern.FindAllStringSubmatchIndex(text, -1) {
		raw, name := text[m[0]:m[1]], text[m[2]:m[3]]
		canon, ok := Canonical(name)
		if !ok {
			if !seen[name] {
				seen[name] = true
				unknown = append(unknown, name)
			}
			continue
		}
		if m[0] > last {
			segs = append(segs, Segment{Literal: text[last:m[0]]})
		}
		segs = append(segs, Segment{Name: canon, Raw: raw})
		last = m[1]
	}
	if last < len(text) {
		segs = append(segs, Segment{Literal: text[last:]})
	}
	sort.Strings(unknown)
	return segs, unknown
}

// Fill replaces the known placeholders of text with their values (empty when a value
// is missing) and returns the unknown ones, which stay as written.
func Fill(text string, v Values) (string, []string) {
	segs, unknown := Parse(text)
	var b strings.Builder
	for _, s := range segs {
		if s.Name == "" {
			b.WriteString(s.Literal)
			continue
		}
		b.WriteString(v[s.Name])
	}
	return b.String(), unknown
}

// VehicleName is how texts name a vehicle: make and model, else its stock number.
func VehicleName(make, model, number string) string {
	if n := strings.TrimSpace(make + " " + model); n != "" {
		return n
	}
	if number != "" {
		return "Fahrzeug " + number
	}
	return "Ihr Fahrzeug"
}
