package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	sdkworker "go.temporal.io/sdk/worker"

	"dimos"
	"dimos/loadgen"
	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/reports"
	"dimos/temporalserver"
)

// The benchmarks of `make bench` (never of `make test`). They share one embedded
// Temporal server, persisting to SQLite as `dimos dev` does, and one dimos wired as
// `dimos dev` wires it, so that each figure stands next to the bare rate of the very
// server it ran on. Each benchmark is one measurement of a fixed size (run them with
// -benchtime=1x); TestMain prints the comparisons at the end.
//
//	DIMOS_BENCH_INTAKE     cases POSTed by BenchmarkIntake (2000)
//	DIMOS_BENCH_LIFECYCLES lifecycles of BenchmarkLifecycle (300)
//	DIMOS_BENCH_LARGE      cases of the large query database (1000000)
//	DIMOS_BENCH_QUERY_RUNS timed runs of each query (200: a p99 of 60 runs was their slowest)
//	DIMOS_BENCH_QUERY      only the queries whose name contains this ("": all)
//	DIMOS_BENCH_CONCURRENCY clients at once (32)

func benchInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchEnv is the server and the app the benchmarks share.
type benchEnv struct {
	srv   *temporalserver.Server
	tc    client.Client
	db    *postgres.DB
	base  string
	close []func()
	// The case worker, which BenchmarkIntake stops and starts again (startCases).
	cases      sdkworker.Worker
	startCases func() error
}

var (
	benchOnce   sync.Once
	sharedBench *benchEnv
	benchErr    error
	results     benchResults
)

func TestMain(m *testing.M) {
	code := m.Run()
	results.print()
	if sharedBench != nil {
		for i := len(sharedBench.close) - 1; i >= 0; i-- {
			sharedBench.close[i]()
		}
	}
	os.Exit(code)
}

func benchSetup(b *testing.B) *benchEnv {
	b.Helper()
	benchOnce.Do(func() { sharedBench, benchErr = startBenchEnv() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return sharedBench
}

func startBenchEnv() (*benchEnv, error) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	e := &benchEnv{}
	dir, err := os.MkdirTemp("", "dimos-bench-")
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, func() { os.RemoveAll(dir) })
	e.srv, err = temporalserver.Start(ctx, temporalserver.Options{DataDir: dir, UIPort: -1, Logger: log})
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, func() { e.srv.Stop() }) //nolint:errcheck
	dsn, err := postgres.WithDatabase(pgtest.ServerURL(), fmt.Sprintf("dimos_bench_app_%d", os.Getpid()))
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, func() { postgres.DropDatabase(context.Background(), dsn) }) //nolint:errcheck
	// The defaults dimos runs with, the starter's 5 s sweep included.
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	cfg.DatabaseURL = dsn
	if e.db, err = openDatabase(ctx, cfg, log); err != nil {
		return nil, err
	}
	e.close = append(e.close, e.db.Close)
	if err := e.db.SeedDemo(ctx); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	e.close = append(e.close, cancel)
	sims, err := startDevSimulators(sctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, sims.close)
	out, err := connectOutside(cfg)
	if err != nil {
		return nil, err
	}
	if e.tc, err = dialTemporal(e.srv.FrontendAddr(), cfg.TemporalNamespace, log); err != nil {
		return nil, err
	}
	e.close = append(e.close, e.tc.Close)
	e.startCases = func() error {
		var err error
		e.cases, err = startWorker(e.tc, e.db, out, cfg, log)
		return err
	}
	if err := e.startCases(); err != nil {
		return nil, err
	}
	e.close = append(e.close, func() { e.cases.Stop() })
	bare := sdkworker.New(e.tc, bareQueue, sdkworker.Options{})
	bare.RegisterWorkflow(bareThreeActivities)
	bare.RegisterActivity(bareActivity)
	if err := bare.Start(); err != nil {
		return nil, err
	}
	e.close = append(e.close, bare.Stop)
	web, err := newWeb(cfg, e.db, e.tc, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); web.serveListener(sctx, ln) }() //nolint:errcheck
	e.close = append(e.close, func() { cancel(); <-done })
	e.base = "http://" + ln.Addr().String()
	return e, nil
}

// The bare workflow: what the Temporal server does for three activities in a row,
// with nothing of dimos around it.
const bareQueue = "bench-bare"

func bareThreeActivities(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for i := range 3 {
		if err := workflow.ExecuteActivity(ctx, bareActivity, i).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func bareActivity(context.Context, int) error { return nil }

// hammer runs n calls of f from conc goroutines, records each latency under op and
// returns the wall time.
func hammer(n, conc int, rec *loadgen.Recorder, op string, f func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				err := f(i)
				rec.Observe(op, time.Since(t), err)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return time.Since(began), err
	}
	return time.Since(began), nil
}

func statOf(rec *loadgen.Recorder, op string, elapsed time.Duration) loadgen.OpStats {
	for _, s := range rec.Stats(elapsed) {
		if s.Op == op {
			return s
		}
	}
	return loadgen.OpStats{Op: op}
}

// intakeBodies are n portal submissions as a municipality receives them
// (loadgen.PortalBody), of every category a citizen files online and each of its
// kinds in turn. Cases of one category, kind and day count in the same report and
// inbox rows; a burst of one category would share them all.
func intakeBodies(n int) [][]byte {
	type filing struct{ category, kind string }
	var filings []filing
	for _, c := range postgres.DemoCategories {
		for _, k := range c.Kinds {
			if k != dimos.KindCertificate {
				filings = append(filings, filing{c.Code, string(k)})
			}
		}
	}
	bodies := make([][]byte, n)
	for i := range bodies {
		f := filings[i%len(filings)]
		bodies[i] = loadgen.PortalBody(i, f.category, f.kind)
	}
	return bodies
}

// BenchmarkIntake: citizens POST cases to the intake API until every case has its
// workflow, next to bare StartWorkflow calls on the same server, from as many clients.
//
// Intake is timed twice. First with the case worker stopped, as the bare starts are
// timed with no worker for their task queue: both then pay for the start and its
// first workflow task waiting on the server, and the ratio is what dimos's own part
// of accepting a case (HTTP, validation, the transaction that keeps it, marking it
// started) costs next to the start alone; the target is this ratio. Then again with
// the worker routing each case as it arrives, on the same two cores: what this one
// machine accepts while it also works the cases, reported beside it.
func BenchmarkIntake(b *testing.B) {
	e := benchSetup(b)
	n, conc := benchInt("DIMOS_BENCH_INTAKE", 2000), benchInt("DIMOS_BENCH_CONCURRENCY", 32)
	ctx := context.Background()
	bodies := intakeBodies(n)
	httpc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	// intake POSTs n cases and waits until each has its workflow.
	intake := func(rec *loadgen.Recorder, op string) (time.Duration, error) {
		began := time.Now()
		_, err := hammer(n, conc, rec, op, func(i int) error {
			resp, err := httpc.Post(e.base+"/api/v1/cases", "application/json", bytes.NewReader(bodies[i]))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("intake answered %d", resp.StatusCode)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		// Accepted is not enough: the figure is cases whose workflow has started.
		err = waitFor(ctx, e, `SELECT count(*) FROM cases WHERE workflow_started_at IS NULL`, 10*time.Millisecond)
		return time.Since(began), err
	}
	// routed lets the worker route what was filed, so that what follows starts on an
	// idle worker rather than behind a backlog.
	routed := func() error {
		return waitFor(ctx, e, `SELECT count(*) FROM cases WHERE stage = 'received'`, 100*time.Millisecond)
	}
	for range b.N {
		rec := loadgen.NewRecorder()
		run := time.Now().UnixNano()
		// bare times n starts of a workflow that no worker polls for. It runs before
		// and after the intake with the worker stopped, and the faster of the two
		// stands for the server: the first runs on a fresh server, which has not
		// been warmed by the thousands of starts the second follows.
		bare := func(op string) (time.Duration, error) {
			return hammer(n, conc, rec, op, func(i int) error {
				_, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: fmt.Sprintf("bench-start-%s-%d-%d", op, run, i), TaskQueue: "bench-nobody"}, "BenchNothing")
				return err
			})
		}
		bareTook, err := bare("start")
		if err != nil {
			b.Fatal(err)
		}
		e.cases.Stop()
		aloneTook, err := intake(rec, "intake")
		var bareAfter time.Duration
		if err == nil {
			bareAfter, err = bare("start again")
		}
		if err == nil {
			err = e.startCases()
		}
		if err == nil {
			err = routed()
		}
		if err != nil {
			b.Fatal(err)
		}
		busyTook, err := intake(rec, "intake, worker routing")
		if err == nil {
			err = routed()
		}
		if err != nil {
			b.Fatal(err)
		}
		bareStat, alone, busy := statOf(rec, "start", bareTook), statOf(rec, "intake", aloneTook), statOf(rec, "intake, worker routing", busyTook)
		if bareAfter < bareTook {
			bareTook, bareStat = bareAfter, statOf(rec, "start again", bareAfter)
		}
		rate := func(took time.Duration) float64 { return float64(n) / took.Seconds() }
		b.ReportMetric(rate(bareTook), "bare-starts/s")
		b.ReportMetric(rate(aloneTook), "cases/s")
		b.ReportMetric(rate(aloneTook)/rate(bareTook), "ratio")
		b.ReportMetric(rate(busyTook), "cases-routed-meanwhile/s")
		results.add(benchRow{"bare StartWorkflow (faster of two runs)", n, conc, rate(bareTook), bareStat.P50, bareStat.P99})
		results.add(benchRow{"intake, case worker stopped", n, conc, rate(aloneTook), alone.P50, alone.P99})
		results.add(benchRow{"intake, case worker routing meanwhile", n, conc, rate(busyTook), busy.P50, busy.P99})
		results.ratio("intake / bare start (target ≥ 0.8)", rate(aloneTook)/rate(bareTook))
		results.ratio("intake, worker routing meanwhile / bare start", rate(busyTook)/rate(bareTook))
	}
}

// waitFor polls a count until it is 0.
func waitFor(ctx context.Context, e *benchEnv, count string, every time.Duration) error {
	for {
		var left int
		if err := e.db.Pool.QueryRow(ctx, count).Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			return nil
		}
		time.Sleep(every)
	}
}

// BenchmarkLifecycle: whole lifecycles through the app (loadgen: a case POSTed, the
// director assigns it in the console, the clerk comments and completes it), next to
// bare three-activity workflows on the same server.
func BenchmarkLifecycle(b *testing.B) {
	e := benchSetup(b)
	n, conc := benchInt("DIMOS_BENCH_LIFECYCLES", 300), benchInt("DIMOS_BENCH_CONCURRENCY", 32)
	ctx := context.Background()
	for range b.N {
		rec := loadgen.NewRecorder()
		run := time.Now().UnixNano()
		bareTook, err := hammer(n, conc, rec, "bare", func(i int) error {
			r, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("bench-bare-%d-%d", run, i), TaskQueue: bareQueue}, bareThreeActivities)
			if err != nil {
				return err
			}
			return r.Get(ctx, nil)
		})
		if err != nil {
			b.Fatal(err)
		}
		res, err := loadgen.Run(ctx, loadgen.Config{BaseURL: e.base, Concurrency: conc, Cases: n,
			Mix: loadgen.Mix{Portal: 1}, Staff: demoTeams(), Password: postgres.DemoPassword, Admin: "admin",
			Jurisdiction: "dimos.example", Timeout: 3 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if res.Failed > 0 {
			b.Fatalf("%d lifecycles failed; first: %s", res.Failed, res.FirstError)
		}
		res.Print(os.Stdout)
		bare := statOf(rec, "bare", bareTook)
		var life loadgen.OpStats
		for _, s := range res.Stats {
			if s.Op == "lifecycle" {
				life = s
			}
		}
		bareRate, lifeRate := float64(n)/bareTook.Seconds(), float64(res.Lifecycles)/res.Elapsed.Seconds()
		b.ReportMetric(bareRate, "bare-workflows/s")
		b.ReportMetric(lifeRate, "lifecycles/s")
		b.ReportMetric(lifeRate/bareRate, "ratio")
		results.add(benchRow{"case lifecycle (HTTP + console)", n, conc, lifeRate, life.P50, life.P99})
		results.add(benchRow{"bare three-activity workflow", n, conc, bareRate, bare.P50, bare.P99})
		results.ratio("lifecycle / bare three-activity (target ≥ 1.0)", lifeRate/bareRate)
	}
}

// queryBench is one query a page runs, timed against a seeded database. The inbox
// and the delay report join the table the same way: a name, a call, its plan.
type queryBench struct {
	name    string
	run     func(ctx context.Context, db *postgres.DB, i int) error
	explain func(ctx context.Context, db *postgres.DB) (string, error)
}

var searchTerms = []string{"λακκούβα", "φανάρι Κουνδούρου", "διαρροή νερού", "γερανοφόρο", "κάδος -ανακύκλωσης", "pothole"}

// benchStaff are the people whose pages the query benchmarks time: the technical
// service, its director and its first clerk.
type benchStaff struct {
	service, director, clerk int64
}

func lookupBenchStaff(ctx context.Context, db *postgres.DB) (benchStaff, error) {
	var s benchStaff
	err := db.Pool.QueryRow(ctx, `SELECT s.id,
			(SELECT id FROM employees WHERE username = 'tech.director'),
			(SELECT id FROM employees WHERE username = 'tech.clerk1')
		FROM services s WHERE s.code = 'tech'`).Scan(&s.service, &s.director, &s.clerk)
	return s, err
}

// queryBenches are the console's queries. The scopes are a manager's (everything)
// and a director's (one service, as the console gives directors); the inbox pages
// are a clerk's (their own cases, their service's unclaimed ones) and a manager's
// overdue list, the counts those of the tabs a manager and a director see; the
// delay report covers the past year.
func queryBenches(staff benchStaff) []queryBench {
	manager := dimos.InboxScope{All: true}
	director := dimos.InboxScope{EmployeeID: staff.director, ServiceID: staff.service}
	clerk := dimos.InboxScope{EmployeeID: staff.clerk, ServiceID: staff.service}
	inboxPage := func(name string, q dimos.InboxQuery) queryBench {
		return queryBench{name,
			func(ctx context.Context, db *postgres.DB, _ int) error {
				_, err := db.InboxPage(ctx, q)
				return err
			},
			func(ctx context.Context, db *postgres.DB) (string, error) { return db.ExplainInboxPage(ctx, q) }}
	}
	inboxCounts := func(name string, q dimos.InboxQuery) queryBench {
		return queryBench{name,
			func(ctx context.Context, db *postgres.DB, _ int) error {
				_, err := db.InboxCounts(ctx, q)
				return err
			},
			func(ctx context.Context, db *postgres.DB) (string, error) { return db.ExplainInboxCounts(ctx, q) }}
	}
	report := func(name string, f func() reports.Filter) queryBench {
		return queryBench{name,
			func(ctx context.Context, db *postgres.DB, _ int) error {
				_, err := db.Report(ctx, f())
				return err
			},
			func(ctx context.Context, db *postgres.DB) (string, error) { return db.ExplainReport(ctx, f()) }}
	}
	lastYear := func(service int64) func() reports.Filter {
		return func() reports.Filter {
			now := time.Now()
			return reports.Filter{From: now.AddDate(-1, 0, 0), To: now, ServiceID: service}
		}
	}
	return []queryBench{
		{"search (all cases)",
			func(ctx context.Context, db *postgres.DB, i int) error {
				_, err := db.SearchCases(ctx, searchTerms[i%len(searchTerms)], dimos.SearchScope{All: true}, 50)
				return err
			},
			func(ctx context.Context, db *postgres.DB) (string, error) {
				return db.ExplainSearchCases(ctx, "λακκούβα", dimos.SearchScope{All: true}, 50)
			}},
		{"search (one service)",
			func(ctx context.Context, db *postgres.DB, i int) error {
				_, err := db.SearchCases(ctx, searchTerms[i%len(searchTerms)], dimos.SearchScope{ServiceID: staff.service}, 50)
				return err
			},
			func(ctx context.Context, db *postgres.DB) (string, error) {
				return db.ExplainSearchCases(ctx, "λακκούβα", dimos.SearchScope{ServiceID: staff.service}, 50)
			}},
		inboxPage("inbox: clerk's own", dimos.InboxQuery{Tab: dimos.InboxMine, Scope: clerk}),
		inboxPage("inbox: service unclaimed", dimos.InboxQuery{Tab: dimos.InboxService, Scope: clerk}),
		inboxPage("inbox: overdue (manager)", dimos.InboxQuery{Tab: dimos.InboxOverdue, Scope: manager}),
		inboxCounts("inbox counts (manager)", dimos.InboxQuery{Tab: dimos.InboxAll, Scope: manager}),
		inboxCounts("inbox counts (director)", dimos.InboxQuery{Tab: dimos.InboxService, Scope: director}),
		report("delay report, year (manager)", lastYear(0)),
		report("delay report, year (director)", lastYear(staff.service)),
	}
}

// BenchmarkQueries times the console's queries at 10k and at DIMOS_BENCH_LARGE cases.
// The two sizes take turns run by run (which goes first alternates too), so that a
// stretch in which the machine is slower (a neighbour on the host, a checkpoint of
// PostgreSQL) falls on both and the ratio compares like with like: timed one size
// after the other, a few slow seconds during either decided a p99, and so the ratio.
func BenchmarkQueries(b *testing.B) {
	ctx := context.Background()
	iterations := benchInt("DIMOS_BENCH_QUERY_RUNS", 200)
	sizes := []int{10_000, benchInt("DIMOS_BENCH_LARGE", 1_000_000)}
	dbs := make([]*postgres.DB, len(sizes))
	staff := make([]benchStaff, len(sizes))
	for i, n := range sizes {
		dbs[i] = benchDatabase(b, n)
		defer dbs[i].Close()
		var err error
		if staff[i], err = lookupBenchStaff(ctx, dbs[i]); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		// The same queries at each size; only the staff ids differ.
		benches := make([][]queryBench, len(sizes))
		for i := range sizes {
			benches[i] = queryBenches(staff[i])
		}
		for qi, q := range benches[0] {
			if !strings.Contains(q.name, os.Getenv("DIMOS_BENCH_QUERY")) {
				continue
			}
			recs := make([]*loadgen.Recorder, len(sizes))
			for si := range sizes {
				recs[si] = loadgen.NewRecorder()
				// Warm the cache as a running console has: one run of every input a
				// query cycles through (the search terms), at least five.
				for i := range max(5, len(searchTerms)) {
					benches[si][qi].run(ctx, dbs[si], i) //nolint:errcheck
				}
			}
			for i := range iterations {
				for k := range sizes {
					si := (i + k) % len(sizes)
					t := time.Now()
					err := benches[si][qi].run(ctx, dbs[si], i)
					recs[si].Observe(q.name, time.Since(t), err)
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			p99 := make([]time.Duration, len(sizes))
			for si, n := range sizes {
				st := statOf(recs[si], q.name, 0)
				results.add(benchRow{q.name, n, 1, 0, st.P50, st.P99})
				p99[si] = st.P99
				plan, err := benches[si][qi].explain(ctx, dbs[si])
				if err != nil {
					b.Fatal(err)
				}
				fmt.Printf("\n--- EXPLAIN ANALYZE %s at %d cases\n%s\n", q.name, n, plan)
			}
			if p99[0] > 0 {
				results.ratio(fmt.Sprintf("%s p99@%d / p99@%d (target ≤ 2)", q.name, sizes[1], sizes[0]), float64(p99[1])/float64(p99[0]))
			}
		}
	}
}

// benchDatabase returns a database of n generated cases, kept between runs under a
// name that carries n, the schema version and the generator's version, so that a
// rerun reuses it and a change of either seeds afresh.
func benchDatabase(b *testing.B, n int) *postgres.DB {
	b.Helper()
	ctx := context.Background()
	schema, err := postgres.SchemaVersion()
	if err != nil {
		b.Fatal(err)
	}
	dsn, err := postgres.WithDatabase(pgtest.ServerURL(), BenchDatabaseName(n, schema))
	if err != nil {
		b.Fatal(err)
	}
	db, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var have int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == n {
		// A database seeded before the seeding rebuilt the rollups has none; the
		// delay report reads them, so build them once, as dimos seed does.
		var rollups bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM report_rollups)`).Scan(&rollups); err != nil {
			b.Fatal(err)
		}
		if !rollups {
			if err := db.RebuildRollups(ctx); err != nil {
				b.Fatal(err)
			}
		}
		// Index-only scans (the inbox counts, the report's open cases) need the
		// visibility map that autovacuum keeps, and plans the statistics it gathers
		// (the report's ping-pongs, case_holders); after a seeding or the clock
		// backfill of Migrate it may not have run yet. The rollups too, which the
		// seeding has just loaded: in the first run after one, a year's report at
		// 1M took 190 ms (p50), and 93 ms once the database was vacuumed.
		if _, err := db.Pool.Exec(ctx, `VACUUM (ANALYZE) cases, case_holders, report_rollups, report_rollups_weekly, report_open`); err != nil {
			b.Fatal(err)
		}
		return db
	}
	if have != 0 { // an interrupted seeding: start again
		db.Close()
		if err := postgres.DropDatabase(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		return benchDatabase(b, n)
	}
	if err := db.SeedDemo(ctx); err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	if _, err := db.SeedCases(ctx, postgres.BulkOptions{Cases: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("seeded %d cases into %s in %s\n", n, BenchDatabaseName(n, schema), time.Since(began).Round(time.Second))
	// Once more through the path of a kept database: Migrate fills the clocks of the
	// cases just loaded, the rollups are built, the table vacuumed.
	db.Close()
	return benchDatabase(b, n)
}

// BenchDatabaseName is the database of n generated cases at a schema version; seed
// it ahead with DATABASE_URL=…/<name> dimos seed --cases n.
func BenchDatabaseName(n, schema int) string {
	return fmt.Sprintf("dimos_bench_%d_s%d_g%d", n, schema, postgres.BulkVersion)
}

// benchResults gathers every figure for one table at the end.
type benchResults struct {
	mu     sync.Mutex
	rows   []benchRow
	ratios []string
}

type benchRow struct {
	what      string
	n, conc   int
	perSecond float64
	p50, p99  time.Duration
}

func (r *benchResults) add(row benchRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
}

func (r *benchResults) ratio(what string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ratios = append(r.ratios, fmt.Sprintf("%-60s %6.2f", what, v))
}

func (r *benchResults) print() {
	if len(r.rows) == 0 {
		return
	}
	fmt.Printf("\n%-44s %9s %5s %9s %10s %10s\n", "measure", "N", "conc", "per s", "p50", "p99")
	for _, row := range r.rows {
		rate := "-"
		if row.perSecond > 0 {
			rate = fmt.Sprintf("%.1f", row.perSecond)
		}
		fmt.Printf("%-44s %9d %5d %9s %10s %10s\n", row.what, row.n, row.conc, rate,
			row.p50.Round(10*time.Microsecond), row.p99.Round(10*time.Microsecond))
	}
	fmt.Println()
	for _, line := range r.ratios {
		fmt.Println(line)
	}
}
