package temporalserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dimos/temporalserver"
)

const taskQueue = "temporalserver-test"

// Greet is the trivial workflow the tests run.
func Greet(ctx workflow.Context, name string) (string, error) {
	return "Καλημέρα, " + name, nil
}

// serverLogger sends the server's warnings to stderr (not t.Log: the server's
// goroutines may log after the test has returned).
func serverLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startPicking starts a server on ports it picks itself, and sets o's ports to them
// for a restart on the same ones. Ports picked by the test and then handed to Start
// could be taken in between (make test failed once so, "bind: address already in
// use"); Start tries again with new ports when that happens to the ones it picked.
func startPicking(t *testing.T, o *temporalserver.Options) *temporalserver.Server {
	t.Helper()
	o.Port = 0
	if o.UIPort != -1 {
		o.UIPort = 0
	}
	s := start(t, *o)
	_, port, err := net.SplitHostPort(s.FrontendAddr())
	if err == nil {
		o.Port, err = strconv.Atoi(port)
	}
	if err == nil && s.UIURL() != "" {
		var u *url.URL
		if u, err = url.Parse(s.UIURL()); err == nil {
			o.UIPort, err = strconv.Atoi(u.Port())
		}
	}
	if err != nil {
		stop(t, s)
		t.Fatalf("the server's ports: %v", err)
	}
	return s
}

func start(t *testing.T, o temporalserver.Options) *temporalserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	s, err := temporalserver.Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("started in %v: frontend %s, UI %q", time.Since(begin).Round(time.Millisecond), s.FrontendAddr(), s.UIURL())
	return s
}

func stop(t *testing.T, s *temporalserver.Server) {
	t.Helper()
	begin := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(begin).Round(time.Millisecond))
}

func dial(t *testing.T, s *temporalserver.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddr(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

// runGreet runs Greet to completion on a worker of its own and returns the
// run's execution.
func runGreet(t *testing.T, c client.Client, id string) (workflowID, runID string) {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(Greet)
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, Greet, "Αθηνά")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if got != "Καλημέρα, Αθηνά" {
		t.Fatalf("workflow result %q", got)
	}
	return run.GetID(), run.GetRunID()
}

func assertCompleted(t *testing.T, c client.Client, workflowID, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("status %v, want COMPLETED", st)
	}
	var events int
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var last enumspb.EventType
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		events++
		last = ev.GetEventType()
	}
	if events < 2 || last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("history: %d events, last %v", events, last)
	}
}

func assertUI(t *testing.T, s *temporalserver.Server) {
	t.Helper()
	if s.UIURL() == "" {
		t.Fatal("no UI URL")
	}
	resp, err := http.Get(s.UIURL() + "/")
	if err != nil {
		t.Fatalf("UI: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Fatalf("UI: %s, %d bytes", resp.Status, len(body))
	}
	// The UI's API proxy reaches the frontend.
	resp, err = http.Get(s.UIURL() + "/api/v1/namespaces/" + s.Namespace())
	if err != nil {
		t.Fatalf("UI API: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), s.Namespace()) {
		t.Fatalf("UI API: %s: %.200s", resp.Status, body)
	}
}

// TestRestartSamePortKeepsHistory is what the end-to-end tests rely on: a
// server stopped and started again on the same port and DataDir, in the same
// process, serves the workflows of before and runs new ones.
func TestRestartSamePortKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	o := temporalserver.Options{DataDir: dir, Namespace: "dimos-test", Logger: serverLogger()}

	s := startPicking(t, &o)
	if _, err := os.Stat(filepath.Join(dir, "temporal.sqlite")); err != nil {
		t.Fatalf("database file: %v", err)
	}
	assertUI(t, s)
	c := dial(t, s)
	wid, rid := runGreet(t, c, "greet-before-restart")
	assertCompleted(t, c, wid, rid)
	c.Close()
	addr, ui := s.FrontendAddr(), s.UIURL()
	stop(t, s)
	if err := s.Stop(); err != nil { // idempotent
		t.Fatalf("second Stop: %v", err)
	}

	s = start(t, o)
	defer stop(t, s)
	if s.FrontendAddr() != addr || s.UIURL() != ui {
		t.Fatalf("addresses changed: %s %s -> %s %s", addr, ui, s.FrontendAddr(), s.UIURL())
	}
	c = dial(t, s)
	defer c.Close()
	assertCompleted(t, c, wid, rid)
	wid2, rid2 := runGreet(t, c, "greet-after-restart")
	assertCompleted(t, c, wid2, rid2)
	assertUI(t, s)
}

// TestMemory: an in-memory server works, and forgets everything on Stop.
func TestMemory(t *testing.T) {
	o := temporalserver.Options{Memory: true, UIPort: -1, Logger: serverLogger()}
	s := startPicking(t, &o)
	if s.UIURL() != "" || s.Namespace() != "default" {
		t.Fatalf("UIURL %q, Namespace %q", s.UIURL(), s.Namespace())
	}
	c := dial(t, s)
	wid, rid := runGreet(t, c, "greet-memory")
	assertCompleted(t, c, wid, rid)
	c.Close()
	stop(t, s)

	s = start(t, o)
	defer stop(t, s)
	c = dial(t, s)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.DescribeWorkflowExecution(ctx, wid, rid)
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		t.Fatalf("after restart in memory: got %v, want NotFound", err)
	}
}

// TestPortInUse: a busy frontend port is an error, not a process exit.
func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = temporalserver.Start(context.Background(), temporalserver.Options{
		Memory: true, Port: l.Addr().(*net.TCPAddr).Port, UIPort: -1,
	})
	if err == nil {
		t.Fatal("Start on a busy port succeeded")
	}
}

// TestPickedPortTakenMeanwhile: a port picked free that something else takes before
// the server binds it (here the history service's, held by the test) costs a second
// try with new ports, not a failed start.
func TestPickedPortTakenMeanwhile(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	picks := 0
	defer temporalserver.SetPickPorts(func(host string, n int) ([]int, error) {
		picks++
		ports, err := temporalserver.FreePorts(host, n)
		if err == nil && picks == 1 {
			ports[1] = taken // the history service's gRPC port
		}
		return ports, err
	})()
	s := start(t, temporalserver.Options{Memory: true, UIPort: -1, Logger: serverLogger()})
	defer stop(t, s)
	if picks != 2 {
		t.Fatalf("ports picked %d times, want 2 (the first start failing on the taken port)", picks)
	}
	c := dial(t, s)
	defer c.Close()
	wid, rid := runGreet(t, c, "greet-retried")
	assertCompleted(t, c, wid, rid)
}

// TestDataDirInUse: a second server on a DataDir in use is refused (it would
// cut the running one off from its own services, see clearMembership).
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	s := start(t, temporalserver.Options{DataDir: dir, UIPort: -1})
	defer stop(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s2, err := temporalserver.Start(ctx, temporalserver.Options{DataDir: dir, UIPort: -1})
	if err == nil {
		s2.Stop()
		t.Fatal("second Start on the same DataDir succeeded")
	}
	t.Logf("second Start: %v", err)
}

// TestClientSurvivesRestart is the application's view of the restart: a
// client and a worker dialled before Stop are kept through a short outage
// and work again, without redialling, once the server is back on its port.
func TestClientSurvivesRestart(t *testing.T) {
	o := temporalserver.Options{DataDir: t.TempDir(), UIPort: -1, Logger: serverLogger()}
	s := startPicking(t, &o)
	c := dial(t, s)
	defer c.Close()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(Greet)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	stop(t, s)
	time.Sleep(time.Second) // the worker's polls fail meanwhile

	s = start(t, o)
	defer stop(t, s)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "greet-same-client", TaskQueue: taskQueue}, Greet, "Νίκος")
	if err != nil {
		t.Fatalf("ExecuteWorkflow after restart: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow after restart: %v", err)
	}
	t.Logf("completed %q %v after the restart", got, time.Since(begin).Round(time.Millisecond))
}
