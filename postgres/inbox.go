package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"dimos"
)

// The inbox pages by seek: each page continues from the (deadline_at, id) of the row
// that ended the previous one, so page 1,000 costs what page 1 costs. Every tab is one
// or two "branches", each a condition that an index of migration 0012 answers in
// (deadline_at, id) order; a clerk's waiting and overdue tabs are the cases assigned
// to them plus the other cases of their service, two disjoint branches each read
// through its own index up to LIMIT and merged.

const (
	inboxDefaultLimit = 50
	inboxMaxLimit     = 200
	openCase          = `c.stage NOT IN ('completed', 'rejected')`
	// overdueCase matches dimos.InboxClock.Overdue: past the deadline now, or, for a
	// clock stopped while waiting for the citizen, already past it when it stopped.
	// The first half lets the index range scan stop at now.
	overdueCase = `c.deadline_at < %[1]s AND c.deadline_at < coalesce(c.clock_paused_at, %[1]s)`
)

// inboxSQL builds the parameterised conditions of an inbox query.
type inboxSQL struct {
	now    time.Time
	nowArg string // the parameter that holds now, once a condition needs it
	args   []any
}

// overdue is the condition of an overdue case.
func (b *inboxSQL) overdue() string {
	if b.nowArg == "" {
		b.nowArg = b.arg(b.now)
	}
	return fmt.Sprintf(overdueCase, b.nowArg)
}

func (b *inboxSQL) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// branches returns the disjoint conditions whose union is the tab in scope.
func (b *inboxSQL) branches(tab dimos.InboxTab, s dimos.InboxScope) ([]string, error) {
	if !s.Allows(tab) {
		return nil, dimos.Errorf(dimos.EFORBIDDEN, "error.forbidden")
	}
	// Parameters are added only when a condition names them: PostgreSQL refuses a
	// parameter that no condition uses.
	var meArg, svcArg string
	me := func() string {
		if meArg == "" {
			meArg = b.arg(s.EmployeeID)
		}
		return meArg
	}
	svc := func() string {
		if svcArg == "" {
			svcArg = b.arg(s.ServiceID)
		}
		return svcArg
	}
	// scoped is the cond over the viewer's scope: everything for managers and admins,
	// else the cases assigned to the viewer and the other cases of their service.
	scoped := func(cond string) []string {
		if s.All {
			return []string{cond}
		}
		out := []string{"c.assignee_id = " + me() + " AND " + cond}
		if s.ServiceID != 0 {
			out = append(out, "c.service_id = "+svc()+" AND c.assignee_id IS DISTINCT FROM "+me()+" AND "+cond)
		}
		return out
	}
	switch tab {
	case dimos.InboxMine:
		return []string{"c.assignee_id = " + me() + " AND " + openCase}, nil
	case dimos.InboxService:
		return []string{"c.service_id = " + svc() + " AND " + openCase + " AND (c.stage = 'routed' OR c.assignee_id IS NULL)"}, nil
	case dimos.InboxWaiting:
		return scoped("c.stage = 'waiting_citizen'"), nil
	case dimos.InboxOverdue:
		return scoped(openCase + " AND " + b.overdue()), nil
	case dimos.InboxAll:
		return []string{openCase}, nil
	}
	return nil, dimos.Errorf(dimos.EINVALID, "error.invalid")
}

// heldCount is the count of a tab with no filter from inbox_counts (migration 0022),
// the rows of the holders and classes its branches pick; "" for the overdue tab,
// which the clock moves, not the writes. A viewer with no employee id (0, which
// inbox_counts uses for nobody) holds nothing.
func (b *inboxSQL) heldCount(tab dimos.InboxTab, s dimos.InboxScope) string {
	sum := func(cond string) string {
		return "(SELECT coalesce(sum(n), 0) FROM inbox_counts WHERE " + cond + ")"
	}
	// Parameters only where a condition names them, as in branches.
	mine := func() string { return "assignee_id = " + b.arg(s.EmployeeID) }
	service := func() string { return "service_id = " + b.arg(s.ServiceID) }
	me, svc := s.EmployeeID != 0, s.ServiceID != 0
	switch tab {
	case dimos.InboxMine:
		if !me {
			return "0"
		}
		return sum(mine())
	case dimos.InboxService:
		return sum(service() + " AND unclaimed")
	case dimos.InboxWaiting:
		// scoped: the viewer's cases and the others of their service
		switch {
		case s.All:
			return sum("waiting")
		case me && svc:
			return sum("waiting AND (" + mine() + " OR " + service() + ")")
		case me:
			return sum("waiting AND " + mine())
		case svc:
			return sum("waiting AND " + service())
		}
		return "0"
	case dimos.InboxAll:
		return sum("true")
	}
	return ""
}

// filters returns the conditions of the filters, "" for none.
func (b *inboxSQL) filters(f dimos.InboxFilters) string {
	var conds []string
	add := func(col string, v any) { conds = append(conds, col+" = "+b.arg(v)) }
	if f.Category != "" {
		add("c.category_code", f.Category)
	}
	if f.Stage != "" {
		add("c.stage", string(f.Stage))
	}
	if f.Status != "" {
		add("c.status", string(f.Status))
	}
	if f.Channel != "" {
		add("c.channel", string(f.Channel))
	}
	if f.Kind != "" {
		add("c.kind", string(f.Kind))
	}
	if !f.From.IsZero() {
		conds = append(conds, "c.submitted_at >= "+b.arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "c.submitted_at < "+b.arg(f.To))
	}
	if len(conds) == 0 {
		return ""
	}
	return " AND " + strings.Join(conds, " AND ")
}

func (db *DB) inboxNow(q dimos.InboxQuery) time.Time {
	if !q.Now.IsZero() {
		return q.Now.UTC()
	}
	return db.Now().UTC()
}

const inboxColumns = `c.id, c.number, c.subject, c.kind, c.category_code, c.stage, c.status, c.channel,
	c.submitted_at, c.service_id, c.assignee_id, c.due_date, c.deadline_at, c.clock_paused_at`

// InboxPage returns one page of a tab in deadline order, most overdue first, ties by
// id: the rows after q.After, or those before q.Before, or the first page.
func (db *DB) InboxPage(ctx context.Context, q dimos.InboxQuery) (dimos.InboxPage, error) {
	st, err := db.inboxPageStatement(q)
	if err != nil {
		return dimos.InboxPage{}, err
	}
	limit, now, backward := st.limit, st.now, st.backward
	rows, err := db.Pool.Query(ctx, st.sql, st.args...)
	if err != nil {
		return dimos.InboxPage{}, fmt.Errorf("inbox page: %w", err)
	}
	cases, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.InboxCase, error) {
		var c dimos.InboxCase
		var service, assignee *int64
		var due *time.Time
		var pausedAt *time.Time
		var deadline pgtype.Timestamptz
		err := r.Scan(&c.ID, &c.Number, &c.Subject, &c.Kind, &c.CategoryCode, &c.Stage, &c.Status, &c.Channel,
			&c.SubmittedAt, &service, &assignee, &due, &deadline, &pausedAt, &c.AssigneeName)
		if service != nil {
			c.ServiceID = *service
		}
		if assignee != nil {
			c.AssigneeID = *assignee
		}
		c.DueDate = deref(due)
		c.Deadline = timestamptz(deadline)
		if c.Stage != dimos.StageWaitingCitizen {
			pausedAt = nil // only waiting stops the clock of an open case
		}
		c.Clock = inboxClock(c.Deadline, pausedAt, now)
		return c, err
	})
	if err != nil {
		return dimos.InboxPage{}, fmt.Errorf("inbox page: %w", err)
	}
	var page dimos.InboxPage
	more := len(cases) > limit
	if more {
		cases = cases[:limit]
	}
	if backward {
		slices.Reverse(cases)
	}
	page.Cases = cases
	if len(cases) == 0 {
		return page, nil
	}
	first := &dimos.InboxCursor{Deadline: cases[0].Deadline, ID: cases[0].ID}
	last := &dimos.InboxCursor{Deadline: cases[len(cases)-1].Deadline, ID: cases[len(cases)-1].ID}
	switch {
	case backward:
		page.Next = last // the page was reached from the one after it
		if more {
			page.Prev = first
		}
	default:
		if q.After != nil {
			page.Prev = first
		}
		if more {
			page.Next = last
		}
	}
	return page, nil
}

// inboxStatement is the SQL of one inbox page, kept apart so that a test can EXPLAIN it.
type inboxStatement struct {
	sql      string
	args     []any
	limit    int
	now      time.Time
	backward bool
}

func (db *DB) inboxPageStatement(q dimos.InboxQuery) (inboxStatement, error) {
	limit := q.Limit
	if limit <= 0 || limit > inboxMaxLimit {
		limit = inboxDefaultLimit
	}
	now := db.inboxNow(q)
	b := &inboxSQL{now: now}
	branches, err := b.branches(q.Tab, q.Scope)
	if err != nil {
		return inboxStatement{}, err
	}
	filters := b.filters(q.Filters)
	backward := q.Before != nil
	order, seek := "c.deadline_at, c.id", ""
	switch {
	case backward:
		order = "c.deadline_at DESC, c.id DESC"
		seek = " AND (c.deadline_at, c.id) < (" + b.arg(deadlineParam(q.Before.Deadline)) + ", " + b.arg(q.Before.ID) + ")"
	case q.After != nil:
		seek = " AND (c.deadline_at, c.id) > (" + b.arg(deadlineParam(q.After.Deadline)) + ", " + b.arg(q.After.ID) + ")"
	}
	lim := b.arg(limit + 1) // one more tells whether there is a page beyond
	parts := make([]string, len(branches))
	for i, cond := range branches {
		parts[i] = "(SELECT " + inboxColumns + " FROM cases c WHERE " + cond + filters + seek +
			" ORDER BY " + order + " LIMIT " + lim + ")"
	}
	sql := `SELECT c.*, coalesce(e.full_name, '') FROM (` + strings.Join(parts, " UNION ALL ") + `) c
		LEFT JOIN employees e ON e.id = c.assignee_id
		ORDER BY ` + order + ` LIMIT ` + lim
	return inboxStatement{sql: sql, args: b.args, limit: limit, now: now, backward: backward}, nil
}

// InboxCounts counts the cases of every tab open to the query's scope, under its
// filters, in one statement, up to dimos.InboxCountCap. With no filter, every tab but
// "overdue" is a sum over the viewer's rows of inbox_counts (heldCount); the rest
// read at most that many index entries each, however many cases are open.
func (db *DB) InboxCounts(ctx context.Context, q dimos.InboxQuery) (dimos.InboxCounts, error) {
	sql, args, tabs, err := db.inboxCountsStatement(q)
	if err != nil {
		return nil, err
	}
	n := make([]int, len(tabs))
	dest := make([]any, len(tabs))
	for i := range n {
		dest[i] = &n[i]
	}
	if err := db.Pool.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("inbox counts: %w", err)
	}
	counts := dimos.InboxCounts{}
	for i, tab := range tabs {
		counts[tab] = n[i]
	}
	return counts, nil
}

func (db *DB) inboxCountsStatement(q dimos.InboxQuery) (string, []any, []dimos.InboxTab, error) {
	b := &inboxSQL{now: db.inboxNow(q)}
	tabs := q.Scope.Tabs()
	filters := b.filters(q.Filters)
	capArg := b.arg(dimos.InboxCountCap + 1)
	cols := make([]string, len(tabs))
	for i, tab := range tabs {
		if filters == "" {
			if held := b.heldCount(tab, q.Scope); held != "" {
				cols[i] = "least(" + held + ", " + capArg + ")"
				continue
			}
		}
		branches, err := b.branches(tab, q.Scope)
		if err != nil {
			return "", nil, nil, err
		}
		// One count per branch, each through the index that serves the branch's
		// page; the branches of a tab are disjoint, so their counts add up. They
		// stop past the cap together: each branch reads only what the ones before
		// it left of the cap, so a director's overdue tab at a million cases reads
		// a thousand entries, not a thousand for each of its two branches.
		count := func(cond, limit string) string {
			return "(SELECT count(*) FROM (SELECT FROM cases c WHERE " + cond + filters + " LIMIT " + limit + ") x)"
		}
		sum := count(branches[0], capArg)
		for _, cond := range branches[1:] {
			sum = "(SELECT t.n + " + count(cond, "greatest("+capArg+" - t.n, 0)") + " FROM (SELECT " + sum + " AS n) t)"
		}
		cols[i] = sum
	}
	return "SELECT " + strings.Join(cols, ", "), b.args, tabs, nil
}
