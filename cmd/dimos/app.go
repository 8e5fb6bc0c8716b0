package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"dimos"
	"dimos/account"
	"dimos/activities"
	"dimos/console"
	"dimos/i18n"
	"dimos/intake"
	"dimos/ivr"
	"dimos/notify"
	"dimos/open311"
	"dimos/portal"
	"dimos/postgres"
	"dimos/protocol"
	"dimos/worker"
	"dimos/workflows"
)

// openDatabase connects, creating the database if needed, and applies migrations.
func openDatabase(ctx context.Context, cfg config, log *slog.Logger) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// dialTemporal returns a client that connects lazily: the console must start, and
// accept cases, even while Temporal is down.
func dialTemporal(address, namespace string, log *slog.Logger) (client.Client, error) {
	return client.NewLazyClient(client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    tlog.NewStructuredLogger(log.With("component", "temporal-client")),
	})
}

// outside are the clients of the systems dimos talks to.
type outside struct {
	mailer   dimos.Mailer
	sms      dimos.SMSGateway // nil: no SMS
	protocol dimos.ProtocolRegistry
}

// newMailer is the SMTP mailer of the configuration.
func newMailer(cfg config) (*notify.SMTPMailer, error) {
	addr := cfg.SMTPAddr
	if addr == "" {
		addr = "127.0.0.1:25"
	}
	return notify.NewSMTPMailer(notify.SMTPConfig{Addr: addr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
		From: cfg.SMTPFrom, FromName: cfg.Municipality, StartTLS: cfg.SMTPStartTLS})
}

// connectOutside builds the mail, SMS and protocol clients from the configuration.
func connectOutside(cfg config) (outside, error) {
	mailer, err := newMailer(cfg)
	if err != nil {
		return outside{}, err
	}
	o := outside{mailer: mailer}
	if cfg.SMSURL != "" {
		o.sms = notify.NewHTTPSMSGateway(cfg.SMSURL, cfg.SMSToken)
	}
	if cfg.ProtocolURL == "" {
		return o, fmt.Errorf("DIMOS_PROTOCOL_URL is not set: the worker needs the protocol registry")
	}
	o.protocol = protocol.NewClient(cfg.ProtocolURL, cfg.ProtocolToken, nil)
	return o, nil
}

// startWorker runs the case workflows and activities until Stop.
func startWorker(c client.Client, db *postgres.DB, out outside, cfg config, log *slog.Logger) (sdkworker.Worker, error) {
	acts := &activities.Activities{
		Cases: db, Directory: db, Notifications: db, Mailer: out.mailer, Protocol: out.protocol,
		Attachments: db, Recordings: db, RecordingHosts: cfg.RecordingHosts,
		ConsoleURL: cfg.PublicURL + "/console", PortalURL: cfg.PublicURL, Municipality: cfg.Municipality,
		Log: log.With("component", "activities"),
	}
	if out.sms != nil { // a nil *HTTPSMSGateway in the interface would not be nil
		acts.SMS = out.sms
	}
	w := worker.New(c, acts, sdkworker.Options{})
	return w, w.Start()
}

// web is the HTTP side of dimos: the staff console and the citizen API on one Fiber
// app, and the starter that gives every accepted case its workflow.
type web struct {
	app     *fiber.App
	starter *intake.Starter
}

func newWeb(cfg config, db *postgres.DB, tc client.Client, log *slog.Logger) (*web, error) {
	mailer, err := newMailer(cfg)
	if err != nil {
		return nil, err
	}
	d := workflows.Dispatcher{Client: tc, Directory: db, ReopenDays: cfg.ReopenDays}
	starter := intake.NewStarter(intake.Starter{
		Cases: db, Start: d.Start, Interval: cfg.StarterInterval, Log: log.With("component", "starter"),
	})
	app := fiber.New(fiber.Config{
		AppName:   "dimos",
		BodyLimit: 11 << 20,
		// Forms are parsed by the handlers that want them, so that a broken multipart
		// body is that handler's 400, not a connection dropped before any handler.
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  30 * time.Second,
		WriteTimeout:                 30 * time.Second,
		IdleTimeout:                  2 * time.Minute,
		DisableStartupMessage:        true,
		ErrorHandler:                 errorHandler(log),
	})
	acct := account.New(account.Config{
		Citizens: db, Mailer: mailer, Throttle: db, Log: log.With("component", "account"),
		PublicURL: cfg.PublicURL, Municipality: cfg.Municipality, SecureCookies: cfg.SecureCookies,
	})
	acct.Mount(app)
	api := intake.New(intake.Config{
		Cases: db, Directory: db, Kick: starter.Kick, Log: log.With("component", "intake"),
		Checks: map[string]dimos.Health{"postgres": db, "temporal": d},
		Work:   d, Attachments: db, Throttle: db, Citizen: acct.CitizenFromRequest,
	})
	api.Mount(app)
	intake.MountOpenAPI(app)
	portal.New(portal.Config{
		Intake: api, Directory: db, Cases: db, Citizen: acct.CitizenFromRequest,
		Accounts: acct, Citizens: db, Work: d, Attachments: db,
		Log: log.With("component", "portal"), SecureCookies: cfg.SecureCookies, Municipality: cfg.Municipality,
	}).Mount(app)
	ivr.New(ivr.Config{
		Cases: db, Directory: db, Citizens: db, Recordings: db, Throttle: db,
		Kick: starter.Kick, AuthToken: cfg.IVRAuthToken, PublicURL: cfg.IVRPublicURL,
		Secret: []byte(cfg.IVRSecret), Log: log.With("component", "ivr"),
	}).Mount(app)
	open311.New(open311.Config{
		Cases: db, Directory: db, Keys: db, Requests: db, Kick: starter.Kick,
		Log: log.With("component", "open311"), Jurisdiction: cfg.Open311Jurisdiction, BaseURL: cfg.PublicURL,
	}).Mount(app)
	console.New(console.Config{
		Cases: db, Directory: db, Sessions: db, Audit: db, Throttle: db, Work: d, Attachments: db,
		Staff: db, Services: db, Citizens: db, APIKeys: db, Search: db, AuditLog: db, Reports: reportsOf(db),
		Logger: log.With("component", "console"), TemporalUIURL: cfg.TemporalUIURL,
		Namespace: cfg.TemporalNamespace, SecureCookies: cfg.SecureCookies, IdleTimeout: cfg.SessionIdle,
	}).Mount(app)
	return &web{app: app, starter: starter}, nil
}

// errorHandler answers what no handler answered itself (unknown routes, bodies over
// the limit) without leaking internals.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		code := fiber.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code = fe.Code
		} else {
			log.Error("unhandled request error", "method", c.Method(), "path", c.Path(), "err", err)
		}
		key := fmt.Sprintf("http.%d", code)
		if !i18n.Has(key) {
			key = "error.internal"
		}
		el, en := i18n.Both(key)
		return c.Status(code).JSON(fiber.Map{"error": fiber.Map{"code": code, "message": fiber.Map{"el": el, "en": en}}})
	}
}

// serve runs the web side on addr until ctx ends, then shuts down gracefully.
func (w *web) serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return w.serveListener(ctx, ln)
}

func (w *web) serveListener(ctx context.Context, ln net.Listener) error {
	go w.starter.Run(ctx)
	errc := make(chan error, 1)
	go func() { errc <- w.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return w.app.ShutdownWithTimeout(10 * time.Second)
	}
}
