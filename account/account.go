// Package account is the citizen's account on the portal's JSON API under
// /api/v1/account: registration and activation by e-mail with an IVR PIN (M1, M2),
// sign-in, the citizen's details, the request for verification at a service desk
// (M3), the citizen's own cases (M15), and the export and erasure of their data (M4).
//
// Secrets are never stored: passwords and PINs as bcrypt hashes, tokens (activation,
// session, reset) as their SHA-256.
package account

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/jsonapi"
)

// Lifetimes and limits.
const (
	ActivationTTL = 48 * time.Hour
	SessionTTL    = 30 * 24 * time.Hour
	ResetTTL      = 2 * time.Hour

	// Sign-in failures allowed within ThrottleWindow per account and per address.
	ThrottleWindow     = 15 * time.Minute
	MaxAccountFailures = 5
	MaxAddressFailures = 20
	// MaxMailsPerAddress bounds the mails (registrations, forgotten PINs and
	// passwords) one address may cause within ThrottleWindow, so that nobody can
	// flood a mailbox through us.
	MaxMailsPerAddress = 20
	// MaxMailsPerAccount bounds forgotten-PIN and password mails per account.
	MaxMailsPerAccount = 3

	// CookieName carries the session token for the portal's pages.
	CookieName = "dimos_citizen"

	maxJSONBody = 64 << 10
	pinDigits   = 6
)

// Config wires the API to its dependencies.
type Config struct {
	Citizens dimos.CitizenStore
	Mailer   dimos.Mailer
	Throttle dimos.Throttle
	Log      *slog.Logger
	Now      func() time.Time
	// PublicURL is where citizens reach dimos, without a trailing slash; links in
	// mails start with it.
	PublicURL string
	// Municipality signs the mails, e.g. "Δήμος Αγίου Νικολάου".
	Municipality string
	// SecureCookies marks the session cookie Secure (behind HTTPS).
	SecureCookies bool
	// BcryptCost is bcrypt.DefaultCost when zero; tests lower it.
	BcryptCost int
}

// API serves the citizen's account.
type API struct{ cfg Config }

// New returns the API.
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &API{cfg: cfg}
}

// Mount registers the routes under /api/v1/account.
func (a *API) Mount(r fiber.Router) {
	g := r.Group("/api/v1/account")
	g.Post("/register", a.register)
	g.Get("/activate", a.activate)
	g.Post("/login", a.login)
	g.Post("/forgot", a.forgot)
	g.Post("/reset", a.reset)
	g.Post("/logout", a.signedIn(a.logout))
	g.Get("/profile", a.signedIn(a.profile))
	g.Patch("/profile", a.signedIn(a.updateProfile))
	g.Post("/verification", a.signedIn(a.requestVerification))
	g.Get("/cases", a.signedIn(a.cases))
	g.Get("/export", a.signedIn(a.export))
	g.Post("/erase", a.signedIn(a.erase))
}

func both(key string) jsonapi.Text { return jsonapi.Both(key) }

func (a *API) fail(c *fiber.Ctx, err error) error { return jsonapi.Fail(c, a.cfg.Log, err) }

// ok answers a JSON body that must not be cached: everything here is personal.
func ok(c *fiber.Ctx, status int, body any) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(body)
}

// message is the small answer of an action: a status word and a sentence.
func message(status, key string) fiber.Map {
	return fiber.Map{"status": status, "message": both(key)}
}

func invalidField(field, key string) error { return jsonapi.InvalidField(field, key) }

// decodeBody decodes the request's JSON body strictly.
func decodeBody(c *fiber.Ctx, v any) error { return jsonapi.Decode(c.Body(), v) }

// mergeInvalid joins the field errors of several validations into one EINVALID
// error, so that a form reports everything at once; other errors pass through.
func mergeInvalid(errs ...error) error {
	var fields []dimos.FieldError
	for _, err := range errs {
		var de *dimos.Error
		switch {
		case err == nil:
		case errors.As(err, &de) && de.Code == dimos.EINVALID:
			fields = append(fields, de.Fields...)
		default:
			return err
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid", Fields: fields}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
