package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// BulkVersion numbers the generator of SeedCases: benchmarks keep a seeded database
// only while both it and SchemaVersion are unchanged.
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

// ExplainSearchCases is Explain of the query SearchCases runs with the same arguments.
func (db *DB) ExplainSearchCases(ctx context.Context, q string, scope dimos.SearchScope, limit int) (string, error) {
	q = strings.TrimSpace(q)
	number, _ := dimos.ParseCaseNumber(q)
	return db.Explain(ctx, searchSQL, q, number, scope.All, scope.ServiceID, scope.EmployeeID, limit, headlineOptions)
}
