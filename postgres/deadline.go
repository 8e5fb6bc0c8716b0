package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"dimos"
	"dimos/workdays"
)

// The deadline of a case (see dimos/inbox.go for the rule) is kept on its row, so
// that the inbox can sort and page on it through an index. It is computed here, in
// Go, on the same Greek working-day calendar the case workflows count on
// (workflows.calendar), whenever something it depends on changes: submission, every
// transition (a stop or restart of the clock), and a change of the category's
// targets. The due date needs nothing: deadline_at is generated from it.

// calendar is the working-day calendar of the clocks; the workflows use the same one.
var calendar = workdays.Greek()

const workingDay = 24 * time.Hour

// clockLimit is the completion clock of a category in working days: its completion
// target, unless that is unset or longer than the statutory limit.
func clockLimit(completionDays, statutoryDays float64) float64 {
	limit := dimos.Targets{StatutoryDays: statutoryDays}.Statutory()
	if completionDays > 0 && completionDays < limit {
		limit = completionDays
	}
	return limit
}

// caseClock is the completion clock of one case as the row keeps it.
type caseClock struct {
	submitted time.Time
	limitDays float64
	pausedAt  *time.Time    // when the clock stopped; nil while it runs
	paused    time.Duration // working time of the stops that ended
}

// enter returns the clock after the case entered stage at the given moment: a stage
// in which the office's clocks do not run stops it, a stage in which they do
// restarts it and adds the working time it stood still.
func (k caseClock) enter(stage dimos.Stage, at time.Time) caseClock {
	switch {
	case !stage.ClockRuns() && k.pausedAt == nil:
		at := at
		k.pausedAt = &at
	case stage.ClockRuns() && k.pausedAt != nil:
		k.paused += calendar.WorkingDuration(*k.pausedAt, at)
		k.pausedAt = nil
	}
	return k
}

// deadline is when the clock runs out, as far as it is known now: a stop still going
// on will move it later when it ends.
func (k caseClock) deadline() time.Time {
	limit := time.Duration(k.limitDays * float64(workingDay))
	return calendar.AddWorkingDuration(k.submitted, limit+k.paused).UTC()
}

// inboxClock says where a deadline stands at now, in whole working days rounded up.
// A stopped clock is read at the moment it stopped.
func inboxClock(deadline time.Time, pausedAt *time.Time, now time.Time) dimos.InboxClock {
	if deadline.IsZero() {
		return dimos.InboxClock{None: true}
	}
	var k dimos.InboxClock
	at := now
	if pausedAt != nil {
		k.Paused, at = true, *pausedAt
	}
	days := func(d time.Duration) int { return int(math.Ceil(float64(d) / float64(workingDay))) }
	if deadline.Before(at) {
		k.Overdue, k.Days = true, max(1, days(calendar.WorkingDuration(deadline, at)))
	} else {
		k.Days = days(calendar.WorkingDuration(at, deadline))
	}
	return k
}

// timestamptz turns a deadline_at value into a time; 'infinity', no deadline, is zero.
func timestamptz(v pgtype.Timestamptz) time.Time {
	if !v.Valid || v.InfinityModifier != pgtype.Finite {
		return time.Time{}
	}
	return v.Time
}

// deadlineParam is the inverse of timestamptz, for a cursor's deadline.
func deadlineParam(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}
	}
	return pgtype.Timestamptz{Valid: true, Time: t}
}

// categoryClockLimit reads a category's completion clock in working days, and its
// statutory limit as the category row holds it (0: dimos.StatutoryDays).
func (db *DB) categoryClockLimit(ctx context.Context, code string) (limit, statutory float64, err error) {
	var completion float64
	err = db.Pool.QueryRow(ctx, `SELECT target_completion_days::float8, statutory_days::float8
		FROM categories WHERE code = $1`, code).Scan(&completion, &statutory)
	if errors.Is(err, pgx.ErrNoRows) {
		// The insert that follows fails on the unknown category with its own error.
		return dimos.StatutoryDays, 0, nil
	}
	return clockLimit(completion, statutory), statutory, err
}

// retargetDeadlines recomputes the deadlines of a category's open cases after its
// targets changed, in one statement.
func retargetDeadlines(ctx context.Context, tx pgx.Tx, code string, limitDays float64) error {
	rows, err := tx.Query(ctx, `SELECT id, submitted_at, clock_paused_us FROM cases
		WHERE category_code = $1 AND stage NOT IN ('completed', 'rejected') FOR UPDATE`, code)
	if err != nil {
		return err
	}
	var ids []int64
	var deadlines []time.Time
	for rows.Next() {
		var id, pausedUS int64
		k := caseClock{limitDays: limitDays}
		if err := rows.Scan(&id, &k.submitted, &pausedUS); err != nil {
			rows.Close()
			return err
		}
		k.paused = time.Duration(pausedUS) * time.Microsecond
		ids, deadlines = append(ids, id), append(deadlines, k.deadline())
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE cases c SET clock_deadline_at = d.deadline
		FROM unnest($1::bigint[], $2::timestamptz[]) AS d (id, deadline) WHERE c.id = d.id`, ids, deadlines)
	return err
}

// backfillDeadlines fills the clocks of the cases kept before they had one, replaying
// each case's stage visits; Migrate runs it under the migration lock, and it finds
// nothing to do once done.
func (db *DB) backfillDeadlines(ctx context.Context) error {
	for {
		n, err := db.backfillDeadlineBatch(ctx, 5000)
		if err != nil {
			return fmt.Errorf("backfill case deadlines: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

func (db *DB) backfillDeadlineBatch(ctx context.Context, size int) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.id, c.submitted_at, cat.target_completion_days::float8, cat.statutory_days::float8,
				array_agg(t.stage ORDER BY t.seq), array_agg(t.entered_at ORDER BY t.seq)
			FROM cases c JOIN categories cat ON cat.code = c.category_code
			JOIN stage_timings t ON t.case_id = c.id
			WHERE c.clock_deadline_at IS NULL
			GROUP BY c.id, cat.code ORDER BY c.id LIMIT $1`, size)
		if err != nil {
			return err
		}
		type filled struct {
			id int64
			k  caseClock
		}
		var all []filled
		for rows.Next() {
			var f filled
			var completion, statutory float64
			var stages []string
			var entered []time.Time
			if err := rows.Scan(&f.id, &f.k.submitted, &completion, &statutory, &stages, &entered); err != nil {
				rows.Close()
				return err
			}
			f.k.limitDays = clockLimit(completion, statutory)
			for i, s := range stages {
				f.k = f.k.enter(dimos.Stage(s), entered[i])
			}
			all = append(all, f)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// One statement for the batch: a million cases loaded by COPY took twenty
		// minutes row by row.
		ids, deadlines := make([]int64, len(all)), make([]time.Time, len(all))
		pausedAt, pausedUS := make([]*time.Time, len(all)), make([]int64, len(all))
		for i, f := range all {
			ids[i], deadlines[i], pausedAt[i], pausedUS[i] = f.id, f.k.deadline(), f.k.pausedAt, f.k.paused.Microseconds()
		}
		_, err = tx.Exec(ctx, `UPDATE cases c SET clock_deadline_at = d.deadline, clock_paused_at = d.paused_at,
				clock_paused_us = d.paused_us
			FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[]) AS d (id, deadline, paused_at, paused_us)
			WHERE c.id = d.id`, ids, deadlines, pausedAt, pausedUS)
		n = len(all)
		return err
	})
	return n, err
}
