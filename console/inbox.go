package console

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// The inbox: the open cases an employee works, in tabs (mine, my service's unclaimed,
// waiting for the citizen, overdue, and for managers and admins all), each in
// deadline order, most overdue first. A tab pages by seek through the store; the
// filters narrow every tab and its count alike. The page works as plain links and a
// GET form; static/inbox.js refreshes the rows and counts from pathInboxRows every
// 15 seconds and adds keyboard shortcuts.

const (
	pathInboxRows       = "/console/inbox/rows"
	inboxPageSize       = 50
	defaultInboxRefresh = 15 * time.Second // told to the script by a data attribute
)

// inboxScope is whose cases the inbox may show: those the employee may read
// (actViewCase), which is every case for managers and admins and otherwise those of
// their service and those assigned to them. Desk officers follow the same rule: they
// see their own service's cases, as the case page lets them.
func inboxScope(me *dimos.Employee) dimos.InboxScope {
	s := searchScope(me)
	return dimos.InboxScope{All: s.All, EmployeeID: me.ID, ServiceID: me.ServiceID}
}

// inboxForm is the query string as typed, so that the form and links show it again.
type inboxForm struct {
	Tab, Category, Stage, Status, Channel, Kind, From, To string
	After, Before                                         string
}

// values is the form as a query string; paging is left out unless asked for.
func (f inboxForm) values(paging bool) url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("tab", f.Tab)
	set("category", f.Category)
	set("stage", f.Stage)
	set("status", f.Status)
	set("channel", f.Channel)
	set("kind", f.Kind)
	set("from", f.From)
	set("to", f.To)
	if paging {
		set("after", f.After)
		set("before", f.Before)
	}
	return v
}

func withQuery(path string, v url.Values) string {
	if qs := v.Encode(); qs != "" {
		return path + "?" + qs
	}
	return path
}

// inboxFieldError is one bad filter: the field's label and what is wrong, both
// catalogue keys, shown in the reader's language.
type inboxFieldError struct {
	Field      string
	LabelKey   string
	MessageKey string
}

// readInboxQuery reads the tab, the filters and the page from the query string.
// Every bad value is reported at once; none is silently ignored.
func (con *Console) readInboxQuery(c *fiber.Ctx, me *dimos.Employee) (inboxForm, dimos.InboxQuery, []inboxFieldError, error) {
	q := func(name string) string { return truncate(strings.TrimSpace(c.Query(name)), 100) }
	form := inboxForm{Tab: q("tab"), Category: q("category"), Stage: q("stage"), Status: q("status"),
		Channel: q("channel"), Kind: q("kind"), From: q("from"), To: q("to"), After: q("after"), Before: q("before")}
	query := dimos.InboxQuery{Tab: dimos.InboxTab(form.Tab), Scope: inboxScope(me), Limit: inboxPageSize, Now: con.now()}
	var errs []inboxFieldError
	bad := func(field, msg string) {
		errs = append(errs, inboxFieldError{Field: field, LabelKey: "inbox.filter." + field, MessageKey: msg})
	}
	if form.Tab == "" {
		query.Tab = dimos.InboxMine
	} else if !query.Tab.Valid() {
		bad("tab", "inbox.error.tab")
	}
	f := &query.Filters
	if form.Category != "" {
		names, err := con.categoryNames(c.UserContext())
		if err != nil {
			return form, query, nil, err
		}
		if _, ok := names[form.Category]; !ok {
			bad("category", "inbox.error.category")
		}
		f.Category = form.Category
	}
	if f.Stage = dimos.Stage(form.Stage); form.Stage != "" && (!f.Stage.Valid() || f.Stage.Terminal()) {
		bad("stage", "inbox.error.stage")
	}
	if f.Status = dimos.Status(form.Status); form.Status != "" && (!f.Status.Valid() || f.Status == dimos.StatusCompleted) {
		bad("status", "inbox.error.status")
	}
	if f.Channel = dimos.Channel(form.Channel); form.Channel != "" && !f.Channel.Valid() {
		bad("channel", "inbox.error.channel")
	}
	if f.Kind = dimos.Kind(form.Kind); form.Kind != "" && !f.Kind.Valid() {
		bad("kind", "inbox.error.kind")
	}
	date := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(dateLayout, s, athens)
		if err != nil {
			bad(field, "inbox.error.date")
		}
		return t
	}
	f.From = date("from", form.From)
	if f.To = date("to", form.To); !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // the whole day named, in Athens
		if !f.From.IsZero() && f.To.Before(f.From.AddDate(0, 0, 1)) {
			bad("to", "inbox.error.range")
		}
	}
	cursor := func(s string) *dimos.InboxCursor {
		if s == "" {
			return nil
		}
		k, err := dimos.ParseInboxCursor(s)
		if err != nil {
			bad("page", "inbox.error.page")
			return nil
		}
		return &k
	}
	query.After, query.Before = cursor(form.After), cursor(form.Before)
	if query.After != nil && query.Before != nil {
		bad("page", "inbox.error.page")
	}
	if len(errs) == 0 && !query.Scope.Allows(query.Tab) {
		return form, query, nil, dimos.Errorf(dimos.EFORBIDDEN, "error.forbidden")
	}
	return form, query, errs, nil
}

type inboxView struct {
	pageView
	Form       inboxForm
	Errors     []inboxFieldError
	Tab        dimos.InboxTab
	Tabs       []inboxTabLink
	Rows       []inboxRow
	NextURL    string // "" on the last page
	PrevURL    string // "" on the first page
	RowsURL    string // the fragment the script refreshes from
	Refresh    int    // seconds between refreshes
	Categories []option
	Stages     []option
	Statuses   []option
	Channels   []option
	Kinds      []option
	Count      string // rows in the current tab, all pages ("999+" past the cap)
}

type inboxTabLink struct {
	Tab      dimos.InboxTab
	LabelKey string
	Count    string
	URL      string
	Current  bool
}

type inboxRow struct {
	Number      string
	URL         string
	Subject     string
	Category    string
	KindKey     string
	Stage       dimos.Stage
	StageKey    string
	ChannelKey  string
	SubmittedAt time.Time
	Assignee    string // "" while nobody holds it
	Deadline    time.Time
	Clock       dimos.InboxClock
}

// ClockKey is the catalogue sentence for the row's clock; it takes Clock.Days.
func (r inboxRow) ClockKey() string {
	switch {
	case r.Clock.None:
		return "inbox.clock.none"
	case r.Clock.Overdue && r.Clock.Paused:
		return "inbox.clock.overdue_paused"
	case r.Clock.Overdue:
		return "inbox.clock.overdue"
	case r.Clock.Paused:
		return "inbox.clock.paused"
	}
	return "inbox.clock.left"
}

// ClockClass styles the clock: overdue, due within two working days, or calm.
func (r inboxRow) ClockClass() string {
	switch {
	case r.Clock.Overdue:
		return "clock-overdue"
	case r.Clock.Paused:
		return "clock-paused"
	case !r.Clock.None && r.Clock.Days <= 2:
		return "clock-soon"
	}
	return "clock-ok"
}

// inbox shows a tab of the inbox with its filters, counts and paging links.
func (con *Console) inbox(c *fiber.Ctx) error {
	v, status, err := con.inboxView(c)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, status, "inbox", v)
}

// inboxRows is the part of the inbox that changes on its own: the rows of the tab and
// the counts, as HTML for static/inbox.js to swap in, with the same query string as
// the page.
func (con *Console) inboxRows(c *fiber.Ctx) error {
	v, status, err := con.inboxView(c)
	if err != nil {
		if code := dimos.ErrorCode(err); code == dimos.EFORBIDDEN || code == dimos.ENOTFOUND {
			return con.errorPage(c, dimos.HTTPStatus(code), errorKey(err))
		}
		return con.fail(c, err)
	}
	return con.renderPart(c, status, "inbox", "inbox-rows", v)
}

// inboxView reads the request and asks the store for the page and the counts. Bad
// filters give a 400 view that names them, with no rows.
func (con *Console) inboxView(c *fiber.Ctx) (inboxView, int, error) {
	st := staffOf(c)
	ctx := c.UserContext()
	form, q, errs, err := con.readInboxQuery(c, st.me)
	if err != nil {
		return inboxView{}, 0, err
	}
	store, err := con.inboxStore()
	if err != nil {
		return inboxView{}, 0, err
	}
	names, err := con.categoryNames(ctx)
	if err != nil {
		return inboxView{}, 0, err
	}
	v := inboxView{pageView: con.page(c, withQuery(pathInbox, form.values(false))), Form: form, Errors: errs,
		Tab: q.Tab, RowsURL: withQuery(pathInboxRows, form.values(true)), Refresh: max(1, int(con.cfg.InboxRefresh/time.Second))}
	v.options(names, form)
	if len(errs) > 0 {
		return v, fiber.StatusBadRequest, nil
	}
	counts, err := store.InboxCounts(ctx, q)
	if err != nil {
		return inboxView{}, 0, err
	}
	for _, tab := range q.Scope.Tabs() {
		link := form
		link.Tab, link.After, link.Before = string(tab), "", ""
		v.Tabs = append(v.Tabs, inboxTabLink{Tab: tab, LabelKey: "inbox.tab." + string(tab), Count: dimos.InboxCountLabel(counts[tab]),
			URL: withQuery(pathInbox, link.values(false)), Current: tab == q.Tab})
	}
	v.Count = dimos.InboxCountLabel(counts[q.Tab])
	page, err := store.InboxPage(ctx, q)
	if err != nil {
		return inboxView{}, 0, err
	}
	for _, cs := range page.Cases {
		v.Rows = append(v.Rows, inboxRow{
			Number:      cs.Number,
			URL:         casePath(cs.Number),
			Subject:     cs.Subject,
			Category:    orDefault(names[cs.CategoryCode].name(v.Lang), cs.CategoryCode),
			KindKey:     "kind." + string(cs.Kind),
			Stage:       cs.Stage,
			StageKey:    "stage." + string(cs.Stage),
			ChannelKey:  "inbox.channel." + string(cs.Channel),
			SubmittedAt: cs.SubmittedAt,
			Assignee:    cs.AssigneeName,
			Deadline:    cs.Deadline,
			Clock:       cs.Clock,
		})
	}
	paged := form
	paged.Tab = string(q.Tab)
	if page.Next != nil {
		paged.After, paged.Before = page.Next.String(), ""
		v.NextURL = withQuery(pathInbox, paged.values(true))
	}
	if page.Prev != nil {
		paged.After, paged.Before = "", page.Prev.String()
		v.PrevURL = withQuery(pathInbox, paged.values(true))
	}
	return v, fiber.StatusOK, nil
}

func (con *Console) inboxStore() (dimos.Inbox, error) {
	if con.cfg.Inbox == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.Inbox, nil
}

// options fills the choices of the filter form.
func (v *inboxView) options(names map[string]bilingual, form inboxForm) {
	for code, n := range names {
		v.Categories = append(v.Categories, option{Value: code, Label: n.name(v.Lang)})
	}
	sortOptions(v.Categories)
	for _, s := range dimos.Stages {
		if !s.Terminal() {
			v.Stages = append(v.Stages, option{Value: string(s), Label: "stage." + string(s)})
		}
	}
	for _, s := range dimos.Statuses {
		if s != dimos.StatusCompleted {
			v.Statuses = append(v.Statuses, option{Value: string(s), Label: "status." + string(s)})
		}
	}
	for _, ch := range dimos.Channels {
		v.Channels = append(v.Channels, option{Value: string(ch), Label: "inbox.channel." + string(ch)})
	}
	for _, k := range dimos.Kinds {
		v.Kinds = append(v.Kinds, option{Value: string(k), Label: "kind." + string(k)})
	}
}

// HasError reports whether the named filter was refused, for aria-invalid.
func (v inboxView) HasError(field string) bool {
	for _, e := range v.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// sortOptions orders choices by their label as people read it, then by value.
func sortOptions(opts []option) {
	slices.SortFunc(opts, func(a, b option) int {
		if c := strings.Compare(a.Label, b.Label); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
}
