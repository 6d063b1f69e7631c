// Package workers wires the Temporal worker: registration of the job workflow and its
// activities, the task queue, worker options, logging and graceful shutdown.
package workers
