package money_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/money"
)

func TestFormat(t *testing.T) {
	for cents, want := range map[int64]string{
		0:                 "0,00 €",
		5:                 "0,05 €",
		-5:                "-0,05 €",
		100:               "1,00 €",
		99999:             "999,99 €",
		100000:            "1.000,00 €",
		1234500:           "12.345,00 €",
		-300000:           "-3.000,00 €",
		2000000_00:        "2.000.000,00 €",
		math.MinInt64:     "-92.233.720.368.547.758,08 €",
		math.MaxInt64:     "92.233.720.368.547.758,07 €",
		123456789:         "1.234.567,89 €",
		-100:              "-1,00 €",
		100000000_000_000: "1.000.000.000.000,00 €",
	} {
		require.Equal(t, want, money.Format(cents), "%d", cents)
	}
}

func TestSumRoundsPerRate(t *testing.T) {
	lines := []money.Line{
		{Text: "a", AmountCents: 1, TaxRate: 19},
		{Text: "b", AmountCents: 1, TaxRate: 19},
		{Text: "c", AmountCents: 1, TaxRate: 19},
		{Text: "d", AmountCents: 1070, TaxRate: 7},
		{Text: "trade-in", AmountCents: -500000, TaxRate: 0},
	}
	tot := money.Sum(lines)
	// 3 cents at 19 %: 3*19/119 = 0.479 -> 0 (per line it would be 0 too); 1070 at 7 % -> 70.
	require.Equal(t, []money.RateTotal{
		{Rate: 19, NetCents: 3, TaxCents: 0, GrossCents: 3},
		{Rate: 7, NetCents: 1000, TaxCents: 70, GrossCents: 1070},
		{Rate: 0, NetCents: -500000, TaxCents: 0, GrossCents: -500000},
	}, tot.Rates)
	require.Equal(t, int64(-498927), tot.GrossCents)
	require.Equal(t, tot.GrossCents, tot.NetCents+tot.TaxCents)

	// Rounding is symmetric for deductions: 3,75 € holds 0,5987 € VAT -> 0,60 €.
	// (An exact half cent cannot occur at 19 % or 7 %: 119 and 107 are odd.)
	require.Equal(t, int64(60), money.Sum([]money.Line{{Text: "x", AmountCents: 375, TaxRate: 19}}).TaxCents)
	require.Equal(t, int64(-60), money.Sum([]money.Line{{Text: "x", AmountCents: -375, TaxRate: 19}}).TaxCents)

	// Many lines whose VAT would each round down per line add up exactly per rate.
	var many []money.Line
	for range 100 {
		many = append(many, money.Line{Text: "x", AmountCents: 10, TaxRate: 19})
	}
	require.Equal(t, int64(160), money.Sum(many).TaxCents) // 1000*19/119 = 159.66
	require.Empty(t, money.Sum(nil).Rates)
}

func TestLineValidate(t *testing.T) {
	require.NoError(t, money.Line{Text: "a", TaxRate: 7}.Validate())
	require.ErrorContains(t, money.Line{Text: " ", TaxRate: 7}.Validate(), "text")
	require.ErrorContains(t, money.Line{Text: "a", TaxRate: 16}.Validate(), "tax rate 16")
}
