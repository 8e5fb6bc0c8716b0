package postgres

import (
	"cmp"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// The inbox's counts by holder (migration 0022): inbox_counts holds how many open
// cases each service and employee holds, by whether the case waits for the citizen
// and whether it is unclaimed, the two things the tabs tell apart (branches). The
// writers below keep it in the transactions that open, move and close cases;
// InboxCounts sums its rows for the tabs that do not move with the clock.

// inboxKey is a row of inbox_counts.
type inboxKey struct {
	service, assignee  int64 // 0: none
	waiting, unclaimed bool
}

// inboxKeyOf is where an open case counts in inbox_counts, as the tabs' conditions
// (branches) read its row; ok is false for a closed case.
func inboxKeyOf(o openState) (k inboxKey, ok bool) {
	if o.stage.Terminal() {
		return inboxKey{}, false
	}
	return inboxKey{service: o.service, assignee: o.employee, waiting: o.stage == dimos.StageWaitingCitizen,
		unclaimed: o.stage == dimos.StageRouted || o.employee == 0}, true
}

func (k inboxKey) compare(o inboxKey) int {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return cmp.Or(cmp.Compare(k.service, o.service), cmp.Compare(k.assignee, o.assignee),
		cmp.Compare(b(k.waiting), b(o.waiting)), cmp.Compare(b(k.unclaimed), b(o.unclaimed)))
}

// moveInbox moves a case in inbox_counts from where it counted in before to where it
// counts in after, inside tx. Its rows are taken in key order, after report_open's
// (moveOpenRows), as a group of submissions takes its (queueGroupCounts).
func moveInbox(ctx context.Context, tx execer, before, after openState) error {
	kb, openb := inboxKeyOf(before)
	ka, opena := inboxKeyOf(after)
	if openb == opena && kb == ka {
		return nil
	}
	for _, w := range leaveJoin(kb, openb, ka, opena, inboxKey.compare) {
		if err := bumpInbox(ctx, tx, w.k, w.delta); err != nil {
			return fmt.Errorf("inbox_counts: %w", err)
		}
	}
	return nil
}

// bumpInbox adds delta to a row of inbox_counts. A row whose count falls to zero
// stays: there are at most four a holder, and deleting it would cost every move that
// empties one (a service's unclaimed row, each time its last case is claimed) a
// second statement.
func bumpInbox(ctx context.Context, tx execer, k inboxKey, delta int) error {
	_, err := tx.Exec(ctx, `INSERT INTO inbox_counts AS r (service_id, assignee_id, waiting, unclaimed, n)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (service_id, assignee_id, waiting, unclaimed) DO UPDATE SET n = r.n + $5`,
		k.service, k.assignee, k.waiting, k.unclaimed, delta)
	return err
}

// inboxCountsSQL counts the open cases by holder and class, as migration 0022 fills
// inbox_counts and rebuildInboxCounts refills it; InboxCountsDrift compares the two.
const inboxCountsSQL = `SELECT coalesce(service_id, 0), coalesce(assignee_id, 0), stage = 'waiting_citizen',
		stage = 'routed' OR assignee_id IS NULL, count(*)::int
	FROM cases WHERE stage NOT IN ('completed', 'rejected')
	GROUP BY 1, 2, 3, 4`

// rebuildInboxCounts recomputes inbox_counts from the cases, inside tx: after a bulk
// load (RebuildRollups), with nothing else writing cases.
func rebuildInboxCounts(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `DELETE FROM inbox_counts`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO inbox_counts (service_id, assignee_id, waiting, unclaimed, n) `+inboxCountsSQL)
	return err
}

// InboxCountsDrift reports the rows in which inbox_counts differs from a count of the
// open cases, as "service/assignee/waiting/unclaimed: kept n, counted m"; none when
// they agree. For tests and for an operator who suspects the counts.
func (db *DB) InboxCountsDrift(ctx context.Context) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `SELECT coalesce(k.service_id, c.service_id), coalesce(k.assignee_id, c.assignee_id),
			coalesce(k.waiting, c.waiting), coalesce(k.unclaimed, c.unclaimed), coalesce(k.n, 0), coalesce(c.n, 0)
		FROM inbox_counts k
		FULL JOIN (`+inboxCountsSQL+`) AS c (service_id, assignee_id, waiting, unclaimed, n)
			USING (service_id, assignee_id, waiting, unclaimed)
		WHERE coalesce(k.n, 0) <> coalesce(c.n, 0)
		ORDER BY 1, 2, 3, 4`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var k inboxKey
		var kept, counted int
		err := r.Scan(&k.service, &k.assignee, &k.waiting, &k.unclaimed, &kept, &counted)
		return fmt.Sprintf("%d/%d/%t/%t: kept %d, counted %d", k.service, k.assignee, k.waiting, k.unclaimed, kept, counted), err
	})
}
