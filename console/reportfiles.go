package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/reports"
)

// The files of the delay reports: the Excel workbook and the CSV of their cases, and
// the charts the report page shows. They take the report page's query parameters
// (from, to, service, category, channel, kind). Managers and admins read every
// service; a director reads their own service only, whatever the query asks. Every
// export is audited as report.export with its filter and size, since it carries
// case data out of the system.

const (
	pathReportXLSX    = "/console/reports/export.xlsx"
	pathReportCSV     = "/console/reports/export.csv"
	pathReportCharts  = "/console/reports/charts/"
	auditReportExport = "report.export"
	// reportDefaultDays is the period of a report whose query names no dates: the
	// four weeks up to and including today.
	reportDefaultDays = 28
)

func (con *Console) reportSource() (reports.Source, error) {
	if con.cfg.Reports == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.Reports, nil
}

// reportFilter reads a report's filter from the query: from and to as YYYY-MM-DD,
// both days included (in Athens); service as an id or a code; category, channel and
// kind as codes. It reports every bad field at once. A director's filter is held to
// their own service.
func (con *Console) reportFilter(c *fiber.Ctx, me *dimos.Employee) (reports.Filter, error) {
	var v dimos.Validation
	var f reports.Filter
	today := con.now().In(athens)
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, athens).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -reportDefaultDays)
	day := func(field string, into *time.Time, plusOne bool) bool {
		s := strings.TrimSpace(c.Query(field))
		if s == "" {
			return true
		}
		t, err := time.ParseInLocation(dateLayout, s, athens)
		if err != nil {
			v.Add(field, "export.error.date")
			return false
		}
		if plusOne {
			t = t.AddDate(0, 0, 1) // the whole day named
		}
		*into = t
		return true
	}
	okFrom, okTo := day("from", &from, false), day("to", &to, true)
	if okFrom && okTo && !to.After(from) {
		v.Add("to", "export.error.range")
	}
	f.From, f.To = from, to

	if s := strings.TrimSpace(c.Query("service")); s != "" {
		id, err := con.serviceID(c.UserContext(), s)
		if err != nil {
			return f, err
		} else if id == 0 {
			v.Add("service", "export.error.service")
		}
		f.ServiceID = id
	}
	if s := strings.TrimSpace(c.Query("category")); s != "" {
		if !codeLike(s) {
			v.Add("category", "export.error.category")
		}
		f.Category = s
	}
	if s := strings.TrimSpace(c.Query("channel")); s != "" {
		switch ch := dimos.Channel(s); ch {
		case dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelOpen311, dimos.ChannelDesk:
			f.Channel = ch
		default:
			v.Add("channel", "export.error.channel")
		}
	}
	if s := strings.TrimSpace(c.Query("kind")); s != "" {
		if k := dimos.Kind(s); k.Valid() {
			f.Kind = k
		} else {
			v.Add("kind", "export.error.kind")
		}
	}
	if me.Role == dimos.RoleDirector {
		f.ServiceID = me.ServiceID
	}
	return f, v.Err()
}

// serviceID resolves a service named by id or by code; 0 for one that does not exist.
func (con *Console) serviceID(ctx context.Context, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err == nil && id <= 0 {
		return 0, nil
	}
	if con.cfg.Services == nil {
		return id, nil // nothing to check a number against; the report will be empty
	}
	list, err := con.cfg.Services.Services(ctx)
	if err != nil {
		return 0, err
	}
	for _, svc := range list {
		if svc.ID == id || strings.EqualFold(svc.Code, s) {
			return svc.ID, nil
		}
	}
	return 0, nil
}

// codeLike reports whether s may be a category code: short, letters, digits, - and _.
func codeLike(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// badReportQuery answers a query the report cannot run with 400 and, for each bad
// field, its name and the reason in Greek and then in English: a file link has no
// page to show a form on, and whoever follows it may read either language.
func (con *Console) badReportQuery(c *fiber.Ctx, err error) error {
	var e *dimos.Error
	if !errors.As(err, &e) || e.Code != dimos.EINVALID {
		return con.fail(c, err)
	}
	var b strings.Builder
	for _, lang := range []string{i18n.Greek, i18n.English} {
		for _, fe := range e.Fields {
			b.WriteString(i18n.T(lang, "export.error.field", fe.Field, i18n.T(lang, fe.Key)))
			b.WriteString("\n")
		}
	}
	c.Set(fiber.HeaderContentLanguage, "el, en")
	c.Type("txt", "utf-8")
	return c.Status(fiber.StatusBadRequest).SendString(b.String())
}

// reportExport sends the workbook or the CSV of the query's report. The file is built
// in an unlinked temporary file and streamed from there, so that an export of any
// size costs disk, not memory, and a failure half-way is still an error page rather
// than half a file.
func (con *Console) reportExport(format string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st := staffOf(c)
		src, err := con.reportSource()
		if err != nil {
			return con.fail(c, err)
		}
		f, err := con.reportFilter(c, st.me)
		if err != nil {
			return con.badReportQuery(c, err)
		}
		tmp, err := os.CreateTemp("", "dimos-report-*")
		if err != nil {
			return con.fail(c, err)
		}
		os.Remove(tmp.Name()) //nolint:errcheck // unlinked now, freed when closed
		lang := langOf(c)
		var n int
		switch format {
		case "xlsx":
			n, err = reports.WriteXLSX(c.UserContext(), tmp, src, f, lang)
		default:
			n, err = reports.WriteCasesCSV(c.UserContext(), tmp, src, f, lang)
		}
		size, seekErr := tmp.Seek(0, io.SeekCurrent)
		if err == nil {
			err = seekErr
		}
		if err == nil {
			_, err = tmp.Seek(0, io.SeekStart)
		}
		if err != nil {
			tmp.Close() //nolint:errcheck
			return con.fail(c, err)
		}
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditReportExport,
			Detail: truncate(fmt.Sprintf("format=%s %s cases=%d", format, filterDetail(f), n), 500)})
		name := fmt.Sprintf("report-%s-%s.%s", f.From.In(athens).Format("20060102"),
			f.To.In(athens).AddDate(0, 0, -1).Format("20060102"), format)
		if format == "xlsx" {
			c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		} else {
			c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		}
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
		c.Status(fiber.StatusOK)
		return c.SendStream(tmp, int(size)) // fasthttp closes tmp once sent
	}
}

// filterDetail records a report's filter in the audit log.
func filterDetail(f reports.Filter) string {
	d := "from=" + f.From.In(athens).Format(dateLayout) + " to=" + f.To.In(athens).AddDate(0, 0, -1).Format(dateLayout)
	if f.ServiceID != 0 {
		d += " service=" + strconv.FormatInt(f.ServiceID, 10)
	}
	for _, kv := range [][2]string{{"category", f.Category}, {"channel", string(f.Channel)}, {"kind", string(f.Kind)}} {
		if kv[1] != "" {
			d += " " + kv[0] + "=" + kv[1]
		}
	}
	return d
}

// reportChart draws one chart of the query's report, named by its file:
// median.png, stages.svg, trend.png, target.svg…
func (con *Console) reportChart(c *fiber.Ctx) error {
	st := staffOf(c)
	name, format, ok := reports.ParseChartFile(c.Params("name"))
	if !ok {
		return con.errorPage(c, fiber.StatusNotFound, "export.error.chart")
	}
	src, err := con.reportSource()
	if err != nil {
		return con.fail(c, err)
	}
	f, err := con.reportFilter(c, st.me)
	if err != nil {
		return con.badReportQuery(c, err)
	}
	r, err := src.Report(c.UserContext(), f)
	if err != nil {
		return con.fail(c, err)
	}
	var buf bytes.Buffer
	if err := reports.WriteChart(&buf, r, name, format, langOf(c)); err != nil {
		return con.fail(c, err)
	}
	c.Set(fiber.HeaderContentType, reports.ChartContentType(format))
	return c.Status(fiber.StatusOK).Send(buf.Bytes())
}
