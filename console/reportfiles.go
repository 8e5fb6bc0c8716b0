package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/reports"
)

// The files of the delay reports: the Excel workbook and the CSV of their cases, and
// the charts the report page shows. They take the report page's query parameters
// (from, to, service, category, channel, kind), read by parseReportQuery. Managers
// and admins read every service; a director reads their own service only. Every
// export is audited as report.export with its filter and size, since it carries
// case data out of the system.

const (
	pathReportXLSX    = "/console/reports/export.xlsx"
	pathReportCSV     = "/console/reports/export.csv"
	pathReportCharts  = "/console/reports/charts/"
	auditReportExport = "report.export"
)

func (con *Console) reportSource() (reports.Source, error) {
	if con.cfg.Reports == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.Reports, nil
}

// reportFilter reads a report file's filter from the query, as the report page
// reads it (parseReportQuery): the same default period and bounds, services by
// code, and a director refused another service than their own.
func (con *Console) reportFilter(c *fiber.Ctx, me *dimos.Employee) (reports.Filter, error) {
	services, categories, err := con.reportLists(c.UserContext())
	if err != nil {
		return reports.Filter{}, err
	}
	_, f, err := con.parseReportQuery(c, me, services, categories)
	return f, err
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
