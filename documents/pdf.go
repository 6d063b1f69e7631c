package documents

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/money"
	"github.com/jobmanager/jobmanager/store"
)

// DejaVu Sans from Debian's fonts-dejavu-core (licence in fonts/LICENSE): embedded in
// every PDF, so umlauts, ß and € print and copy out on any reader.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

const fontFamily = "DejaVu"

// Party is the customer a document is addressed to.
type Party struct {
	Name  string
	Email string
	Phone string
}

// Data is everything one document shows, already resolved: texts with placeholders
// filled, lines complete.
type Data struct {
	Template string
	// Number is the document number printed after the title, such as "42-1".
	Number     string
	Date       time.Time
	JobNumber  int64
	Letterhead store.Letterhead
	Customer   Party
	Vehicle    job.Vehicle
	// Extras are the extras the customer chose.
	Extras      []string
	Salesperson string
	Lines       []money.Line
	// Texts are the sections (title, intro, closing, terms), placeholders filled.
	Texts map[string]string
	// Cancellation is the cancellation notice; empty prints none.
	Cancellation string
	// Draft marks a preview that is not stored (a document view).
	Draft bool
}

// Title is the document's title with its number.
func (d Data) Title() string {
	t := d.Texts[SectionTitle]
	if d.Number != "" {
		t += " Nr. " + d.Number
	}
	return t
}

// Page geometry in mm (A4).
const (
	marginLeft  = 20.0
	marginRight = 20.0
	pageWidth   = 210.0
	contentW    = pageWidth - marginLeft - marginRight
	lineH       = 5.0
)

// RenderPDF lays out a document as a PDF. The same Data gives the same bytes: the
// PDF's dates are the document's date, not the clock.
func RenderPDF(d Data) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(marginLeft, 20, marginRight)
	pdf.SetAutoPageBreak(true, 30)
	pdf.AddUTF8FontFromBytes(fontFamily, "", fontRegular)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", fontBold)
	pdf.SetCreationDate(d.Date)
	pdf.SetModificationDate(d.Date)
	pdf.SetTitle(d.Title(), true)
	pdf.SetAuthor(d.Letterhead.Name, true)
	pdf.SetCreator("Jobmanager", true)
	pdf.SetProducer("Jobmanager", true)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() { footer(pdf, d) })
	pdf.AddPage()

	header(pdf, d)
	pdf.Ln(8)
	pdf.SetFont(fontFamily, "B", 15)
	pdf.CellFormat(contentW, 8, d.Title(), "", 1, "L", false, 0, "")
	if d.Draft {
		pdf.SetFont(fontFamily, "", 9)
		pdf.CellFormat(contentW, lineH, "Vorschau – nicht gespeichert", "", 1, "L", false, 0, "")
	}
	pdf.Ln(3)
	paragraph(pdf, d.Texts[SectionIntro], 10)
	pdf.Ln(3)
	vehicle(pdf, d)
	pdf.Ln(4)
	table(pdf, d.Lines)
	pdf.Ln(6)
	paragraph(pdf, d.Texts[SectionClosing], 10)
	if d.Template == PurchaseContract {
		signatures(pdf)
	}
	if t := d.Texts[SectionTerms]; t != "" {
		pdf.Ln(4)
		paragraph(pdf, t, 8)
	}
	if d.Cancellation != "" {
		pdf.Ln(5)
		pdf.SetFont(fontFamily, "B", 10)
		pdf.CellFormat(contentW, lineH, "Widerrufsbelehrung", "", 1, "L", false, 0, "")
		paragraph(pdf, d.Cancellation, 8)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render %s as PDF: %w", d.Template, err)
	}
	return buf.Bytes(), nil
}

func header(pdf *fpdf.Fpdf, d Data) {
	lh := d.Letterhead
	pdf.SetFont(fontFamily, "B", 16)
	pdf.CellFormat(contentW, 8, lh.Name, "", 1, "L", false, 0, "")
	pdf.SetFont(fontFamily, "", 8)
	var contact []string
	contact = append(contact, lh.Address...)
	for _, c := range []string{lh.Phone, lh.Email, lh.Web} {
		if c != "" {
			contact = append(contact, c)
		}
	}
	if len(contact) > 0 {
		pdf.CellFormat(contentW, 4, strings.Join(contact, " · "), "B", 1, "L", false, 0, "")
	}
	pdf.Ln(6)
	top := pdf.GetY()
	// Recipient on the left, the document's facts on the right.
	pdf.SetFont(fontFamily, "", 10)
	for _, l := range []string{d.Customer.Name, d.Customer.Email, d.Customer.Phone} {
		if l != "" {
			pdf.CellFormat(95, lineH, l, "", 2, "L", false, 0, "")
		}
	}
	bottom := pdf.GetY()
	pdf.SetY(top)
	facts := [][2]string{
		{"Datum", d.Date.Format("02.01.2006")},
		{"Vorgang", fmt.Sprintf("%d", d.JobNumber)},
	}
	if d.Vehicle.Number != "" {
		facts = append(facts, [2]string{"Fahrzeug-Nr.", d.Vehicle.Number})
	}
	if d.Salesperson != "" {
		facts = append(facts, [2]string{"Ansprechpartner", d.Salesperson})
	}
	for _, f := range facts {
		pdf.SetX(pageWidth - marginRight - 75)
		pdf.SetFont(fontFamily, "", 9)
		pdf.CellFormat(32, lineH, f[0]+":", "", 0, "L", false, 0, "")
		pdf.CellFormat(43, lineH, f[1], "", 1, "L", false, 0, "")
	}
	if pdf.GetY() < bottom {
		pdf.SetY(bottom)
	}
}

func vehicle(pdf *fpdf.Fpdf, d Data) {
	v := d.Vehicle
	name := strings.TrimSpace(v.Make + " " + v.Model)
	if name == "" && v.Number == "" {
		return
	}
	pdf.SetFont(fontFamily, "B", 10)
	pdf.CellFormat(30, lineH, "Fahrzeug:", "", 0, "L", false, 0, "")
	pdf.SetFont(fontFamily, "", 10)
	desc := name
	if v.Number != "" {
		desc += " (Fahrzeug-Nr. " + v.Number + ")"
	}
	pdf.MultiCell(contentW-30, lineH, desc, "", "L", false)
	if len(d.Extras) > 0 {
		pdf.SetFont(fontFamily, "B", 10)
		pdf.CellFormat(30, lineH, "Ausstattung:", "", 0, "L", false, 0, "")
		pdf.SetFont(fontFamily, "", 10)
		pdf.MultiCell(contentW-30, lineH, strings.Join(d.Extras, ", "), "", "L", false)
	}
}

// Column widths of the lines table: position, text, VAT rate, amount.
var cols = [4]float64{12, contentW - 12 - 20 - 35, 20, 35}

func table(pdf *fpdf.Fpdf, lines []money.Line) {
	pdf.SetFont(fontFamily, "B", 9)
	pdf.SetFillColor(235, 235, 235)
	for i, h := range []string{"Pos.", "Bezeichnung", "MwSt.", "Betrag (brutto)"} {
		align := "L"
		if i >= 2 {
			align = "R"
		}
		pdf.CellFormat(cols[i], 6, h, "B", 0, align, true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont(fontFamily, "", 9)
	for i, l := range lines {
		text := pdf.SplitText(l.Text, cols[1]-2)
		if len(text) == 0 {
			text = []string{""}
		}
		h := float64(len(text)) * lineH
		// Keep a line's rows together on one page.
		if pdf.GetY()+h > 297-30 {
			pdf.AddPage()
		}
		y := pdf.GetY()
		pdf.CellFormat(cols[0], lineH, fmt.Sprintf("%d", i+1), "", 0, "L", false, 0, "")
		x := pdf.GetX()
		for j, t := range text {
			pdf.SetXY(x, y+float64(j)*lineH)
			pdf.CellFormat(cols[1], lineH, t, "", 0, "L", false, 0, "")
		}
		pdf.SetXY(x+cols[1], y)
		pdf.CellFormat(cols[2], lineH, fmt.Sprintf("%d %%", l.TaxRate), "", 0, "R", false, 0, "")
		pdf.CellFormat(cols[3], lineH, money.Format(l.AmountCents), "", 0, "R", false, 0, "")
		pdf.SetXY(marginLeft, y+h)
	}
	pdf.SetDrawColor(150, 150, 150)
	pdf.Line(marginLeft, pdf.GetY()+1, pageWidth-marginRight, pdf.GetY()+1)
	pdf.Ln(3)

	t := money.Sum(lines)
	label := cols[0] + cols[1] + cols[2]
	row := func(name string, cents int64, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		pdf.SetFont(fontFamily, style, 9)
		pdf.CellFormat(label, lineH, name, "", 0, "R", false, 0, "")
		pdf.CellFormat(cols[3], lineH, money.Format(cents), "", 1, "R", false, 0, "")
	}
	row("Summe netto", t.NetCents, false)
	for _, r := range t.Rates {
		row(fmt.Sprintf("MwSt. %d %% auf %s netto", r.Rate, money.Format(r.NetCents)), r.TaxCents, false)
	}
	row("Gesamtbetrag brutto", t.GrossCents, true)
}

func signatures(pdf *fpdf.Fpdf) {
	pdf.Ln(18)
	y := pdf.GetY()
	pdf.SetDrawColor(0, 0, 0)
	pdf.Line(marginLeft, y, marginLeft+70, y)
	pdf.Line(pageWidth-marginRight-70, y, pageWidth-marginRight, y)
	pdf.SetFont(fontFamily, "", 8)
	pdf.CellFormat(contentW/2, 4, "Ort, Datum, Unterschrift Käufer", "", 0, "L", false, 0, "")
	pdf.CellFormat(contentW/2, 4, "Ort, Datum, Unterschrift Verkäufer", "", 1, "R", false, 0, "")
}

// paragraph prints text with its line breaks; blank lines separate paragraphs.
func paragraph(pdf *fpdf.Fpdf, text string, size float64) {
	pdf.SetFont(fontFamily, "", size)
	h := size * 0.5
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			pdf.Ln(h)
			continue
		}
		pdf.MultiCell(contentW, h, line, "", "L", false)
	}
}

func footer(pdf *fpdf.Fpdf, d Data) {
	lh := d.Letterhead
	pdf.SetY(-25)
	pdf.SetFont(fontFamily, "", 7)
	pdf.SetDrawColor(150, 150, 150)
	pdf.Line(marginLeft, pdf.GetY(), pageWidth-marginRight, pdf.GetY())
	pdf.Ln(1)
	var bank []string
	for _, b := range [][2]string{{"", lh.Bank}, {"IBAN ", lh.IBAN}, {"BIC ", lh.BIC}} {
		if b[1] != "" {
			bank = append(bank, b[0]+b[1])
		}
	}
	var legal []string
	if lh.TaxID != "" {
		legal = append(legal, "USt-IdNr. "+lh.TaxID)
	}
	if lh.Register != "" {
		legal = append(legal, lh.Register)
	}
	for _, l := range []string{strings.Join(bank, " · "), strings.Join(legal, " · ")} {
		if l != "" {
			pdf.CellFormat(contentW, 3.5, l, "", 1, "C", false, 0, "")
		}
	}
	pdf.CellFormat(contentW, 3.5, fmt.Sprintf("%s · Seite %d von {nb}", d.Title(), pdf.PageNo()), "", 1, "C", false, 0, "")
}
