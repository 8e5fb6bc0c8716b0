// Package intake is the citizen-facing HTTP surface: the portal's JSON API (and later
// Open311 and the IVR). It accepts a submission only after storing it, so an accepted
// case is kept even when Temporal is down at that moment.
package intake

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/jsonapi"
	"dimos/workflows"
)

// Config wires the API to its dependencies.
type Config struct {
	Cases     dimos.CaseStore
	Directory dimos.Directory
	// Kick is told of every accepted case so that its workflow starts at once.
	Kick func(*dimos.Case)
	// Checks are the dependencies /healthz reports on, by name. "postgres" is
	// required for intake to work; the others are reported but do not fail it.
	Checks map[string]dimos.Health
	Log    *slog.Logger
	// Work carries the citizen's updates to the case workflow (workflows.Dispatcher).
	Work        Work
	Attachments dimos.AttachmentStore
	// Throttle slows down guessing of case keys.
	Throttle dimos.Throttle
	// Citizen returns the signed-in citizen of a request (account.API's
	// CitizenFromRequest); nil when dimos runs without accounts.
	Citizen func(*fiber.Ctx) (*dimos.Citizen, error)
}

// Work is the part of the workflow client the citizen API needs.
type Work interface {
	Update(ctx context.Context, number, name string, req any) (workflows.Done, error)
}

// API serves the citizen JSON API.
type API struct{ cfg Config }

// New returns the API.
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Kick == nil {
		cfg.Kick = func(*dimos.Case) {}
	}
	return &API{cfg: cfg}
}

// Mount registers the routes.
func (a *API) Mount(r fiber.Router) {
	r.Get("/healthz", a.health)
	v1 := r.Group("/api/v1")
	v1.Get("/categories", a.categories)
	v1.Post("/cases", a.submit)
	v1.Get("/cases/:number/status", a.status)
	v1.Get("/cases/:number", a.caseDetail)
	v1.Post("/cases/:number/comments", a.citizenComment)
	v1.Post("/cases/:number/attachments", a.citizenAttach)
	v1.Post("/cases/:number/rating", a.rate)
	v1.Post("/cases/:number/reopen", a.reopen)
}

type text = jsonapi.Text

func both(key string) text { return jsonapi.Both(key) }

func (a *API) fail(c *fiber.Ctx, err error) error { return jsonapi.Fail(c, a.cfg.Log, err) }

func (a *API) health(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	status, httpStatus := "ok", fiber.StatusOK
	for name, h := range a.cfg.Checks {
		if err := h.Ping(ctx); err != nil {
			checks[name] = "unavailable"
			if name == "postgres" {
				status, httpStatus = "unavailable", fiber.StatusServiceUnavailable
			} else if status == "ok" {
				status = "degraded"
			}
			continue
		}
		checks[name] = "ok"
	}
	return c.Status(httpStatus).JSON(fiber.Map{"status": status, "checks": checks})
}

type categoryJSON struct {
	Code  string       `json:"code"`
	Name  text         `json:"name"`
	Kinds []dimos.Kind `json:"kinds"`
}

func (a *API) categories(c *fiber.Ctx) error {
	cats, err := a.cfg.Directory.Categories(c.UserContext())
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]categoryJSON, 0, len(cats))
	for _, cat := range cats {
		out = append(out, categoryJSON{cat.Code, text{EL: cat.NameEL, EN: cat.NameEN}, cat.Kinds})
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.JSON(out)
}

// submission is the body of POST /api/v1/cases.
type submission struct {
	Kind          string        `json:"kind"`
	Category      string        `json:"category"`
	Subject       string        `json:"subject"`
	Text          string        `json:"text"`
	DesiredAction string        `json:"desired_action"`
	Anonymous     bool          `json:"anonymous"`
	Contact       dimos.Contact `json:"contact"`
	Lang          string        `json:"lang"`
	Location      *dimos.Point  `json:"location"` // optional point on the map (M6)
	Address       string        `json:"address"`
	Purpose       string        `json:"purpose"`  // certificates: what it is for (M7)
	Delivery      string        `json:"delivery"` // certificates: town_hall, kep, post, electronic
}

// citizenKinds are the kinds a citizen may file without signing in; certificate
// applications need a verified account (M3).

// citizen returns the signed-in citizen, if any. Only a request that carries a bearer
// token, or is JSON (which another site's form cannot send), is taken as the
// citizen's: a cookie alone would let a foreign page file cases in their name.
func (a *API) citizen(c *fiber.Ctx) (*dimos.Citizen, error) {
	if a.cfg.Citizen == nil {
		return nil, nil
	}
	bearer := c.Get(fiber.HeaderAuthorization) != ""
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if !bearer && mt != fiber.MIMEApplicationJSON {
		return nil, nil
	}
	cit, err := a.cfg.Citizen(c)
	if dimos.ErrorCode(err) == dimos.EUNAUTHORIZED && !bearer {
		return nil, nil // no session: an anonymous or contact-only submission
	}
	return cit, err
}

var citizenKinds = map[dimos.Kind]bool{dimos.KindRequest: true, dimos.KindComplaint: true, dimos.KindSuggestion: true}

func (a *API) submit(c *fiber.Ctx) error {
	var s submission
	if err := jsonapi.Decode(c.Body(), &s); err != nil {
		return a.fail(c, err)
	}
	cit, err := a.citizen(c)
	if err != nil {
		return a.fail(c, err)
	}
	cs := &dimos.Case{
		Kind: dimos.Kind(s.Kind), CategoryCode: strings.TrimSpace(s.Category), Channel: dimos.ChannelPortal,
		Subject: strings.TrimSpace(s.Subject), Text: strings.TrimSpace(s.Text),
		DesiredAction: strings.TrimSpace(s.DesiredAction), Anonymous: s.Anonymous,
		Contact: trimContact(s.Contact), Lang: i18n.Lang(s.Lang),
		Location: s.Location, Address: strings.TrimSpace(s.Address), Purpose: strings.TrimSpace(s.Purpose),
		Delivery: dimos.Delivery(s.Delivery),
	}
	key, err := a.Accept(c.UserContext(), cs, cit)
	if err != nil {
		return a.fail(c, err)
	}
	c.Location("/api/v1/cases/" + cs.Number + "/status")
	out := fiber.Map{
		"number": cs.Number, "status": cs.Status, "status_text": both("status." + string(cs.Status)),
		"trackable": !cs.Anonymous,
	}
	if key != "" {
		out["access_key"] = key
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// Accept validates a submission, stores it and has its workflow started: the one way
// a case enters dimos from the portal, as JSON or as an HTML form. cit is the signed-in
// citizen or nil. It returns the key to the citizen's own case ("" for an anonymous
// one), which is shown to them once and kept only as a hash.
func (a *API) Accept(ctx context.Context, cs *dimos.Case, cit *dimos.Citizen) (key string, err error) {
	if cs.Anonymous {
		cs.Contact = dimos.Contact{} // M4: keep nothing the citizen did not have to give
	} else if cit != nil {
		// M6: a signed-in citizen's case carries their registered details.
		cs.CitizenID = cit.ID
		if cs.Contact == (dimos.Contact{}) {
			cs.Contact = cit.Contact()
		}
	}
	if err := a.validate(ctx, cs, cit); err != nil {
		return "", err
	}
	if !cs.Anonymous {
		// The key to the citizen's own case; anonymous cases cannot be followed (M5).
		key, cs.AccessKeyHash = newAccessKey()
	}
	if err := a.cfg.Cases.SubmitCase(ctx, cs); err != nil {
		return "", err
	}
	a.cfg.Kick(cs)
	a.cfg.Log.Info("case accepted", "case", cs.Number, "category", cs.CategoryCode, "channel", cs.Channel)
	return key, nil
}

// validate reports every problem of a submission at once, the category included.
func (a *API) validate(ctx context.Context, cs *dimos.Case, cit *dimos.Citizen) error {
	var fields []dimos.FieldError
	var de *dimos.Error
	if err := cs.Validate(); errors.As(err, &de) {
		fields = de.Fields
	} else if err != nil {
		return err
	}
	if cs.Kind == dimos.KindCertificate && !cs.Anonymous && cit != nil && !cit.Verified() {
		// M3: certificates open only to citizens verified in person.
		fields = append(fields, dimos.FieldError{Field: "kind", Key: "field.kind.verification"})
	} else if cs.Kind.Valid() && !citizenKinds[cs.Kind] && !(cs.Kind == dimos.KindCertificate && cit != nil) {
		fields = append(fields, dimos.FieldError{Field: "kind", Key: "field.kind.unknown"})
	}
	if cs.CategoryCode != "" {
		cat, err := a.cfg.Directory.CategoryByCode(ctx, cs.CategoryCode)
		switch {
		case dimos.ErrorCode(err) == dimos.ENOTFOUND:
			fields = append(fields, dimos.FieldError{Field: "category", Key: "field.category.unknown"})
		case err != nil:
			return err
		case cs.Kind.Valid() && !cat.Allows(cs.Kind):
			fields = append(fields, dimos.FieldError{Field: "category", Key: "field.category.kind"})
		}
	}
	if len(fields) > 0 {
		return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid", Fields: fields}
	}
	return nil
}

func trimContact(c dimos.Contact) dimos.Contact {
	return dimos.Contact{
		FirstName: strings.TrimSpace(c.FirstName), LastName: strings.TrimSpace(c.LastName),
		Email: strings.TrimSpace(c.Email), Phone: strings.TrimSpace(c.Phone),
	}
}

func (a *API) status(c *fiber.Ctx) error {
	number, ok := dimos.ParseCaseNumber(c.Params("number"))
	if !ok {
		return a.fail(c, &dimos.Error{Code: dimos.EINVALID, Key: "error.case.number",
			Fields: []dimos.FieldError{{Field: "number", Key: "error.case.number"}}})
	}
	cs, err := a.cfg.Cases.CaseByNumber(c.UserContext(), number)
	if err != nil {
		return a.fail(c, err)
	}
	if cs.Anonymous {
		return a.fail(c, dimos.Errorf(dimos.EFORBIDDEN, "error.case.anonymous"))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{
		"number": cs.Number, "status": cs.Status, "status_text": both("status." + string(cs.Status)),
		"submitted_at": cs.SubmittedAt, "completed_at": nullTime(cs.CompletedAt),
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
