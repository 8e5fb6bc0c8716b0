package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

func inboxHas(p dimos.InboxPage, number string) bool {
	for _, c := range p.Cases {
		if c.Number == number {
			return true
		}
	}
	return false
}

// inboxWorld is the demo municipality with a handful of cases in known places.
type inboxWorld struct {
	db                        *postgres.DB
	tech, water               int64 // services
	director, clerk1, clerk2  int64 // of Technical Services
	waterClerk                int64
	now                       time.Time
	routed, mine, waiting     *dimos.Case // routed to the director; clerk1's; clerk1's, waiting for the citizen
	waterCase, done, received *dimos.Case // a water case; completed; not yet routed
	late                      *dimos.Case // clerk2's, past its deadline
}

func employeeID(t testing.TB, db *postgres.DB, username string) (id, service int64) {
	t.Helper()
	e, err := db.EmployeeByUsername(context.Background(), username)
	if err != nil {
		t.Fatalf("employee %s: %v", username, err)
	}
	return e.ID, e.ServiceID
}

// fileCase submits a case and moves it through the given stages, one hour apart.
func fileCase(t *testing.T, db *postgres.DB, category string, at time.Time, moves ...dimos.Transition) *dimos.Case {
	t.Helper()
	ctx := context.Background()
	c := newCase(category)
	c.SubmittedAt = at
	if err := db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i, m := range moves {
		m.CaseID, m.Seq = c.ID, i+2
		if m.At.IsZero() {
			m.At = at.Add(time.Duration(i+1) * time.Hour)
		}
		m.Event = dimos.CaseEvent{Type: string(m.Stage)}
		if err := db.RecordTransition(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func newInboxWorld(t *testing.T) *inboxWorld {
	db := pgtest.New(t, true)
	w := &inboxWorld{db: db}
	w.director, w.tech = employeeID(t, db, "tech.director")
	w.clerk1, _ = employeeID(t, db, "tech.clerk1")
	w.clerk2, _ = employeeID(t, db, "tech.clerk2")
	w.waterClerk, w.water = employeeID(t, db, "water.clerk1")
	w.now = time.Date(2026, 6, 1, 12, 0, 0, 0, athens) // a Monday
	recent := w.now.AddDate(0, 0, -3)
	routed := dimos.Transition{Stage: dimos.StageRouted, ServiceID: w.tech, EmployeeID: w.director}
	assign := func(id int64) dimos.Transition { return dimos.Transition{Stage: dimos.StageAssigned, EmployeeID: id} }
	w.routed = fileCase(t, db, "potholes", recent, routed)
	w.mine = fileCase(t, db, "pavements", recent.Add(time.Minute), routed, assign(w.clerk1))
	w.waiting = fileCase(t, db, "potholes", recent.Add(2*time.Minute), routed, assign(w.clerk1),
		dimos.Transition{Stage: dimos.StageWaitingCitizen})
	w.waterCase = fileCase(t, db, "water-fault", recent, dimos.Transition{Stage: dimos.StageRouted, ServiceID: w.water},
		assign(w.waterClerk))
	w.done = fileCase(t, db, "potholes", recent, routed, assign(w.clerk2), dimos.Transition{Stage: dimos.StageCompleted})
	w.received = fileCase(t, db, "potholes", recent)
	// Potholes are due in 10 working days: filed in April, this one is long late.
	w.late = fileCase(t, db, "potholes", time.Date(2026, 4, 20, 9, 0, 0, 0, athens), routed, assign(w.clerk2))
	return w
}

// allRows pages through a tab forward, limit rows at a time, and returns every row.
func allRows(t *testing.T, db *postgres.DB, q dimos.InboxQuery) []dimos.InboxCase {
	t.Helper()
	var out []dimos.InboxCase
	for range 1000 {
		p, err := db.InboxPage(context.Background(), q)
		if err != nil {
			t.Fatalf("inbox %s: %v", q.Tab, err)
		}
		out = append(out, p.Cases...)
		if p.Next == nil {
			return out
		}
		q.After, q.Before = p.Next, nil
	}
	t.Fatal("inbox pages never end")
	return nil
}

func numbers(cs []dimos.InboxCase) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Number
	}
	slices.Sort(out)
	return out
}

func want(cs ...*dimos.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Number
	}
	slices.Sort(out)
	return out
}

func TestInboxTabs(t *testing.T) {
	w := newInboxWorld(t)
	ctx := context.Background()
	clerk := dimos.InboxScope{EmployeeID: w.clerk1, ServiceID: w.tech}
	director := dimos.InboxScope{EmployeeID: w.director, ServiceID: w.tech}
	waterClerk := dimos.InboxScope{EmployeeID: w.waterClerk, ServiceID: w.water}
	manager := dimos.InboxScope{All: true, EmployeeID: 9999}
	tests := []struct {
		name  string
		scope dimos.InboxScope
		tab   dimos.InboxTab
		want  []string
	}{
		{"ClerkMine", clerk, dimos.InboxMine, want(w.mine, w.waiting)},
		{"ClerkService", clerk, dimos.InboxService, want(w.routed)},
		{"ClerkWaiting", clerk, dimos.InboxWaiting, want(w.waiting)},
		// clerk2's late case is in clerk1's service: colleagues see it.
		{"ClerkOverdue", clerk, dimos.InboxOverdue, want(w.late)},
		{"DirectorMine", director, dimos.InboxMine, want(w.routed)},
		{"DirectorService", director, dimos.InboxService, want(w.routed)},
		{"OtherServiceMine", waterClerk, dimos.InboxMine, want(w.waterCase)},
		{"OtherServiceService", waterClerk, dimos.InboxService, nil},
		{"OtherServiceWaiting", waterClerk, dimos.InboxWaiting, nil},
		{"OtherServiceOverdue", waterClerk, dimos.InboxOverdue, nil},
		{"ManagerAll", manager, dimos.InboxAll, want(w.routed, w.mine, w.waiting, w.waterCase, w.received, w.late)},
		{"ManagerWaiting", manager, dimos.InboxWaiting, want(w.waiting)},
		{"ManagerOverdue", manager, dimos.InboxOverdue, want(w.late)},
		{"ManagerMine", manager, dimos.InboxMine, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := dimos.InboxQuery{Tab: tc.tab, Scope: tc.scope, Now: w.now, Limit: 2}
			got := numbers(allRows(t, w.db, q))
			if !slices.Equal(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			counts, err := w.db.InboxCounts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if counts[tc.tab] != len(tc.want) {
				t.Errorf("count %d, want %d (%v)", counts[tc.tab], len(tc.want), counts)
			}
		})
	}
	t.Run("ErrAllTabForClerk", func(t *testing.T) {
		_, err := w.db.InboxPage(ctx, dimos.InboxQuery{Tab: dimos.InboxAll, Scope: clerk, Now: w.now})
		if dimos.ErrorCode(err) != dimos.EFORBIDDEN {
			t.Fatalf("err %v, want forbidden", err)
		}
		counts, err := w.db.InboxCounts(ctx, dimos.InboxQuery{Scope: clerk, Now: w.now})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := counts[dimos.InboxAll]; ok {
			t.Errorf("clerk's counts name the all tab: %v", counts)
		}
	})
	t.Run("RowCarriesAssigneeAndClock", func(t *testing.T) {
		p, err := w.db.InboxPage(ctx, dimos.InboxQuery{Tab: dimos.InboxOverdue, Scope: clerk, Now: w.now})
		if err != nil || len(p.Cases) != 1 {
			t.Fatalf("%+v %v", p, err)
		}
		c := p.Cases[0]
		if c.AssigneeName != "Νικόλαος Γεωργίου" || c.AssigneeID != w.clerk2 || c.ServiceID != w.tech ||
			c.CategoryCode != "potholes" || c.Channel != dimos.ChannelPortal || c.Stage != dimos.StageAssigned {
			t.Errorf("row %+v", c)
		}
		if !c.Clock.Overdue || c.Clock.Days < 10 {
			t.Errorf("clock %+v, want overdue by weeks", c.Clock)
		}
	})
}

func TestInboxFilters(t *testing.T) {
	w := newInboxWorld(t)
	manager := dimos.InboxScope{All: true}
	// One case of each channel and kind, so that each filter has something to drop.
	desk := newCase("general")
	desk.Channel, desk.Kind, desk.SubmittedAt = dimos.ChannelDesk, dimos.KindSuggestion, w.now.AddDate(0, 0, -1)
	if err := w.db.SubmitCase(context.Background(), desk); err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time {
		d, _ := time.ParseInLocation("2006-01-02", s, athens)
		return d
	}
	tests := []struct {
		name string
		f    dimos.InboxFilters
		want []string
	}{
		{"Category", dimos.InboxFilters{Category: "water-fault"}, want(w.waterCase)},
		{"Stage", dimos.InboxFilters{Stage: dimos.StageWaitingCitizen}, want(w.waiting)},
		{"Status", dimos.InboxFilters{Status: dimos.StatusPending}, want(w.routed, w.received, desk)},
		{"Channel", dimos.InboxFilters{Channel: dimos.ChannelDesk}, want(desk)},
		{"Kind", dimos.InboxFilters{Kind: dimos.KindSuggestion}, want(desk)},
		{"From", dimos.InboxFilters{From: day("2026-05-31")}, want(desk)},
		{"To", dimos.InboxFilters{To: day("2026-05-01")}, want(w.late)},
		{"Together", dimos.InboxFilters{Category: "potholes", Stage: dimos.StageRouted, From: day("2026-05-01")}, want(w.routed)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := dimos.InboxQuery{Tab: dimos.InboxAll, Scope: manager, Filters: tc.f, Now: w.now}
			got := numbers(allRows(t, w.db, q))
			if !slices.Equal(got, tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			counts, err := w.db.InboxCounts(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if counts[dimos.InboxAll] != len(tc.want) {
				t.Errorf("count %d, want %d", counts[dimos.InboxAll], len(tc.want))
			}
		})
	}
}

// TestInboxPaging: forty cases filed in the same instant share their deadline, so
// only the id breaks ties; paging forward and back must give each once, in order.
func TestInboxPaging(t *testing.T) {
	db := pgtest.New(t, true)
	clerk, svc := employeeID(t, db, "tech.clerk1")
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, athens)
	var filed []string
	for i := range 40 {
		cat := "potholes"
		if i%3 == 0 {
			cat = "pavements" // a later deadline: 30 working days
		}
		c := fileCase(t, db, cat, at, dimos.Transition{Stage: dimos.StageRouted, ServiceID: svc},
			dimos.Transition{Stage: dimos.StageAssigned, EmployeeID: clerk})
		filed = append(filed, c.Number)
	}
	q := dimos.InboxQuery{Tab: dimos.InboxMine, Scope: dimos.InboxScope{EmployeeID: clerk, ServiceID: svc},
		Now: at.AddDate(0, 0, 1), Limit: 7}
	ctx := context.Background()
	var pages [][]dimos.InboxCase
	for {
		p, err := db.InboxPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if (len(pages) == 0) != (p.Prev == nil) {
			t.Errorf("page %d: prev %v", len(pages), p.Prev)
		}
		pages = append(pages, p.Cases)
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	var got []dimos.InboxCase
	for _, p := range pages {
		got = append(got, p...)
	}
	if len(pages) != 6 || len(got) != 40 {
		t.Fatalf("%d pages, %d rows; want 6 pages of 40 rows", len(pages), len(got))
	}
	if !slices.Equal(numbers(got), slices.Sorted(slices.Values(filed))) {
		t.Fatal("the pages do not hold every case exactly once")
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if b.Deadline.Before(a.Deadline) || b.Deadline.Equal(a.Deadline) && b.ID <= a.ID {
			t.Fatalf("row %d (%v, %d) after (%v, %d)", i, b.Deadline, b.ID, a.Deadline, a.ID)
		}
	}
	// Back from the last page by the previous links gives the same pages.
	q.After = nil
	q.Before = &dimos.InboxCursor{Deadline: pages[5][0].Deadline, ID: pages[5][0].ID}
	for i := 4; i >= 0; i-- {
		p, err := db.InboxPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(numbers(p.Cases), numbers(pages[i])) {
			t.Fatalf("page %d backwards: %v, want %v", i, numbers(p.Cases), numbers(pages[i]))
		}
		if (i == 0) != (p.Prev == nil) || p.Next == nil {
			t.Fatalf("page %d backwards: prev %v next %v", i, p.Prev, p.Next)
		}
		q.Before = p.Prev
	}
}

// TestInboxOrder: the most overdue first, then the nearest deadline; a due date
// earlier than the clock's deadline counts.
func TestInboxOrder(t *testing.T) {
	db := pgtest.New(t, true)
	clerk, svc := employeeID(t, db, "tech.clerk1")
	mine := []dimos.Transition{{Stage: dimos.StageRouted, ServiceID: svc}, {Stage: dimos.StageAssigned, EmployeeID: clerk}}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, athens)
	lateLittle := fileCase(t, db, "potholes", now.AddDate(0, 0, -16), mine...)
	lateMuch := fileCase(t, db, "potholes", now.AddDate(0, 0, -40), mine...)
	fresh := fileCase(t, db, "pavements", now.AddDate(0, 0, -1), mine...)
	soon := fileCase(t, db, "potholes", now.AddDate(0, 0, -7), mine...)
	promised := fileCase(t, db, "pavements", now.AddDate(0, 0, -1), mine...)
	err := db.ApplyChange(context.Background(), dimos.CaseChange{CaseID: promised.ID, Key: "due/1",
		DueDate: now.AddDate(0, 0, 1), Event: dimos.CaseEvent{Type: "due_date_set", At: now}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.InboxPage(context.Background(), dimos.InboxQuery{Tab: dimos.InboxMine,
		Scope: dimos.InboxScope{EmployeeID: clerk, ServiceID: svc}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.Cases {
		got = append(got, c.Number)
	}
	wantOrder := []string{lateMuch.Number, lateLittle.Number, promised.Number, soon.Number, fresh.Number}
	if !slices.Equal(got, wantOrder) {
		t.Fatalf("order %v, want %v", got, wantOrder)
	}
	if c := p.Cases[2]; !c.Deadline.Equal(now.AddDate(0, 0, 1)) || c.Clock.Overdue || c.Clock.Days != 1 {
		t.Errorf("promised case: deadline %v clock %+v, want the due date, 1 day left", c.Deadline, c.Clock)
	}
	if !p.Cases[0].Clock.Overdue || !p.Cases[1].Clock.Overdue || p.Cases[0].Clock.Days <= p.Cases[1].Clock.Days {
		t.Errorf("overdue clocks %+v %+v", p.Cases[0].Clock, p.Cases[1].Clock)
	}
}

// TestInboxWorkingDayClock: potholes are due in 10 working days. Filed on Friday 20
// March 2026, 10:00 in Athens, the case skips 25 March (a national holiday) and is due
// on Monday 6 April, 10:00. Waiting for the citizen from Tuesday 24 March to Tuesday
// 31 March stops the clock for 4 working days (25 March again left out), which moves
// the deadline over Good Friday and Easter Monday to Tuesday 14 April, 10:00.
func TestInboxWorkingDayClock(t *testing.T) {
	db := pgtest.New(t, true)
	ctx := context.Background()
	clerk, svc := employeeID(t, db, "tech.clerk1")
	scope := dimos.InboxScope{EmployeeID: clerk, ServiceID: svc}
	local := func(month time.Month, d, h int) time.Time { return time.Date(2026, month, d, h, 0, 0, 0, athens) }
	c := fileCase(t, db, "potholes", local(time.March, 20, 10),
		dimos.Transition{Stage: dimos.StageRouted, ServiceID: svc, At: local(time.March, 20, 11)},
		dimos.Transition{Stage: dimos.StageAssigned, EmployeeID: clerk, At: local(time.March, 20, 12)})
	row := func(now time.Time) dimos.InboxCase {
		t.Helper()
		p, err := db.InboxPage(ctx, dimos.InboxQuery{Tab: dimos.InboxMine, Scope: scope, Now: now})
		if err != nil || len(p.Cases) != 1 {
			t.Fatalf("%+v %v", p, err)
		}
		return p.Cases[0]
	}
	if r := row(local(time.March, 24, 10)); !r.Deadline.Equal(local(time.April, 6, 10)) || r.Clock != (dimos.InboxClock{Days: 8}) {
		t.Fatalf("deadline %v clock %+v, want 6 April 10:00 with 8 working days left", r.Deadline.In(athens), r.Clock)
	}
	if r := row(local(time.April, 8, 10)); r.Clock != (dimos.InboxClock{Overdue: true, Days: 2}) {
		t.Errorf("on 8 April: %+v, want overdue by 2", r.Clock)
	}

	err := db.RecordTransition(ctx, dimos.Transition{CaseID: c.ID, Seq: 4, Stage: dimos.StageWaitingCitizen,
		At: local(time.March, 24, 10), Event: dimos.CaseEvent{Type: "info_requested"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := row(local(time.March, 30, 10)); r.Clock != (dimos.InboxClock{Paused: true, Days: 8}) {
		t.Errorf("while waiting: %+v, want paused with 8 days left", r.Clock)
	}
	err = db.RecordTransition(ctx, dimos.Transition{CaseID: c.ID, Seq: 5, Stage: dimos.StageInProgress,
		At: local(time.March, 31, 10), Event: dimos.CaseEvent{Type: "citizen_replied"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := row(local(time.March, 31, 10)); !r.Deadline.Equal(local(time.April, 14, 10)) || r.Clock != (dimos.InboxClock{Days: 8}) {
		t.Fatalf("after the reply: deadline %v clock %+v, want 14 April 10:00, 8 days left", r.Deadline.In(athens), r.Clock)
	}

	t.Run("RetargetMovesDeadline", func(t *testing.T) {
		targets := dimos.Targets{AssignDays: 1, ResponseDays: 2, CompletionDays: 5, StatutoryDays: 50, InfoReplyDays: 15}
		if _, err := db.SetCategoryTargets(ctx, "potholes", targets); err != nil {
			t.Fatal(err)
		}
		// 5 working days from 20 March 10:00 plus the 4 of the stop: 23, 24, 26, 27,
		// 30 March, then 31 March, 1, 2, 3 April.
		if r := row(local(time.March, 31, 10)); !r.Deadline.Equal(local(time.April, 3, 10)) {
			t.Errorf("after retarget: deadline %v, want 3 April 10:00", r.Deadline.In(athens))
		}
	})
	t.Run("MigrateFillsMissingClocks", func(t *testing.T) {
		before := row(local(time.March, 31, 10)).Deadline
		if _, err := db.Pool.Exec(ctx, `UPDATE cases SET clock_deadline_at = NULL, clock_paused_us = 0`); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if after := row(local(time.March, 31, 10)).Deadline; !after.Equal(before) {
			t.Errorf("deadline rebuilt from the stage visits %v, want %v", after.In(athens), before.In(athens))
		}
	})
}

func ExampleInboxCursor() {
	c := dimos.InboxCursor{Deadline: time.Date(2026, 4, 6, 7, 0, 0, 0, time.UTC), ID: 42}
	back, _ := dimos.ParseInboxCursor(c.String())
	fmt.Println(c, back == c)
	// Output: 1775458800000000_42 true
}

// TestInboxCountsCap: the counts stop at dimos.InboxCountCap and read one more past
// it, for a tab of one branch and for one of two, and stay exact below it.
func TestInboxCountsCap(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	clerk, svc := employeeID(t, db, "tech.clerk1")
	other, _ := employeeID(t, db, "tech.clerk2")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	// n open, overdue cases of the clerk's service held by who.
	file := func(n int, who int64, prefix string) {
		t.Helper()
		_, err := db.Pool.Exec(ctx, `INSERT INTO cases (number, kind, category_code, channel, subject, body, anonymous,
				stage, status, stage_seq, service_id, assignee_id, submitted_at, clock_deadline_at)
			SELECT $4 || s, 'request', (SELECT code FROM categories WHERE service_id = $2 ORDER BY code LIMIT 1), 'portal',
				'Υπόθεση', 'Κείμενο', false, 'in_progress', 'in_progress', 2, $2, $3,
				$5::timestamptz - interval '30 days', $5::timestamptz - interval '1 day'
			FROM generate_series(1, $1) s`, n, svc, who, prefix, now)
		if err != nil {
			t.Fatal(err)
		}
		// Loaded past the store, so counted as a bulk load is.
		if err := db.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
	}
	scope := dimos.InboxScope{EmployeeID: clerk, ServiceID: svc}
	counts := func() dimos.InboxCounts {
		t.Helper()
		c, err := db.InboxCounts(ctx, dimos.InboxQuery{Scope: scope, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	file(dimos.InboxCountCap, clerk, "M")
	if c := counts(); c[dimos.InboxMine] != dimos.InboxCountCap || c[dimos.InboxOverdue] != dimos.InboxCountCap {
		t.Fatalf("at the cap: mine %d, overdue %d, want %d", c[dimos.InboxMine], c[dimos.InboxOverdue], dimos.InboxCountCap)
	}
	// The overdue tab's second branch, the service's cases held by others, counts
	// what the first left of the cap.
	file(5, other, "O")
	if c := counts(); c[dimos.InboxMine] != dimos.InboxCountCap || c[dimos.InboxOverdue] != dimos.InboxCountCap+1 {
		t.Fatalf("the second branch past the cap: mine %d, overdue %d, want %d and %d",
			c[dimos.InboxMine], c[dimos.InboxOverdue], dimos.InboxCountCap, dimos.InboxCountCap+1)
	}
	file(1, clerk, "N")
	c := counts()
	if c[dimos.InboxMine] != dimos.InboxCountCap+1 || c[dimos.InboxOverdue] != dimos.InboxCountCap+1 {
		t.Errorf("past the cap: mine %d, overdue %d, want %d", c[dimos.InboxMine], c[dimos.InboxOverdue], dimos.InboxCountCap+1)
	}
	if got := dimos.InboxCountLabel(c[dimos.InboxMine]); got != "999+" {
		t.Errorf("label past the cap %q, want 999+", got)
	}
	if got := dimos.InboxCountLabel(dimos.InboxCountCap); got != "999" {
		t.Errorf("label at the cap %q, want 999", got)
	}
}

// TestInboxCountsKeptByHolder: the counts of a tab with no filter, summed from
// inbox_counts, agree with the open cases' own count (InboxCountsDrift) and with the
// same tabs counted through the cases' indexes (a filter that every case passes takes
// that path), for every viewer, as cases are filed, routed, claimed, handed on, wait
// for the citizen and close.
func TestInboxCountsKeptByHolder(t *testing.T) {
	ctx := context.Background()
	w := newInboxWorld(t)
	scopes := map[string]dimos.InboxScope{
		"manager":     {All: true, EmployeeID: w.director},
		"director":    {EmployeeID: w.director, ServiceID: w.tech},
		"clerk1":      {EmployeeID: w.clerk1, ServiceID: w.tech},
		"clerk2":      {EmployeeID: w.clerk2, ServiceID: w.tech},
		"water clerk": {EmployeeID: w.waterClerk, ServiceID: w.water},
		"no service":  {EmployeeID: w.clerk1},
	}
	check := func(when string, want map[string]dimos.InboxCounts) {
		t.Helper()
		drift, err := w.db.InboxCountsDrift(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(drift) > 0 {
			t.Fatalf("%s: inbox_counts drifted from the cases: %v", when, drift)
		}
		for name, scope := range scopes {
			q := dimos.InboxQuery{Scope: scope, Now: w.now}
			held, err := w.db.InboxCounts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			q.Filters.From = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
			indexed, err := w.db.InboxCounts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, tab := range scope.Tabs() {
				if held[tab] != indexed[tab] {
					t.Errorf("%s, %s's %s tab: %d from inbox_counts, %d from the cases", when, name, tab, held[tab], indexed[tab])
				}
				if n, ok := want[name][tab]; ok && held[tab] != n {
					t.Errorf("%s, %s's %s tab: %d, want %d", when, name, tab, held[tab], n)
				}
			}
		}
	}
	// The world's open cases: routed (to the director), mine and waiting (clerk1's),
	// late (clerk2's, overdue), received (nobody's), waterCase (the water clerk's).
	check("the world as filed", map[string]dimos.InboxCounts{
		"manager":  {dimos.InboxAll: 6, dimos.InboxWaiting: 1},
		"director": {dimos.InboxService: 1, dimos.InboxMine: 1},
		"clerk1":   {dimos.InboxMine: 2, dimos.InboxWaiting: 1},
	})
	move := func(c *dimos.Case, seq int, tr dimos.Transition) {
		t.Helper()
		tr.CaseID, tr.Seq, tr.At, tr.Event = c.ID, seq, w.now.Add(-time.Hour), dimos.CaseEvent{Type: string(tr.Stage)}
		if err := w.db.RecordTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	move(w.waiting, 5, dimos.Transition{Stage: dimos.StageInProgress})                  // the citizen answered
	move(w.mine, 4, dimos.Transition{Stage: dimos.StageAssigned, EmployeeID: w.clerk2}) // handed on
	move(w.received, 2, dimos.Transition{Stage: dimos.StageRouted, ServiceID: w.water}) // routed, to no director
	move(w.routed, 3, dimos.Transition{Stage: dimos.StageRejected})                     // closed
	check("after the moves", map[string]dimos.InboxCounts{
		"manager":     {dimos.InboxAll: 5, dimos.InboxWaiting: 0},
		"director":    {dimos.InboxService: 0, dimos.InboxMine: 0},
		"clerk1":      {dimos.InboxMine: 1, dimos.InboxWaiting: 0},
		"clerk2":      {dimos.InboxMine: 2},
		"water clerk": {dimos.InboxService: 1},
	})
	if err := w.db.RebuildRollups(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild", nil)
}
