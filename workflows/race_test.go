package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"dimos"
	"dimos/activities"
	"dimos/temporalserver"
	"dimos/workflows"
)

// slowWrites stands in for the database activities on a real Temporal server. The
// write of the routed stage is stored at once and then held until released: the
// database shows the case routed while the workflow has not yet heard so, as when a
// worker is slow or killed between the write and its answer.
type slowWrites struct {
	mu          sync.Mutex
	transitions []dimos.Transition
	routed      chan struct{} // closed once the routed stage is stored
	release     chan struct{} // closed by the test to let the write answer
	once        sync.Once
}

func (s *slowWrites) stages() []dimos.Stage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dimos.Stage
	for _, t := range s.transitions {
		out = append(out, t.Stage)
	}
	return out
}

func (s *slowWrites) RecordTransition(ctx context.Context, t dimos.Transition) error {
	s.mu.Lock()
	if n := len(s.transitions); n == 0 || s.transitions[n-1].Seq != t.Seq {
		s.transitions = append(s.transitions, t)
	}
	s.mu.Unlock()
	if t.Stage != dimos.StageRouted {
		return nil
	}
	s.once.Do(func() { close(s.routed) })
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slowWrites) RouteCase(context.Context, activities.RouteInput) (dimos.Routing, error) {
	return route, nil
}

func (s *slowWrites) CheckAssignee(_ context.Context, in activities.AssigneeInput) (dimos.Employee, error) {
	return dimos.Employee{ID: in.EmployeeID, ServiceID: in.ServiceID, Role: dimos.RoleClerk, Active: true}, nil
}

func (s *slowWrites) Notify(context.Context, activities.NotifyInput) error { return nil }

func (s *slowWrites) ApplyChange(context.Context, dimos.CaseChange) error { return nil }

// TestAssignWhileRoutingIsWritten: the console offers "assign" as soon as PostgreSQL
// says the case is routed. An assignment sent in the moment between the routed stage
// being stored and the workflow taking in that answer must be accepted and take
// effect once routing has, not be refused as "not routed yet".
func TestAssignWhileRoutingIsWritten(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := temporalserver.Start(ctx, temporalserver.Options{Memory: true, UIPort: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop() //nolint:errcheck
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddr(), Namespace: srv.Namespace(),
		Logger: sdklog.NewStructuredLogger(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	s := &slowWrites{routed: make(chan struct{}), release: make(chan struct{})}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.CaseWorkflow)
	for name, fn := range map[string]any{"RecordTransition": s.RecordTransition, "RouteCase": s.RouteCase,
		"CheckAssignee": s.CheckAssignee, "Notify": s.Notify, "ApplyChange": s.ApplyChange} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := input
	in.SubmittedAt = time.Now() // the clocks have nothing to say during the test
	id := fmt.Sprintf("race-%d", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue,
		// A workflow task waiting on a local activity is renewed at 80% of this, and
		// only then does the update reach the workflow.
		WorkflowTaskTimeout: 2 * time.Second}, workflows.CaseWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	defer c.TerminateWorkflow(ctx, id, "", "test over") //nolint:errcheck

	select {
	case <-s.routed:
	case <-time.After(time.Minute):
		t.Fatal("the routed stage was never written")
	}
	uctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	update := func(by dimos.Actor) (client.WorkflowUpdateHandle, error) {
		return c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{WorkflowID: id, RunID: run.GetRunID(),
			UpdateName: workflows.UpdateAssign, Args: []any{workflows.AssignRequest{By: by, EmployeeID: clerk.EmployeeID}},
			WaitForStage: client.WorkflowUpdateStageAccepted})
	}

	t.Run("ErrNotHolder", func(t *testing.T) {
		// What routing will allow is still all it allows: another service's director
		// is refused at once.
		other := dimos.Actor{EmployeeID: 40, Role: dimos.RoleDirector, ServiceID: 4}
		h, err := update(other)
		if err == nil {
			err = h.Get(uctx, nil)
		}
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != dimos.EFORBIDDEN {
			t.Fatalf("another service's director: %v, want refused with %s", err, dimos.EFORBIDDEN)
		}
	})

	h, err := update(director)
	if err != nil {
		t.Fatal(err)
	}
	// Accepted and waiting for routing to be taken in, not refused: no outcome yet.
	wait, stop := context.WithTimeout(uctx, time.Second)
	err = h.Get(wait, nil)
	stop()
	var appErr *temporal.ApplicationError
	if err == nil || errors.As(err, &appErr) || wait.Err() == nil {
		t.Fatalf("assign sent while routing was being written: %v, want it accepted and waiting", err)
	}
	if got := s.stages(); len(got) != 1 || got[0] != dimos.StageRouted {
		t.Fatalf("the assignment did not wait for routing: transitions %v", got)
	}
	close(s.release)
	var done workflows.Done
	if err := h.Get(uctx, &done); err != nil {
		t.Fatalf("assign: %v", err)
	}
	if got := s.stages(); len(got) != 2 || got[1] != dimos.StageAssigned {
		t.Fatalf("transitions %v, want routed then assigned", got)
	}
	v, err := c.QueryWorkflow(ctx, id, run.GetRunID(), workflows.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.CaseState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.Stage != dimos.StageAssigned || st.AssigneeID != clerk.EmployeeID || st.ServiceID != route.ServiceID {
		t.Fatalf("state %+v, want assigned to %d in service %d", st, clerk.EmployeeID, route.ServiceID)
	}
}
