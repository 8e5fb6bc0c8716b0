package console

import (
	"bytes"
	"encoding/csv"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// The admins' audit log viewer: who did what, to what, when and from where. Reading
// the log is itself an act on it: the page is audited as audit.view and the export
// as audit.export, with the filters in the detail, so that who looked at whom stays
// on record too.

const (
	pathAudit        = "/console/admin/audit"
	pathAuditCSV     = "/console/admin/audit.csv"
	auditAuditView   = "audit.view"
	auditAuditExport = "audit.export"
	auditPageSize    = 50
	// auditExportMax bounds an export, so that one click cannot stream the whole log
	// for minutes; the filters narrow it.
	auditExportMax = 100000
	auditFieldMax  = 100
)

type auditView struct {
	pageView
	Filter   auditForm
	Rows     []auditRow
	Searched bool
	NextURL  string // the older entries, "" on the last page
	CSVURL   string
	AlertKey string
}

// auditForm is the filter form as typed, so that it shows again as it was.
type auditForm struct {
	User, Action, Target, From, To string
}

type auditRow struct {
	ID                  int64
	At                  time.Time
	Who, Username       string
	Action, ActionLabel string
	Target, Detail, IP  string
}

// auditFilter reads the filters of the query string. A date that does not parse is
// reported by key, and the page shows nothing rather than rows that ignore it.
func auditFilter(c *fiber.Ctx) (auditForm, dimos.AuditFilter, string) {
	q := func(name string) string { return truncate(strings.TrimSpace(c.Query(name)), auditFieldMax) }
	form := auditForm{User: q("user"), Action: q("action"), Target: q("target"), From: q("from"), To: q("to")}
	f := dimos.AuditFilter{Username: strings.ToLower(form.User), ActionPrefix: form.Action, Target: form.Target}
	if form.From != "" {
		t, err := time.ParseInLocation(dateLayout, form.From, athens)
		if err != nil {
			return form, f, "console.audit.error.date"
		}
		f.From = t
	}
	if form.To != "" {
		t, err := time.ParseInLocation(dateLayout, form.To, athens)
		if err != nil {
			return form, f, "console.audit.error.date"
		}
		f.To = t.AddDate(0, 0, 1) // the whole day named, in Athens
	}
	if b, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && b > 0 {
		f.BeforeID = b
	}
	return form, f, ""
}

// query is the filters as a query string, for the next page and the export.
func (f auditForm) query() url.Values {
	v := url.Values{}
	for name, value := range map[string]string{"user": f.User, "action": f.Action, "target": f.Target, "from": f.From, "to": f.To} {
		if value != "" {
			v.Set(name, value)
		}
	}
	return v
}

func (con *Console) auditSearcher() (dimos.AuditSearcher, error) {
	if con.cfg.AuditLog == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.AuditLog, nil
}

// actionLabel is the catalogue's name of an audit action, or the action itself for
// one the catalogue does not name.
func actionLabel(lang, action string) string {
	if key := "console.audit.action." + action; i18n.Has(key) {
		return i18n.T(lang, key)
	}
	return action
}

// auditPage shows a page of the log, newest first, with the filter form.
func (con *Console) auditPage(c *fiber.Ctx) error {
	st := staffOf(c)
	log, err := con.auditSearcher()
	if err != nil {
		return con.fail(c, err)
	}
	form, f, alert := auditFilter(c)
	back := pathAudit
	if qs := form.query().Encode(); qs != "" {
		back += "?" + qs
	}
	v := auditView{pageView: con.page(c, back), Filter: form, AlertKey: alert, CSVURL: pathAuditCSV}
	if qs := form.query().Encode(); qs != "" {
		v.CSVURL += "?" + qs
	}
	if alert != "" {
		return con.render(c, fiber.StatusBadRequest, "audit", v)
	}
	f.Limit = auditPageSize + 1 // one more tells whether there is a next page
	recs, err := log.AuditSearch(c.UserContext(), f)
	if err != nil {
		return con.fail(c, err)
	}
	if len(recs) > auditPageSize {
		recs = recs[:auditPageSize]
		next := form.query()
		next.Set("before", strconv.FormatInt(recs[len(recs)-1].ID, 10))
		v.NextURL = pathAudit + "?" + next.Encode()
	}
	v.Searched = true
	for _, r := range recs {
		v.Rows = append(v.Rows, auditRow{ID: r.ID, At: r.At, Who: r.EmployeeName, Username: r.Username,
			Action: r.Action, ActionLabel: actionLabel(v.Lang, r.Action), Target: r.Target, Detail: r.Detail, IP: r.IP})
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditAuditView, Detail: auditDetail(form, f.BeforeID)})
	return con.render(c, fiber.StatusOK, "audit", v)
}

// auditCSV exports every row the filters select (up to auditExportMax) as CSV in
// UTF-8 with a byte order mark, without which Excel reads Greek as mojibake.
func (con *Console) auditCSV(c *fiber.Ctx) error {
	st := staffOf(c)
	log, err := con.auditSearcher()
	if err != nil {
		return con.fail(c, err)
	}
	form, f, alert := auditFilter(c)
	if alert != "" {
		return con.errorPage(c, fiber.StatusBadRequest, alert)
	}
	lang := langOf(c)
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true // what Excel writes and expects
	header := []string{"id", "console.audit.col.when", "console.audit.col.who", "console.audit.col.username",
		"console.audit.col.action", "console.audit.col.action_label", "console.audit.col.target",
		"console.audit.col.detail", "console.audit.col.ip"}
	for i, k := range header[1:] {
		header[i+1] = i18n.T(lang, k)
	}
	w.Write(header) //nolint:errcheck // a bytes.Buffer does not fail; w.Error is checked below
	n := 0
	for n < auditExportMax {
		f.Limit = min(1000, auditExportMax-n)
		recs, err := log.AuditSearch(c.UserContext(), f)
		if err != nil {
			return con.fail(c, err)
		}
		for _, r := range recs {
			w.Write([]string{strconv.FormatInt(r.ID, 10), r.At.In(athens).Format("2006-01-02 15:04:05"), //nolint:errcheck
				cell(r.EmployeeName), cell(r.Username), cell(r.Action), cell(actionLabel(lang, r.Action)),
				cell(r.Target), cell(r.Detail), cell(r.IP)})
		}
		n += len(recs)
		if len(recs) < f.Limit {
			break
		}
		f.BeforeID = recs[len(recs)-1].ID
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return con.fail(c, err)
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditAuditExport,
		Detail: auditDetail(form, 0) + " rows=" + strconv.Itoa(n)})
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="audit-`+con.now().In(athens).Format("20060102-1504")+`.csv"`)
	return c.Status(fiber.StatusOK).Send(buf.Bytes())
}

// cell keeps a spreadsheet from reading a value as a formula: the log holds what
// people typed (usernames of failed sign-ins, names of API keys).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditDetail records the filters of a reading of the log.
func auditDetail(form auditForm, before int64) string {
	q := form.query()
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	return truncate(q.Encode(), 500)
}
