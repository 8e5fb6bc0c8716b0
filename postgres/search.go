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

// DefaultSearchCandidates is how many matching cases a search ranks when
// DB.SearchCandidates is unset.
const DefaultSearchCandidates = 1000

// searchFirstWindow is the first window of case ids a search looks at, in candidates:
// a word found in one case of eight fills the candidates in one round.
const searchFirstWindow = 8

// searchWindowGrowth is how much wider each next, older window is than the last.
const searchWindowGrowth = 4

// SearchCases finds the cases within scope that match q, best first: a case whose
// number q names comes before all others, then the rest by text rank (a match in
// the subject outweighs one in the text, which outweighs one in a comment), newest
// first among equals. q is read as a web search (words, "phrases", -not, or) in the
// greek configuration.
//
// Only the newest DB.SearchCandidates matching cases in scope (by filing order) are
// ranked: ranking reads each candidate's row, and a common word matches a fixed
// share of every case ever filed, so ranking every match would cost in proportion to
// the whole archive. The candidates are gathered newest first through windows of case
// ids, each older and wider than the last (a bitmap of the text index and a range of
// the primary key), until there are enough of them or no older case is left; a rare
// word thus still finds its one case from years ago. Only the returned rows are
// headlined, since ts_headline reads the whole text.
func (db *DB) SearchCases(ctx context.Context, q string, scope dimos.SearchScope, limit int) ([]dimos.SearchHit, error) {
	q = strings.TrimSpace(q)
	if q == "" || limit <= 0 || !scope.All && scope.ServiceID == 0 && scope.EmployeeID == 0 {
		return nil, nil
	}
	ids, err := db.searchCandidates(ctx, q, scope)
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	number, _ := dimos.ParseCaseNumber(q)
	rows, err := db.Pool.Query(ctx, searchSQL, q, number, scope.All, scope.ServiceID, scope.EmployeeID, limit, headlineOptions, ids)
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

func (db *DB) searchCandidateLimit() int {
	if db.SearchCandidates > 0 {
		return db.SearchCandidates
	}
	return DefaultSearchCandidates
}

// searchCandidates returns the ids of the newest matching cases in scope, at most
// searchCandidateLimit of them, newest first.
func (db *DB) searchCandidates(ctx context.Context, q string, scope dimos.SearchScope) ([]int64, error) {
	want := db.searchCandidateLimit()
	var newest *int64
	if err := db.Pool.QueryRow(ctx, `SELECT max(id) FROM cases`).Scan(&newest); err != nil || newest == nil {
		return nil, err
	}
	ids := make([]int64, 0, want)
	hi := *newest + 1 // the window is lo < id < hi
	width := int64(want * searchFirstWindow)
	for len(ids) < want && hi > 1 {
		lo := max(hi-width, 0)
		sql, args := searchWindow(q, scope, lo, hi, want-len(ids))
		rows, err := db.Pool.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, err
		}
		ids = append(ids, found...)
		hi, width = lo+1, width*searchWindowGrowth
		if !scope.All && restIsSparse(len(ids), *newest+1-hi, hi, want) {
			width = hi // the next window is the rest, down to the oldest case
		}
	}
	return ids, nil
}

// restIsSparse tells whether the ids below hi are expected to hold at most want
// matching cases, judging by the found ones among the seen newer ids (one more
// than found, so that none found is not read as none there). A scoped window
// that reaches the oldest case is read without a primary key bound (see
// searchScopedWindowSQL), so it costs the rows of its matches, not its width: the
// rest in one window is cheaper than windows of 512,000 ids at 1M, each a bitmap of
// that many keys (139 ms cold) to keep a few hundred cases.
func restIsSparse(found int, seen, hi int64, want int) bool {
	return seen > 0 && int64(found+1)*hi <= int64(want)*seen
}

// searchWindow is the query of the newest matching cases in scope with lo < id < hi,
// at most limit of them, and its arguments. It is planned for these values each time
// (no generic plan): a narrow window of a common word and a wide window of a rare
// one want different plans.
func searchWindow(q string, scope dimos.SearchScope, lo, hi int64, limit int) (string, []any) {
	if scope.All {
		return searchWindowSQL, []any{pgx.QueryExecModeExec, q, lo, hi, scope.All, scope.ServiceID, scope.EmployeeID, limit}
	}
	sql := searchScopedWindowSQL
	if lo == 0 {
		sql = strings.Replace(sql, "c.id > $2 AND c.id < $3", "$2 = 0 AND c.id + 0 < $3", 1)
	}
	return sql, []any{pgx.QueryExecModeExec, q, lo, hi, limit, scopeLexemes(scope), scope.ServiceID, scope.EmployeeID}
}

// searchWindowSQL finds the newest matching cases in scope within a window of ids;
// the search of every case uses it, a scoped one searchScopedWindowSQL.
// It orders by id + 0, not id, so that the planner cannot walk the primary key
// backwards testing every row of the window: that plan, chosen when it expects the
// LIMIT to fill early, read all million rows (1.9 s) for a word common elsewhere but
// rare in a director's service; through the text index it reads only the matches.
const searchWindowSQL = `
		SELECT c.id FROM cases c
		WHERE c.search @@ websearch_to_tsquery('greek', $1) AND c.id > $2 AND c.id < $3
		  AND ($4 OR c.service_id = $5 OR c.assignee_id = $6)
		ORDER BY c.id + 0 DESC
		LIMIT $7`

// searchScopedWindowSQL is searchWindowSQL for a scope of one service and/or one
// assignee. It asks cases_search_scope_idx (migration 0017) for the words AND the
// scope's lexemes ($5, from scopeLexemes), so the index returns only the cases in
// scope and no other case's row is read; with cases_search_idx a word common in other
// services had every one of its matches read (37,144 rows at 1M for 372 kept). The
// expression must stay the index's, word for word. numnode guards a query of stop
// words only: its empty tsquery AND the scope would be the scope alone, every case
// of the service, where the plain search finds nothing. The last line is the scope
// itself; the index already implies it. The window that reaches the oldest case
// bounds c.id + 0, not c.id: the index returns only the cases in scope, and a bitmap
// of the primary key below hi would cost more than reading them (searchWindow).
const searchScopedWindowSQL = `
		SELECT c.id FROM cases c
		WHERE (c.search || array_to_tsvector(array_remove(ARRAY['§s' || c.service_id, '§a' || c.assignee_id], NULL)))
				@@ (websearch_to_tsquery('greek', $1) && $5::tsquery)
		  AND numnode(websearch_to_tsquery('greek', $1)) > 0
		  AND c.id > $2 AND c.id < $3
		  AND (c.service_id = $6 OR c.assignee_id = $7)
		ORDER BY c.id + 0 DESC
		LIMIT $4`

// scopeLexemes is the tsquery of a scope's lexemes in cases_search_scope_idx: the
// service's, the assignee's or either. It must not be called for scope.All or an
// empty scope (SearchCases returns before).
func scopeLexemes(scope dimos.SearchScope) string {
	var terms []string
	if scope.ServiceID != 0 {
		terms = append(terms, fmt.Sprintf("'§s%d'", scope.ServiceID))
	}
	if scope.EmployeeID != 0 {
		terms = append(terms, fmt.Sprintf("'§a%d'", scope.EmployeeID))
	}
	return strings.Join(terms, " | ")
}

// searchSQL ranks the candidates ($8) and the case whose number q names, and
// headlines the best of them; benchmarks explain it.
const searchSQL = `
		WITH query AS (SELECT websearch_to_tsquery('greek', $1) AS tsq),
		found AS (
			SELECT c.id, c.number, c.subject, c.status, c.stage, c.category_code, c.submitted_at, c.body,
				c.number = $2 AS exact, ts_rank(c.search, query.tsq)::float8 AS rank
			FROM cases c, query
			WHERE (c.number = $2 OR c.id = ANY ($8::bigint[]))
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
