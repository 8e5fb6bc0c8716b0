package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

func newCase(category string) *dimos.Case {
	return &dimos.Case{
		Kind: dimos.KindComplaint, CategoryCode: category, Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα στην οδό Εγνατίας", Text: "Μεγάλη λακκούβα μπροστά στο 12.",
		Contact: dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr"},
	}
}

// mixedCase is the i-th of cases that count in different report and inbox rows: four
// categories, three channels and two kinds in turn.
func mixedCase(i int) *dimos.Case {
	c := newCase([]string{"potholes", "water-fault", "cleaning", "street-lighting"}[i%4])
	c.Channel = []dimos.Channel{dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelOpen311}[i%3]
	c.Kind = []dimos.Kind{dimos.KindComplaint, dimos.KindRequest}[i%2]
	return c
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewURL(t)
	t.Run("ConcurrentStartsApplyOnce", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := postgres.Open(ctx, dsn, nil)
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				errs[i] = db.Migrate(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		db, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Each applied once means as many rows as migrations (their numbers may have
		// gaps, as branches reserve theirs).
		want, err := postgres.MigrationCount()
		if err != nil {
			t.Fatal(err)
		}
		var n, distinct int
		if err := db.Pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != want || distinct != want || n < 2 {
			t.Fatalf("schema_migrations has %d rows (%d versions) for %d migrations", n, distinct, want)
		}
	})
}

func TestSubmitCase(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)

	t.Run("NumbersPerYear", func(t *testing.T) {
		// 31 December 23:30 UTC is already 1 January in Athens.
		times := []time.Time{
			time.Date(2025, 12, 31, 21, 0, 0, 0, time.UTC),
			time.Date(2025, 12, 31, 21, 30, 0, 0, time.UTC),
			time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC),
		}
		want := []string{"2025-000001", "2025-000002", "2026-000001"}
		for i, at := range times {
			c := newCase("potholes")
			c.SubmittedAt = at
			if err := db.SubmitCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			if c.Number != want[i] {
				t.Errorf("case %d: number %s, want %s", i, c.Number, want[i])
			}
		}
	})

	// Submissions that arrive while a group is being written queue up and are
	// written together, in one transaction; one that gives up while queued, or one
	// that fails, leaves nothing behind and takes no number.
	t.Run("Groups", func(t *testing.T) {
		// waitQueued waits until n submissions are queued behind a group being written.
		waitQueued := func(n int) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				if q, w := db.SubmissionsWaiting(); q == n && w == 1 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d submissions never queued", n)
				}
			}
		}
		submit := func(ctx context.Context, c *dimos.Case) chan error {
			done := make(chan error, 1)
			go func() { done <- db.SubmitCase(ctx, c) }()
			return done
		}
		// hold holds the groups back until the release, or until the subtest ends:
		// a failure must not leave the submissions of later subtests queued.
		hold := func() (release func()) {
			release = db.HoldSubmissionGroups()
			t.Cleanup(release)
			return release
		}
		release := hold()
		first := newCase("potholes")
		firstDone := submit(ctx, first)
		waitQueued(0) // taken into its own group, which waits for the release
		bad := newCase("potholes")
		bad.CitizenID = 1 << 40 // no such citizen
		badDone := submit(ctx, bad)
		waitQueued(1)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		gaveUp := submit(short, newCase("potholes"))
		select {
		case err := <-gaveUp:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a submission queued past its deadline: %v, want it to give up", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a submission queued past its deadline still waits")
		}
		waitQueued(1) // withdrawn, and the bad one still queued
		together := make([]*dimos.Case, 10)
		dones := make([]chan error, len(together))
		for i := range together {
			together[i] = newCase("potholes")
			dones[i] = submit(ctx, together[i])
		}
		waitQueued(1 + len(together))
		release()
		if err := <-firstDone; err != nil {
			t.Fatal(err)
		}
		if err := <-badDone; dimos.ErrorCode(err) != dimos.EINVALID {
			t.Errorf("a case of no citizen: %v, want invalid", err)
		}
		numbers := []string{first.Number}
		for i, done := range dones {
			if err := <-done; err != nil {
				t.Fatalf("case %d of the group: %v", i, err)
			}
			numbers = append(numbers, together[i].Number)
		}
		// The group failed with the bad case in it, and its cases were written one by
		// one: every case but the bad one is stored, numbered without a gap.
		var year, last int
		fmt.Sscanf(first.Number, "%d-%d", &year, &last)
		slices.Sort(numbers)
		for _, n := range numbers[1:] {
			var seq int
			fmt.Sscanf(n, "%d-%d", &year, &seq)
			if seq != last+1 {
				t.Errorf("numbers %v: a gap before %s, or one taken twice", numbers, n)
			}
			last = seq
		}
		var stored int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE number = ANY($1)`, numbers).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != len(numbers) {
			t.Errorf("%d of %d cases stored", stored, len(numbers))
		}

		// Ten queued behind a group being written are written in one transaction,
		// though they count in different report and inbox rows: other categories,
		// channels, kinds and days.
		release = hold()
		lead := submit(ctx, newCase("potholes"))
		waitQueued(0)
		for i := range together {
			together[i] = mixedCase(i)
			together[i].SubmittedAt = time.Now().AddDate(0, 0, -i%3)
			dones[i] = submit(ctx, together[i])
		}
		waitQueued(len(together))
		release()
		if err := <-lead; err != nil {
			t.Fatal(err)
		}
		numbers = numbers[:0]
		for _, done := range dones {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range together {
			numbers = append(numbers, c.Number)
		}
		var transactions int
		if err := db.Pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM cases WHERE number = ANY($1)`, numbers).Scan(&transactions); err != nil {
			t.Fatal(err)
		}
		if transactions != 1 {
			t.Errorf("ten submissions queued together were written in %d transactions, want 1", transactions)
		}
		// Each row counted once with its cases: what a rebuild from the cases makes.
		if drift, err := db.InboxCountsDrift(ctx); err != nil || len(drift) > 0 {
			t.Errorf("inbox_counts after a group: %v %v", drift, err)
		}
		written := rollupSnapshot(t, db)
		if err := db.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := rollupSnapshot(t, db); rebuilt != written {
			t.Errorf("the rollups a group wrote and a rebuild differ:\n%s", firstDiff(written, rebuilt))
		}
	})

	t.Run("StoredWithFirstStage", func(t *testing.T) {
		c := newCase("water-fault")
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.CaseByNumber(ctx, c.Number)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != c.Subject || got.Contact != c.Contact || got.Stage != dimos.StageReceived || got.Status != dimos.StatusPending {
			t.Fatalf("stored case differs: %+v", got)
		}
		if !got.WorkflowStartedAt.IsZero() {
			t.Fatal("a new case must wait for its workflow")
		}
		st, err := db.StageTimings(ctx, c.ID)
		if err != nil || len(st) != 1 || st[0].Stage != dimos.StageReceived || !st[0].LeftAt.IsZero() {
			t.Fatalf("stage timings %+v, %v", st, err)
		}
		ev, err := db.CaseEvents(ctx, c.ID)
		if err != nil || len(ev) != 1 || ev[0].Type != "received" {
			t.Fatalf("events %+v, %v", ev, err)
		}
		waiting, err := db.CasesAwaitingWorkflow(ctx, nil, 100)
		if err != nil || !containsCase(waiting, c.Number) {
			t.Fatalf("awaiting workflow: %v %v", waiting, err)
		}
		if err := db.MarkWorkflowStarted(ctx, c.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		waiting, _ = db.CasesAwaitingWorkflow(ctx, nil, 100)
		if containsCase(waiting, c.Number) {
			t.Fatal("case still awaits its workflow after MarkWorkflowStarted")
		}
	})

	t.Run("AwaitingWorkflowPages", func(t *testing.T) {
		var mine []*dimos.Case
		for range 3 {
			c := newCase("potholes")
			if err := db.SubmitCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, c)
		}
		all, err := db.CasesAwaitingWorkflow(ctx, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		// Page through them two at a time: every case once, in the same order.
		var paged []*dimos.Case
		var after *dimos.Case
		for range len(all) + 1 { // bounded, should the cursor be ignored
			page, err := db.CasesAwaitingWorkflow(ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1]
		}
		caseNumbers := func(cs []*dimos.Case) (out []string) {
			for _, c := range cs {
				out = append(out, c.Number)
			}
			return out
		}
		if !slices.Equal(caseNumbers(paged), caseNumbers(all)) {
			t.Fatalf("paged %v, listed at once %v", caseNumbers(paged), caseNumbers(all))
		}
		rest, err := db.CasesAwaitingWorkflow(ctx, mine[0], 1000)
		if err != nil {
			t.Fatal(err)
		}
		if containsCase(rest, mine[0].Number) || !containsCase(rest, mine[1].Number) || !containsCase(rest, mine[2].Number) {
			t.Fatalf("after %s: %v", mine[0].Number, caseNumbers(rest))
		}
	})

	t.Run("NumbersPastSixDigits", func(t *testing.T) {
		at := time.Date(2024, 5, 6, 9, 0, 0, 0, time.UTC)
		if _, err := db.Pool.Exec(ctx, `INSERT INTO case_numbers (year, last) VALUES (2024, 999998)`); err != nil {
			t.Fatal(err)
		}
		// The statement writes the number as dimos.FormatCaseNumber does.
		for seq, want := range map[int]string{999999: "2024-999999", 1000000: "2024-1000000"} {
			if got := dimos.FormatCaseNumber(2024, seq); got != want {
				t.Fatalf("FormatCaseNumber(2024, %d) = %s", seq, got)
			}
		}
		for _, want := range []string{"2024-999999", "2024-1000000"} {
			c := newCase("potholes")
			c.SubmittedAt = at
			if err := db.SubmitCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			if c.Number != want {
				t.Errorf("number %s, want %s", c.Number, want)
			}
		}
	})

	t.Run("ConcurrentSubmissionsNumberedOnce", func(t *testing.T) {
		at := time.Date(2023, 5, 6, 9, 0, 0, 0, time.UTC)
		const n = 40
		numbers := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newCase("potholes")
				c.SubmittedAt = at
				errs[i] = db.SubmitCase(ctx, c)
				numbers[i] = c.Number
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, number := range numbers {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			seen[number] = true
		}
		for i := 1; i <= n; i++ {
			if !seen[dimos.FormatCaseNumber(2023, i)] {
				t.Fatalf("numbers %v: %s missing", numbers, dimos.FormatCaseNumber(2023, i))
			}
		}
		var received int
		if err := db.Pool.QueryRow(ctx, `SELECT n FROM report_rollups WHERE day = '2023-05-06'
			AND measure = 'case_received' AND category_code = 'potholes'`).Scan(&received); err != nil || received != n {
			t.Fatalf("the reports count %d received, want %d (%v)", received, n, err)
		}
	})

	t.Run("MarkWorkflowsStartedTogether", func(t *testing.T) {
		var ids []int64
		for range 3 {
			c := newCase("potholes")
			if err := db.SubmitCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		first := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
		if err := db.MarkWorkflowsStarted(ctx, ids[:1], first); err != nil {
			t.Fatal(err)
		}
		// A case marked already keeps its first time; the others are marked at once.
		if err := db.MarkWorkflowsStarted(ctx, ids, first.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			var at time.Time
			if err := db.Pool.QueryRow(ctx, `SELECT workflow_started_at FROM cases WHERE id = $1`, id).Scan(&at); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			want := first.Add(time.Hour)
			if i == 0 {
				want = first
			}
			if !at.Equal(want) {
				t.Errorf("case %d started at %s, want %s", i, at, want)
			}
		}
		if err := db.MarkWorkflowsStarted(ctx, nil, first); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrUnknownCategory", func(t *testing.T) {
		if err := db.SubmitCase(ctx, newCase("no-such-category")); dimos.ErrorCode(err) != dimos.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.CaseByNumber(ctx, "1999-000001"); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("got %v", err)
		}
	})
}

func containsCase(cs []*dimos.Case, number string) bool {
	for _, c := range cs {
		if c.Number == number {
			return true
		}
	}
	return false
}

func TestRecordTransition(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	c := newCase("potholes")
	c.SubmittedAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	route, err := db.RoutingFor(ctx, "potholes")
	if err != nil || route.DirectorID == 0 {
		t.Fatalf("routing %+v %v", route, err)
	}
	routed := dimos.Transition{CaseID: c.ID, Seq: 2, Stage: dimos.StageRouted, At: c.SubmittedAt.Add(time.Minute),
		ServiceID: route.ServiceID, EmployeeID: route.DirectorID, Event: dimos.CaseEvent{Type: "routed", Public: true}}
	completed := dimos.Transition{CaseID: c.ID, Seq: 3, Stage: dimos.StageCompleted, At: c.SubmittedAt.Add(26 * time.Hour),
		Answer: "Αποκαταστάθηκε.", Event: dimos.CaseEvent{Type: "completed", ActorID: route.DirectorID, Public: true}}

	t.Run("RetriedTransitionsChangeNothing", func(t *testing.T) {
		for range 3 {
			if err := db.RecordTransition(ctx, routed); err != nil {
				t.Fatal(err)
			}
		}
		inbox, err := db.InboxPage(ctx, dimos.InboxQuery{Tab: dimos.InboxMine, Scope: dimos.InboxScope{EmployeeID: route.DirectorID}})
		if err != nil || !inboxHas(inbox, c.Number) {
			t.Fatalf("director's inbox %v %v", inbox, err)
		}
		for range 2 {
			if err := db.RecordTransition(ctx, completed); err != nil {
				t.Fatal(err)
			}
		}
		// A late retry of the earlier transition must not reopen the case.
		if err := db.RecordTransition(ctx, routed); err != nil {
			t.Fatal(err)
		}
		got, _ := db.CaseByNumber(ctx, c.Number)
		if got.Stage != dimos.StageCompleted || got.Status != dimos.StatusCompleted || got.Answer != "Αποκαταστάθηκε." || got.CompletedAt.IsZero() {
			t.Fatalf("case after completion: %+v", got)
		}
		st, _ := db.StageTimings(ctx, c.ID)
		if len(st) != 3 {
			t.Fatalf("%d stage timings, want 3: %+v", len(st), st)
		}
		wantStages := []dimos.Stage{dimos.StageReceived, dimos.StageRouted, dimos.StageCompleted}
		for i, s := range st {
			// Every stage but the last was left; the case sits in the last one.
			if s.Stage != wantStages[i] || s.LeftAt.IsZero() != (i == len(st)-1) || !s.LeftAt.IsZero() && s.LeftAt.Before(s.EnteredAt) {
				t.Errorf("stage %d: %+v", i, s)
			}
			if i > 0 && !s.EnteredAt.Equal(st[i-1].LeftAt) {
				t.Errorf("stage %d entered at %v, previous left at %v", i, s.EnteredAt, st[i-1].LeftAt)
			}
		}
		if st[1].EmployeeID != route.DirectorID || st[1].ServiceID != route.ServiceID {
			t.Errorf("routed stage holder: %+v", st[1])
		}
		ev, _ := db.CaseEvents(ctx, c.ID)
		if len(ev) != 3 {
			t.Fatalf("%d events, want 3", len(ev))
		}
		open, _ := db.InboxPage(ctx, dimos.InboxQuery{Tab: dimos.InboxMine, Scope: dimos.InboxScope{EmployeeID: route.DirectorID}})
		if inboxHas(open, c.Number) {
			t.Fatal("completed case in the open inbox")
		}
	})

	t.Run("ErrSkippedStage", func(t *testing.T) {
		skip := completed
		skip.Seq = 9
		if err := db.RecordTransition(ctx, skip); err == nil {
			t.Fatal("a transition that skips stages was accepted")
		}
	})
}

func TestApplyChange(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	c := newCase("cert-birth")
	c.Kind = dimos.KindCertificate
	if err := db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	entry := dimos.ProtocolEntry{Number: "17/02-03-2026", Date: at}
	due := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)

	t.Run("RetriesApplyOnce", func(t *testing.T) {
		for range 3 {
			err := db.ApplyChange(ctx, dimos.CaseChange{CaseID: c.ID, Key: "protocol", Protocol: &entry,
				Event: dimos.CaseEvent{Type: "protocol_registered", At: at, Public: true, Body: entry.Number}})
			if err != nil {
				t.Fatal(err)
			}
			err = db.ApplyChange(ctx, dimos.CaseChange{CaseID: c.ID, Key: "due-1", DueDate: due,
				Event: dimos.CaseEvent{Type: "due_date_set", At: at, Public: true}})
			if err != nil {
				t.Fatal(err)
			}
		}
		got, _ := db.CaseByNumber(ctx, c.Number)
		if got.Protocol.Number != entry.Number || !got.Protocol.Date.Equal(at) || !got.DueDate.Equal(due) {
			t.Fatalf("case after changes: %+v", got)
		}
		ev, _ := db.CaseEvents(ctx, c.ID)
		if len(ev) != 3 { // received, protocol_registered, due_date_set
			t.Fatalf("%d events, want 3: %+v", len(ev), ev)
		}
	})

	t.Run("FirstProtocolNumberKept", func(t *testing.T) {
		other := dimos.ProtocolEntry{Number: "99/02-03-2026", Date: at}
		if err := db.ApplyChange(ctx, dimos.CaseChange{CaseID: c.ID, Key: "protocol-again", Protocol: &other,
			Event: dimos.CaseEvent{Type: "protocol_registered", At: at}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.CaseByNumber(ctx, c.Number); got.Protocol.Number != entry.Number {
			t.Fatalf("protocol number changed to %s", got.Protocol.Number)
		}
	})

	t.Run("ErrProtocolNumberTakenByAnotherCase", func(t *testing.T) {
		d := newCase("cert-birth")
		d.Kind = dimos.KindCertificate
		if err := db.SubmitCase(ctx, d); err != nil {
			t.Fatal(err)
		}
		err := db.ApplyChange(ctx, dimos.CaseChange{CaseID: d.ID, Key: "protocol", Protocol: &entry,
			Event: dimos.CaseEvent{Type: "protocol_registered", At: at}})
		if dimos.ErrorCode(err) != dimos.ECONFLICT {
			t.Fatalf("got %v, want a conflict", err)
		}
	})

	t.Run("ErrNoKey", func(t *testing.T) {
		if err := db.ApplyChange(ctx, dimos.CaseChange{CaseID: c.ID}); err == nil {
			t.Fatal("a change without an idempotency key was accepted")
		}
	})
}

func TestLeastLoadedClerk(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	route, _ := db.RoutingFor(ctx, "potholes")
	clerk1, _ := db.EmployeeByUsername(ctx, "tech.clerk1")
	clerk2, _ := db.EmployeeByUsername(ctx, "tech.clerk2")
	assign := func(employee int64) {
		c := newCase("potholes")
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordTransition(ctx, dimos.Transition{CaseID: c.ID, Seq: 2, Stage: dimos.StageAssigned, At: time.Now(),
			ServiceID: route.ServiceID, EmployeeID: employee, Event: dimos.CaseEvent{Type: "assigned"}}); err != nil {
			t.Fatal(err)
		}
	}
	pick := func() int64 {
		id, err := db.LeastLoadedClerk(ctx, route.ServiceID)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if got := pick(); got != clerk1.ID {
		t.Fatalf("with no load: %d, want the first clerk %d", got, clerk1.ID)
	}
	assign(clerk1.ID)
	if got := pick(); got != clerk2.ID {
		t.Fatalf("clerk1 has one case: got %d, want clerk2 %d", got, clerk2.ID)
	}
	assign(clerk2.ID)
	assign(clerk2.ID)
	if got := pick(); got != clerk1.ID {
		t.Fatalf("clerk2 has two cases: got %d, want clerk1", got)
	}
	if _, err := db.LeastLoadedClerk(ctx, 999999); dimos.ErrorCode(err) != dimos.ENOTFOUND {
		t.Fatalf("service without clerks: %v", err)
	}
}

func TestNotificationLog(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, false)
	if sent, err := db.NotificationSent(ctx, "2026-000001/received", "email"); err != nil || sent {
		t.Fatalf("%v %v", sent, err)
	}
	for range 2 {
		if err := db.MarkNotificationSent(ctx, "2026-000001/received", "email", "a@example.gr", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if sent, _ := db.NotificationSent(ctx, "2026-000001/received", "email"); !sent {
		t.Fatal("not recorded")
	}
	if sent, _ := db.NotificationSent(ctx, "2026-000001/received", "sms"); sent {
		t.Fatal("the e-mail counted for the SMS")
	}
}

func TestStaff(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	emp, err := db.EmployeeByUsername(ctx, " Tech.Clerk1 ")
	if err != nil || emp.Role != dimos.RoleClerk || emp.PasswordHash == "" {
		t.Fatalf("employee %+v %v", emp, err)
	}

	t.Run("AuditAppendOnly", func(t *testing.T) {
		if err := db.Audit(ctx, dimos.AuditEntry{EmployeeID: emp.ID, Action: "signin", IP: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, "UPDATE audit_log SET action = 'x'"); err == nil {
			t.Fatal("audit log row was updated")
		}
		if _, err := db.Pool.Exec(ctx, "DELETE FROM audit_log"); err == nil {
			t.Fatal("audit log row was deleted")
		}
		entries, err := db.AuditEntries(ctx, 10)
		if err != nil || len(entries) != 1 || entries[0].Action != "signin" {
			t.Fatalf("%+v %v", entries, err)
		}
	})

	t.Run("Throttle", func(t *testing.T) {
		now := time.Now()
		for i := range 3 {
			if err := db.RecordFailure(ctx, "signin:user:x", now.Add(-time.Duration(i)*10*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.Failures(ctx, "signin:user:x", now.Add(-15*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("failures in window: %d %v", n, err)
		}
		if err := db.Reset(ctx, "signin:user:x"); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.Failures(ctx, "signin:user:x", now.Add(-time.Hour)); n != 0 {
			t.Fatalf("after reset: %d", n)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		h := []byte("0123456789abcdef0123456789abcdef")
		s := dimos.StaffSession{EmployeeID: emp.ID, CSRFToken: "csrf", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, h, s); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchSession(ctx, h, now.Add(time.Minute), now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := db.SessionByTokenHash(ctx, h)
		if err != nil || got.CSRFToken != "csrf" || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Fatalf("%+v %v", got, err)
		}
		// The employee comes with the session, as the directory has them, and still
		// comes once deactivated: the console ends such a session.
		want, err := db.EmployeeByID(ctx, emp.ID)
		if err != nil || got.Employee == nil || *got.Employee != *want {
			t.Fatalf("session's employee %+v, directory's %+v %v", got.Employee, want, err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE employees SET active = false WHERE id = $1`, emp.ID); err != nil {
			t.Fatal(err)
		}
		if got, err = db.SessionByTokenHash(ctx, h); err != nil || got.Employee == nil || got.Employee.Active {
			t.Fatalf("deactivated: %+v %v", got, err)
		}
		if err := db.DeleteSession(ctx, h); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByTokenHash(ctx, h); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("deleted session: %v", err)
		}
	})
}

func TestDemoData(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	if err := db.SeedDemo(ctx); err != nil { // twice is harmless
		t.Fatal(err)
	}
	cats, err := db.Categories(ctx)
	if err != nil || len(cats) < 12 {
		t.Fatalf("%d categories, %v", len(cats), err)
	}
	for _, c := range cats {
		r, err := db.RoutingFor(ctx, c.Code)
		if err != nil || r.DirectorID == 0 {
			t.Errorf("category %s routes to %+v (%v): every demo category needs a director", c.Code, r, err)
		}
	}
}

func TestAttachments(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	c := newCase("potholes")
	c.AccessKeyHash = []byte("0123456789abcdef0123456789abcdef")
	if err := db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.4 φωτογραφία λακκούβας")
	a, err := dimos.NewAttachment("λακκούβα.pdf", pdf)
	if err != nil {
		t.Fatal(err)
	}
	a.CaseID, a.ByCitizen, a.Public = c.ID, true, true
	if err := db.SaveAttachment(ctx, a); err != nil || a.ID == 0 {
		t.Fatalf("save: %v (id %d)", err, a.ID)
	}
	t.Run("SameFileStoredOnce", func(t *testing.T) {
		again, _ := dimos.NewAttachment("copy.pdf", pdf)
		again.CaseID = c.ID
		if err := db.SaveAttachment(ctx, again); err != nil || again.ID != a.ID {
			t.Fatalf("second save: id %d, want %d (%v)", again.ID, a.ID, err)
		}
		list, err := db.CaseAttachments(ctx, c.ID)
		if err != nil || len(list) != 1 || list[0].Data != nil || list[0].Name != "λακκούβα.pdf" {
			t.Fatalf("%+v %v", list, err)
		}
	})
	t.Run("ReadBack", func(t *testing.T) {
		got, err := db.Attachment(ctx, a.ID)
		if err != nil || string(got.Data) != string(pdf) || got.SHA256 != a.SHA256 || got.ContentType != "application/pdf" || !got.ByCitizen {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.Attachment(ctx, 999999); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("%v", err)
		}
	})
	t.Run("AccessKeyHash", func(t *testing.T) {
		h, err := db.AccessKeyHash(ctx, c.ID)
		if err != nil || string(h) != string(c.AccessKeyHash) {
			t.Fatalf("%q %v", h, err)
		}
	})
}

func TestAuditSearch(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	clerk, err := db.EmployeeByUsername(ctx, "tech.clerk1")
	if err != nil {
		t.Fatal(err)
	}
	director, err := db.EmployeeByUsername(ctx, "tech.director")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	entries := []dimos.AuditEntry{
		{At: day.Add(8 * time.Hour), EmployeeID: clerk.ID, Action: "signin", Target: "tech.clerk1", IP: "10.0.0.1"},
		{At: day.Add(9 * time.Hour), EmployeeID: clerk.ID, Action: "case.comment", Target: "2026-000001"},
		{At: day.Add(10 * time.Hour), EmployeeID: director.ID, Action: "case.assign", Target: "2026-000001"},
		{At: day.Add(34 * time.Hour), EmployeeID: director.ID, Action: "case.assign", Target: "2026-000002"},
		{At: day.Add(35 * time.Hour), Action: "signin.failed", Target: "nobody", IP: "203.0.113.9"},
		{At: day.Add(36 * time.Hour), EmployeeID: clerk.ID, Action: "case_x", Target: "2026-000001"},
	}
	for _, e := range entries {
		if err := db.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	actions := func(rs []dimos.AuditRecord) string {
		s := ""
		for i, r := range rs {
			if i > 0 {
				s += " "
			}
			s += r.Action + "@" + r.Target
		}
		return s
	}
	for _, tc := range []struct {
		name string
		f    dimos.AuditFilter
		want string
	}{
		{"All", dimos.AuditFilter{Limit: 10},
			"case_x@2026-000001 signin.failed@nobody case.assign@2026-000002 case.assign@2026-000001 case.comment@2026-000001 signin@tech.clerk1"},
		{"Username", dimos.AuditFilter{Username: "TECH.DIRECTOR", Limit: 10}, "case.assign@2026-000002 case.assign@2026-000001"},
		{"UnknownUsername", dimos.AuditFilter{Username: "nobody", Limit: 10}, ""},
		// "case." must not match case_x: the prefix's _ is no wildcard, nor its dot.
		{"ActionPrefixLiteral", dimos.AuditFilter{ActionPrefix: "case.", Limit: 10},
			"case.assign@2026-000002 case.assign@2026-000001 case.comment@2026-000001"},
		{"ActionPrefixUnderscore", dimos.AuditFilter{ActionPrefix: "case_", Limit: 10}, "case_x@2026-000001"},
		{"Target", dimos.AuditFilter{Target: "2026-000001", ActionPrefix: "case.", Limit: 10},
			"case.assign@2026-000001 case.comment@2026-000001"},
		{"FromTo", dimos.AuditFilter{From: day.Add(9 * time.Hour), To: day.Add(34 * time.Hour), Limit: 10},
			"case.assign@2026-000001 case.comment@2026-000001"},
		{"Limit", dimos.AuditFilter{Limit: 2}, "case_x@2026-000001 signin.failed@nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.AuditSearch(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if actions(got) != tc.want {
				t.Errorf("got  %s\nwant %s", actions(got), tc.want)
			}
		})
	}
	t.Run("KeysetAndNames", func(t *testing.T) {
		first, err := db.AuditSearch(ctx, dimos.AuditFilter{Limit: 4})
		if err != nil || len(first) != 4 {
			t.Fatalf("%+v %v", first, err)
		}
		if r := first[1]; r.EmployeeID != 0 || r.EmployeeName != "" || r.IP != "203.0.113.9" {
			t.Errorf("failed sign-in of an unknown user: %+v", r)
		}
		if r := first[2]; r.Username != "tech.director" || r.EmployeeName != director.FullName || !r.At.Equal(entries[3].At) {
			t.Errorf("director's entry: %+v", r)
		}
		rest, err := db.AuditSearch(ctx, dimos.AuditFilter{BeforeID: first[3].ID, Limit: 4})
		if err != nil || actions(rest) != "case.comment@2026-000001 signin@tech.clerk1" {
			t.Fatalf("older than %d: %s %v", first[3].ID, actions(rest), err)
		}
	})
	t.Run("Indexes", func(t *testing.T) {
		for _, idx := range []string{"audit_log_employee_idx", "audit_log_action_idx", "audit_log_target_idx"} {
			var n int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname = $1`, idx).Scan(&n); err != nil || n != 1 {
				t.Errorf("index %s: %d %v", idx, n, err)
			}
		}
	})
}

// TestOpenTurnsJITOff: every connection runs without JIT compilation unless the URL
// asks for it (see Open).
func TestOpenTurnsJITOff(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewURL(t)
	for _, c := range []struct{ url, want string }{{dsn, "off"}, {dsn + "&jit=on", "on"}} {
		db, err := postgres.Open(ctx, c.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		var jit string
		err = db.Pool.QueryRow(ctx, `SHOW jit`).Scan(&jit)
		db.Close()
		if err != nil || jit != c.want {
			t.Errorf("%s: jit %q, %v; want %q", c.url, jit, err, c.want)
		}
	}
}
