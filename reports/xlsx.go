package reports

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"dimos/i18n"
)

// Number formats of the workbook's typed cells. Dates are real dates (serial numbers)
// shown the Greek way; durations are numbers to one decimal; shares are percentages.
const (
	fmtDateTime = "dd/mm/yyyy hh:mm"
	fmtDate     = "dd/mm/yyyy"
	fmtDuration = "0.0"
	fmtShare    = "0.0%"
)

// WriteXLSX writes the delay report of f, and every case of f, as one Excel workbook
// to w, in lang: a summary sheet with the filter and the rule durations are counted
// by, a sheet per dimension (services, employees, categories), the bottlenecks, the
// ping-pong cases, the weekly trend, the raw case list and a sheet of native charts.
//
// Every sheet goes through excelize's StreamWriter, which keeps at most a chunk of
// rows in memory and spills the rest to a temporary file; with the case list read
// from src.CaseLines one line at a time, an export of 100,000 cases holds neither
// the cases nor their rows. It returns the number of cases written.
func WriteXLSX(ctx context.Context, w io.Writer, src Source, f Filter, lang string) (int, error) {
	r, err := src.Report(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("report: %w", err)
	}
	// The workbook describes and lists what was asked, f, whatever filter the
	// source wrote into its report.
	shown := *r
	shown.Filter = f
	r = &shown
	b, err := newBook(Lang(lang))
	if err != nil {
		return 0, err
	}
	defer b.f.Close() //nolint:errcheck // removes the temporary files; the workbook is written by then

	if err := b.summary(r); err != nil {
		return 0, err
	}
	for _, d := range []Dimension{ByService, ByEmployee, ByCategory} {
		if err := b.dimension(r, d); err != nil {
			return 0, err
		}
	}
	if err := b.bottlenecks(r); err != nil {
		return 0, err
	}
	if err := b.pingPongs(r); err != nil {
		return 0, err
	}
	if err := b.trend(r); err != nil {
		return 0, err
	}
	n, err := b.cases(ctx, src, r.Filter)
	if err != nil {
		return n, err
	}
	if err := b.charts(r); err != nil {
		return n, err
	}
	if _, err := b.f.WriteTo(w); err != nil {
		return n, fmt.Errorf("write workbook: %w", err)
	}
	return n, nil
}

// book is a workbook being written, with the styles its cells share.
type book struct {
	f    *excelize.File
	lang string
	// Style ids.
	header, bold, dateTime, date, duration, share int
	// serviceRows is how many rows the services sheet has under its header, for
	// the charts that read from it.
	serviceRows int
}

func newBook(lang string) (*book, error) {
	b := &book{f: excelize.NewFile(), lang: lang}
	styles := []struct {
		id *int
		s  *excelize.Style
	}{
		{&b.header, &excelize.Style{Font: &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE4EE"}},
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&b.bold, &excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&b.dateTime, &excelize.Style{CustomNumFmt: ptr(fmtDateTime)}},
		{&b.date, &excelize.Style{CustomNumFmt: ptr(fmtDate)}},
		{&b.duration, &excelize.Style{CustomNumFmt: ptr(fmtDuration)}},
		{&b.share, &excelize.Style{CustomNumFmt: ptr(fmtShare)}},
	}
	for _, s := range styles {
		id, err := b.f.NewStyle(s.s)
		if err != nil {
			b.f.Close() //nolint:errcheck
			return nil, fmt.Errorf("workbook style: %w", err)
		}
		*s.id = id
	}
	// Sheets in reading order; the first is the one excelize.NewFile made.
	if err := b.f.SetSheetName("Sheet1", b.sheet("summary")); err != nil {
		return nil, err
	}
	for _, s := range []string{"services", "employees", "categories", "bottlenecks", "pingpong", "trend", "cases", "charts"} {
		if _, err := b.f.NewSheet(b.sheet(s)); err != nil {
			b.f.Close() //nolint:errcheck
			return nil, fmt.Errorf("workbook sheet: %w", err)
		}
	}
	return b, nil
}

func ptr[T any](v T) *T { return &v }

// sheet is the name of a sheet in the book's language.
func (b *book) sheet(s string) string { return i18n.T(b.lang, "export.sheet."+s) }

func (b *book) t(key string, args ...any) string { return i18n.T(b.lang, key, args...) }

// column is one column of a sheet: its heading and, when not zero, its width in
// characters; a zero width follows the heading's length.
type column struct {
	title string
	width float64
}

// table streams one sheet: a bold header row frozen in place, the rows emit gives,
// an autofilter over header and rows, then the footer rows (totals) below the
// filtered range so that sorting leaves them last. It returns the number of rows.
func (b *book) table(sheet string, cols []column, rows func(emit func([]any) error) error, footer ...[]any) (int, error) {
	sw, err := b.f.NewStreamWriter(sheet)
	if err != nil {
		return 0, err
	}
	for i, c := range cols {
		width := c.width
		if width == 0 {
			width = min(max(float64(utf8.RuneCountInString(c.title))*0.9+2, 10), 28)
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return 0, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return 0, err
	}
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = excelize.Cell{StyleID: b.header, Value: c.title}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 32}); err != nil {
		return 0, err
	}
	row := 1
	err = rows(func(values []any) error {
		row++
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, values)
	})
	if err != nil {
		return row - 1, err
	}
	// The filter must be set before Flush: Flush writes the worksheet's autoFilter
	// element from the sheet that AutoFilter changes.
	last, _ := excelize.CoordinatesToCellName(len(cols), row)
	if err := b.f.AutoFilter(sheet, "A1:"+last, nil); err != nil {
		return row - 1, err
	}
	for i, values := range footer {
		cell, _ := excelize.CoordinatesToCellName(1, row+1+i)
		if err := sw.SetRow(cell, values); err != nil {
			return row - 1, err
		}
	}
	return row - 1, sw.Flush()
}

// Typed cells. A value that does not exist (the completion of an open case, the
// share of a group with nothing completed) is an empty cell, never a zero.

func (b *book) days(d Duration) any  { return excelize.Cell{StyleID: b.duration, Value: d.WorkingDays} }
func (b *book) hours(d Duration) any { return excelize.Cell{StyleID: b.duration, Value: d.Hours} }

func (b *book) ratio(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return excelize.Cell{StyleID: b.share, Value: x}
}

func (b *book) when(t time.Time, style int) any {
	if t.IsZero() {
		return nil
	}
	return excelize.Cell{StyleID: style, Value: t}
}

// summary writes the first sheet: what the report covers and how it counts.
func (b *book) summary(r *Report) error {
	s := b.sheet("summary")
	f := r.Filter
	rows := [][]any{
		{excelize.Cell{StyleID: b.bold, Value: b.t("export.summary.title")}},
		{},
		{b.t("export.summary.period"), b.t("export.summary.period_value",
			f.From.In(athens).Format("02/01/2006"), f.To.In(athens).AddDate(0, 0, -1).Format("02/01/2006"))},
		{b.t("export.summary.generated"), excelize.Cell{StyleID: b.dateTime, Value: r.GeneratedAt.In(athens)}},
	}
	filters := b.filters(r)
	if len(filters) == 0 {
		rows = append(rows, []any{b.t("export.summary.filters"), b.t("export.summary.no_filters")})
	}
	for _, kv := range filters {
		rows = append(rows, []any{kv[0], kv[1]})
	}
	rows = append(rows, []any{}, []any{excelize.Cell{StyleID: b.bold, Value: b.t("export.summary.rule")}},
		[]any{b.t("export.summary.rule_text")})
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if c, ok := v.(excelize.Cell); ok {
				if err := b.f.SetCellValue(s, cell, c.Value); err != nil {
					return err
				}
				if err := b.f.SetCellStyle(s, cell, cell, c.StyleID); err != nil {
					return err
				}
				continue
			}
			if err := b.f.SetCellValue(s, cell, v); err != nil {
				return err
			}
		}
	}
	ruleRow := strconv.Itoa(len(rows))
	if err := b.f.MergeCell(s, "A"+ruleRow, "F"+ruleRow); err != nil {
		return err
	}
	wrap, err := b.f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	if err := b.f.SetCellStyle(s, "A"+ruleRow, "A"+ruleRow, wrap); err != nil {
		return err
	}
	if err := b.f.SetRowHeight(s, len(rows), 80); err != nil {
		return err
	}
	if err := b.f.SetColWidth(s, "A", "A", 26); err != nil {
		return err
	}
	return b.f.SetColWidth(s, "B", "F", 18)
}

// filters are the filter's narrowing fields, as heading and value.
func (b *book) filters(r *Report) [][2]string {
	f := r.Filter
	var out [][2]string
	if f.ServiceID != 0 {
		v := strconv.FormatInt(f.ServiceID, 10)
		if t := r.tableOf(ByService); t != nil && len(t.Rows) == 1 {
			v = name(b.lang, t.Rows[0].Key, t.Rows[0].NameEL, t.Rows[0].NameEN)
		}
		out = append(out, [2]string{b.t("export.filter.service"), v})
	}
	if f.Category != "" {
		out = append(out, [2]string{b.t("export.filter.category"), f.Category})
	}
	if f.Channel != "" {
		out = append(out, [2]string{b.t("export.filter.channel"), label(b.lang, "channel.", string(f.Channel))})
	}
	if f.Kind != "" {
		out = append(out, [2]string{b.t("export.filter.kind"), label(b.lang, "kind.", string(f.Kind))})
	}
	if f.EmployeeID != 0 {
		out = append(out, [2]string{b.t("export.filter.employee"), strconv.FormatInt(f.EmployeeID, 10)})
	}
	return out
}

// Columns of a dimension's sheet before the per-stage ones; the charts read the
// name and the median completion by position.
const (
	colName             = 2 // B
	colMedianCompletion = 7 // G
	colWithinTarget     = 13
)

// dimension writes the table of d: one row per group, the total below.
func (b *book) dimension(r *Report, d Dimension) error {
	sheet := b.sheet(map[Dimension]string{ByService: "services", ByEmployee: "employees", ByCategory: "categories"}[d])
	t := r.tableOf(d)
	if t == nil {
		t = &Table{Dimension: d}
	}
	stages := stagesOf(t)
	cols := []column{
		{b.t("export.col.key"), 14}, {b.t("export.col.name"), 32},
		{title: b.t("export.col.received")}, {title: b.t("export.col.completed")},
		{title: b.t("export.col.backlog")}, {title: b.t("export.col.overdue_now")},
		{title: b.t("export.col.completion_median_days")}, {title: b.t("export.col.completion_p90_days")},
		{title: b.t("export.col.completion_max_days")}, {title: b.t("export.col.completion_median_hours")},
		{title: b.t("export.col.completion_p90_hours")}, {title: b.t("export.col.completion_max_hours")},
		{title: b.t("export.col.within_target")}, {title: b.t("export.col.within_statutory")},
	}
	for _, s := range stages {
		cols = append(cols, column{title: b.t("export.col.stage_median_days", stageLabel(b.lang, s))},
			column{title: b.t("export.col.stage_p90_days", stageLabel(b.lang, s))})
	}
	values := func(row Row, key, nm string, style int) []any {
		c := func(v any) any {
			if style == 0 || v == nil {
				return v
			}
			if cell, ok := v.(excelize.Cell); ok {
				return cell // typed cells keep their number format
			}
			return excelize.Cell{StyleID: style, Value: v}
		}
		v := []any{c(key), c(nm), c(row.Received), c(row.Completed), c(row.Backlog), c(row.OverdueNow)}
		if row.Completion.N > 0 {
			v = append(v, b.days(row.Completion.Median), b.days(row.Completion.P90), b.days(row.Completion.Max),
				b.hours(row.Completion.Median), b.hours(row.Completion.P90), b.hours(row.Completion.Max))
		} else {
			v = append(v, nil, nil, nil, nil, nil, nil)
		}
		v = append(v, b.ratio(row.WithinTarget), b.ratio(row.WithinStatutory))
		for _, s := range stages {
			if sp, ok := stageSpread(row, s); ok && sp.N > 0 {
				v = append(v, b.days(sp.Median), b.days(sp.P90))
			} else {
				v = append(v, nil, nil)
			}
		}
		return v
	}
	n, err := b.table(sheet, cols, func(emit func([]any) error) error {
		for _, row := range t.Rows {
			if err := emit(values(row, row.Key, name(b.lang, row.Key, row.NameEL, row.NameEN), 0)); err != nil {
				return err
			}
		}
		return nil
	}, values(t.Total, b.t("export.total"), "", b.bold))
	if d == ByService {
		b.serviceRows = n
	}
	return err
}

func (b *book) bottlenecks(r *Report) error {
	cols := []column{
		{title: b.t("export.col.rank")}, {b.t("export.col.stage"), 22}, {title: b.t("export.col.dimension")},
		{b.t("export.col.key"), 14}, {b.t("export.col.name"), 32}, {title: b.t("export.col.cases")},
		{title: b.t("export.col.median_days")}, {title: b.t("export.col.p90_days")}, {title: b.t("export.col.max_days")},
		{title: b.t("export.col.median_hours")}, {title: b.t("export.col.p90_hours")}, {title: b.t("export.col.max_hours")},
	}
	_, err := b.table(b.sheet("bottlenecks"), cols, func(emit func([]any) error) error {
		for i, x := range r.Bottlenecks {
			w := x.Wait
			if err := emit([]any{i + 1, stageLabel(b.lang, x.Stage), dimensionLabel(b.lang, x.Dimension), x.Key,
				name(b.lang, x.Key, x.NameEL, x.NameEN), w.N, b.days(w.Median), b.days(w.P90), b.days(w.Max),
				b.hours(w.Median), b.hours(w.P90), b.hours(w.Max)}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

func (b *book) pingPongs(r *Report) error {
	cols := []column{
		{b.t("export.col.number"), 14}, {b.t("export.col.subject"), 40}, {title: b.t("export.col.dimension")},
		{title: b.t("export.col.moves")}, {title: b.t("export.col.returns")}, {b.t("export.col.holders"), 48},
	}
	_, err := b.table(b.sheet("pingpong"), cols, func(emit func([]any) error) error {
		for _, p := range r.PingPongs {
			if err := emit([]any{p.Number, p.Subject, dimensionLabel(b.lang, p.Dimension), p.Moves, p.Returns,
				holders(p.Holders)}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

func (b *book) trend(r *Report) error {
	names := map[string]string{}
	if t := r.tableOf(ByService); t != nil {
		for _, row := range t.Rows {
			names[row.Key] = name(b.lang, row.Key, row.NameEL, row.NameEN)
		}
	}
	cols := []column{
		{b.t("export.col.week"), 14}, {b.t("export.col.key"), 14}, {b.t("export.col.service"), 32},
		{title: b.t("export.col.received")}, {title: b.t("export.col.completed")},
		{title: b.t("export.col.completion_median_days")}, {title: b.t("export.col.completion_median_hours")},
	}
	_, err := b.table(b.sheet("trend"), cols, func(emit func([]any) error) error {
		for _, w := range r.Trend {
			svc := names[w.ServiceKey]
			if w.ServiceKey == "" {
				svc = b.t("export.all_services")
			} else if svc == "" {
				svc = w.ServiceKey
			}
			var median []any
			if w.Completed > 0 {
				median = []any{b.days(w.MedianCompletion), b.hours(w.MedianCompletion)}
			}
			if err := emit(append([]any{b.when(w.Start.In(athens), b.date), w.ServiceKey, svc, w.Received, w.Completed},
				median...)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// caseColumns are the headings of the raw case list, shared with the CSV export.
var caseColumns = []string{"export.col.number", "export.col.kind", "export.col.channel", "export.col.category",
	"export.col.service", "export.col.employee", "export.col.stage", "export.col.submitted", "export.col.closed",
	"export.col.completion_days", "export.col.completion_hours", "export.col.overdue"}

// cases streams the raw case list from src, one line in memory at a time.
func (b *book) cases(ctx context.Context, src Source, f Filter) (int, error) {
	widths := []float64{14, 16, 12, 18, 18, 18, 20, 17, 17, 0, 0, 0}
	cols := make([]column, len(caseColumns))
	for i, k := range caseColumns {
		cols[i] = column{b.t(k), widths[i]}
	}
	return b.table(b.sheet("cases"), cols, func(emit func([]any) error) error {
		return src.CaseLines(ctx, f, func(l CaseLine) error {
			var closed []any
			if !l.ClosedAt.IsZero() {
				closed = []any{b.when(l.ClosedAt.In(athens), b.dateTime), b.days(l.Completion), b.hours(l.Completion)}
			} else {
				closed = []any{nil, nil, nil}
			}
			return emit(append(append([]any{l.Number, label(b.lang, "kind.", string(l.Kind)),
				label(b.lang, "channel.", string(l.Channel)), l.Category, l.Service, l.Employee,
				stageLabel(b.lang, l.Stage), b.when(l.SubmittedAt.In(athens), b.dateTime)}, closed...),
				yesNo(b.lang, l.Overdue)))
		})
	})
}

// charts puts native Excel charts on the charts sheet, drawn from the services
// sheet's cells so that they follow any edit made there: median completion per
// service, and the share completed within target.
func (b *book) charts(r *Report) error {
	sheet := b.sheet("charts")
	if b.serviceRows == 0 {
		return b.f.SetCellValue(sheet, "A1", b.t("export.no_data"))
	}
	services := "'" + b.sheet("services") + "'!"
	ref := func(col int) string {
		c, _ := excelize.ColumnNumberToName(col)
		return fmt.Sprintf("%s$%s$2:$%s$%d", services, c, c, b.serviceRows+1)
	}
	head := func(col int) string {
		c, _ := excelize.ColumnNumberToName(col)
		return fmt.Sprintf("%s$%s$1", services, c)
	}
	size := excelize.ChartDimension{Width: 720, Height: 360}
	median := &excelize.Chart{
		Type:      excelize.Col,
		Dimension: size,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: b.t("export.chart.median.title")}}},
		Series: []excelize.ChartSeries{{Name: head(colMedianCompletion), Categories: ref(colName),
			Values: ref(colMedianCompletion)}},
		Legend: excelize.ChartLegend{Position: "none"},
		YAxis: excelize.ChartAxis{MajorGridLines: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: fmtDuration},
			Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: b.t("export.chart.median.axis")}}}},
	}
	if err := b.f.AddChart(sheet, "A1", median); err != nil {
		return fmt.Errorf("median chart: %w", err)
	}
	target := &excelize.Chart{
		Type:      excelize.Col,
		Dimension: size,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: b.t("export.chart.target.title")}}},
		Series: []excelize.ChartSeries{{Name: head(colWithinTarget), Categories: ref(colName),
			Values: ref(colWithinTarget)}},
		Legend: excelize.ChartLegend{Position: "none"},
		YAxis: excelize.ChartAxis{MajorGridLines: true, Minimum: ptr(0.0), Maximum: ptr(1.0),
			NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0%"}},
	}
	if err := b.f.AddChart(sheet, "A20", target); err != nil {
		return fmt.Errorf("target chart: %w", err)
	}
	return nil
}
