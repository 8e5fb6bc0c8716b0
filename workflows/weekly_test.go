package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"dimos/activities"
	"dimos/workflows"
)

func inAthens(t *testing.T, y int, m time.Month, d, h int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(y, m, d, h, 0, 0, 0, loc)
}

func TestWeeklyReportWorkflow(t *testing.T) {
	run := func(t *testing.T, start time.Time, in workflows.WeeklyReportInput, mail func(context.Context, activities.WeeklyReportInput) (activities.WeeklyReportResult, error)) (*testsuite.TestWorkflowEnvironment, []activities.WeeklyReportInput) {
		var s testsuite.WorkflowTestSuite
		s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1}))))
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(start)
		var a *activities.Activities
		env.RegisterActivity(a)
		env.RegisterWorkflow(workflows.WeeklyReportWorkflow)
		var asked []activities.WeeklyReportInput
		env.OnActivity(a.MailWeeklyReport, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.WeeklyReportInput) (activities.WeeklyReportResult, error) {
				asked = append(asked, in)
				return mail(ctx, in)
			})
		env.ExecuteWorkflow(workflows.WeeklyReportWorkflow, in)
		return env, asked
	}
	sent := func(context.Context, activities.WeeklyReportInput) (activities.WeeklyReportResult, error) {
		return activities.WeeklyReportResult{Managers: 2, Sent: 2}, nil
	}

	t.Run("ScheduledMondayMailsLastWeek", func(t *testing.T) {
		// Monday 30 March 2026 07:00 Athens, the first Monday of summer time: last week
		// is Monday 23 March 00:00 (EET) to Monday 30 March 00:00 (EET; the clocks went
		// forward on Sunday 29 at 03:00).
		env, asked := run(t, inAthens(t, 2026, 3, 30, 7), workflows.WeeklyReportInput{}, sent)
		if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
			t.Fatalf("workflow: %v", env.GetWorkflowError())
		}
		from, to := inAthens(t, 2026, 3, 23, 0), inAthens(t, 2026, 3, 30, 0)
		if len(asked) != 1 || !asked[0].From.Equal(from) || !asked[0].To.Equal(to) {
			t.Fatalf("asked %+v, want %v – %v", asked, from, to)
		}
		if to.Sub(from) != 7*24*time.Hour-time.Hour {
			t.Errorf("the week of the change of the clocks lasts %v", to.Sub(from))
		}
		var res workflows.WeeklyReportResult
		if err := env.GetWorkflowResult(&res); err != nil || res.Sent != 2 || res.Managers != 2 || !res.From.Equal(from) {
			t.Errorf("result %+v, %v", res, err)
		}
	})

	t.Run("WeekOfAGivenDate", func(t *testing.T) {
		// Sunday 12 April 2026 (Easter) belongs to the week of Monday 6 April.
		_, asked := run(t, inAthens(t, 2026, 6, 1, 9), workflows.WeeklyReportInput{WeekOf: inAthens(t, 2026, 4, 12, 23)}, sent)
		if len(asked) != 1 || !asked[0].From.Equal(inAthens(t, 2026, 4, 6, 0)) || !asked[0].To.Equal(inAthens(t, 2026, 4, 13, 0)) {
			t.Fatalf("asked %+v", asked)
		}
	})

	t.Run("MailServerDownIsRetried", func(t *testing.T) {
		calls := 0
		env, asked := run(t, inAthens(t, 2026, 3, 30, 7), workflows.WeeklyReportInput{},
			func(ctx context.Context, in activities.WeeklyReportInput) (activities.WeeklyReportResult, error) {
				calls++
				if calls < 3 {
					return activities.WeeklyReportResult{}, errors.New("451 try again later")
				}
				return activities.WeeklyReportResult{Managers: 1, Sent: 1}, nil
			})
		if env.GetWorkflowError() != nil || len(asked) != 3 {
			t.Fatalf("error %v after %d tries", env.GetWorkflowError(), len(asked))
		}
	})

	t.Run("RefusalEndsIt", func(t *testing.T) {
		env, asked := run(t, inAthens(t, 2026, 3, 30, 7), workflows.WeeklyReportInput{},
			func(ctx context.Context, in activities.WeeklyReportInput) (activities.WeeklyReportResult, error) {
				return activities.WeeklyReportResult{}, temporal.NewNonRetryableApplicationError("error.unavailable", "unavailable", nil)
			})
		if env.GetWorkflowError() == nil || len(asked) != 1 {
			t.Fatalf("error %v after %d tries", env.GetWorkflowError(), len(asked))
		}
	})
}

func TestWeekBounds(t *testing.T) {
	// Monday 00:00 belongs to its own week; Sunday 23:59 to the week before.
	from, to := workflows.WeekBounds(inAthens(t, 2026, 3, 23, 0))
	if !from.Equal(inAthens(t, 2026, 3, 23, 0)) || !to.Equal(inAthens(t, 2026, 3, 30, 0)) {
		t.Errorf("%v – %v", from, to)
	}
	from, _ = workflows.WeekBounds(inAthens(t, 2026, 3, 29, 23))
	if !from.Equal(inAthens(t, 2026, 3, 23, 0)) {
		t.Errorf("Sunday's week starts %v", from)
	}
}
