// Package activities holds the side effects of case workflows: everything that reads or
// writes the database or talks to the outside world. Dependencies are the root
// package's interfaces, injected, so tests can give fakes and production gives
// PostgreSQL, SMTP, the SMS gateway and the protocol registry. Every method is
// idempotent: a retry never doubles a row, a mail, an SMS or a protocol number.
package activities

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"

	"dimos"
	"dimos/reports"
)

// Activities is registered on the worker as one struct; workflows refer to its methods.
type Activities struct {
	Cases         dimos.CaseStore
	Directory     dimos.Directory
	Notifications dimos.NotificationLog
	Mailer        dimos.Mailer
	SMS           dimos.SMSGateway
	Protocol      dimos.ProtocolRegistry
	Attachments   dimos.AttachmentStore
	Recordings    dimos.RecordingStore
	// Merges keeps merged cases and their followers; nil means no case has any.
	Merges dimos.MergeStore
	// Reports computes the weekly delay report mailed to managers (MailWeeklyReport).
	Reports reports.Source
	// RecordingHosts are the only hosts phone recordings are fetched from (the
	// telephony provider's), lower case.
	RecordingHosts []string
	HTTPClient     *http.Client
	// ConsoleURL is the console's public base, e.g. https://dimos.example.gr/console,
	// for links in mails to staff; PortalURL the citizens' tracking base.
	ConsoleURL   string
	PortalURL    string
	Municipality string // the name mails are signed with, e.g. "Δήμος Πυλαίας-Χορτιάτη"
	Log          *slog.Logger
	Now          func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Activities) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.New(slog.DiscardHandler)
}

// refusal turns a business error into a non-retryable application error whose type is
// the dimos code and whose message is the catalogue key: retrying cannot change the
// answer, and the workflow hands it on to whoever asked.
func refusal(err error) error {
	var de *dimos.Error
	if errors.As(err, &de) && de.Code != dimos.EUNAVAILABLE && de.Code != dimos.EINTERNAL {
		return temporal.NewNonRetryableApplicationError(de.Key, de.Code, err)
	}
	return err
}

// RouteInput asks where a case goes.
type RouteInput struct {
	CaseID       int64
	CategoryCode string
}

// RouteCase finds the responsible service and its director for a case's category
// (M10). It reads the organisation at the moment of routing, so an admin's change of
// director or of a category's service applies to the next case routed.
func (a *Activities) RouteCase(ctx context.Context, in RouteInput) (dimos.Routing, error) {
	r, err := a.Directory.RoutingFor(ctx, in.CategoryCode)
	return r, refusal(err)
}

// RouteToService finds the director of a service chosen by hand (a transfer).
func (a *Activities) RouteToService(ctx context.Context, serviceID int64) (dimos.Routing, error) {
	r, err := a.Directory.RoutingForService(ctx, serviceID)
	return r, refusal(err)
}

// PickClerk returns the least-loaded clerk of a service, or 0 when it has none (the
// case then stays with the director).
func (a *Activities) PickClerk(ctx context.Context, serviceID int64) (int64, error) {
	id, err := a.Cases.LeastLoadedClerk(ctx, serviceID)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return 0, nil
	}
	return id, err
}

// AssigneeInput names who a case is to be given to, and the service that holds it.
type AssigneeInput struct {
	ServiceID  int64
	EmployeeID int64
}

// CheckAssignee refuses an assignment to someone who is not an active member of the
// service holding the case: a validator cannot know the staff list, so the handler asks
// here before anything is written.
func (a *Activities) CheckAssignee(ctx context.Context, in AssigneeInput) (dimos.Employee, error) {
	e, err := a.Directory.EmployeeByID(ctx, in.EmployeeID)
	if err != nil {
		if dimos.ErrorCode(err) == dimos.ENOTFOUND {
			err = dimos.Errorf(dimos.EINVALID, "error.assign.not_in_service")
		}
		return dimos.Employee{}, refusal(err)
	}
	if !e.Active || e.ServiceID != in.ServiceID || e.Role == dimos.RoleDesk {
		return dimos.Employee{}, refusal(dimos.Errorf(dimos.EINVALID, "error.assign.not_in_service"))
	}
	e.PasswordHash = ""
	return *e, nil
}

// RecordTransition writes a stage change of a case: it closes the current stage
// timing, opens the next, updates the case and appends the timeline event. The store
// keys it by case and stage sequence, so a retry changes nothing.
func (a *Activities) RecordTransition(ctx context.Context, t dimos.Transition) error {
	return a.Cases.RecordTransition(ctx, t)
}

// ApplyChange writes a change that moves no stage (a comment, a due date, a rating),
// once per key.
func (a *Activities) ApplyChange(ctx context.Context, ch dimos.CaseChange) error {
	return refusal(a.Cases.ApplyChange(ctx, ch))
}

// RegisterInput asks for a case's registration in the protocol.
type RegisterInput struct {
	CaseID int64
	Number string
}

// RegisterProtocol registers a case in the municipality's protocol (M11) and records
// the protocol number on the case. The case number is the registry's idempotency key,
// and a case already registered is not sent again, so however often this runs the
// case has one protocol number. While the registry cannot register, the error is
// retryable and the workflow keeps trying.
func (a *Activities) RegisterProtocol(ctx context.Context, in RegisterInput) (dimos.ProtocolEntry, error) {
	c, err := a.Cases.CaseByNumber(ctx, in.Number)
	if err != nil {
		return dimos.ProtocolEntry{}, refusal(err)
	}
	if c.Protocol.Number != "" {
		return c.Protocol, nil
	}
	req := dimos.ProtocolRequest{CaseNumber: c.Number, Kind: c.Kind, Subject: c.Subject, ReceivedAt: c.SubmittedAt}
	if !c.Anonymous {
		req.Applicant = c.Contact.FullName()
	}
	if c.ServiceID != 0 {
		if s, err := a.Directory.ServiceByID(ctx, c.ServiceID); err == nil {
			req.Service = s.Code
		}
	}
	entry, err := a.Protocol.Register(ctx, req)
	if err != nil {
		if dimos.ErrorCode(err) == dimos.EINVALID {
			return dimos.ProtocolEntry{}, refusal(err)
		}
		return dimos.ProtocolEntry{}, err // unavailable: retry
	}
	err = a.Cases.ApplyChange(ctx, dimos.CaseChange{CaseID: c.ID, Key: "protocol", Protocol: &entry,
		Event: dimos.CaseEvent{Type: "protocol_registered", At: a.now(), Public: true, Body: entry.Number}})
	return entry, err
}

// MergeCase records a duplicate's merge into its original (dimos.MergeStore). The
// workflow's validator checked what the duplicate knows; this checks the original,
// under lock, and refuses for good what cannot be merged.
func (a *Activities) MergeCase(ctx context.Context, m dimos.Merge) error {
	if a.Merges == nil {
		return temporal.NewNonRetryableApplicationError("error.unavailable", dimos.EUNAVAILABLE, nil)
	}
	return refusal(a.Merges.MergeCase(ctx, m))
}
