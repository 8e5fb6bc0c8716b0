package reports

import (
	"context"
	"time"

	"dimos"
)

// Filter selects the cases a report covers: those received in [From, To) (Athens
// calendar days; To exclusive), narrowed by the optional fields. Zero values mean
// "all".
type Filter struct {
	From, To   time.Time
	ServiceID  int64
	Category   string
	Channel    dimos.Channel
	Kind       dimos.Kind
	EmployeeID int64
}

// Dimension is what a table of a report is grouped by.
type Dimension string

const (
	ByService  Dimension = "service"
	ByEmployee Dimension = "employee"
	ByCategory Dimension = "category"
)

// Duration is a length of time in both units the reports speak: working days (Greek
// calendar, 08:00–16:00 working hours as workdays/ defines them) and calendar hours.
type Duration struct {
	WorkingDays float64
	Hours       float64
}

// Spread summarises a set of durations.
type Spread struct {
	N                int
	Median, P90, Max Duration
}

// StageSpread is the time cases spent in one stage.
type StageSpread struct {
	Stage dimos.Stage
	Spread
}

// Row is one group (a service, an employee or a category) of a dimension's table.
type Row struct {
	Key        string // service code, employee username or category code
	NameEL     string
	NameEN     string
	Received   int
	Completed  int // completed or rejected in the period
	Backlog    int // open now
	OverdueNow int // open now and past the statutory limit or the due date
	Completion Spread
	Stages     []StageSpread // in lifecycle order; a stage no case visited is absent
	// Shares of the completed cases closed within the category's completion target and
	// within the statutory limit, from 0 to 1; NaN when nothing was completed.
	WithinTarget    float64
	WithinStatutory float64
}

// Table is one dimension of a report.
type Table struct {
	Dimension Dimension
	Rows      []Row
	Total     Row // the same figures over every case of the report
}

// Bottleneck is a stage × group pair with the longest waits, ranked by median.
type Bottleneck struct {
	Stage     dimos.Stage
	Dimension Dimension // ByService or ByEmployee
	Key       string
	NameEL    string
	NameEN    string
	Wait      Spread
}

// PingPong is a case that went back and forth between services or clerks.
type PingPong struct {
	Number    string
	Subject   string
	Moves     int      // hand-overs between holders
	Returns   int      // hand-overs back to a holder the case had already left
	Holders   []string // in order, service codes or employee usernames
	Dimension Dimension
}

// Week is one week (Monday, Athens) of the trend.
type Week struct {
	Start            time.Time
	ServiceKey       string // empty for the whole municipality
	Received         int
	Completed        int
	MedianCompletion Duration
}

// CaseLine is one case of the raw list that the exports carry.
type CaseLine struct {
	Number      string
	Kind        dimos.Kind
	Channel     dimos.Channel
	Category    string
	Service     string
	Employee    string
	Stage       dimos.Stage
	SubmittedAt time.Time
	ClosedAt    time.Time // zero while open
	Completion  Duration  // zero while open
	Overdue     bool
}

// Report is everything a delay report shows, for one filter.
type Report struct {
	Filter      Filter
	GeneratedAt time.Time
	Tables      []Table // ByService, ByEmployee, ByCategory, in that order
	Bottlenecks []Bottleneck
	PingPongs   []PingPong
	Trend       []Week
}

// Source computes reports and lists their cases; postgres.DB implements it. Exports,
// charts, the console's pages and the command line all read through it.
type Source interface {
	// Report computes every table, the bottlenecks, the ping-pong cases and the trend
	// for f, with durations in working days and hours.
	Report(ctx context.Context, f Filter) (*Report, error)
	// CaseLines calls yield for every case of f in submission order, streaming, so that
	// an export of any size holds one line at a time; a non-nil error from yield stops it.
	CaseLines(ctx context.Context, f Filter, yield func(CaseLine) error) error
}
