package reports

import (
	"context"
	"fmt"
	"math"
	"time"

	"dimos"
)

// fakeSource serves a small fixed report and its case lines, or, with generated set,
// that many synthetic case lines made on the fly (for the benchmark), so that the
// exports are tested on figures written here by hand and not on a computation.
type fakeSource struct {
	report    *Report
	lines     []CaseLine
	generated int
	filters   []Filter // every filter asked, in order
	// forgetful leaves the filter out of the report, as a careless source might.
	forgetful bool
}

func (s *fakeSource) Report(_ context.Context, f Filter) (*Report, error) {
	s.filters = append(s.filters, f)
	r := *s.report
	if !s.forgetful {
		r.Filter = f
	}
	return &r, nil
}

func (s *fakeSource) CaseLines(ctx context.Context, f Filter, yield func(CaseLine) error) error {
	s.filters = append(s.filters, f)
	if s.generated > 0 {
		for i := range s.generated {
			if err := yield(generatedLine(i)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, l := range s.lines {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := yield(l); err != nil {
			return err
		}
	}
	return nil
}

var fixtureFrom = time.Date(2026, 3, 2, 0, 0, 0, 0, athens)

func at(day, hour, min int) time.Time { return time.Date(2026, 3, day, hour, min, 0, 0, athens) }

func spread(n int, median, p90, max float64) Spread {
	d := func(wd float64) Duration { return Duration{WorkingDays: wd, Hours: wd * 24} }
	return Spread{N: n, Median: d(median), P90: d(p90), Max: d(max)}
}

// fixture is a report of two services, three employees and two categories over the
// four weeks from Monday 2 March 2026.
func fixture() *fakeSource {
	tech := Row{Key: "TECH", NameEL: "Τεχνικές Υπηρεσίες", NameEN: "Technical Services",
		Received: 12, Completed: 8, Backlog: 4, OverdueNow: 1,
		Completion: spread(8, 6.5, 11.25, 14),
		Stages: []StageSpread{
			{dimos.StageRouted, spread(12, 1.5, 3, 4)},
			{dimos.StageInProgress, spread(8, 4, 7.5, 9)},
		},
		WithinTarget: 0.75, WithinStatutory: 1}
	clean := Row{Key: "CLEAN", NameEL: "Καθαριότητα", NameEN: "Cleaning",
		Received: 5, Completed: 0, Backlog: 5, OverdueNow: 0,
		Stages:       []StageSpread{{dimos.StageRouted, spread(5, 0.5, 1, 1.5)}},
		WithinTarget: math.NaN(), WithinStatutory: math.NaN()}
	total := Row{Received: 17, Completed: 8, Backlog: 9, OverdueNow: 1, Completion: spread(8, 6.5, 11.25, 14),
		Stages: []StageSpread{
			{dimos.StageRouted, spread(17, 1, 2.5, 4)},
			{dimos.StageInProgress, spread(8, 4, 7.5, 9)},
		},
		WithinTarget: 0.75, WithinStatutory: 1}
	employees := Table{Dimension: ByEmployee, Total: total, Rows: []Row{
		{Key: "maria", NameEL: "Μαρία Παπαδοπούλου", NameEN: "Maria Papadopoulou", Received: 7, Completed: 5, Backlog: 2,
			Completion: spread(5, 5, 9, 10), WithinTarget: 0.8, WithinStatutory: 1},
		{Key: "giorgos", NameEL: "Γιώργος Μανουσάκης", NameEN: "Giorgos Manousakis", Received: 5, Completed: 3, Backlog: 2,
			OverdueNow: 1, Completion: spread(3, 8, 13.5, 14), WithinTarget: 2.0 / 3, WithinStatutory: 1},
		{Key: "nikos", NameEL: "Νίκος Γεωργίου", NameEN: "Nikos Georgiou", Received: 5, Backlog: 5,
			WithinTarget: math.NaN(), WithinStatutory: math.NaN()},
	}}
	categories := Table{Dimension: ByCategory, Total: total, Rows: []Row{
		{Key: "roads", NameEL: "Οδοποιία", NameEN: "Roads", Received: 12, Completed: 8, Backlog: 4, OverdueNow: 1,
			Completion: spread(8, 6.5, 11.25, 14), WithinTarget: 0.75, WithinStatutory: 1},
		{Key: "bins", NameEL: "Αποκομιδή απορριμμάτων", NameEN: "Waste collection", Received: 5, Backlog: 5,
			WithinTarget: math.NaN(), WithinStatutory: math.NaN()},
	}}
	week := func(w int) time.Time { return fixtureFrom.AddDate(0, 0, 7*w) }
	r := &Report{
		GeneratedAt: time.Date(2026, 3, 30, 9, 15, 0, 0, time.UTC),
		Tables: []Table{
			{Dimension: ByService, Rows: []Row{tech, clean}, Total: total},
			employees, categories,
		},
		Bottlenecks: []Bottleneck{
			{Stage: dimos.StageInProgress, Dimension: ByService, Key: "TECH", NameEL: "Τεχνικές Υπηρεσίες",
				NameEN: "Technical Services", Wait: spread(8, 4, 7.5, 9)},
			{Stage: dimos.StageRouted, Dimension: ByEmployee, Key: "nikos", NameEL: "Νίκος Γεωργίου",
				NameEN: "Nikos Georgiou", Wait: spread(5, 0.5, 1, 1.5)},
		},
		PingPongs: []PingPong{
			{Number: "2026-000007", Subject: "=Λακκούβα που πήγε και ήρθε", Moves: 3, Returns: 1,
				Holders: []string{"TECH", "CLEAN", "TECH", "CLEAN"}, Dimension: ByService},
		},
		Trend: []Week{
			{Start: week(0), Received: 6, Completed: 1, MedianCompletion: Duration{3, 72}},
			{Start: week(1), Received: 4, Completed: 3, MedianCompletion: Duration{5.5, 132}},
			{Start: week(2), Received: 5, Completed: 2, MedianCompletion: Duration{7, 168}},
			{Start: week(3), Received: 2, Completed: 2, MedianCompletion: Duration{8.5, 204}},
			{Start: week(0), ServiceKey: "TECH", Received: 4, Completed: 1, MedianCompletion: Duration{3, 72}},
			{Start: week(0), ServiceKey: "CLEAN", Received: 2},
		},
	}
	lines := []CaseLine{
		{Number: "2026-000001", Kind: dimos.KindRequest, Channel: dimos.ChannelPortal, Category: "roads",
			Service: "TECH", Employee: "maria", Stage: dimos.StageCompleted, SubmittedAt: at(2, 9, 30),
			ClosedAt: at(10, 14, 0), Completion: Duration{WorkingDays: 6.5, Hours: 196.5}},
		{Number: "2026-000002", Kind: dimos.KindComplaint, Channel: dimos.ChannelIVR, Category: "bins",
			Service: "CLEAN", Employee: "nikos", Stage: dimos.StageRouted, SubmittedAt: at(3, 8, 0), Overdue: true},
		{Number: "2026-000003", Kind: dimos.KindSuggestion, Channel: dimos.ChannelDesk, Category: "roads",
			Service: "TECH", Employee: "=HYPERLINK(\"http://evil\")", Stage: dimos.StageInProgress, SubmittedAt: at(4, 11, 45)},
	}
	return &fakeSource{report: r, lines: lines}
}

func fixtureFilter() Filter {
	return Filter{From: fixtureFrom, To: fixtureFrom.AddDate(0, 0, 28)}
}

// generatedLine is the i-th of a benchmark's synthetic cases: every field filled,
// every other case closed.
func generatedLine(i int) CaseLine {
	l := CaseLine{
		Number:      fmt.Sprintf("2026-%06d", i+1),
		Kind:        []dimos.Kind{dimos.KindRequest, dimos.KindComplaint, dimos.KindSuggestion}[i%3],
		Channel:     []dimos.Channel{dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelDesk}[i%3],
		Category:    []string{"roads", "bins", "lighting", "water"}[i%4],
		Service:     []string{"TECH", "CLEAN", "WATER"}[i%3],
		Employee:    fmt.Sprintf("clerk%03d", i%200),
		Stage:       dimos.StageInProgress,
		SubmittedAt: fixtureFrom.Add(time.Duration(i) * time.Minute),
	}
	if i%2 == 0 {
		l.Stage = dimos.StageCompleted
		l.ClosedAt = l.SubmittedAt.Add(time.Duration(24+i%300) * time.Hour)
		l.Completion = Duration{WorkingDays: float64(1+i%300/24) + 0.5, Hours: float64(24 + i%300)}
		l.Overdue = i%7 == 0
	}
	return l
}
