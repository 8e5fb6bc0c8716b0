package intake

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"dimos"
)

// StarterStore is the part of the case store the Starter needs.
type StarterStore interface {
	// CasesAwaitingWorkflow lists cases whose workflow has not been started yet,
	// oldest first, after the case after when it is set.
	CasesAwaitingWorkflow(ctx context.Context, after *dimos.Case, limit int) ([]*dimos.Case, error)
	// MarkWorkflowsStarted records that the workflows of these cases exist.
	MarkWorkflowsStarted(ctx context.Context, caseIDs []int64, at time.Time) error
}

// Starter starts the workflows of accepted cases. The intake API stores a case and
// answers at once; the Starter then starts its workflow. When Temporal cannot be
// reached, nothing is lost: the case stays marked as awaiting its workflow, and the
// Starter's sweep tries again until Temporal is back. A crash between storing and
// starting is covered the same way, by the sweep after restart.
//
// A start is a round trip to Temporal that mostly waits, so the Starter runs many at
// once, and it marks the cases it started together, one statement for as many as
// finished meanwhile, rather than one statement each.
type Starter struct {
	Cases StarterStore
	// Start starts one case's workflow; starting one that exists must succeed.
	Start    func(ctx context.Context, c *dimos.Case) error
	Interval time.Duration // between sweeps; default 5 s
	Timeout  time.Duration // for one start; default 10 s
	// Workers is how many starts run at once: of kicked cases, and within each sweep.
	// Default DefaultStarterWorkers.
	Workers int
	// Queue is how many kicked cases wait for a worker. A kick that finds it full
	// leaves its case to a sweep, which runs as soon as the queue has drained rather
	// than at the next interval. Default DefaultStarterQueue.
	Queue int
	Now   func() time.Time
	Log   *slog.Logger

	kick    chan *dimos.Case
	started chan int64 // kicked cases started, waiting to be marked

	// behind is set when a kick found the queue full; the worker that empties the
	// queue then sends on catchUp, and Run sweeps for the cases left over. Waiting for
	// the interval instead held a burst's last cases back for up to its 5 s: at 2,000
	// submissions, a fifth of the time until every workflow had started.
	behind  *atomic.Bool
	catchUp chan struct{}

	// busy holds the cases queued or being started, which a sweep leaves alone so
	// that a burst of submissions is not started twice.
	busy *caseSet
}

type caseSet struct {
	mu  sync.Mutex
	ids map[int64]bool
}

// DefaultStarterWorkers matches the clients a busy portal has at once: with fewer,
// starts queue up behind each other while each waits for Temporal.
const DefaultStarterWorkers = 32

// DefaultStarterQueue is how many kicked cases wait for a worker by default: a few
// seconds of a busy portal's submissions, a few hundred kilobytes.
const DefaultStarterQueue = 1024

// sweepBatch is how many waiting cases a sweep reads at a time.
const sweepBatch = 100

// maxMarkBatch bounds the ids marked by one statement.
const maxMarkBatch = 500

// NewStarter fills the defaults.
func NewStarter(s Starter) *Starter {
	if s.Interval <= 0 {
		s.Interval = 5 * time.Second
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.Workers <= 0 {
		s.Workers = DefaultStarterWorkers
	}
	if s.Queue <= 0 {
		s.Queue = DefaultStarterQueue
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.kick = make(chan *dimos.Case, s.Queue)
	s.behind, s.catchUp = new(atomic.Bool), make(chan struct{}, 1)
	s.started = make(chan int64, maxMarkBatch)
	s.busy = &caseSet{ids: map[int64]bool{}}
	return &s
}

// Kick asks for c's workflow to be started soon. It never blocks: when the queue is
// full, a sweep finds the case once the queue has drained.
func (s *Starter) Kick(c *dimos.Case) {
	if !s.claim(c.ID) {
		return // already on its way
	}
	select {
	case s.kick <- c:
	default:
		s.release(c.ID)
		s.behind.Store(true)
	}
}

// took is called by a worker that took a case from the queue: if the queue is empty
// now and a kick found it full, every case left over waits behind those the workers
// hold, and a sweep finds them.
func (s *Starter) took() {
	if len(s.kick) == 0 && s.behind.Swap(false) {
		select {
		case s.catchUp <- struct{}{}:
		default: // a sweep is asked for already
		}
	}
}

// claim marks a case as queued or being started; false if it already is.
func (s *Starter) claim(id int64) bool {
	s.busy.mu.Lock()
	defer s.busy.mu.Unlock()
	if s.busy.ids[id] {
		return false
	}
	s.busy.ids[id] = true
	return true
}

func (s *Starter) release(ids ...int64) {
	s.busy.mu.Lock()
	defer s.busy.mu.Unlock()
	for _, id := range ids {
		delete(s.busy.ids, id)
	}
}

// Run starts kicked cases and sweeps for forgotten ones until ctx ends.
func (s *Starter) Run(ctx context.Context) {
	go s.markStarted(ctx)
	for range s.Workers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case c := <-s.kick:
					s.took()
					if !s.startOne(ctx, c) {
						s.release(c.ID) // the sweep will try again
						continue
					}
					select {
					case s.started <- c.ID:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.catchUp:
		}
	}
}

// markStarted marks kicked cases as started: each statement takes every id that
// arrived while the one before ran, so the statements per case fall as load rises and
// a lone case is marked at once.
func (s *Starter) markStarted(ctx context.Context) {
	for {
		var ids []int64
		select {
		case <-ctx.Done():
			return
		case id := <-s.started:
			ids = append(ids, id)
		}
	more:
		for len(ids) < maxMarkBatch {
			select {
			case id := <-s.started:
				ids = append(ids, id)
			default:
				break more
			}
		}
		s.mark(ctx, ids)
	}
}

// mark records that the workflows of ids exist. On failure the workflows run all the
// same; the next sweep starts them again, which is harmless, and marks them then.
func (s *Starter) mark(ctx context.Context, ids []int64) {
	defer s.release(ids...)
	if len(ids) == 0 {
		return
	}
	if err := s.Cases.MarkWorkflowsStarted(ctx, ids, s.Now()); err != nil {
		s.Log.Warn("mark case workflows started", "cases", len(ids), "err", err)
	}
}

// Sweep starts the workflows of every case still waiting for one, taken oldest first,
// up to Workers at a time, leaving alone those the kicked workers hold. After the
// first failure it starts no more: Temporal is likely down, and the next sweep will
// retry.
//
// It pages through the waiting cases rather than reading the oldest again: the oldest
// can all be held by the kicked workers (queued, being started, or started and not
// yet marked), and a sweep that stopped at them would leave the cases behind them,
// those a full queue turned away, to the next interval.
func (s *Starter) Sweep(ctx context.Context) {
	var after *dimos.Case
	for ctx.Err() == nil {
		cases, err := s.Cases.CasesAwaitingWorkflow(ctx, after, sweepBatch)
		if err != nil {
			s.Log.Warn("list cases awaiting their workflow", "err", err)
			return
		}
		var todo []*dimos.Case
		for _, c := range cases {
			if s.claim(c.ID) {
				todo = append(todo, c)
			}
		}
		if !s.startAll(ctx, todo) || len(cases) < sweepBatch {
			return
		}
		after = cases[len(cases)-1]
	}
}

// startAll starts cases in order, up to Workers at once, and marks those started in
// one statement. It reports whether every start succeeded.
func (s *Starter) startAll(ctx context.Context, cases []*dimos.Case) bool {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		started []int64
		failed  atomic.Bool
		slots   = make(chan struct{}, s.Workers)
	)
	for _, c := range cases {
		slots <- struct{}{}
		if failed.Load() || ctx.Err() != nil {
			<-slots
			s.release(c.ID)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if !s.startOne(ctx, c) {
				failed.Store(true)
				s.release(c.ID)
				return
			}
			mu.Lock()
			started = append(started, c.ID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	s.mark(ctx, started)
	return !failed.Load()
}

func (s *Starter) startOne(ctx context.Context, c *dimos.Case) bool {
	sctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	if err := s.Start(sctx, c); err != nil {
		if ctx.Err() == nil {
			s.Log.Warn("start case workflow; will retry", "case", c.Number, "err", err)
		}
		return false
	}
	return true
}
