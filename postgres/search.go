package postgres

import (
	"context"
	"fmt"
	"math/bits"
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

// searchFirstWindow is the least width of the first window of case ids a search looks
// at, in candidates: a word found in one case of eight fills the candidates in one
// round.
const searchFirstWindow = 8

// The windows are blocks of 2^k consecutive ids, k from searchMinBlock to
// searchMaxBlock: case_search_keys (migration 0020) gives each case the lexeme
// '§b<k>_<id >> k>' of its block at each k. Ids beyond the largest block are read
// in one last window without a block lexeme.
const (
	searchMinBlock = 4
	searchMaxBlock = 23
)

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
// ids, each older and wider than the last, until there are enough of them or no
// older case is left (searchCandidates); a rare word thus still finds its one case
// from years ago. Only the returned rows are headlined, since ts_headline reads the
// whole text.
func (db *DB) SearchCases(ctx context.Context, q string, scope dimos.SearchScope, limit int) ([]dimos.SearchHit, error) {
	q = strings.TrimSpace(q)
	if q == "" || limit <= 0 || !scope.All && scope.ServiceID == 0 && scope.EmployeeID == 0 {
		return nil, nil
	}
	number, _ := dimos.ParseCaseNumber(q)
	sql, args, err := db.searchStatement(ctx, q, number, scope, limit)
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	rows, err := db.Pool.Query(ctx, sql, args...)
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
// searchCandidateLimit of them, newest first: the candidates SearchCases ranks.
func (db *DB) searchCandidates(ctx context.Context, q string, scope dimos.SearchScope) ([]int64, error) {
	args := searchArgs{pgx.QueryExecModeCacheStatement}
	windows, err := db.searchWindows(ctx, q, scope, &args)
	if err != nil || windows == "" {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, "SELECT id FROM ("+windows+") w", args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// searchStatement is the statement of SearchCases and its arguments: searchSQL
// with the windows of candidates of searchWindows, or none when there can be none.
// It is prepared once per connection and text (the number of windows and the scope
// change the text): every window is a block of the index whatever the words, so one
// plan serves all, and planning seven windows each time cost 1–1.5 ms at 1M.
func (db *DB) searchStatement(ctx context.Context, q, number string, scope dimos.SearchScope, limit int) (string, []any, error) {
	args := searchArgs{pgx.QueryExecModeCacheStatement, q, number, scope.All, scope.ServiceID, scope.EmployeeID, limit, headlineOptions}
	windows, err := db.searchWindows(ctx, q, scope, &args)
	if err != nil {
		return "", nil, err
	}
	if windows == "" {
		windows = `SELECT NULL::bigint AS id, NULL::text AS number, NULL::timestamptz AS submitted_at, NULL::tsvector AS search WHERE false`
	}
	return fmt.Sprintf(searchSQL, windows), args, nil
}

// searchArgs are the arguments of a statement, the first of them its pgx.QueryExecMode.
type searchArgs []any

// add appends v and returns its placeholder.
func (a *searchArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a)-1)
}

// searchWindows returns the query of the candidates of q in scope (their id, number,
// submitted_at and search), its arguments appended to args, or no query when there
// can be none (no case, or q of stop words only).
//
// The query is one UNION ALL of windows of ids, newest first, blocks of ids twice as
// wide every second window (the first at least searchFirstWindow candidates wide),
// each its newest matching cases in scope, under one LIMIT: PostgreSQL runs the
// windows in turn and stops at the one that fills the LIMIT, so a common word reads
// a window or two and a rare one all of them, in one round trip.
//
// Each window asks cases_search_keys_idx for its block's lexeme and, as a second
// condition, for the words: GIN leapfrogs between the two conditions, skipping
// through each list to the other's next item, so a window costs about its matches,
// whatever the words' count in the archive. (A window of the primary key AND'ed with
// a bitmap of the words cost every match of the words in the table, 21 ms for
// λακκούβα at 1M, in each window; the block AND'ed into the words' tsquery still
// walked the rarer list whole, 2.7 ms against 1.4 for a window of φανάρι Κουνδούρου.)
// A scope of a service asks for its own lexemes of the words
// ('§s<service>§<lexeme>'), whose lists hold only that service's cases: a word common
// in other services and rare in this one is a short list, not the intersection of two
// long ones (searchIndexQuery).
//
// Windows are ordered by id + 0, not id: walking the primary key backwards testing
// every row would read the whole table for a word rare in the scope.
func (db *DB) searchWindows(ctx context.Context, q string, scope dimos.SearchScope, args *searchArgs) (string, error) {
	var newest int64
	var tsq, tree string
	err := db.Pool.QueryRow(ctx, `SELECT coalesce((SELECT max(id) FROM cases), 0), q::text, querytree(q)
		FROM websearch_to_tsquery('greek', $1) q`, q).Scan(&newest, &tsq, &tree)
	if err != nil || newest == 0 || tsq == "" {
		return "", err
	}
	want := db.searchCandidateLimit()
	index, phrase := searchIndexQuery(tsq, tree, scope)
	arg := args.add
	// What the index cannot tell is tested on the row: the scope (a negation alone
	// matches the cases of other services too), and a phrase (searchIndexQuery).
	filter := ""
	if !scope.All {
		filter += fmt.Sprintf(" AND (c.service_id = %s OR c.assignee_id = %s)", arg(scope.ServiceID), arg(scope.EmployeeID))
	}
	if phrase {
		filter += fmt.Sprintf(" AND c.search @@ websearch_to_tsquery('greek', %s)", arg(q))
	}
	limit, keys := arg(want), ""
	if index != "" { // a phrase of negations alone asks the index nothing
		keys = arg(index)
	}
	var windows []string
	window := func(match string, lo, hi int64) {
		windows = append(windows, fmt.Sprintf(`(SELECT c.id, c.number, c.submitted_at, c.search FROM cases c
			WHERE %s AND c.id + 0 >= %s AND c.id + 0 < %s%s
			ORDER BY c.id + 0 DESC LIMIT %s)`, match, arg(lo), arg(hi), filter, limit))
	}
	block := searchMinBlock
	for block < searchMaxBlock && int64(1)<<block < int64(want*searchFirstWindow) {
		block++
	}
	// The first window is the block that holds the newest case; each next one the
	// block of ids just below, of the size of the step (two steps a size) or smaller
	// where the ids below are not aligned to it, so the windows never overlap and a
	// match is read once. Two windows a size, not one: the window that fills the LIMIT
	// reads all its matches, so the finer the last steps, the fewer rows read for
	// nothing (φανάρι Κουνδούρου read 806 rows in its last window to keep 246).
	hi := newest + 1 // each window is lo <= id < hi
	for step := 0; hi > 0 && block <= searchMaxBlock; step++ {
		k, n := block, (hi-1)>>block
		if step%2 == 1 {
			block++
		}
		if step > 0 {
			k = min(k, bits.TrailingZeros64(uint64(hi)))
			n = hi>>k - 1
		}
		match := fmt.Sprintf("case_search_keys(c.search, c.id, c.service_id, c.assignee_id) @@ %s::tsquery",
			arg(fmt.Sprintf("'§b%d_%d'", k, n)))
		if index != "" {
			match += fmt.Sprintf(" AND case_search_keys(c.search, c.id, c.service_id, c.assignee_id) @@ %s::tsquery", keys)
		}
		window(match, n<<k, hi)
		hi = n << k
	}
	if hi > 0 {
		match := "true" // nothing to ask the index: every case below hi is read
		if index != "" {
			match = fmt.Sprintf("case_search_keys(c.search, c.id, c.service_id, c.assignee_id) @@ %s::tsquery", keys)
		}
		window(match, 0, hi)
	}
	return "SELECT * FROM (" + strings.Join(windows, "\n\t\tUNION ALL ") + ") w LIMIT " + limit, nil
}

// searchIndexQuery is the query of cases_search_keys_idx (migration 0020) for the
// tsquery tsq (as PostgreSQL prints it, with querytree its part an index can answer)
// in scope, and whether the rows must be tested against tsq itself.
//
// The lexemes the index adds carry no positions, so a phrase ('a' <-> 'b') cannot be
// asked of them: for a phrase query the index is asked for its querytree (the words
// that must be there, without the negations) with each phrase as an AND, and each
// row found is tested against the case's own vector. Any other query is answered by
// the index exactly.
//
// A scope of a service asks for the words prefixed '§s<service>§', the service's own
// lexemes of them; a case of another service has none of those, so a negation alone
// would match it: then '§s<service>' is AND'ed in. A scope of an assignee asks for
// the words AND '§a<employee>'. The index query of a phrase made of negations only is
// empty (every case, or every case in scope).
func searchIndexQuery(tsq, tree string, scope dimos.SearchScope) (index string, phrase bool) {
	base := tsq
	if phrase = strings.Contains(rewriteTSQuery(tsq, nil, false), "<"); phrase {
		base = ""
		if tree != "T" {
			base = rewriteTSQuery(tree, nil, true)
		}
	}
	if scope.All {
		return base, phrase
	}
	and := func(q, lexeme string) string {
		if q == "" {
			return lexeme
		}
		return "(" + q + ") & " + lexeme
	}
	var parts []string
	if scope.ServiceID != 0 {
		prefix := fmt.Sprintf("§s%d§", scope.ServiceID)
		own := rewriteTSQuery(base, func(lexeme string) string { return prefix + lexeme }, false)
		if own == "" || tree == "T" {
			own = and(own, fmt.Sprintf("'§s%d'", scope.ServiceID))
		}
		parts = append(parts, "("+own+")")
	}
	if scope.EmployeeID != 0 {
		parts = append(parts, "("+and(base, fmt.Sprintf("'§a%d'", scope.EmployeeID))+")")
	}
	return strings.Join(parts, " | "), phrase
}

// rewriteTSQuery rewrites the text of a tsquery as PostgreSQL prints it: each quoted
// lexeme through lexeme (still escaped as printed: quotes and backslashes doubled),
// and with andPhrase each phrase operator (<->, <N>) as &. Without andPhrase and
// lexeme it returns q with every lexeme emptied, which shows its operators.
func rewriteTSQuery(q string, lexeme func(string) string, andPhrase bool) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			j := i + 1
			for ; j < len(q); j++ {
				if q[j] == '\\' {
					j++
				} else if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						j++
					} else {
						break
					}
				}
			}
			text := q[i+1 : min(j, len(q))]
			if lexeme != nil {
				text = lexeme(text)
			} else if !andPhrase {
				text = ""
			}
			b.WriteString("'" + text + "'")
			i = j
		case c == '<' && andPhrase:
			for i < len(q) && q[i] != '>' {
				i++
			}
			b.WriteString("&")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// searchSQL ranks the candidates (the windows query of searchWindows, in place of
// %s) and the case whose number q names, and headlines the best of them; benchmarks
// explain it. The windows read each candidate's row, so the ranking takes number,
// submitted_at and search from them rather than reading the rows again by id.
const searchSQL = `
		WITH query AS (SELECT websearch_to_tsquery('greek', $1) AS tsq),
		candidates AS (%s),
		found AS (
			SELECT f.id, f.exact, f.rank, f.submitted_at FROM (
				SELECT c.id, c.number = $2 AS exact, ts_rank(c.search, query.tsq)::float8 AS rank, c.submitted_at
				FROM candidates c, query
				UNION ALL
				SELECT c.id, true, ts_rank(c.search, query.tsq)::float8, c.submitted_at
				FROM cases c, query
				WHERE c.number = $2 AND ($3 OR c.service_id = $4 OR c.assignee_id = $5)
				  AND c.id NOT IN (SELECT id FROM candidates)
			) f
			ORDER BY f.exact DESC, f.rank DESC, f.submitted_at DESC, f.id DESC
			LIMIT $6
		)
		SELECT c.number, c.subject, c.status, c.stage, c.category_code, c.submitted_at, f.rank,
			ts_headline('greek', concat_ws(' · ', c.subject, c.body,
				(SELECT string_agg(e.body, ' · ' ORDER BY e.id) FROM case_events e
				  WHERE e.case_id = c.id AND e.type IN ('comment', 'citizen_comment') AND e.body <> '')),
				query.tsq, $7)
		FROM found f JOIN cases c ON c.id = f.id, query
		ORDER BY f.exact DESC, f.rank DESC, f.submitted_at DESC, f.id DESC`
