// Package activities holds the side effects of case workflows: everything that reads or
// writes the database or talks to the outside world. Dependencies are the root
// package's interfaces, injected, so tests can give fakes and production gives
// PostgreSQL. Every method is idempotent: a retry never doubles a row.
package activities

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/temporal"

	"dimos"
)

// Activities is registered on the worker as one struct; workflows refer to its methods.
type Activities struct {
	Cases     dimos.CaseStore
	Directory dimos.Directory
	Log       *slog.Logger
}

// RouteInput asks where a case goes.
type RouteInput struct {
	CaseID       int64
	CategoryCode string
}

// RouteCase finds the responsible service and its director for a case's category
// (M10). It reads the organisation at the moment of routing, so an admin's change of
// director applies to the next case routed.
func (a *Activities) RouteCase(ctx context.Context, in RouteInput) (dimos.Routing, error) {
	r, err := a.Directory.RoutingFor(ctx, in.CategoryCode)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		// The category vanished after the case was accepted: retrying cannot help.
		return r, temporal.NewNonRetryableApplicationError("category has no routing", dimos.ENOTFOUND, err, in.CategoryCode)
	}
	return r, err
}

// RecordTransition writes a stage change of a case: it closes the current stage
// timing, opens the next, updates the case and appends the timeline event. The store
// keys it by case and stage sequence, so a retry changes nothing.
func (a *Activities) RecordTransition(ctx context.Context, t dimos.Transition) error {
	return a.Cases.RecordTransition(ctx, t)
}
