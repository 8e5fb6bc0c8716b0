package dimos

import (
	"context"
	"time"
)

// AuditFilter narrows a search of the audit log. Empty fields do not filter. Rows
// come newest first, and BeforeID pages by keyset: the next page asks for the rows
// older than the last id shown, which stays right while new entries arrive.
type AuditFilter struct {
	Username     string    // the employee who acted, exactly
	ActionPrefix string    // "case." finds every decision on a case
	Target       string    // e.g. a case number, exactly
	From, To     time.Time // From inclusive, To exclusive
	BeforeID     int64     // only rows with a smaller id; 0 for the newest
	Limit        int
}

// AuditRecord is an entry of the audit log as the admins read it: with its id, for
// paging, and the name of the employee who acted ("" for an unknown user).
type AuditRecord struct {
	ID int64
	AuditEntry
	EmployeeName string
	Username     string
}

// AuditSearcher reads the audit log back.
type AuditSearcher interface {
	AuditSearch(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
}
