package console

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Athens without the system's zoneinfo (containers)

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"dimos"
	"dimos/i18n"
)

var (
	//go:embed views
	viewFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// athens is where every time on a console page is shown: the municipality's clock.
var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

// pages are the views under views/pages; each is parsed with the layout and partials.
var pages = []string{"signin", "inbox", "case", "error", "desk", "desk-citizen", "api-keys", "search", "audit",
	"admin-services", "admin-service", "admin-employees", "admin-employee", "admin-categories", "admin-category", "admin-template", "map", "reports"}

// views holds every page parsed once per language: the t function is bound to the
// language at parse time, so templates say {{t "key"}} and never pass the language.
type views map[string]map[string]*template.Template

var mustParseViews = sync.OnceValue(func() views {
	v := views{}
	for _, lang := range []string{i18n.Greek, i18n.English} {
		v[lang] = map[string]*template.Template{}
		for _, p := range pages {
			v[lang][p] = template.Must(template.New("layout").Funcs(funcs(lang)).
				ParseFS(viewFS, "views/layout.html", "views/partials/*.html", "views/pages/"+p+".html"))
		}
	}
	return v
})

func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return i18n.T(lang, key, args...) },
		// when shows a moment as dd/mm/yyyy HH:MM in Athens, the way Greek offices
		// write it; a zero time shows nothing.
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(athens).Format("02/01/2006 15:04")
		},
		// day shows a date alone, for protocol dates.
		"day": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(athens).Format("02/01/2006")
		},
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"dur":  func(d time.Duration) string { return duration(lang, d) },
		"size": func(n int64) string { return fileSize(lang, n) },
		"num":  func(f float64) string { return decimal(lang, f, -1) },
		// fileType is the catalogue key that names a content type for people.
		"fileType": fileTypeKey,
	}
}

// fileTypeKey names the kinds of file dimos.NewAttachment accepts.
func fileTypeKey(contentType string) string {
	ct, _, _ := strings.Cut(contentType, ";")
	switch {
	case ct == "application/pdf":
		return "console.filetype.pdf"
	case strings.HasPrefix(ct, "image/"):
		return "console.filetype.image"
	case ct == "text/plain":
		return "console.filetype.text"
	case strings.Contains(ct, "spreadsheet"):
		return "console.filetype.spreadsheet"
	case strings.Contains(ct, "wordprocessing"), strings.Contains(ct, "opendocument.text"):
		return "console.filetype.document"
	}
	return "console.filetype.other"
}

// fileSize renders a size in bytes the way a file manager does.
func fileSize(lang string, n int64) string {
	switch {
	case n >= 1<<20:
		return i18n.T(lang, "console.size.mb", decimal(lang, float64(n)/(1<<20), 1))
	case n >= 1<<10:
		return i18n.T(lang, "console.size.kb", decimal(lang, float64(n)/(1<<10), 0))
	default:
		return i18n.T(lang, "console.size.bytes", n)
	}
}

// decimal renders f with prec decimals (-1: as few as needed, none when whole), with
// a decimal comma in Greek.
func decimal(lang string, f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if lang == i18n.Greek {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// duration renders d to the minute, in the largest two units that matter.
func duration(lang string, d time.Duration) string {
	if d < 0 {
		d = 0
	}
	m := int(d / time.Minute)
	switch {
	case m >= 24*60:
		return i18n.T(lang, "console.duration.days_hours", m/(24*60), m%(24*60)/60)
	case m >= 60:
		return i18n.T(lang, "console.duration.hours_minutes", m/60, m%60)
	default:
		return i18n.T(lang, "console.duration.minutes", m)
	}
}

// pageView is what the layout needs on every page.
type pageView struct {
	Lang string          // "el" or "en", also the lang attribute of <html>
	Path string          // the page the language switch returns to
	CSRF string          // token of the page's forms
	Me   *dimos.Employee // nil before sign-in
	Desk bool            // the header links to the service desk's page
	// APIKeys: the header links to the admins' page of API keys.
	APIKeys bool
	// AuditLog: the header links to the admins' audit log.
	AuditLog bool
	// Admin: the header links to the admins' pages of services, employees and
	// categories.
	Admin bool
	// Search: the header carries the search box; SearchQuery fills it on the results.
	Search      bool
	SearchQuery string
	// Map: the header links to the map of open cases.
	Map bool
	// MapAssets: the page shows a map, and loads Leaflet and map.js for it.
	MapAssets bool
	// Reports: the header links to the delay reports.
	Reports bool
}

func (p pageView) lang() string { return p.Lang }

// OtherLang is the language the switch offers.
func (p pageView) OtherLang() string {
	if p.Lang == i18n.English {
		return i18n.Greek
	}
	return i18n.English
}

// RoleKey is the catalogue key of the signed-in employee's role.
func (p pageView) RoleKey() string {
	if p.Me == nil {
		return ""
	}
	return "role." + string(p.Me.Role)
}

// page returns the layout's view for a request; path is where the language switch
// brings the reader back, which for a form post is the page that shows the form.
func (con *Console) page(c *fiber.Ctx, path string) pageView {
	p := pageView{Lang: langOf(c), Path: path}
	if st := staffOf(c); st != nil {
		p.Me, p.CSRF = st.me, st.session.CSRFToken
		p.Desk = con.cfg.Citizens != nil && allowed(st.me, actDesk, nil)
		p.APIKeys = con.cfg.APIKeys != nil && allowed(st.me, actAPIKeys, nil)
		p.AuditLog = con.cfg.AuditLog != nil && allowed(st.me, actAuditLog, nil)
		p.Admin = con.cfg.Admin != nil && allowed(st.me, actAdminServices, nil)
		p.Search = con.cfg.Search != nil && allowed(st.me, actSearch, nil)
		p.Map = con.cfg.Map != nil && allowed(st.me, actViewMap, nil)
		p.Reports = con.cfg.Reports != nil && allowed(st.me, actReports, nil)
	}
	return p
}

// langOf is the reader's language: Greek unless they chose English.
func langOf(c *fiber.Ctx) string {
	if c.Cookies(cookieLang) == i18n.English {
		return i18n.English
	}
	return i18n.Greek
}

type view interface{ lang() string }

// render executes a page into a buffer first, so that a template error never sends
// half a page.
func (con *Console) render(c *fiber.Ctx, status int, name string, v view) error {
	lang := v.lang()
	var buf bytes.Buffer
	if err := con.views[lang][name].ExecuteTemplate(&buf, "layout", v); err != nil {
		con.log.Error("console: render", "page", name, "err", err)
		c.Type("txt", "utf-8")
		return c.Status(fiber.StatusInternalServerError).SendString(i18n.T(lang, "error.internal"))
	}
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Type("html", "utf-8")
	return c.Status(status).Send(buf.Bytes())
}

// renderPart executes one named template of a page alone, without the layout: the
// fragments that a page's script fetches to refresh itself.
func (con *Console) renderPart(c *fiber.Ctx, status int, page, part string, v view) error {
	lang := v.lang()
	var buf bytes.Buffer
	if err := con.views[lang][page].ExecuteTemplate(&buf, part, v); err != nil {
		con.log.Error("console: render", "page", page, "part", part, "err", err)
		c.Type("txt", "utf-8")
		return c.Status(fiber.StatusInternalServerError).SendString(i18n.T(lang, "error.internal"))
	}
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Type("html", "utf-8")
	return c.Status(status).Send(buf.Bytes())
}

type errorView struct {
	pageView
	Status     int
	MessageKey string
	Field      string // the input at fault, when there is one
}

// errorPage answers with status and the catalogue sentence key, in the reader's
// language.
func (con *Console) errorPage(c *fiber.Ctx, status int, key string) error {
	return con.render(c, status, "error", errorView{pageView: con.page(c, "/console/"), Status: status, MessageKey: key})
}

// fail turns an error into its page. Failures the reader can understand get their
// own status and sentence; anything else is logged and shown only as an internal
// error, since its text may reveal internals.
func (con *Console) fail(c *fiber.Ctx, err error) error {
	switch code := dimos.ErrorCode(err); code {
	case dimos.ENOTFOUND, dimos.EFORBIDDEN, dimos.EUNAVAILABLE:
		return con.errorPage(c, dimos.HTTPStatus(code), errorKey(err))
	}
	con.log.Error("console: request failed", "method", c.Method(), "path", c.Path(), "err", err)
	return con.errorPage(c, fiber.StatusInternalServerError, "error.internal")
}

// errorKey is the catalogue key that explains err: its own, or else the general
// sentence for its code.
func errorKey(err error) string {
	var e *dimos.Error
	if errors.As(err, &e) && e.Key == "" && e.Code != dimos.EINTERNAL && i18n.Has("error."+e.Code) {
		return "error." + e.Code
	}
	return dimos.ErrorKey(err)
}

// static serves the embedded stylesheet and other assets.
func (con *Console) static(c *fiber.Ctx) error {
	name := c.Params("*")
	if !fs.ValidPath(name) {
		return con.notFound(c)
	}
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		return con.notFound(c)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	// Text declares its charset; images and other binaries do not have one.
	if mime := utils.GetMIME(path.Ext(name)); strings.HasPrefix(mime, "text/") || strings.HasSuffix(mime, "javascript") {
		c.Type(path.Ext(name), "utf-8")
	} else {
		c.Type(path.Ext(name))
	}
	return c.Send(b)
}
