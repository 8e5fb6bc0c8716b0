package console

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// storableInput refuses, before any handler sees them, query and form values that
// PostgreSQL can neither store nor compare: a NUL byte or broken UTF-8. Such a value
// would otherwise reach the database as a 500, or reach a workflow as a comment whose
// activity fails on every retry. The answer is a 400 naming the field.
func (con *Console) storableInput(c *fiber.Ctx) error {
	bad, found := "", false
	check := func(k, v []byte) {
		if !found && (!storable(k) || !storable(v)) {
			bad, found = strings.ToValidUTF8(strings.ReplaceAll(string(k), "\x00", ""), "?"), true
		}
	}
	c.Context().QueryArgs().VisitAll(check)
	if !found && c.Method() == fiber.MethodPost {
		if strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEMultipartForm) {
			if form, err := c.MultipartForm(); err == nil {
				for k, vs := range form.Value {
					for _, v := range vs {
						check([]byte(k), []byte(v))
					}
				}
			}
		} else {
			c.Request().PostArgs().VisitAll(check)
		}
	}
	if found {
		return con.render(c, fiber.StatusBadRequest, "error", errorView{pageView: con.page(c, "/console/"),
			Status: fiber.StatusBadRequest, MessageKey: "field.utf8", Field: bad})
	}
	return c.Next()
}

func storable(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }
