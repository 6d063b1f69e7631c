package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// The phase states that need no worker: without the live view, the phases after the
// current one are upcoming (whether they can be activated is unknown); once the job
// has ended they are not applicable; history says done and skipped either way.
func TestJobPhasesWithoutView(t *testing.T) {
	def, err := definitions.StandardDefinition(definitions.StandardMaster)
	require.NoError(t, err)
	history := []job.AuditEntry{
		{Action: job.ActionCreated},
		{Action: job.ActionActivate, Phase: "anfrage"},
		{Action: job.ActionActivate, Phase: "angebot"},
		{Action: job.ActionSkip, Phase: "auftrag"},
		{Action: job.ActionActivate, Phase: "zahlung"},
	}
	states := func(row job.Row, view *job.View) map[string]PhaseState {
		out := map[string]PhaseState{}
		for _, p := range jobPhases(&def, row, history, view) {
			out[p.Key] = p.State
		}
		return out
	}
	row := job.Row{Phase: "zahlung", Status: job.StatusOpen}
	require.Equal(t, map[string]PhaseState{
		"anfrage": PhaseDone, "angebot": PhaseDone, "auftrag": PhaseSkipped, "zahlung": PhaseCurrent,
		"lieferung": PhaseUpcoming, "abholung": PhaseUpcoming, "feedback": PhaseUpcoming,
	}, states(row, nil))
	row.Status = job.StatusCanceled
	require.Equal(t, map[string]PhaseState{
		"anfrage": PhaseDone, "angebot": PhaseDone, "auftrag": PhaseSkipped, "zahlung": PhaseCurrent,
		"lieferung": PhaseNotApplicable, "abholung": PhaseNotApplicable, "feedback": PhaseNotApplicable,
	}, states(row, nil))

	// The live view may be a step ahead of the read model: it names the current phase.
	view := &job.View{Phase: job.PhaseRef{Key: "abholung"}, Status: job.StatusOpen, Reachable: []job.PhaseRef{{Key: "feedback"}}}
	row.Status = job.StatusOpen
	require.Equal(t, map[string]PhaseState{
		"anfrage": PhaseDone, "angebot": PhaseDone, "auftrag": PhaseSkipped, "zahlung": PhaseDone,
		"lieferung": PhaseNotApplicable, "abholung": PhaseCurrent, "feedback": PhaseReachable,
	}, states(row, view))
}
