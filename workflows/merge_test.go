package workflows_test

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"dimos"
	"dimos/activities"
	"dimos/i18n"
	"dimos/notify"
	"dimos/workflows"
)

// mergeRefusedByDB is an original that the database finds merged already, though
// the console read it open a moment before.
const mergeRefusedByDB = "2026-000099"

func (s *CaseWorkflowSuite) onMerge() *[]dimos.Merge {
	var merges []dimos.Merge
	var a *activities.Activities
	s.env.OnActivity(a.MergeCase, mock.Anything, mock.Anything).Return(func(_ context.Context, m dimos.Merge) error {
		if m.OriginalNumber == mergeRefusedByDB {
			return temporal.NewNonRetryableApplicationError("error.merge.original_merged", dimos.ECONFLICT, nil)
		}
		s.rec.mu.Lock()
		defer s.rec.mu.Unlock()
		merges = append(merges, m)
		return nil
	}).Maybe()
	return &merges
}

var original = workflows.MergeOriginal{Number: "2026-000001", CategoryCode: "potholes", Stage: dimos.StageInProgress}

// Test_MergeEndsTheDuplicate: the duplicate is merged, ends as rejected with an event
// naming the original, its citizen is told which case carries theirs, and the
// workflow ends at once rather than waiting out the reopen window.
func (s *CaseWorkflowSuite) Test_MergeEndsTheDuplicate() {
	merges := s.onMerge()
	assign := s.update(time.Hour, workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: 31})
	merge := s.update(2*time.Hour, workflows.UpdateMerge, workflows.MergeRequest{By: clerk, Original: original, Reason: " ίδιο σημείο "})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	s.True(assign.accepted)
	s.True(merge.accepted)
	s.Require().NoError(merge.err)
	s.Require().Len(*merges, 1)
	m := (*merges)[0]
	s.True(m.At.Equal(submitted.Add(2*time.Hour)), "merged at %v", m.At)
	m.At = time.Time{}
	s.Equal(dimos.Merge{DuplicateID: 7, OriginalNumber: "2026-000001", CategoryCode: "potholes", ActorID: 31, Reason: "ίδιο σημείο"}, m)
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageAssigned, dimos.StageRejected}, s.rec.stages())
	last := s.rec.transitions[2]
	s.Equal("merged", last.Event.Type)
	s.Equal("2026-000001 · ίδιο σημείο", last.Event.Body)
	s.Equal("2026-000001", s.state().MergedInto)

	told := s.rec.told(notify.EventCaseMerged, activities.ToCitizen)
	s.Require().Len(told, 1)
	s.Equal("2026-000001", told[0].in.OriginalNumber)
	s.Empty(s.rec.told(notify.EventCaseRejected, activities.ToCitizen), "a merge is not told as a refusal")
	s.True(s.env.Now().Before(submitted.Add(3*time.Hour)), "the workflow ended at %v, not at once", s.env.Now())
}

// Test_MergeValidators: bad merges are refused at once, with a sentence in Greek and
// in English, and nothing is written; a refusal of the database comes back the same
// way after the validator let it through.
func (s *CaseWorkflowSuite) Test_MergeValidators() {
	merges := s.onMerge()
	outsider := dimos.Actor{EmployeeID: 77, Role: dimos.RoleClerk, ServiceID: 9}
	lamp := workflows.MergeOriginal{Number: "2026-000002", CategoryCode: "street-lighting", Stage: dimos.StageRouted}
	closed := workflows.MergeOriginal{Number: "2026-000003", CategoryCode: "potholes", Stage: dimos.StageCompleted}
	self := workflows.MergeOriginal{Number: input.Number, CategoryCode: "potholes", Stage: dimos.StageRouted}
	early := s.update(0, workflows.UpdateMerge, workflows.MergeRequest{By: director, Original: original})
	cases := []struct {
		name      string
		req       workflows.MergeRequest
		code, key string
	}{
		{"ErrNotHolder", workflows.MergeRequest{By: outsider, Original: original}, dimos.EFORBIDDEN, "error.case.not_holder"},
		{"ErrNoOriginal", workflows.MergeRequest{By: director}, dimos.EINVALID, "field.required"},
		{"ErrSelf", workflows.MergeRequest{By: director, Original: self}, dimos.EINVALID, "error.merge.self"},
		{"ErrOriginalClosed", workflows.MergeRequest{By: director, Original: closed}, dimos.EINVALID, "error.merge.original_closed"},
		{"ErrOtherCategoryWithoutReason", workflows.MergeRequest{By: director, Original: lamp, Reason: "  "}, dimos.EINVALID, "error.merge.category_reason"},
	}
	outcomes := make([]*outcome, len(cases))
	for i, c := range cases {
		outcomes[i] = s.update(time.Duration(i+1)*time.Minute, workflows.UpdateMerge, c.req)
	}
	byDB := s.update(time.Hour, workflows.UpdateMerge, workflows.MergeRequest{By: director,
		Original: workflows.MergeOriginal{Number: mergeRefusedByDB, CategoryCode: "potholes", Stage: dimos.StageRouted}})
	withReason := s.update(2*time.Hour, workflows.UpdateMerge, workflows.MergeRequest{By: director, Original: lamp, Reason: "Η λάμπα έπεσε στη λακκούβα."})
	twice := s.update(2*time.Hour, workflows.UpdateMerge, workflows.MergeRequest{By: director, Original: original})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, input)

	s.Require().NoError(s.env.GetWorkflowError())
	s.refusedWith(early, dimos.ECONFLICT, "error.case.not_routed")
	for i, c := range cases {
		s.Run(c.name, func() {
			s.refusedWith(outcomes[i], c.code, c.key)
			s.bilingual(c.key)
		})
	}
	s.True(byDB.accepted)
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(byDB.err, &appErr)
	s.Equal(dimos.ECONFLICT, appErr.Type())
	s.Equal("error.merge.original_merged", appErr.Message())
	s.bilingual("error.merge.original_merged")

	s.True(withReason.accepted, "another category with a reason is merged")
	s.NoError(withReason.err)
	// Sent while the first merge runs: the handler, checking again under the lock,
	// finds the case merged.
	if twice.accepted {
		s.refusedWithErr(twice.err, dimos.ECONFLICT, "error.merge.already")
	} else {
		s.refusedWithErr(twice.rejected, dimos.ECONFLICT, "error.merge.already")
	}
	s.Len(*merges, 1)
	s.Equal([]dimos.Stage{dimos.StageRouted, dimos.StageRejected}, s.rec.stages(), "refused merges write nothing")
}

// bilingual checks that a refusal reads in Greek and in English.
func (s *CaseWorkflowSuite) bilingual(key string) {
	s.T().Helper()
	el, en := i18n.T(i18n.Greek, key), i18n.T(i18n.English, key)
	s.True(i18n.Has(key), "%s missing from the catalogue", key)
	s.NotEqual(el, en, "%s: the same in both languages", key)
}

func (s *CaseWorkflowSuite) refusedWithErr(err error, code, key string) {
	s.T().Helper()
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(err, &appErr)
	s.Equal(code, appErr.Type())
	s.Equal(key, appErr.Message())
}
