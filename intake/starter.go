package intake

import (
	"context"
	"log/slog"
	"time"

	"dimos"
)

// Starter starts the workflows of accepted cases. The intake API stores a case and
// answers at once; the Starter then starts its workflow. When Temporal cannot be
// reached, nothing is lost: the case stays marked as awaiting its workflow, and the
// Starter's sweep tries again until Temporal is back. A crash between storing and
// starting is covered the same way, by the sweep after restart.
type Starter struct {
	Cases dimos.CaseStore
	// Start starts one case's workflow; starting one that exists must succeed.
	Start    func(ctx context.Context, c *dimos.Case) error
	Interval time.Duration // between sweeps; default 5 s
	Timeout  time.Duration // for one start; default 10 s
	Workers  int           // concurrent starts of kicked cases; default 8
	Now      func() time.Time
	Log      *slog.Logger

	kick chan *dimos.Case
}

// NewStarter fills the defaults.
func NewStarter(s Starter) *Starter {
	if s.Interval <= 0 {
		s.Interval = 5 * time.Second
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.Workers <= 0 {
		s.Workers = 8
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.kick = make(chan *dimos.Case, 1024)
	return &s
}

// Kick asks for c's workflow to be started soon. It never blocks: when the queue is
// full the sweep will find the case.
func (s *Starter) Kick(c *dimos.Case) {
	select {
	case s.kick <- c:
	default:
	}
}

// Run starts kicked cases and sweeps for forgotten ones until ctx ends.
func (s *Starter) Run(ctx context.Context) {
	for range s.Workers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case c := <-s.kick:
					s.startOne(ctx, c)
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
		}
	}
}

// Sweep starts the workflows of every case still waiting for one, oldest first. It
// stops at the first failure: Temporal is likely down, and the next sweep will retry.
func (s *Starter) Sweep(ctx context.Context) {
	for ctx.Err() == nil {
		cases, err := s.Cases.CasesAwaitingWorkflow(ctx, 100)
		if err != nil {
			s.Log.Warn("list cases awaiting their workflow", "err", err)
			return
		}
		for _, c := range cases {
			if !s.startOne(ctx, c) {
				return
			}
		}
		if len(cases) < 100 {
			return
		}
	}
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
	if err := s.Cases.MarkWorkflowStarted(ctx, c.ID, s.Now()); err != nil {
		// The workflow runs; the next sweep starts it again, which is harmless.
		s.Log.Warn("mark case workflow started", "case", c.Number, "err", err)
	}
	return true
}
