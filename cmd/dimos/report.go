package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"dimos"
	"dimos/reports"
)

// reportArgs are the flags of `dimos report`.
type reportArgs struct {
	filter reports.Filter
	format string // "xlsx" or "csv"
	out    string // a file, or "-" for standard output
	lang   string
}

// parseReportArgs reads the flags of `dimos report`. Dates are civil dates in Athens,
// both included, as on the console's report page.
func parseReportArgs(args []string) (reportArgs, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	from := fs.String("from", "", "first day of the report, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last day of the report, YYYY-MM-DD, included (required)")
	format := fs.String("format", "xlsx", "xlsx (the whole report as a workbook) or csv (its cases)")
	out := fs.String("out", "", "file to write, - for standard output (required)")
	lang := fs.String("lang", "el", "language of the headings: el or en")
	service := fs.Int64("service", 0, "only the cases of this service id")
	category := fs.String("category", "", "only the cases of this category code")
	channel := fs.String("channel", "", "only the cases that came by this channel (portal, ivr, open311, desk)")
	kind := fs.String("kind", "", "only the cases of this kind (request, complaint, suggestion, certificate)")
	if err := fs.Parse(args); err != nil {
		return reportArgs{}, err
	}
	var a reportArgs
	day := func(name, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, fmt.Errorf("report: --%s is required", name)
		}
		t, err := time.ParseInLocation("2006-01-02", s, athens)
		if err != nil {
			return time.Time{}, fmt.Errorf("report: --%s %q is not a date YYYY-MM-DD", name, s)
		}
		return t, nil
	}
	start, err := day("from", *from)
	if err != nil {
		return a, err
	}
	last, err := day("to", *to)
	if err != nil {
		return a, err
	}
	if last.Before(start) {
		return a, fmt.Errorf("report: --to %s is before --from %s", *to, *from)
	}
	if *format != "xlsx" && *format != "csv" {
		return a, fmt.Errorf("report: --format %q: want xlsx or csv", *format)
	}
	if *out == "" {
		return a, errors.New("report: --out is required (a file, or - for standard output)")
	}
	if *lang != "el" && *lang != "en" {
		return a, fmt.Errorf("report: --lang %q: want el or en", *lang)
	}
	if *kind != "" && !dimos.Kind(*kind).Valid() {
		return a, fmt.Errorf("report: --kind %q is not a kind of case", *kind)
	}
	switch dimos.Channel(*channel) {
	case "", dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelOpen311, dimos.ChannelDesk:
	default:
		return a, fmt.Errorf("report: --channel %q is not a channel", *channel)
	}
	a.filter = reports.Filter{From: start, To: last.AddDate(0, 0, 1), ServiceID: *service, Category: *category,
		Channel: dimos.Channel(*channel), Kind: dimos.Kind(*kind)}
	a.format, a.out, a.lang = *format, *out, *lang
	return a, nil
}

var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

// runReport writes a delay report from the command line, the same files the console
// exports:
//
//	dimos report --from 2026-03-01 --to 2026-03-31 --format xlsx --out march.xlsx
func runReport(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	a, err := parseReportArgs(args)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	src, err := reportSource(db)
	if err != nil {
		return err
	}
	n, err := writeReport(ctx, src, a, os.Stdout)
	if err != nil {
		return err
	}
	log.Info("report written", "out", a.out, "format", a.format, "cases", n)
	return nil
}

// reportSource is the database as a source of reports. The reports are computed by
// the postgres package; a build whose database lacks them says so plainly.
func reportSource(db any) (reports.Source, error) {
	src, ok := db.(reports.Source)
	if !ok {
		return nil, fmt.Errorf("report: the database (%T) does not compute delay reports in this build", db)
	}
	return src, nil
}

// reportsOf is db as the console's source of reports, or nil, which leaves the
// console's report files unavailable (503), while the database does not compute them.
func reportsOf(db any) reports.Source {
	src, _ := reportSource(db)
	return src
}

// writeReport writes a's report to its file, or to stdout for "-". A file is written
// beside its destination and renamed into place at the end, so that a failure never
// leaves half a workbook under the name asked for.
func writeReport(ctx context.Context, src reports.Source, a reportArgs, stdout io.Writer) (int, error) {
	write := func(w io.Writer) (int, error) {
		if a.format == "csv" {
			return reports.WriteCasesCSV(ctx, w, src, a.filter, a.lang)
		}
		return reports.WriteXLSX(ctx, w, src, a.filter, a.lang)
	}
	if a.out == "-" {
		return write(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(a.out), "."+filepath.Base(a.out)+".*")
	if err != nil {
		return 0, fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone already once renamed
	n, err := write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return n, fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), a.out); err != nil {
		return n, fmt.Errorf("report: %w", err)
	}
	return n, nil
}
