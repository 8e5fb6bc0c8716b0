package dimos

import "context"

// RecordingStore remembers where the telephony provider keeps a caller's recorded
// message (M17), until an activity has fetched it and attached it to the case.
type RecordingStore interface {
	SaveRecording(ctx context.Context, caseID int64, url string) error
	// RecordingOf returns the recording's URL, "" when the case has none.
	RecordingOf(ctx context.Context, caseID int64) (string, error)
	// CaseWithRecording returns the number of the case filed with a recording, ""
	// when none.
	CaseWithRecording(ctx context.Context, url string) (string, error)
}
