package postgres_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/reports"
)

// loadCases writes n cases of the demo municipality over two years straight into
// cases and stage_timings with SQL, as a bulk seeder's COPY would (no
// RecordTransition, so no rollups), then rebuilds the rollups. Four cases in five
// are completed: received 1h, routed to the category's service director for up to
// three days, with a clerk for up to ten, then closed.
func loadCases(b *testing.B, db *postgres.DB, n int) {
	b.Helper()
	ctx := context.Background()
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO cases (number, kind, category_code, channel, subject, body, anonymous, stage, status, stage_seq,
			service_id, assignee_id, submitted_at, completed_at)
		SELECT 'B-' || i, (ARRAY['request','complaint','suggestion'])[1 + i % 3], g.code,
			(ARRAY['portal','ivr','open311','desk'])[1 + i % 4], 'Υπόθεση ' || i, 'κείμενο', false,
			CASE WHEN i % 5 = 0 THEN 'in_progress' ELSE 'completed' END,
			CASE WHEN i % 5 = 0 THEN 'in_progress' ELSE 'completed' END, 4, g.service_id,
			(SELECT e.id FROM employees e WHERE e.service_id = g.service_id AND e.role = 'clerk' ORDER BY e.id
				LIMIT 1 OFFSET i % 2),
			t, CASE WHEN i % 5 <> 0 THEN t + make_interval(hours => 1 + i % 72 + i % 240) END
		FROM generate_series(1, $1) i
		CROSS JOIN LATERAL (SELECT timestamptz '2024-06-01 07:00+03' + make_interval(mins => (i * 1051) % (730 * 1440)) AS t) s
		JOIN LATERAL (SELECT code, service_id FROM categories WHERE kinds @> ARRAY['request'] ORDER BY code
			OFFSET i % 10 LIMIT 1) g ON true`, n)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.Pool.Exec(ctx, `
		INSERT INTO stage_timings (case_id, seq, stage, service_id, employee_id, entered_at, left_at)
		SELECT c.id, v.seq, v.stage, v.svc, v.emp, v.entered, v.left_at
		FROM cases c
		JOIN services s ON s.id = c.service_id
		CROSS JOIN LATERAL (SELECT c.submitted_at + interval '1 hour' AS routed,
			c.submitted_at + make_interval(hours => 1 + (c.id % 72)::int) AS assigned) x
		CROSS JOIN LATERAL (VALUES
			(1, 'received', NULL::bigint, NULL::bigint, c.submitted_at, x.routed),
			(2, 'routed', c.service_id, s.director_id, x.routed, x.assigned),
			(3, CASE WHEN c.completed_at IS NULL THEN 'in_progress' ELSE 'assigned' END, c.service_id, c.assignee_id,
				x.assigned, c.completed_at),
			(4, 'completed', c.service_id, c.assignee_id, c.completed_at, NULL)) v(seq, stage, svc, emp, entered, left_at)
		WHERE v.seq < 4 OR c.completed_at IS NOT NULL`)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := db.RebuildRollups(ctx); err != nil {
		b.Fatal(err)
	}
	var rows int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM report_rollups`).Scan(&rows) //nolint:errcheck
	b.Logf("%d cases: RebuildRollups %v, %d rollup rows", n, time.Since(start).Round(time.Millisecond), rows)
}

// BenchmarkReport times a year's delay report of the whole municipality at 10,000
// cases and, with DIMOS_BENCH_BIG=1, at 1,000,000 (the load alone takes minutes).
func BenchmarkReport(b *testing.B) {
	sizes := []int{10_000}
	if os.Getenv("DIMOS_BENCH_BIG") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			db := pgtest.New(b, true)
			loadCases(b, db, n)
			db.Now = func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) }
			f := reports.Filter{From: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, err := db.Report(context.Background(), f)
				if err != nil {
					b.Fatal(err)
				}
				if r.Tables[0].Total.Received == 0 {
					b.Fatal("empty report")
				}
			}
		})
	}
}
