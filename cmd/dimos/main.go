// Command dimos runs the municipal back office.
//
//	dimos dev       everything in one process, with an embedded Temporal server
//	dimos worker    the Temporal worker (case workflows and activities)
//	dimos console   the HTTP server: staff console and citizen API
//	dimos migrate   apply database migrations and exit
//	dimos seed      load the demo municipality (and --cases N historic cases) and exit
//	dimos report    write a delay report as Excel or CSV and exit
//	dimos loadgen   drive a running dimos with citizens and staff, and measure it
//	dimos temporal  only the embedded Temporal server, as a process of its own
//
// Configuration comes from environment variables, listed in the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"dimos/postgres"
	"dimos/temporalserver"
)

const usage = `usage: dimos <command> [flags]

commands:
  dev       run everything in one process with an embedded Temporal server
  worker    run the Temporal worker
  console   run the HTTP server (staff console and citizen API)
  migrate   apply database migrations
  seed      load the demo municipality (services, staff, categories);
            --cases N also generates N historic cases for scale tests
  loadgen   drive a running dimos through its public channels and the console (--help)
  targets   change a category's clocks; its open cases follow (--category, --assign, …)
  temporal  run only the embedded Temporal server (SQLite under DIMOS_DATA_DIR; --memory)
  protocol-sim  serve a simulator of the municipality's protocol registry (--addr, --token)
  report    write a delay report: --from DATE --to DATE --format xlsx|csv --out FILE
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "dev":
		err = runDev(ctx, cfg, log, args)
	case "worker":
		err = runWorker(ctx, cfg, log)
	case "console":
		err = runConsole(ctx, cfg, log)
	case "migrate":
		err = runMigrate(ctx, cfg, log)
	case "seed":
		err = runSeed(ctx, cfg, log, args)
	case "loadgen":
		err = runLoadgen(ctx, cfg, log, args)
	case "targets":
		err = runTargets(ctx, cfg, log, args)
	case "temporal":
		err = runTemporal(ctx, cfg, log, args)
	case "protocol-sim":
		err = runProtocolSim(ctx, cfg, log, args)
	case "report":
		err = runReport(ctx, cfg, log, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error(cmd+" failed", "err", err)
		os.Exit(1)
	}
}

func temporalAddress(cfg config) string {
	if cfg.TemporalAddress == "" {
		return "127.0.0.1:7233"
	}
	return cfg.TemporalAddress
}

func runMigrate(ctx context.Context, cfg config, log *slog.Logger) error {
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	db.Close()
	log.Info("database is up to date")
	return nil
}

func runSeed(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	cases := fs.Int("cases", 0, "also generate this many historic cases over the past two years")
	batch := fs.Int("batch", 5000, "cases per transaction")
	seed := fs.Uint64("seed", 1, "random seed of the generated cases")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SeedDemo(ctx); err != nil {
		return err
	}
	log.Info("demo municipality loaded")
	if *cases <= 0 {
		return nil
	}
	return seedCases(ctx, db, log, postgres.BulkOptions{Cases: *cases, BatchSize: *batch, Seed: *seed})
}

// seedCases generates historic cases with a progress bar on the terminal.
func seedCases(ctx context.Context, db *postgres.DB, log *slog.Logger, o postgres.BulkOptions) error {
	bar := progressbar.NewOptions(o.Cases, progressbar.OptionSetDescription("cases"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("cases"),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
	o.Progress = func(n int) { bar.Add(n) } //nolint:errcheck // a progress bar that cannot draw is no error
	began := time.Now()
	res, err := db.SeedCases(ctx, o)
	if err != nil {
		return err
	}
	// COPY bypasses the per-transition rollups of the delay reports: rebuild them so
	// that reports cover the generated history.
	if err := db.RebuildRollups(ctx); err != nil {
		return fmt.Errorf("rebuild the reports' rollups: %w", err)
	}
	log.Info("historic cases generated", "cases", res.Cases, "open", res.Open, "events", res.Events,
		"stage_timings", res.Timings, "took", time.Since(began).Round(time.Millisecond),
		"cases_per_s", int(float64(res.Cases)/time.Since(began).Seconds()))
	return nil
}

func runWorker(ctx context.Context, cfg config, log *slog.Logger) error {
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	tc, err := dialTemporal(temporalAddress(cfg), cfg.TemporalNamespace, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	out, err := connectOutside(cfg)
	if err != nil {
		return err
	}
	w, err := startWorkerWhenReady(ctx, tc, db, out, cfg, log)
	if err != nil {
		return err
	}
	log.Info("worker running", "temporal", temporalAddress(cfg))
	<-ctx.Done()
	w.Stop()
	return nil
}

// startWorkerWhenReady starts the worker, trying again while its Temporal server does
// not answer, so that the processes of a deployment may start in any order.
func startWorkerWhenReady(ctx context.Context, tc client.Client, db *postgres.DB, out outside, cfg config, log *slog.Logger) (sdkworker.Worker, error) {
	w, err := startWorker(tc, db, out, cfg, log)
	for wait := time.Second; err != nil; wait = min(2*wait, 30*time.Second) {
		log.Warn("worker cannot start yet; retrying", "temporal", temporalAddress(cfg), "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		w, err = startWorker(tc, db, out, cfg, log)
	}
	return w, nil
}

func runConsole(ctx context.Context, cfg config, log *slog.Logger) error {
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	tc, err := dialTemporal(temporalAddress(cfg), cfg.TemporalNamespace, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	w, err := newWeb(cfg, db, tc, log)
	if err != nil {
		return err
	}
	log.Info("console listening", "addr", w.scheme()+"://"+cfg.HTTPAddr+"/console/")
	return w.serve(ctx, cfg.HTTPAddr)
}

// runDev runs the whole of dimos in one process for a newcomer: the embedded Temporal
// server (unless TEMPORAL_ADDRESS names one), migrations, demo data, the worker and
// the HTTP server.
func runDev(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	memory := fs.Bool("memory", false, "keep the embedded Temporal server's data in memory only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	address := cfg.TemporalAddress
	if address == "" {
		srv, err := startEmbeddedTemporal(ctx, cfg, *memory, log)
		if err != nil {
			return err
		}
		defer srv.Stop() //nolint:errcheck
		address = srv.FrontendAddr()
		if cfg.TemporalUIURL == "" {
			cfg.TemporalUIURL = srv.UIURL()
		}
	}
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SeedDemo(ctx); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	sims, err := startDevSimulators(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer sims.close()
	out, err := connectOutside(cfg)
	if err != nil {
		return err
	}
	tc, err := dialTemporal(address, cfg.TemporalNamespace, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	w, err := startWorker(tc, db, out, cfg, log)
	if err != nil {
		return err
	}
	defer w.Stop()
	web, err := newWeb(cfg, db, tc, log)
	if err != nil {
		return err
	}
	printDevBanner(cfg, web.scheme(), address, sims)
	return web.serve(ctx, cfg.HTTPAddr)
}

// startEmbeddedTemporal starts the Temporal server compiled into dimos on
// DIMOS_TEMPORAL_PORT, persisting to SQLite under DIMOS_DATA_DIR unless memory.
func startEmbeddedTemporal(ctx context.Context, cfg config, memory bool, log *slog.Logger) (*temporalserver.Server, error) {
	if !memory {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, err
		}
	}
	srv, err := temporalserver.Start(ctx, temporalserver.Options{
		DataDir: filepath.Clean(cfg.DataDir), Memory: memory, Port: cfg.EmbeddedPort,
		UIPort: cfg.EmbeddedUIPort, Namespace: cfg.TemporalNamespace, Logger: log.With("component", "temporal-server"),
	})
	if err != nil {
		return nil, fmt.Errorf("embedded temporal server: %w", err)
	}
	return srv, nil
}

// runTemporal runs only the embedded Temporal server, as a process of its own, until
// it is told to stop; the worker and console processes reach it at TEMPORAL_ADDRESS.
// Its workflows survive a restart on the same DIMOS_DATA_DIR, which is how the fault
// tests (chaos/) stop Temporal in the middle of intake and start it again.
func runTemporal(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("temporal", flag.ContinueOnError)
	memory := fs.Bool("memory", false, "keep the server's data in memory only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := startEmbeddedTemporal(ctx, cfg, *memory, log)
	if err != nil {
		return err
	}
	log.Info("temporal server running", "frontend", srv.FrontendAddr(), "namespace", srv.Namespace(), "ui", srv.UIURL(), "data", cfg.DataDir)
	<-ctx.Done()
	return srv.Stop()
}

func printDevBanner(cfg config, scheme, temporalAddr string, sims *devSimulators) {
	fmt.Printf("\ndimos is running\n\n")
	fmt.Printf("  portal       %s://%s/ (citizens' pages)\n", scheme, cfg.HTTPAddr)
	fmt.Printf("  console      %s://%s/console/\n", scheme, cfg.HTTPAddr)
	fmt.Printf("  citizen API  %s://%s/api/v1/categories (OpenAPI: /api/openapi.json)\n", scheme, cfg.HTTPAddr)
	fmt.Printf("  Open311      %s://%s/open311/discovery.json\n", scheme, cfg.HTTPAddr)
	fmt.Printf("  IVR          POST %s://%s/ivr/voice (TwiML webhooks)\n", scheme, cfg.HTTPAddr)
	fmt.Printf("  health       %s://%s/healthz\n", scheme, cfg.HTTPAddr)
	fmt.Printf("  temporal     %s (namespace %s)\n", temporalAddr, cfg.TemporalNamespace)
	if cfg.TemporalUIURL != "" {
		fmt.Printf("  temporal UI  %s\n", cfg.TemporalUIURL)
	}
	sims.print()
	fmt.Printf("\ndemo sign-ins (password %s):\n", strconv.Quote(postgres.DemoPassword))
	for _, s := range postgres.DemoServices {
		for _, e := range s.Staff {
			fmt.Printf("  %-18s %-10s %s\n", e.Username, e.Role, s.NameEL)
		}
	}
	fmt.Println()
}
