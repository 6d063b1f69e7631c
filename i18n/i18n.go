// Package i18n holds message catalogs: texts by language, section and ID, loaded from
// one TOML file per language, with {name} placeholders filled from values. German is
// the default language, English the other. The API words its problems with it and the
// web pages their labels; each owns its catalog files, this package only reads them.
//
// It is a small hand-made catalog rather than go-i18n: the texts have no plural forms
// worth a CLDR engine, and go-i18n reserves TOML keys (one, other, description, hash,
// ...) that clash with a flat namespace of IDs such as error codes.
package i18n

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
)

// Languages the catalogs have, the default first: a client that asks for none of them
// gets German.
var Languages = []language.Tag{language.German, language.English}

// Default is the language of a client that names none the catalogs have.
var Default = Languages[0].String()

var matcher = language.NewMatcher(Languages)

// Catalog holds texts by language, section and ID.
type Catalog map[string]map[string]map[string]string

// Load reads dir/<lang>.toml of fsys for every language; each file is a TOML document
// of tables (sections) of strings.
func Load(fsys fs.FS, dir string) (Catalog, error) {
	out := Catalog{}
	for _, tag := range Languages {
		lang := tag.String()
		name := path.Join(dir, lang+".toml")
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read message catalog: %w", err)
		}
		var sections map[string]map[string]string
		if err := toml.Unmarshal(raw, &sections); err != nil {
			return nil, fmt.Errorf("parse message catalog %s: %w", name, err)
		}
		out[lang] = sections
	}
	return out, nil
}

// Match is the catalog language that best fits an Accept-Language header.
func Match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, _ := matcher.Match(tags...)
	return Languages[i].String()
}

// Supported reports whether lang is one of the catalog languages, as a Languages tag
// prints it.
func Supported(lang string) bool {
	for _, tag := range Languages {
		if tag.String() == lang {
			return true
		}
	}
	return false
}

// Text renders the message id of section in lang with params; false when the catalog
// lacks it.
func (cat Catalog) Text(lang, section, id string, params map[string]string) (string, bool) {
	t, ok := cat[lang][section][id]
	if !ok {
		return "", false
	}
	return Fill(t, params), true
}

// Fill replaces each {name} in t with params[name]; a name without a value stays as it
// is, so a missing value shows instead of vanishing.
func Fill(t string, params map[string]string) string {
	if !strings.Contains(t, "{") {
		return t
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			break
		}
		name := t[open+1 : open+end]
		b.WriteString(t[:open])
		if v, ok := params[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(t[open : open+end+1])
		}
		t = t[open+end+1:]
	}
	b.WriteString(t)
	return b.String()
}

// Placeholders lists the {name}s a text names.
func Placeholders(t string) []string {
	var out []string
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			return out
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			return out
		}
		out = append(out, t[open+1:open+end])
		t = t[open+end+1:]
	}
}

// Check lists how the languages of cat differ: a message one language has and another
// lacks, or one whose languages name different values. Empty means they agree.
func (cat Catalog) Check() []string {
	var out []string
	base := Default
	for _, tag := range Languages[1:] {
		lang := tag.String()
		for _, section := range sortedKeys(cat[base]) {
			for _, id := range sortedKeys(cat[base][section]) {
				other, ok := cat[lang][section][id]
				if !ok {
					out = append(out, fmt.Sprintf("[%s] %s is in %s.toml but not in %s.toml", section, id, base, lang))
					continue
				}
				a, b := Placeholders(cat[base][section][id]), Placeholders(other)
				slices.Sort(a)
				slices.Sort(b)
				if !slices.Equal(a, b) {
					out = append(out, fmt.Sprintf("[%s] %s names %v in %s.toml but %v in %s.toml", section, id, a, base, b, lang))
				}
			}
		}
		for _, section := range sortedKeys(cat[lang]) {
			for _, id := range sortedKeys(cat[lang][section]) {
				if _, ok := cat[base][section][id]; !ok {
					out = append(out, fmt.Sprintf("[%s] %s is in %s.toml but not in %s.toml", section, id, lang, base))
				}
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
