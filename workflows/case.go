package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dimos"
	"dimos/activities"
	"dimos/notify"
	"dimos/workdays"
)

// a is the activity struct the workflow refers to by method; its fields are never used
// inside the workflow, only its method names.
var a *activities.Activities

// calendar is the working-day calendar the clocks run on. It is immutable and pure, so
// workflow code may use it.
var calendar = workdays.Greek()

// Clock names.
const (
	ClockAssign     = "assign"
	ClockResponse   = "response"
	ClockCompletion = "completion"
	ClockStatutory  = "statutory"
)

// Thresholds of a clock, as shares of its target: a warning to the holder, the breach
// (escalated to the director) and the escalation to the managers.
const (
	warnShare     = 0.8
	escalateShare = 1.5
)

// Change ids for workflow.GetVersion: every change to the logic of a running
// CaseWorkflow goes behind one, so cases started before it replay as they ran.
const (
	versionFetchRecording = "fetch-ivr-recording"
	// versionMerge marks the histories of merged cases, so that a later change of
	// the merge's steps can tell them apart.
	versionMerge = "merge-duplicate"
	// versionLocalDB runs the short database steps (routing, transitions, changes,
	// the clerk and service look-ups) as local activities; see dbStep. Its versions:
	// localDBSteps, then localNotes.
	versionLocalDB = "local-db-steps"
)

// The versions of versionLocalDB. localNotes is a version of the same change id rather
// than a change id of its own because every change id the SDK meets in a new case costs
// a marker and an upsert of the TemporalChangeVersion search attribute, two history
// events, and, met in a later workflow task than the first, one more write to the
// server's visibility store. (Met in the first, as here, the upsert shares the write
// the server makes anyway when a worker completes a workflow's first task, to add
// the worker to its BuildIds: a version carried in the case's input instead was
// measured, and the visibility writes' share of the CPU stayed at 10%; see
// BENCHMARKS.md.)
const (
	// localDBSteps: the database steps as local activities.
	localDBSteps workflow.Version = 1
	// localNotes: also the notifications as local activities first (see notify); the
	// phone recording fetched with no change id of its own (every such case has the
	// step); one timer for the clocks at a time (see alarm).
	localNotes workflow.Version = 2
)

// defaultReopenDays applies when CaseInput.ReopenDays is zero.
const defaultReopenDays = 15

// CaseWorkflow is the life of one case in the office (M7, M10–M13, M16). It registers
// certificate applications in the protocol, routes the case to the director of the
// responsible service, lets staff assign, transfer, comment, ask the citizen and set
// dates, completes or rejects it, keeps it open for the citizen to rate or reopen, and
// runs the case's clocks in working days throughout. Every stage it passes becomes a
// stage-timing row; every change the citizen can see is told by e-mail and SMS.
func CaseWorkflow(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	w := newCaseWorkflow(ctx, in)
	// Taken first, before any handler can run, so that every step of the case is
	// run one way. A history recorded before the change has no marker here and
	// replays with ordinary activities throughout.
	w.version = workflow.GetVersion(ctx, versionLocalDB, workflow.DefaultVersion, localNotes)
	if err := w.setup(ctx); err != nil {
		return CaseResult{}, err
	}
	return w.run(ctx)
}

type caseWorkflow struct {
	in      CaseInput
	st      CaseState
	targets dimos.Targets
	clocks  []*clock

	// Working time during which the clocks stood still (waiting for the citizen,
	// finished), and since when they stand still now (zero while they run).
	paused      time.Duration
	pausedSince time.Time

	// mu serialises the writes of handlers and of the main loop: stage sequence
	// numbers must be taken one at a time.
	mu workflow.Mutex
	// dirty wakes the main loop when a handler changed something it times.
	dirty bool
	// writing is the transition being recorded, from the moment its activity is
	// scheduled until its result is taken in; nil otherwise. The database may already
	// show it, so validators accept what it will allow (see ahead).
	writing *dimos.Transition
	// routing is true from the start of route until the routed stage is the
	// workflow's state, in cases of versionLocalDB. Local activities leave no trace in
	// the history until their workflow task completes, so after a worker's crash the
	// workflow may be looking up the route again while the database already shows
	// the case routed: then only this flag says what is under way.
	routing bool
	// resumeStage is where a case returns when the citizen answers.
	resumeStage dimos.Stage
	infoAsked   time.Time
	reminded    bool
	// notes are notifications in flight; background counts other coroutines. The
	// workflow ends only when both are done.
	notes      []workflow.Future
	noteSeq    int
	background int
	rated      bool
	// version is the case's version of versionLocalDB.
	version workflow.Version
}

type clock struct {
	name      string
	days      float64
	metAt     time.Time
	warned    bool
	breached  bool
	escalated bool
}

func newCaseWorkflow(ctx workflow.Context, in CaseInput) *caseWorkflow {
	if in.ReopenDays <= 0 {
		in.ReopenDays = defaultReopenDays
	}
	w := &caseWorkflow{
		in: in, targets: in.Targets, mu: workflow.NewMutex(ctx),
		st: CaseState{Number: in.Number, Stage: dimos.StageReceived, Seq: 1, Since: in.SubmittedAt},
	}
	for _, name := range []string{ClockAssign, ClockResponse, ClockCompletion, ClockStatutory} {
		w.clocks = append(w.clocks, &clock{name: name})
	}
	w.applyTargets()
	return w
}

func (w *caseWorkflow) applyTargets() {
	days := map[string]float64{
		ClockAssign: w.targets.AssignDays, ClockResponse: w.targets.ResponseDays,
		ClockCompletion: w.targets.CompletionDays, ClockStatutory: w.targets.Statutory(),
	}
	for _, c := range w.clocks {
		c.days = days[c.name]
	}
}

var (
	// Writes to PostgreSQL: keep trying while the database is down; a case must never
	// be lost.
	dbOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	}
	// The same writes as local activities: run by the worker inside the workflow task
	// that asks for them, with no trip through the server's task queue. One try: a
	// database that fails is waited out by the ordinary activity with dbOptions (see
	// dbStep), which the server retries durably with the back-off above, for as long
	// as it takes, and whose attempts a worker's crash does not lose.
	localDBOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	// Mail and SMS: keep trying while the servers fail, a little slower.
	notifyOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute},
	}
	// The same as a local activity (localNotes): one try, within the workflow task
	// that tells the event. The task, and so the answer of an update that told it,
	// waits for it: when the mail server is down the wait must stay short, and the
	// ordinary activity with notifyOptions takes over (see localFirst).
	localNotifyOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	// A phone recording: the provider keeps it for a while; a few hours of tries.
	fetchOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 30},
	}
	// The first registration attempt: a few quick tries, so the citizen hears soon if
	// the registry is down.
	protocolFirstOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	}
	// Then as long as it takes (M11): days if need be, once an hour at most. The
	// attempts are bounded only to say so explicitly (a million hours); zero would
	// mean the same to the server but ten attempts to the SDK's test environment.
	protocolPatientOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Hour,
			MaximumAttempts: 1_000_000},
	}
)

func (w *caseWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CaseState, error) {
		return w.snapshot(workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalTargetsChanged)
		for {
			var tc TargetsChanged
			ch.Receive(ctx, &tc)
			w.targets = tc.Targets
			w.applyTargets()
			w.dirty = true
		}
	})
	return w.setupUpdates(ctx)
}

func (w *caseWorkflow) run(ctx workflow.Context) (CaseResult, error) {
	ctx = workflow.WithActivityOptions(ctx, dbOptions)
	w.notify(ctx, notify.EventCaseReceived, activities.ToCitizen, "received", activities.NotifyInput{})

	// Version 1 fetches a phone caller's recorded message and attaches it (M17).
	// Cases started before it have no such step, and replay without it; cases of
	// localNotes all have it, and take no marker for it.
	fetch := w.version >= localNotes || workflow.GetVersion(ctx, versionFetchRecording, workflow.DefaultVersion, 1) == 1
	if fetch && w.in.Channel == dimos.ChannelIVR {
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, fetchOptions), a.FetchRecording,
			activities.FetchInput{CaseID: w.in.CaseID, Number: w.in.Number}).Get(ctx, nil)
		if err != nil {
			// The case goes on without it; the clerk can call the citizen back.
			workflow.GetLogger(ctx).Error("recording not fetched", "case", w.in.Number, "err", err)
		}
	}

	if w.in.Kind == dimos.KindCertificate {
		// A certificate application is registered in the protocol before the office
		// works on it (M11): legally it has not arrived until it has a number.
		if err := w.lockedTransition(ctx, dimos.StageAwaitingProtocol, 0, 0, "", dimos.CaseEvent{Type: "awaiting_protocol"}); err != nil {
			return CaseResult{}, err
		}
		if err := w.registerProtocol(ctx); err != nil {
			return CaseResult{}, err
		}
	}
	if err := w.route(ctx); err != nil {
		return CaseResult{}, err
	}

	var al alarm
	for {
		now := workflow.Now(ctx)
		if w.st.Stage.Terminal() && !now.Before(w.st.ReopenUntil) {
			break
		}
		next := w.nextTimedEvent(now)
		w.dirty = false
		if w.version >= localNotes {
			if err := al.wait(ctx, now, next, func() bool { return w.dirty }); err != nil {
				return CaseResult{}, err
			}
		} else if next.IsZero() {
			if err := workflow.Await(ctx, func() bool { return w.dirty }); err != nil {
				return CaseResult{}, err
			}
		} else if _, err := workflow.AwaitWithTimeout(ctx, next.Sub(now), func() bool { return w.dirty }); err != nil {
			return CaseResult{}, err
		}
		if err := w.fireTimedEvents(ctx); err != nil {
			return CaseResult{}, err
		}
	}

	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && w.background == 0 }); err != nil {
		return CaseResult{}, err
	}
	for _, f := range w.notes {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("notification failed for good", "case", w.in.Number, "err", err)
		}
	}
	return CaseResult{Number: w.in.Number, Stage: w.st.Stage, CompletedAt: w.st.Since}, nil
}

// route sends the case to the director of its category's service, mails the director
// the basic facts (M10) and, where the category asks for it, gives it to the service's
// least-loaded clerk.
func (w *caseWorkflow) route(ctx workflow.Context) error {
	w.routing = w.version >= localDBSteps
	err := w.routeToDirector(ctx)
	w.routing = false
	if err != nil || !w.in.AutoAssign {
		return err
	}
	var clerk int64
	if err := w.dbStep(ctx, a.PickClerk, w.st.ServiceID, &clerk); err != nil || clerk == 0 {
		return err
	}
	return w.assign(ctx, 0, clerk, "assigned_auto")
}

// routeToDirector is the routing proper: the route looked up, the routed stage
// recorded, the director told.
func (w *caseWorkflow) routeToDirector(ctx workflow.Context) error {
	var route dimos.Routing
	err := w.dbStep(ctx, a.RouteCase, activities.RouteInput{CaseID: w.in.CaseID, CategoryCode: w.in.CategoryCode}, &route)
	if err != nil {
		return err
	}
	if err := w.lockedTransition(ctx, dimos.StageRouted, route.ServiceID, route.DirectorID, "",
		dimos.CaseEvent{Type: "routed", Public: true, EmployeeID: route.DirectorID}); err != nil {
		return err
	}
	w.notify(ctx, notify.EventCaseRoutedDirector, activities.ToDirector, fmt.Sprintf("routed/%d", w.st.Seq), activities.NotifyInput{})
	return nil
}

// assign gives the case to an employee of the service that holds it.
func (w *caseWorkflow) assign(ctx workflow.Context, by, employee int64, eventType string) error {
	if err := w.lockedTransition(ctx, dimos.StageAssigned, 0, employee, "",
		dimos.CaseEvent{Type: eventType, Public: true, ActorID: by, EmployeeID: employee}); err != nil {
		return err
	}
	w.notify(ctx, notify.EventCaseAssigned, activities.ToCitizen, fmt.Sprintf("assigned/%d", w.st.Seq), activities.NotifyInput{})
	return nil
}

// registerProtocol registers the case in the municipality's protocol. When the
// registry cannot register, the citizen is told that registration is pending, and the
// workflow keeps trying, with back-off, for as long as it takes; then the citizen is
// told the protocol number and date. The case number is the registry's idempotency
// key, so however many attempts there are, there is one protocol number.
func (w *caseWorkflow) registerProtocol(ctx workflow.Context) error {
	in := activities.RegisterInput{CaseID: w.in.CaseID, Number: w.in.Number}
	var entry dimos.ProtocolEntry
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, protocolFirstOptions), a.RegisterProtocol, in).Get(ctx, &entry)
	if err != nil && !refused(err) {
		w.st.ProtocolFailed = true
		w.notify(ctx, notify.EventProtocolPending, activities.ToCitizen, "protocol_pending", activities.NotifyInput{})
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, protocolPatientOptions), a.RegisterProtocol, in).Get(ctx, &entry)
	}
	w.st.ProtocolFailed = false
	if err != nil {
		// The registry refused the case for good: staff must register it by hand.
		workflow.GetLogger(ctx).Warn("protocol refused the case", "case", w.in.Number, "err", err)
		return w.change(ctx, "protocol_refused", dimos.CaseChange{Event: dimos.CaseEvent{Type: "protocol_refused"}})
	}
	w.st.Protocol = entry
	w.notify(ctx, notify.EventProtocolRegistered, activities.ToCitizen, "protocol_registered", activities.NotifyInput{})
	return nil
}

// refused reports whether an activity failed for good (a business refusal) rather
// than ran out of retries.
func refused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// lockedTransition is transition under the mutex, for the main loop.
func (w *caseWorkflow) lockedTransition(ctx workflow.Context, stage dimos.Stage, serviceID, employeeID int64, answer string, ev dimos.CaseEvent) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	return w.transition(ctx, stage, serviceID, employeeID, answer, ev)
}

// transition records the move to stage and, once stored, makes it the workflow's
// state, stopping or restarting the clocks. The caller holds the mutex. Seq numbers the
// stage visits and is the idempotency key of the write.
func (w *caseWorkflow) transition(ctx workflow.Context, stage dimos.Stage, serviceID, employeeID int64, answer string, ev dimos.CaseEvent) error {
	now := workflow.Now(ctx)
	t := dimos.Transition{CaseID: w.in.CaseID, Seq: w.st.Seq + 1, Stage: stage, At: now,
		ServiceID: serviceID, EmployeeID: employeeID, Answer: answer, Event: ev}
	w.writing = &t
	err := w.dbStep(ctx, a.RecordTransition, t, nil)
	w.writing = nil
	if err != nil {
		return err
	}
	wasRunning := w.st.Stage.ClockRuns()
	w.st = w.st.after(t)
	switch runs := stage.ClockRuns(); {
	case wasRunning && !runs:
		w.pausedSince = now
	case !wasRunning && runs && !w.pausedSince.IsZero():
		w.paused += calendar.WorkingDuration(w.pausedSince, now)
		w.pausedSince = time.Time{}
	}
	switch stage {
	case dimos.StageAssigned:
		w.meet(ClockAssign, now)
	case dimos.StageWaitingCitizen:
		w.meet(ClockResponse, now)
	case dimos.StageCompleted, dimos.StageRejected:
		for _, c := range w.clocks {
			w.meet(c.name, now)
		}
		w.st.ReopenUntil = now.Add(time.Duration(w.in.ReopenDays) * 24 * time.Hour)
	}
	w.dirty = true
	return nil
}

// after is the state once t is stored: its stage, and the service and holder it names.
func (st CaseState) after(t dimos.Transition) CaseState {
	st.Seq, st.Stage, st.Since = t.Seq, t.Stage, t.At
	if t.ServiceID != 0 {
		st.ServiceID = t.ServiceID
	}
	if t.EmployeeID != 0 {
		st.AssigneeID = t.EmployeeID
	}
	return st
}

func (w *caseWorkflow) meet(name string, at time.Time) {
	for _, c := range w.clocks {
		if c.name == name && c.metAt.IsZero() {
			c.metAt = at
		}
	}
}

// change applies a change that moves no stage, keyed for idempotency within the case.
func (w *caseWorkflow) change(ctx workflow.Context, key string, ch dimos.CaseChange) error {
	ch.CaseID, ch.Key = w.in.CaseID, key
	if ch.Event.At.IsZero() {
		ch.Event.At = workflow.Now(ctx)
	}
	return w.dbStep(ctx, a.ApplyChange, ch, nil)
}

// dbStep runs one short step against PostgreSQL (one transaction, idempotent) and
// decodes its result into result, if not nil. Cases of versionLocalDB run it as a local
// activity first: it costs no round trip through the server, and a lifecycle's dozen
// such steps were most of its time.
func (w *caseWorkflow) dbStep(ctx workflow.Context, activity, arg, result any) error {
	if w.version >= localDBSteps {
		return w.localFirst(ctx, localDBOptions, dbOptions, activity, arg, result)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbOptions), activity, arg).Get(ctx, result)
}

// localFirst runs an idempotent activity as a local activity with local, and when
// that fails (the database down for minutes, the mail server down) as an ordinary
// activity with remote, which the server retries as long as it takes, durably, and
// whose attempts a worker's crash does not lose. A refusal for good (a business
// error) or a cancellation is final either way.
func (w *caseWorkflow) localFirst(ctx workflow.Context, local workflow.LocalActivityOptions, remote workflow.ActivityOptions, activity, arg, result any) error {
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, local), activity, arg).Get(ctx, result)
	if err == nil || refused(err) || temporal.IsCanceledError(err) {
		return err
	}
	workflow.GetLogger(ctx).Warn("local try failed; retrying as an activity", "case", w.in.Number, "err", err)
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, remote), activity, arg).Get(ctx, result)
}

// notify tells an event without waiting for it: a mail server that is down must not
// hold up the case. The workflow waits for every notification before it ends.
//
// Cases of localNotes tell it as a local activity first: an ordinary activity costs
// the server a write to schedule it, one to start it, one to complete it and a
// workflow task to take in its result, and a lifecycle told half a dozen events. A
// local try that the worker's crash cuts short runs again with the workflow task;
// Notify's records of what it sent (per event, channel and recipient) make the second
// run send only what is missing.
func (w *caseWorkflow) notify(ctx workflow.Context, event string, to activities.Audience, key string, in activities.NotifyInput) {
	in.CaseID, in.Number, in.Event, in.Key, in.To = w.in.CaseID, w.in.Number, event, key, to
	if w.version < localNotes {
		ctx = workflow.WithActivityOptions(ctx, notifyOptions)
		w.notes = append(w.notes, workflow.ExecuteActivity(ctx, a.Notify, in))
		return
	}
	// In a coroutine of its own, so that the events told by one workflow task are
	// sent side by side, and the fallback's wait holds up nothing else.
	f, done := workflow.NewFuture(ctx)
	w.notes = append(w.notes, f)
	workflow.Go(ctx, func(ctx workflow.Context) {
		done.Set(nil, w.localFirst(ctx, localNotifyOptions, notifyOptions, a.Notify, in, nil))
	})
}

// alarm is the one timer of the clocks' loop in cases of localNotes. A timer is
// started only when none is pending for the next timed event or earlier: most moves
// of a case put the next event later (an assignment meets the assignment clock, a
// completion leaves only the reopen window), and then the timer already pending wakes
// the workflow early, once, for nothing, which is what every superseded timer did
// before (AwaitWithTimeout leaves its timer running when the condition comes first).
// So a lifecycle starts one timer, not one per transition.
type alarm struct {
	timer  workflow.Future
	at     time.Time
	cancel workflow.CancelFunc
}

// wait blocks until next or until woken says so.
func (al *alarm) wait(ctx workflow.Context, now, next time.Time, woken func() bool) error {
	if !next.IsZero() && (al.timer == nil || next.Before(al.at)) {
		if al.cancel != nil {
			al.cancel() // it would wake the workflow later for nothing
		}
		var tctx workflow.Context
		tctx, al.cancel = workflow.WithCancel(ctx)
		al.timer, al.at = workflow.NewTimer(tctx, next.Sub(now)), next
	}
	err := workflow.Await(ctx, func() bool { return woken() || al.timer != nil && al.timer.IsReady() })
	if al.timer != nil && al.timer.IsReady() {
		al.timer, al.cancel = nil, nil
	}
	return err
}

// nextKey returns a key unique within the workflow for an event without a natural one.
func (w *caseWorkflow) nextKey(prefix string) string {
	w.noteSeq++
	return fmt.Sprintf("%s/%d", prefix, w.noteSeq)
}
