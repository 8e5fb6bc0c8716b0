package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"dimos"
)

var _ dimos.CaseSearcher = (*DB)(nil)

// headlineOptions mark the matched words for the console and keep the excerpt short.
var headlineOptions = fmt.Sprintf("StartSel=%s, StopSel=%s, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"",
	dimos.HighlightStart, dimos.HighlightStop)

// SearchCases finds the cases within scope that match q, best first: a case whose
// number q names comes before all others, then the rest by text rank (a match in
// the subject outweighs one in the text, which outweighs one in a comment), newest
// first among equals. q is read as a web search (words, "phrases", -not, or) in the
// greek configuration. Only the returned rows are headlined, since ts_headline reads
// the whole text.
func (db *DB) SearchCases(ctx context.Context, q string, scope dimos.SearchScope, limit int) ([]dimos.SearchHit, error) {
	q = strings.TrimSpace(q)
	if q == "" || limit <= 0 || !scope.All && scope.ServiceID == 0 && scope.EmployeeID == 0 {
		return nil, nil
	}
	number, _ := dimos.ParseCaseNumber(q)
	rows, err := db.Pool.Query(ctx, searchSQL, q, number, scope.All, scope.ServiceID, scope.EmployeeID, limit, headlineOptions)
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.SearchHit, error) {
		var h dimos.SearchHit
		err := r.Scan(&h.Number, &h.Subject, &h.Status, &h.Stage, &h.CategoryCode, &h.SubmittedAt, &h.Rank, &h.Headline)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	return hits, nil
}

// searchSQL is the query of SearchCases; benchmarks explain it.
const searchSQL = `
		WITH query AS (SELECT websearch_to_tsquery('greek', $1) AS tsq),
		found AS (
			SELECT c.id, c.number, c.subject, c.status, c.stage, c.category_code, c.submitted_at, c.body,
				c.number = $2 AS exact, ts_rank(c.search, query.tsq)::float8 AS rank
			FROM cases c, query
			WHERE (c.number = $2 OR c.search @@ query.tsq)
			  AND ($3 OR c.service_id = $4 OR c.assignee_id = $5)
			ORDER BY exact DESC, rank DESC, c.submitted_at DESC, c.id DESC
			LIMIT $6
		)
		SELECT f.number, f.subject, f.status, f.stage, f.category_code, f.submitted_at, f.rank,
			ts_headline('greek', concat_ws(' · ', f.subject, f.body,
				(SELECT string_agg(e.body, ' · ' ORDER BY e.id) FROM case_events e
				  WHERE e.case_id = f.id AND e.type IN ('comment', 'citizen_comment') AND e.body <> '')),
				query.tsq, $7)
		FROM found f, query
		ORDER BY f.exact DESC, f.rank DESC, f.submitted_at DESC, f.id DESC`
