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
//
// Unless opts says otherwise, the worker's pollers scale with the work waiting. With
// the SDK's fixed default of two pollers per kind, a burst of new cases waited in the
// task queue for up to five seconds before its first workflow task even on an idle
// machine (BenchmarkLifecycle, 300 lifecycles from 32 clients: routed 4.1 s after
// submission at p90 with two pollers, 0.4 s with more).
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	if opts.WorkflowTaskPollerBehavior == nil && opts.MaxConcurrentWorkflowTaskPollers == 0 {
		opts.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
	}
	if opts.ActivityTaskPollerBehavior == nil && opts.MaxConcurrentActivityTaskPollers == 0 {
		opts.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
	}
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
