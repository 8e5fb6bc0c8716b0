package workflows

import (
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dimos"
	"dimos/activities"
)

// a is the activity struct the workflow refers to by method; its fields are never used
// inside the workflow, only its method names.
var a *activities.Activities

// CaseWorkflow is the life of one case in the office: it routes the case to the
// director of the responsible service, waits for the case to be completed with an
// answer, and records every stage it passes so that delays can be measured.
func CaseWorkflow(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	w := &caseWorkflow{in: in, state: CaseState{Number: in.Number, Stage: dimos.StageReceived, Seq: 1, Since: in.SubmittedAt}}
	if err := w.setup(ctx); err != nil {
		return CaseResult{}, err
	}
	return w.run(ctx)
}

type caseWorkflow struct {
	in    CaseInput
	state CaseState
	// busy is true while an update's activity is in flight, so that a second
	// decision cannot slip in between validation and recording.
	busy bool
}

// activityOptions: the database may be down for a while; an activity keeps trying
// (with back-off up to a minute) until it is back, because a case must never be lost.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

func (w *caseWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CaseState, error) {
		return w.state, nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateComplete, w.complete,
		workflow.UpdateHandlerOptions{Validator: w.validateComplete})
}

func (w *caseWorkflow) run(ctx workflow.Context) (CaseResult, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)

	var route dimos.Routing
	err := workflow.ExecuteActivity(ctx, a.RouteCase, activities.RouteInput{
		CaseID: w.in.CaseID, CategoryCode: w.in.CategoryCode}).Get(ctx, &route)
	if err != nil {
		return CaseResult{}, err
	}
	err = w.transition(ctx, dimos.StageRouted, route.ServiceID, route.DirectorID, "", dimos.CaseEvent{
		Type: "routed", Public: true, EmployeeID: route.DirectorID})
	if err != nil {
		return CaseResult{}, err
	}

	if err := workflow.Await(ctx, func() bool { return w.state.Stage.Terminal() }); err != nil {
		return CaseResult{}, err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return CaseResult{}, err
	}
	return CaseResult{Number: w.in.Number, Stage: w.state.Stage, CompletedAt: w.state.Since}, nil
}

// transition records the move to stage and, once stored, makes it the workflow's
// state. Seq numbers the stage visits and is the idempotency key of the write.
func (w *caseWorkflow) transition(ctx workflow.Context, stage dimos.Stage, serviceID, employeeID int64, answer string, ev dimos.CaseEvent) error {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	now := workflow.Now(ctx)
	t := dimos.Transition{CaseID: w.in.CaseID, Seq: w.state.Seq + 1, Stage: stage, At: now,
		ServiceID: serviceID, EmployeeID: employeeID, Answer: answer, Event: ev}
	if err := workflow.ExecuteActivity(ctx, a.RecordTransition, t).Get(ctx, nil); err != nil {
		return err
	}
	w.state.Seq = t.Seq
	w.state.Stage = stage
	w.state.Since = now
	if serviceID != 0 {
		w.state.ServiceID = serviceID
	}
	if employeeID != 0 {
		w.state.AssigneeID = employeeID
	}
	return nil
}

// validateComplete refuses a completion at once, before anything is written: the
// console shows its message to the clerk.
func (w *caseWorkflow) validateComplete(req CompleteRequest) error {
	switch {
	case w.state.Stage.Terminal():
		return refuse(dimos.ECONFLICT, "error.case.closed")
	case w.busy || w.state.Stage == dimos.StageReceived:
		return refuse(dimos.ECONFLICT, "error.case.busy")
	case !w.holds(req.By):
		return refuse(dimos.EFORBIDDEN, "error.case.not_holder")
	case strings.TrimSpace(req.Answer) == "":
		return refuseField("answer", "field.answer.required")
	case !utf8.ValidString(req.Answer):
		return refuseField("answer", "field.utf8")
	case utf8.RuneCountInString(req.Answer) > dimos.MaxAnswerLen:
		return refuseField("answer", "field.too_long")
	}
	return nil
}

// holds reports whether the actor may decide on the case: its assignee, or the
// director of the service that holds it.
func (w *caseWorkflow) holds(by dimos.Actor) bool {
	if by.EmployeeID != 0 && by.EmployeeID == w.state.AssigneeID {
		return true
	}
	return by.Role == dimos.RoleDirector && by.ServiceID != 0 && by.ServiceID == w.state.ServiceID
}

func (w *caseWorkflow) complete(ctx workflow.Context, req CompleteRequest) (CompleteResult, error) {
	w.busy = true
	defer func() { w.busy = false }()
	err := w.transition(ctx, dimos.StageCompleted, 0, 0, strings.TrimSpace(req.Answer), dimos.CaseEvent{
		Type: "completed", Public: true, ActorID: req.By.EmployeeID})
	if err != nil {
		return CompleteResult{}, err
	}
	return CompleteResult{CompletedAt: w.state.Since}, nil
}
