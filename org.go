package dimos

import "time"

// Service is a department of the municipality (Διεύθυνση / Υπηρεσία) with its director.
type Service struct {
	ID         int64
	Code       string
	NameEL     string
	NameEN     string
	DirectorID int64 // 0 when the post is vacant
	Email      string
}

// Role is what an employee may do in the console.
type Role string

const (
	RoleClerk    Role = "clerk"
	RoleDirector Role = "director"
	RoleDesk     Role = "desk"
	RoleManager  Role = "manager"
	RoleAdmin    Role = "admin"
)

// Employee is a member of staff who signs in to the console.
type Employee struct {
	ID           int64
	Username     string
	FullName     string
	Email        string
	Phone        string
	ServiceID    int64
	Role         Role
	PasswordHash string
	Active       bool
}

// Category is what a case is about; it decides the responsible service (M10) and the
// clocks its cases run on.
type Category struct {
	Code       string
	NameEL     string
	NameEN     string
	Kinds      []Kind
	ServiceID  int64
	Targets    Targets
	AutoAssign bool // give new cases to the service's least-loaded clerk
}

// StatutoryDays is the limit for answering a citizen, in working days (Ν.2690/1999,
// art. 4: 50 days).
const StatutoryDays = 50

// Targets are a category's clocks, in working days counted from submission, with the
// time spent waiting for the citizen left out. Zero means no target.
type Targets struct {
	AssignDays     float64 // until a clerk holds the case
	ResponseDays   float64 // until the first answer, comment or question to the citizen
	CompletionDays float64 // until the case is completed or rejected
	StatutoryDays  float64 // the legal limit; StatutoryDays when zero
	InfoReplyDays  float64 // how long the citizen has to answer a request for information
}

// Statutory returns the legal limit in working days.
func (t Targets) Statutory() float64 {
	if t.StatutoryDays > 0 {
		return t.StatutoryDays
	}
	return StatutoryDays
}

// Allows reports whether cases of kind k may be filed under the category.
func (c *Category) Allows(k Kind) bool {
	for _, v := range c.Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Routing is where a category's cases go: the service and, if the post is filled, its
// director.
type Routing struct {
	ServiceID    int64
	ServiceName  string
	DirectorID   int64
	DirectorName string
}

// StaffSession is a signed-in employee's session. The token itself is given only to
// the browser; the store keeps its hash.
type StaffSession struct {
	EmployeeID int64
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// Employee is the session's employee, active or not, as SessionStore's
	// SessionByTokenHash reads it with the session; CreateSession ignores it.
	Employee *Employee
}

// AuditEntry records one staff action: who did what, to what, when and from where.
type AuditEntry struct {
	At         time.Time
	EmployeeID int64 // 0 for a failed sign-in by an unknown user
	Action     string
	Target     string // e.g. a case number
	Detail     string
	IP         string
}
