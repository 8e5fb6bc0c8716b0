package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"dimos"
	"dimos/postgres/pgtest"
)

// BenchmarkInboxPlans fills a database with 50,000 cases spread over the demo
// services and clerks (about one in eight open, as in a municipality a few years
// in), vacuums it as autovacuum would, logs EXPLAIN (ANALYZE, BUFFERS) of every tab's page and of the counts, and
// times the pages. Run it with
//
//	go test ./postgres/ -run '^$' -bench InboxPlans -benchtime 200x -v
//
// It is a benchmark, not a test, so that nobody's test run waits for the data.
func BenchmarkInboxPlans(b *testing.B) {
	db := pgtest.New(b, true)
	ctx := context.Background()
	const total = 50000
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	// Cases filed over three years, one every half hour or so; the last ones still open.
	_, err := db.Pool.Exec(ctx, `
		WITH staff AS (
			SELECT row_number() OVER (ORDER BY e.id) - 1 AS i, e.id, e.service_id FROM employees e WHERE e.role = 'clerk'
		), n AS (SELECT count(*) AS n FROM staff),
		cats AS (SELECT row_number() OVER (ORDER BY code) - 1 AS i, code, service_id FROM categories),
		nc AS (SELECT count(*) AS n FROM cats),
		g AS (
			SELECT s, $2::timestamptz - (($1 - s) * interval '31 minutes') AS at,
				CASE WHEN s > $1 * 0.88 THEN
					(ARRAY['routed', 'assigned', 'in_progress', 'in_progress', 'waiting_citizen', 'assigned', 'received'])[1 + s % 7]
				ELSE 'completed' END AS stage
			FROM generate_series(1, $1) s
		)
		INSERT INTO cases (number, kind, category_code, channel, subject, body, anonymous, stage, status, stage_seq,
			service_id, assignee_id, submitted_at, completed_at, clock_deadline_at, clock_paused_at)
		SELECT 'B' || lpad(g.s::text, 9, '0'), (ARRAY['request', 'complaint', 'suggestion'])[1 + g.s % 3], cats.code,
			(ARRAY['portal', 'ivr', 'open311', 'desk'])[1 + g.s % 4], 'Υπόθεση ' || g.s, 'Κείμενο', false, g.stage,
			CASE WHEN g.stage IN ('received', 'routed') THEN 'pending' WHEN g.stage = 'completed' THEN 'completed' ELSE 'in_progress' END,
			2, CASE WHEN g.stage <> 'received' THEN cats.service_id END,
			CASE WHEN g.stage NOT IN ('received', 'routed') THEN (SELECT id FROM staff WHERE staff.service_id = cats.service_id ORDER BY staff.id OFFSET g.s % 2 LIMIT 1) END,
			g.at, CASE WHEN g.stage = 'completed' THEN g.at + interval '9 days' END,
			g.at + interval '14 days', CASE WHEN g.stage IN ('waiting_citizen', 'completed') THEN g.at + interval '2 days' END
		FROM g JOIN cats ON cats.i = g.s % (SELECT n FROM nc)`, total, now)
	if err != nil {
		b.Fatal(err)
	}
	// Loaded past the store: counted in inbox_counts as a bulk load is.
	if err := db.RebuildRollups(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE cases`); err != nil {
		b.Fatal(err)
	}
	var open int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE stage NOT IN ('completed', 'rejected')`).Scan(&open) //nolint:errcheck
	b.Logf("%d cases, %d open", total, open)

	clerk, svc := employeeID(b, db, "tech.clerk1")
	clerkScope := dimos.InboxScope{EmployeeID: clerk, ServiceID: svc}
	manager := dimos.InboxScope{All: true}
	queries := []struct {
		name string
		q    dimos.InboxQuery
	}{
		{"clerk mine", dimos.InboxQuery{Tab: dimos.InboxMine, Scope: clerkScope}},
		{"clerk service", dimos.InboxQuery{Tab: dimos.InboxService, Scope: clerkScope}},
		{"clerk waiting", dimos.InboxQuery{Tab: dimos.InboxWaiting, Scope: clerkScope}},
		{"clerk overdue", dimos.InboxQuery{Tab: dimos.InboxOverdue, Scope: clerkScope}},
		{"manager waiting", dimos.InboxQuery{Tab: dimos.InboxWaiting, Scope: manager}},
		{"manager overdue", dimos.InboxQuery{Tab: dimos.InboxOverdue, Scope: manager}},
		{"manager all", dimos.InboxQuery{Tab: dimos.InboxAll, Scope: manager}},
		{"manager all, page after", dimos.InboxQuery{Tab: dimos.InboxAll, Scope: manager,
			After: &dimos.InboxCursor{Deadline: now.AddDate(0, 0, 7), ID: 1}}},
		{"manager all, filtered by channel", dimos.InboxQuery{Tab: dimos.InboxAll, Scope: manager,
			Filters: dimos.InboxFilters{Channel: dimos.ChannelDesk}}},
	}
	for _, tc := range queries {
		tc.q.Now, tc.q.Limit = now, 50
		page, pageArgs, counts, countArgs, err := db.InboxStatements(tc.q)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("=== %s: page\n%s", tc.name, explain(b, db.Pool, page, pageArgs))
		if strings.HasPrefix(tc.name, "clerk mine") || tc.name == "manager all" {
			b.Logf("=== %s: counts\n%s", tc.name, explain(b, db.Pool, counts, countArgs))
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, tc := range queries[:4] {
			tc.q.Now, tc.q.Limit = now, 50
			if _, err := db.InboxPage(ctx, tc.q); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of a statement and returns the plan.
func explain(b *testing.B, pool *pgxpool.Pool, sql string, args []any) string {
	b.Helper()
	rows, err := pool.Query(context.Background(), "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+sql, args...)
	if err != nil {
		b.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
