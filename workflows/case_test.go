package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dimos"
	"dimos/activities"
	"dimos/notify"
	"dimos/workflows"
)

var athens, _ = time.LoadLocation("Europe/Athens")

var (
	// Monday 2 March 2026, 09:00 in Athens: an ordinary working week.
	submitted = time.Date(2026, 3, 2, 9, 0, 0, 0, athens)
	targets   = dimos.Targets{AssignDays: 1, ResponseDays: 2, CompletionDays: 10, StatutoryDays: 50, InfoReplyDays: 10}
	input     = workflows.CaseInput{CaseID: 7, Number: "2026-000007", CategoryCode: "potholes", Kind: dimos.KindComplaint,
		SubmittedAt: submitted, Targets: targets, ReopenDays: 15}
	route    = dimos.Routing{ServiceID: 3, ServiceName: "Τεχνικές Υπηρεσίες", DirectorID: 30, DirectorName: "Γ. Παπαδόπουλος"}
	director = dimos.Actor{EmployeeID: 30, Role: dimos.RoleDirector, ServiceID: 3}
	clerk    = dimos.Actor{EmployeeID: 31, Role: dimos.RoleClerk, ServiceID: 3}
	clerk2   = dimos.Actor{EmployeeID: 32, Role: dimos.RoleClerk, ServiceID: 3}
)

// recorded is what the mocked activities were asked to do, with the workflow time.
type recorded struct {
	mu          sync.Mutex
	transitions []dimos.Transition
	changes     []dimos.CaseChange
	notes       []note
}

type note struct {
	at time.Time
	in activities.NotifyInput
}

func (r *recorded) stages() []dimos.Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []dimos.Stage
	for _, t := range r.transitions {
		out = append(out, t.Stage)
	}
	return out
}

// told returns the notifications of an event to an audience.
func (r *recorded) told(event string, to activities.Audience) []note {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []note
	for _, n := range r.notes {
		if n.in.Event == event && n.in.To == to {
			out = append(out, n)
		}
	}
	return out
}

type CaseWorkflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	rec *recorded
}

func TestCaseWorkflow(t *testing.T) { suite.Run(t, new(CaseWorkflowSuite)) }

func (s *CaseWorkflowSuite) SetupTest() {
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(submitted)
	s.rec = &recorded{}
	var a *activities.Activities
	s.env.RegisterActivity(a)
	s.env.OnActivity(a.RouteCase, mock.Anything, activities.RouteInput{CaseID: 7, CategoryCode: "potholes"}).Return(route, nil).Maybe()
	s.env.OnActivity(a.RecordTransition, mock.Anything, mock.Anything).Return(func(_ context.Context, t dimos.Transition) error {
		s.rec.mu.Lock()
		defer s.rec.mu.Unlock()
		if n := len(s.rec.transitions); n > 0 && s.rec.transitions[n-1].Seq == t.Seq {
			return nil // a retry
		}
		s.rec.transitions = append(s.rec.transitions, t)
		return nil
	}).Maybe()
	s.env.OnActivity(a.ApplyChange, mock.Anything, mock.Anything).Return(func(_ context.Context, ch dimos.CaseChange) error {
		s.rec.mu.Lock()
		defer s.rec.mu.Unlock()
		s.rec.changes = append(s.rec.changes, ch)
		return nil
	}).Maybe()
	s.env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyInput) error {
		s.rec.mu.Lock()
		defer s.rec.mu.Unlock()
		s.rec.notes = append(s.rec.notes, note{s.env.Now().In(athens), in})
		return nil
	}).Maybe()
	s.env.OnActivity(a.CheckAssignee, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AssigneeInput) (dimos.Employee, error) {
		if in.EmployeeID == 99 {
			return dimos.Employee{}, temporal.NewNonRetryableApplicationError("error.assign.not_in_service", dimos.EINVALID, nil)
		}
		return dimos.Employee{ID: in.EmployeeID, ServiceID: in.ServiceID, Role: dimos.RoleClerk, Active: true}, nil
	}).Maybe()
	s.env.OnActivity(a.RouteToService, mock.Anything, int64(4)).Return(dimos.Routing{ServiceID: 4, DirectorID: 40}, nil).Maybe()
}

type outcome struct {
	accepted bool
	rejected error
	err      error
}

// update sends an update after delay and records how the workflow answered.
func (s *CaseWorkflowSuite) update(delay time.Duration, name string, req any) *outcome {
	out := &outcome{}
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { out.rejected = err },
			OnAccept:   func() { out.accepted = true },
			OnComplete: func(_ any, err error) { out.err = err },
		}, req)
	}, delay)
	return out
}

func (s *CaseWorkflowSuite) state() workflows.CaseState {
	v, err := s.env.QueryWorkflow(workflows.QueryState)
	s.Require().NoError(err)
	var st workflows.CaseState
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *CaseWorkflowSuite) refusedWith(o *outcome, code, key string) {
	s.T().Helper()
	s.False(o.accepted, "update accepted, want refused with %s", key)
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(o.rejected, &appErr)
	s.Equal(code, appErr.Type())
	s.Equal(key, appErr.Message())
}

func (s *CaseWorkflowSuite) Test_RoutesAssignsAndCompletes() {
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal(dimos.StageRouted, st.Stage)
		s.Equal(int64(30), st.AssigneeID)
	}, time.Hour)
	assign := s.update(time.Hour, workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: 31})
	comment := s.update(2*time.Hour, workflows.UpdateComment, workflows.CommentRequest{By: clerk, Text: "Θα έρθει συνεργείο.", Public: true})
	due := s.update(3*time.Hour, workflows.UpdateSetDueDate, workflows.DueDateRequest{By: clerk, Due: submitted.Add(72 * time.Hour)})
	done := s.update(50*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: clerk, Answer: "  Επιστρώθηκε.  "})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	for _, o := range []*outcome{assign, comment, due, done} {
		s.True(o.accepted)
		s.NoError(o.err)
	}
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageAssigned, dimos.StageInProgress, dimos.StageCompleted}, s.rec.stages())
	last := s.rec.transitions[3]
	s.Equal(5, last.Seq)
	s.Equal("Επιστρώθηκε.", last.Answer, "answer is trimmed")
	s.True(last.At.Equal(submitted.Add(50*time.Hour)), "completion stamped with the workflow clock")

	// The citizen heard of the receipt, the assignment, the comment, the date and the
	// answer, once each; the director of the new case.
	for _, ev := range []string{notify.EventCaseReceived, notify.EventCaseAssigned, notify.EventComment, notify.EventDueDateChanged, notify.EventCaseCompleted} {
		s.Len(s.rec.told(ev, activities.ToCitizen), 1, ev)
	}
	s.Len(s.rec.told(notify.EventCaseRoutedDirector, activities.ToDirector), 1)
	// The response target (2 days) was met by the comment: no warning about it.
	s.Empty(s.rec.told(notify.EventSLAWarning, activities.ToAssignee))

	var res workflows.CaseResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(dimos.StageCompleted, res.Stage)
}

func (s *CaseWorkflowSuite) Test_ValidatorsRefuseAtOnce() {
	outsider := dimos.Actor{EmployeeID: 77, Role: dimos.RoleClerk, ServiceID: 9}
	otherDirector := dimos.Actor{EmployeeID: 40, Role: dimos.RoleDirector, ServiceID: 4}
	type refusal struct {
		name, update string
		req          any
		code, key    string
	}
	early := s.update(0, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "x"})
	cases := []refusal{
		{"ErrAnswerRequired", workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: " \n "}, dimos.EINVALID, "field.answer.required"},
		{"ErrAnswerTooLong", workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: string(make([]rune, dimos.MaxAnswerLen+1))}, dimos.EINVALID, "field.too_long"},
		{"ErrNotHolder", workflows.UpdateComplete, workflows.CompleteRequest{By: outsider, Answer: "ok"}, dimos.EFORBIDDEN, "error.case.not_holder"},
		{"ErrOtherServiceDirector", workflows.UpdateAssign, workflows.AssignRequest{By: otherDirector, EmployeeID: 41}, dimos.EFORBIDDEN, "error.case.not_holder"},
		{"ErrAssignSame", workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: 30}, dimos.ECONFLICT, "error.assign.same"},
		{"ErrTransferSameService", workflows.UpdateTransfer, workflows.TransferRequest{By: director, ServiceID: 3, Reason: "x"}, dimos.ECONFLICT, "error.transfer.same"},
		{"ErrTransferReason", workflows.UpdateTransfer, workflows.TransferRequest{By: director, ServiceID: 4}, dimos.EINVALID, "field.required"},
		{"ErrCommentByOutsider", workflows.UpdateComment, workflows.CommentRequest{By: outsider, Text: "x"}, dimos.EFORBIDDEN, "error.case.not_holder"},
		{"ErrDueDateInPast", workflows.UpdateSetDueDate, workflows.DueDateRequest{By: director, Due: submitted}, dimos.EINVALID, "field.due.past"},
		{"ErrReplyDays", workflows.UpdateRequestInfo, workflows.RequestInfoRequest{By: director, Question: "?", ReplyDays: 90}, dimos.EINVALID, "field.reply_days.range"},
		{"ErrRateOpenCase", workflows.UpdateRate, workflows.RateRequest{Rating: dimos.Rating{Stars: 5}}, dimos.ECONFLICT, "error.case.open"},
		{"ErrReopenOpenCase", workflows.UpdateReopen, workflows.ReopenRequest{Reason: "x"}, dimos.ECONFLICT, "error.case.open"},
	}
	outcomes := make([]*outcome, len(cases))
	for i, c := range cases {
		outcomes[i] = s.update(time.Duration(i+1)*time.Minute, c.update, c.req)
	}
	badClerk := s.update(time.Hour, workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: 99})
	good := s.update(2*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	twice := s.update(3*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Ξανά."})
	badStars := s.update(4*time.Hour, workflows.UpdateRate, workflows.RateRequest{Rating: dimos.Rating{Stars: 6}})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().NoError(s.env.GetWorkflowError())
	s.refusedWith(early, dimos.ECONFLICT, "error.case.not_routed")
	for i, c := range cases {
		s.Run(c.name, func() { s.refusedWith(outcomes[i], c.code, c.key) })
	}
	// An employee of another service passes the validator (it cannot know the staff)
	// and is refused by the handler's check, with nothing written.
	s.True(badClerk.accepted)
	s.Require().Error(badClerk.err)
	s.True(good.accepted)
	s.refusedWith(twice, dimos.ECONFLICT, "error.case.closed")
	s.refusedWith(badStars, dimos.EINVALID, "field.rating.range")
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageCompleted}, s.rec.stages(), "refused updates write nothing")
}

// Test_ProtocolDownForThreeDays: a certificate application while the registry is down
// for three days gets one protocol number, and the citizen is told twice: that
// registration is pending, and then the number.
func (s *CaseWorkflowSuite) Test_ProtocolDownForThreeDays() {
	var a *activities.Activities
	up := submitted.Add(72 * time.Hour)
	attempts, successes := 0, 0
	entry := dimos.ProtocolEntry{Number: "1532/05-03-2026", Date: up}
	s.env.OnActivity(a.RegisterProtocol, mock.Anything, activities.RegisterInput{CaseID: 8, Number: "2026-000008"}).Return(
		func(context.Context, activities.RegisterInput) (dimos.ProtocolEntry, error) {
			attempts++
			if s.env.Now().Before(up) {
				return dimos.ProtocolEntry{}, &dimos.Error{Code: dimos.EUNAVAILABLE, Key: "error.protocol.unavailable"}
			}
			successes++
			return entry, nil
		})
	s.env.OnActivity(a.RouteCase, mock.Anything, mock.Anything).Return(route, nil)
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal(dimos.StageAwaitingProtocol, st.Stage)
		s.True(st.ProtocolFailed)
	}, 24*time.Hour)
	s.update(100*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Εκδόθηκε."})

	cert := workflows.CaseInput{CaseID: 8, Number: "2026-000008", CategoryCode: "cert-birth", Kind: dimos.KindCertificate,
		SubmittedAt: submitted, Targets: targets, ReopenDays: 1}
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, cert)

	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(1, successes, "one protocol number")
	s.Greater(attempts, 5, "the workflow kept trying")
	pending := s.rec.told(notify.EventProtocolPending, activities.ToCitizen)
	registered := s.rec.told(notify.EventProtocolRegistered, activities.ToCitizen)
	s.Require().Len(pending, 1)
	s.Require().Len(registered, 1)
	s.True(pending[0].at.Before(submitted.Add(time.Minute)), "pending told at once: %v", pending[0].at)
	s.False(registered[0].at.Before(up), "registered told when the registry came back")
	s.True(registered[0].at.Before(up.Add(time.Hour+time.Minute)), "retries back off to an hour at most: %v", registered[0].at)
	s.Equal([]dimos.Stage{dimos.StageAwaitingProtocol, dimos.StageRouted, dimos.StageCompleted}, s.rec.stages())
	s.False(s.rec.transitions[1].At.Before(up), "the office receives the case once it is registered")
}

// Test_RequestForInformationTimesOut: the citizen does not answer; a reminder goes out
// halfway and the case closes when the time runs out. The clocks stand still meanwhile.
func (s *CaseWorkflowSuite) Test_RequestForInformationTimesOut() {
	s.update(time.Hour, workflows.UpdateRequestInfo, workflows.RequestInfoRequest{By: director, Question: "Σε ποιο ύψος της οδού;", ReplyDays: 4})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageWaitingCitizen, dimos.StageRejected}, s.rec.stages())
	asked := submitted.Add(time.Hour) // Monday 10:00
	// 4 working days from Monday 10:00 is Friday 10:00; the reminder halfway, Wednesday 10:00.
	s.True(s.rec.transitions[2].At.Equal(time.Date(2026, 3, 6, 10, 0, 0, 0, athens)), "closed at %v", s.rec.transitions[2].At)
	told := s.rec.told(notify.EventInfoRequested, activities.ToCitizen)
	s.Require().Len(told, 2, "the question and one reminder")
	s.True(told[0].at.Equal(asked))
	s.True(told[1].at.Equal(time.Date(2026, 3, 4, 10, 0, 0, 0, athens)), "reminder at %v", told[1].at)
	rejected := s.rec.told(notify.EventCaseRejected, activities.ToCitizen)
	s.Require().Len(rejected, 1)
	s.Equal("reason.no_reply", rejected[0].in.ReasonKey)
	// The assign target (1 day) would have been breached on Tuesday had the clock run.
	s.Empty(s.rec.told(notify.EventSLABreach, activities.ToDirector), "clocks stand still while the office waits")
}

// Test_CitizenAnswerResumes: the citizen's answer takes the case back to work.
func (s *CaseWorkflowSuite) Test_CitizenAnswerResumes() {
	s.update(time.Hour, workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: 31})
	s.update(2*time.Hour, workflows.UpdateRequestInfo, workflows.RequestInfoRequest{By: clerk, Question: "Φωτογραφία;"})
	s.update(26*time.Hour, workflows.UpdateCitizenComment, workflows.CitizenCommentRequest{Text: "Στο 12, δίπλα στο περίπτερο."})
	s.update(30*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: clerk, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageAssigned, dimos.StageWaitingCitizen, dimos.StageInProgress, dimos.StageCompleted}, s.rec.stages())
}

// Test_SLAAcrossEaster: a case filed on the Thursday before Orthodox Easter 2026. Good
// Friday, the weekend and Easter Monday are not working days, so the 1-day assignment
// target warns (at 80%) on Tuesday 14 April 05:12, is breached at 10:00 and escalated
// (at 150%) at 22:00.
func (s *CaseWorkflowSuite) Test_SLAAcrossEaster() {
	thursday := time.Date(2026, 4, 9, 10, 0, 0, 0, athens)
	s.env.SetStartTime(thursday)
	in := input
	in.SubmittedAt = thursday
	in.Targets = dimos.Targets{AssignDays: 1, StatutoryDays: 50}
	s.update(10*24*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())

	warn := s.rec.told(notify.EventSLAWarning, activities.ToAssignee)
	breach := s.rec.told(notify.EventSLABreach, activities.ToDirector)
	escalated := s.rec.told(notify.EventSLABreach, activities.ToManagers)
	s.Require().Len(warn, 1)
	s.Require().Len(breach, 1)
	s.Require().Len(escalated, 1)
	s.True(warn[0].at.Equal(time.Date(2026, 4, 14, 5, 12, 0, 0, athens)), "warning at %v", warn[0].at)
	s.True(breach[0].at.Equal(time.Date(2026, 4, 14, 10, 0, 0, 0, athens)), "breach at %v", breach[0].at)
	s.True(escalated[0].at.Equal(time.Date(2026, 4, 14, 22, 0, 0, 0, athens)), "escalation at %v", escalated[0].at)
	s.True(breach[0].in.DueDate.Equal(time.Date(2026, 4, 14, 10, 0, 0, 0, athens)), "the mail names the deadline")
}

// Test_ReassignAndTransferKeepTheClock: moving a case between clerks or services does
// not restart the citizen's wait.
func (s *CaseWorkflowSuite) Test_ReassignAndTransferKeepTheClock() {
	var before, afterReassign, afterTransfer workflows.CaseState
	s.update(time.Hour, workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: 31})
	s.env.RegisterDelayedCallback(func() { before = s.state() }, 2*time.Hour)
	s.update(3*time.Hour, workflows.UpdateAssign, workflows.AssignRequest{By: clerk, EmployeeID: 32})
	s.env.RegisterDelayedCallback(func() { afterReassign = s.state() }, 4*time.Hour)
	s.update(5*time.Hour, workflows.UpdateTransfer, workflows.TransferRequest{By: clerk2, ServiceID: 4, Reason: "Αφορά το δίκτυο ύδρευσης."})
	s.env.RegisterDelayedCallback(func() { afterTransfer = s.state() }, 6*time.Hour)
	s.update(7*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: dimos.Actor{EmployeeID: 40, Role: dimos.RoleDirector, ServiceID: 4}, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)
	s.Require().NoError(s.env.GetWorkflowError())

	deadline := func(st workflows.CaseState, name string) time.Time {
		for _, c := range st.Clocks {
			if c.Name == name {
				return c.Deadline
			}
		}
		s.FailNow("no clock " + name)
		return time.Time{}
	}
	want := time.Date(2026, 3, 16, 9, 0, 0, 0, athens) // 10 working days from Monday 2 March 09:00
	s.True(deadline(before, workflows.ClockCompletion).Equal(want), "before: %v", deadline(before, workflows.ClockCompletion))
	s.True(deadline(afterReassign, workflows.ClockCompletion).Equal(want))
	s.True(deadline(afterTransfer, workflows.ClockCompletion).Equal(want))
	s.Equal(int64(32), afterReassign.AssigneeID)
	s.Equal(int64(4), afterTransfer.ServiceID)
	s.Equal(int64(40), afterTransfer.AssigneeID)
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageAssigned, dimos.StageAssigned, dimos.StageRouted, dimos.StageCompleted}, s.rec.stages())
	s.Len(s.rec.told(notify.EventCaseRoutedDirector, activities.ToDirector), 2, "each receiving director is told")
}

// Test_ReopenWindow: the citizen reopens within the window, rates the second answer,
// and the workflow ends when the window after it passes; a late reopening is refused.
func (s *CaseWorkflowSuite) Test_ReopenWindow() {
	s.update(time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	reopen := s.update(10*24*time.Hour, workflows.UpdateReopen, workflows.ReopenRequest{Reason: "Η λακκούβα άνοιξε ξανά."})
	s.update(11*24*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Επιστρώθηκε ξανά."})
	rate := s.update(12*24*time.Hour, workflows.UpdateRate, workflows.RateRequest{Rating: dimos.Rating{Stars: 4, Remark: "Αργά αλλά καλά."}})
	var late *outcome
	s.env.RegisterDelayedCallback(func() {
		st := s.state()
		s.Equal(dimos.StageCompleted, st.Stage)
		s.True(st.ReopenUntil.Equal(submitted.Add(11*24*time.Hour+15*24*time.Hour)), "window %v", st.ReopenUntil)
	}, 20*24*time.Hour)
	late = s.update(27*24*time.Hour, workflows.UpdateReopen, workflows.ReopenRequest{Reason: "x"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(reopen.accepted)
	s.NoError(reopen.err)
	s.True(rate.accepted)
	s.False(late.accepted, "the workflow ended with the window: nobody answers a late reopening")
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageCompleted, dimos.StageInProgress, dimos.StageCompleted}, s.rec.stages())
	var ratings int
	for _, ch := range s.rec.changes {
		if ch.Rating != nil {
			ratings++
			s.Equal(4, ch.Rating.Stars)
		}
	}
	s.Equal(1, ratings)
}

// Test_TargetsChangedApplyToOpenCases: an admin shortens the completion target; the
// open case's deadline moves.
func (s *CaseWorkflowSuite) Test_TargetsChangedApplyToOpenCases() {
	var st workflows.CaseState
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalTargetsChanged, workflows.TargetsChanged{Targets: dimos.Targets{CompletionDays: 2, StatutoryDays: 50}})
	}, time.Hour)
	s.env.RegisterDelayedCallback(func() { st = s.state() }, 2*time.Hour)
	s.update(3*24*time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)
	s.Require().NoError(s.env.GetWorkflowError())
	for _, c := range st.Clocks {
		if c.Name == workflows.ClockCompletion {
			s.True(c.Deadline.Equal(time.Date(2026, 3, 4, 9, 0, 0, 0, athens)), "deadline %v", c.Deadline)
		}
	}
	s.Len(s.rec.told(notify.EventSLABreach, activities.ToDirector), 1, "the shortened target was breached")
}

func (s *CaseWorkflowSuite) Test_AutoAssignToLeastLoadedClerk() {
	var a *activities.Activities
	s.env.OnActivity(a.PickClerk, mock.Anything, int64(3)).Return(int64(32), nil)
	in := input
	in.AutoAssign = true
	s.update(time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: clerk2, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageAssigned, dimos.StageCompleted}, s.rec.stages())
	s.Equal(int64(32), s.rec.transitions[1].EmployeeID)
}

func (s *CaseWorkflowSuite) Test_RoutingRetriesWhileDatabaseIsDown() {
	for _, tc := range []struct {
		name    string
		version workflow.Version
		after   time.Duration
	}{
		// Retries back off 1 s, 2 s, 4 s: the case is routed 7 s after it started.
		{"ActivitiesOnly", workflow.DefaultVersion, 7 * time.Second},
		// The local try fails at once; the activity that takes over backs off 1 s, 2 s.
		{"LocalFirst", 1, 3 * time.Second},
		{"LocalNotes", 2, 3 * time.Second},
	} {
		s.Run(tc.name, func() {
			s.env = s.NewTestWorkflowEnvironment()
			s.env.SetStartTime(submitted)
			s.env.OnGetVersion("local-db-steps", workflow.DefaultVersion, 2).Return(tc.version)
			var a *activities.Activities
			s.env.RegisterActivity(a)
			s.env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(nil)
			s.env.OnActivity(a.RouteCase, mock.Anything, mock.Anything).Return(dimos.Routing{}, errors.New("connection refused")).Times(3)
			s.env.OnActivity(a.RouteCase, mock.Anything, mock.Anything).Return(route, nil).Once()
			var routedAt time.Time
			s.env.OnActivity(a.RecordTransition, mock.Anything, mock.Anything).Return(func(_ context.Context, t dimos.Transition) error {
				if t.Stage == dimos.StageRouted {
					routedAt = t.At
				}
				return nil
			})
			s.update(time.Hour, workflows.UpdateReject, workflows.RejectRequest{By: director, Reason: "Δεν αφορά τον δήμο."})
			s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)
			s.Require().NoError(s.env.GetWorkflowError())
			s.True(routedAt.Equal(submitted.Add(tc.after)), "routed at %v", routedAt)
		})
	}
}

// Test_PhoneRecordingFetched: a phone case's recorded message is fetched and attached
// (behind its workflow.GetVersion); other channels have none to fetch.
func (s *CaseWorkflowSuite) Test_PhoneRecordingFetched() {
	var a *activities.Activities
	fetched := 0
	s.env.OnActivity(a.FetchRecording, mock.Anything, activities.FetchInput{CaseID: 7, Number: "2026-000007"}).Return(
		func(context.Context, activities.FetchInput) error { fetched++; return nil })
	in := input
	in.Channel = dimos.ChannelIVR
	s.update(time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(1, fetched)
}

func (s *CaseWorkflowSuite) Test_PortalCaseFetchesNoRecording() {
	var a *activities.Activities
	s.env.OnActivity(a.FetchRecording, mock.Anything, mock.Anything).Return(nil).Never()
	s.update(time.Hour, workflows.UpdateComplete, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)
	s.Require().NoError(s.env.GetWorkflowError())
}

// Test_NotificationFallsBackToActivity: the mail server is down when the case is
// completed. The notification's local try fails at once, so the answer is not held up;
// the ordinary activity takes over and keeps trying until the server is back, and the
// workflow ends only once it went out. The other notifications went out on their
// local try, with no activity at all.
func (s *CaseWorkflowSuite) Test_NotificationFallsBackToActivity() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(submitted)
	var a *activities.Activities
	s.env.RegisterActivity(a)
	s.env.OnActivity(a.RouteCase, mock.Anything, mock.Anything).Return(route, nil)
	s.env.OnActivity(a.RecordTransition, mock.Anything, mock.Anything).Return(nil)
	// Back a minute after the completion: the activity's retries (5 s, 10 s, 20 s…)
	// reach it within the test environment's ten attempts.
	mailBack := submitted.Add(time.Hour + time.Minute)
	type try struct {
		event string
		local bool
		at    time.Time
		ok    bool
	}
	var tries []try
	s.env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.NotifyInput) error {
		t := try{in.Event, activity.GetInfo(ctx).IsLocalActivity, s.env.Now(), true}
		if in.Event == notify.EventCaseCompleted && t.at.Before(mailBack) {
			t.ok = false
		}
		tries = append(tries, t)
		if !t.ok {
			return errors.New("dial tcp 127.0.0.1:25: connection refused")
		}
		return nil
	})
	var answeredAt time.Time
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(workflows.UpdateComplete, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { s.Fail("refused", err) },
			OnAccept:   func() {},
			OnComplete: func(_ any, err error) { s.NoError(err); answeredAt = s.env.Now() },
		}, workflows.CompleteRequest{By: director, Answer: "Έγινε."})
	}, time.Hour)
	in := input
	in.ReopenDays = 1
	s.env.ExecuteWorkflow(workflows.CaseWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())

	s.True(answeredAt.Equal(submitted.Add(time.Hour)), "the answer waited for the mail: %v", answeredAt)
	var completed []try
	for _, t := range tries {
		if t.event == notify.EventCaseCompleted {
			completed = append(completed, t)
		} else {
			s.True(t.local && t.ok, "%s told by its local try", t.event)
		}
	}
	s.Require().GreaterOrEqual(len(completed), 3, "a local try, then the activity's retries")
	s.True(completed[0].local, "the local try first")
	for i, t := range completed[1:] {
		s.False(t.local, "try %d: retried as an activity", i+1)
		s.Equal(i == len(completed)-2, t.ok, "try %d: only the last went out", i+1)
	}
	s.False(completed[len(completed)-1].at.Before(mailBack), "sent once the server was back")
	var res workflows.CaseResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	s.Equal(dimos.StageCompleted, res.Stage)
}
