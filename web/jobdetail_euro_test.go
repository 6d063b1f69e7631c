package web

import "testing"

// TestParseEuro: amounts as staff type them in the invoice lines.
func TestParseEuro(t *testing.T) {
	for in, want := range map[string]int64{
		"27.890,00": 2_789_000, "27890": 2_789_000, "1234.5": 123_450, "1.234.567": 123_456_700,
		"-5000": -500_000, "−5.000,00 €": -500_000, "0,99": 99, " 12 € ": 1200, ",5": 50,
	} {
		got, ok := parseEuro(in)
		if !ok || got != want {
			t.Errorf("parseEuro(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "abc", "1,234,5", "12,345", "1.2.3,4x"} {
		if got, ok := parseEuro(in); ok {
			t.Errorf("parseEuro(%q) = %d, want refusal", in, got)
		}
	}
	for cents, want := range map[int64]string{2_789_000: "27.890,00", -500_000: "-5.000,00", 5: "0,05"} {
		if got := amountText(cents); got != want {
			t.Errorf("amountText(%d) = %q, want %q", cents, got, want)
		}
	}
}
