package api

import (
	"embed"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/i18n"
)

// The message catalog words problems for people: titles, details and field reasons in
// German (the default) and English, chosen by Accept-Language. Codes stay as they are,
// for programs; values quoted in a text (an option given, a phase key) stay as given.
// Each language is one TOML file in locales/ (package i18n reads them) with three
// tables: [title] by problem type, [detail] by detail ID, [reason] by field error code.
// A text names its values as {name}.

//go:embed locales/*.toml
var localeFiles embed.FS

// Catalog sections.
const (
	sectionTitle  = "title"
	sectionDetail = "detail"
	sectionReason = "reason"
)

// messages is the API's catalog. Should it fail to load (a test catches that), texts
// fall back to the English a problem carries, or to its IDs.
var messages, messagesErr = i18n.Load(localeFiles, "locales")

// requestLanguage is the catalog language that best fits the request's Accept-Language.
func requestLanguage(c *gin.Context) string {
	return i18n.Match(c.GetHeader("Accept-Language"))
}
