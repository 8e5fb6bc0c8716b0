package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"dimos"
	"dimos/loadgen"
	"dimos/postgres"
)

// runLoadgen drives a running dimos (by default `dimos dev` on DIMOS_HTTP_ADDR) with
// whole case lifecycles and prints throughput and latency percentiles.
func runLoadgen(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	base := fs.String("url", "http://"+cfg.HTTPAddr, "where dimos serves its citizens and its console")
	concurrency := fs.Int("c", 8, "lifecycles in flight at once")
	cases := fs.Int("n", 0, "stop after this many lifecycles")
	duration := fs.Duration("d", 0, "stop starting lifecycles after this long (when -n is 0; default 30s)")
	portal := fs.Float64("portal", 0.6, "share of cases filed on the portal's JSON API")
	open311 := fs.Float64("open311", 0.2, "share of cases filed through Open311")
	ivr := fs.Float64("ivr", 0.2, "share of cases filed on the phone line")
	key := fs.String("open311-key", "", "Open311 API key; empty: the admin issues one through the console")
	password := fs.String("password", postgres.DemoPassword, "password of the demo staff sign-ins")
	timeout := fs.Duration("timeout", time.Minute, "bound of each request and of each wait for the workflow")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cases <= 0 && *duration <= 0 {
		*duration = 30 * time.Second
	}
	total := *cases
	if total <= 0 {
		total = -1 // a spinner: the count is not known ahead
	}
	bar := progressbar.NewOptions(total, progressbar.OptionSetDescription("lifecycles"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("cases"),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
	res, err := loadgen.Run(ctx, loadgen.Config{
		BaseURL: *base, Concurrency: *concurrency, Cases: *cases, Duration: *duration,
		Mix:   loadgen.Mix{Portal: *portal, Open311: *open311, IVR: *ivr},
		Staff: demoTeams(), Password: *password, Admin: "admin", Open311Key: *key,
		Jurisdiction: cfg.Open311Jurisdiction, Timeout: *timeout,
		Progress: func() { bar.Add(1) }, //nolint:errcheck // a progress bar that cannot draw is no error
	})
	bar.Finish() //nolint:errcheck
	if res != nil {
		res.Print(os.Stdout)
	}
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		log.Warn("some lifecycles failed", "failed", res.Failed, "first", res.FirstError)
	}
	return nil
}

// demoTeams are the demo municipality's categories that a citizen files complaints
// under and that the director assigns by hand, with the staff who work them.
func demoTeams() map[string]loadgen.Team {
	teams := map[string]loadgen.Team{}
	for _, cat := range postgres.DemoCategories {
		if cat.AutoAssign || !slices.Contains(cat.Kinds, dimos.KindComplaint) {
			continue
		}
		var t loadgen.Team
		for _, s := range postgres.DemoServices {
			if s.Code != cat.Service {
				continue
			}
			for _, e := range s.Staff {
				switch e.Role {
				case dimos.RoleDirector:
					t.Director = e.Username
				case dimos.RoleClerk:
					t.Clerks = append(t.Clerks, loadgen.Clerk{Username: e.Username, FullName: e.FullName})
				}
			}
		}
		if t.Director != "" && len(t.Clerks) > 0 {
			teams[cat.Code] = t
		}
	}
	return teams
}
