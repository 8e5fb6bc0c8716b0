package intake_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dimos"
	"dimos/intake"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

// markCounter is the store with a count of the statements that mark workflows started.
type markCounter struct {
	*postgres.DB
	mu     sync.Mutex
	calls  int
	marked int
	// before, if set, runs before each marking statement.
	before func()
}

func (m *markCounter) MarkWorkflowsStarted(ctx context.Context, ids []int64, at time.Time) error {
	if m.before != nil {
		m.before()
	}
	m.mu.Lock()
	m.calls++
	m.marked += len(ids)
	m.mu.Unlock()
	return m.DB.MarkWorkflowsStarted(ctx, ids, at)
}

func submitCases(t *testing.T, db *postgres.DB, n int) []*dimos.Case {
	t.Helper()
	var cases []*dimos.Case
	for range n {
		c := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal, Subject: "s", Text: "t", Anonymous: true}
		if err := db.SubmitCase(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func awaiting(t *testing.T, db *postgres.DB) int {
	t.Helper()
	waiting, err := db.CasesAwaitingWorkflow(context.Background(), nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(waiting)
}

// TestStarterKickedCases: kicked cases are started Workers at a time, a sweep meanwhile
// leaves them alone, and the cases started together are marked together.
func TestStarterKickedCases(t *testing.T) {
	const n, workers = 40, 16
	db := pgtest.New(t, true)
	cases := submitCases(t, db, n)
	var (
		mu               sync.Mutex
		starts           = map[int64]int{}
		running, maxRun  int
		returned         int
		gate             = make(chan struct{})
		allReturned      = make(chan struct{})
		firstMarkWaiting sync.Once
	)
	store := &markCounter{DB: db}
	// The first marking waits until every start has returned, so that the ids of
	// the others are all waiting by the time it ends.
	store.before = func() { firstMarkWaiting.Do(func() { <-allReturned }) }
	s := intake.NewStarter(intake.Starter{Cases: store, Workers: workers, Interval: time.Hour,
		Start: func(ctx context.Context, c *dimos.Case) error {
			mu.Lock()
			starts[c.ID]++
			running++
			maxRun = max(maxRun, running)
			mu.Unlock()
			<-gate
			mu.Lock()
			defer mu.Unlock()
			running--
			if returned++; returned == n {
				close(allReturned)
			}
			return nil
		}})
	for _, c := range cases {
		s.Kick(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, "the workers to be busy", func() bool { mu.Lock(); defer mu.Unlock(); return running == workers })
	s.Sweep(ctx) // every waiting case is queued or being started already
	close(gate)
	waitFor(t, "every case to be marked", func() bool { return awaiting(t, db) == 0 })

	mu.Lock()
	defer mu.Unlock()
	if maxRun != workers {
		t.Errorf("%d starts ran at once, want %d", maxRun, workers)
	}
	for _, c := range cases {
		if starts[c.ID] != 1 {
			t.Errorf("case %s started %d times, want once", c.Number, starts[c.ID])
		}
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.marked != n || store.calls > n/2 {
		t.Errorf("%d cases marked in %d statements, want %d in at most %d", store.marked, store.calls, n, n/2)
	}
}

// TestStarterKickedWhileTemporalDown: a case kicked while Temporal is down stays
// waiting, and the sweep starts it once Temporal is back.
func TestStarterKickedWhileTemporalDown(t *testing.T) {
	db := pgtest.New(t, true)
	c := submitCases(t, db, 1)[0]
	var mu sync.Mutex
	up, attempts, started := false, 0, 0
	s := intake.NewStarter(intake.Starter{Cases: db, Interval: 20 * time.Millisecond,
		Start: func(context.Context, *dimos.Case) error {
			mu.Lock()
			defer mu.Unlock()
			attempts++
			if !up {
				return errors.New("temporal unreachable")
			}
			started++
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	s.Kick(c)
	waitFor(t, "the kick and a sweep to fail", func() bool { mu.Lock(); defer mu.Unlock(); return attempts >= 3 })
	if awaiting(t, db) != 1 {
		t.Fatal("the case no longer waits for its workflow although none started")
	}
	mu.Lock()
	up = true
	mu.Unlock()
	waitFor(t, "the sweep to start the case", func() bool { return awaiting(t, db) == 0 })
	mu.Lock()
	defer mu.Unlock()
	if started != 1 {
		t.Fatalf("started %d times, want once", started)
	}
}

// listCounter is the store with a count of the sweeps' listings that have returned.
type listCounter struct {
	*postgres.DB
	listed atomic.Int32
}

func (l *listCounter) CasesAwaitingWorkflow(ctx context.Context, after *dimos.Case, limit int) ([]*dimos.Case, error) {
	defer l.listed.Add(1)
	return l.DB.CasesAwaitingWorkflow(ctx, after, limit)
}

// TestStarterCatchesUpAfterOverflow: the cases of a burst larger than the queue are
// started as soon as the queue has drained, not at the next interval's sweep.
func TestStarterCatchesUpAfterOverflow(t *testing.T) {
	const n = 12
	db := pgtest.New(t, true)
	store := &listCounter{DB: db}
	var (
		mu     sync.Mutex
		starts = map[int64]int{}
		gate   = make(chan struct{})
	)
	s := intake.NewStarter(intake.Starter{Cases: store, Workers: 2, Queue: 2, Interval: time.Hour,
		Start: func(ctx context.Context, c *dimos.Case) error {
			<-gate
			mu.Lock()
			defer mu.Unlock()
			starts[c.ID]++
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	// The sweep Run begins with finds nothing; the next is an hour away.
	waitFor(t, "the first sweep", func() bool { return store.listed.Load() == 1 })
	cases := submitCases(t, db, n)
	for _, c := range cases {
		s.Kick(c) // two starting, two queued at most: the rest left over
	}
	close(gate)
	waitFor(t, "every case to be marked", func() bool { return awaiting(t, db) == 0 })
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cases {
		if starts[c.ID] != 1 {
			t.Errorf("case %s started %d times, want once", c.Number, starts[c.ID])
		}
	}
}

// TestSweepPagesPastHeldCases: a sweep that finds the oldest waiting cases all held by
// the kicked workers goes on to the cases behind them, rather than leaving those to
// the next interval.
func TestSweepPagesPastHeldCases(t *testing.T) {
	const held, behind = 250, 30 // held is more than a sweep reads at a time
	db := pgtest.New(t, true)
	cases := submitCases(t, db, held+behind)
	var (
		mu     sync.Mutex
		starts = map[int64]int{}
	)
	s := intake.NewStarter(intake.Starter{Cases: db, Queue: held, Interval: time.Hour,
		Start: func(ctx context.Context, c *dimos.Case) error {
			mu.Lock()
			defer mu.Unlock()
			starts[c.ID]++
			return nil
		}})
	// Run is not called, so the kicked cases stay queued: held by the workers, as
	// they are while a burst is being started.
	for _, c := range cases[:held] {
		s.Kick(c)
	}
	s.Sweep(context.Background())
	mu.Lock()
	defer mu.Unlock()
	for i, c := range cases {
		want := 0
		if i >= held {
			want = 1
		}
		if starts[c.ID] != want {
			t.Errorf("case %d of %d (%s) started %d times by the sweep, want %d", i+1, len(cases), c.Number, starts[c.ID], want)
		}
	}
	if n := awaiting(t, db); n != held {
		t.Errorf("%d cases wait for their workflow after the sweep, want the %d held", n, held)
	}
}
