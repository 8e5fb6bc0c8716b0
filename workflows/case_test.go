package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"dimos"
	"dimos/activities"
	"dimos/workflows"
)

type CaseWorkflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env         *testsuite.TestWorkflowEnvironment
	transitions []dimos.Transition
}

func TestCaseWorkflow(t *testing.T) { suite.Run(t, new(CaseWorkflowSuite)) }

var (
	submitted = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	input     = workflows.CaseInput{CaseID: 7, Number: "2026-000007", CategoryCode: "potholes", Kind: dimos.KindComplaint, SubmittedAt: submitted}
	route     = dimos.Routing{ServiceID: 3, ServiceName: "Τεχνικές Υπηρεσίες", DirectorID: 30, DirectorName: "Γ. Παπαδόπουλος"}
	director  = dimos.Actor{EmployeeID: 30, Role: dimos.RoleDirector, ServiceID: 3}
)

func (s *CaseWorkflowSuite) SetupTest() {
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(submitted.Add(time.Second))
	var a *activities.Activities
	s.env.RegisterActivity(a)
	s.transitions = nil
	s.env.OnActivity(a.RouteCase, mock.Anything, activities.RouteInput{CaseID: 7, CategoryCode: "potholes"}).Return(route, nil)
	s.env.OnActivity(a.RecordTransition, mock.Anything, mock.Anything).Return(
		func(_ context.Context, t dimos.Transition) error {
			s.transitions = append(s.transitions, t)
			return nil
		})
}

func (s *CaseWorkflowSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// update sends UpdateComplete after delay and records how the workflow answered.
func (s *CaseWorkflowSuite) update(delay time.Duration, req workflows.CompleteRequest) *updateOutcome {
	out := &updateOutcome{}
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(workflows.UpdateComplete, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { out.rejected = err },
			OnAccept:   func() { out.accepted = true },
			OnComplete: func(v any, err error) { out.err = err },
		}, req)
	}, delay)
	return out
}

type updateOutcome struct {
	accepted bool
	rejected error
	err      error
}

func (s *CaseWorkflowSuite) Test_RoutesToDirectorAndCompletes() {
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(workflows.QueryState)
		s.Require().NoError(err)
		var st workflows.CaseState
		s.Require().NoError(v.Get(&st))
		s.Equal(dimos.StageRouted, st.Stage)
		s.Equal(int64(30), st.AssigneeID)
		s.Equal(int64(3), st.ServiceID)
	}, time.Hour)
	ok := s.update(50*time.Hour, workflows.CompleteRequest{By: director, Answer: "  Η λακκούβα επιστρώθηκε.  "})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(ok.accepted)
	s.NoError(ok.err)
	var res workflows.CaseResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(dimos.StageCompleted, res.Stage)

	s.Require().Len(s.transitions, 2)
	routed, done := s.transitions[0], s.transitions[1]
	s.Equal(dimos.Transition{CaseID: 7, Seq: 2, Stage: dimos.StageRouted, At: submitted.Add(time.Second),
		ServiceID: 3, EmployeeID: 30, Event: dimos.CaseEvent{Type: "routed", Public: true, EmployeeID: 30}}, routed)
	s.Equal(3, done.Seq)
	s.Equal(dimos.StageCompleted, done.Stage)
	s.Equal("Η λακκούβα επιστρώθηκε.", done.Answer, "answer is trimmed")
	s.Equal(int64(30), done.Event.ActorID)
	s.Equal(submitted.Add(time.Second+50*time.Hour), done.At, "completion is stamped with the workflow's clock")
	s.Equal(done.At, res.CompletedAt)
}

func (s *CaseWorkflowSuite) Test_ValidatorRefusesBadCompletions() {
	clerkElsewhere := dimos.Actor{EmployeeID: 99, Role: dimos.RoleClerk, ServiceID: 3}
	directorElsewhere := dimos.Actor{EmployeeID: 40, Role: dimos.RoleDirector, ServiceID: 4}
	cases := []struct {
		name string
		req  workflows.CompleteRequest
		code string
		key  string
	}{
		{"ErrAnswerRequired", workflows.CompleteRequest{By: director, Answer: " \n "}, dimos.EINVALID, "field.answer.required"},
		{"ErrAnswerTooLong", workflows.CompleteRequest{By: director, Answer: string(make([]rune, dimos.MaxAnswerLen+1))}, dimos.EINVALID, "field.too_long"},
		{"ErrNotHolder", workflows.CompleteRequest{By: clerkElsewhere, Answer: "ok"}, dimos.EFORBIDDEN, "error.case.not_holder"},
		{"ErrOtherServiceDirector", workflows.CompleteRequest{By: directorElsewhere, Answer: "ok"}, dimos.EFORBIDDEN, "error.case.not_holder"},
	}
	outcomes := make([]*updateOutcome, len(cases))
	for i, c := range cases {
		outcomes[i] = s.update(time.Duration(i+1)*time.Minute, c.req)
	}
	good := s.update(time.Hour, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	late := s.update(2*time.Hour, workflows.CompleteRequest{By: director, Answer: "Ξανά."})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().NoError(s.env.GetWorkflowError())
	for i, c := range cases {
		s.Run(c.name, func() {
			s.False(outcomes[i].accepted)
			var appErr *temporal.ApplicationError
			s.Require().ErrorAs(outcomes[i].rejected, &appErr)
			s.Equal(c.code, appErr.Type())
			s.Equal(c.key, appErr.Message())
		})
	}
	s.True(good.accepted)
	s.Len(s.transitions, 2, "refused updates write nothing")
	// The workflow ended with the good completion; a second one finds nobody to answer.
	s.False(late.accepted)
}

func (s *CaseWorkflowSuite) Test_RoutingRetriesWhileDatabaseIsDown() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(submitted)
	var a *activities.Activities
	s.env.RegisterActivity(a)
	s.env.OnActivity(a.RouteCase, mock.Anything, mock.Anything).Return(dimos.Routing{}, errors.New("connection refused")).Times(3)
	s.env.OnActivity(a.RouteCase, mock.Anything, mock.Anything).Return(route, nil).Once()
	s.env.OnActivity(a.RecordTransition, mock.Anything, mock.Anything).Return(
		func(_ context.Context, t dimos.Transition) error {
			s.transitions = append(s.transitions, t)
			return nil
		})
	s.update(time.Hour, workflows.CompleteRequest{By: director, Answer: "Έγινε."})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().Len(s.transitions, 2)
	// Retries back off 1 s, 2 s, 4 s: the case is routed 7 s after it started.
	s.Equal(submitted.Add(7*time.Second), s.transitions[0].At)
}
