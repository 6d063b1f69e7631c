// Package messages is the Nachrichten-Manager: it renders a dealer's message templates
// (e-mail or SMS, with placeholders such as {kunde} or {zahlungs_link}) for a job,
// writes each message into the outbox before anything is sent, and sends it once,
// e-mail over SMTP (package mail) and SMS through a provider (package sms).
//
// Its activities are PrepareMessages (render and write the outbox rows of one phase
// activation) and SendMessage (send one row). Which templates are due is the
// workflow's decision; PrepareMessages still refuses to send for an ended job, with
// messages suppressed, or a customer e-mail in a variant without customer e-mails.
// See SendMessage for what "once" means and where it ends.
package messages

import (
	"fmt"
	"html"
	"sort"
	"strings"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/placeholders"
	"github.com/jobmanager/jobmanager/store"
)

// Rendered is a template filled for one job (or with sample data for a preview).
type Rendered struct {
	Subject string `json:"subject,omitempty"`
	// Text is the plain-text body (the whole message for SMS).
	Text string `json:"text"`
	// HTML is the e-mail's HTML body, every placeholder value escaped; empty for SMS.
	HTML string `json:"html,omitempty"`
	// Unknown lists placeholders the template uses that do not exist; they stay in the
	// text as written.
	Unknown []string `json:"unknown,omitempty"`
}

// Render fills a template with values. E-mails get an HTML part in which the template
// text and every value are HTML-escaped, link values become links, blank lines separate
// paragraphs and single line breaks stay line breaks.
func Render(t definitions.MessageTemplate, v placeholders.Values) Rendered {
	return RenderIn(t, store.LanguageGerman, v)
}

// RenderIn is Render with the template's text in lang: its translation when it has
// one, else the German text.
func RenderIn(t definitions.MessageTemplate, lang string, v placeholders.Values) Rendered {
	msg := t.Text(lang)
	if _, ok := t.Translations[lang]; !ok {
		lang = store.LanguageGerman
	}
	subject, unknownSubject := placeholders.Fill(msg.Subject, v)
	subject = oneLine(subject)
	text, unknownBody := placeholders.Fill(msg.Body, v)
	r := Rendered{Subject: subject, Text: text, Unknown: merge(unknownSubject, unknownBody)}
	if t.Channel == definitions.ChannelEmail {
		r.HTML = htmlBody(lang, subject, msg.Body, v)
	}
	return r
}

// SampleValues are the values a preview fills in.
var SampleValues = placeholders.Values{
	placeholders.Customer:    "Erika Mustermann",
	placeholders.Vehicle:     "Volkswagen Golf 1.5 eTSI",
	placeholders.Phase:       "Angebot",
	placeholders.JobNumber:   "1234",
	placeholders.ParkingLink: "https://autohaus.example/parkplatz/beispiel",
	placeholders.PaymentLink: "https://bezahl.example/pay/beispiel",
	placeholders.Salesperson: "Max Verkäufer",
}

// Preview renders a template with SampleValues, reporting unknown placeholders.
func Preview(t definitions.MessageTemplate) Rendered { return Render(t, SampleValues) }

func htmlBody(lang, subject, body string, v placeholders.Values) string {
	segs, _ := placeholders.Parse(body)
	var b strings.Builder
	for _, s := range segs {
		switch {
		case s.Name == "":
			b.WriteString(html.EscapeString(s.Literal))
		case placeholders.IsLink(s.Name) && isURL(v[s.Name]):
			u := html.EscapeString(v[s.Name])
			fmt.Fprintf(&b, `<a href="%s">%s</a>`, u, u)
		default:
			b.WriteString(html.EscapeString(v[s.Name]))
		}
	}
	var out strings.Builder
	out.WriteString(`<!doctype html><html lang="` + html.EscapeString(lang) + `"><head><meta charset="utf-8"><title>`)
	out.WriteString(html.EscapeString(subject))
	out.WriteString(`</title></head><body style="font-family:sans-serif;line-height:1.4">` + "\n")
	for _, p := range strings.Split(strings.ReplaceAll(strings.TrimSpace(b.String()), "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out.WriteString("<p>" + strings.ReplaceAll(p, "\n", "<br>\n") + "</p>\n")
		}
	}
	out.WriteString("</body></html>\n")
	return out.String()
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// oneLine keeps a subject on one line: a header cannot carry a line break.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func merge(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// TestSubjectPrefix starts the subject of every e-mail of a test job (the sandbox's).
const TestSubjectPrefix = "[TEST] "

// TestSMSReason is why an SMS of a test job is recorded as suppressed: it goes to no
// phone.
const TestSMSReason = "test job: SMS are not sent"

// testNotice is the line a test job's e-mail begins with, by language.
var testNotice = map[string]string{
	"de": "Dies ist eine Testnachricht aus der Testumgebung: Sie haben einen Testvorgang gestartet und spielen den Kunden. Kein Kunde hat diese Nachricht erhalten.",
	"en": "This is a test message from the sandbox: you started a test job and play the customer. No customer received this message.",
}

// markTest marks a rendered e-mail of a test job: the subject starts with
// TestSubjectPrefix and the body with a line that says it is a test.
func markTest(r Rendered, lang string) Rendered {
	notice, ok := testNotice[lang]
	if !ok {
		notice = testNotice["de"]
	}
	r.Subject = TestSubjectPrefix + r.Subject
	r.Text = notice + "\n\n" + r.Text
	if r.HTML != "" {
		r.HTML = strings.Replace(r.HTML, "<title>", "<title>"+html.EscapeString(TestSubjectPrefix), 1)
		if i := strings.Index(r.HTML, "<body"); i >= 0 {
			if j := strings.Index(r.HTML[i:], ">"); j >= 0 {
				at := i + j + 1
				r.HTML = r.HTML[:at] + "\n<p><strong>" + html.EscapeString(notice) + "</strong></p>" + r.HTML[at:]
			}
		}
	}
	return r
}
