package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dimos/activities"
)

// The weekly delay report (M18): every Monday at 07:00 Athens time a Temporal
// schedule starts WeeklyReportWorkflow, which mails last week's report to every
// active manager. The schedule is created, or brought up to date, at worker start.

// WeeklyScheduleID is the id of the schedule; WeeklyWorkflowID prefixes the ids of
// the workflows it starts (the schedule appends the time).
const (
	WeeklyScheduleID = "weekly-delay-report"
	WeeklyWorkflowID = "weekly-delay-report"
	// WeeklyTimeZone is where "Monday 07:00" is read; the schedule follows the
	// change of the clocks.
	WeeklyTimeZone = "Europe/Athens"
)

// WeeklyReportInput starts a WeeklyReportWorkflow. A zero WeekOf means the week
// before the one the workflow starts in, as the schedule wants; a date sends the
// report of the week (Monday to Sunday) that contains it, e.g. to send one again.
type WeeklyReportInput struct {
	WeekOf time.Time
}

// WeeklyReportResult is what a finished WeeklyReportWorkflow returns.
type WeeklyReportResult struct {
	From, To time.Time // the week, [From, To), Athens midnights
	Managers int
	Sent     int
}

// weeklyOptions: the report reads the database and mails; keep trying for hours,
// since a report that arrives at noon is still worth having.
var weeklyOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 5 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Minute, MaximumAttempts: 40},
}

// athensZone is loaded once at start, outside any workflow, and never changes.
var athensZone = func() *time.Location {
	loc, err := time.LoadLocation(WeeklyTimeZone)
	if err != nil {
		panic(err)
	}
	return loc
}()

// WeekBounds returns the Monday-to-Monday week, in Athens, that contains t.
func WeekBounds(t time.Time) (from, to time.Time) {
	l := t.In(athensZone)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, athensZone)
	from = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	return from, from.AddDate(0, 0, 7)
}

// WeeklyReportWorkflow mails the delay report of a week to the managers.
func WeeklyReportWorkflow(ctx workflow.Context, in WeeklyReportInput) (WeeklyReportResult, error) {
	week := in.WeekOf
	if week.IsZero() {
		week = workflow.Now(ctx).AddDate(0, 0, -7)
	}
	from, to := WeekBounds(week)
	ctx = workflow.WithActivityOptions(ctx, weeklyOptions)
	var sent activities.WeeklyReportResult
	err := workflow.ExecuteActivity(ctx, a.MailWeeklyReport, activities.WeeklyReportInput{From: from, To: to}).Get(ctx, &sent)
	if err != nil {
		return WeeklyReportResult{}, err
	}
	return WeeklyReportResult{From: from, To: to, Managers: sent.Managers, Sent: sent.Sent}, nil
}

// weeklySchedule is the schedule as it should be.
func weeklySchedule() (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	spec := client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Second:    []client.ScheduleRange{{Start: 0}},
			Minute:    []client.ScheduleRange{{Start: 0}},
			Hour:      []client.ScheduleRange{{Start: 7}},
			DayOfWeek: []client.ScheduleRange{{Start: 1}}, // Monday
		}},
		TimeZoneName: WeeklyTimeZone,
	}
	action := &client.ScheduleWorkflowAction{
		ID:        WeeklyWorkflowID,
		Workflow:  WeeklyReportWorkflow,
		Args:      []any{WeeklyReportInput{}},
		TaskQueue: TaskQueue,
	}
	return spec, action
}

// EnsureWeeklySchedule creates the weekly report's schedule, or updates it to the
// current spec and action when it exists already: every worker calls it at start,
// and only the first creates it.
func EnsureWeeklySchedule(ctx context.Context, c client.Client) error {
	spec, action := weeklySchedule()
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      WeeklyScheduleID,
		Spec:    spec,
		Action:  action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Memo:    map[string]any{"purpose": "weekly delay report to managers (M18)"},
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create weekly schedule: %w", err)
	}
	h := c.ScheduleClient().GetHandle(ctx, WeeklyScheduleID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec, s.Action = &spec, action
		if s.Policy == nil {
			s.Policy = &client.SchedulePolicies{}
		}
		s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("update weekly schedule: %w", err)
	}
	return nil
}
