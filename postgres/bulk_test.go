package postgres_test

import (
	"context"
	"testing"
	"time"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

func TestSeedCases(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	// A case filed before the seeding: the generated numbers go on from its counter.
	live := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα", Text: "Μεγάλη", Contact: dimos.Contact{FirstName: "Α", LastName: "Β", Email: "a@example.gr"},
		SubmittedAt: now.Add(-time.Hour)}
	if err := db.SubmitCase(ctx, live); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var progressed int
	res, err := db.SeedCases(ctx, postgres.BulkOptions{Cases: n, BatchSize: 700, Now: now, Seed: 7,
		Progress: func(k int) { progressed += k }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cases != n || progressed != n {
		t.Fatalf("result %+v, progress %d", res, progressed)
	}
	scalar := func(sql string, args ...any) int {
		t.Helper()
		var v int
		if err := db.Pool.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return v
	}

	t.Run("Counts", func(t *testing.T) {
		if got := scalar(`SELECT count(*) FROM cases`); got != n+1 {
			t.Fatalf("cases: %d", got)
		}
		if got := scalar(`SELECT count(*) FROM case_events`); got != res.Events+1 {
			t.Fatalf("events: %d, generated %d", got, res.Events)
		}
		if got := scalar(`SELECT count(*) FROM stage_timings`); got != res.Timings+1 {
			t.Fatalf("timings: %d, generated %d", got, res.Timings)
		}
		open := scalar(`SELECT count(*) FROM cases WHERE stage NOT IN ('completed', 'rejected') AND id <> $1`, live.ID)
		if open != res.Open || open < n*5/100 || open > n*20/100 {
			t.Fatalf("open cases: %d of %d (result says %d); about a tenth expected", open, n, res.Open)
		}
		// Every channel and kind appears, and none of the cases waits for a workflow.
		if got := scalar(`SELECT count(DISTINCT channel) FROM cases`); got != 4 {
			t.Errorf("channels: %d", got)
		}
		if got := scalar(`SELECT count(DISTINCT kind) FROM cases`); got != 4 {
			t.Errorf("kinds: %d", got)
		}
		if got := scalar(`SELECT count(*) FROM cases WHERE workflow_started_at IS NULL AND id <> $1`, live.ID); got != 0 {
			t.Errorf("%d cases wait for a workflow", got)
		}
		if got := scalar(`SELECT count(*) FROM cases WHERE submitted_at < $1::timestamptz - interval '731 days' OR submitted_at > $1`, now); got != 0 {
			t.Errorf("%d cases outside the two years", got)
		}
		if got := scalar(`SELECT count(*) FROM cases WHERE stage = 'waiting_citizen' OR id IN
			(SELECT case_id FROM stage_timings WHERE stage = 'waiting_citizen')`); got == 0 {
			t.Error("no case ever waited for the citizen")
		}
		if got := scalar(`SELECT count(*) FROM case_events WHERE type = 'transferred'`); got == 0 {
			t.Error("no case was ever transferred")
		}
	})

	t.Run("Clocks", func(t *testing.T) {
		// Generated cases carry their completion clocks, as cases filed one by one do,
		// and equal to what Migrate's backfill replays from their stage visits.
		if got := scalar(`SELECT count(*) FROM cases WHERE clock_deadline_at IS NULL`); got != 0 {
			t.Fatalf("%d cases without a clock", got)
		}
		if got := scalar(`SELECT count(*) FROM cases WHERE clock_paused_at IS NOT NULL AND stage NOT IN ('waiting_citizen', 'completed', 'rejected')`); got != 0 {
			t.Errorf("%d cases with a running stage and a stopped clock", got)
		}
		if got := scalar(`SELECT count(*) FROM cases WHERE clock_paused_us > 0`); got == 0 {
			t.Error("no clock ever stood still, though cases waited for the citizen")
		}
		if _, err := db.Pool.Exec(ctx, `CREATE TABLE generated_clocks AS
			SELECT id, clock_deadline_at, clock_paused_at, clock_paused_us FROM cases`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE cases SET clock_deadline_at = NULL, clock_paused_at = NULL, clock_paused_us = 0
			WHERE id <> $1`, live.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := scalar(`SELECT count(*) FROM cases c JOIN generated_clocks g USING (id)
			WHERE (c.clock_deadline_at, c.clock_paused_at, c.clock_paused_us)
			  IS DISTINCT FROM (g.clock_deadline_at, g.clock_paused_at, g.clock_paused_us)`); got != 0 {
			t.Errorf("%d generated clocks differ from the backfill's replay", got)
		}
	})

	t.Run("Numbering", func(t *testing.T) {
		// Per year, the numbers are 1..last of the counter, each once, in submission order.
		bad := scalar(`WITH n AS (
				SELECT split_part(number, '-', 1)::int AS year, split_part(number, '-', 2)::int AS seq,
					row_number() OVER (PARTITION BY split_part(number, '-', 1) ORDER BY submitted_at, id) AS rn,
					extract(year FROM submitted_at AT TIME ZONE 'Europe/Athens')::int AS athens_year
				FROM cases WHERE id <> $1)
			SELECT count(*) FROM n WHERE year <> athens_year OR seq + CASE WHEN year = 2026 THEN 0 ELSE 1 END <> rn + 1`, live.ID)
		if bad != 0 {
			t.Fatalf("%d cases numbered out of order or off their year", bad)
		}
		if got := scalar(`SELECT count(*) FROM case_numbers c WHERE last <> (SELECT count(*) FROM cases
			WHERE number LIKE c.year || '-%')`); got != 0 {
			t.Fatalf("%d counters disagree with the cases", got)
		}
		next := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
			Subject: "Λακκούβα", Text: "Μεγάλη", Contact: live.Contact, SubmittedAt: now}
		if err := db.SubmitCase(ctx, next); err != nil {
			t.Fatal(err)
		}
		want := dimos.FormatCaseNumber(2026, scalar(`SELECT count(*) FROM cases WHERE number LIKE '2026-%'`))
		if next.Number != want {
			t.Fatalf("the next case got %s, want %s", next.Number, want)
		}
	})

	t.Run("Timings", func(t *testing.T) {
		// The visits of each case are numbered 1..stage_seq, each begins where the one
		// before ended, and only the last is still open, in the case's stage.
		checks := map[string]string{
			"left before entered": `SELECT count(*) FROM stage_timings WHERE left_at < entered_at`,
			"numbering": `SELECT count(*) FROM cases c WHERE stage_seq <> (SELECT count(*) FROM stage_timings s WHERE s.case_id = c.id)
				OR stage_seq <> (SELECT max(seq) FROM stage_timings s WHERE s.case_id = c.id)`,
			"open visits": `SELECT count(*) FROM cases c WHERE 1 <> (SELECT count(*) FROM stage_timings s
				WHERE s.case_id = c.id AND s.left_at IS NULL)`,
			"last visit": `SELECT count(*) FROM cases c JOIN stage_timings s ON s.case_id = c.id AND s.seq = c.stage_seq
				WHERE s.stage <> c.stage OR s.left_at IS NOT NULL`,
			"gaps": `SELECT count(*) FROM stage_timings a JOIN stage_timings b ON b.case_id = a.case_id AND b.seq = a.seq + 1
				WHERE a.left_at IS DISTINCT FROM b.entered_at`,
			"first visit": `SELECT count(*) FROM stage_timings s JOIN cases c ON c.id = s.case_id
				WHERE s.seq = 1 AND (s.stage <> 'received' OR s.entered_at <> c.submitted_at)`,
			"future": `SELECT count(*) FROM stage_timings WHERE entered_at > '2026-03-10 12:00:00+00' OR left_at > '2026-03-10 12:00:00+00'`,
			"finished": `SELECT count(*) FROM cases WHERE (stage IN ('completed', 'rejected')) <> (completed_at IS NOT NULL)
				OR stage = 'completed' AND answer = ''`,
			"holder": `SELECT count(*) FROM cases c JOIN stage_timings s ON s.case_id = c.id AND s.seq = c.stage_seq
				WHERE s.stage NOT IN ('received', 'awaiting_protocol') AND (s.service_id IS DISTINCT FROM c.service_id
				OR s.employee_id IS DISTINCT FROM c.assignee_id OR c.service_id IS NULL)`,
			"certificates": `SELECT count(*) FROM cases c WHERE kind = 'certificate' AND stage_seq > 2
				AND (protocol_number IS NULL OR NOT EXISTS (SELECT 1 FROM stage_timings s WHERE s.case_id = c.id AND s.stage = 'awaiting_protocol'))`,
			"events": `SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e
				WHERE e.case_id = c.id AND e.type = 'received' AND e.at = c.submitted_at)`,
		}
		for name, sql := range checks {
			if got := scalar(sql); got != 0 {
				t.Errorf("%s: %d rows break it", name, got)
			}
		}
	})

	t.Run("Search", func(t *testing.T) {
		scope := dimos.SearchScope{All: true}
		for _, q := range []string{"λακκούβες", "φανάρι Κουνδούρου", "γερανοφόρο", "pothole"} {
			hits, err := db.SearchCases(ctx, q, scope, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 {
				t.Errorf("search %q found nothing", q)
			}
		}
		// A word in no fragment finds nothing: the search does not match everything.
		if hits, err := db.SearchCases(ctx, "ελέφαντας", scope, 5); err != nil || len(hits) != 0 {
			t.Errorf("search for a word never written: %v, %v", hits, err)
		}
		// Some cases mention a street, others another one.
		a := scalar(`SELECT count(*) FROM cases WHERE search @@ websearch_to_tsquery('greek', 'Κουνδούρου')`)
		if a == 0 || a > n/2 {
			t.Errorf("a street in %d of %d cases", a, n)
		}
	})
}
