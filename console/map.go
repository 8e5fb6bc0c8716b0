package console

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// The map of open cases: a page with filters (category, service, stage) whose map
// reads its markers from a JSON endpoint, limited to what the employee may read
// (searchScope, as search is), and a small map of the case's point on its page.
// Leaflet is served from the console's own static files (make vendor-js); the tiles
// come from the configured tile server, the only other origin the page may load
// images from. No script is inline: console/static/map.js reads the data-*
// attributes of each map.

const (
	pathMap = "/console/map"
	// DefaultMapTiles is the OpenStreetMap tile server, whose usage policy suits a
	// municipality's staff; a busy installation should name its own.
	DefaultMapTiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	// DefaultMapAttribution is the credit OpenStreetMap's licence asks for.
	DefaultMapAttribution = "© OpenStreetMap contributors"
	mapLimit              = 2000 // markers at most
	mapListLimit          = 200  // rows of the list under the map
)

// TileOrigin returns the origin of a tile URL template, as the Content-Security-Policy
// names it: scheme and host, with a {s} subdomain as a * wildcard. A template that is
// not an http(s) URL with a plain host is refused, so nothing can be smuggled into
// the header.
func TileOrigin(template string) (string, error) {
	scheme, rest, ok := strings.Cut(template, "://")
	if !ok || scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("map tiles %q: not an http(s) URL", template)
	}
	host, _, _ := strings.Cut(rest, "/")
	host = strings.Replace(host, "{s}", "*", 1)
	if host == "" || strings.Contains(host, "*") && !strings.HasPrefix(host, "*.") {
		return "", fmt.Errorf("map tiles %q: no host, or {s} not leftmost", template)
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:*", r)) {
			return "", fmt.Errorf("map tiles %q: host %q has %q", template, host, r)
		}
	}
	return scheme + "://" + strings.ToLower(host), nil
}

// contentSecurityPolicy is the console's CSP: everything from the console itself,
// and images also from the tile server (and inline, for Leaflet's empty tile). A bad tile template (cmd/ checks it at
// start) leaves the maps without tiles rather than the policy open.
func (con *Console) contentSecurityPolicy() string {
	if con.cfg.MapTiles == "" {
		con.cfg.MapTiles = DefaultMapTiles
	}
	if con.cfg.MapAttribution == "" {
		con.cfg.MapAttribution = DefaultMapAttribution
	}
	// data: is Leaflet's own: it points a tile it aborts or that failed at an empty
	// inline GIF. It carries no script.
	img := "img-src 'self' data:"
	if origin, err := TileOrigin(con.cfg.MapTiles); err == nil {
		img += " " + origin
	} else {
		con.log.Error("console: map tiles not allowed", "err", err)
	}
	return "default-src 'self'; " + img + "; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"
}

// mapTiles is what every map's data attributes carry.
type mapTiles struct {
	URL         string
	Attribution string
}

func (con *Console) tiles() mapTiles {
	return mapTiles{URL: con.cfg.MapTiles, Attribution: con.cfg.MapAttribution}
}

// mapFilter is the map's filters as the query string gave them.
type mapFilter struct {
	Category string
	Service  string
	Stage    string
}

// query is the filter as a query string, for the JSON endpoint and the language switch.
func (f mapFilter) query() string {
	v := url.Values{}
	for k, s := range map[string]string{"category": f.Category, "service": f.Service, "stage": f.Stage} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// openStages are the stages a map filter may name.
func openStages() []dimos.Stage {
	var out []dimos.Stage
	for _, s := range dimos.Stages {
		if !s.Terminal() {
			out = append(out, s)
		}
	}
	return out
}

// readMapFilter checks the filters: a known category, a service id, an open stage.
// A bad one is an EINVALID naming its field.
func (con *Console) readMapFilter(c *fiber.Ctx, me *dimos.Employee) (dimos.MapFilter, mapFilter, error) {
	raw := mapFilter{Category: strings.TrimSpace(c.Query("category")), Service: strings.TrimSpace(c.Query("service")),
		Stage: strings.TrimSpace(c.Query("stage"))}
	f := dimos.MapFilter{Scope: searchScope(me), CategoryCode: raw.Category, Stage: dimos.Stage(raw.Stage)}
	if raw.Category != "" {
		if _, err := con.cfg.Directory.CategoryByCode(c.UserContext(), raw.Category); dimos.ErrorCode(err) == dimos.ENOTFOUND {
			return f, raw, invalid("category", "console.map.field.category")
		} else if err != nil {
			return f, raw, err
		}
	}
	if raw.Service != "" {
		id, err := strconv.ParseInt(raw.Service, 10, 64)
		if err != nil || id <= 0 {
			return f, raw, invalid("service", "console.map.field.service")
		}
		f.ServiceID = id
	}
	if raw.Stage != "" {
		ok := false
		for _, s := range openStages() {
			ok = ok || s == f.Stage
		}
		if !ok {
			return f, raw, invalid("stage", "console.map.field.stage")
		}
	}
	return f, raw, nil
}

// mapMarker is one case on the map, as the JSON endpoint gives it.
type mapMarker struct {
	Number   string  `json:"number"`
	Subject  string  `json:"subject"`
	Category string  `json:"category"`
	Stage    string  `json:"stage"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	URL      string  `json:"url"`
}

// mapJSON answers the map's markers: the open cases with a point within the
// employee's reach, filtered. A bad filter is a 400 naming the field, in Greek and
// English.
func (con *Console) mapJSON(c *fiber.Ctx) error {
	if con.cfg.Map == nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(jsonError("", "error.unavailable"))
	}
	st := staffOf(c)
	f, _, err := con.readMapFilter(c, st.me)
	if err != nil {
		if fe, ok := fieldOf(err); ok {
			return c.Status(fiber.StatusBadRequest).JSON(jsonError(fe.Field, fe.Key))
		}
		con.log.Error("console: map filter", "err", err)
		return c.Status(fiber.StatusInternalServerError).JSON(jsonError("", "error.internal"))
	}
	f.Limit = mapLimit
	cases, err := con.cfg.Map.OpenCasesOnMap(c.UserContext(), f)
	if err != nil {
		con.log.Error("console: map", "err", err)
		return c.Status(fiber.StatusInternalServerError).JSON(jsonError("", "error.internal"))
	}
	names, err := con.categoryNames(c.UserContext())
	if err != nil {
		con.log.Error("console: map", "err", err)
		return c.Status(fiber.StatusInternalServerError).JSON(jsonError("", "error.internal"))
	}
	lang := langOf(c)
	out := make([]mapMarker, 0, len(cases))
	for _, m := range cases {
		out = append(out, mapMarker{Number: m.Number, Subject: m.Subject,
			Category: orDefault(names[m.CategoryCode].name(lang), m.CategoryCode),
			Stage:    i18n.T(lang, "stage."+string(m.Stage)), Lat: m.Point.Lat, Lon: m.Point.Lon, URL: casePath(m.Number)})
	}
	return c.JSON(fiber.Map{"cases": out, "limited": len(out) >= mapLimit})
}

// fieldOf returns the one field an EINVALID error names.
func fieldOf(err error) (dimos.FieldError, bool) {
	var e *dimos.Error
	if !errors.As(err, &e) || e.Code != dimos.EINVALID || len(e.Fields) == 0 {
		return dimos.FieldError{}, false
	}
	return e.Fields[0], true
}

// jsonError is the body of a JSON error: the field, if any, and the sentence in both
// languages.
func jsonError(field, key string) fiber.Map {
	el, en := i18n.Both(key)
	e := fiber.Map{"key": key, "message": fiber.Map{"el": el, "en": en}}
	if field != "" {
		e["field"] = field
	}
	return fiber.Map{"error": e}
}

type mapView struct {
	pageView
	Tiles      mapTiles
	DataURL    string // the JSON endpoint with the filters
	Filter     mapFilter
	Categories []option
	Services   []option
	Stages     []option
	Error      *dimos.FieldError // a refused filter
	Rows       []mapRow
	Limited    bool
}

type mapRow struct {
	Number   string
	URL      string
	Subject  string
	Category string
	StageKey string
	Point    dimos.Point
}

// mapPage shows the map of open cases with its filters, and the same cases as a list
// for those who do not use the map.
func (con *Console) mapPage(c *fiber.Ctx) error {
	if con.cfg.Map == nil {
		return con.fail(c, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable"))
	}
	st := staffOf(c)
	ctx := c.UserContext()
	f, raw, ferr := con.readMapFilter(c, st.me)
	v := mapView{pageView: con.page(c, pathMap+raw.query()), Tiles: con.tiles(), Filter: raw,
		DataURL: "/console/map.json" + raw.query()}
	v.MapAssets = true
	cats, err := con.cfg.Directory.Categories(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	for _, cat := range cats {
		v.Categories = append(v.Categories, option{Value: cat.Code, Label: orDefault(bilingual{cat.NameEL, cat.NameEN}.name(v.Lang), cat.Code)})
	}
	if con.cfg.Services != nil {
		svcs, err := con.cfg.Services.Services(ctx)
		if err != nil {
			return con.fail(c, err)
		}
		for _, s := range svcs {
			v.Services = append(v.Services, option{Value: strconv.FormatInt(s.ID, 10), Label: orDefault(bilingual{s.NameEL, s.NameEN}.name(v.Lang), s.Code)})
		}
	}
	for _, s := range openStages() {
		v.Stages = append(v.Stages, option{Value: string(s), Label: i18n.T(v.Lang, "stage."+string(s))})
	}
	if ferr != nil {
		fe, ok := fieldOf(ferr)
		if !ok {
			return con.fail(c, ferr)
		}
		v.Error, v.DataURL = &fe, ""
		return con.render(c, fiber.StatusBadRequest, "map", v)
	}
	f.Limit = mapListLimit
	cases, err := con.cfg.Map.OpenCasesOnMap(ctx, f)
	if err != nil {
		return con.fail(c, err)
	}
	names, err := con.categoryNames(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	v.Limited = len(cases) >= mapListLimit
	for _, m := range cases {
		v.Rows = append(v.Rows, mapRow{Number: m.Number, URL: casePath(m.Number), Subject: m.Subject,
			Category: orDefault(names[m.CategoryCode].name(v.Lang), m.CategoryCode), StageKey: "stage." + string(m.Stage), Point: m.Point})
	}
	return con.render(c, fiber.StatusOK, "map", v)
}
