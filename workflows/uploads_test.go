package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

func attachFile(key string, actor job.Actor, field, id string) job.AttachFileRequest {
	return job.AttachFileRequest{RequestKey: key, Actor: actor, Field: field, DocumentID: id, Version: 1, Filename: "vertrag.pdf"}
}

func TestAttachFile(t *testing.T) {
	h := newHarness(t)
	in := standardInput(t, definitions.StandardMaster)
	// The offer phase has no upload field.
	h.update(job.UpdateActivate, activate("u1", ""), "", nil)
	h.update(job.UpdateAttachFile, attachFile("u2", customer, "unterlagen", "doc-a"), "not a field of the customer view", nil)
	h.update(job.UpdateActivate, activate("u3", "auftrag"), "", wantPhase(t, "auftrag", definitions.TurnCustomer))
	h.update(job.UpdateAttachFile, attachFile("u4", customer, "kaufvertrag", "doc-a"), "takes no file", nil)
	h.update(job.UpdateAttachFile, attachFile("u5", customer, "notiz_verkauf", "doc-a"), "not a field of the customer view", nil)
	h.update(job.UpdateAttachFile, attachFile("u6", customer, "unterlagen", ""), "document_id: is required", nil)
	h.update(job.UpdateAttachFile, job.AttachFileRequest{RequestKey: "u7", Actor: job.Actor{Side: "provider"}, Field: "unterlagen", DocumentID: "doc-a"},
		"neither staff nor customer", nil)
	// The customer's upload is their whole move in this phase (no save button): staff's turn.
	h.update(job.UpdateAttachFile, attachFile("u8", customer, "unterlagen", "doc-a"), "", wantPhase(t, "auftrag", definitions.TurnStaff))
	h.update(job.UpdateAttachFile, attachFile("u8", customer, "unterlagen", "doc-a"), "", wantPhase(t, "auftrag", definitions.TurnStaff))
	h.view(job.Customer, func(v job.View) {
		for _, f := range v.Fields {
			if f.Key == "unterlagen" {
				require.Equal(t, map[string]any{"document_id": "doc-a", "version": 1.0, "filename": "vertrag.pdf"}, f.Value)
			}
		}
	})
	// Staff replace it with a newer version.
	h.update(job.UpdateAttachFile, job.AttachFileRequest{RequestKey: "u9", Actor: staff, Field: "unterlagen", DocumentID: "doc-b", Version: 2, Filename: "vertrag-2.pdf"}, "", nil)
	h.update(job.UpdateSetStatus, job.StatusRequest{RequestKey: "u10", Actor: staff, Status: job.StatusClosed}, "", nil)
	h.update(job.UpdateAttachFile, attachFile("u11", staff, "unterlagen", "doc-c"), "job is closed", nil)
	h.run(in)
	require.NoError(t, h.env.GetWorkflowError())

	var attached []job.AuditEntry
	for _, p := range h.projections {
		for _, e := range p.Entries {
			if e.Action == job.ActionFileAttached {
				attached = append(attached, e)
			}
		}
	}
	require.Len(t, attached, 2, "rejected and repeated requests leave no trace")
	require.Equal(t, customer, attached[0].Actor)
	require.Equal(t, "auftrag", attached[0].Phase)
	require.Nil(t, attached[0].Before)
	require.Equal(t, map[string]any{"field": "unterlagen", "document_id": "doc-a", "version": 1, "filename": "vertrag.pdf"}, attached[0].After)
	require.Equal(t, map[string]any{"document_id": "doc-a", "filename": "vertrag.pdf"}, attached[1].Before)
	require.Equal(t, "doc-b", attached[1].After["document_id"])
}
