// Package workflows holds the durable processes of dimos. This file is their public
// contract: the task queue, how workflow ids are made, the names of every update,
// signal and query, and the structs that cross the boundary. Callers (the console, the
// citizen API) need nothing else from this package.
package workflows

import (
	"time"

	"dimos"
)

// TaskQueue is where the dimos worker listens for case workflows and activities.
const TaskQueue = "dimos-cases"

// WorkflowID is the id of a case's workflow. Deriving it from the case number makes a
// second start of the same case impossible: Temporal refuses a duplicate id.
func WorkflowID(number string) string { return "case-" + number }

// Staff decisions on a case (M12, M13). Each is a Temporal Update with a validator, so
// a decision the case cannot take is refused at once, before anything is written.
const (
	UpdateAssign           = "assign"            // AssignRequest: give the case to a clerk of its service
	UpdateTransfer         = "transfer"          // TransferRequest: send the case to another service
	UpdateComment          = "comment"           // CommentRequest: public (sent to the citizen) or internal
	UpdateAttach           = "attach"            // AttachRequest: a stored file joins the case
	UpdateRequestInfo      = "request_info"      // RequestInfoRequest: ask the citizen; clocks pause
	UpdateSetDueDate       = "set_due_date"      // DueDateRequest: expected completion or pickup date
	UpdateRegisterProtocol = "register_protocol" // ActorRequest: register in the protocol (M11)
	UpdateComplete         = "complete"          // CompleteRequest: the answer (M13)
	UpdateReject           = "reject"            // RejectRequest: refuse with a reason
	UpdateMerge            = "merge"             // MergeRequest: a duplicate ends; its citizen follows the original
)

// The citizen's actions on their case, also Updates with validators.
const (
	UpdateCitizenComment = "citizen_comment" // CitizenCommentRequest; answers a request for information
	UpdateRate           = "rate"            // RateRequest: 1–5 on the answer
	UpdateReopen         = "reopen"          // ReopenRequest: within the reopen window
)

// Signals and queries.
const (
	// SignalTargetsChanged tells an open case that an admin changed its category's
	// clocks; the new targets apply from then on.
	SignalTargetsChanged = "targets_changed"
	// QueryState returns the CaseState.
	QueryState = "state"
)

// CaseInput starts a CaseWorkflow. The case itself is already stored; the workflow
// carries only what it needs to decide, never the citizen's text.
type CaseInput struct {
	CaseID       int64
	Number       string
	CategoryCode string
	Kind         dimos.Kind
	Channel      dimos.Channel
	SubmittedAt  time.Time
	Anonymous    bool
	Targets      dimos.Targets
	AutoAssign   bool
	// ReopenDays is how many calendar days after completion the citizen may reopen
	// the case; the workflow ends when they pass.
	ReopenDays int
}

// CaseResult is what a finished CaseWorkflow returns.
type CaseResult struct {
	Number      string
	Stage       dimos.Stage
	CompletedAt time.Time
}

// ActorRequest is a decision with no other argument.
type ActorRequest struct {
	By dimos.Actor
}

// AssignRequest gives the case to an employee of the service that holds it.
type AssignRequest struct {
	By         dimos.Actor
	EmployeeID int64
	Note       string // internal
}

// TransferRequest sends the case to another service, whose director receives it.
type TransferRequest struct {
	By        dimos.Actor
	ServiceID int64
	Reason    string
}

// CommentRequest adds a comment; a public one is sent to the citizen.
type CommentRequest struct {
	By     dimos.Actor
	Text   string
	Public bool
}

// AttachRequest records an attachment already stored (never the file itself: files
// stay out of workflow histories).
type AttachRequest struct {
	By         dimos.Actor
	Attachment dimos.AttachmentRef
	Public     bool
}

// RequestInfoRequest asks the citizen for information; the case waits and the
// municipality's clocks pause until the citizen answers or ReplyDays working days pass.
type RequestInfoRequest struct {
	By        dimos.Actor
	Question  string
	ReplyDays float64 // 0 = the category's InfoReplyDays
}

// DueDateRequest sets or changes the expected completion or pickup date.
type DueDateRequest struct {
	By     dimos.Actor
	Due    time.Time
	Reason string
}

// CompleteRequest completes the case with the municipality's answer.
type CompleteRequest struct {
	By     dimos.Actor
	Answer string
}

// RejectRequest closes the case without doing what was asked, with the reason.
type RejectRequest struct {
	By     dimos.Actor
	Reason string
}

// MergeRequest merges this case, a duplicate, into its original: the duplicate ends
// (rejected, its event saying where it went) and its citizen, with any who followed
// it, follows the original from then on. Original is what the caller read of the
// original; the validator refuses on it at once, and the merge checks it again in the
// database under lock.
type MergeRequest struct {
	By       dimos.Actor
	Original MergeOriginal
	// Reason is optional, but required when the two cases are of different categories:
	// then somebody must say why they are the same matter.
	Reason string
}

// MergeOriginal is the case a duplicate is merged into, as the caller read it.
type MergeOriginal struct {
	Number       string
	CategoryCode string
	Stage        dimos.Stage
}

// CitizenCommentRequest is the citizen's comment, with attachments already stored.
type CitizenCommentRequest struct {
	Text        string
	Attachments []dimos.AttachmentRef
}

// RateRequest rates the answer.
type RateRequest struct {
	Rating dimos.Rating
}

// ReopenRequest reopens a completed case.
type ReopenRequest struct {
	Reason string
}

// Done is what an accepted update returns: when it took effect.
type Done struct {
	At time.Time
}

// TargetsChanged is the argument of SignalTargetsChanged.
type TargetsChanged struct {
	Targets dimos.Targets
}

// CaseState is the answer to QueryState.
type CaseState struct {
	Number         string
	Stage          dimos.Stage
	Seq            int // number of stage visits so far
	ServiceID      int64
	AssigneeID     int64
	Since          time.Time // when the current stage was entered
	Protocol       dimos.ProtocolEntry
	ProtocolFailed bool // the last registration attempt failed; retrying
	DueDate        time.Time
	InfoDeadline   time.Time // while waiting for the citizen
	ReopenUntil    time.Time // after completion
	MergedInto     string    // the number of the case this one was merged into, if any
	Clocks         []Clock
}

// Clock is one of the case's targets and where it stands.
type Clock struct {
	Name      string // assign, response, completion, statutory
	Days      float64
	Deadline  time.Time // zero once met, or while paused with no deadline known
	MetAt     time.Time
	Warned    bool
	Breached  bool
	Escalated bool
}
