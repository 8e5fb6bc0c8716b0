// Package temporalserver runs a real Temporal server inside the current
// process, for the `dimos dev` command and for end-to-end tests.
//
// It is the same server that production runs (go.temporal.io/server), wired the
// way the Temporal CLI's `temporal server start-dev` wires it: all four
// services (frontend, history, matching, worker) in one process, persistence
// in SQLite (the pure-Go modernc driver, so no cgo), one history shard, and
// optionally the Temporal Web UI on its own port: github.com/temporalio/ui-server/v2
// v2.54.1, the UI server that Temporal CLI v1.9.1 (built on server v1.32.0)
// embeds; it adds about 10 s to a build.
//
// Unlike go.temporal.io/server/temporaltest, which keeps everything in memory
// and always binds random ports, this package can keep its state in a file
// (Options.DataDir) and bind a fixed frontend port, so that a stopped server
// can be started again on the same address with the same workflows: an
// end-to-end test stops Temporal while the application keeps taking cases in,
// then starts it again and checks that nothing was lost.
//
// Production does not use this package: there Temporal is a separate service
// persisting to PostgreSQL (see docker-compose.yml).
package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults applied by Start to zero Options fields, and fixed settings.
const (
	defaultHost      = "127.0.0.1"
	defaultNamespace = "default"
	// namespaceRetention is how long closed workflows are kept in a namespace
	// that Start registers. It only applies when the namespace is created, not
	// to a namespace already present in DataDir.
	namespaceRetention = 7 * 24 * time.Hour
	// dbFileName is the SQLite file inside Options.DataDir.
	dbFileName = "temporal.sqlite"
)

// clusterName is the name of the single, local cluster. It is stored in the
// namespace records, so it must not change between starts on one DataDir.
const clusterName = "active"

// dynamicConfig switches off the system workers of the server's worker
// service that its Stop never stops (the task queue and history scanners, and
// the parent-close-policy processor; v1.32 marks them "TODO: Nothing is
// gracefully stopping these workers"). Left on, they outlive Stop and, after a
// new Start on the same port, poll the new server and run activities with the
// old server's dead clients. Without them: the scanners only garbage-collect
// old task queues and orphaned history, which a dev database does not need,
// and history applies parent close policies to child workflows itself instead
// of handing large batches to the processor.
var dynamicConfig = dynamicconfig.StaticClient{
	dynamicconfig.TaskQueueScannerEnabled.Key():       false,
	dynamicconfig.HistoryScannerEnabled.Key():         false,
	dynamicconfig.BuildIdScavengerEnabled.Key():       false,
	dynamicconfig.EnableParentClosePolicyWorker.Key(): false,
}

// Options configures Start. The zero value is usable except that either
// DataDir or Memory must be set.
type Options struct {
	// DataDir holds the SQLite file DataDir/temporal.sqlite; the directory is
	// created if needed and the schema is applied when the file is new, so
	// workflows survive Stop and process restarts. Ignored when Memory is set.
	DataDir string
	// Memory keeps everything in an in-memory SQLite database: nothing
	// survives Stop (a later Start gets a fresh, empty database).
	Memory bool
	// Host is the IP address the frontend (and the UI) listen on; default
	// "127.0.0.1". "localhost" is taken as 127.0.0.1. "0.0.0.0" listens on all
	// interfaces (FrontendAddr then still reports 127.0.0.1). The internal
	// services always listen on 127.0.0.1 only.
	Host string
	// Port is the frontend gRPC port that clients dial; 0 picks a free port.
	// A fixed port lets a client reconnect after Stop and a new Start.
	Port int
	// UIPort is the Temporal Web UI port; 0 picks a free port; -1 runs no UI.
	UIPort int
	// Namespace is registered, with a retention of 7 days, before the server
	// starts, directly in the database as the Temporal CLI does; default
	// "default". Registering an existing namespace is a no-op.
	Namespace string
	// Logger receives the server's log records at WARN and above only: at INFO
	// Temporal logs many lines per second even when idle. nil discards all.
	Logger *slog.Logger
}

// Server is a running Temporal server started by Start.
type Server struct {
	srv       temporal.Server
	logger    *slogLogger
	unlock    func() // releases the DataDir lock; nil for Memory
	ui        *uiserver.Server
	uiDone    chan struct{}
	frontend  string
	uiURL     string
	namespace string

	stopOnce sync.Once
	stopErr  error
}

// FrontendAddr is the host:port of the frontend, for client.Options.HostPort.
func (s *Server) FrontendAddr() string { return s.frontend }

// UIURL is the base URL of the Temporal Web UI (e.g. "http://127.0.0.1:8233"),
// or "" when the server runs without UI (Options.UIPort -1).
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace registered at Start.
func (s *Server) Namespace() string { return s.namespace }

// Start starts a Temporal server and returns once the frontend answers and the
// namespace can be used (DescribeNamespace succeeds and the history service
// answers). ctx bounds that wait only; the server runs until Stop.
//
// Start checks that the frontend and UI ports are free first and returns an
// error if not: the Temporal server itself treats a failed listen as fatal.
//
// Start after Stop, in the same process, on the same Port and DataDir works;
// what makes it work: metrics go to a no-op handler (no process-global
// Prometheus registry), the internal services get fresh gRPC and membership
// ports, the cluster membership rows of the old server are deleted (see
// clearMembership) and the system workers that Stop would leak are off (see
// dynamicConfig). SDK clients and workers of the application can stay open
// through the outage: they reconnect by themselves, a polling worker within
// about 6 s of the new Start (its poll backoff).
//
// A port picked free can be taken before the server binds it: by another process's
// listener, or as the local port of an outgoing connection. Start then tries again
// with ports picked anew, up to startAttempts times (a given Port is kept).
func Start(ctx context.Context, o Options) (*Server, error) {
	for attempt := 1; ; attempt++ {
		s, err := startOnce(ctx, o)
		if err == nil || attempt == startAttempts || !errors.Is(err, errListen) {
			return s, err
		}
		if o.Logger != nil {
			o.Logger.Warn("temporalserver: a port picked free was taken before the server bound it; trying new ports",
				"attempt", attempt, "err", err)
		}
	}
}

// startAttempts bounds Start's tries when a picked port is taken meanwhile.
const startAttempts = 3

// errListen marks a start that failed because a service could not listen.
var errListen = errors.New("a listener failed")

// pickPorts picks the internal ports of a start; tests replace it.
var pickPorts = freePorts

func startOnce(ctx context.Context, o Options) (_ *Server, err error) {
	if o.Host == "" || o.Host == "localhost" {
		o.Host = defaultHost
	}
	hostIP := net.ParseIP(o.Host)
	if hostIP == nil {
		return nil, fmt.Errorf("temporalserver: Host must be an IP address, got %q", o.Host)
	}
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if !o.Memory && o.DataDir == "" {
		return nil, errors.New("temporalserver: either DataDir or Memory must be set")
	}
	if o.Port < 0 || o.Port > 65535 || o.UIPort < -1 || o.UIPort > 65535 {
		return nil, fmt.Errorf("temporalserver: invalid port (Port %d, UIPort %d)", o.Port, o.UIPort)
	}

	// The address clients dial: a wildcard bind address is not dialable.
	dialHost := o.Host
	if hostIP.IsUnspecified() {
		dialHost = defaultHost
	}

	// Ports. The frontend and UI ports are either given (then must be free) or
	// picked; every internal gRPC and membership port is picked anew on each
	// Start, so a new server never collides with sockets of a stopped one.
	if o.Port == 0 {
		if o.Port, err = freePort(o.Host); err != nil {
			return nil, err
		}
	} else if err := checkPortFree(o.Host, o.Port); err != nil {
		return nil, fmt.Errorf("temporalserver: frontend port: %w", err)
	}
	if o.UIPort == 0 {
		if o.UIPort, err = freePort(o.Host); err != nil {
			return nil, err
		}
	} else if o.UIPort > 0 {
		if o.UIPort == o.Port {
			return nil, errors.New("temporalserver: UIPort equals Port")
		}
		if err := checkPortFree(o.Host, o.UIPort); err != nil {
			return nil, fmt.Errorf("temporalserver: UI port: %w", err)
		}
	}
	internal, err := pickPorts(defaultHost, 7)
	if err != nil {
		return nil, err
	}

	logger := newLogger(o.Logger)
	frontend := net.JoinHostPort(dialHost, strconv.Itoa(o.Port))

	var unlock func()
	if !o.Memory {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("temporalserver: data dir: %w", err)
		}
		if unlock, err = lockDataDir(o.DataDir); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				unlock()
			}
		}()
	}

	sqlConf, err := prepareSQLite(o)
	if err != nil {
		return nil, err
	}

	conf := &config.Config{}
	conf.Global.Membership = config.Membership{
		MaxJoinDuration:  30 * time.Second,
		BroadcastAddress: defaultHost,
	}
	// No Global.Metrics: the server then uses metrics.NoopMetricsHandler. A
	// Prometheus or tally reporter would register its collectors in
	// process-global registries and listen on a port, and a second Start in the
	// same process would fail on duplicate registration or a busy port.
	conf.Persistence = config.Persistence{
		DefaultStore:     "sqlite-default",
		VisibilityStore:  "sqlite-default",
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}},
	}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		"frontend": {RPC: config.RPC{GRPCPort: o.Port, MembershipPort: internal[0], BindOnIP: o.Host}},
		"history":  {RPC: config.RPC{GRPCPort: internal[1], MembershipPort: internal[2], BindOnLocalHost: true}},
		"matching": {RPC: config.RPC{GRPCPort: internal[3], MembershipPort: internal[4], BindOnLocalHost: true}},
		"worker":   {RPC: config.RPC{GRPCPort: internal[5], MembershipPort: internal[6], BindOnLocalHost: true}},
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's own SDK clients (worker service, schedules) dial this.
	conf.PublicClient.HostPort = frontend

	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: claim mapper: %w", err)
	}

	var srv temporal.Server
	err = catchFatal(func() error {
		var err error
		srv, err = temporal.NewServer(
			temporal.WithConfig(conf),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithLogger(logger),
			temporal.WithAuthorizer(authorizer),
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
			// Explicitly per instance and global-free, see Global.Metrics above.
			temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
			temporal.WithDynamicConfigClient(dynamicConfig),
		)
		if err != nil {
			return err
		}
		return srv.Start()
	})
	if err != nil {
		logger.quiet.Store(true)
		if srv != nil {
			_ = catchFatal(srv.Stop)
		}
		if strings.Contains(err.Error(), "Failed to start gRPC listener") {
			err = fmt.Errorf("%w: %w", errListen, err)
		}
		return nil, fmt.Errorf("temporalserver: start: %w", err)
	}

	s := &Server{srv: srv, logger: logger, frontend: frontend, namespace: o.Namespace}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	s.unlock = unlock

	if err = waitReady(ctx, frontend, o.Namespace); err != nil {
		return nil, err
	}
	logger.starting.Store(false)

	if o.UIPort > 0 {
		if err = s.startUI(ctx, o, frontend, dialHost); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Stop stops the UI and the server and waits until their listeners are
// closed, so that Start can bind the same Port (and UIPort) again. It is safe
// to call more than once.
//
// What a stopped server leaves behind in the process, none of which stops a
// later Start (Temporal v1.32 has no way to release it):
//   - the SQLite plugin keeps one connection per database for the life of the
//     process (it never closes its pool): for a DataDir it is simply reused by
//     the next Start on the same file; for Memory it keeps that unreachable
//     in-memory database allocated;
//   - about 50 idle goroutines per Start/Stop cycle: ringpop's stat tickers,
//     membership heartbeat loops (these end within ~15 s) and some 30 gRPC
//     client connections between the services. The internal services get
//     fresh ports on every Start, so such a connection never reaches a
//     service of a later server.
//
// Fine for a dev process or a test that restarts Temporal a few times.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// Shutting down, the services log dozens of expected errors (matching
		// cannot reach itself through the ring it just left, pollers lose
		// their connections): not worth showing.
		s.logger.quiet.Store(true)
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		s.stopErr = catchFatal(s.srv.Stop)
		if s.unlock != nil {
			s.unlock()
		}
	})
	return s.stopErr
}

// prepareSQLite builds the SQLite persistence config and, before the server
// starts, applies the schema to a new database file and registers the
// namespace (as the Temporal CLI's dev server does: registration through the
// API would need a running server and then a namespace cache refresh).
func prepareSQLite(o Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.Memory {
		// A fresh name on each Start: the plugin keeps its connections (and
		// so a shared-cache in-memory database) for the life of the process.
		// The plugin applies the schema itself to in-memory databases.
		conf.DatabaseName = fmt.Sprintf("dimos-temporal-%d-%d", os.Getpid(), memoryDBSeq.Add(1))
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		path, err := filepath.Abs(filepath.Join(o.DataDir, dbFileName))
		if err != nil {
			return nil, fmt.Errorf("temporalserver: data dir: %w", err)
		}
		conf.DatabaseName = path
		// WAL: readers do not block the writer and commits need fewer
		// fsyncs; synchronous=NORMAL is safe against a crash of this process
		// (only a power loss may drop the last commits), fine for dev/tests.
		conf.ConnectAttributes = map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("temporalserver: SQLite schema: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("temporalserver: data dir: %w", err)
		} else if err := clearMembership(conf); err != nil {
			return nil, err
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: namespace: %w", err)
	}
	ns.Detail.Config.Retention = durationpb.New(namespaceRetention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("temporalserver: namespace: %w", err)
	}
	return conf, nil
}

var memoryDBSeq atomic.Int64

// clearMembership deletes the cluster membership rows left in the database by
// a previous server. Each service records its host:port there and refreshes
// it every ~10 s; a starting service takes every row refreshed in the last
// 20 s as a ringpop seed. After a Stop and a quick Start those rows name the
// dead services of the old server, and the new services end up in a ring where
// frontend and history find no matching host ("Not enough hosts to serve the
// request"). Only this process uses the SQLite file, so at Start every row is
// stale.
func clearMembership(conf *config.SQL) error {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("temporalserver: open SQLite: %w", err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("temporalserver: clear cluster membership: %w", err)
	}
	return nil
}

// waitReady polls the frontend until the namespace is described and the
// history service answers a lookup of a workflow that does not exist with
// NotFound (rather than Unavailable): then workflows can be started.
func waitReady(ctx context.Context, frontend, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	var lastErr error
	for {
		lastErr = func() error {
			c, err := client.Dial(client.Options{HostPort: frontend, Namespace: namespace, Logger: quiet})
			if err != nil {
				return err
			}
			defer c.Close()
			callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if _, err := c.WorkflowService().DescribeNamespace(callCtx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
				return err
			}
			_, err = c.WorkflowService().DescribeWorkflowExecution(callCtx, &workflowservice.DescribeWorkflowExecutionRequest{
				Namespace: namespace,
				Execution: &commonpb.WorkflowExecution{WorkflowId: "temporalserver-readiness-probe"},
			})
			var notFound *serviceerror.NotFound
			if err == nil || errors.As(err, &notFound) {
				return nil
			}
			return err
		}()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporalserver: frontend %s not ready: %w (last error: %v)", frontend, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startUI runs the Temporal Web UI (the server the Temporal CLI embeds) and
// waits for its health endpoint.
func (s *Server) startUI(ctx context.Context, o Options, frontend, dialHost string) error {
	ui := uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                o.Host,
		Port:                o.UIPort,
		TemporalGRPCAddress: frontend,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		// Served over plain HTTP on a dev machine.
		CORS:     uiconfig.CORS{CookieInsecure: true},
		HideLogs: true,
		// The UI would otherwise fetch a news feed from the internet.
		DisableNewsFetch: true,
	}))
	s.ui = ui
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop. A listen failure makes it exit the
		// process; Start checked beforehand that the port is free.
		_ = ui.Start()
	}()
	base := "http://" + net.JoinHostPort(dialHost, strconv.Itoa(o.UIPort))
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(deadline, http.MethodGet, base+"/healthz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.uiURL = base
				return nil
			}
		}
		select {
		case <-deadline.Done():
			return fmt.Errorf("temporalserver: UI at %s not ready: %w", base, deadline.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fatalPanic carries a Fatal/Panic log record of the server out of a call
// wrapped in catchFatal.
type fatalPanic struct{ msg string }

// catchFatal runs f, turning a Fatal or Panic logged by the server on this
// goroutine (e.g. "Failed to start gRPC listener" while the fx app is being
// built or started) into an error instead of a process exit.
func catchFatal(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if fp, ok := r.(fatalPanic); ok {
				err = errors.New(fp.msg)
				return
			}
			panic(r)
		}
	}()
	return f()
}

// freePort returns a TCP port that is free on host right now.
func freePort(host string) (int, error) {
	ports, err := freePorts(host, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts returns n distinct TCP ports free on host: all n listeners are
// held open together so the kernel cannot hand out the same port twice.
func freePorts(host string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("temporalserver: free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// checkPortFree reports an error when host:port cannot be listened on.
func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}
