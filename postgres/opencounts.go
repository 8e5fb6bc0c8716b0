package postgres

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"dimos"
)

// The delay report's count of open cases (migration 0019): report_open holds how many
// cases are open by submission day, holder, category, channel, kind and the day they
// become overdue, and cases.report_overdue_at the instant each open case does. The
// writers below keep both in the transactions that change what they depend on; the
// report (readOpen) sums the rows and reads only the cases that become overdue today.

// openState is what decides where an open case counts in report_open.
type openState struct {
	stage             dimos.Stage
	service, employee int64
	due               *time.Time
	pausedAt          *time.Time // clock_paused_at
	pausedUS          int64      // clock_paused_us
	// counted is the report_overdue_at the case is counted under now (read, not
	// computed): a move takes it from exactly where it was counted, even if the
	// category's limit changed since.
	counted pgtype.Timestamptz
}

// openKey is a row of report_open.
type openKey struct {
	Day                   time.Time // civil day of submission
	ServiceID, EmployeeID int64
	Category              string
	Channel               string
	Kind                  string
	OverdueDay            pgtype.Date
}

func (k openKey) compare(o openKey) int {
	return cmp.Or(rollupKey{Day: k.Day, ServiceID: k.ServiceID, EmployeeID: k.EmployeeID, Category: k.Category,
		Channel: k.Channel, Kind: k.Kind}.compare(rollupKey{Day: o.Day, ServiceID: o.ServiceID,
		EmployeeID: o.EmployeeID, Category: o.Category, Channel: o.Channel, Kind: o.Kind}),
		compareDates(k.OverdueDay, o.OverdueDay))
}

// compareDates orders dates with their infinities.
func compareDates(a, b pgtype.Date) int {
	if a.InfinityModifier != b.InfinityModifier {
		return int(a.InfinityModifier) - int(b.InfinityModifier)
	}
	return a.Time.Compare(b.Time)
}

// open reports where a case counts in report_open: its row and the instant after
// which it is overdue; ok is false for a closed case.
func (c caseFacts) open(o openState) (k openKey, at pgtype.Timestamptz, ok bool) {
	if o.stage.Terminal() {
		return openKey{}, pgtype.Timestamptz{}, false
	}
	at = c.overdueAt(o)
	return openKey{Day: civilDay(c.SubmittedAt), ServiceID: o.service, EmployeeID: o.employee, Category: c.Category,
		Channel: c.Channel, Kind: c.Kind, OverdueDay: overdueDay(at)}, at, true
}

// overdueDay is the Athens date of an overdue instant, or its infinity.
func overdueDay(at pgtype.Timestamptz) pgtype.Date {
	day := pgtype.Date{Valid: at.Valid, InfinityModifier: at.InfinityModifier}
	if at.Valid && at.InfinityModifier == pgtype.Finite {
		day.Time = civilDay(at.Time)
	}
	return day
}

// overdueAt is the instant after which an open case is overdue (reports.Row's
// OverdueNow): past its due date, or its clock past the statutory limit. The clock is
// the working time since submission on the report's calendar (reportClockDays) less
// the stops that ended (pausedUS); while the case waits for the citizen it stands at
// its value when it stopped, so a case whose clock stopped before running out is not
// overdue by it while it waits (infinity), and one whose clock stopped after is
// overdue since it ran out.
func (c caseFacts) overdueAt(o openState) pgtype.Timestamptz {
	statutory := c.StatutoryDays
	if statutory <= 0 {
		statutory = dimos.StatutoryDays
	}
	limit := int64(math.Round(statutory * float64((24 * time.Hour).Microseconds())))
	clock := reportClockRunsOut(c.SubmittedAt, o.pausedUS+limit)
	at := pgtype.Timestamptz{Valid: true, Time: clock}
	if o.stage == dimos.StageWaitingCitizen && o.pausedAt != nil && !o.pausedAt.After(clock) {
		at = pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}
	}
	if o.due != nil && (at.InfinityModifier == pgtype.Infinity || at.InfinityModifier == pgtype.Finite && o.due.Before(at.Time)) {
		at = pgtype.Timestamptz{Valid: true, Time: *o.due}
	}
	if at.InfinityModifier == pgtype.Finite {
		at.Time = at.Time.UTC().Truncate(time.Microsecond)
	}
	return at
}

// reportClockRunsOut is the instant after which the working time since submitted, on
// the report's calendar (reportClockDays: a working day counts its Athens wall clock),
// exceeds budget µs: a time of day on the working day in which it runs out.
func reportClockRunsOut(submitted time.Time, budget int64) time.Time {
	day := (24 * time.Hour).Microseconds()
	working := func(d time.Time) bool {
		return reportCalendar.IsWorkingDay(time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, athens))
	}
	d := civilDay(submitted)
	if working(d) { // count from the day's midnight
		h, m, s := submitted.In(athens).Clock()
		budget += int64(h*3600+m*60+s)*1_000_000 + int64(submitted.Nanosecond()/1000)
	}
	for ; ; d = d.AddDate(0, 0, 1) {
		if !working(d) {
			continue
		}
		if budget < day {
			// The wall clock of that day, as the report's SQL reads a time of day.
			us := time.Duration(budget) * time.Microsecond
			return time.Date(d.Year(), d.Month(), d.Day(), int(us/time.Hour), int(us%time.Hour/time.Minute),
				int(us%time.Minute/time.Second), int(us%time.Second), athens)
		}
		budget -= day
	}
}

// openCaseColumns are what a case's facts and its place in report_open depend on
// (openCaseDest), read from cases c joined with its category g.
const openCaseColumns = `c.category_code, c.channel, c.kind, c.submitted_at,
		g.target_completion_days::float8, g.statutory_days::float8,
		c.stage, coalesce(c.service_id, 0), coalesce(c.assignee_id, 0), c.due_date, c.clock_paused_at, c.clock_paused_us,
		c.report_overdue_at`

// openCaseFrom is where openCaseColumns are read from.
const openCaseFrom = ` FROM cases c JOIN categories g ON g.code = c.category_code`

// openCaseSQL reads openCaseColumns.
const openCaseSQL = `SELECT ` + openCaseColumns + openCaseFrom

// loadOpenCase reads a case's facts and its state as report_open counts it.
func loadOpenCase(ctx context.Context, tx pgx.Tx, caseID int64) (caseFacts, openState, error) {
	c, o := caseFacts{ID: caseID}, openState{}
	err := tx.QueryRow(ctx, openCaseSQL+` WHERE c.id = $1`, caseID).Scan(openCaseDest(&c, &o)...)
	return c, o, err
}

// lockOpenCase locks a case and reads, in one round trip, what a transition needs:
// its stage sequence, its completion clock, its facts and its state in report_open.
func lockOpenCase(ctx context.Context, tx pgx.Tx, caseID int64) (seq int, k caseClock, c caseFacts, o openState, err error) {
	c = caseFacts{ID: caseID}
	err = tx.QueryRow(ctx, `SELECT `+openCaseColumns+`, c.stage_seq`+openCaseFrom+` WHERE c.id = $1 FOR UPDATE OF c`,
		caseID).Scan(append(openCaseDest(&c, &o), &seq)...)
	k = caseClock{submitted: c.SubmittedAt, limitDays: clockLimit(c.TargetDays, c.StatutoryDays), pausedAt: o.pausedAt,
		paused: time.Duration(o.pausedUS) * time.Microsecond}
	return seq, k, c, o, err
}

// moveOpen moves a case in report_open from where it counted in before to where it
// counts in after, and keeps its report_overdue_at, inside tx. Its rows are taken in
// key order, after every rollup row the transaction writes (rollupWrites).
func moveOpen(ctx context.Context, tx execer, c caseFacts, before, after openState) error {
	overdueAt, moved, err := moveOpenRows(ctx, tx, c, before, after)
	if err != nil || !moved {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE cases SET report_overdue_at = $2 WHERE id = $1`, c.ID, overdueAt)
	return err
}

// moveOpenRows is moveOpen without the write of the case's row, for a caller that
// writes report_overdue_at in its own update of the row: it returns the value and
// whether anything changed.
func moveOpenRows(ctx context.Context, tx execer, c caseFacts, before, after openState) (pgtype.Timestamptz, bool, error) {
	kb, _, openb := c.open(before)
	atb := before.counted
	kb.OverdueDay = overdueDay(atb)
	openb = openb && atb.Valid
	ka, ata, opena := c.open(after)
	if openb == opena && kb == ka && atb == ata {
		return ata, false, nil
	}
	for _, w := range leaveJoin(kb, openb, ka, opena, openKey.compare) {
		if err := bumpOpen(ctx, tx, w.k, w.delta); err != nil {
			return ata, false, fmt.Errorf("report_open: %w", err)
		}
	}
	return ata, true, nil
}

// countMove is a count a move changes: the row a case leaves (-1) or joins (+1).
type countMove[K any] struct {
	k     K
	delta int
}

// leaveJoin are the counts a case's move changes, in key order (the order every
// writer takes rows in): -1 for the row it leaves, from, if it counted there (wasIn),
// and +1 for the row it joins, to, if it counts there (isIn).
func leaveJoin[K any](from K, wasIn bool, to K, isIn bool, compare func(a, b K) int) []countMove[K] {
	var ws []countMove[K]
	if wasIn {
		ws = append(ws, countMove[K]{from, -1})
	}
	if isIn {
		ws = append(ws, countMove[K]{to, 1})
	}
	slices.SortFunc(ws, func(a, b countMove[K]) int { return compare(a.k, b.k) })
	return ws
}

// bumpOpen adds delta to a row of report_open; a row whose count falls to zero goes,
// as in bumpCount.
func bumpOpen(ctx context.Context, tx execer, k openKey, delta int) error {
	_, err := tx.Exec(ctx, `INSERT INTO report_open AS r (day, service_id, employee_id, category_code, channel, kind,
			overdue_day, n)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (day, service_id, employee_id, category_code, channel, kind, overdue_day) DO UPDATE SET n = r.n + $8`,
		k.Day, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind, k.OverdueDay, delta)
	if err != nil || delta > 0 {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM report_open WHERE day = $1 AND service_id = $2 AND employee_id = $3
		AND category_code = $4 AND channel = $5 AND kind = $6 AND overdue_day = $7 AND n = 0`,
		k.Day, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind, k.OverdueDay)
	return err
}

// openRebuildBatch is how many open cases rebuildOpenCounts reads and updates at a
// time.
const openRebuildBatch = 10000

// rebuildOpenCounts recomputes report_open and the open cases' report_overdue_at from
// the cases, inside tx: after a bulk load (RebuildRollups) and in migration 0019, with
// nothing else writing cases. It reads the open cases in batches, in id order.
func rebuildOpenCounts(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `DELETE FROM report_open`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET report_overdue_at = NULL
		WHERE report_overdue_at IS NOT NULL AND stage IN ('completed', 'rejected')`); err != nil {
		return err
	}
	counts := map[openKey]int{}
	for last := int64(0); ; {
		var ids []int64
		var ats []pgtype.Timestamptz
		err := openCases(ctx, tx, `c.id > $1 ORDER BY c.id LIMIT $2`, []any{last, openRebuildBatch},
			func(c caseFacts, o openState) {
				k, at, _ := c.open(o)
				counts[k]++
				ids, ats = append(ids, c.ID), append(ats, at)
			})
		if err != nil || len(ids) == 0 {
			if err != nil {
				return err
			}
			break
		}
		if err := setOverdueAt(ctx, tx, ids, ats); err != nil {
			return err
		}
		last = ids[len(ids)-1]
	}
	keys := make([]openKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, openKey.compare)
	src := make([][]any, len(keys))
	for i, k := range keys {
		src[i] = []any{k.Day, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind, k.OverdueDay, counts[k]}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"report_open"},
		[]string{"day", "service_id", "employee_id", "category_code", "channel", "kind", "overdue_day", "n"},
		pgx.CopyFromRows(src))
	return err
}

// retargetOpenCounts moves the open cases of a category between the overdue days of
// report_open after its statutory limit changed, inside tx, as transitions move one
// case: it locks the category's open cases (in id order), then writes the rows of
// report_open their counts leave and join, in key order. Rebuilding the category's
// rows instead would wipe the counts of cases submitted meanwhile. (A submission that
// read the old limit just before counts its case by it until the case's next move, as
// its clock_deadline_at does; the counts stay exact, since moves start from where a
// case was counted.)
func retargetOpenCounts(ctx context.Context, tx pgx.Tx, category string) error {
	deltas := map[openKey]int{}
	var ids []int64
	var ats []pgtype.Timestamptz
	err := openCases(ctx, tx, `c.category_code = $1 ORDER BY c.id FOR UPDATE OF c`, []any{category},
		func(c caseFacts, o openState) {
			k, at, _ := c.open(o)
			if at == o.counted {
				return
			}
			old := k
			old.OverdueDay = overdueDay(o.counted)
			deltas[old]--
			deltas[k]++
			ids, ats = append(ids, c.ID), append(ats, at)
		})
	if err != nil {
		return err
	}
	keys := make([]openKey, 0, len(deltas))
	for k, d := range deltas {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, openKey.compare)
	for _, k := range keys {
		if err := bumpOpen(ctx, tx, k, deltas[k]); err != nil {
			return err
		}
	}
	return setOverdueAt(ctx, tx, ids, ats)
}

// openCases calls yield with each open case that cond (and its args, from $1) picks.
func openCases(ctx context.Context, tx pgx.Tx, cond string, args []any, yield func(caseFacts, openState)) error {
	rows, err := tx.Query(ctx, `SELECT c.id, `+openCaseColumns+openCaseFrom+`
		WHERE c.stage NOT IN ('completed', 'rejected') AND `+cond, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c caseFacts
		var o openState
		if err := rows.Scan(append([]any{&c.ID}, openCaseDest(&c, &o)...)...); err != nil {
			return err
		}
		yield(c, o)
	}
	return rows.Err()
}

// setOverdueAt writes the report_overdue_at of cases.
func setOverdueAt(ctx context.Context, tx pgx.Tx, ids []int64, ats []pgtype.Timestamptz) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE cases c SET report_overdue_at = u.at
		FROM unnest($1::bigint[], $2::timestamptz[]) AS u (id, at) WHERE c.id = u.id`, ids, ats)
	return err
}

// openCaseDest are the scan destinations of openCaseSQL's columns.
func openCaseDest(c *caseFacts, o *openState) []any {
	return []any{&c.Category, &c.Channel, &c.Kind, &c.SubmittedAt, &c.TargetDays, &c.StatutoryDays,
		&o.stage, &o.service, &o.employee, &o.due, &o.pausedAt, &o.pausedUS, &o.counted}
}

// openCountsMigration is the migration that creates report_open.
const openCountsMigration = 19
