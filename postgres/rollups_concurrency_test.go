package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"dimos"
)

// TestRollupWritersDoNotDeadlock runs submissions and transitions at once, all of one
// day, category, channel and kind, so that they share rollup rows, daily and weekly:
// each submission counts under nobody, and each routing moves that count from one
// holder to another, half of the clients from TECH to CLEAN and back, the other half
// the other way round. Writers that took those rows in different orders deadlocked
// here (SQLSTATE 40P01), as BenchmarkIntake's submissions and transitions did; in one
// global order they only wait. The rollups must still be what a rebuild makes.
func TestRollupWritersDoNotDeadlock(t *testing.T) {
	t.Run("SubmissionsAndTransitions", func(t *testing.T) { testRollupWriters(t, false, false) })
	// Submissions of both categories, every channel and kind and three days at once,
	// which are written in groups that take many rows (submitGroups), beside the
	// transitions that move their counts.
	t.Run("MixedRows", func(t *testing.T) { testRollupWriters(t, false, true) })
	// With the category's statutory limit changed back and forth meanwhile, which
	// moves its open cases between overdue days (retargetOpenCounts). A rebuild would
	// judge the closed cases by the last limit, not the one they closed under: only
	// the open counts are compared.
	t.Run("AndNewLimits", func(t *testing.T) { testRollupWriters(t, true, false) })
}

func testRollupWriters(t *testing.T, retarget, mixed bool) {
	ctx := context.Background()
	fx := newFixture(t)
	day := athensAt(24, 9, 0)
	before := rollupSnapshot(t, fx.db)
	if err := fx.db.RebuildRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if after := rollupSnapshot(t, fx.db); after != before {
		t.Fatal("the fixture's rollups are not a rebuild's to begin with")
	}

	const clients, casesEach = 16, 12
	var wg sync.WaitGroup
	errs := make(chan error, clients+1)
	if retarget {
		wg.Go(func() {
			for i := range 10 {
				if _, err := fx.db.SetCategoryTargets(ctx, "bins", dimos.Targets{CompletionDays: 1, StatutoryDays: float64(3 + i%2)}); err != nil {
					errs <- fmt.Errorf("new limit: %w", err)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	for g := range clients {
		wg.Go(func() {
			holders := [][2]int64{{fx.tech, fx.dimitra}, {fx.clean, fx.nikos}}
			if g%2 == 1 {
				holders[0], holders[1] = holders[1], holders[0]
			}
			for i := range casesEach {
				c := newCase("bins")
				c.SubmittedAt = day.Add(time.Duration(g*casesEach+i) * time.Second)
				if mixed {
					c.CategoryCode = []string{"bins", "roads"}[i%2]
					c.Channel = []dimos.Channel{dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelOpen311, dimos.ChannelDesk}[g%4]
					c.Kind = []dimos.Kind{dimos.KindComplaint, dimos.KindRequest, dimos.KindSuggestion}[i%3]
					c.SubmittedAt = c.SubmittedAt.AddDate(0, 0, g%3-1)
				}
				if err := fx.db.SubmitCase(ctx, c); err != nil {
					errs <- fmt.Errorf("client %d submit: %w", g, err)
					return
				}
				at := c.SubmittedAt
				steps := []dimos.Transition{
					{Stage: dimos.StageRouted, ServiceID: holders[0][0], EmployeeID: holders[0][1]},
					{Stage: dimos.StageRouted, ServiceID: holders[1][0], EmployeeID: holders[1][1]},
					{Stage: dimos.StageRouted, ServiceID: holders[0][0], EmployeeID: holders[0][1]},
					{Stage: dimos.StageCompleted},
				}
				for j, tr := range steps {
					at = at.Add(time.Hour)
					tr.CaseID, tr.Seq, tr.At, tr.Event = c.ID, j+2, at, dimos.CaseEvent{Type: string(tr.Stage)}
					if err := fx.db.RecordTransition(ctx, tr); err != nil {
						errs <- fmt.Errorf("client %d transition %d: %w", g, j+2, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "40P01" {
			t.Errorf("deadlock: %v", err)
		} else {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	// The inbox's counts, written in the same transactions after report_open.
	if drift, err := fx.db.InboxCountsDrift(ctx); err != nil || len(drift) > 0 {
		t.Fatalf("inbox_counts after concurrent writers: %v %v", drift, err)
	}
	snapshot := rollupSnapshot
	if retarget {
		snapshot = openSnapshot
	}
	incremental := snapshot(t, fx.db)
	if err := fx.db.RebuildRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if rebuilt := snapshot(t, fx.db); rebuilt != incremental {
		t.Fatalf("concurrent incremental rollups and a rebuild differ:\n%s", firstDiff(incremental, rebuilt))
	}
}
