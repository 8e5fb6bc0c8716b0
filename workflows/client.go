package workflows

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"dimos"
)

// Dispatcher is the typed client of case workflows: it starts them and carries staff
// decisions to them.
type Dispatcher struct {
	Client     client.Client
	Directory  dimos.Directory // the case's category: its clocks and auto-assignment
	ReopenDays int
}

// InputFor builds the input of a case's workflow.
func InputFor(c *dimos.Case, cat *dimos.Category, reopenDays int) CaseInput {
	return CaseInput{CaseID: c.ID, Number: c.Number, CategoryCode: c.CategoryCode, Kind: c.Kind, Channel: c.Channel,
		SubmittedAt: c.SubmittedAt, Anonymous: c.Anonymous, Targets: cat.Targets, AutoAssign: cat.AutoAssign,
		ReopenDays: reopenDays}
}

// Start starts the workflow of a stored case. Starting a case whose workflow already
// exists is not an error: the id is derived from the case number, so a second start
// (a retry, the sweep racing the first attempt) finds the first and stops there.
func (d Dispatcher) Start(ctx context.Context, c *dimos.Case) error {
	cat, err := d.Directory.CategoryByCode(ctx, c.CategoryCode)
	if err != nil {
		return err
	}
	_, err = d.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(c.Number),
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// When a worker of this process shares the client (dimos dev, make run), the
		// server hands the case's first workflow task back with the start, to that
		// worker, rather than through the task queue. Elsewhere nothing changes.
		EnableEagerStart: true,
	}, CaseWorkflow, InputFor(c, cat, d.ReopenDays))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// Update sends one of the case's updates (UpdateAssign, UpdateComment, …) with its
// request struct and waits until it took effect. A refusal of the validator or of the
// handler comes back as a *dimos.Error.
func (d Dispatcher) Update(ctx context.Context, number, name string, req any) (Done, error) {
	h, err := d.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   WorkflowID(number),
		UpdateName:   name,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return Done{}, domainError(err)
	}
	var res Done
	return res, domainError(h.Get(ctx, &res))
}

// State asks a running case workflow where it is.
func (d Dispatcher) State(ctx context.Context, number string) (CaseState, error) {
	v, err := d.Client.QueryWorkflow(ctx, WorkflowID(number), "", QueryState)
	if err != nil {
		return CaseState{}, domainError(err)
	}
	var s CaseState
	return s, v.Get(&s)
}

// Ping reports whether the Temporal frontend answers.
func (d Dispatcher) Ping(ctx context.Context) error {
	_, err := d.Client.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// Retarget tells the workflows of open cases that their category's clocks changed; the
// new targets apply to them from now on. It signals every case it can and returns how
// many it reached and the first error.
func (d Dispatcher) Retarget(ctx context.Context, numbers []string, t dimos.Targets) (int, error) {
	var first error
	n := 0
	for _, number := range numbers {
		err := d.Client.SignalWorkflow(ctx, WorkflowID(number), "", SignalTargetsChanged, TargetsChanged{Targets: t})
		var notFound *serviceerror.NotFound
		switch {
		case err == nil:
			n++
		case errors.As(err, &notFound): // finished meanwhile
		case first == nil:
			first = err
		}
	}
	return n, first
}
