package dimos

import (
	"context"
	"time"
)

// Possible duplicates, merging, and the map of open cases.
//
// Citizens often report the same pothole or the same broken lamp twice. The console
// shows, on a case's page, the open cases of its category nearby or with similar
// text, and the holder may merge a duplicate into its original: the duplicate ends,
// and its citizens follow the original, hearing of every change of it as its own
// citizen does.

// DuplicateQuery asks for the possible duplicates of one case.
type DuplicateQuery struct {
	Case *Case
	// RadiusM is how far apart, in metres, two points of the same matter may be.
	RadiusM float64
	// MinSimilarity is the least trigram similarity (0–1) of two subjects and texts
	// that makes them a possible duplicate.
	MinSimilarity float64
	Limit         int
}

// Duplicate is an open case of the same category as the one asked about, near it or
// with similar text, the likeliest first.
type Duplicate struct {
	Number       string
	Subject      string
	CategoryCode string
	Stage        Stage
	SubmittedAt  time.Time
	// DistanceM is the distance between the two points in metres; negative when
	// either case has no point or they are farther apart than the radius.
	DistanceM float64
	// Similarity is the trigram similarity of the two texts, 0–1.
	Similarity float64
	// Score orders the list: the stronger of nearness (1 at the same spot, 0 at the
	// radius) and similarity.
	Score float64
}

// DuplicateFinder finds the possible duplicates of a case.
type DuplicateFinder interface {
	PossibleDuplicates(ctx context.Context, q DuplicateQuery) ([]Duplicate, error)
}

// Merge is the merging of a duplicate case into its original.
type Merge struct {
	DuplicateID    int64
	OriginalNumber string
	// CategoryCode is the duplicate's category; an original of another category is
	// refused unless Reason says why they are the same matter.
	CategoryCode string
	ActorID      int64
	Reason       string
	At           time.Time
}

// Follower is a citizen who follows a case not their own: the contact of a duplicate
// merged into it, who is told of the case's changes as its own citizen is.
type Follower struct {
	CaseNumber string // the follower's own (merged) case
	Contact    Contact
	Lang       string
}

// MergeStore keeps merges and the followers they make.
type MergeStore interface {
	// MergeCase records that the duplicate is merged into the original: the original's
	// followers gain the duplicate's citizen and the duplicate's own followers, and the
	// original's timeline tells of it. It refuses, with a *Error, an original that
	// is unknown, closed, itself merged, the duplicate itself, or of another category
	// without a reason. Repeating the same merge changes nothing.
	MergeCase(ctx context.Context, m Merge) error
	// CaseFollowers lists the followers of a case, with their contact details as they
	// are now.
	CaseFollowers(ctx context.Context, caseID int64) ([]Follower, error)
}

// MapFilter selects the open cases a map shows.
type MapFilter struct {
	Scope        SearchScope
	CategoryCode string // "" for all
	ServiceID    int64  // 0 for all
	Stage        Stage  // "" for every open stage
	Limit        int
}

// MapCase is an open case with a point on the map.
type MapCase struct {
	Number       string
	Subject      string
	CategoryCode string
	ServiceID    int64
	Stage        Stage
	Point        Point
}

// CaseMap lists the open cases that have a point, for the console's map.
type CaseMap interface {
	OpenCasesOnMap(ctx context.Context, f MapFilter) ([]MapCase, error)
}
