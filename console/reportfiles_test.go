package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"dimos"
	"dimos/reports"
)

// fakeFileReports serves a fixed delay report of Technical Services and Cleaning, and
// records the filters it is asked for, so that tests see what the console asked.
type fakeFileReports struct {
	mu      sync.Mutex
	filters []reports.Filter
}

func (f *fakeFileReports) Report(ctx context.Context, filter reports.Filter) (*reports.Report, error) {
	f.mu.Lock()
	f.filters = append(f.filters, filter)
	f.mu.Unlock()
	d := func(wd float64) reports.Duration { return reports.Duration{WorkingDays: wd, Hours: wd * 24} }
	return &reports.Report{Filter: filter, GeneratedAt: filter.To,
		Tables: []reports.Table{{Dimension: reports.ByService, Rows: []reports.Row{
			{Key: "TECH", NameEL: "Τεχνικές Υπηρεσίες", NameEN: "Technical Services", Received: 3, Completed: 2,
				Completion: reports.Spread{N: 2, Median: d(4.5), P90: d(6), Max: d(6)}, WithinTarget: 0.5, WithinStatutory: 1,
				Stages: []reports.StageSpread{{Stage: dimos.StageRouted, Spread: reports.Spread{N: 3, Median: d(1)}}}},
		}}},
		Trend: []reports.Week{{Start: filter.From, Received: 3, Completed: 2, MedianCompletion: d(4.5)}},
	}, nil
}

func (f *fakeFileReports) CaseLines(ctx context.Context, filter reports.Filter, yield func(reports.CaseLine) error) error {
	f.mu.Lock()
	f.filters = append(f.filters, filter)
	f.mu.Unlock()
	return yield(reports.CaseLine{Number: numPothole, Kind: dimos.KindRequest, Channel: dimos.ChannelPortal,
		Category: "roads", Service: "TECH", Employee: "maria", Stage: dimos.StageRouted,
		SubmittedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
}

func (f *fakeFileReports) last() reports.Filter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.filters[len(f.filters)-1]
}

func withFileReports(f *fakeFileReports) func(*Config) { return func(cfg *Config) { cfg.Reports = f } }

func TestReportExportXLSX(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	b := h.signedIn(t, "eleni")
	p := b.get(t, "/console/reports/export.xlsx?from=2026-03-02&to=2026-03-29&category=roads&channel=portal&kind=request")
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := p.Header.Get("Content-Disposition"); cd != `attachment; filename="report-20260302-20260329.xlsx"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	f, err := excelize.OpenReader(strings.NewReader(p.Body))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	if got, _ := f.GetCellValue("Υπηρεσίες", "B2"); got != "Τεχνικές Υπηρεσίες" {
		t.Errorf("Υπηρεσίες!B2 = %q", got)
	}
	if got, _ := f.GetCellValue("Υποθέσεις", "A2"); got != numPothole {
		t.Errorf("Υποθέσεις!A2 = %q", got)
	}

	// The filter went to the source as asked: the days in Athens, to inclusive.
	got := src.last()
	athensDay := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, athens) }
	if !got.From.Equal(athensDay(2)) || !got.To.Equal(athensDay(30)) || got.Category != "roads" ||
		got.Channel != dimos.ChannelPortal || got.Kind != dimos.KindRequest || got.ServiceID != 0 {
		t.Errorf("filter %+v", got)
	}

	// Audited: who exported what.
	e := h.audit.entries[len(h.audit.entries)-1]
	if e.Action != "report.export" || e.EmployeeID != idEleni ||
		e.Detail != "format=xlsx from=2026-03-02 to=2026-03-29 category=roads channel=portal kind=request cases=1" {
		t.Errorf("audit %+v", e)
	}
}

func TestReportExportCSV(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	b := h.signedIn(t, "eleni")
	p := b.get(t, "/console/reports/export.csv?from=2026-03-02&to=2026-03-08&service=CLEAN")
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := p.Header.Get("Content-Disposition"); cd != `attachment; filename="report-20260302-20260308.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !strings.HasPrefix(p.Body, "\uFEFF") {
		t.Error("no byte order mark")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.Body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "Αριθμός" || rows[1][0] != numPothole || rows[1][7] != "2026-03-02 11:00" {
		t.Errorf("rows %q", rows)
	}
	if got := src.last().ServiceID; got != svcCleaning {
		t.Errorf("service code CLEAN went to the source as %d, want %d", got, svcCleaning)
	}
	if e := h.audit.entries[len(h.audit.entries)-1]; e.Action != "report.export" || !strings.HasPrefix(e.Detail, "format=csv ") {
		t.Errorf("audit %+v", e)
	}
}

// A director's report covers their own service: named or not, it is theirs, and
// asking for another service is refused, on every route of the reports.
func TestReportDirectorOwnServiceOnly(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	b := h.signedIn(t, "dimitra")
	routes := []string{"/console/reports", "/console/reports/export.csv", "/console/reports/export.xlsx",
		"/console/reports/charts/median.png"}
	for _, route := range routes {
		for _, query := range []string{"", "?service=TECH", "?service=tech"} {
			p := b.get(t, route+query)
			wantStatus(t, p, http.StatusOK)
			if got := src.last().ServiceID; got != svcTechnical {
				t.Errorf("%s%s: the director's report covered service %d, want their own %d", route, query, got, svcTechnical)
			}
		}
		n := len(src.filters)
		wantStatus(t, b.get(t, route+"?service=CLEAN"), http.StatusForbidden)
		if len(src.filters) != n {
			t.Errorf("%s?service=CLEAN: a director's report of another service reached the source", route)
		}
	}
}

// The report page and its files read a query the same way, so that the files
// linked from a page hold the page's report.
func TestReportQueryOneReading(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	b := h.signedIn(t, "eleni")
	for _, query := range []string{"", "from=2026-03-02&to=2026-03-08", "from=2025-02-01&to=2026-03-07",
		"service=CLEAN&category=bins&channel=ivr&kind=complaint", "to=2026-04-30", "service=clean"} {
		var filters []reports.Filter
		for _, route := range []string{"/console/reports", "/console/reports/export.xlsx",
			"/console/reports/export.csv", "/console/reports/charts/trend.svg"} {
			wantStatus(t, b.get(t, route+"?"+query), http.StatusOK)
			filters = append(filters, src.last())
		}
		for i, f := range filters[1:] {
			if !f.From.Equal(filters[0].From) || !f.To.Equal(filters[0].To) || f.ServiceID != filters[0].ServiceID ||
				f.Category != filters[0].Category || f.Channel != filters[0].Channel || f.Kind != filters[0].Kind {
				t.Errorf("?%s: route %d read %+v, the page %+v", query, i+1, f, filters[0])
			}
		}
	}
}

func TestReportDefaultPeriod(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	wantStatus(t, h.signedIn(t, "eleni").get(t, "/console/reports/export.csv"), http.StatusOK)
	// The harness's clock is 2 March 2026 12:00 UTC: the four weeks up to that day.
	got := src.last()
	if want := time.Date(2026, 2, 3, 0, 0, 0, 0, athens); !got.From.Equal(want) {
		t.Errorf("from %v, want %v", got.From, want)
	}
	if want := time.Date(2026, 3, 3, 0, 0, 0, 0, athens); !got.To.Equal(want) {
		t.Errorf("to %v, want %v", got.To, want)
	}
}

func TestReportBadQuery(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	b := h.signedIn(t, "eleni")
	for _, tc := range []struct {
		query  string
		fields []string
	}{
		{"from=2026-13-01", []string{"from"}},
		{"from=02/03/2026&to=yesterday", []string{"from", "to"}},
		{"from=2026-03-10&to=2026-03-01", []string{"to"}},
		{"service=NOSUCH", []string{"service"}},
		{"service=2", []string{"service"}},                // services are named by code, as the page names them
		{"from=2025-01-01&to=2026-02-05", []string{"to"}}, // 401 days
		{"from=2025-01-01", []string{"to"}},               // up to today, 2 March 2026
		{"channel=fax&kind=praise", []string{"channel", "kind"}},
		{"category=roads;drop", []string{"category"}},
	} {
		for _, path := range []string{"/console/reports", "/console/reports/export.xlsx", "/console/reports/export.csv", "/console/reports/charts/trend.svg"} {
			p := b.get(t, path+"?"+tc.query)
			if path == "/console/reports" {
				// The page shows the form again, with the field marked.
				wantStatus(t, p, http.StatusBadRequest)
				for _, field := range tc.fields {
					wantContains(t, p, `id="report-`+field+`-error"`)
				}
				continue
			}
			wantStatus(t, p, http.StatusBadRequest)
			for _, field := range tc.fields {
				// Named in Greek and in English.
				if !strings.Contains(p.Body, "Πεδίο «"+field+"»") || !strings.Contains(p.Body, "Field '"+field+"'") {
					t.Errorf("%s?%s: the answer does not name %s in both languages:\n%s", path, tc.query, field, p.Body)
				}
			}
		}
	}
	wantContains(t, b.get(t, "/console/reports/export.csv?from=2026-13-01"),
		"Πεδίο «from»: Μη έγκυρη ημερομηνία· γράψτε ΕΕΕΕ-ΜΜ-ΗΗ.\nField 'from': Not a valid date; write YYYY-MM-DD.")
	wantContains(t, b.get(t, "/console/reports/export.csv?from=2025-01-01&to=2026-03-01"),
		"Η περίοδος ξεπερνά τις 400 ημέρες.", "The period is longer than 400 days.")
	if n := len(src.filters); n != 0 {
		t.Errorf("a bad query reached the source %d times", n)
	}
}

func TestReportCharts(t *testing.T) {
	src := &fakeFileReports{}
	h := newHarness(t, withFileReports(src))
	b := h.signedIn(t, "eleni")
	p := b.get(t, "/console/reports/charts/median.png?from=2026-03-02&to=2026-03-29")
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type %q", ct)
	}
	img, err := png.Decode(bytes.NewReader([]byte(p.Body)))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if img.Bounds().Dx() != reports.ChartWidth || img.Bounds().Dy() != reports.ChartHeight {
		t.Errorf("PNG is %v", img.Bounds())
	}
	p = b.get(t, "/console/reports/charts/stages.svg")
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	wantContains(t, p, "<svg", "Τεχνικές Υπηρεσίες", "Στον διευθυντή της υπηρεσίας")
	// In English for a reader who chose it.
	b.get(t, "/console/lang/en")
	wantContains(t, b.get(t, "/console/reports/charts/target.svg"), "Technical Services (50%)")

	for _, name := range []string{"pie.png", "median.gif", "median"} {
		wantStatus(t, b.get(t, "/console/reports/charts/"+name), http.StatusNotFound)
	}
}

func TestReportUnavailable(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(t, "eleni")
	for _, path := range []string{"/console/reports/export.xlsx", "/console/reports/export.csv", "/console/reports/charts/median.png"} {
		wantStatus(t, b.get(t, path), http.StatusServiceUnavailable)
	}
}
