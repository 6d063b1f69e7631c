package placeholders_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/placeholders"
)

func TestFillKnownAliasesAndUnknown(t *testing.T) {
	out, unknown := placeholders.Fill("Hallo {kunde}, dear {customer}: {jobnummer}/{job_number} {foo} {foo} {Kunde} {bar_1} {}", placeholders.Values{
		placeholders.Customer: "Jörg", placeholders.JobNumber: "42",
	})
	require.Equal(t, "Hallo Jörg, dear Jörg: 42/42 {foo} {foo} {Kunde} {bar_1} {}", out)
	require.Equal(t, []string{"bar_1", "foo"}, unknown, "sorted, once each; {Kunde} is not a placeholder name at all")

	segs, _ := placeholders.Parse("a{zahlungs_link}b")
	require.Equal(t, []placeholders.Segment{{Literal: "a"}, {Name: placeholders.PaymentLink, Raw: "{zahlungs_link}"}, {Literal: "b"}}, segs)
	require.True(t, placeholders.IsLink(placeholders.PaymentLink))
	require.False(t, placeholders.IsLink(placeholders.Customer))

	require.Equal(t, "VW Golf", placeholders.VehicleName("VW", "Golf", "F-1"))
	require.Equal(t, "Fahrzeug F-1", placeholders.VehicleName("", "", "F-1"))
	require.Equal(t, "Ihr Fahrzeug", placeholders.VehicleName("", "", ""))
}
