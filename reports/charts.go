package reports

import (
	_ "embed"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/freetype/truetype"
	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"dimos/i18n"
)

// The charts of a delay report, by the name their files carry (median.png,
// stages.svg…): median completion per service, the time of each stage per service,
// the weekly trend of received and completed cases, and the share completed within
// target per service.
const (
	ChartMedian = "median"
	ChartStages = "stages"
	ChartTrend  = "trend"
	ChartTarget = "target"
)

// ChartNames lists every chart WriteChart draws.
var ChartNames = []string{ChartMedian, ChartStages, ChartTrend, ChartTarget}

// Chart formats: a PNG for the screen and mail, an SVG for print.
const (
	PNG = "png"
	SVG = "svg"
)

// Size of every chart, in pixels.
const (
	ChartWidth  = 960
	ChartHeight = 480
)

// ParseChartFile splits a chart's file name ("median.png") into the chart and its
// format, and reports whether both are known.
func ParseChartFile(file string) (name, format string, ok bool) {
	name, format, found := strings.Cut(file, ".")
	if !found || !slices.Contains(ChartNames, name) || (format != PNG && format != SVG) {
		return "", "", false
	}
	return name, format, true
}

// ChartContentType is the media type of a chart format.
func ChartContentType(format string) string {
	if format == SVG {
		return "image/svg+xml"
	}
	return "image/png"
}

// DejaVu Sans (Bitstream Vera licence, fonts/LICENSE-DejaVu.txt) has every Greek
// glyph; go-chart's own Roboto lacks them and would draw Greek labels as boxes.
//
//go:embed fonts/DejaVuSans.ttf
var dejaVuSans []byte

var chartFont = sync.OnceValues(func() (*truetype.Font, error) { return truetype.Parse(dejaVuSans) })

// WriteChart draws chart name of r in format (PNG or SVG) to w, its labels in lang.
// A report with nothing to plot gives a chart that says so, rather than an error,
// so that a page showing it never shows a broken image.
func WriteChart(w io.Writer, r *Report, name, format, lang string) error {
	font, err := chartFont()
	if err != nil {
		return fmt.Errorf("chart font: %w", err)
	}
	provider := chart.PNG
	if format == SVG {
		provider = escapedSVG
	} else if format != PNG {
		return fmt.Errorf("chart format %q", format)
	}
	c := charts{lang: Lang(lang), font: font, r: r}
	var renderable drawable
	switch name {
	case ChartMedian:
		renderable = c.median()
	case ChartStages:
		renderable = c.stages()
	case ChartTrend:
		renderable = c.trend()
	case ChartTarget:
		renderable = c.target()
	default:
		return fmt.Errorf("unknown chart %q", name)
	}
	if err := renderable.Render(provider, w); err != nil {
		return fmt.Errorf("chart %s: %w", name, err)
	}
	return nil
}

// escapedSVG is go-chart's SVG renderer with its text escaped. go-chart writes an
// SVG's text as it is given: a service called "Ύδρευση & Αποχέτευση" would break
// the XML, and markup in a name would become markup. Escaping here, as each line is
// drawn, comes after go-chart has measured and wrapped the text, so an entity is
// never cut in two.
func escapedSVG(width, height int) (chart.Renderer, error) {
	r, err := chart.SVG(width, height)
	return escapingRenderer{r}, err
}

type escapingRenderer struct{ chart.Renderer }

func (r escapingRenderer) Text(body string, x, y int) { r.Renderer.Text(html.EscapeString(body), x, y) }

type charts struct {
	lang string
	font *truetype.Font
	r    *Report
}

func (c charts) t(key string, args ...any) string { return i18n.T(c.lang, key, args...) }

// services are the rows of the services table, or none.
func (c charts) services() []Row {
	if t := c.r.tableOf(ByService); t != nil {
		return t.Rows
	}
	return nil
}

func (c charts) rowName(r Row) string { return name(c.lang, r.Key, r.NameEL, r.NameEN) }

var titleStyle = chart.Style{FontSize: 13, Padding: chart.Box{Top: 8, Bottom: 8}}

// bars is a bar chart of values on a y axis from 0 to top, with "no data" for none.
func (c charts) bars(title, axis string, bars []chart.Value, top float64, format chart.ValueFormatter) chart.BarChart {
	if len(bars) == 0 {
		bars = []chart.Value{{Label: c.t("export.no_data"), Value: 0}}
		top = 1
	}
	width := min(110, (ChartWidth-160)/len(bars)/2)
	return chart.BarChart{
		Title: title, TitleStyle: titleStyle,
		Width: ChartWidth, Height: ChartHeight, Font: c.font,
		Background: chart.Style{Padding: chart.Box{Top: 50, Left: 20, Right: 20, Bottom: 40}},
		BarWidth:   width, BarSpacing: width,
		YAxis: chart.YAxis{
			Name:           axis,
			Style:          chart.Style{FontSize: 9},
			Range:          &chart.ContinuousRange{Min: 0, Max: top},
			ValueFormatter: format,
		},
		XAxis: chart.Style{FontSize: 9},
		Bars:  bars,
	}
}

// ceiling is a y axis top a little above max, never zero.
func ceiling(max float64) float64 {
	if max <= 0 || math.IsNaN(max) {
		return 1
	}
	return max * 1.15
}

func oneDecimal(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.1f", f)
	}
	return ""
}

// median is the median completion time per service, in working days; services that
// completed nothing have no median and no bar.
func (c charts) median() chart.BarChart {
	var bars []chart.Value
	top := 0.0
	for i, r := range c.services() {
		if r.Completion.N == 0 {
			continue
		}
		v := r.Completion.Median.WorkingDays
		bars = append(bars, chart.Value{Label: c.rowName(r) + " (" + oneDecimal(v) + ")", Value: v,
			Style: chart.Style{FillColor: palette(i), StrokeColor: palette(i)}})
		top = max(top, v)
	}
	b := c.bars(c.t("export.chart.median.title"), c.t("export.chart.median.axis"), bars, ceiling(top), oneDecimal)
	if len(bars) > 0 {
		b.YAxis.Ticks = niceTicks(top, 0.5, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	}
	return b
}

// niceTicks are ticks from 0 to at least top at a round step (1, 2 or 5 times a
// power of ten, no finer than least), at most ten of them.
func niceTicks(top, least float64, label func(float64) string) []chart.Tick {
	step := least
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000} {
		if step = least * m; top/step <= 8 {
			break
		}
	}
	var ticks []chart.Tick
	for v := 0.0; ; v += step {
		ticks = append(ticks, chart.Tick{Value: v, Label: label(v)})
		if v >= top {
			return ticks
		}
	}
}

// target is the share of completed cases closed within the category's target, per
// service, from 0 to 100%.
func (c charts) target() chart.BarChart {
	var bars []chart.Value
	for i, r := range c.services() {
		if math.IsNaN(r.WithinTarget) || math.IsInf(r.WithinTarget, 0) {
			continue
		}
		v := r.WithinTarget * 100
		bars = append(bars, chart.Value{Label: fmt.Sprintf("%s (%.0f%%)", c.rowName(r), v), Value: v,
			Style: chart.Style{FillColor: palette(i), StrokeColor: palette(i)}})
	}
	b := c.bars(c.t("export.chart.target.title"), c.t("export.chart.target.axis"), bars, 100, func(v any) string {
		if f, ok := v.(float64); ok {
			return fmt.Sprintf("%.0f%%", f)
		}
		return ""
	})
	if len(bars) > 0 {
		b.YAxis.Ticks = []chart.Tick{{Value: 0, Label: "0%"}, {Value: 25, Label: "25%"}, {Value: 50, Label: "50%"},
			{Value: 75, Label: "75%"}, {Value: 100, Label: "100%"}}
	}
	return b
}

// drawable is any of go-chart's charts.
type drawable interface {
	Render(rp chart.RendererProvider, w io.Writer) error
}

// stages shows, per service, how the median times of its stages compare: each bar is
// a service, each segment a stage, labelled with its median in working days.
// go-chart stacks segments as shares of the bar, so a bar reads as "where the time
// goes", and its total is in the service's label.
func (c charts) stages() drawable {
	t := c.r.tableOf(ByService)
	if t == nil || len(t.Rows) == 0 {
		return c.bars(c.t("export.chart.stages.title"), "", nil, 1, oneDecimal)
	}
	stages := stagesOf(t)
	var bars []chart.StackedBar
	for _, r := range t.Rows {
		var values []chart.Value
		total := 0.0
		for i, s := range stages {
			sp, ok := stageSpread(r, s)
			if !ok || sp.N == 0 || sp.Median.WorkingDays <= 0 {
				continue
			}
			v := sp.Median.WorkingDays
			total += v
			values = append(values, chart.Value{Label: oneDecimal(v), Value: v,
				Style: chart.Style{FillColor: palette(i), StrokeColor: drawing.ColorWhite, FontSize: 8,
					FontColor: drawing.ColorWhite}})
		}
		if total == 0 {
			continue
		}
		bars = append(bars, chart.StackedBar{Name: c.rowName(r) + " (" + oneDecimal(total) + ")", Values: values})
	}
	if len(bars) == 0 {
		return c.bars(c.t("export.chart.stages.title"), "", nil, 1, oneDecimal)
	}
	legendWidth := 230
	width := min(90, (ChartWidth-legendWidth-80)/len(bars)/2)
	var legend []legendItem
	for i, s := range stages {
		legend = append(legend, legendItem{stageLabel(c.lang, s), palette(i)})
	}
	return chart.StackedBarChart{
		Title: c.t("export.chart.stages.title"), TitleStyle: titleStyle,
		Width: ChartWidth, Height: ChartHeight, Font: c.font,
		Background: chart.Style{Padding: chart.Box{Top: 60, Left: 20, Right: legendWidth, Bottom: 20}},
		BarSpacing: width,
		XAxis:      chart.Style{FontSize: 9},
		YAxis:      chart.Style{FontSize: 9},
		Bars:       widths(bars, width),
		Elements:   []chart.Renderable{drawLegend(c.font, legend, legendWidth)},
	}
}

func widths(bars []chart.StackedBar, w int) []chart.StackedBar {
	for i := range bars {
		bars[i].Width = w
	}
	return bars
}

type legendItem struct {
	label string
	color drawing.Color
}

// drawLegend draws a key of coloured squares in the right margin, which go-chart's
// stacked bar chart lacks.
func drawLegend(font *truetype.Font, items []legendItem, width int) chart.Renderable {
	return func(r chart.Renderer, canvas chart.Box, _ chart.Style) {
		x, y := canvas.Right+70, canvas.Top+10 // beyond the y axis labels, which go-chart puts on the right
		r.SetFont(font)
		r.SetFontSize(9)
		r.SetFontColor(chart.DefaultTextColor)
		for _, it := range items {
			chart.Draw.Box(r, chart.Box{Left: x, Top: y, Right: x + 12, Bottom: y + 12},
				chart.Style{FillColor: it.color, StrokeColor: it.color, StrokeWidth: 1})
			r.SetFont(font)
			r.SetFontSize(9)
			r.SetFontColor(chart.DefaultTextColor)
			lines := chart.Text.WrapFit(r, it.label, width-50, chart.Style{Font: font, FontSize: 9})
			for j, line := range lines {
				r.Text(line, x+18, y+11+j*13)
			}
			y += 12 + 13*len(lines)
		}
	}
}

// trend is the weekly number of cases received and completed for the whole report:
// the municipality's weeks when the report has them, or else the sum of its
// services' weeks.
func (c charts) trend() drawable {
	type counts struct{ received, completed float64 }
	weeks := map[time.Time]*counts{}
	whole := false
	for _, w := range c.r.Trend {
		whole = whole || w.ServiceKey == ""
	}
	for _, w := range c.r.Trend {
		if whole != (w.ServiceKey == "") {
			continue
		}
		k := w.Start.UTC()
		if weeks[k] == nil {
			weeks[k] = &counts{}
		}
		weeks[k].received += float64(w.Received)
		weeks[k].completed += float64(w.Completed)
	}
	if len(weeks) == 0 {
		return c.bars(c.t("export.chart.trend.title"), "", nil, 1, oneDecimal)
	}
	var days []time.Time
	for d := range weeks {
		days = append(days, d)
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	received := chart.TimeSeries{Name: c.t("export.chart.trend.received"),
		Style: chart.Style{StrokeColor: palette(0), StrokeWidth: 2.5, DotColor: palette(0), DotWidth: 4}}
	completed := chart.TimeSeries{Name: c.t("export.chart.trend.completed"),
		Style: chart.Style{StrokeColor: palette(1), StrokeWidth: 2.5, DotColor: palette(1), DotWidth: 4}}
	top := 0.0
	var ticks []chart.Tick
	for _, d := range days {
		received.XValues = append(received.XValues, d)
		received.YValues = append(received.YValues, weeks[d].received)
		completed.XValues = append(completed.XValues, d)
		completed.YValues = append(completed.YValues, weeks[d].completed)
		top = max(top, weeks[d].received, weeks[d].completed)
		ticks = append(ticks, chart.Tick{Value: chart.TimeToFloat64(d), Label: d.In(athens).Format("02/01")})
	}
	// go-chart takes an axis's range from its ticks. Unlabelled ticks half a week
	// either side give a single week a range to stand on, and the points room.
	half := 3.5 * 24 * float64(time.Hour)
	xticks := append([]chart.Tick{{Value: chart.TimeToFloat64(days[0]) - half}}, thin(ticks, 14)...)
	xticks = append(xticks, chart.Tick{Value: chart.TimeToFloat64(days[len(days)-1]) + half})
	yticks := niceTicks(max(top, 1), 1, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	graph := chart.Chart{
		Title: c.t("export.chart.trend.title"), TitleStyle: titleStyle,
		Width: ChartWidth, Height: ChartHeight, Font: c.font,
		Background: chart.Style{Padding: chart.Box{Top: 80, Left: 20, Right: 20, Bottom: 20}},
		XAxis:      chart.XAxis{Name: c.t("export.col.week"), Style: chart.Style{FontSize: 9}, Ticks: xticks},
		YAxis:      chart.YAxis{Name: c.t("export.col.cases"), Style: chart.Style{FontSize: 9}, Ticks: yticks},
		Series:     []chart.Series{received, completed},
	}
	graph.Elements = []chart.Renderable{chart.LegendThin(&graph)}
	return graph
}

// thin keeps at most n ticks, evenly, so that a year of weeks stays legible.
func thin(ticks []chart.Tick, n int) []chart.Tick {
	if len(ticks) <= n {
		return ticks
	}
	step := (len(ticks) + n - 1) / n
	var out []chart.Tick
	for i := 0; i < len(ticks); i += step {
		out = append(out, ticks[i])
	}
	return out
}

// palette is the i-th of a set of colours that print distinctly in grey too.
func palette(i int) drawing.Color {
	colors := []drawing.Color{
		{R: 0x1f, G: 0x4e, B: 0x79, A: 255}, {R: 0xd9, G: 0x82, B: 0x2b, A: 255}, {R: 0x3a, G: 0x93, B: 0x4e, A: 255},
		{R: 0xb8, G: 0x3b, B: 0x3b, A: 255}, {R: 0x7b, G: 0x5e, B: 0xa7, A: 255}, {R: 0x8c, G: 0x6d, B: 0x46, A: 255},
		{R: 0x4a, G: 0xa3, B: 0xb8, A: 255}, {R: 0x88, G: 0x88, B: 0x88, A: 255},
	}
	return colors[i%len(colors)]
}
