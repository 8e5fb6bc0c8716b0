package portal

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

type trackView struct {
	pageView
	Number      string // as typed, shown again in the field
	ErrorKey    string // beside the field
	NotFound    bool
	Anonymous   bool
	Found       bool
	CaseNumber  string
	StatusKey   string
	Status      dimos.Status
	SubmittedAt time.Time
	CompletedAt time.Time
}

// track answers GET /track?number=: the public status of a case, without signing in
// (M14). Anonymous cases are not told apart from the others by anything but the
// sentence that they cannot be tracked (M5).
func (p *Portal) track(c *fiber.Ctx) error {
	typed := strings.Clone(strings.TrimSpace(c.Query("number")))
	v := trackView{pageView: p.page(c, "/track", "track"), Number: typed}
	if typed == "" {
		if _, asked := c.Queries()["number"]; asked {
			v.ErrorKey = "field.required"
			return p.render(c, fiber.StatusBadRequest, "track", v)
		}
		return p.render(c, fiber.StatusOK, "track", v)
	}
	number, ok := dimos.ParseCaseNumber(typed)
	if !ok {
		v.ErrorKey = "portal.track.bad_number"
		return p.render(c, fiber.StatusBadRequest, "track", v)
	}
	cs, err := p.cfg.Cases.CaseByNumber(c.UserContext(), number)
	switch {
	case dimos.ErrorCode(err) == dimos.ENOTFOUND:
		v.NotFound = true
		return p.render(c, fiber.StatusNotFound, "track", v)
	case err != nil:
		return p.fail(c, err)
	case cs.Anonymous:
		v.Anonymous, v.CaseNumber = true, cs.Number
		return p.render(c, fiber.StatusOK, "track", v)
	}
	v.Found, v.CaseNumber, v.Status = true, cs.Number, cs.Status
	v.StatusKey = "status." + string(cs.Status)
	v.SubmittedAt, v.CompletedAt = cs.SubmittedAt, cs.CompletedAt
	return p.render(c, fiber.StatusOK, "track", v)
}
