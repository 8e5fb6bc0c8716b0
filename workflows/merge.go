package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dimos"
	"dimos/activities"
	"dimos/notify"
)

// validateMerge refuses at once what the duplicate's workflow can tell: a case that
// is closed or merged already, a caller who does not hold it, no original, the case
// itself, an original the caller saw closed, or one of another category without a
// reason. Whether the original is still open and unmerged is checked again by the
// merge itself, in the database, where both cases are locked.
func (w *caseWorkflow) validateMerge(r MergeRequest) error {
	if w.st.MergedInto != "" {
		return refuse(dimos.ECONFLICT, "error.merge.already")
	}
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	number := strings.TrimSpace(r.Original.Number)
	switch {
	case number == "":
		return refuseField("original", "field.required")
	case number == w.in.Number:
		return refuseField("original", "error.merge.self")
	case r.Original.Stage.Terminal():
		return refuseField("original", "error.merge.original_closed")
	case r.Original.CategoryCode != w.in.CategoryCode && strings.TrimSpace(r.Reason) == "":
		return refuseField("reason", "error.merge.category_reason")
	}
	if strings.TrimSpace(r.Reason) != "" {
		return text("reason", r.Reason, maxReason, "field.required")
	}
	return nil
}

// handleMerge merges the case into its original: the database records the merge and
// makes the case's citizen (and whoever followed this case) followers of the
// original, the case ends as rejected with a "merged" event naming the original, and
// its citizen is told which case now carries theirs. A merged case is not reopened:
// its citizen follows the original, so the workflow ends at once.
func (w *caseWorkflow) handleMerge(ctx workflow.Context, r MergeRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateMerge(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	workflow.GetVersion(ctx, versionMerge, workflow.DefaultVersion, 1)
	ctx = workflow.WithActivityOptions(ctx, dbOptions)
	number, reason := strings.TrimSpace(r.Original.Number), strings.TrimSpace(r.Reason)
	m := dimos.Merge{DuplicateID: w.in.CaseID, OriginalNumber: number, CategoryCode: w.in.CategoryCode,
		ActorID: r.By.EmployeeID, Reason: reason, At: workflow.Now(ctx)}
	if err := workflow.ExecuteActivity(ctx, a.MergeCase, m).Get(ctx, nil); err != nil {
		return Done{}, refusedBy(err)
	}
	body := number
	if reason != "" {
		body += " · " + reason
	}
	if err := w.transition(ctx, dimos.StageRejected, 0, 0, reason,
		dimos.CaseEvent{Type: "merged", Public: true, ActorID: r.By.EmployeeID, Body: body}); err != nil {
		return Done{}, err
	}
	w.st.MergedInto = number
	w.st.ReopenUntil = workflow.Now(ctx)
	w.notify(ctx, notify.EventCaseMerged, activities.ToCitizen, fmt.Sprintf("merged/%d", w.st.Seq),
		activities.NotifyInput{OriginalNumber: number, Reason: reason})
	return w.done(ctx), nil
}

// refusedBy hands on an activity's refusal for good (the database refused the merge)
// as the update's own, with the same code and catalogue key, so that the caller reads
// it as it reads a validator's; any other failure passes through.
func refusedBy(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() && appErr.Type() != "" {
		return refuse(appErr.Type(), appErr.Message())
	}
	return err
}
