package console

import (
	"context"
	"errors"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/reports"
)

// The delay reports (M18): where cases wait and who is slow, per service, employee
// and category, for a period and filters. Managers and admins read across services;
// a director reads their own service only. The charts and the Excel and CSV exports
// are served under /console/reports/ too, from the same query string.

const (
	pathReports       = "/console/reports"
	auditReportView   = "reports.view"
	defaultReportDays = 28
	// maxReportDays bounds a period, so that one request cannot read decades of
	// rollups; a year and a bit covers every yearly comparison.
	maxReportDays = 400
)

// reportForm is the filter form as typed, so that it shows again as it was.
type reportForm struct {
	From, To, Service, Category, Channel, Kind string
}

// query is the filter as a query string, for the charts, the exports and the
// language switch.
func (f reportForm) query() url.Values {
	v := url.Values{}
	for name, value := range map[string]string{"from": f.From, "to": f.To, "service": f.Service,
		"category": f.Category, "channel": f.Channel, "kind": f.Kind} {
		if value != "" {
			v.Set(name, value)
		}
	}
	return v
}

// reportLists are the services and categories a report's query is checked against
// and its form offers.
func (con *Console) reportLists(ctx context.Context) ([]*dimos.Service, []*dimos.Category, error) {
	var services []*dimos.Service
	if con.cfg.Services != nil {
		var err error
		if services, err = con.cfg.Services.Services(ctx); err != nil {
			return nil, nil, err
		}
	}
	categories, err := con.cfg.Directory.Categories(ctx)
	if err != nil {
		return nil, nil, err
	}
	return services, categories, nil
}

// parseReportQuery reads a report's filter from the query string, the one reading
// shared by the report page, its charts and its Excel and CSV exports, so that a
// link copied from one to the other means the same report. Dates are Athens civil
// days, YYYY-MM-DD, both ends included on the form (To is made exclusive in the
// filter); an empty period is the last defaultReportDays days up to today, and a
// period longer than maxReportDays is refused. A service is named by its code, as
// the form and every link name it. Every bad field is reported at once, as an
// EINVALID error whose fields name them. A director reads their own service only:
// asking for another is EFORBIDDEN, asking for none gets their own.
func (con *Console) parseReportQuery(c *fiber.Ctx, me *dimos.Employee, services []*dimos.Service,
	categories []*dimos.Category) (reportForm, reports.Filter, error) {
	q := func(name string) string { return truncate(strings.TrimSpace(c.Query(name)), 100) }
	form := reportForm{From: q("from"), To: q("to"), Service: q("service"), Category: q("category"),
		Channel: q("channel"), Kind: q("kind")}
	var f reports.Filter
	var v dimos.Validation
	today := con.now().In(athens)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, athens)
	if form.To == "" {
		form.To = today.Format(dateLayout)
	}
	if form.From == "" {
		form.From = today.AddDate(0, 0, -defaultReportDays+1).Format(dateLayout)
	}
	from, err := time.ParseInLocation(dateLayout, form.From, athens)
	if err != nil {
		v.Add("from", "console.reports.error.date")
	}
	to, err2 := time.ParseInLocation(dateLayout, form.To, athens)
	if err2 != nil {
		v.Add("to", "console.reports.error.date")
	}
	if err == nil && err2 == nil {
		switch {
		case to.Before(from):
			v.Add("to", "console.reports.error.order")
		case to.AddDate(0, 0, 1).After(from.AddDate(0, 0, maxReportDays)): // civil days, whatever the clocks do
			v.Add("to", "console.reports.error.too_long")
		}
		f.From, f.To = from, to.AddDate(0, 0, 1)
	}
	if form.Service != "" {
		for _, s := range services {
			if strings.EqualFold(s.Code, form.Service) {
				f.ServiceID, form.Service = s.ID, s.Code
			}
		}
		if f.ServiceID == 0 {
			v.Add("service", "console.reports.error.service")
		}
	}
	if me.Role == dimos.RoleDirector {
		if f.ServiceID != 0 && f.ServiceID != me.ServiceID {
			return form, f, dimos.Errorf(dimos.EFORBIDDEN, "error.forbidden")
		}
		f.ServiceID = me.ServiceID
		for _, s := range services {
			if s.ID == me.ServiceID {
				form.Service = s.Code
			}
		}
	}
	if form.Category != "" {
		f.Category = form.Category
		found := false
		for _, cat := range categories {
			found = found || cat.Code == form.Category
		}
		if !found {
			v.Add("category", "console.reports.error.category")
		}
	}
	if form.Channel != "" {
		f.Channel = dimos.Channel(form.Channel)
		if !slices.Contains(reportChannels, f.Channel) {
			v.Add("channel", "console.reports.error.channel")
		}
	}
	if form.Kind != "" {
		f.Kind = dimos.Kind(form.Kind)
		if !f.Kind.Valid() {
			v.Add("kind", "console.reports.error.kind")
		}
	}
	return form, f, v.Err()
}

var reportChannels = []dimos.Channel{dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelOpen311, dimos.ChannelDesk}

type reportsView struct {
	pageView
	Form          reportForm
	Errors        map[string]string // field → catalogue key
	Services      []*dimos.Service
	Categories    []*dimos.Category
	Channels      []dimos.Channel
	Kinds         []dimos.Kind
	ServiceLocked bool // a director's own service, not a choice
	HasReport     bool
	Period        string
	Generated     time.Time
	Tables        []reportTableView
	Bottlenecks   []bottleneckView
	PingPongs     []pingPongView
	Trend         []weekView
	Charts        []chartView
	ExportXLSX    string
	ExportCSV     string
	ResolutionWD  string
	ResolutionH   string
}

// reportCells are the figures of a row as the page prints them.
type reportCells struct {
	Name                                  string
	Received, Completed, Backlog, Overdue int
	MedianWD, MedianH, P90WD, P90H        string
	MaxWD, MaxH                           string
	Target, Statutory                     string
	Stages                                []string // one per column of the stage table
}

type reportTableView struct {
	Dimension string
	TitleKey  string
	Rows      []reportCells
	Total     reportCells
	Stages    []dimos.Stage // the stage columns: every stage some row visited
}

type bottleneckView struct {
	Rank                     int
	Stage                    dimos.Stage
	DimensionKey             string
	Name                     string
	N                        int
	MedianWD, P90WD, MedianH string
	MaxWD                    string
}

type pingPongView struct {
	Number, Subject string
	DimensionKey    string
	Path            string
	Moves, Returns  int
}

type weekView struct {
	Start               time.Time
	Service             string
	Received, Completed int
	MedianWD, MedianH   string
}

type chartView struct {
	AltKey   string
	PNG, SVG string
}

// reportsPage shows the delay report of the filter.
func (con *Console) reportsPage(c *fiber.Ctx) error {
	st := staffOf(c)
	if con.cfg.Reports == nil {
		return con.fail(c, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable"))
	}
	ctx := c.UserContext()
	services, categories, err := con.reportLists(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	form, f, err := con.parseReportQuery(c, st.me, services, categories)
	var invalid *dimos.Error
	if err != nil && !(errors.As(err, &invalid) && invalid.Code == dimos.EINVALID) {
		return con.fail(c, err)
	}
	qs := form.query().Encode()
	lang := langOf(c)
	v := reportsView{pageView: con.page(c, pathReports+"?"+qs), Form: form, Errors: map[string]string{},
		Services: services, Categories: categories, Channels: reportChannels, Kinds: dimos.Kinds,
		ServiceLocked: st.me.Role == dimos.RoleDirector,
		ResolutionWD:  decimal(lang, 0.1, 1), ResolutionH: "1",
		ExportXLSX: pathReports + "/export.xlsx?" + qs, ExportCSV: pathReports + "/export.csv?" + qs}
	if invalid != nil {
		for _, e := range invalid.Fields {
			v.Errors[e.Field] = e.Key
		}
		return con.render(c, fiber.StatusBadRequest, "reports", v)
	}
	r, err := con.cfg.Reports.Report(ctx, f)
	if err != nil {
		return con.fail(c, err)
	}
	v.HasReport, v.Generated = true, r.GeneratedAt
	v.Period = i18n.T(lang, "console.reports.period", f.From.Format("02/01/2006"), f.To.AddDate(0, 0, -1).Format("02/01/2006"))
	for _, t := range r.Tables {
		v.Tables = append(v.Tables, tableView(lang, t))
	}
	for i, b := range r.Bottlenecks {
		v.Bottlenecks = append(v.Bottlenecks, bottleneckView{Rank: i + 1, Stage: b.Stage, DimensionKey: "console.reports.dim." + string(b.Dimension),
			Name: groupName(lang, b.Dimension, b.Key, b.NameEL, b.NameEN), N: b.Wait.N,
			MedianWD: decimal(lang, b.Wait.Median.WorkingDays, 1), P90WD: decimal(lang, b.Wait.P90.WorkingDays, 1),
			MedianH: decimal(lang, b.Wait.Median.Hours, 0), MaxWD: decimal(lang, b.Wait.Max.WorkingDays, 2)})
	}
	for _, p := range r.PingPongs {
		v.PingPongs = append(v.PingPongs, pingPongView{Number: p.Number, Subject: p.Subject,
			DimensionKey: "console.reports.dim." + string(p.Dimension), Path: strings.Join(p.Holders, " → "),
			Moves: p.Moves, Returns: p.Returns})
	}
	for _, w := range r.Trend {
		name := w.ServiceKey
		switch name {
		case "":
			name = i18n.T(lang, "console.reports.all_services")
		case "-":
			name = i18n.T(lang, "console.reports.no_service")
		}
		v.Trend = append(v.Trend, weekView{Start: w.Start, Service: name, Received: w.Received, Completed: w.Completed,
			MedianWD: decimal(lang, w.MedianCompletion.WorkingDays, 1), MedianH: decimal(lang, w.MedianCompletion.Hours, 0)})
	}
	for _, ch := range []string{"median", "stages", "trend", "target"} {
		base := pathReports + "/charts/" + ch
		v.Charts = append(v.Charts, chartView{AltKey: "console.reports.chart." + ch, PNG: base + ".png?" + qs, SVG: base + ".svg?" + qs})
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditReportView, Detail: truncate(qs, 500)})
	return con.render(c, fiber.StatusOK, "reports", v)
}

// groupName is how a row names its group; the group of cases nobody holds has no
// name of its own.
func groupName(lang string, dim reports.Dimension, key, el, en string) string {
	name := el
	if lang == i18n.English && en != "" {
		name = en
	}
	switch {
	case key == "" && dim == reports.ByEmployee:
		return i18n.T(lang, "console.reports.nobody")
	case key == "":
		return i18n.T(lang, "console.reports.no_service")
	case name == "":
		return key
	}
	return name
}

func tableView(lang string, t reports.Table) reportTableView {
	tv := reportTableView{Dimension: string(t.Dimension), TitleKey: "console.reports.table." + string(t.Dimension)}
	visited := map[dimos.Stage]bool{}
	for _, s := range t.Total.Stages {
		visited[s.Stage] = true
	}
	for _, st := range dimos.Stages {
		if visited[st] {
			tv.Stages = append(tv.Stages, st)
		}
	}
	for _, r := range t.Rows {
		tv.Rows = append(tv.Rows, rowCells(lang, t.Dimension, r, tv.Stages))
	}
	tv.Total = rowCells(lang, t.Dimension, t.Total, tv.Stages)
	tv.Total.Name = i18n.T(lang, "console.reports.total")
	return tv
}

func rowCells(lang string, dim reports.Dimension, r reports.Row, stages []dimos.Stage) reportCells {
	c := reportCells{Name: groupName(lang, dim, r.Key, r.NameEL, r.NameEN), Received: r.Received, Completed: r.Completed,
		Backlog: r.Backlog, Overdue: r.OverdueNow, Target: share(lang, r.WithinTarget), Statutory: share(lang, r.WithinStatutory)}
	if r.Completion.N > 0 {
		c.MedianWD, c.MedianH = decimal(lang, r.Completion.Median.WorkingDays, 1), decimal(lang, r.Completion.Median.Hours, 0)
		c.P90WD, c.P90H = decimal(lang, r.Completion.P90.WorkingDays, 1), decimal(lang, r.Completion.P90.Hours, 0)
		c.MaxWD, c.MaxH = decimal(lang, r.Completion.Max.WorkingDays, 2), decimal(lang, r.Completion.Max.Hours, 1)
	}
	for _, st := range stages {
		cell := ""
		for _, s := range r.Stages {
			if s.Stage == st && s.N > 0 {
				cell = decimal(lang, s.Median.WorkingDays, 1) + " / " + decimal(lang, s.P90.WorkingDays, 1)
			}
		}
		c.Stages = append(c.Stages, cell)
	}
	return c
}

// share prints a share from 0 to 1 as a whole percentage; nothing completed shows
// a dash.
func share(lang string, f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	return decimal(lang, f*100, 0) + "%"
}
