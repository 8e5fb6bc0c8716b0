package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"dimos"
	"dimos/reports"
)

// oneCase is a reports.Source of one service and one case.
type oneCase struct{ asked []reports.Filter }

func (s *oneCase) Report(ctx context.Context, f reports.Filter) (*reports.Report, error) {
	s.asked = append(s.asked, f)
	return &reports.Report{Filter: f, GeneratedAt: f.To, Tables: []reports.Table{{Dimension: reports.ByService,
		Rows: []reports.Row{{Key: "TECH", NameEL: "Τεχνικές Υπηρεσίες", NameEN: "Technical Services", Received: 1}}}}}, nil
}

func (s *oneCase) CaseLines(ctx context.Context, f reports.Filter, yield func(reports.CaseLine) error) error {
	s.asked = append(s.asked, f)
	return yield(reports.CaseLine{Number: "2026-000001", Kind: dimos.KindRequest, Channel: dimos.ChannelPortal,
		Service: "TECH", Stage: dimos.StageRouted, SubmittedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, athens)})
}

func TestParseReportArgs(t *testing.T) {
	a, err := parseReportArgs([]string{"--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv", "--out", "x.csv",
		"--service", "3", "--kind", "complaint", "--channel", "ivr", "--lang", "en"})
	if err != nil {
		t.Fatal(err)
	}
	f := a.filter
	if !f.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, athens)) || !f.To.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, athens)) ||
		f.ServiceID != 3 || f.Kind != dimos.KindComplaint || f.Channel != dimos.ChannelIVR || a.format != "csv" ||
		a.out != "x.csv" || a.lang != "en" {
		t.Errorf("parsed %+v", a)
	}
	for _, bad := range [][]string{
		{"--to", "2026-03-31", "--out", "x"},                         // no --from
		{"--from", "2026-03-01", "--out", "x"},                       // no --to
		{"--from", "2026-03-01", "--to", "2026-03-31"},               // no --out
		{"--from", "01/03/2026", "--to", "2026-03-31", "--out", "x"}, // not ISO
		{"--from", "2026-03-31", "--to", "2026-03-01", "--out", "x"}, // backwards
		{"--from", "2026-03-01", "--to", "2026-03-31", "--out", "x", "--format", "pdf"},
		{"--from", "2026-03-01", "--to", "2026-03-31", "--out", "x", "--kind", "praise"},
		{"--from", "2026-03-01", "--to", "2026-03-31", "--out", "x", "--channel", "fax"},
	} {
		if _, err := parseReportArgs(bad); err == nil {
			t.Errorf("parseReportArgs(%q) accepted it", bad)
		}
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	src := &oneCase{}
	a, err := parseReportArgs([]string{"--from", "2026-03-01", "--to", "2026-03-31", "--out", filepath.Join(dir, "march.xlsx")})
	if err != nil {
		t.Fatal(err)
	}
	n, err := writeReport(context.Background(), src, a, nil)
	if err != nil || n != 1 {
		t.Fatalf("writeReport: %d, %v", n, err)
	}
	f, err := excelize.OpenFile(a.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := f.GetCellValue("Υπηρεσίες", "B2"); got != "Τεχνικές Υπηρεσίες" {
		t.Errorf("Υπηρεσίες!B2 = %q", got)
	}
	if got, _ := f.GetCellValue("Υποθέσεις", "A2"); got != "2026-000001" {
		t.Errorf("Υποθέσεις!A2 = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d files behind, want only the report", len(entries))
	}

	a.format, a.out = "csv", "-"
	var out bytes.Buffer
	if _, err := writeReport(context.Background(), src, a, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "\uFEFFΑριθμός,") || !strings.Contains(out.String(), "2026-000001,Αίτημα") {
		t.Errorf("CSV on stdout:\n%s", out.String())
	}
}

func TestReportSourceMissing(t *testing.T) {
	if _, err := reportSource(struct{}{}); err == nil || !strings.Contains(err.Error(), "does not compute delay reports") {
		t.Errorf("reportSource of a database without reports: %v", err)
	}
	if src, err := reportSource(&oneCase{}); err != nil || src == nil {
		t.Errorf("reportSource of a source: %v", err)
	}
	// A nil interface, not a typed nil: the console tests Reports against nil.
	if src := reportsOf(struct{}{}); src != nil {
		t.Errorf("reportsOf of a database without reports = %v, want nil", src)
	}
}
