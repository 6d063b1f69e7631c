// Package workflows holds JobWorkflow: one long-lived Temporal workflow per job that
// interprets the definition the job pins. It is deterministic (no I/O, no clock but the
// workflow's, no map iteration without sorting) and names no phase of any workflow: all
// of that is data in the definition.
package workflows
