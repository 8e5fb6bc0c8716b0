// Package intake is the citizen-facing HTTP surface: the portal's JSON API (and later
// Open311 and the IVR). It accepts a submission only after storing it, so an accepted
// case is kept even when Temporal is down at that moment.
package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
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

// text is a sentence in both languages, Greek first.
type text struct {
	EL string `json:"el"`
	EN string `json:"en"`
}

func both(key string) text {
	el, en := i18n.Both(key)
	return text{el, en}
}

type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message text   `json:"message"`
}

type errorBody struct {
	Error struct {
		Code    string       `json:"code"`
		Message text         `json:"message"`
		Fields  []fieldError `json:"fields,omitempty"`
	} `json:"error"`
}

// fail answers with err translated: its status from the domain code, its message in
// Greek and English, and every field error. Internal errors are logged, not shown.
func (a *API) fail(c *fiber.Ctx, err error) error {
	code := dimos.ErrorCode(err)
	var body errorBody
	body.Error.Code = code
	body.Error.Message = both(dimos.ErrorKey(err))
	var de *dimos.Error
	if errors.As(err, &de) {
		for _, f := range de.Fields {
			body.Error.Fields = append(body.Error.Fields, fieldError{f.Field, f.Key, both(f.Key)})
		}
	}
	if code == dimos.EINTERNAL {
		a.cfg.Log.Error("api request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	return c.Status(dimos.HTTPStatus(code)).JSON(body)
}

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
		out = append(out, categoryJSON{cat.Code, text{cat.NameEL, cat.NameEN}, cat.Kinds})
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
}

// citizenKinds are the kinds a citizen may file without signing in; certificate
// applications need a verified account (M3).
var citizenKinds = map[dimos.Kind]bool{dimos.KindRequest: true, dimos.KindComplaint: true, dimos.KindSuggestion: true}

func (a *API) submit(c *fiber.Ctx) error {
	var s submission
	if err := decodeJSON(c.Body(), &s); err != nil {
		return a.fail(c, err)
	}
	cs := &dimos.Case{
		Kind: dimos.Kind(s.Kind), CategoryCode: strings.TrimSpace(s.Category), Channel: dimos.ChannelPortal,
		Subject: strings.TrimSpace(s.Subject), Text: strings.TrimSpace(s.Text),
		DesiredAction: strings.TrimSpace(s.DesiredAction), Anonymous: s.Anonymous,
		Contact: trimContact(s.Contact), Lang: i18n.Lang(s.Lang),
	}
	if len(c.Body()) > maxJSONBody {
		return a.fail(c, dimos.Errorf(dimos.EINVALID, "error.body.too_large"))
	}
	if cs.Anonymous {
		cs.Contact = dimos.Contact{} // M4: keep nothing the citizen did not have to give
	}
	if err := a.validate(c.UserContext(), cs); err != nil {
		return a.fail(c, err)
	}
	var key string
	if !cs.Anonymous {
		// The key to the citizen's own case; anonymous cases cannot be followed (M5).
		key, cs.AccessKeyHash = newAccessKey()
	}
	if err := a.cfg.Cases.SubmitCase(c.UserContext(), cs); err != nil {
		return a.fail(c, err)
	}
	a.cfg.Kick(cs)
	a.cfg.Log.Info("case accepted", "case", cs.Number, "category", cs.CategoryCode, "channel", cs.Channel)
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

// validate reports every problem of a submission at once, the category included.
func (a *API) validate(ctx context.Context, cs *dimos.Case) error {
	var fields []dimos.FieldError
	var de *dimos.Error
	if err := cs.Validate(); errors.As(err, &de) {
		fields = de.Fields
	} else if err != nil {
		return err
	}
	if cs.Kind.Valid() && !citizenKinds[cs.Kind] {
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

// decodeJSON decodes one JSON object strictly: unknown fields, wrong types and
// trailing data are the client's errors, reported per field where possible.
func decodeJSON(body []byte, v any) error {
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; refuse it instead,
	// so that no citizen's text is stored mangled.
	if !utf8.Valid(body) {
		return dimos.Errorf(dimos.EINVALID, "error.body.utf8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return dimos.Errorf(dimos.EINVALID, "error.body")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: typeErr.Field, Key: "field.type"}}}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: field, Key: "field.unknown"}}}
	}
	return dimos.Errorf(dimos.EINVALID, "error.body")
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
