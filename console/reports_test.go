package console

import (
	"context"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"dimos"
	"dimos/reports"
)

// fakeReports returns a fixed report and records the filters it was asked for.
type fakeReports struct {
	mu      sync.Mutex
	filters []reports.Filter
}

func (f *fakeReports) Report(ctx context.Context, filter reports.Filter) (*reports.Report, error) {
	f.mu.Lock()
	f.filters = append(f.filters, filter)
	f.mu.Unlock()
	d := func(wd, h float64) reports.Duration { return reports.Duration{WorkingDays: wd, Hours: h} }
	tech := reports.Row{Key: "TECH", NameEL: "Τεχνικές Υπηρεσίες", NameEN: "Technical Services",
		Received: 7, Completed: 5, Backlog: 2, OverdueNow: 1,
		Completion:   reports.Spread{N: 5, Median: d(1.4, 55), P90: d(3.4, 106), Max: d(82.0/24, 106)},
		Stages:       []reports.StageSpread{{Stage: dimos.StageRouted, Spread: reports.Spread{N: 4, Median: d(1, 24), P90: d(1.9, 95), Max: d(47.0/24, 95)}}},
		WithinTarget: 0.75, WithinStatutory: 1}
	unrouted := reports.Row{Received: 1, Backlog: 1, WithinTarget: math.NaN(), WithinStatutory: math.NaN()}
	total := tech
	total.Received, total.Backlog = 8, 3
	return &reports.Report{Filter: filter, GeneratedAt: time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC),
		Tables: []reports.Table{
			{Dimension: reports.ByService, Rows: []reports.Row{tech, unrouted}, Total: total},
			{Dimension: reports.ByEmployee, Rows: []reports.Row{{Key: "maria", NameEL: "Μαρία Παπαδοπούλου", NameEN: "Maria Papadopoulou",
				Received: 3, WithinTarget: math.NaN(), WithinStatutory: math.NaN()}}, Total: total},
			{Dimension: reports.ByCategory, Total: total},
		},
		Bottlenecks: []reports.Bottleneck{{Stage: dimos.StageWaitingCitizen, Dimension: reports.ByService, Key: "TECH",
			NameEL: "Τεχνικές Υπηρεσίες", Wait: reports.Spread{N: 1, Median: d(2, 72), P90: d(2, 72), Max: d(2, 72)}}},
		PingPongs: []reports.PingPong{{Number: "2026-000003", Subject: "<b>Κάδοι</b>", Moves: 2, Returns: 1,
			Holders: []string{"CLEAN", "TECH", "CLEAN"}, Dimension: reports.ByService}},
		Trend: []reports.Week{{Start: time.Date(2026, 3, 23, 0, 0, 0, 0, athens), Received: 5, Completed: 4, MedianCompletion: d(1.4, 55)}},
	}, nil
}

func (f *fakeReports) CaseLines(ctx context.Context, filter reports.Filter, yield func(reports.CaseLine) error) error {
	return nil
}

func (f *fakeReports) last() reports.Filter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.filters[len(f.filters)-1]
}

func withReports(f *fakeReports) func(*Config) { return func(cfg *Config) { cfg.Reports = f } }

func TestReportsPage(t *testing.T) {
	f := &fakeReports{}
	h := newHarness(t, withReports(f))

	t.Run("FiguresOnThePage", func(t *testing.T) {
		p := h.signedIn(t, "eleni").get(t, "/console/reports?from=2026-03-23&to=2026-03-29&service=CLEAN&channel=ivr&kind=request&category=bins")
		wantStatus(t, p, http.StatusOK)
		got := f.last()
		wantFrom, wantTo := time.Date(2026, 3, 23, 0, 0, 0, 0, athens), time.Date(2026, 3, 30, 0, 0, 0, 0, athens)
		if !got.From.Equal(wantFrom) || !got.To.Equal(wantTo) || got.ServiceID != svcCleaning ||
			got.Channel != dimos.ChannelIVR || got.Kind != dimos.KindRequest || got.Category != "bins" {
			t.Errorf("filter %+v", got)
		}
		compact := strings.Join(strings.Fields(p.Body), "")
		for _, want := range []string{
			// TECH: received, completed, open, overdue; median, p90, max in working days
			// (Greek decimal comma) and hours; shares.
			`<thscope="row">ΤεχνικέςΥπηρεσίες</th><td>7</td><td>5</td><td>2</td><td>1</td><td>1,4</td><td>55</td><td>3,4</td><td>106</td><td>3,42</td><td>106</td><td>75%</td><td>100%</td>`,
			// The unrouted cases: nothing completed, so no shares.
			`<thscope="row">Χωρίςυπηρεσία(δενέχειδρομολογηθεί)</th><td>1</td><td>0</td><td>1</td><td>0</td><td></td><td></td><td></td><td></td><td></td><td></td><td>—</td><td>—</td>`,
			`<thscope="row">Σύνολο</th><td>8</td><td>5</td><td>3</td><td>1</td>`,
			// Stage table: median / p90 of the routed stage.
			`<thscope="row">ΤεχνικέςΥπηρεσίες</th><td>1/1,9</td>`,
			// Bottleneck, ping-pong (escaped subject), trend.
			`<td>1</td><td>Αναμονήστοιχείωναπότονπολίτη</td><thscope="row">ΤεχνικέςΥπηρεσίες<spanclass="muted">(Υπηρεσία)</span></th><td>1</td><td>2</td><td>2</td><td>72</td><td>2</td>`,
			`<td>CLEAN→TECH→CLEAN</td><td>2</td><td>1</td>`,
			`&lt;b&gt;Κάδοι&lt;/b&gt;`,
			`<td>23/03/2026</td><thscope="row">Όλεςοιυπηρεσίες</th><td>5</td><td>4</td><td>1,4</td><td>55</td>`,
			`<thscope="row">ΜαρίαΠαπαδοπούλου</th><td>3</td>`,
		} {
			if !strings.Contains(compact, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		wantContains(t, p,
			`Κανόνας εργάσιμων ημερών`, `0,1 εργάσιμης ημέρας`,
			`<img src="/console/reports/charts/median.png?category=bins&amp;channel=ivr&amp;from=2026-03-23&amp;kind=request&amp;service=CLEAN&amp;to=2026-03-29"`,
			`/console/reports/charts/stages.svg?`, `/console/reports/charts/trend.png?`, `/console/reports/charts/target.png?`,
			`href="/console/reports/export.xlsx?category=bins&amp;channel=ivr&amp;from=2026-03-23`,
			`href="/console/reports/export.csv?`,
			`href="/console/static/reports.css"`,
			`<a href="/console/reports">Αναφορές καθυστερήσεων</a>`)
		if e := h.audit.find(auditReportView); len(e) == 0 || !strings.Contains(e[len(e)-1].Detail, "service=CLEAN") {
			t.Errorf("report view not audited: %+v", e)
		}
	})

	t.Run("PrintStylesheetIsA4", func(t *testing.T) {
		p := h.browser().get(t, "/console/static/reports.css")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "@page { size: A4", "@media print", ".site-header nav")
	})

	t.Run("DirectorSeesOwnServiceOnly", func(t *testing.T) {
		b := h.signedIn(t, "dimitra")
		wantStatus(t, b.get(t, "/console/reports"), http.StatusOK)
		if got := f.last(); got.ServiceID != svcTechnical {
			t.Errorf("director's report for service %d, want %d", got.ServiceID, svcTechnical)
		}
		wantStatus(t, b.get(t, "/console/reports?service=CLEAN"), http.StatusForbidden)
	})

	t.Run("DefaultPeriodIsTheLastFourWeeks", func(t *testing.T) {
		wantStatus(t, h.signedIn(t, "eleni").get(t, "/console/reports"), http.StatusOK)
		// The harness clock reads 2 March 2026: 3 February to 2 March inclusive.
		got := f.last()
		if !got.From.Equal(time.Date(2026, 2, 3, 0, 0, 0, 0, athens)) || !got.To.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, athens)) {
			t.Errorf("default period %v – %v", got.From, got.To)
		}
	})

	t.Run("BadInputIs400WithTheField", func(t *testing.T) {
		n := len(f.filters)
		b := h.signedIn(t, "eleni")
		p := b.get(t, "/console/reports?from=23/03/2026&to=2026-03-29&kind=petition")
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `id="report-from" name="from" value="23/03/2026" aria-invalid="true"`,
			`Μη έγκυρη ημερομηνία· γράψτε ΕΕΕΕ-ΜΜ-ΗΗ.`, `id="report-kind-error"`, `Άγνωστο είδος.`)
		p = b.get(t, "/console/reports?from=2026-03-29&to=2026-03-01")
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `id="report-to-error"`)
		b.get(t, "/console/lang/en?next=/console/reports")
		p = b.get(t, "/console/reports?service=NOPE")
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `Unknown service.`, `The report was not computed`)
		if len(f.filters) != n {
			t.Errorf("a refused filter reached the report source")
		}
	})

	t.Run("UnavailableWithoutSource", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "eleni")
		wantStatus(t, b.get(t, "/console/reports"), http.StatusServiceUnavailable)
		wantLacks(t, b.get(t, "/console/inbox"), `href="/console/reports"`)
	})
}
