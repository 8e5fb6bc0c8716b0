package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"dimos/workflows"
)

// The weekly delay report end to end: the worker creates the schedule at start (and a
// second worker finds it and updates it), and a run of the schedule mails the
// managers through the real SMTP server, computed by the real PostgreSQL.
func TestWeeklyScheduleAtWorkerStart(t *testing.T) {
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), true)
	s.startWorker() // the schedule exists now: updated, not duplicated, no error

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := s.tc.ScheduleClient().GetHandle(ctx, workflows.WeeklyScheduleID)
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Schedule.Spec
	if spec.TimeZoneName != "Europe/Athens" || len(spec.Calendars) != 1 ||
		spec.Calendars[0].Hour[0].Start != 7 || spec.Calendars[0].DayOfWeek[0].Start != 1 {
		t.Errorf("schedule spec %+v", spec)
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.TaskQueue != workflows.TaskQueue {
		t.Errorf("schedule action %+v", d.Schedule.Action)
	}
	athens, _ := time.LoadLocation("Europe/Athens")
	if next := d.Info.NextActionTimes; len(next) == 0 || next[0].In(athens).Weekday() != time.Monday ||
		next[0].In(athens).Hour() != 7 || next[0].In(athens).Minute() != 0 {
		t.Errorf("next runs %v, want Mondays 07:00 Athens", next)
	}
	iter, err := s.tc.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == workflows.WeeklyScheduleID {
			n++
		}
	}
	if n > 1 {
		t.Errorf("%d weekly schedules", n)
	}

	// Run it now, as Monday morning would.
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 45*time.Second, "the weekly report in the manager's mailbox", func() bool {
		for _, m := range s.mail.Messages() {
			if len(m.To) == 1 && m.To[0] == "i.raptopoulou@dimos.example" &&
				strings.HasPrefix(m.Subject, "Εβδομαδιαία αναφορά καθυστερήσεων") &&
				strings.Contains(m.HTML, "<table") && strings.Contains(m.Text, "Σύνολο") {
				return true
			}
		}
		return false
	})
}
