package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"dimos"
	"dimos/postgres"
	"dimos/workflows"
)

// runTargets changes a category's clocks, in working days, and tells its open cases,
// for which the new targets apply at once:
//
//	dimos targets --category potholes --assign 1 --response 2 --completion 10
func runTargets(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("targets", flag.ContinueOnError)
	code := fs.String("category", "", "category code (required)")
	var t dimos.Targets
	fs.Float64Var(&t.AssignDays, "assign", 0, "working days until a clerk holds the case (0 = no target)")
	fs.Float64Var(&t.ResponseDays, "response", 0, "working days until the first response to the citizen")
	fs.Float64Var(&t.CompletionDays, "completion", 0, "working days until completion")
	fs.Float64Var(&t.StatutoryDays, "statutory", dimos.StatutoryDays, "the legal limit in working days")
	fs.Float64Var(&t.InfoReplyDays, "info-reply", 15, "working days the citizen has to answer a request for information")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *code == "" {
		return fmt.Errorf("targets: --category is required")
	}
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
	n, err := retarget(ctx, db, workflows.Dispatcher{Client: tc}, *code, t)
	log.Info("category targets changed", "category", *code, "open_cases_told", n)
	return err
}

// retarget stores a category's new clocks and tells its open cases.
func retarget(ctx context.Context, db *postgres.DB, d workflows.Dispatcher, code string, t dimos.Targets) (int, error) {
	numbers, err := db.SetCategoryTargets(ctx, code, t)
	if err != nil {
		return 0, err
	}
	return d.Retarget(ctx, numbers, t)
}
