package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"dimos"
	"dimos/activities"
	"dimos/notify"
)

// The clocks of a case count working days since submission, leaving out the time the
// office waited for the citizen and the time the case lay finished before a reopening.
// Deadlines are recomputed from the working time used, so a target an admin changes
// applies at once, and durable timers sleep until the next threshold.

const day = 24 * time.Hour

// elapsed is the municipality's working time on the case at now.
func (w *caseWorkflow) elapsed(now time.Time) time.Duration {
	e := calendar.WorkingDuration(w.in.SubmittedAt, now) - w.paused
	if !w.pausedSince.IsZero() {
		e -= calendar.WorkingDuration(w.pausedSince, now)
	}
	return e
}

// at is the instant when the working time used reaches used, if the clocks run on.
func (w *caseWorkflow) at(now time.Time, used time.Duration) time.Time {
	return calendar.AddWorkingDuration(now, used-w.elapsed(now))
}

// threshold returns the share of a clock's target at which its next step is due, and
// false when nothing more is due on it.
func (c *clock) threshold() (float64, bool) {
	switch {
	case c.days <= 0 || !c.metAt.IsZero():
		return 0, false
	case !c.warned:
		return warnShare, true
	case !c.breached:
		return 1, true
	case !c.escalated:
		return escalateShare, true
	}
	return 0, false
}

// nextTimedEvent is the earliest instant at which the workflow has something to do
// without being asked; zero when nothing is timed.
func (w *caseWorkflow) nextTimedEvent(now time.Time) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	switch {
	case w.st.Stage.Terminal():
		earliest(w.st.ReopenUntil)
	case w.st.Stage == dimos.StageWaitingCitizen:
		if !w.reminded {
			earliest(w.reminderAt())
		}
		earliest(w.st.InfoDeadline)
	case w.st.Stage.ClockRuns():
		for _, c := range w.clocks {
			if share, ok := c.threshold(); ok {
				earliest(w.at(now, time.Duration(share*c.days*float64(day))))
			}
		}
	}
	if !next.IsZero() && !next.After(now) {
		return now.Add(time.Millisecond) // due already: wake at once
	}
	return next
}

// reminderAt is halfway through the citizen's time to answer.
func (w *caseWorkflow) reminderAt() time.Time {
	half := calendar.WorkingDuration(w.infoAsked, w.st.InfoDeadline) / 2
	return calendar.AddWorkingDuration(w.infoAsked, half)
}

// fireTimedEvents does whatever has come due: warnings, breaches and escalations of
// the clocks; the reminder and the end of a request for information.
func (w *caseWorkflow) fireTimedEvents(ctx workflow.Context) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	now := workflow.Now(ctx)
	switch {
	case w.st.Stage == dimos.StageWaitingCitizen:
		if !w.reminded && !now.Before(w.reminderAt()) {
			w.reminded = true
			w.notify(ctx, notify.EventInfoRequested, activities.ToCitizen, fmt.Sprintf("info_reminder/%d", w.st.Seq),
				activities.NotifyInput{ReplyBy: w.st.InfoDeadline})
		}
		if !now.Before(w.st.InfoDeadline) {
			// The citizen did not answer in time: the case closes (Ν.2690/1999 lets the
			// office close a request it cannot examine without the information).
			err := w.transition(ctx, dimos.StageRejected, 0, 0, "", dimos.CaseEvent{Type: "closed_no_reply", Public: true})
			if err != nil {
				return err
			}
			w.notify(ctx, notify.EventCaseRejected, activities.ToCitizen, fmt.Sprintf("rejected/%d", w.st.Seq),
				activities.NotifyInput{ReasonKey: "reason.no_reply"})
		}
	case w.st.Stage.ClockRuns():
		used := w.elapsed(now)
		for _, c := range w.clocks {
			for {
				share, ok := c.threshold()
				if !ok || used < time.Duration(share*c.days*float64(day)) {
					break
				}
				if err := w.clockStep(ctx, c, now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// clockStep takes a clock's next step: warn the holder, tell the director of the
// breach, escalate to the managers. Each is a timeline event and a mail, once.
func (w *caseWorkflow) clockStep(ctx workflow.Context, c *clock, now time.Time) error {
	deadline := w.at(now, time.Duration(c.days*float64(day)))
	var eventType, notice string
	var to activities.Audience
	switch {
	case !c.warned:
		c.warned = true
		eventType, notice, to = "sla_warning", notify.EventSLAWarning, activities.ToAssignee
	case !c.breached:
		c.breached = true
		eventType, notice, to = "sla_breach", notify.EventSLABreach, activities.ToDirector
	default:
		c.escalated = true
		eventType, notice, to = "sla_escalated", notify.EventSLABreach, activities.ToManagers
	}
	key := fmt.Sprintf("%s/%s", eventType, c.name)
	w.notify(ctx, notice, to, key, activities.NotifyInput{DueDate: deadline, ReasonKey: "clock." + c.name})
	return w.change(ctx, key, dimos.CaseChange{Event: dimos.CaseEvent{Type: eventType, Body: c.name, EmployeeID: w.st.AssigneeID}})
}

// snapshot is the state a query sees, with the clocks' deadlines as they stand.
func (w *caseWorkflow) snapshot(now time.Time) CaseState {
	st := w.st
	st.Clocks = nil
	for _, c := range w.clocks {
		if c.days <= 0 {
			continue
		}
		k := Clock{Name: c.name, Days: c.days, MetAt: c.metAt, Warned: c.warned, Breached: c.breached, Escalated: c.escalated}
		if c.metAt.IsZero() && w.st.Stage.ClockRuns() {
			k.Deadline = w.at(now, time.Duration(c.days*float64(day)))
		}
		st.Clocks = append(st.Clocks, k)
	}
	return st
}
