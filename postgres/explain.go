package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"dimos"
	"dimos/reports"
)

// BulkVersion numbers the generator of SeedCases: benchmarks keep a seeded database
// only while both it and SchemaVersion are unchanged. (Writing the clocks in the
// generator, rather than leaving them to Migrate's backfill, kept version 1: the rows
// come out the same, so kept databases stay valid.)
const BulkVersion = 1

// SchemaVersion is the number of the newest embedded migration.
func SchemaVersion() (int, error) {
	files, err := migrationFiles()
	if err != nil || len(files) == 0 {
		return 0, err
	}
	return files[len(files)-1].version, nil
}

// Explain runs sql with args under EXPLAIN (ANALYZE, BUFFERS) and returns the plan,
// so that a benchmark shows how each query it times is served.
func (db *DB) Explain(ctx context.Context, sql string, args ...any) (string, error) {
	rows, err := db.Pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// ExplainSearchCases is Explain of the statement SearchCases runs with the same
// arguments: its windows of candidates, their ranking and the headlines.
func (db *DB) ExplainSearchCases(ctx context.Context, q string, scope dimos.SearchScope, limit int) (string, error) {
	q = strings.TrimSpace(q)
	number, _ := dimos.ParseCaseNumber(q)
	sql, args, err := db.searchStatement(ctx, q, number, scope, limit)
	if err != nil {
		return "", err
	}
	return db.Explain(ctx, sql, args...)
}

// ExplainInboxPage is Explain of the query InboxPage runs for q.
func (db *DB) ExplainInboxPage(ctx context.Context, q dimos.InboxQuery) (string, error) {
	st, err := db.inboxPageStatement(q)
	if err != nil {
		return "", err
	}
	return db.Explain(ctx, st.sql, st.args...)
}

// ExplainInboxCounts is Explain of the query InboxCounts runs for q.
func (db *DB) ExplainInboxCounts(ctx context.Context, q dimos.InboxQuery) (string, error) {
	sql, args, _, err := db.inboxCountsStatement(q)
	if err != nil {
		return "", err
	}
	return db.Explain(ctx, sql, args...)
}

// ExplainReport is Explain of each query Report runs for f: the rollups, the open
// cases and the ping-pongs, one plan after the other.
func (db *DB) ExplainReport(ctx context.Context, f reports.Filter) (string, error) {
	var out []string
	for _, q := range []struct {
		name string
		sql  string
		args []any
	}{
		{"rollups, whole weeks", fmt.Sprintf(rollupsSQL, "report_rollups_weekly"), rollupsWeeksArgs(f)},
		{"open cases", openCountsSQL, openCountsArgs(f, db.Now())},
		{"open cases overdue today", openTodaySQL, openTodayArgs(f, db.Now())},
		{"ping-pongs", pingPongsSQL, pingPongsArgs(f)},
	} {
		if q.args == nil {
			out = append(out, "-- "+q.name+": none")
			continue
		}
		plan, err := db.Explain(ctx, q.sql, q.args...)
		if err != nil {
			return "", fmt.Errorf("explain %s: %w", q.name, err)
		}
		out = append(out, "-- "+q.name+"\n"+plan)
	}
	return strings.Join(out, "\n"), nil
}
