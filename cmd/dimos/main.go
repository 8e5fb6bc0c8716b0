// Command dimos runs the municipal back office.
//
//	dimos dev       everything in one process, with an embedded Temporal server
//	dimos worker    the Temporal worker (case workflows and activities)
//	dimos console   the HTTP server: staff console and citizen API
//	dimos migrate   apply database migrations and exit
//	dimos seed      load the demo municipality and exit
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
  seed      load the demo municipality (services, staff, categories)
  targets   change a category's clocks; its open cases follow (--category, --assign, …)
  temporal  run only the embedded Temporal server (SQLite under DIMOS_DATA_DIR; --memory)
  protocol-sim  serve a simulator of the municipality's protocol registry (--addr, --token)
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
		err = runSeed(ctx, cfg, log)
	case "targets":
		err = runTargets(ctx, cfg, log, args)
	case "temporal":
		err = runTemporal(ctx, cfg, log, args)
	case "protocol-sim":
		err = runProtocolSim(ctx, cfg, log, args)
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

func runSeed(ctx context.Context, cfg config, log *slog.Logger) error {
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SeedDemo(ctx); err != nil {
		return err
	}
	log.Info("demo municipality loaded")
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
	log.Info("console listening", "addr", "http://"+cfg.HTTPAddr+"/console/")
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
	printDevBanner(cfg, address, sims)
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

func printDevBanner(cfg config, temporalAddr string, sims *devSimulators) {
	fmt.Printf("\ndimos is running\n\n")
	fmt.Printf("  portal       http://%s/ (citizens' pages)\n", cfg.HTTPAddr)
	fmt.Printf("  console      http://%s/console/\n", cfg.HTTPAddr)
	fmt.Printf("  citizen API  http://%s/api/v1/categories (OpenAPI: /api/openapi.json)\n", cfg.HTTPAddr)
	fmt.Printf("  Open311      http://%s/open311/discovery.json\n", cfg.HTTPAddr)
	fmt.Printf("  IVR          POST http://%s/ivr/voice (TwiML webhooks)\n", cfg.HTTPAddr)
	fmt.Printf("  health       http://%s/healthz\n", cfg.HTTPAddr)
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
