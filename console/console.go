// Package console is the staff console of dimos: a server-rendered Fiber app in which
// clerks sign in, work the inbox of their own and their service's cases in deadline order, read a case with its
// timeline, clocks, attachments and stage timings, and take the decisions of its
// lifecycle: assign, transfer, comment, ask the citizen, set a due date, register it
// in the protocol, attach files, complete or reject it.
//
// Pages are html/template views embedded in the binary, Greek first and English
// second; every sentence on them comes from the i18n catalogue. Decisions on a case are
// not written here: they go to the case's workflow as Updates through Work, since the
// workflow owns the case's state and its validators have the last word.
package console

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/reports"
	"dimos/workflows"
)

// Work carries decisions to the case workflows; workflows.Dispatcher implements it.
type Work interface {
	Update(ctx context.Context, number, name string, req any) (workflows.Done, error)
	State(ctx context.Context, number string) (workflows.CaseState, error)
}

var (
	_ Work       = workflows.Dispatcher{}
	_ Retargeter = workflows.Dispatcher{}
)

// ServiceStaff lists the active employees of a service, for the assign form.
type ServiceStaff interface {
	ServiceEmployees(ctx context.Context, serviceID int64) ([]*dimos.Employee, error)
}

// ServiceList lists the municipality's services, for the transfer form.
type ServiceList interface {
	Services(ctx context.Context) ([]*dimos.Service, error)
}

// Config holds what the console needs. The interfaces are implemented elsewhere
// (postgres/, workflows/) and wired in cmd/.
type Config struct {
	Cases     dimos.CaseStore
	Directory dimos.Directory
	Sessions  dimos.SessionStore
	Audit     dimos.AuditLog
	Throttle  dimos.Throttle
	Work      Work // staff decisions go to the case workflow through this
	// Attachments keeps the files of cases; nil hides the upload form and the list.
	Attachments dimos.AttachmentStore
	// Staff and Services feed the assign and transfer forms. Nil means the
	// Directory, when it has the method (postgres.DB does); a form whose list has no
	// source is not shown.
	Staff    ServiceStaff
	Services ServiceList
	// Citizens serves the service desks' identity verification (M3); nil leaves the
	// desk pages unavailable and their link out of the header.
	Citizens DeskCitizens
	// APIKeys issues and revokes the Open311 API keys on the admins' page; nil
	// leaves that page unavailable (503) and its link out of the header.
	APIKeys dimos.APIKeyStore
	// Search finds cases by number or words (M19); nil leaves the search page
	// unavailable (503) and the search box out of the header.
	Search dimos.CaseSearcher
	// AuditLog reads the audit log back for the admins' viewer and its CSV export;
	// nil leaves those unavailable (503) and their link out of the header.
	AuditLog dimos.AuditSearcher
	// Inbox pages and counts the staff inbox; nil means Cases, when it has the
	// methods (postgres.DB does); with neither the inbox is unavailable (503).
	Inbox dimos.Inbox
	// InboxRefresh is how often the inbox page refreshes its rows and counts, 15
	// seconds when zero.
	InboxRefresh time.Duration
	Logger       *slog.Logger
	// Admin serves the admins' pages of services, employees, categories and response
	// templates; nil leaves them unavailable (503) and their link out of the header.
	Admin dimos.AdminStore
	// Retarget tells a category's open cases of its new clocks when an admin changes
	// them; workflows.Dispatcher implements it.
	Retarget Retargeter
	// Templates offers a category's response templates on the case page; nil means
	// Admin.
	Templates dimos.ResponseTemplateStore
	// Duplicates finds the possible duplicates a case page lists; nil leaves the
	// list out. DuplicateRadiusM is how near, in metres, two cases' points make them
	// possible duplicates: defaultDuplicateRadiusM when zero.
	Duplicates       dimos.DuplicateFinder
	DuplicateRadiusM float64
	// Map lists the open cases with a point for the map page; nil leaves it
	// unavailable (503) and its link out of the header.
	Map dimos.CaseMap
	// MapTiles is the tile server's URL template ({z}, {x}, {y}, optional {s}),
	// DefaultMapTiles when empty; its origin is the only one besides the console's
	// own that the Content-Security-Policy lets images come from. MapAttribution is
	// the credit the tiles' licence asks for, shown on every map as text.
	MapTiles       string
	MapAttribution string
	// Reports computes the delay reports (M18); nil leaves the reports page, its
	// charts and exports unavailable (503) and their link out of the header.
	Reports reports.Source
	// Now is injected so that tests control time; nil means time.Now.
	Now func() time.Time
	// TemporalUIURL is the base of the Temporal web UI, e.g. http://127.0.0.1:8233;
	// empty means the case page shows the workflow id without a link.
	TemporalUIURL string
	// Namespace is the Temporal namespace for the UI link, "default" when empty.
	Namespace string
	// SecureCookies sets Secure on every cookie; turn it on behind TLS.
	SecureCookies bool
	// IdleTimeout ends a session that saw no request for this long, 30 minutes when
	// zero. Sessions also end sessionMaxAge after sign-in, however busy.
	IdleTimeout time.Duration
}

// Limits of sign-in and sessions.
const (
	sessionMaxAge      = 12 * time.Hour
	defaultIdleTimeout = 30 * time.Minute
	throttleWindow     = 15 * time.Minute
	maxUserFailures    = 5
	maxIPFailures      = 20
)

// Console serves the staff pages. Build it with New and attach it with Mount.
type Console struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	idle  time.Duration
	views views
	csp   string // the Content-Security-Policy header, with the tile server's origin
}

// New returns a console for cfg, filling in defaults. It panics if the embedded
// templates do not parse, which a test of this package catches before any deploy.
func New(cfg Config) *Console {
	con := &Console{cfg: cfg, now: cfg.Now, log: cfg.Logger, idle: cfg.IdleTimeout}
	if con.now == nil {
		con.now = time.Now
	}
	if con.log == nil {
		con.log = slog.Default()
	}
	if con.idle <= 0 {
		con.idle = defaultIdleTimeout
	}
	if con.cfg.Namespace == "" {
		con.cfg.Namespace = "default"
	}
	con.cfg.TemporalUIURL = strings.TrimRight(con.cfg.TemporalUIURL, "/")
	if con.cfg.Staff == nil {
		con.cfg.Staff, _ = cfg.Directory.(ServiceStaff)
	}
	if con.cfg.Services == nil {
		con.cfg.Services, _ = cfg.Directory.(ServiceList)
	}
	if con.cfg.InboxRefresh <= 0 {
		con.cfg.InboxRefresh = defaultInboxRefresh
	}
	if con.cfg.Inbox == nil {
		con.cfg.Inbox, _ = cfg.Cases.(dimos.Inbox)
	}
	if con.cfg.Templates == nil && cfg.Admin != nil {
		con.cfg.Templates = cfg.Admin
	}
	con.csp = con.contentSecurityPolicy()
	con.views = mustParseViews()
	dummyHash() // now, not on the first unknown username, whose answer would then be slower
	return con
}

// Mount registers every console route under /console on app. Each route passes the
// security headers first; staff routes then pass staff, which admits only a signed-in
// employee whom the access policy (allowed) lets do the route's action, and every
// staff POST passes checkCSRF.
func (con *Console) Mount(app fiber.Router) {
	g := app.Group("/console", con.secureHeaders, con.storableInput)
	g.Get("/static/*", con.static)
	g.Get("/lang/:lang", con.setLang)
	g.Get("/", con.home)
	g.Get("/signin", con.signinPage)
	g.Post("/signin", con.signin)
	g.Post("/signout", con.staff(actSignOut), con.checkCSRF, con.signout)
	g.Get("/inbox", con.staff(actViewInbox), con.inbox)
	g.Get("/inbox/rows", con.staff(actViewInbox), con.inboxRows)
	g.Get("/cases/:number", con.staff(actViewCase), con.casePage)
	g.Get("/cases/:number/attachments/:id", con.staff(actDownload), con.download)
	g.Get("/search", con.staff(actSearch), con.searchPage)
	g.Get("/desk", con.staff(actDesk), con.deskPage)
	g.Get("/desk/citizens/:id", con.staff(actDesk), con.deskCitizenPage)
	g.Post("/desk/citizens/:id/verify", con.staff(actVerifyCitizen), con.checkCSRF, con.verifyCitizen)
	g.Get("/admin/api-keys", con.staff(actAPIKeys), con.apiKeysPage)
	g.Post("/admin/api-keys", con.staff(actAPIKeys), con.checkCSRF, con.issueAPIKey)
	g.Post("/admin/api-keys/:id/revoke", con.staff(actAPIKeys), con.checkCSRF, con.revokeAPIKey)
	g.Get("/admin/audit", con.staff(actAuditLog), con.auditPage)
	g.Get("/admin/audit.csv", con.staff(actAuditLog), con.auditCSV)
	con.mountAdmin(g)
	g.Get("/map", con.staff(actViewMap), con.mapPage)
	g.Get("/map.json", con.staff(actViewMap), con.mapJSON)
	g.Get("/reports", con.staff(actReports), con.reportsPage)
	g.Get("/reports/export.xlsx", con.staff(actExportReport), con.reportExport("xlsx"))
	g.Get("/reports/export.csv", con.staff(actExportReport), con.reportExport("csv"))
	g.Get("/reports/charts/:name", con.staff(actReportCharts), con.reportChart)
	for _, d := range con.decisions() {
		g.Post("/cases/:number/"+d.name, con.staff(d.act), con.checkCSRF, con.decide(d))
	}
	// Anything else under /console gets the console's own 404 page, in the reader's
	// language, rather than the framework's plain text.
	g.Use(con.notFound)
}

// secureHeaders sets the headers every console response carries. Pages are not
// cached anywhere (they hold case data and form tokens); static assets override
// Cache-Control.
func (con *Console) secureHeaders(c *fiber.Ctx) error {
	h := c.Set
	h("Content-Security-Policy", con.csp)
	h("X-Content-Type-Options", "nosniff")
	h("Referrer-Policy", "same-origin")
	h("X-Frame-Options", "DENY")
	h("Cache-Control", "no-store")
	return c.Next()
}

// home sends a signed-in employee to the inbox and anyone else to sign in.
func (con *Console) home(c *fiber.Ctx) error {
	st, err := con.current(c)
	if err != nil {
		return con.fail(c, err)
	}
	if st == nil {
		return c.Redirect(pathSignin, fiber.StatusSeeOther)
	}
	return c.Redirect(pathInbox, fiber.StatusSeeOther)
}

func (con *Console) notFound(c *fiber.Ctx) error {
	return con.errorPage(c, fiber.StatusNotFound, "console.error.page_not_found")
}

// Paths the console redirects to.
const (
	pathSignin = "/console/signin"
	pathInbox  = "/console/inbox"
)

func casePath(number string) string { return "/console/cases/" + number }
