package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"dimos"
	"dimos/workdays"
)

// The delay reports' rollups (migration 0015). A fact is one thing a report counts:
// a case received, a case closed, a stage visit ended. Facts come from two places
// that must agree: the transaction that records a transition (incremental), and
// RebuildRollups, which derives every fact again from stage_timings. Both go through
// the functions below, so the arithmetic is written once.

// reportCalendar is the calendar report durations are counted on, the one the case
// workflows' clocks use.
var reportCalendar = workdays.Greek()

// Histogram resolution: a tenth of a working day (2h24m of working time) and one
// calendar hour. The last bucket holds everything longer.
const (
	dayBucket     = 24 * time.Hour / 10
	hourBucket    = time.Hour
	maxDayBucket  = 5000  // 500 working days
	maxHourBucket = 20000 // about 833 calendar days
)

// Measures of report_rollups besides the stage names, which they must not match.
const (
	measureReceived  = "case_received"
	measureCompleted = "case_closed"
)

// rollupKey is the group of a rollup row.
type rollupKey struct {
	Day        time.Time // Athens civil date at UTC midnight, as PostgreSQL's date reads
	Measure    string
	ServiceID  int64
	EmployeeID int64
	Category   string
	Channel    string
	Kind       string
}

// timed is a fact with a length: a stage visit or a completion.
type timed struct {
	working, wall   time.Duration
	target, statute bool // within the category's target and the statutory limit
}

func (f timed) dayBucket() int  { return min(int(f.working/dayBucket), maxDayBucket) }
func (f timed) hourBucket() int { return min(int(f.wall/hourBucket), maxHourBucket) }
func (f timed) days() float64   { return float64(f.working) / float64(24*time.Hour) }
func (f timed) hours() float64  { return f.wall.Hours() }

// civilDay is the Athens date of t, as a date value.
func civilDay(t time.Time) time.Time {
	y, m, d := t.In(athens).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// caseFacts are the attributes of a case that every fact of it carries.
type caseFacts struct {
	ID          int64
	Category    string
	Channel     string
	Kind        string
	SubmittedAt time.Time
	// Category clocks in working days; 0 target means none (the statutory limit
	// then serves), 0 statutory means dimos.StatutoryDays.
	TargetDays, StatutoryDays float64
}

// weekly is the key of the row of report_rollups_weekly that the row k of
// report_rollups adds to.
func (k rollupKey) weekly() rollupKey {
	k.Day, k.Channel, k.Kind = weekStart(k.Day), "", ""
	return k
}

// rollupTables are the tables every fact goes to, each with the key it has there, in
// the order every writer takes their rows (see rollupWrites).
var rollupTables = []struct {
	name string
	key  func(rollupKey) rollupKey
}{
	{"report_rollups", func(k rollupKey) rollupKey { return k }},
	{"report_rollups_weekly", rollupKey.weekly},
}

// compare orders rollup keys: the order in which a transaction takes rollup rows.
func (k rollupKey) compare(o rollupKey) int {
	return cmp.Or(k.Day.Compare(o.Day), cmp.Compare(k.Measure, o.Measure), cmp.Compare(k.ServiceID, o.ServiceID),
		cmp.Compare(k.EmployeeID, o.EmployeeID), cmp.Compare(k.Category, o.Category),
		cmp.Compare(k.Channel, o.Channel), cmp.Compare(k.Kind, o.Kind))
}

func (c caseFacts) key(day time.Time, measure string, serviceID, employeeID int64) rollupKey {
	return rollupKey{Day: civilDay(day), Measure: measure, ServiceID: serviceID, EmployeeID: employeeID,
		Category: c.Category, Channel: c.Channel, Kind: c.Kind}
}

// completion is the fact of a case closed at closed, having waited for the citizen
// for paused of working time: the completion time counts from submission, and the
// target and the statutory limit are checked against the municipality's clock,
// which stops while the citizen is asked (as the workflow's clocks do).
func (c caseFacts) completion(closed time.Time, paused time.Duration) timed {
	working := reportCalendar.WorkingDuration(c.SubmittedAt, closed)
	clock := float64(working-paused) / float64(24*time.Hour)
	statutory := c.StatutoryDays
	if statutory <= 0 {
		statutory = dimos.StatutoryDays
	}
	target := c.TargetDays
	if target <= 0 {
		target = statutory
	}
	return timed{working: working, wall: closed.Sub(c.SubmittedAt), target: clock <= target, statute: clock <= statutory}
}

// visit is the fact of a stage visit that ended.
func visit(entered, left time.Time) timed {
	return timed{working: reportCalendar.WorkingDuration(entered, left), wall: left.Sub(entered)}
}

// rollupWrite is one fact to add to the rollups: a timed fact, or a count moved by
// delta (a case received, counted under a new holder).
type rollupWrite struct {
	key   rollupKey // the daily row
	timed *timed
	delta int
}

// execer runs a statement: a transaction, or a batch that sends its statements at
// once at the end of one (hotRows).
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// hotRows queues the writes of the rows that every filing and transition of a day
// and category shares (the rollups' and report_open's) to send them in one round trip,
// the transaction's last before its commit. Sent one by one they were taken early and
// held across every later round trip: under a burst of filings, SubmitCase waited
// for them 114 ms on average and routings 36 ms, one case at a time.
type hotRows struct{ b pgx.Batch }

// Exec queues the statement; its result and error come with the batch's.
func (h *hotRows) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	h.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// send runs the queued statements in tx, in the order they were queued.
func (h *hotRows) send(ctx context.Context, tx pgx.Tx) error {
	if h.b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &h.b).Close(); err != nil {
		return fmt.Errorf("report rollups and open counts: %w", err)
	}
	return nil
}

// rollupWrites adds facts to the rollups inside tx, taking their rows in one global
// order: every row of report_rollups before any of report_rollups_weekly, and within
// a table by key. Every writer of the rollups (this, and a group of submissions,
// queueGroupCounts) takes them in that order, so no two
// transactions can each hold a row the other waits for: under load, submissions and
// transitions of the same day and category deadlocked when they took them in
// different orders.
func rollupWrites(ctx context.Context, tx execer, writes []rollupWrite) error {
	for _, t := range rollupTables {
		ws := make([]rollupWrite, len(writes))
		for i, w := range writes {
			w.key = t.key(w.key)
			ws[i] = w
		}
		slices.SortStableFunc(ws, func(a, b rollupWrite) int { return a.key.compare(b.key) })
		for _, w := range ws {
			var err error
			if w.timed != nil {
				err = bumpTimed(ctx, tx, t.name, w.key, *w.timed)
			} else {
				err = bumpCount(ctx, tx, t.name, w.key, w.delta)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.name, w.key.Measure, err)
			}
		}
	}
	return nil
}

// bumpTimed adds a timed fact to its row of a rollup table inside tx; hist_add
// (migration 0021) counts it in the row's histograms.
func bumpTimed(ctx context.Context, tx execer, table string, k rollupKey, f timed) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+table+` AS r (day, measure, service_id, employee_id,
			category_code, channel, kind, n, within_target, within_statutory, max_days, max_hours, days_hist, hours_hist)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11,
			int2send($12::smallint) || int4send(1), int2send($13::smallint) || int4send(1))
		ON CONFLICT (day, measure, service_id, employee_id, category_code, channel, kind) DO UPDATE SET
			n = r.n + 1,
			within_target = r.within_target + $8,
			within_statutory = r.within_statutory + $9,
			max_days = greatest(r.max_days, $10),
			max_hours = greatest(r.max_hours, $11),
			days_hist = hist_add(r.days_hist, $12::int),
			hours_hist = hist_add(r.hours_hist, $13::int)`,
		k.Day, k.Measure, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind,
		b2i(f.target), b2i(f.statute), f.days(), f.hours(), f.dayBucket(), f.hourBucket())
	return err
}

// bumpCount adds delta to the count of a row of a rollup table inside tx; a row whose
// count falls to zero goes, so that the incremental rollups hold exactly the rows a
// rebuild makes.
func bumpCount(ctx context.Context, tx execer, table string, k rollupKey, delta int) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+table+` AS r (day, measure, service_id, employee_id,
			category_code, channel, kind, n)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (day, measure, service_id, employee_id, category_code, channel, kind) DO UPDATE SET n = r.n + $8`,
		k.Day, k.Measure, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind, delta)
	if err != nil || delta > 0 {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM `+table+` WHERE day = $1 AND measure = $2 AND service_id = $3
		AND employee_id = $4 AND category_code = $5 AND channel = $6 AND kind = $7 AND n = 0`,
		k.Day, k.Measure, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind)
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// holderState is who holds a case: its service and assignee (0 for none).
type holderState struct{ service, employee int64 }

// rollTransition keeps the rollups current for a transition that RecordTransition is
// writing in tx: the visit that closed (closedStage from entered to at), the case
// changing hands from before to after, and a completion when the new stage is
// terminal. The rollup rows' writes go to hot, which the caller sends last.
func rollTransition(ctx context.Context, tx pgx.Tx, hot execer, c caseFacts, closedStage dimos.Stage, entered, at time.Time,
	before, after holderState, newStage dimos.Stage) error {
	caseID := c.ID
	var writes []rollupWrite
	if closedStage != "" && !closedStage.Terminal() { // "": no visit was open
		v := visit(entered, at)
		writes = append(writes, rollupWrite{key: c.key(at, string(closedStage), before.service, before.employee), timed: &v})
	}
	if before != after {
		writes = append(writes,
			rollupWrite{key: c.key(c.SubmittedAt, measureReceived, before.service, before.employee), delta: -1},
			rollupWrite{key: c.key(c.SubmittedAt, measureReceived, after.service, after.employee), delta: 1})
		if err := addHolder(ctx, tx, caseID, "service", after.service); err != nil {
			return err
		}
		if err := addHolder(ctx, tx, caseID, "employee", after.employee); err != nil {
			return err
		}
	}
	if newStage.Terminal() {
		var paused time.Duration
		rows, err := tx.Query(ctx, `SELECT entered_at, left_at FROM stage_timings
			WHERE case_id = $1 AND stage = $2 AND left_at IS NOT NULL`, caseID, dimos.StageWaitingCitizen)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a, b time.Time
			if err := rows.Scan(&a, &b); err != nil {
				rows.Close()
				return err
			}
			paused += reportCalendar.WorkingDuration(a, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		done := c.completion(at, paused)
		writes = append(writes, rollupWrite{key: c.key(at, measureCompleted, after.service, after.employee), timed: &done})
	}
	if err := rollupWrites(ctx, hot, writes); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	return nil
}

// addHolder appends a holder to a case's list of holders unless it holds already;
// coming back to one it had left counts a return (ping-pong). 0 (nobody) is skipped.
func addHolder(ctx context.Context, tx pgx.Tx, caseID int64, dimension string, holder int64) error {
	if holder == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO case_holders AS h (case_id, dimension, holders) VALUES ($1, $2, ARRAY[$3::bigint])
		ON CONFLICT (case_id, dimension) DO UPDATE SET
			returns = h.returns + CASE WHEN $3 = ANY (h.holders) THEN 1 ELSE 0 END,
			holders = h.holders || $3::bigint
		WHERE h.holders[array_upper(h.holders, 1)] <> $3`, caseID, dimension, holder)
	if err != nil {
		return fmt.Errorf("case holders: %w", err)
	}
	return nil
}

// rollupAgg is one rollup row being built by RebuildRollups.
type rollupAgg struct {
	n, target, statute int
	maxDays, maxHours  float64
	days, hours        map[int]int
}

func (a *rollupAgg) add(f timed) {
	a.n++
	a.target += b2i(f.target)
	a.statute += b2i(f.statute)
	a.maxDays = max(a.maxDays, f.days())
	a.maxHours = max(a.maxHours, f.hours())
	if a.days == nil {
		a.days, a.hours = map[int]int{}, map[int]int{}
	}
	a.days[f.dayBucket()]++
	a.hours[f.hourBucket()]++
}

// merge adds another row's facts.
func (a *rollupAgg) merge(b *rollupAgg) {
	a.n += b.n
	a.target += b.target
	a.statute += b.statute
	a.maxDays, a.maxHours = max(a.maxDays, b.maxDays), max(a.maxHours, b.maxHours)
	if len(b.days)+len(b.hours) > 0 && a.days == nil {
		a.days, a.hours = map[int]int{}, map[int]int{}
	}
	for k, v := range b.days {
		a.days[k] += v
	}
	for k, v := range b.hours {
		a.hours[k] += v
	}
}

// weeklyAggs sums rows of report_rollups into the rows of report_rollups_weekly.
func weeklyAggs(daily map[rollupKey]*rollupAgg) map[rollupKey]*rollupAgg {
	weekly := map[rollupKey]*rollupAgg{}
	for k, a := range daily {
		wk := k.weekly()
		w := weekly[wk]
		if w == nil {
			w = &rollupAgg{}
			weekly[wk] = w
		}
		w.merge(a)
	}
	return weekly
}

// histFormat is how the rollup tables store a histogram: as (bucket, count) records
// from migration 0021 on, as an int[] indexed by bucket before it, which migration
// 0018's fill of the weekly table still meets on a database older than both.
type histFormat struct {
	sqlType string                   // of days_hist and hours_hist
	literal func(map[int]int) string // a histogram as a literal of that type
}

var (
	sparseHist = histFormat{"bytea", recordsLiteral}
	denseHist  = histFormat{"int[]", denseLiteral}
)

// recordsLiteral writes a histogram as migration 0021 stores it, the value the
// incremental hist_add builds: a record per non-empty bucket in ascending order, the
// bucket in 2 bytes and the count in 4, big-endian; as a bytea literal in hex.
func recordsLiteral(h map[int]int) string {
	buckets := make([]int, 0, len(h))
	for b, n := range h {
		if n > 0 {
			buckets = append(buckets, b)
		}
	}
	slices.Sort(buckets)
	rec := make([]byte, 0, histRecord*len(buckets))
	for _, b := range buckets {
		rec = binary.BigEndian.AppendUint16(rec, uint16(b))
		rec = binary.BigEndian.AppendUint32(rec, uint32(h[b]))
	}
	return `\x` + hex.EncodeToString(rec)
}

// denseLiteral writes a histogram as an int[] indexed by bucket with explicit bounds,
// the form before migration 0021.
func denseLiteral(h map[int]int) string {
	if len(h) == 0 {
		return "{}"
	}
	lo, hi := maxDayBucket+maxHourBucket, -1
	for b := range h {
		lo, hi = min(lo, b), max(hi, b)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "[%d:%d]={", lo, hi)
	for b := lo; b <= hi; b++ {
		if b > lo {
			s.WriteByte(',')
		}
		if n, ok := h[b]; ok {
			s.WriteString(strconv.Itoa(n))
		} else {
			s.WriteString("NULL")
		}
	}
	s.WriteByte('}')
	return s.String()
}

// RebuildRollups recomputes the report rollups and the holders of every case from
// stage_timings, in one transaction: for data loaded without RecordTransition (a
// COPY by a bulk seeder, a restore) and to check the incremental path. It streams
// the stage visits in case order, holding one case at a time plus the rollup rows.
func (db *DB) RebuildRollups(ctx context.Context) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM report_rollups; DELETE FROM report_rollups_weekly; DELETE FROM case_holders`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT c.id, c.category_code, c.channel, c.kind, c.submitted_at,
				g.target_completion_days::float8, g.statutory_days::float8,
				t.stage, coalesce(t.service_id, 0), coalesce(t.employee_id, 0), t.entered_at, t.left_at
			FROM cases c
			JOIN categories g ON g.code = c.category_code
			JOIN stage_timings t ON t.case_id = c.id
			ORDER BY c.id, t.seq`)
		if err != nil {
			return err
		}
		aggs := map[rollupKey]*rollupAgg{}
		agg := func(k rollupKey) *rollupAgg {
			a := aggs[k]
			if a == nil {
				a = &rollupAgg{}
				aggs[k] = a
			}
			return a
		}
		type holders struct {
			list    []int64
			returns int
		}
		var bounced [][]any // case_holders rows
		var cur caseFacts
		var paused time.Duration
		var last holderState
		var hs [2]holders // service, employee
		flush := func() {
			if cur.ID == 0 {
				return
			}
			agg(cur.key(cur.SubmittedAt, measureReceived, last.service, last.employee)).n++
			for i, dim := range []string{"service", "employee"} {
				if len(hs[i].list) > 0 {
					bounced = append(bounced, []any{cur.ID, dim, hs[i].list, hs[i].returns})
				}
			}
		}
		push := func(h *holders, id int64) {
			if id == 0 || len(h.list) > 0 && h.list[len(h.list)-1] == id {
				return
			}
			for _, x := range h.list {
				if x == id {
					h.returns++
					break
				}
			}
			h.list = append(h.list, id)
		}
		for rows.Next() {
			var c caseFacts
			var stage dimos.Stage
			var holder holderState
			var entered time.Time
			var left *time.Time
			if err := rows.Scan(&c.ID, &c.Category, &c.Channel, &c.Kind, &c.SubmittedAt, &c.TargetDays, &c.StatutoryDays,
				&stage, &holder.service, &holder.employee, &entered, &left); err != nil {
				rows.Close()
				return err
			}
			if c.ID != cur.ID {
				flush()
				cur, paused, last, hs = c, 0, holderState{}, [2]holders{}
			}
			if holder != last {
				push(&hs[0], holder.service)
				push(&hs[1], holder.employee)
			}
			last = holder
			if stage.Terminal() {
				agg(cur.key(entered, measureCompleted, holder.service, holder.employee)).add(cur.completion(entered, paused))
			}
			if left == nil {
				continue
			}
			if stage == dimos.StageWaitingCitizen {
				paused += reportCalendar.WorkingDuration(entered, *left)
			}
			if !stage.Terminal() {
				agg(cur.key(*left, string(stage), holder.service, holder.employee)).add(visit(entered, *left))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		flush()

		if err := loadRollups(ctx, tx, "report_rollups", aggs, sparseHist); err != nil {
			return err
		}
		if err := loadRollups(ctx, tx, "report_rollups_weekly", weeklyAggs(aggs), sparseHist); err != nil {
			return err
		}
		if _, err = tx.CopyFrom(ctx, pgx.Identifier{"case_holders"}, []string{"case_id", "dimension", "holders", "returns"},
			pgx.CopyFromRows(bounced)); err != nil {
			return err
		}
		if err := rebuildOpenCounts(ctx, tx); err != nil {
			return err
		}
		if err := rebuildInboxCounts(ctx, tx); err != nil {
			return err
		}
		// Statistics of what was loaded: without them the planner took the few bounced
		// cases of case_holders for half a million and read them in parallel, 80 ms of
		// JIT and worker start-up for no row, until autovacuum got to the table.
		_, err = tx.Exec(ctx, `ANALYZE report_rollups, report_rollups_weekly, case_holders, report_open, inbox_counts`)
		return err
	})
}

// loadRollups writes rollup rows into an empty table (report_rollups or
// report_rollups_weekly) inside tx, their histograms in the table's format.
func loadRollups(ctx context.Context, tx pgx.Tx, table string, aggs map[rollupKey]*rollupAgg, format histFormat) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE rollup_load (LIKE report_rollups) ON COMMIT DROP;
			ALTER TABLE rollup_load ALTER days_hist TYPE text, ALTER hours_hist TYPE text`); err != nil {
		return err
	}
	// In day order, so that a period's rows sit together in the table: a report's
	// read of a few days then visits a few pages, not one page a row.
	keys := make([]rollupKey, 0, len(aggs))
	for k := range aggs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int { return a.Day.Compare(b.Day) })
	src := make([][]any, 0, len(aggs))
	for _, k := range keys {
		a := aggs[k]
		src = append(src, []any{k.Day, k.Measure, k.ServiceID, k.EmployeeID, k.Category, k.Channel, k.Kind,
			a.n, a.target, a.statute, a.maxDays, a.maxHours, format.literal(a.days), format.literal(a.hours)})
	}
	cols := []string{"day", "measure", "service_id", "employee_id", "category_code", "channel", "kind",
		"n", "within_target", "within_statutory", "max_days", "max_hours", "days_hist", "hours_hist"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rollup_load"}, cols, pgx.CopyFromRows(src)); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+table+` SELECT day, measure, service_id, employee_id,
			category_code, channel, kind, n, within_target, within_statutory, max_days, max_hours,
			days_hist::`+format.sqlType+`, hours_hist::`+format.sqlType+` FROM rollup_load;
		DROP TABLE rollup_load`)
	return err
}

// weeklyRollupsMigration is the migration that creates report_rollups_weekly.
const weeklyRollupsMigration = 18

// fillWeeklyRollups fills the empty report_rollups_weekly from report_rollups inside
// tx: in the transaction of migration 0018, so that no transition sees the new table
// before it is full, with the daily rows locked against writers while they are summed.
func fillWeeklyRollups(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `LOCK TABLE report_rollups IN SHARE MODE`); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT day, measure, service_id, employee_id, category_code, channel, kind,
				n, within_target, within_statutory, max_days, max_hours, days_hist, hours_hist
			FROM report_rollups`)
	if err != nil {
		return err
	}
	weekly := map[rollupKey]*rollupAgg{} // summed as the daily rows stream by
	for rows.Next() {
		var k rollupKey
		a := &rollupAgg{}
		if err := rows.Scan(&k.Day, &k.Measure, &k.ServiceID, &k.EmployeeID, &k.Category, &k.Channel, &k.Kind,
			&a.n, &a.target, &a.statute, &a.maxDays, &a.maxHours, nil, nil); err != nil {
			rows.Close()
			return err
		}
		w := weekly[k.weekly()]
		if w == nil {
			w = &rollupAgg{}
			weekly[k.weekly()] = w
		}
		w.merge(a)
		raw := rows.RawValues()
		for i, h := range []*map[int]int{&w.days, &w.hours} {
			if err := addDenseHistogram(raw[12+i], h); err != nil {
				rows.Close()
				return err
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := loadRollups(ctx, tx, "report_rollups_weekly", weekly, denseHist); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `ANALYZE report_rollups_weekly`)
	return err
}

// addDenseHistogram adds a histogram as PostgreSQL sends an int[] indexed by bucket
// (the form before migration 0021) to h: the array's header, then each element as a
// 4-byte length (-1 for NULL) and a 4-byte count.
func addDenseHistogram(b []byte, h *map[int]int) error {
	if len(b) < 12 {
		return fmt.Errorf("rollup histogram: %d bytes", len(b))
	}
	switch ndim := int32(binary.BigEndian.Uint32(b)); {
	case ndim == 0:
		return nil
	case ndim != 1 || len(b) < 20 || binary.BigEndian.Uint32(b[8:]) != pgtype.Int4OID:
		return fmt.Errorf("rollup histogram: not a one-dimensional int[]")
	}
	n, bucket, e := int(int32(binary.BigEndian.Uint32(b[12:]))), int(int32(binary.BigEndian.Uint32(b[16:]))), b[20:]
	for range n {
		if len(e) < 4 {
			return fmt.Errorf("rollup histogram: short")
		}
		size := int32(binary.BigEndian.Uint32(e))
		e = e[4:]
		if size >= 0 {
			if size != 4 || len(e) < 4 {
				return fmt.Errorf("rollup histogram: bad element")
			}
			if v := int(int32(binary.BigEndian.Uint32(e))); v != 0 {
				if *h == nil {
					*h = map[int]int{}
				}
				(*h)[bucket] += v
			}
			e = e[4:]
		}
		bucket++
	}
	return nil
}
