package workflows

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"

	"dimos"
	"dimos/activities"
	"dimos/notify"
)

// Limits of what staff and citizens write on a case, in characters.
const (
	maxComment = 5000
	maxReason  = 2000
)

// setupUpdates registers every decision as an Update with a validator. A validator
// reads only the workflow's state and refuses at once, before anything is written; the
// handler then takes the mutex and checks again, since another decision may have been
// taken in between.
func (w *caseWorkflow) setupUpdates(ctx workflow.Context) error {
	for _, u := range []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateAssign, w.handleAssign, ahead(w, w.validateAssign)},
		{UpdateTransfer, w.handleTransfer, ahead(w, w.validateTransfer)},
		{UpdateComment, w.handleComment, ahead(w, w.validateComment)},
		{UpdateAttach, w.handleAttach, ahead(w, w.validateAttach)},
		{UpdateRequestInfo, w.handleRequestInfo, aheadCtx(w, w.validateRequestInfo)},
		{UpdateSetDueDate, w.handleSetDueDate, aheadCtx(w, w.validateSetDueDate)},
		{UpdateRegisterProtocol, w.handleRegisterProtocol, ahead(w, w.validateRegisterProtocol)},
		{UpdateComplete, w.handleComplete, ahead(w, w.validateComplete)},
		{UpdateReject, w.handleReject, ahead(w, w.validateReject)},
		{UpdateCitizenComment, w.handleCitizenComment, ahead(w, w.validateCitizenComment)},
		{UpdateRate, w.handleRate, ahead(w, w.validateRate)},
		{UpdateReopen, w.handleReopen, aheadCtx(w, w.validateReopen)},
		{UpdateMerge, w.handleMerge, ahead(w, w.validateMerge)},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler,
			workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return err
		}
	}
	return nil
}

// ahead makes a validator judge a decision on the state the database has, or is about
// to have: a transition being written (w.writing) is already visible to staff, since
// PostgreSQL holds it before its activity's result reaches the workflow, and the console
// offers what the stored stage allows (an "assign" as soon as the case shows routed). A
// decision passes when the state as it stands, or as it will stand once the write is
// taken in, allows it. Nothing is decided early: the handler's guard waits for the
// mutex, which the writer holds until the transition is the workflow's state, and then
// checks again on that state. Validators do not run on replay, so accepting more here
// changes no recorded history.
func ahead[R any](w *caseWorkflow, validate func(R) error) func(R) error {
	return func(r R) error { return w.judgeAhead(func() error { return validate(r) }) }
}

// aheadCtx is ahead for validators that read the workflow's clock.
func aheadCtx[R any](w *caseWorkflow, validate func(workflow.Context, R) error) func(workflow.Context, R) error {
	return func(ctx workflow.Context, r R) error { return w.judgeAhead(func() error { return validate(ctx, r) }) }
}

func (w *caseWorkflow) judgeAhead(validate func() error) error {
	err := validate()
	if err == nil {
		return nil
	}
	if w.routing && w.writing == nil && isRefusal(err, "error.case.not_routed") {
		// The route is being looked up, perhaps again after a crash, and the database
		// may show the case routed already. Who may decide is known only once it is
		// taken in: the handler waits for that and judges then.
		return nil
	}
	if w.writing == nil {
		return err
	}
	// Validators are synchronous and only read w, so the state can be swapped for the
	// call and put back: no other coroutine runs in between.
	now := w.st
	w.st = w.st.after(*w.writing)
	defer func() { w.st = now }()
	// Refused either way: say why as of the state the database shows.
	return validate()
}

// guard takes the mutex and validates again under it; the caller must Unlock when it
// returns nil.
func (w *caseWorkflow) guard(ctx workflow.Context, validate func() error) error {
	// A decision accepted while the case was being routed waits for the routing (see
	// judgeAhead). routing is never set in histories from before versionLocalDB, and
	// Await returns without yielding when its condition holds, so they replay as
	// they ran.
	if err := workflow.Await(ctx, func() bool { return !w.routing }); err != nil {
		return err
	}
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	if err := validate(); err != nil {
		w.mu.Unlock()
		return err
	}
	return nil
}

func (w *caseWorkflow) done(ctx workflow.Context) Done { return Done{At: workflow.Now(ctx)} }

// --- who may decide ---

// open refuses decisions on a case that is finished or not yet with a service.
func (w *caseWorkflow) open() error {
	switch {
	case w.st.Stage.Terminal():
		return refuse(dimos.ECONFLICT, "error.case.closed")
	case w.st.Stage == dimos.StageReceived || w.st.Stage == dimos.StageAwaitingProtocol:
		return refuse(dimos.ECONFLICT, "error.case.not_routed")
	}
	return nil
}

// holds reports whether the actor may decide on the case: its assignee, or the
// director of the service that holds it.
func (w *caseWorkflow) holds(by dimos.Actor) bool {
	if by.EmployeeID != 0 && by.EmployeeID == w.st.AssigneeID {
		return true
	}
	return by.Role == dimos.RoleDirector && by.ServiceID != 0 && by.ServiceID == w.st.ServiceID
}

// member reports whether the actor may comment: anyone of the holding service, the
// assignee, and managers.
func (w *caseWorkflow) member(by dimos.Actor) bool {
	return w.holds(by) || by.ServiceID != 0 && by.ServiceID == w.st.ServiceID || by.Role == dimos.RoleManager
}

func (w *caseWorkflow) mustHold(by dimos.Actor) error {
	if err := w.open(); err != nil {
		return err
	}
	if !w.holds(by) {
		return refuse(dimos.EFORBIDDEN, "error.case.not_holder")
	}
	return nil
}

// text checks a required free text field.
func text(field, s string, max int, requiredKey string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return refuseField(field, requiredKey)
	case !utf8.ValidString(s):
		return refuseField(field, "field.utf8")
	case utf8.RuneCountInString(s) > max:
		return refuseField(field, "field.too_long")
	}
	return nil
}

// --- assign, transfer ---

func (w *caseWorkflow) validateAssign(r AssignRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	if r.EmployeeID == 0 {
		return refuseField("employee", "field.required")
	}
	if r.EmployeeID == w.st.AssigneeID {
		return refuse(dimos.ECONFLICT, "error.assign.same")
	}
	return nil
}

func (w *caseWorkflow) handleAssign(ctx workflow.Context, r AssignRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateAssign(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	var e dimos.Employee
	if err := w.dbStep(ctx, a.CheckAssignee, activities.AssigneeInput{ServiceID: w.st.ServiceID, EmployeeID: r.EmployeeID}, &e); err != nil {
		return Done{}, domainError(err)
	}
	eventType := "assigned"
	if w.st.Stage != dimos.StageRouted {
		eventType = "reassigned"
	}
	if err := w.transition(ctx, dimos.StageAssigned, 0, r.EmployeeID, "",
		dimos.CaseEvent{Type: eventType, Public: true, ActorID: r.By.EmployeeID, EmployeeID: r.EmployeeID}); err != nil {
		return Done{}, err
	}
	if note := strings.TrimSpace(r.Note); note != "" {
		// The note is for the new holder, not the citizen: an internal comment.
		if err := w.change(ctx, w.updateKey(ctx, "assign_note"), dimos.CaseChange{Event: dimos.CaseEvent{
			Type: "comment", ActorID: r.By.EmployeeID, Body: note}}); err != nil {
			return Done{}, err
		}
	}
	w.notify(ctx, notify.EventCaseAssigned, activities.ToCitizen, fmt.Sprintf("assigned/%d", w.st.Seq), activities.NotifyInput{})
	return w.done(ctx), nil
}

func (w *caseWorkflow) validateTransfer(r TransferRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	if r.ServiceID == 0 {
		return refuseField("service", "field.required")
	}
	if r.ServiceID == w.st.ServiceID {
		return refuse(dimos.ECONFLICT, "error.transfer.same")
	}
	return text("reason", r.Reason, maxReason, "field.required")
}

// handleTransfer sends the case to another service's director. The case keeps its
// clocks: the citizen's wait does not start again because the office moved the case.
func (w *caseWorkflow) handleTransfer(ctx workflow.Context, r TransferRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateTransfer(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	var route dimos.Routing
	if err := w.dbStep(ctx, a.RouteToService, r.ServiceID, &route); err != nil {
		return Done{}, domainError(err)
	}
	if err := w.transition(ctx, dimos.StageRouted, route.ServiceID, route.DirectorID, "",
		dimos.CaseEvent{Type: "transferred", Public: true, ActorID: r.By.EmployeeID, EmployeeID: route.DirectorID, Body: strings.TrimSpace(r.Reason)}); err != nil {
		return Done{}, err
	}
	w.notify(ctx, notify.EventCaseRoutedDirector, activities.ToDirector, fmt.Sprintf("routed/%d", w.st.Seq), activities.NotifyInput{})
	return w.done(ctx), nil
}

// --- comments and attachments ---

func (w *caseWorkflow) validateComment(r CommentRequest) error {
	if w.st.Stage == dimos.StageReceived || w.st.Stage == dimos.StageAwaitingProtocol {
		return refuse(dimos.ECONFLICT, "error.case.not_routed")
	}
	if !w.member(r.By) {
		return refuse(dimos.EFORBIDDEN, "error.case.not_holder")
	}
	if r.Public && w.st.Stage.Terminal() {
		return refuse(dimos.ECONFLICT, "error.case.closed")
	}
	return text("text", r.Text, maxComment, "field.required")
}

// handleComment records a comment; a public one goes to the citizen (M12) and counts
// as the office's response. The holder's first public word moves an assigned case to
// "in progress".
func (w *caseWorkflow) handleComment(ctx workflow.Context, r CommentRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateComment(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	key := w.updateKey(ctx, "comment")
	body := strings.TrimSpace(r.Text)
	if err := w.change(ctx, key, dimos.CaseChange{Event: dimos.CaseEvent{Type: "comment", Public: r.Public, ActorID: r.By.EmployeeID, Body: body}}); err != nil {
		return Done{}, err
	}
	if r.Public {
		w.meet(ClockResponse, workflow.Now(ctx))
		w.notify(ctx, notify.EventComment, activities.ToCitizen, key, activities.NotifyInput{Comment: body})
		if err := w.startWork(ctx, r.By); err != nil {
			return Done{}, err
		}
	}
	w.dirty = true
	return w.done(ctx), nil
}

// startWork moves an assigned case to "in progress" when its assignee first acts.
func (w *caseWorkflow) startWork(ctx workflow.Context, by dimos.Actor) error {
	if w.st.Stage != dimos.StageAssigned || by.EmployeeID != w.st.AssigneeID {
		return nil
	}
	return w.transition(ctx, dimos.StageInProgress, 0, 0, "", dimos.CaseEvent{Type: "in_progress", Public: true, ActorID: by.EmployeeID})
}

func (w *caseWorkflow) validateAttach(r AttachRequest) error {
	if w.st.Stage.Terminal() {
		return refuse(dimos.ECONFLICT, "error.case.closed")
	}
	if !w.member(r.By) {
		return refuse(dimos.EFORBIDDEN, "error.case.not_holder")
	}
	if r.Attachment.ID == 0 {
		return refuseField("attachment", "field.required")
	}
	return nil
}

func (w *caseWorkflow) handleAttach(ctx workflow.Context, r AttachRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateAttach(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	err := w.change(ctx, fmt.Sprintf("attachment/%d", r.Attachment.ID), dimos.CaseChange{Event: dimos.CaseEvent{
		Type: "attachment", Public: r.Public, ActorID: r.By.EmployeeID, Body: r.Attachment.Name}})
	if err != nil {
		return Done{}, err
	}
	return w.done(ctx), nil
}

// --- asking the citizen ---

func (w *caseWorkflow) validateRequestInfo(ctx workflow.Context, r RequestInfoRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	if w.st.Stage == dimos.StageWaitingCitizen {
		return refuse(dimos.ECONFLICT, "error.case.waiting")
	}
	if r.ReplyDays != 0 && (r.ReplyDays < 1 || r.ReplyDays > 60) {
		return refuseField("reply_days", "field.reply_days.range")
	}
	return text("question", r.Question, maxComment, "field.required")
}

// handleRequestInfo asks the citizen for information. The case waits and the clocks
// stop; a reminder goes out halfway, and when the time runs out the case closes.
func (w *caseWorkflow) handleRequestInfo(ctx workflow.Context, r RequestInfoRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateRequestInfo(ctx, r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	days := r.ReplyDays
	if days == 0 {
		days = w.targets.InfoReplyDays
	}
	if days <= 0 {
		days = 15
	}
	now := workflow.Now(ctx)
	question := strings.TrimSpace(r.Question)
	w.resumeStage = w.st.Stage
	if w.resumeStage == dimos.StageAssigned && r.By.EmployeeID == w.st.AssigneeID {
		w.resumeStage = dimos.StageInProgress
	}
	if err := w.transition(ctx, dimos.StageWaitingCitizen, 0, 0, "",
		dimos.CaseEvent{Type: "info_requested", Public: true, ActorID: r.By.EmployeeID, Body: question}); err != nil {
		return Done{}, err
	}
	w.infoAsked, w.reminded = now, false
	w.st.InfoDeadline = calendar.AddWorkingDuration(now, time.Duration(days*float64(day)))
	w.notify(ctx, notify.EventInfoRequested, activities.ToCitizen, fmt.Sprintf("info_requested/%d", w.st.Seq),
		activities.NotifyInput{Comment: question, ReplyBy: w.st.InfoDeadline})
	return w.done(ctx), nil
}

func (w *caseWorkflow) validateCitizenComment(r CitizenCommentRequest) error {
	if w.st.Stage.Terminal() {
		return refuse(dimos.ECONFLICT, "error.case.closed")
	}
	if strings.TrimSpace(r.Text) == "" && len(r.Attachments) > 0 {
		return nil
	}
	return text("text", r.Text, maxComment, "field.required")
}

// handleCitizenComment records the citizen's comment and files; when the office was
// waiting for them, the case returns to where it was and the clocks run again.
func (w *caseWorkflow) handleCitizenComment(ctx workflow.Context, r CitizenCommentRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateCitizenComment(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	key := w.updateKey(ctx, "citizen_comment")
	if body := strings.TrimSpace(r.Text); body != "" {
		if err := w.change(ctx, key, dimos.CaseChange{Event: dimos.CaseEvent{Type: "citizen_comment", Public: true, ByCitizen: true, Body: body}}); err != nil {
			return Done{}, err
		}
	}
	for _, att := range r.Attachments {
		if err := w.change(ctx, fmt.Sprintf("attachment/%d", att.ID), dimos.CaseChange{Event: dimos.CaseEvent{
			Type: "attachment", Public: true, ByCitizen: true, Body: att.Name}}); err != nil {
			return Done{}, err
		}
	}
	if w.st.Stage == dimos.StageWaitingCitizen {
		resume := w.resumeStage
		if resume == "" {
			resume = dimos.StageInProgress
		}
		if err := w.transition(ctx, resume, 0, 0, "", dimos.CaseEvent{Type: "citizen_replied", Public: true, ByCitizen: true}); err != nil {
			return Done{}, err
		}
		w.st.InfoDeadline = time.Time{}
	}
	return w.done(ctx), nil
}

// --- dates and the protocol ---

func (w *caseWorkflow) validateSetDueDate(ctx workflow.Context, r DueDateRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	if !r.Due.After(workflow.Now(ctx)) {
		return refuseField("due", "field.due.past")
	}
	if strings.TrimSpace(r.Reason) != "" {
		return text("reason", r.Reason, maxReason, "field.required")
	}
	return nil
}

// handleSetDueDate sets or moves the expected completion or pickup date; the citizen
// is told of every change (M7).
func (w *caseWorkflow) handleSetDueDate(ctx workflow.Context, r DueDateRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateSetDueDate(ctx, r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	key := w.updateKey(ctx, "due_date")
	reason := strings.TrimSpace(r.Reason)
	if err := w.change(ctx, key, dimos.CaseChange{DueDate: r.Due, Event: dimos.CaseEvent{
		Type: "due_date_set", Public: true, ActorID: r.By.EmployeeID, Body: reason}}); err != nil {
		return Done{}, err
	}
	w.st.DueDate = r.Due
	w.notify(ctx, notify.EventDueDateChanged, activities.ToCitizen, key, activities.NotifyInput{DueDate: r.Due, Reason: reason})
	if err := w.startWork(ctx, r.By); err != nil {
		return Done{}, err
	}
	return w.done(ctx), nil
}

func (w *caseWorkflow) validateRegisterProtocol(r ActorRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	if w.st.Protocol.Number != "" || w.st.ProtocolFailed || w.background > 0 {
		return refuse(dimos.ECONFLICT, "error.protocol.already")
	}
	return nil
}

// handleRegisterProtocol registers a case that is not a certificate application, when
// the clerk judges it needed (M11). The update returns at once; the registration
// goes on in the background until the registry answers.
func (w *caseWorkflow) handleRegisterProtocol(ctx workflow.Context, r ActorRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateRegisterProtocol(r) }); err != nil {
		return Done{}, err
	}
	w.background++
	w.mu.Unlock()
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.background--; w.dirty = true }()
		if err := w.registerProtocol(ctx); err != nil {
			workflow.GetLogger(ctx).Error("protocol registration failed", "case", w.in.Number, "err", err)
		}
	})
	return w.done(ctx), nil
}

// --- the end ---

func (w *caseWorkflow) validateComplete(r CompleteRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	return text("answer", r.Answer, dimos.MaxAnswerLen, "field.answer.required")
}

// handleComplete completes the case with the municipality's answer (M13).
func (w *caseWorkflow) handleComplete(ctx workflow.Context, r CompleteRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateComplete(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	if err := w.transition(ctx, dimos.StageCompleted, 0, 0, strings.TrimSpace(r.Answer),
		dimos.CaseEvent{Type: "completed", Public: true, ActorID: r.By.EmployeeID}); err != nil {
		return Done{}, err
	}
	w.notify(ctx, notify.EventCaseCompleted, activities.ToCitizen, fmt.Sprintf("completed/%d", w.st.Seq), activities.NotifyInput{})
	return w.done(ctx), nil
}

func (w *caseWorkflow) validateReject(r RejectRequest) error {
	if err := w.mustHold(r.By); err != nil {
		return err
	}
	return text("reason", r.Reason, maxReason, "field.required")
}

func (w *caseWorkflow) handleReject(ctx workflow.Context, r RejectRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateReject(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	reason := strings.TrimSpace(r.Reason)
	if err := w.transition(ctx, dimos.StageRejected, 0, 0, reason,
		dimos.CaseEvent{Type: "rejected", Public: true, ActorID: r.By.EmployeeID, Body: reason}); err != nil {
		return Done{}, err
	}
	w.notify(ctx, notify.EventCaseRejected, activities.ToCitizen, fmt.Sprintf("rejected/%d", w.st.Seq), activities.NotifyInput{Reason: reason})
	return w.done(ctx), nil
}

func (w *caseWorkflow) validateRate(r RateRequest) error {
	if w.st.Stage != dimos.StageCompleted {
		return refuse(dimos.ECONFLICT, "error.case.open")
	}
	if w.rated {
		return refuse(dimos.ECONFLICT, "error.case.rated")
	}
	if err := r.Rating.Validate(); err != nil {
		return refuseField("stars", "field.rating.range")
	}
	return nil
}

func (w *caseWorkflow) handleRate(ctx workflow.Context, r RateRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateRate(r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	rating := dimos.Rating{Stars: r.Rating.Stars, Remark: strings.TrimSpace(r.Rating.Remark)}
	if err := w.change(ctx, "rating", dimos.CaseChange{Rating: &rating, Event: dimos.CaseEvent{
		Type: "rated", ByCitizen: true, Body: fmt.Sprintf("%d/5 %s", rating.Stars, rating.Remark)}}); err != nil {
		return Done{}, err
	}
	w.rated = true
	return w.done(ctx), nil
}

func (w *caseWorkflow) validateReopen(ctx workflow.Context, r ReopenRequest) error {
	if !w.st.Stage.Terminal() {
		return refuse(dimos.ECONFLICT, "error.case.open")
	}
	if !workflow.Now(ctx).Before(w.st.ReopenUntil) {
		return refuse(dimos.ECONFLICT, "error.case.reopen_closed")
	}
	return text("reason", r.Reason, maxReason, "field.required")
}

// handleReopen reopens a finished case within the window: it returns to whoever held
// it, and the clocks run on from where they stopped.
func (w *caseWorkflow) handleReopen(ctx workflow.Context, r ReopenRequest) (Done, error) {
	if err := w.guard(ctx, func() error { return w.validateReopen(ctx, r) }); err != nil {
		return Done{}, err
	}
	defer w.mu.Unlock()
	if err := w.transition(ctx, dimos.StageInProgress, 0, 0, "",
		dimos.CaseEvent{Type: "reopened", Public: true, ByCitizen: true, Body: strings.TrimSpace(r.Reason)}); err != nil {
		return Done{}, err
	}
	for _, c := range w.clocks {
		if c.name == ClockCompletion || c.name == ClockStatutory {
			c.metAt = time.Time{}
		}
	}
	w.st.ReopenUntil, w.rated = time.Time{}, false
	return w.done(ctx), nil
}

// updateKey is an idempotency key for the change an update makes: the update's id,
// which Temporal keeps the same on every retry and replay of the same update.
func (w *caseWorkflow) updateKey(ctx workflow.Context, prefix string) string {
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil && info.ID != "" {
		return prefix + "/" + info.ID
	}
	return w.nextKey(prefix)
}
