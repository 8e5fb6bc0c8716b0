package dimos

import (
	"context"
	"time"
)

// Markers around the words a search matched in SearchHit.Headline. They are plain
// text: a page escapes the headline and turns only these markers into highlights.
const (
	HighlightStart = "<mark>"
	HighlightStop  = "</mark>"
)

// SearchScope is which cases a search may return: all of them, or those of one
// service and those assigned to one employee, the cases the employee may read.
type SearchScope struct {
	All        bool
	ServiceID  int64 // 0: none by service
	EmployeeID int64 // 0: none by assignee
}

// SearchHit is one case found by a search (M19), best match first.
type SearchHit struct {
	Number       string
	Subject      string
	Status       Status
	Stage        Stage
	CategoryCode string
	SubmittedAt  time.Time
	Rank         float64
	// Headline is an excerpt of the case's text and comments with the matched words
	// between HighlightStart and HighlightStop; nothing else in it is markup.
	Headline string
}

// CaseSearcher finds cases by their number or by words of their number, subject,
// text, desired action, contact's name and comments, in any case and accents.
type CaseSearcher interface {
	SearchCases(ctx context.Context, q string, scope SearchScope, limit int) ([]SearchHit, error)
}
