package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// athens is the municipality's time zone; the year of a case number is the year in
// Greece when the case arrived.
var athens = mustLoadLocation("Europe/Athens")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// SubmitCase stores a new case, its number, its "received" event, its first stage
// timing and its counts in the delay reports and the inbox in one transaction, sent
// in one round trip: once it returns, the case is kept whatever else is down. Every
// submission takes the year's number row (and its day's report rows) and holds it
// until commit, so submissions that arrive together are written together, in one
// transaction (submitGroups).
func (db *DB) SubmitCase(ctx context.Context, c *dimos.Case) error {
	if c.SubmittedAt.IsZero() {
		c.SubmittedAt = db.Now()
	}
	c.SubmittedAt = c.SubmittedAt.UTC().Truncate(time.Microsecond)
	c.Stage = dimos.StageReceived
	c.Status = c.Stage.Status()
	if c.Lang == "" {
		c.Lang = "el"
	}
	// Read before the statement, outside the locks it takes; the category row is
	// only read, as it was inside the transaction.
	limit, statutory, err := db.categoryClockLimit(ctx, c.CategoryCode)
	if err != nil {
		return fmt.Errorf("category clock: %w", err)
	}
	clock := caseClock{submitted: c.SubmittedAt, limitDays: limit}
	var lat, lon *float64
	if c.Location != nil {
		lat, lon = &c.Location.Lat, &c.Location.Lon
	}
	// The delay reports count it received, with nobody holding it yet, open, with
	// its clock running, and the inbox's counts unclaimed.
	f := caseFacts{Category: c.CategoryCode, Channel: string(c.Channel), Kind: string(c.Kind), SubmittedAt: c.SubmittedAt,
		StatutoryDays: statutory}
	open, overdueAt, _ := f.open(openState{stage: c.Stage})
	held, _ := inboxKeyOf(openState{stage: c.Stage})
	year := c.SubmittedAt.In(athens).Year()
	s := &submission{
		args: []any{year,
			c.Kind, c.CategoryCode, c.Channel, c.Subject, c.Text, c.DesiredAction,
			c.Anonymous, c.Contact.FirstName, c.Contact.LastName, c.Contact.Email, c.Contact.Phone,
			c.Lang, c.Stage, c.Status, c.SubmittedAt, c.AccessKeyHash, c.CitizenID,
			lat, lon, c.Address, c.Purpose, c.Delivery, clock.deadline(), overdueAt},
		received: f.key(c.SubmittedAt, measureReceived, 0, 0),
		open:     open,
		inbox:    held,
	}
	if db.submissions != nil {
		// Grouped with the other submissions of the year, which take its number row.
		err = db.submissions.submit(ctx, db, year, s)
	} else {
		err = db.writeAlone(ctx, s)
	}
	if err != nil {
		// s may hold the number of a group that was rolled back.
		return translate(err, "error.not_found")
	}
	c.ID, c.Number = s.id, s.number
	return nil
}

// submitCaseSQL writes a new case: its number (the year's next, written as
// dimos.FormatCaseNumber writes it, YYYY-NNNNNN, more digits past 999999), its row,
// its first stage timing and its "received" event. The counts it adds to the report's
// and the inbox's rows are written after it, by writeGroup, for a whole group at once.
const submitCaseSQL = `WITH seq AS (
		INSERT INTO case_numbers (year, last) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_numbers.last + 1
		RETURNING last
	), c AS (
		INSERT INTO cases (number, kind, category_code, channel, subject, body,
			desired_action, anonymous, contact_first_name, contact_last_name, contact_email,
			contact_phone, lang, stage, status, stage_seq, submitted_at, access_key_hash, citizen_id,
			lat, lon, address, purpose, delivery, clock_deadline_at, report_overdue_at)
		SELECT lpad($1::text, greatest(4, length($1::text)), '0') || '-' || lpad(seq.last::text, greatest(6, length(seq.last::text)), '0'),
			$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17, nullif($18::bigint, 0),
			$19, $20, $21, $22, $23, $24, $25
		FROM seq
		RETURNING id, number
	), timing AS (
		INSERT INTO stage_timings (case_id, seq, stage, entered_at)
		SELECT c.id, 1, $14, $16 FROM c
	), event AS (
		INSERT INTO case_events (case_id, at, type, public)
		SELECT c.id, $16, 'received', true FROM c
	)
	SELECT id, number FROM c`

const caseColumns = `c.id, c.number, c.kind, c.category_code, c.channel, c.subject, c.body,
	c.desired_action, c.anonymous, c.contact_first_name, c.contact_last_name, c.contact_email,
	c.contact_phone, c.lang, c.stage, c.status, coalesce(c.service_id, 0),
	coalesce(c.assignee_id, 0), c.answer, c.submitted_at, c.completed_at, c.workflow_started_at,
	coalesce(c.protocol_number, ''), c.protocol_date, c.due_date, coalesce(c.rating, 0), c.rating_remark,
	coalesce(c.citizen_id, 0), c.lat, c.lon, c.address, c.purpose, c.delivery`

func scanCase(row pgx.Row) (*dimos.Case, error) {
	var c dimos.Case
	var completed, started, protocolDate, due *time.Time
	var lat, lon *float64
	err := row.Scan(&c.ID, &c.Number, &c.Kind, &c.CategoryCode, &c.Channel, &c.Subject, &c.Text,
		&c.DesiredAction, &c.Anonymous, &c.Contact.FirstName, &c.Contact.LastName,
		&c.Contact.Email, &c.Contact.Phone, &c.Lang, &c.Stage, &c.Status, &c.ServiceID,
		&c.AssigneeID, &c.Answer, &c.SubmittedAt, &completed, &started,
		&c.Protocol.Number, &protocolDate, &due, &c.Rating, &c.RatingRemark, &c.CitizenID,
		&lat, &lon, &c.Address, &c.Purpose, &c.Delivery)
	if err != nil {
		return nil, err
	}
	if lat != nil && lon != nil {
		c.Location = &dimos.Point{Lat: *lat, Lon: *lon}
	}
	c.CompletedAt = deref(completed)
	c.WorkflowStartedAt = deref(started)
	c.Protocol.Date = deref(protocolDate)
	c.DueDate = deref(due)
	return &c, nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (db *DB) queryCases(ctx context.Context, sql string, args ...any) ([]*dimos.Case, error) {
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*dimos.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CaseByNumber returns the case with the given number.
func (db *DB) CaseByNumber(ctx context.Context, number string) (*dimos.Case, error) {
	c, err := scanCase(db.Pool.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.number = $1`, number))
	return c, translate(err, "error.case.not_found")
}

// CasesAwaitingWorkflow lists accepted cases whose workflow was never started, oldest
// first (by submission, then id), only those after the case after when it is set.
func (db *DB) CasesAwaitingWorkflow(ctx context.Context, after *dimos.Case, limit int) ([]*dimos.Case, error) {
	if after == nil {
		return db.queryCases(ctx, `SELECT `+caseColumns+` FROM cases c
			WHERE c.workflow_started_at IS NULL ORDER BY c.submitted_at, c.id LIMIT $1`, limit)
	}
	return db.queryCases(ctx, `SELECT `+caseColumns+` FROM cases c
		WHERE c.workflow_started_at IS NULL AND (c.submitted_at, c.id) > ($1, $2)
		ORDER BY c.submitted_at, c.id LIMIT $3`, after.SubmittedAt, after.ID, limit)
}

// MarkWorkflowStarted records that the case's workflow exists.
func (db *DB) MarkWorkflowStarted(ctx context.Context, caseID int64, at time.Time) error {
	return db.MarkWorkflowsStarted(ctx, []int64{caseID}, at)
}

// MarkWorkflowsStarted records that the workflows of these cases exist, in one
// statement however many there are: the starter marks what it started together.
func (db *DB) MarkWorkflowsStarted(ctx context.Context, caseIDs []int64, at time.Time) error {
	if len(caseIDs) == 0 {
		return nil
	}
	_, err := db.Pool.Exec(ctx, `UPDATE cases SET workflow_started_at = $2
		WHERE id = ANY($1) AND workflow_started_at IS NULL`, caseIDs, at)
	return err
}

// CaseEvents returns a case's timeline, oldest first, with the names of the people
// and services involved.
func (db *DB) CaseEvents(ctx context.Context, caseID int64) ([]dimos.CaseEvent, error) {
	rows, err := db.Pool.Query(ctx, `SELECT e.id, e.case_id, e.at, e.type, coalesce(e.actor_id, 0),
			coalesce(a.full_name, ''), e.public, e.body, coalesce(s.name_el, ''), coalesce(e.employee_id, 0), e.by_citizen
		FROM case_events e
		LEFT JOIN employees a ON a.id = e.actor_id
		LEFT JOIN services s ON s.id = e.service_id
		WHERE e.case_id = $1 ORDER BY e.at, e.id`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.CaseEvent, error) {
		var e dimos.CaseEvent
		err := r.Scan(&e.ID, &e.CaseID, &e.At, &e.Type, &e.ActorID, &e.ActorName, &e.Public, &e.Body,
			&e.Service, &e.EmployeeID, &e.ByCitizen)
		return e, err
	})
}

// StageTimings returns every stage visit of a case in order.
func (db *DB) StageTimings(ctx context.Context, caseID int64) ([]dimos.StageTiming, error) {
	rows, err := db.Pool.Query(ctx, `SELECT case_id, seq, stage, coalesce(service_id, 0),
			coalesce(employee_id, 0), entered_at, left_at
		FROM stage_timings WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.StageTiming, error) {
		var s dimos.StageTiming
		var left *time.Time
		err := r.Scan(&s.CaseID, &s.Seq, &s.Stage, &s.ServiceID, &s.EmployeeID, &s.EnteredAt, &left)
		if left != nil {
			s.LeftAt = *left
		}
		return s, err
	})
}

// RecordTransition moves a case to its next stage: it closes the current stage visit,
// opens the new one, updates the case and appends the event, all in one transaction.
// Seq makes it idempotent: an activity retried after a lost reply finds the transition
// already there and changes nothing. A move into or out of a stage in which the clocks
// stand still (waiting for the citizen, closed) stops or restarts the case's
// completion clock and moves its deadline.
func (db *DB) RecordTransition(ctx context.Context, t dimos.Transition) error {
	at := t.At.UTC().Truncate(time.Microsecond)
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		current, clock, facts, was, err := lockOpenCase(ctx, tx, t.CaseID)
		if err != nil {
			return translate(err, "error.case.not_found")
		}
		if t.Seq <= current {
			return nil // already recorded
		}
		if t.Seq != current+1 {
			return fmt.Errorf("transition of case %d to seq %d, but the case is at seq %d", t.CaseID, t.Seq, current)
		}
		var closedStage dimos.Stage
		var entered time.Time
		err = tx.QueryRow(ctx, `UPDATE stage_timings SET left_at = $3
			WHERE case_id = $1 AND seq = $2 AND left_at IS NULL RETURNING stage, entered_at`,
			t.CaseID, current, at).Scan(&closedStage, &entered)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		// Everything the case's row holds after the move is known here, so the row is
		// written once: each UPDATE of it writes a new version into every one of its
		// indexes (its stage and clock are in most of them), and the stage, the clock
		// and the report's overdue instant were three.
		before := holderState{was.service, was.employee}
		after := before
		if t.ServiceID != 0 {
			after.service = t.ServiceID
		}
		if t.EmployeeID != 0 {
			after.employee = t.EmployeeID
		}
		clock = clock.enter(t.Stage, at)
		is := openState{stage: t.Stage, service: after.service, employee: after.employee, due: was.due,
			pausedAt: clock.pausedAt, pausedUS: clock.paused.Microseconds()}
		_, overdueAt, _ := facts.open(is)
		_, err = tx.Exec(ctx, `UPDATE cases SET stage = $2, status = $3, stage_seq = $4,
				service_id = nullif($5::bigint, 0), assignee_id = nullif($6::bigint, 0),
				answer = CASE WHEN $7 = '' THEN answer ELSE $7 END,
				completed_at = CASE WHEN $8 THEN $9::timestamptz END,
				clock_deadline_at = $10, clock_paused_at = $11, clock_paused_us = $12, report_overdue_at = $13
			WHERE id = $1`,
			t.CaseID, t.Stage, t.Stage.Status(), t.Seq, after.service, after.employee, t.Answer,
			t.Stage.Terminal(), at, clock.deadline(), clock.pausedAt, clock.paused.Microseconds(), overdueAt)
		if err != nil {
			return translate(err, "error.case.not_found")
		}
		_, err = tx.Exec(ctx, `INSERT INTO stage_timings (case_id, seq, stage, service_id, employee_id, entered_at)
			VALUES ($1, $2, $3, nullif($4::bigint, 0), nullif($5::bigint, 0), $6)`,
			t.CaseID, t.Seq, t.Stage, after.service, after.employee, at)
		if err != nil {
			return err
		}
		e := t.Event
		e.CaseID, e.At = t.CaseID, at
		if err := insertEvent(ctx, tx, e, "", t.ServiceID); err != nil {
			return err
		}
		// The delay reports' rollups and open counts, and the inbox's counts, move in
		// the same transaction as the visit, in its last round trip (hotRows).
		var hot hotRows
		if err := rollTransition(ctx, tx, &hot, facts, closedStage, entered, at, before, after, t.Stage); err != nil {
			return err
		}
		if _, _, err := moveOpenRows(ctx, &hot, facts, was, is); err != nil {
			return err
		}
		if err := moveInbox(ctx, &hot, was, is); err != nil {
			return err
		}
		return hot.send(ctx, tx)
	})
}

// insertEvent appends an event to a case's timeline.
func insertEvent(ctx context.Context, tx pgx.Tx, e dimos.CaseEvent, key string, serviceID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, at, type, actor_id, employee_id, service_id, public, body, key, by_citizen)
		VALUES ($1, $2, $3, nullif($4::bigint, 0), nullif($5::bigint, 0), nullif($6::bigint, 0), $7, $8, nullif($9, ''), $10)`,
		e.CaseID, e.At, e.Type, e.ActorID, e.EmployeeID, serviceID, e.Public, e.Body, key, e.ByCitizen)
	return translate(err, "error.not_found")
}

// ApplyChange records a change that moves no stage, with its event, once per key.
func (db *DB) ApplyChange(ctx context.Context, ch dimos.CaseChange) error {
	if ch.Key == "" {
		return fmt.Errorf("case change of case %d without an idempotency key", ch.CaseID)
	}
	at := ch.Event.At.UTC().Truncate(time.Microsecond)
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// Lock the case so that concurrent changes apply one after the other.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT true FROM cases WHERE id = $1 FOR UPDATE`, ch.CaseID).Scan(&exists); err != nil {
			return translate(err, "error.case.not_found")
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM case_events WHERE case_id = $1 AND key = $2)`,
			ch.CaseID, ch.Key).Scan(&done); err != nil || done {
			return err
		}
		if !ch.DueDate.IsZero() {
			facts, was, err := loadOpenCase(ctx, tx, ch.CaseID)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE cases SET due_date = $2 WHERE id = $1`, ch.CaseID, ch.DueDate); err != nil {
				return err
			}
			// The due date moves the case in the delay report's overdue count.
			is := was
			is.due = &ch.DueDate
			if err := moveOpen(ctx, tx, facts, was, is); err != nil {
				return err
			}
		}
		if p := ch.Protocol; p != nil {
			if _, err := tx.Exec(ctx, `UPDATE cases SET protocol_number = $2, protocol_date = $3
				WHERE id = $1 AND protocol_number IS NULL`, ch.CaseID, p.Number, p.Date); err != nil {
				return translate(err, "error.not_found")
			}
		}
		if r := ch.Rating; r != nil {
			if _, err := tx.Exec(ctx, `UPDATE cases SET rating = $2, rating_remark = $3 WHERE id = $1`,
				ch.CaseID, r.Stars, r.Remark); err != nil {
				return translate(err, "error.not_found")
			}
		}
		e := ch.Event
		e.CaseID, e.At = ch.CaseID, at
		return insertEvent(ctx, tx, e, ch.Key, 0)
	})
}

// LeastLoadedClerk picks the active clerk of a service with the fewest open cases.
func (db *DB) LeastLoadedClerk(ctx context.Context, serviceID int64) (int64, error) {
	var id int64
	err := db.Pool.QueryRow(ctx, `SELECT e.id FROM employees e
		LEFT JOIN cases c ON c.assignee_id = e.id AND c.stage NOT IN ('completed', 'rejected')
		WHERE e.service_id = $1 AND e.role = 'clerk' AND e.active
		GROUP BY e.id ORDER BY count(c.id), e.id LIMIT 1`, serviceID).Scan(&id)
	return id, translate(err, "error.not_found")
}

// NotificationSent reports whether a notification went out on a channel.
func (db *DB) NotificationSent(ctx context.Context, key, channel string) (bool, error) {
	var sent bool
	err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE key = $1 AND channel = $2)`,
		key, channel).Scan(&sent)
	return sent, err
}

// MarkNotificationSent records that a notification went out.
func (db *DB) MarkNotificationSent(ctx context.Context, key, channel, recipient string, at time.Time) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO notifications (key, channel, recipient, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key, channel) DO NOTHING`, key, channel, recipient, at)
	return err
}
