package intake

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPI is the hand-written OpenAPI 3 description of every /api/v1 route, the
// account's included. TestOpenAPICoversEveryRoute fails when a route is added without
// it, so the document cannot silently fall behind the code.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPIPath is where MountOpenAPI serves the document.
const OpenAPIPath = "/api/openapi.json"

// MountOpenAPI serves the document at GET /api/openapi.json. It is the same for
// everyone and changes only with a new build, so caches may keep it for an hour.
func MountOpenAPI(r fiber.Router) {
	r.Get(OpenAPIPath, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		return c.Send(openAPI)
	})
}
