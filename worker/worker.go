// Package worker puts the case workflows and their activities on the task queue.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"dimos/activities"
	"dimos/workflows"
)

// New returns a worker for the dimos task queue with every workflow and activity
// registered. The caller starts and stops it.
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	return w
}

// Register adds dimos's workflows and activities to any registry: a worker, a test
// environment or a replayer.
func Register(r interface {
	sdkworker.WorkflowRegistry
	sdkworker.ActivityRegistry
}, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.CaseWorkflow)
	r.RegisterWorkflow(workflows.WeeklyReportWorkflow)
	r.RegisterActivity(acts)
}
