package dimos

import (
	"context"
	"time"
)

// CaseStore keeps cases, their timelines and stage timings.
type CaseStore interface {
	// SubmitCase stores a new case with its number, its "received" event and its first
	// stage, all at once. It fills c.ID, c.Number, c.Stage, c.Status and c.SubmittedAt.
	SubmitCase(ctx context.Context, c *Case) error
	// CaseByNumber returns ENOTFOUND for an unknown number.
	CaseByNumber(ctx context.Context, number string) (*Case, error)
	CaseEvents(ctx context.Context, caseID int64) ([]CaseEvent, error)
	StageTimings(ctx context.Context, caseID int64) ([]StageTiming, error)
	// CasesAwaitingWorkflow lists cases whose workflow has not been started yet, oldest
	// first (by SubmittedAt, then ID); when after is set, only the cases after it in
	// that order, so that a reader can page through them.
	CasesAwaitingWorkflow(ctx context.Context, after *Case, limit int) ([]*Case, error)
	MarkWorkflowStarted(ctx context.Context, caseID int64, at time.Time) error
	// RecordTransition moves a case to a new stage. It is idempotent on
	// (CaseID, Seq): a retry of the same transition changes nothing.
	RecordTransition(ctx context.Context, t Transition) error
	// ApplyChange records a change that is not a move between stages. It is
	// idempotent on Key.
	ApplyChange(ctx context.Context, ch CaseChange) error
	// AccessKeyHash returns the hash of the citizen's key to a case, nil if none.
	AccessKeyHash(ctx context.Context, caseID int64) ([]byte, error)
	// LeastLoadedClerk returns the active clerk of a service with the fewest open
	// cases (ties to the lowest id); ENOTFOUND when the service has no clerk.
	LeastLoadedClerk(ctx context.Context, serviceID int64) (int64, error)
}

// NotificationLog remembers which notifications went out, so that each event is told
// once per channel however often the sending activity is retried.
type NotificationLog interface {
	// NotificationSent reports whether the notification key went out on channel.
	NotificationSent(ctx context.Context, key, channel string) (bool, error)
	// MarkNotificationSent records that it did.
	MarkNotificationSent(ctx context.Context, key, channel, recipient string, at time.Time) error
}

// Transition is one move of a case from its current stage to the next, with the event
// that explains it. Seq is the number of the stage visit it opens (the first stage,
// received, is 1), which makes it the idempotency key.
type Transition struct {
	CaseID     int64
	Seq        int
	Stage      Stage
	At         time.Time
	ServiceID  int64 // holder after the move; 0 keeps the current one
	EmployeeID int64 // assignee after the move; 0 keeps the current one
	Answer     string
	Event      CaseEvent
}

// Directory answers questions about the organisation: categories, services, staff.
type Directory interface {
	Categories(ctx context.Context) ([]*Category, error)
	CategoryByCode(ctx context.Context, code string) (*Category, error)
	RoutingFor(ctx context.Context, categoryCode string) (Routing, error)
	ServiceByID(ctx context.Context, id int64) (*Service, error)
	EmployeeByID(ctx context.Context, id int64) (*Employee, error)
	EmployeeByUsername(ctx context.Context, username string) (*Employee, error)
	// EmployeesByRole lists the active employees of a role, e.g. the managers to whom
	// overdue cases are escalated.
	EmployeesByRole(ctx context.Context, role Role) ([]*Employee, error)
	// RoutingForService is RoutingFor a service chosen by hand (a transfer).
	RoutingForService(ctx context.Context, serviceID int64) (Routing, error)
}

// SessionStore keeps staff sessions by the hash of their token.
type SessionStore interface {
	CreateSession(ctx context.Context, tokenHash []byte, s StaffSession) error
	// SessionByTokenHash returns a session, expired or not, with its Employee, active
	// or not: one read for what the console checks on every request.
	SessionByTokenHash(ctx context.Context, tokenHash []byte) (*StaffSession, error)
	TouchSession(ctx context.Context, tokenHash []byte, seen, expires time.Time) error
	DeleteSession(ctx context.Context, tokenHash []byte) error
}

// AuditLog is the append-only trail of staff actions.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
}

// Throttle counts failed attempts per key (an account, an address) so that sign-in and
// PIN guessing can be slowed down.
type Throttle interface {
	// Failures returns how many failures key had since the given time.
	Failures(ctx context.Context, key string, since time.Time) (int, error)
	RecordFailure(ctx context.Context, key string, at time.Time) error
	// Reset forgets key's failures after a success.
	Reset(ctx context.Context, key string) error
}

// Health reports whether a dependency answers.
type Health interface {
	Ping(ctx context.Context) error
}

// Actor is the employee behind a staff decision, as the console knows them.
type Actor struct {
	EmployeeID int64
	Name       string
	Role       Role
	ServiceID  int64
}
