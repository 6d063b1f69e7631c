// Package documents renders a job's documents (offer, order confirmation, purchase
// contract, invoice) as PDFs and stores them, and stores uploaded files, every version
// kept in PostgreSQL with its SHA-256.
//
// A document starts from the product's standard texts, which a dealer's central texts
// replace section by section, which a job's own texts replace again (for that job
// only). It carries the dealer's letterhead, the job's customer, vehicle, chosen extras
// and invoice lines, and optionally the dealer's cancellation notice.
//
// Its activity, RenderAndStore, is idempotent by request key: a retry returns the
// version the first attempt stored. Only IDs leave this package for workflow payloads;
// the bytes stay in the database. Who may download what is the API's decision.
package documents

import (
	"fmt"
	"slices"
)

// Template keys of the standard document templates, as definitions name them
// (definitions/standard: a document field's templates).
const (
	Offer             = "offer"
	OrderConfirmation = "order_confirmation"
	PurchaseContract  = "purchase_contract"
	Invoice           = "invoice"
)

// Templates lists the template keys in a stable order.
var Templates = []string{Offer, OrderConfirmation, PurchaseContract, Invoice}

// fileStems name the downloaded files as customers know the documents, in ASCII.
var fileStems = map[string]string{
	Offer:             "Angebot",
	OrderConfirmation: "Auftragsbestaetigung",
	PurchaseContract:  "Kaufvertrag",
	Invoice:           "Rechnung",
}

// Sections of a template's text that dealers and jobs may replace.
const (
	SectionTitle   = "title"   // the document's name, such as "Rechnung"
	SectionIntro   = "intro"   // the salutation and text before the lines
	SectionClosing = "closing" // the text after the totals
	SectionTerms   = "terms"   // the small print
)

// Sections lists the sections in the order a document prints them.
var Sections = []string{SectionTitle, SectionIntro, SectionClosing, SectionTerms}

// standardTexts are the product's texts; they may use the placeholders of package
// placeholders.
var standardTexts = map[string]map[string]string{
	Offer: {
		SectionTitle: "Angebot",
		SectionIntro: "Guten Tag {kunde},\n\nvielen Dank für Ihr Interesse an {fahrzeug}. " +
			"Gerne unterbreiten wir Ihnen folgendes Angebot:",
		SectionClosing: "Dieses Angebot gilt 14 Tage ab dem oben genannten Datum. " +
			"Wir freuen uns auf Ihren Auftrag.\n\nMit freundlichen Grüßen\n{verkaeufer}",
		SectionTerms: "Es gelten unsere Allgemeinen Geschäftsbedingungen. Irrtümer und Zwischenverkauf vorbehalten.",
	},
	OrderConfirmation: {
		SectionTitle: "Auftragsbestätigung",
		SectionIntro: "Guten Tag {kunde},\n\nvielen Dank für Ihren Auftrag. " +
			"Hiermit bestätigen wir Ihnen den Kauf von {fahrzeug} zu folgenden Konditionen:",
		SectionClosing: "Über den Liefer- oder Abholtermin informieren wir Sie gesondert.\n\n" +
			"Mit freundlichen Grüßen\n{verkaeufer}",
		SectionTerms: "Es gelten unsere Allgemeinen Geschäftsbedingungen.",
	},
	PurchaseContract: {
		SectionTitle: "Kaufvertrag",
		SectionIntro: "Der Verkäufer verkauft dem Käufer {kunde} das nachstehend beschriebene Fahrzeug " +
			"({fahrzeug}) zu folgenden Bedingungen:",
		SectionClosing: "Das Fahrzeug bleibt bis zur vollständigen Bezahlung des Kaufpreises Eigentum des Verkäufers. " +
			"Die Übergabe erfolgt nach Zahlungseingang.",
		SectionTerms: "Es gelten die umseitigen Allgemeinen Geschäftsbedingungen für den Verkauf von Kraftfahrzeugen.",
	},
	Invoice: {
		SectionTitle: "Rechnung",
		SectionIntro: "Guten Tag {kunde},\n\nfür den Kauf von {fahrzeug} berechnen wir Ihnen:",
		SectionClosing: "Bitte überweisen Sie den Gesamtbetrag innerhalb von 14 Tagen nach Rechnungsdatum " +
			"oder bezahlen Sie bequem online. Vielen Dank für Ihren Auftrag!\n\nMit freundlichen Grüßen\n{verkaeufer}",
		SectionTerms: "Das Rechnungsdatum entspricht dem Liefer- bzw. Leistungsdatum, sofern nicht anders angegeben.",
	},
}

// standardCancellation is the cancellation notice printed when a dealer turns it on
// without a text of its own: the statutory model's core, short enough for a document.
const standardCancellation = "Widerrufsrecht: Sie haben das Recht, binnen vierzehn Tagen ohne Angabe von Gründen " +
	"diesen Vertrag zu widerrufen. Die Widerrufsfrist beträgt vierzehn Tage ab dem Tag, an dem Sie oder ein von " +
	"Ihnen benannter Dritter, der nicht der Beförderer ist, die Waren in Besitz genommen haben. Um Ihr " +
	"Widerrufsrecht auszuüben, müssen Sie uns mittels einer eindeutigen Erklärung (z. B. ein mit der Post " +
	"versandter Brief oder eine E-Mail) über Ihren Entschluss, diesen Vertrag zu widerrufen, informieren. " +
	"Zur Wahrung der Widerrufsfrist reicht es aus, dass Sie die Mitteilung über die Ausübung des Widerrufsrechts " +
	"vor Ablauf der Widerrufsfrist absenden."

// KnownTemplate reports whether key names a document template.
func KnownTemplate(key string) bool { return slices.Contains(Templates, key) }

// KnownSection reports whether key names a text section.
func KnownSection(key string) bool { return slices.Contains(Sections, key) }

// ResolveTexts merges a template's texts: the standard text of each section, replaced
// by the dealer's central text, replaced by the job's own text, where those are not
// empty.
func ResolveTexts(template string, dealer, jobTexts map[string]string) (map[string]string, error) {
	std, ok := standardTexts[template]
	if !ok {
		return nil, fmt.Errorf("unknown document template %q (known: %v)", template, Templates)
	}
	out := make(map[string]string, len(Sections))
	for _, s := range Sections {
		out[s] = std[s]
		if t := dealer[s]; t != "" {
			out[s] = t
		}
		if t := jobTexts[s]; t != "" {
			out[s] = t
		}
	}
	return out, nil
}

// ValidateTexts checks texts to store for a template (dealer's or job's): known
// template, known sections. The error names the section.
func ValidateTexts(template string, texts map[string]string) error {
	if !KnownTemplate(template) {
		return fmt.Errorf("template: unknown document template %q", template)
	}
	for s := range texts {
		if !KnownSection(s) {
			return fmt.Errorf("texts.%s: unknown section (known: %v)", s, Sections)
		}
	}
	return nil
}
