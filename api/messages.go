package api

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
)

// The message catalog words problems for people: titles, details and field reasons in
// German (the default) and English, chosen by Accept-Language. Codes stay as they are,
// for programs; values quoted in a text (an option given, a phase key) stay as given.
//
// It is a small hand-made catalog rather than go-i18n: the API's texts have no plural
// forms worth a CLDR engine, and go-i18n reserves TOML keys (one, other, description,
// hash, ...) that clash with a flat namespace of error codes. Each language is one
// TOML file in locales/ with three tables: [title] by problem type, [detail] by
// detail ID, [reason] by field error code. A text names its values as {name}.

//go:embed locales/*.toml
var localeFiles embed.FS

// Catalog sections.
const (
	sectionTitle  = "title"
	sectionDetail = "detail"
	sectionReason = "reason"
)

// languages the catalog has, the default first: a client that asks for none of them
// gets German.
var languages = []language.Tag{language.German, language.English}

var languageMatcher = language.NewMatcher(languages)

// catalog holds texts by language, section and ID.
type catalog map[string]map[string]map[string]string

// messages is the API's catalog. Should it fail to load (a test catches that), texts
// fall back to the English a problem carries, or to its IDs.
var messages, messagesErr = loadCatalog(localeFiles)

func loadCatalog(fsys fs.FS) (catalog, error) {
	out := catalog{}
	for _, tag := range languages {
		lang := tag.String()
		name := path.Join("locales", lang+".toml")
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

// requestLanguage is the catalog language that best fits the request's Accept-Language.
func requestLanguage(c *gin.Context) string {
	return matchLanguage(c.GetHeader("Accept-Language"))
}

func matchLanguage(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return languages[0].String()
	}
	_, i, _ := languageMatcher.Match(tags...)
	return languages[i].String()
}

// text renders the message id of section in lang with params; false when the catalog
// lacks it.
func (cat catalog) text(lang, section, id string, params map[string]string) (string, bool) {
	t, ok := cat[lang][section][id]
	if !ok {
		return "", false
	}
	return fill(t, params), true
}

// fill replaces each {name} in t with params[name]; a name without a value stays as it
// is, so a missing value shows instead of vanishing.
func fill(t string, params map[string]string) string {
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

// placeholders lists the {name}s a text names.
func placeholders(t string) []string {
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
