package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// registerUploads installs the attach-file update. The API has stored the file before
// (documents.StoreUpload, idempotent by the same request key), so the update only
// records its ID in the field and the history: no activity, and the file's bytes never
// enter the workflow. An update, not a signal, because the uploader waits for the answer
// and a file for a field the view does not offer must be refused.
//
// Adding an update handler changes no command of a running job, so it needs no
// GetVersion: a job that never gets this update replays as before.
func (r *jobRun) registerUploads(ctx workflow.Context) error {
	return setUpdate(ctx, r, job.UpdateAttachFile,
		func(q job.AttachFileRequest) (string, job.Actor) { return q.RequestKey, q.Actor },
		r.e.planAttach, r.e.attach)
}

// planAttach checks an attach request: a file upload field of the current phase in the
// acting side's view, writable there, and a stored file to name.
func (e *engine) planAttach(req job.AttachFileRequest) error {
	if err := checkActor(req.Actor, job.Staff, job.Customer); err != nil {
		return err
	}
	if err := e.checkActive(); err != nil {
		return err
	}
	bad := func(field, code, reason string, params ...string) error {
		return reject(job.CodeInvalid, "upload_invalid", "cannot attach that file").WithFields(job.NewFieldError(field, code, reason, params...))
	}
	side := req.Actor.Side
	use := e.currentUse(side, req.Field)
	f, ok := e.def.Field(req.Field)
	switch {
	case use == nil || !ok:
		return bad("field", "not_in_view", fmt.Sprintf("not a field of the %s view of phase %q", side, e.st.Phase), "side", string(side), "phase", e.st.Phase)
	case f.Type != definitions.TypeFileUpload:
		return bad("field", "not_upload", fmt.Sprintf("a %s field takes no file", f.Type), "type", string(f.Type))
	case use.ReadOnly:
		return bad("field", "read_only", "is read-only")
	case req.DocumentID == "":
		return bad("document_id", "required", "is required")
	}
	return nil
}

// attach sets the field to the stored file and records it. A customer's upload hands
// the turn to staff when the customer view has no save button to press after it: then
// the upload was the customer's whole move.
func (e *engine) attach(now time.Time, req job.AttachFileRequest) error {
	if err := e.planAttach(req); err != nil {
		return err
	}
	var before map[string]any
	if old, ok := e.st.Values[req.Field].(map[string]any); ok {
		before = map[string]any{"document_id": old["document_id"], "filename": old["filename"]}
	}
	e.st.Values[req.Field] = map[string]any{"document_id": req.DocumentID, "version": float64(req.Version), "filename": req.Filename}
	if req.Actor.Side == job.Customer && !e.saveButtonShown(job.Customer) {
		e.st.Turn = definitions.TurnStaff
	}
	e.record(now, req.Actor, job.ActionFileAttached, e.st.Phase, before, map[string]any{
		"field": req.Field, "document_id": req.DocumentID, "version": req.Version, "filename": req.Filename,
	})
	return nil
}

// saveButtonShown reports whether the side's view of the current phase shows a save
// button.
func (e *engine) saveButtonShown(side job.Side) bool {
	for _, u := range e.visibleUses(e.phase(e.st.Phase), side, e.st.Values, e.submitted(side)) {
		if f, ok := e.def.Field(u.Field); ok && f.Type == definitions.TypeSaveButton {
			return true
		}
	}
	return false
}
