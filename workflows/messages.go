// Package workflows holds the durable processes of dimos. This file is their public
// contract: the task queue, how workflow ids are made, the names of every update and
// query, and the structs that cross the boundary. Callers (the console, the intake
// API) need nothing else from this package.
package workflows

import (
	"time"

	"dimos"
)

// TaskQueue is where the dimos worker listens for case workflows and activities.
const TaskQueue = "dimos-cases"

// WorkflowID is the id of a case's workflow. Deriving it from the case number makes a
// second start of the same case impossible: Temporal refuses a duplicate id.
func WorkflowID(number string) string { return "case-" + number }

// Names of the messages a CaseWorkflow accepts.
const (
	// UpdateComplete completes the case with the municipality's answer (M13).
	UpdateComplete = "complete"
	// QueryState returns the CaseState.
	QueryState = "state"
)

// CaseInput starts a CaseWorkflow. The case itself is already stored; the workflow
// carries only what it needs to decide, never the citizen's text.
type CaseInput struct {
	CaseID       int64
	Number       string
	CategoryCode string
	Kind         dimos.Kind
	SubmittedAt  time.Time
}

// CaseResult is what a finished CaseWorkflow returns.
type CaseResult struct {
	Number      string
	Stage       dimos.Stage
	CompletedAt time.Time
}

// CompleteRequest is the argument of UpdateComplete.
type CompleteRequest struct {
	By     dimos.Actor
	Answer string
}

// CompleteResult is what UpdateComplete returns.
type CompleteResult struct {
	CompletedAt time.Time
}

// CaseState is the answer to QueryState.
type CaseState struct {
	Number     string
	Stage      dimos.Stage
	Seq        int // number of stage visits so far
	ServiceID  int64
	AssigneeID int64
	Since      time.Time // when the current stage was entered
}
