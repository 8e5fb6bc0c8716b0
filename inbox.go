package dimos

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The staff inbox: the open cases an employee works, in tabs, with each case's
// deadline. A case's deadline is the earlier of its due date, when a clerk set one,
// and the day its completion clock runs out: the category's completion target, or
// the statutory 50 working days (Ν.2690/1999) when the target is longer or unset,
// counted in working days of the Greek calendar from submission, with the time spent
// waiting for the citizen (or lying closed before a reopening) left out. The store
// keeps it current on every move of the case, so that the inbox sorts and pages on it.

// InboxTab is one view of the inbox.
type InboxTab string

const (
	InboxMine    InboxTab = "mine"    // open cases assigned to me
	InboxService InboxTab = "service" // my service's open cases that no clerk holds yet
	InboxWaiting InboxTab = "waiting" // cases in my scope waiting for the citizen
	InboxOverdue InboxTab = "overdue" // open cases in my scope past their deadline
	InboxAll     InboxTab = "all"     // every open case, for managers and admins
)

// InboxTabs lists the tabs in the order the page shows them.
var InboxTabs = []InboxTab{InboxMine, InboxService, InboxWaiting, InboxOverdue, InboxAll}

// Valid reports whether t is a known tab.
func (t InboxTab) Valid() bool {
	for _, v := range InboxTabs {
		if t == v {
			return true
		}
	}
	return false
}

// InboxScope is whose cases an inbox may show: every case, or those of one service
// and those assigned to one employee, the cases the employee may read.
type InboxScope struct {
	All        bool
	EmployeeID int64 // the viewer; "mine" is theirs
	ServiceID  int64 // 0: the viewer belongs to no service
}

// Tabs returns the tabs open to a viewer of this scope: the service tab only to a
// member of a service, the all tab only to those who read every case.
func (s InboxScope) Tabs() []InboxTab {
	var out []InboxTab
	for _, t := range InboxTabs {
		if s.Allows(t) {
			out = append(out, t)
		}
	}
	return out
}

// Allows reports whether the tab is open to a viewer of this scope.
func (s InboxScope) Allows(t InboxTab) bool {
	switch t {
	case InboxService:
		return s.ServiceID != 0
	case InboxAll:
		return s.All
	}
	return t.Valid()
}

// InboxFilters narrow every tab alike. Zero values filter nothing.
type InboxFilters struct {
	Category string
	Stage    Stage
	Status   Status
	Channel  Channel
	Kind     Kind
	From     time.Time // submitted at or after
	To       time.Time // submitted before
}

// Channels lists every channel a case comes in by.
var Channels = []Channel{ChannelPortal, ChannelIVR, ChannelOpen311, ChannelDesk}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	for _, v := range Channels {
		if c == v {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool {
	for _, v := range Stages {
		if s == v {
			return true
		}
	}
	return false
}

// Statuses lists the public statuses.
var Statuses = []Status{StatusPending, StatusInProgress, StatusCompleted}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// InboxCursor is a position in a tab's order (deadline, then id): a page starts
// after or before it. A zero Deadline stands for a case without one, which sorts last.
type InboxCursor struct {
	Deadline time.Time
	ID       int64
}

// String encodes the cursor for a link: microseconds since 1970 (or "none") and the id.
func (c InboxCursor) String() string {
	d := "none"
	if !c.Deadline.IsZero() {
		d = strconv.FormatInt(c.Deadline.UnixMicro(), 10)
	}
	return d + "_" + strconv.FormatInt(c.ID, 10)
}

// ParseInboxCursor reads a cursor written by String.
func ParseInboxCursor(s string) (InboxCursor, error) {
	d, id, ok := strings.Cut(s, "_")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 {
		return InboxCursor{}, fmt.Errorf("inbox cursor %q", s)
	}
	c := InboxCursor{ID: n}
	if d != "none" {
		us, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return InboxCursor{}, fmt.Errorf("inbox cursor %q", s)
		}
		c.Deadline = time.UnixMicro(us).UTC()
	}
	return c, nil
}

// InboxQuery asks for one page of a tab. At most one of After and Before is set:
// After pages forward (the next page), Before backward (the previous one).
type InboxQuery struct {
	Tab     InboxTab
	Scope   InboxScope
	Filters InboxFilters
	After   *InboxCursor
	Before  *InboxCursor
	Limit   int
	// Now is the moment "overdue" and the clocks are judged at; zero is the store's now.
	Now time.Time
}

// InboxClock is where a case's deadline stands, in working days.
type InboxClock struct {
	None    bool // the case has no deadline
	Paused  bool // the clock stopped while the office waits for the citizen
	Overdue bool
	// Days is the working days left, or by how many the deadline is missed, rounded up:
	// a case due in half a working day has 1 left.
	Days int
}

// InboxCase is one row of the inbox.
type InboxCase struct {
	ID           int64
	Number       string
	Subject      string
	Kind         Kind
	CategoryCode string
	Stage        Stage
	Status       Status
	Channel      Channel
	SubmittedAt  time.Time
	ServiceID    int64
	AssigneeID   int64
	AssigneeName string // "" while nobody holds it
	DueDate      time.Time
	Deadline     time.Time // zero when none
	Clock        InboxClock
}

// InboxPage is one page of a tab, in deadline order: the most overdue first, then the
// nearest deadline, ties by id. Next and Prev are nil on the last and first page.
type InboxPage struct {
	Cases []InboxCase
	Next  *InboxCursor
	Prev  *InboxCursor
}

// InboxCounts is how many cases each tab holds under the query's scope and filters,
// counted up to InboxCountCap: a tab holding more reads InboxCountCap+1.
type InboxCounts map[InboxTab]int

// InboxCountCap is as far as the inbox counts a tab's cases. Counting further would
// read every open case of a large municipality on each page view (the counts are in
// every tab's title), and past a thousand the exact figure tells a clerk nothing.
const InboxCountCap = 999

// InboxCountLabel is how a page shows a count: the number, or "999+" past the cap.
func InboxCountLabel(n int) string {
	if n > InboxCountCap {
		return strconv.Itoa(InboxCountCap) + "+"
	}
	return strconv.Itoa(n)
}

// Inbox lists the cases of the staff inbox.
type Inbox interface {
	InboxPage(ctx context.Context, q InboxQuery) (InboxPage, error)
	InboxCounts(ctx context.Context, q InboxQuery) (InboxCounts, error)
}
