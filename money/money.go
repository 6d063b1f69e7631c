// Package money handles euro amounts as integer cents: formatting them the German way
// (12.345,00 €) and the totals of invoice lines with German VAT (19, 7 and 0 %).
//
// It is pure arithmetic on int64 cents, with no floating point anywhere, so every total
// adds up to the cent. Documents, payment orders and messages all use it, so an amount
// reads and sums the same everywhere.
package money

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Format prints cents as German euros: thousands separated by '.', two decimals after
// ',', then a space and the euro sign, such as "12.345,00 €" or "-3.000,00 €".
// (golang.org/x/text's currency formatting prints "EUR 12.345,00" for German.)
func Format(cents int64) string {
	var b strings.Builder
	// The magnitude as uint64, so the smallest int64 does not overflow on negation.
	u := uint64(cents)
	if cents < 0 {
		b.WriteByte('-')
		u = uint64(-(cents + 1)) + 1
	}
	euros := strconv.FormatUint(u/100, 10)
	for i, r := range euros {
		if i > 0 && (len(euros)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	fmt.Fprintf(&b, ",%02d €", u%100)
	return b.String()
}

// TaxRates are the VAT rates in percent a line may carry.
var TaxRates = []int{19, 7, 0}

// ValidRate reports whether rate is one of TaxRates.
func ValidRate(rate int) bool { return slices.Contains(TaxRates, rate) }

// Line is one invoice line (Rechnungsposition). AmountCents is the gross amount, what
// the customer pays including VAT, as car prices to consumers are quoted in Germany; a
// negative amount is a deduction such as a trade-in (Inzahlungnahme).
type Line struct {
	Text        string `json:"text"`
	AmountCents int64  `json:"amount_cents"`
	// TaxRate is the VAT rate in percent: 19, 7 or 0.
	TaxRate int `json:"tax_rate"`
}

// Validate names the first problem of the line: an empty text or an unknown rate.
func (l Line) Validate() error {
	if strings.TrimSpace(l.Text) == "" {
		return fmt.Errorf("text is empty")
	}
	if !ValidRate(l.TaxRate) {
		return fmt.Errorf("tax rate %d %% is not one of 19, 7, 0", l.TaxRate)
	}
	return nil
}

// RateTotal is the part of an invoice at one VAT rate.
type RateTotal struct {
	Rate       int   `json:"rate"`
	NetCents   int64 `json:"net_cents"`
	TaxCents   int64 `json:"tax_cents"`
	GrossCents int64 `json:"gross_cents"`
}

// Totals are an invoice's sums. NetCents + TaxCents == GrossCents, and each equals the
// sum of its column in Rates, always to the cent.
type Totals struct {
	Rates      []RateTotal `json:"rates"`
	NetCents   int64       `json:"net_cents"`
	TaxCents   int64       `json:"tax_cents"`
	GrossCents int64       `json:"gross_cents"`
}

// Sum computes the totals of lines, rates in the order of TaxRates (only rates that
// occur).
//
// Rounding happens once per rate, not per line: the gross amounts of a rate are added
// first, then the VAT contained in that sum is taken out, rounded half away from zero
// to the cent, and the net is the gross minus that VAT. Per rate, because that is what
// the invoice shows (VAT per rate, as §14 UStG asks) and what tax law lets the seller
// round; per line would let rounding errors of many small lines add up to a VAT that
// differs from the rate applied to the printed sum. Gross stays exactly what the lines
// say, so the amount the customer pays (and the payment order's price) is the plain
// sum of the lines.
func Sum(lines []Line) Totals {
	gross := map[int]int64{}
	for _, l := range lines {
		gross[l.TaxRate] += l.AmountCents
	}
	var t Totals
	for _, rate := range TaxRates {
		g, ok := gross[rate]
		if !ok {
			continue
		}
		tax := taxIncluded(g, rate)
		rt := RateTotal{Rate: rate, NetCents: g - tax, TaxCents: tax, GrossCents: g}
		t.Rates = append(t.Rates, rt)
		t.NetCents += rt.NetCents
		t.TaxCents += rt.TaxCents
		t.GrossCents += rt.GrossCents
	}
	return t
}

// taxIncluded is the VAT contained in a gross amount: gross*rate/(100+rate), rounded
// half away from zero, in integers only.
func taxIncluded(gross int64, rate int) int64 {
	if rate == 0 {
		return 0
	}
	num := gross * int64(rate) * 2
	den := int64(100+rate) * 2
	if num < 0 {
		return -((-num + den/2) / den)
	}
	return (num + den/2) / den
}
