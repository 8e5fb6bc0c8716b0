// Package open311 is the municipality's open API in the Open311 GeoReport v2 format
// (https://wiki.open311.org/GeoReport_v2), so that existing apps and partners' systems
// can list the services, file a request and follow it. Every answer comes as XML or
// JSON, chosen by the path's extension as the specification asks.
//
// Categories are services (service_code = category code); a filed request is a case
// of channel open311, and its service_request_id is the case number. Filing needs an
// API key; reading does not, and shows only what may be public (see
// dimos.ServiceRequestStore).
package open311

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// Config wires the API to its dependencies.
type Config struct {
	Cases     dimos.CaseStore
	Directory dimos.Directory
	Keys      dimos.APIKeyStore
	// Requests lists cases for GET requests and stores a case's location.
	Requests dimos.ServiceRequestStore
	// Kick is told of every accepted case so that its workflow starts at once.
	Kick func(*dimos.Case)
	Log  *slog.Logger
	// Jurisdiction is this endpoint's jurisdiction_id, e.g. "dimos.example". A request
	// naming another one is refused; one naming none is served.
	Jurisdiction string
	// BaseURL is where the server is reached from outside, without a trailing slash,
	// e.g. "https://dimos.example"; discovery names the endpoint under it.
	BaseURL string
	Now     func() time.Time
}

// API serves Open311 GeoReport v2.
type API struct{ cfg Config }

// New returns the API.
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Kick == nil {
		cfg.Kick = func(*dimos.Case) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &API{cfg: cfg}
}

// Mount registers the routes under /open311.
func (a *API) Mount(r fiber.Router) {
	g := r.Group("/open311")
	g.Get("/discovery.:format", a.discovery)
	v2 := g.Group("/v2")
	v2.Get("/services.:format", a.services)
	v2.Get("/services/:code.:format", a.serviceDefinition)
	v2.Post("/requests.:format", a.create)
	v2.Get("/requests.:format", a.requests)
	v2.Get("/requests/:id.:format", a.request)
	v2.Get("/tokens/:token.:format", a.token)
	// Anything else under /open311 is still answered in the specification's error
	// format, XML when the path asks for it, so that a client's parser never meets
	// the web server's plain-text 404.
	g.All("/*", func(c *fiber.Ctx) error {
		return a.fail(c, pathFormat(c), dimos.Errorf(dimos.ENOTFOUND, "open311.error.route"))
	})
}

// maxBody is the largest POST body accepted: a request is a few fields of text.
const maxBody = 64 << 10

// format is how an answer is written, from the path's extension.
type format string

const (
	formatJSON format = "json"
	formatXML  format = "xml"
)

// formatOf reads the extension; anything but json and xml is refused, in XML when
// the path nonetheless ends in .xml (an id with a dot, "0..xml", leaves the router a
// format of ".xml"), and in JSON otherwise.
func formatOf(c *fiber.Ctx) (format, error) {
	switch f := format(c.Params("format")); f {
	case formatJSON, formatXML:
		return f, nil
	}
	return pathFormat(c), dimos.Errorf(dimos.ENOTFOUND, "open311.error.format")
}

// pathFormat is the format a path asks for by its ending: XML for .xml, else JSON.
func pathFormat(c *fiber.Ctx) format {
	if strings.HasSuffix(c.Path(), ".xml") {
		return formatXML
	}
	return formatJSON
}

// list is the XML root around a list of elements; JSON writes the bare array.
type list[T any] struct {
	XMLName xml.Name
	Items   []T
}

// send writes items as a JSON array or as an XML document whose root is root.
func send[T any](c *fiber.Ctx, f format, status int, root string, items []T) error {
	if items == nil {
		items = []T{}
	}
	if f == formatXML {
		return sendXML(c, status, list[T]{XMLName: xml.Name{Local: root}, Items: items})
	}
	return sendJSON(c, status, items)
}

func sendXML(c *fiber.Ctx, status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.Status(status).Send(append([]byte(xml.Header), b...))
}

func sendJSON(c *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(status).Send(b)
}

// errorOut is one entry of the specification's error answer.
type errorOut struct {
	XMLName     xml.Name `xml:"error" json:"-"`
	Code        int      `xml:"code" json:"code"`
	Description string   `xml:"description" json:"description"`
}

// both renders a catalogue sentence as "Greek / English": machines and people of
// either language read the same answer.
func both(key string, args ...any) string {
	el, en := i18n.Both(key, args...)
	return el + " / " + en
}

// status maps a domain error to the specification's statuses: a refused key is 403
// there, not 401.
func status(code string) int {
	if code == dimos.EUNAUTHORIZED {
		return fiber.StatusForbidden
	}
	return dimos.HTTPStatus(code)
}

// fail answers err in the specification's error format: one error per bad field, each
// described in Greek and English. Internal errors are logged, not shown.
func (a *API) fail(c *fiber.Ctx, f format, err error) error {
	code := dimos.ErrorCode(err)
	st := status(code)
	if code == dimos.EINTERNAL {
		a.cfg.Log.Error("open311 request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	var out []errorOut
	var de *dimos.Error
	if errors.As(err, &de) {
		for _, fe := range de.Fields {
			out = append(out, errorOut{Code: st, Description: fe.Field + ": " + both(fe.Key)})
		}
	}
	if len(out) == 0 {
		out = append(out, errorOut{Code: st, Description: both(dimos.ErrorKey(err))})
	}
	return send(c, f, st, "errors", out)
}

// failStatus answers an HTTP-level refusal, e.g. 413, in the specification's format.
func failStatus(c *fiber.Ctx, f format, st int) error {
	return send(c, f, st, "errors", []errorOut{{Code: st, Description: both(fmt.Sprintf("http.%d", st))}})
}

// checkJurisdiction refuses a jurisdiction_id that is not ours.
func (a *API) checkJurisdiction(id string) error {
	if id != "" && id != a.cfg.Jurisdiction {
		return dimos.Errorf(dimos.ENOTFOUND, "open311.error.jurisdiction")
	}
	return nil
}

// athens is the municipality's time zone: every datetime is written with its offset.
var athens = mustLoadLocation("Europe/Athens")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func datetime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(athens).Format(time.RFC3339)
}

// changeset is when this API last changed, as discovery reports it.
const changeset = "2026-06-01T00:00:00+03:00"

type discoveryOut struct {
	XMLName    xml.Name      `xml:"discovery" json:"-"`
	Changeset  string        `xml:"changeset" json:"changeset"`
	Contact    string        `xml:"contact" json:"contact"`
	KeyService string        `xml:"key_service" json:"key_service"`
	Endpoints  []endpointOut `xml:"endpoints>endpoint" json:"endpoints"`
}

type endpointOut struct {
	Specification string   `xml:"specification" json:"specification"`
	URL           string   `xml:"url" json:"url"`
	Changeset     string   `xml:"changeset" json:"changeset"`
	Type          string   `xml:"type" json:"type"`
	Formats       []string `xml:"formats>format" json:"formats"`
}

func (a *API) discovery(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err != nil {
		return a.fail(c, f, err)
	}
	d := discoveryOut{
		Changeset: changeset, Contact: both("open311.discovery.contact"),
		KeyService: both("open311.discovery.key_service"),
		Endpoints: []endpointOut{{
			Specification: "http://wiki.open311.org/GeoReport_v2", URL: a.cfg.BaseURL + "/open311/v2",
			Changeset: changeset, Type: "production", Formats: []string{"text/xml", "application/json"},
		}},
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	if f == formatXML {
		return sendXML(c, fiber.StatusOK, d)
	}
	return sendJSON(c, fiber.StatusOK, d)
}
