package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
		Attachments: db, Recordings: db, Merges: db, RecordingHosts: cfg.RecordingHosts, Reports: db,
		ConsoleURL: cfg.PublicURL + "/console", PortalURL: cfg.PublicURL, Municipality: cfg.Municipality,
		Log: log.With("component", "activities"),
	}
	if out.sms != nil { // a nil *HTTPSMSGateway in the interface would not be nil
		acts.SMS = out.sms
	}
	w := worker.New(c, acts, sdkworker.Options{})
	if err := w.Start(); err != nil {
		return w, err
	}
	// The weekly delay report to managers: created on first start, brought up to
	// date on every later one. A failure here must not stop the case work.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := workflows.EnsureWeeklySchedule(ctx, c); err != nil {
		log.Error("weekly report schedule", "err", err)
	}
	return w, nil
}

// web is the HTTP side of dimos: the staff console and the citizen API on one Fiber
// app, and the starter that gives every accepted case its workflow.
type web struct {
	app     *fiber.App
	starter *intake.Starter
	tls     *tls.Config // nil: plain HTTP (behind a reverse proxy, or on a developer's machine)
	// redirectAddr, with tls, is a plain HTTP address whose every request is sent to HTTPS.
	redirectAddr string
	log          *slog.Logger
}

// hsts tells browsers to come back only over HTTPS, for a year; sent only when dimos
// serves TLS itself, since over plain HTTP browsers ignore it anyway.
const hsts = "max-age=31536000"

// tlsConfig is the TLS of a dimos that serves HTTPS itself: the certificate and key
// of the configuration, and nothing older than TLS 1.2.
func tlsConfig(cfg config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("DIMOS_TLS_CERT, DIMOS_TLS_KEY: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func newWeb(cfg config, db *postgres.DB, tc client.Client, log *slog.Logger) (*web, error) {
	mailer, err := newMailer(cfg)
	if err != nil {
		return nil, err
	}
	d := workflows.Dispatcher{Client: tc, Directory: db, ReopenDays: cfg.ReopenDays}
	starter := intake.NewStarter(intake.Starter{
		Cases: db, Start: d.Start, Interval: cfg.StarterInterval, Workers: cfg.StarterWorkers,
		Log: log.With("component", "starter"),
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
	w := &web{app: app, redirectAddr: cfg.HTTPRedirectAddr, log: log}
	if cfg.tls() {
		if w.tls, err = tlsConfig(cfg); err != nil {
			return nil, err
		}
		app.Use(func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderStrictTransportSecurity, hsts)
			return c.Next()
		})
	}
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
		Staff: db, Services: db, Citizens: db, APIKeys: db, Search: db, AuditLog: db, Admin: db, Retarget: d, Reports: db,
		Duplicates: db, DuplicateRadiusM: cfg.DuplicateRadiusM, Map: db, MapTiles: cfg.MapTiles, MapAttribution: cfg.MapAttribution,
		Logger: log.With("component", "console"), TemporalUIURL: cfg.TemporalUIURL,
		Namespace: cfg.TemporalNamespace, SecureCookies: cfg.SecureCookies, IdleTimeout: cfg.SessionIdle,
	}).Mount(app)
	w.starter = starter
	return w, nil
}

// scheme is how the web side is reached: https when it serves TLS itself.
func (w *web) scheme() string {
	if w.tls != nil {
		return "https"
	}
	return "http"
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

// serve runs the web side on addr until ctx ends, then shuts down gracefully; with
// a redirect address, a plain HTTP server there sends every request to HTTPS on addr.
func (w *web) serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if w.tls != nil && w.redirectAddr != "" {
		_, port, _ := net.SplitHostPort(addr)
		rln, err := net.Listen("tcp", w.redirectAddr)
		if err != nil {
			ln.Close()
			return err
		}
		srv := &http.Server{Handler: redirectToHTTPS(port), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(rln) //nolint:errcheck // ends with ErrServerClosed at shutdown
		defer srv.Close()
	}
	return w.serveListener(ctx, ln)
}

// redirectToHTTPS answers every plain HTTP request with a permanent redirect to the
// same host and path over HTTPS on port (443 is left out of the URL).
func redirectToHTTPS(port string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != "" && port != "443" {
			host = net.JoinHostPort(host, port)
		}
		http.Redirect(rw, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// serveListener serves on ln, wrapped in TLS when dimos serves HTTPS itself.
func (w *web) serveListener(ctx context.Context, ln net.Listener) error {
	if w.tls != nil {
		ln = tls.NewListener(ln, w.tls)
	}
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
