package postgres

import (
	"context"
	"sync"
	"time"

	"dimos"
	"dimos/reports"
)

// ReportFromDays is Report reading every day of the period from report_rollups, never
// the weekly rollups: what the weekly path must agree with.
func (db *DB) ReportFromDays(ctx context.Context, f reports.Filter) (*reports.Report, error) {
	return db.report(ctx, f, false)
}

// InboxStatements returns the SQL and arguments of an inbox page and of its counts, so
// that the plans benchmark can EXPLAIN exactly what InboxPage and InboxCounts run.
func (db *DB) InboxStatements(q dimos.InboxQuery) (page string, pageArgs []any, counts string, countArgs []any, err error) {
	st, err := db.inboxPageStatement(q)
	if err != nil {
		return "", nil, "", nil, err
	}
	counts, countArgs, _, err = db.inboxCountsStatement(q)
	return st.sql, st.args, counts, countArgs, err
}

// ReportClockRunsOut is the instant after which the working time since submitted
// exceeds budget on the delay report's clock.
func ReportClockRunsOut(submitted time.Time, budget time.Duration) time.Time {
	return reportClockRunsOut(submitted, budget.Microseconds())
}

// SearchCandidateIDs returns the ids SearchCases ranks for q in scope, newest first.
func (db *DB) SearchCandidateIDs(ctx context.Context, q string, scope dimos.SearchScope) ([]int64, error) {
	return db.searchCandidates(ctx, q, scope)
}

// SearchIndexQuery is the query of cases_search_keys_idx for a tsquery as PostgreSQL
// prints it and its querytree, and whether rows must be tested against it as well.
var SearchIndexQuery = searchIndexQuery

// MigrationCount is the number of embedded migrations (their numbers may have gaps).
func MigrationCount() (int, error) {
	files, err := migrationFiles()
	return len(files), err
}

// HistogramBuckets decodes a rollup histogram as PostgreSQL sends it in binary, into
// its counts by bucket.
func HistogramBuckets(raw []byte) (map[int]int, error) {
	h, err := decodeHistogram(raw)
	if err != nil {
		return nil, err
	}
	var counts bucketCounts
	h.addTo(&counts)
	out := map[int]int{}
	for i, blk := range counts.blocks {
		if blk == nil {
			continue
		}
		for j, n := range blk {
			if n != 0 {
				out[i*countBlock+j] = int(n)
			}
		}
	}
	return out, nil
}

// HoldSubmissionGroups keeps every group of submissions from being written until
// release is first called, so that those arriving meanwhile queue up.
func (db *DB) HoldSubmissionGroups() (release func()) {
	db.submissions.gate.Lock()
	return sync.OnceFunc(db.submissions.gate.Unlock)
}

// SubmissionsWaiting counts the submissions queued and not yet taken into a group, and
// the keys whose group is being written.
func (db *DB) SubmissionsWaiting() (queued, writing int) {
	g := db.submissions
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range g.queued {
		queued += len(q)
	}
	return queued, len(g.writing)
}
