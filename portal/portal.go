// Package portal is a plain citizen portal in HTML, for a municipality without one of
// its own: submit a request, complaint or suggestion (M5, M6) and get its number at
// once (M8), and track a case by its number without signing in (M14). Pages are
// Greek first with an English switch, work without JavaScript and on a phone, and
// every sentence comes from the catalogue (i18n/catalogue/portal.json). Cases enter
// only through intake.API.Accept, exactly as from the JSON API. With accounts, the
// citizen registers, signs in, applies for a certificate once verified in person (M7),
// lists their own cases, opens one and comments on it
// (M1, M2, M12, M15), through account.API as the JSON API does; on their own case they
// attach files while it is open, and rate the answer or reopen it once completed.
package portal

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Athens without the system's zoneinfo (containers)

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/account"
	"dimos/i18n"
	"dimos/intake"
)

var (
	//go:embed views
	viewFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// Config wires the portal to its dependencies.
type Config struct {
	Intake    *intake.API
	Directory dimos.Directory
	Cases     dimos.CaseStore
	// Citizen returns the signed-in citizen (account.API's CitizenFromRequest), whose
	// details pre-fill the form and whose account the case joins; nil without accounts.
	// Accounts defaults it to Accounts.CitizenFromRequest.
	Citizen func(*fiber.Ctx) (*dimos.Citizen, error)
	// Accounts signs citizens in and out and registers them; without it the portal
	// has no sign-in, registration or "my cases" pages.
	Accounts *account.API
	// Citizens lists a signed-in citizen's own cases (M15).
	Citizens dimos.CitizenStore
	// Attachments stores the files a citizen attaches to an open case; without it an
	// attachment is answered "try again later".
	Attachments dimos.AttachmentStore
	// Work carries the citizen's comments, attachments, ratings and reopenings to the
	// case workflow (workflows.Dispatcher); without it they are answered "try again
	// later".
	Work intake.Work
	Log  *slog.Logger
	// SecureCookies marks the portal's cookies Secure (behind HTTPS).
	SecureCookies bool
	// Municipality is the name on every page, e.g. "Δήμος Αγίου Νικολάου".
	Municipality string
}

// Portal serves the citizen pages.
type Portal struct {
	cfg   Config
	views map[string]map[string]*template.Template
}

// Cookie and form names.
const (
	cookieLang = "lang"
	cookieCSRF = "dimos_portal_csrf"
	fieldCSRF  = "_csrf"
	staticPath = "/portal/static/"
)

var pages = []string{"home", "submit", "receipt", "track", "error", "signin", "register", "registered", "mycases", "mycase", "certificate"}

// athens is the municipality's clock: every date on a page is shown in it.
var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

// New parses the pages once per language, so that templates say {{t "key"}}.
func New(cfg Config) *Portal {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Citizen == nil && cfg.Accounts != nil {
		cfg.Citizen = cfg.Accounts.CitizenFromRequest
	}
	p := &Portal{cfg: cfg, views: map[string]map[string]*template.Template{}}
	for _, lang := range []string{i18n.Greek, i18n.English} {
		p.views[lang] = map[string]*template.Template{}
		for _, name := range pages {
			p.views[lang][name] = template.Must(template.New("layout").Funcs(funcs(lang)).
				ParseFS(viewFS, "views/layout.html", "views/partials/*.html", "views/pages/"+name+".html"))
		}
	}
	return p
}

func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return i18n.T(lang, key, args...) },
		"day": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(athens).Format("02/01/2006")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
}

// Mount registers the pages at the root of r; every route passes the security
// headers first.
func (p *Portal) Mount(r fiber.Router) {
	r.Get(staticPath+"*", p.secureHeaders, p.static)
	r.Get("/lang/:lang", p.secureHeaders, p.setLang)
	r.Get("/", p.secureHeaders, p.home)
	r.Get("/submit", p.secureHeaders, p.submitPage)
	r.Post("/submit", p.secureHeaders, p.submit)
	r.Get("/track", p.secureHeaders, p.track)
	if p.cfg.Accounts != nil {
		r.Get("/signin", p.secureHeaders, p.signinPage)
		r.Post("/signin", p.secureHeaders, p.signin)
		r.Post("/signout", p.secureHeaders, p.signout)
		r.Get("/register", p.secureHeaders, p.registerPage)
		r.Post("/register", p.secureHeaders, p.register)
		r.Get("/certificate", p.secureHeaders, p.certificatePage)
		r.Post("/certificate", p.secureHeaders, p.certificate)
		r.Get("/my/cases", p.secureHeaders, p.myCases)
		r.Get("/my/cases/:number", p.secureHeaders, p.myCase)
		r.Post("/my/cases/:number/comment", p.secureHeaders, p.myCaseComment)
		r.Post("/my/cases/:number/attach", p.secureHeaders, p.myCaseAttach)
		r.Post("/my/cases/:number/rate", p.secureHeaders, p.myCaseRate)
		r.Post("/my/cases/:number/reopen", p.secureHeaders, p.myCaseReopen)
	}
}

// secureHeaders: no framing, no foreign scripts or forms, no sniffing, and pages that
// hold an access key or form token are kept by no cache; static assets override it.
func (p *Portal) secureHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("X-Frame-Options", "DENY")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// pageView is what the layout needs on every page.
type pageView struct {
	Lang         string
	Path         string // where the language switch brings the reader back
	Municipality string
	Nav          string // the current page, for aria-current
	Accounts     bool   // the portal offers sign-in
	SignedIn     bool   // the header offers "my cases" and "sign out" instead of "sign in"
	CSRF         string // the double-submit token of every form, the header's sign-out too
}

func (v pageView) lang() string { return v.Lang }

// OtherLang is the language the switch offers.
func (v pageView) OtherLang() string {
	if v.Lang == i18n.English {
		return i18n.Greek
	}
	return i18n.English
}

// LangURL is the switch's link.
func (v pageView) LangURL() string {
	return "/lang/" + v.OtherLang() + "?next=" + url.QueryEscape(v.Path)
}

type view interface{ lang() string }

func (p *Portal) page(c *fiber.Ctx, path, nav string) pageView {
	name := p.cfg.Municipality
	lang := langOf(c)
	if name == "" {
		name = i18n.T(lang, "portal.municipality")
	}
	v := pageView{Lang: lang, Path: path, Municipality: name, Nav: nav, Accounts: p.cfg.Accounts != nil, CSRF: p.csrfToken(c)}
	if v.Accounts {
		cit, err := p.citizen(c)
		if err != nil {
			p.cfg.Log.Warn("portal: session lookup", "err", err)
		}
		v.SignedIn = cit != nil
	}
	return v
}

// langOf is the reader's language: Greek unless they chose English.
func langOf(c *fiber.Ctx) string {
	if c.Cookies(cookieLang) == i18n.English {
		return i18n.English
	}
	return i18n.Greek
}

// render executes a page into a buffer first, so a template error never sends half
// a page.
func (p *Portal) render(c *fiber.Ctx, status int, name string, v view) error {
	lang := v.lang()
	var buf bytes.Buffer
	if err := p.views[lang][name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.cfg.Log.Error("portal: render", "page", name, "err", err)
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
}

func (p *Portal) errorPage(c *fiber.Ctx, status int, key string) error {
	return p.render(c, status, "error", errorView{pageView: p.page(c, "/", ""), Status: status, MessageKey: key})
}

// fail shows a failure the reader can understand with its own sentence; anything else
// is logged and shown only as an internal error.
func (p *Portal) fail(c *fiber.Ctx, err error) error {
	switch code := dimos.ErrorCode(err); code {
	case dimos.ENOTFOUND, dimos.EFORBIDDEN, dimos.EUNAVAILABLE, dimos.ETOOMANY, dimos.EUNAUTHORIZED:
		return p.errorPage(c, dimos.HTTPStatus(code), dimos.ErrorKey(err))
	}
	p.cfg.Log.Error("portal: request failed", "method", c.Method(), "path", c.Path(), "err", err)
	return p.errorPage(c, fiber.StatusInternalServerError, "error.internal")
}

func (p *Portal) home(c *fiber.Ctx) error {
	return p.render(c, fiber.StatusOK, "home", p.page(c, "/", "home"))
}

// setLang remembers the reader's language for a year and goes back to the page they
// were on, if that is a page of this site.
func (p *Portal) setLang(c *fiber.Ctx) error {
	lang := c.Params("lang")
	if lang != i18n.Greek && lang != i18n.English {
		return p.errorPage(c, fiber.StatusNotFound, "portal.error.page_not_found")
	}
	c.Cookie(&fiber.Cookie{Name: cookieLang, Value: lang, Path: "/", Expires: time.Now().AddDate(1, 0, 0),
		Secure: p.cfg.SecureCookies, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
	next := localNext(c.Query("next"))
	if next == "" {
		next = "/"
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// localNext returns next when it is a path on this site, and "" otherwise, so that no
// link of ours can send a citizen to another site (an open redirect): "//evil",
// "/\evil", "https://evil" and the like are refused.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return strings.Clone(next)
}

// static serves the embedded stylesheet.
func (p *Portal) static(c *fiber.Ctx) error {
	name := c.Params("*")
	if !fs.ValidPath(name) {
		return p.errorPage(c, fiber.StatusNotFound, "portal.error.page_not_found")
	}
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		return p.errorPage(c, fiber.StatusNotFound, "portal.error.page_not_found")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Type(path.Ext(name), "utf-8")
	return c.Send(b)
}

// csrfToken returns the browser's double-submit token, setting a new one when it has
// none, for the form to carry in a hidden field.
func (p *Portal) csrfToken(c *fiber.Ctx) string {
	if t, ok := c.Locals(localCSRF).(string); ok {
		return t
	}
	if t := c.Cookies(cookieCSRF); len(t) == 43 {
		return strings.Clone(t)
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand aborts the program rather than return short
	t := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: cookieCSRF, Value: t, Path: "/", Expires: time.Now().Add(24 * time.Hour),
		Secure: p.cfg.SecureCookies, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	c.Locals(localCSRF, t) // one token per answer, however many forms it holds
	return t
}

const localCSRF = "portal.csrf"

// csrfOK checks that the form carries the token of the cookie: another site can make
// the browser post, but cannot read the cookie to put it in the form.
func csrfOK(c *fiber.Ctx) bool {
	got, want := c.FormValue(fieldCSRF), c.Cookies(cookieCSRF)
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
