package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"dimos"
	"dimos/reports"
)

var _ reports.Source = (*DB)(nil)

// Report computes a delay report from the rollups: it reads one row per week (or day,
// at the ends of the period) and group, and the counts of open cases by day and group,
// never the cases, except those that become overdue today and the ones that bounced
// between holders.
//
// What each figure counts, for the cases of the filter:
//   - Received: cases submitted in the period, under the service and clerk holding
//     them now (or when they closed); an unrouted case has no service.
//   - Completed: cases that reached completed or rejected in the period, under the
//     holder that closed them; a case reopened and closed again counts each time.
//   - Completion: from submission to that close, in working days and hours.
//   - Stages: visits to each stage that ended in the period, under the visit's holder.
//   - Backlog, OverdueNow: cases submitted in the period and open now; overdue when
//     past their due date or past the statutory limit on the municipality's clock.
func (db *DB) Report(ctx context.Context, f reports.Filter) (*reports.Report, error) {
	return db.report(ctx, f, true)
}

// report is Report, reading whole weeks from report_rollups_weekly when weeks is set
// and the filter allows, or every day from report_rollups.
func (db *DB) report(ctx context.Context, f reports.Filter, weeks bool) (*reports.Report, error) {
	now := db.Now()
	names, err := db.reportNames(ctx)
	if err != nil {
		return nil, err
	}
	// The reads go to PostgreSQL at once, each on its own connection and into its
	// own accumulator: at a million cases the rollups and the open cases are each a
	// few hundred milliseconds of the server's time.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reads := rollupReads(f, weeks)
	parts := make([]*reportAcc, len(reads)+1)
	errs := make([]error, len(reads)+2)
	var pings []reports.PingPong
	var wg sync.WaitGroup
	failed := func(i int, err error) {
		if errs[i] = err; err != nil {
			cancel()
		}
	}
	for i, rd := range reads {
		parts[i] = newReportAcc()
		wg.Go(func() { failed(i, db.readRollupTable(ctx, rd.table, rd.from, rd.to, f, parts[i])) })
	}
	parts[len(reads)] = newReportAcc()
	wg.Go(func() { failed(len(reads), db.readOpen(ctx, f, now, parts[len(reads)])) })
	wg.Go(func() {
		var err error
		pings, err = db.pingPongs(ctx, f, names)
		failed(len(reads)+1, err)
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The reads filled only cells and weeks. The largest becomes the sum, rather
	// than being copied into a new one: at 1M that is one weekly half's histograms
	// not added a second time.
	base := 0
	for i, p := range parts {
		if len(p.cells) > len(parts[base].cells) {
			base = i
		}
	}
	acc := parts[base]
	for i, p := range parts {
		if i != base {
			acc.absorb(p)
		}
	}
	acc.fold()
	r := &reports.Report{Filter: f, GeneratedAt: now}
	for _, dim := range []reports.Dimension{reports.ByService, reports.ByEmployee, reports.ByCategory} {
		t := reports.Table{Dimension: dim, Total: acc.total.row("", "", "")}
		for _, id := range acc.sortedKeys(dim, names) {
			key, el, en := names.of(dim, id)
			t.Rows = append(t.Rows, acc.groups[groupID{dim, id}].row(key, el, en))
		}
		r.Tables = append(r.Tables, t)
	}
	r.Bottlenecks = acc.bottlenecks(names)
	r.PingPongs = pings
	r.Trend = acc.trend(names)
	return r, nil
}

// Bucket resolutions as the reports state them on the page.
const (
	// MedianResolutionDays is the step to which medians and p90 in working days are
	// read from the rollups' histograms (rounded down).
	MedianResolutionDays = 0.1
	// MedianResolutionHours is the same step in calendar hours.
	MedianResolutionHours = 1
)

// groupID names a group of a dimension: a service or employee id, or a category code.
type groupID struct {
	dim reports.Dimension
	id  string
}

// spreadAcc sums rollup rows of one measure.
type spreadAcc struct {
	n, target, statute int
	maxDays, maxHours  float64
	days, hours        bucketCounts
}

func (a *spreadAcc) merge(b *rollupRow) {
	a.n += b.n
	a.target += b.target
	a.statute += b.statute
	a.maxDays, a.maxHours = max(a.maxDays, b.maxDays), max(a.maxHours, b.maxHours)
	b.days.addTo(&a.days)
	b.hours.addTo(&a.hours)
}

// add adds another accumulator.
func (a *spreadAcc) add(b *spreadAcc) {
	a.n += b.n
	a.target += b.target
	a.statute += b.statute
	a.maxDays, a.maxHours = max(a.maxDays, b.maxDays), max(a.maxHours, b.maxHours)
	a.days.addAll(&b.days)
	a.hours.addAll(&b.hours)
}

// bucketCounts is a histogram being summed: counts by bucket, in blocks of
// countBlock buckets allocated as they are first used. Durations cluster, and a
// group's few long ones lie far apart: counts indexed by bucket up to the longest
// were mostly empty, and zeroing and adding them was a third of a year's report
// at a million cases; blocks hold the clusters, and sums walk only the blocks used.
type bucketCounts struct {
	blocks []*[countBlock]int32 // nil: no count in that block
	slab   *blockSlab           // where new blocks come from; nil: the heap, one by one
}

// blockSlab hands out the blocks of one report's accumulator from chunks, so that a
// report allocates a few hundred chunks rather than each of its blocks apart (one
// 256-byte allocation per block was a tenth of a year's report at 1M, and the
// collector's work on them another). One goroutine uses a slab at a time, as one
// reads into an accumulator.
type blockSlab struct {
	free [][countBlock]int32
}

// slabChunk is the blocks a slab allocates at once: 64 KiB.
const slabChunk = 256

func (s *blockSlab) block() *[countBlock]int32 {
	if s == nil {
		return new([countBlock]int32)
	}
	if len(s.free) == 0 {
		s.free = make([][countBlock]int32, slabChunk)
	}
	b := &s.free[0]
	s.free = s.free[1:]
	return b
}

// countBlock is the buckets of a block: 16 hours, or 6.4 working days.
const countBlock = 64

func (h *bucketCounts) block(i int) *[countBlock]int32 {
	if i >= len(h.blocks) {
		h.blocks = append(h.blocks, make([]*[countBlock]int32, i+1-len(h.blocks))...)
	}
	if h.blocks[i] == nil {
		h.blocks[i] = h.slab.block()
	}
	return h.blocks[i]
}

// addAll adds another histogram's counts.
func (h *bucketCounts) addAll(o *bucketCounts) {
	for i, src := range o.blocks {
		if src == nil {
			continue
		}
		dst := h.block(i)
		for j, n := range src {
			dst[j] += n
		}
	}
}

// quantile is the bucket of the nearest-rank q-quantile of n counts: the ceil(q·n)-th
// smallest value.
func (h *bucketCounts) quantile(n int, q float64) int {
	if n == 0 {
		return 0
	}
	rank := max(1, int(math.Ceil(q*float64(n))))
	seen, last := 0, 0
	for i, blk := range h.blocks {
		if blk == nil {
			continue
		}
		for j, c := range blk {
			if c == 0 {
				continue
			}
			seen, last = seen+int(c), i*countBlock+j
			if seen >= rank {
				return last
			}
		}
	}
	return last
}

func (a *spreadAcc) spread() reports.Spread {
	if a == nil || a.n == 0 {
		return reports.Spread{}
	}
	at := func(q float64) reports.Duration {
		return reports.Duration{
			WorkingDays: float64(a.days.quantile(a.n, q)) * MedianResolutionDays,
			Hours:       float64(a.hours.quantile(a.n, q)) * MedianResolutionHours,
		}
	}
	return reports.Spread{N: a.n, Median: at(0.5), P90: at(0.9),
		Max: reports.Duration{WorkingDays: a.maxDays, Hours: a.maxHours}}
}

// groupAcc is everything counted for one group.
type groupAcc struct {
	received         int
	backlog, overdue int
	measures         map[string]*spreadAcc // "completed" and stage names
	slab             *blockSlab            // its accumulator's
}

func (g *groupAcc) measure(m string) *spreadAcc {
	if g.measures == nil {
		g.measures = map[string]*spreadAcc{}
	}
	s := g.measures[m]
	if s == nil {
		s = &spreadAcc{days: bucketCounts{slab: g.slab}, hours: bucketCounts{slab: g.slab}}
		g.measures[m] = s
	}
	return s
}

func (g *groupAcc) row(key, el, en string) reports.Row {
	r := reports.Row{Key: key, NameEL: el, NameEN: en, Received: g.received, Backlog: g.backlog,
		OverdueNow: g.overdue, WithinTarget: math.NaN(), WithinStatutory: math.NaN()}
	if c := g.measures[measureCompleted]; c != nil && c.n > 0 {
		r.Completed = c.n
		r.Completion = c.spread()
		r.WithinTarget = float64(c.target) / float64(c.n)
		r.WithinStatutory = float64(c.statute) / float64(c.n)
	}
	for _, st := range dimos.Stages {
		if s := g.measures[string(st)]; s != nil && s.n > 0 && !st.Terminal() {
			r.Stages = append(r.Stages, reports.StageSpread{Stage: st, Spread: s.spread()})
		}
	}
	return r
}

type weekID struct {
	start   time.Time
	service int64 // -1: the whole municipality
}

type reportAcc struct {
	slab   *blockSlab
	total  *groupAcc
	groups map[groupID]*groupAcc
	weeks  map[weekID]*groupAcc
	seen   map[holderCategory][]*groupAcc // groupsOf, memoised: rollup rows repeat their groups
	// The rollup rows summed by holder and category before they are counted in
	// their groups (fold): each histogram is added once, not once a group.
	cells map[holderCategory]*groupAcc
}

type holderCategory struct {
	service, employee int64
	category          string
}

func newReportAcc() *reportAcc {
	slab := &blockSlab{}
	return &reportAcc{slab: slab, total: &groupAcc{slab: slab}, groups: map[groupID]*groupAcc{},
		weeks: map[weekID]*groupAcc{}, seen: map[holderCategory][]*groupAcc{}, cells: map[holderCategory]*groupAcc{}}
}

func (a *reportAcc) group(dim reports.Dimension, id string) *groupAcc {
	k := groupID{dim, id}
	g := a.groups[k]
	if g == nil {
		g = &groupAcc{slab: a.slab}
		a.groups[k] = g
	}
	return g
}

func (a *reportAcc) week(start time.Time, service int64) *groupAcc {
	k := weekID{start, service}
	g := a.weeks[k]
	if g == nil {
		g = &groupAcc{slab: a.slab}
		a.weeks[k] = g
	}
	return g
}

// groupsOf are the three groups and the total that a row of facts counts in.
func (a *reportAcc) groupsOf(service, employee int64, category string) []*groupAcc {
	k := holderCategory{service, employee, category}
	if g, ok := a.seen[k]; ok {
		return g
	}
	g := []*groupAcc{a.total,
		a.group(reports.ByService, strconv.FormatInt(service, 10)),
		a.group(reports.ByEmployee, strconv.FormatInt(employee, 10)),
		a.group(reports.ByCategory, category)}
	a.seen[k] = g
	return g
}

// weekStart is the Monday of the week of a civil day.
func weekStart(day time.Time) time.Time {
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}

// dayBounds turns the filter's period into civil days, nil for an open end.
func dayBounds(f reports.Filter) (from, to *time.Time) {
	if !f.From.IsZero() {
		d := civilDay(f.From)
		from = &d
	}
	if !f.To.IsZero() {
		d := civilDay(f.To)
		to = &d
	}
	return from, to
}

// instantBounds are the same days as instants: Athens midnights.
func instantBounds(f reports.Filter) (from, to *time.Time) {
	df, dt := dayBounds(f)
	for _, p := range []*time.Time{df, dt} {
		if p != nil {
			*p = time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, athens)
		}
	}
	return df, dt
}

// rollupRead is a read of a rollup table: the days [from, to), nil for an open end.
type rollupRead struct {
	table    string
	from, to *time.Time
}

// splitWeeksFrom is the shortest period whose weeks are read in two halves.
const splitWeeksFrom = 8 * 7 * 24 * time.Hour

// rollupReads cover the filter's period. A filter that names no channel or kind
// reads the whole weeks of its period from report_rollups_weekly (when weeks is set),
// and the days before the first Monday and from the last Monday from report_rollups:
// at most 53 rows a group for a year, however many cases.
func rollupReads(f reports.Filter, weeks bool) []rollupRead {
	from, to := dayBounds(f)
	wFrom, wTo := wholeWeeks(from, to)
	if !weeks || f.Channel != "" || f.Kind != "" || wFrom != nil && wTo != nil && !wFrom.Before(*wTo) {
		return []rollupRead{{"report_rollups", from, to}}
	}
	reads := []rollupRead{{"report_rollups_weekly", wFrom, wTo}}
	// A long period's weeks are read in two halves at once, so that decoding the
	// first half's rows overlaps PostgreSQL's sending of the second's.
	if wFrom != nil && wTo != nil && wTo.Sub(*wFrom) >= splitWeeksFrom {
		mid := weekStart(wFrom.Add(wTo.Sub(*wFrom) / 2))
		reads = []rollupRead{{"report_rollups_weekly", wFrom, &mid}, {"report_rollups_weekly", &mid, wTo}}
	}
	if from != nil && from.Before(*wFrom) {
		reads = append(reads, rollupRead{"report_rollups", from, wFrom})
	}
	if to != nil && wTo.Before(*to) {
		reads = append(reads, rollupRead{"report_rollups", wTo, to})
	}
	return reads
}

// wholeWeeks are the Mondays bounding the whole weeks within the days [from, to):
// the first Monday on or after from, the last on or before to; nil for an open end.
func wholeWeeks(from, to *time.Time) (wFrom, wTo *time.Time) {
	if from != nil {
		w := weekStart(from.AddDate(0, 0, 6))
		wFrom = &w
	}
	if to != nil {
		w := weekStart(*to)
		wTo = &w
	}
	return wFrom, wTo
}

// readRollupTable adds the rows of a rollup table within the days [from, to) (nil
// for an open end) and the filter's groups.
func (db *DB) readRollupTable(ctx context.Context, table string, from, to *time.Time, f reports.Filter, acc *reportAcc) error {
	rows, err := db.Pool.Query(ctx, fmt.Sprintf(rollupsSQL, table),
		from, to, f.ServiceID, f.Category, string(f.Channel), string(f.Kind), f.EmployeeID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for i, fd := range rows.FieldDescriptions() {
		// measure and category_code read the same in either format
		if fd.Format != pgx.BinaryFormatCode && i != 1 && i != 4 {
			return fmt.Errorf("rollups: column %s not sent in binary", fd.Name)
		}
	}
	d := rollupDecoder{strings: map[string]string{}, weeks: map[int32]time.Time{}}
	var r rollupRow
	for rows.Next() {
		if err := d.decode(rows.RawValues(), &r); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		acc.add(r.week, r.measure, r.service, r.employee, r.category, &r)
	}
	return rows.Err()
}

// rollupDecoder reads the rows of rollupsSQL as PostgreSQL sends them in binary. A
// year's report at a million cases reads some 60,000 rows; scanning each value
// through pgx allocated its strings and times anew and was a fifth of the report's
// time. The rows repeat a few measures, categories and weeks, which are kept once.
type rollupDecoder struct {
	strings map[string]string
	weeks   map[int32]time.Time // by PostgreSQL date (days since 2000-01-01)
}

// pgEpoch is day 0 of PostgreSQL's binary date.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (d *rollupDecoder) decode(raw [][]byte, r *rollupRow) error {
	if len(raw) != 12 {
		return fmt.Errorf("rollup row of %d columns", len(raw))
	}
	for i, size := range [...]int{0: 4, 2: 8, 3: 8, 5: 4, 6: 4, 7: 4, 8: 8, 9: 8} {
		if size > 0 && len(raw[i]) != size {
			return fmt.Errorf("rollup column %d: %d bytes", i, len(raw[i]))
		}
	}
	day := int32(binary.BigEndian.Uint32(raw[0]))
	wk, ok := d.weeks[day]
	if !ok {
		wk = weekStart(pgEpoch.AddDate(0, 0, int(day)))
		d.weeks[day] = wk
	}
	r.week = wk
	r.measure, r.category = d.intern(raw[1]), d.intern(raw[4])
	r.service, r.employee = int64(binary.BigEndian.Uint64(raw[2])), int64(binary.BigEndian.Uint64(raw[3]))
	r.n = int(int32(binary.BigEndian.Uint32(raw[5])))
	r.target = int(int32(binary.BigEndian.Uint32(raw[6])))
	r.statute = int(int32(binary.BigEndian.Uint32(raw[7])))
	r.maxDays = math.Float64frombits(binary.BigEndian.Uint64(raw[8]))
	r.maxHours = math.Float64frombits(binary.BigEndian.Uint64(raw[9]))
	var err error
	if r.days, err = decodeHistogram(raw[10]); err != nil {
		return err
	}
	r.hours, err = decodeHistogram(raw[11])
	return err
}

// intern returns b as a string, the same string each time.
func (d *rollupDecoder) intern(b []byte) string {
	if s, ok := d.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strings[s] = s
	return s
}

// add counts a rollup row of the week starting on wk in its cell and its service's
// week; fold counts the cells in their groups.
func (acc *reportAcc) add(wk time.Time, measure string, service, employee int64, category string, s *rollupRow) {
	c := acc.cell(holderCategory{service, employee, category})
	if measure == measureReceived {
		c.received += s.n
		acc.week(wk, service).received += s.n
		return
	}
	c.measure(measure).merge(s)
	if measure == measureCompleted {
		acc.week(wk, service).measure(measure).merge(s)
	}
}

func (acc *reportAcc) cell(k holderCategory) *groupAcc {
	c := acc.cells[k]
	if c == nil {
		c = &groupAcc{slab: acc.slab}
		acc.cells[k] = c
	}
	return c
}

// absorb adds the cells and weeks of another accumulator.
func (acc *reportAcc) absorb(p *reportAcc) {
	for k, c := range p.cells {
		acc.cell(k).addGroup(c)
	}
	for k, w := range p.weeks {
		acc.week(k.start, k.service).addGroup(w)
	}
}

// fold counts the cells in the total and their groups, and the services' weeks in
// the municipality's.
func (acc *reportAcc) fold() {
	for k, c := range acc.cells {
		for _, g := range acc.groupsOf(k.service, k.employee, k.category) {
			g.addGroup(c)
		}
	}
	var services []*groupAcc
	var starts []time.Time
	for k, w := range acc.weeks {
		if k.service >= 0 {
			services, starts = append(services, w), append(starts, k.start)
		}
	}
	for i, w := range services {
		acc.week(starts[i], -1).addGroup(w)
	}
}

// addGroup adds the cases and the measures of b.
func (g *groupAcc) addGroup(b *groupAcc) {
	g.received += b.received
	g.backlog += b.backlog
	g.overdue += b.overdue
	for m, s := range b.measures {
		g.measure(m).add(s)
	}
}

// rollupsSQL reads the rows of a rollup table (%s) in a period and a filter's groups.
const rollupsSQL = `SELECT day, measure, service_id, employee_id, category_code, n,
			within_target, within_statutory, max_days, max_hours, days_hist, hours_hist
		FROM %s
		WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day < $2)
			AND ($3::bigint = 0 OR service_id = $3) AND ($4 = '' OR category_code = $4)
			AND ($5 = '' OR channel = $5) AND ($6 = '' OR kind = $6) AND ($7::bigint = 0 OR employee_id = $7)`

// rollupsWeeksArgs are the arguments of rollupsSQL on report_rollups_weekly for the
// whole weeks of f (the plan the report's largest read follows).
func rollupsWeeksArgs(f reports.Filter) []any {
	from, to := wholeWeeks(dayBounds(f))
	return []any{from, to, f.ServiceID, f.Category, string(f.Channel), string(f.Kind), f.EmployeeID}
}

// rollupRow is a row of report_rollups as read.
type rollupRow struct {
	week               time.Time // the Monday of its day's week
	measure, category  string
	service, employee  int64
	n, target, statute int
	maxDays, maxHours  float64
	days, hours        histogram
}

// histogram is a rollup histogram as stored and sent (migration 0021): a record per
// non-empty bucket, the bucket in 2 bytes and the count in 4, big-endian. It is
// read in place, as PostgreSQL sends a bytea: nothing per element on either side.
type histogram struct {
	records []byte // checked by decodeHistogram
}

// histRecord is the size of a histogram's record.
const histRecord = 2 + 4

// decodeHistogram checks a histogram as sent: whole records, every bucket within
// range, every count positive.
func decodeHistogram(b []byte) (histogram, error) {
	if len(b)%histRecord != 0 {
		return histogram{}, fmt.Errorf("rollup histogram: %d bytes", len(b))
	}
	for r := b; len(r) > 0; r = r[histRecord:] {
		bucket, n := binary.BigEndian.Uint16(r), binary.BigEndian.Uint32(r[2:])
		if bucket > maxHourBucket || n == 0 || n > math.MaxInt32 {
			return histogram{}, fmt.Errorf("rollup histogram: bucket %d, count %d", bucket, n)
		}
	}
	return histogram{records: b}, nil
}

// addTo adds the histogram to the counts of h. The records ascend by bucket, so a
// block is looked up once for the run of records that fall in it, not per record.
func (hist histogram) addTo(h *bucketCounts) {
	var blk *[countBlock]int32
	cur := -1
	for r := hist.records; len(r) >= histRecord; r = r[histRecord:] {
		bucket := int(binary.BigEndian.Uint16(r))
		if i := bucket / countBlock; i != cur {
			blk, cur = h.block(i), i
		}
		blk[bucket%countBlock] += int32(binary.BigEndian.Uint32(r[2:]))
	}
}

// readOpen counts the open cases received in the period, and those overdue now, from
// report_open (migration 0019): the rows of the period's days and the filter's groups,
// overdue those whose overdue day is before today; of the cases that become overdue
// today, those past it now are read through cases_open_overdue_idx. Neither read
// grows with the cases kept: the rows are bounded by days × holders × categories ×
// channels × kinds × overdue days, the cases by one day's.
func (db *DB) readOpen(ctx context.Context, f reports.Filter, now time.Time, acc *reportAcc) error {
	for _, q := range []struct {
		sql  string
		args []any
	}{{openCountsSQL, openCountsArgs(f, now)}, {openTodaySQL, openTodayArgs(f, now)}} {
		rows, err := db.Pool.Query(ctx, q.sql, q.args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var service, employee int64
			var category string
			var backlog, overdue int
			if err := rows.Scan(&service, &employee, &category, &backlog, &overdue); err != nil {
				rows.Close()
				return err
			}
			c := acc.cell(holderCategory{service, employee, category})
			c.backlog += backlog
			c.overdue += overdue
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// openCountsSQL counts the open cases of a filter's days and groups ($1–$7), and those
// overdue before today ($8).
const openCountsSQL = `SELECT service_id, employee_id, category_code, sum(n)::int,
			coalesce(sum(n) FILTER (WHERE overdue_day < $8), 0)::int
		FROM report_open
		WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day < $2)
			AND ($3::bigint = 0 OR service_id = $3) AND ($4 = '' OR category_code = $4)
			AND ($5 = '' OR channel = $5) AND ($6 = '' OR kind = $6) AND ($7::bigint = 0 OR employee_id = $7)
		GROUP BY 1, 2, 3`

func openCountsArgs(f reports.Filter, now time.Time) []any {
	from, to := dayBounds(f)
	return []any{from, to, f.ServiceID, f.Category, string(f.Channel), string(f.Kind), f.EmployeeID, civilDay(now)}
}

// openTodaySQL counts the open cases of a filter ($1–$7) that became overdue today
// before now: from today's Athens midnight ($8) to now ($9). They are counted open
// already by openCountsSQL.
const openTodaySQL = `SELECT coalesce(c.service_id, 0), coalesce(c.assignee_id, 0), c.category_code, 0, count(*)::int
		FROM cases c
		WHERE c.stage NOT IN ('completed', 'rejected') AND c.report_overdue_at >= $8 AND c.report_overdue_at < $9
			AND ($1::timestamptz IS NULL OR c.submitted_at >= $1) AND ($2::timestamptz IS NULL OR c.submitted_at < $2)
			AND ($3::bigint = 0 OR c.service_id = $3) AND ($4 = '' OR c.category_code = $4)
			AND ($5 = '' OR c.channel = $5) AND ($6 = '' OR c.kind = $6) AND ($7::bigint = 0 OR c.assignee_id = $7)
		GROUP BY 1, 2, 3`

func openTodayArgs(f reports.Filter, now time.Time) []any {
	from, to := instantBounds(f)
	today := civilDay(now)
	midnight := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, athens)
	return []any{from, to, f.ServiceID, f.Category, string(f.Channel), string(f.Kind), f.EmployeeID, midnight, now}
}

// overdueNow reports whether an open case is past its due date, or past the
// statutory limit on the municipality's clock (working days since submission, less
// the time spent waiting for the citizen: the visits entered[i]–left[i]).
func overdueNow(now, submitted time.Time, due *time.Time, statutory float64, entered, left []time.Time) bool {
	if due != nil && now.After(*due) {
		return true
	}
	if statutory <= 0 {
		statutory = dimos.StatutoryDays
	}
	clock := reportCalendar.WorkingDuration(submitted, now)
	for i := range entered {
		clock -= reportCalendar.WorkingDuration(entered[i], left[i])
	}
	return float64(clock)/float64(24*time.Hour) > statutory
}

// reportNames are the names of services, employees and categories.
type reportNames struct {
	services   map[int64]*dimos.Service
	employees  map[int64][2]string // username, full name
	categories map[string][2]string
	catSort    map[string]int
}

func (db *DB) reportNames(ctx context.Context) (*reportNames, error) {
	n := &reportNames{services: map[int64]*dimos.Service{}, employees: map[int64][2]string{},
		categories: map[string][2]string{}, catSort: map[string]int{}}
	svcs, err := db.Services(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		n.services[s.ID] = s
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, username, full_name FROM employees`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var u, name string
		if err := rows.Scan(&id, &u, &name); err != nil {
			rows.Close()
			return nil, err
		}
		n.employees[id] = [2]string{u, name}
	}
	rows.Close()
	rows, err = db.Pool.Query(ctx, `SELECT code, name_el, name_en, sort FROM categories`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var code, el, en string
		var s int
		if err := rows.Scan(&code, &el, &en, &s); err != nil {
			return nil, err
		}
		n.categories[code] = [2]string{el, en}
		n.catSort[code] = s
	}
	return n, rows.Err()
}

// of returns the key and names of a group; the group "0" (no service, nobody) has
// an empty key and no names, which pages show in their own words.
func (n *reportNames) of(dim reports.Dimension, id string) (key, el, en string) {
	switch dim {
	case reports.ByCategory:
		c := n.categories[id]
		return id, c[0], c[1]
	case reports.ByService:
		i, _ := strconv.ParseInt(id, 10, 64)
		if s := n.services[i]; s != nil {
			return s.Code, s.NameEL, s.NameEN
		}
	case reports.ByEmployee:
		i, _ := strconv.ParseInt(id, 10, 64)
		if e, ok := n.employees[i]; ok {
			return e[0], e[1], e[1]
		}
	}
	return "", "", ""
}

// sortedKeys lists the groups of a dimension: by service code, username, or the
// categories' own order; "none" last.
func (a *reportAcc) sortedKeys(dim reports.Dimension, names *reportNames) []string {
	var ids []string
	for k := range a.groups {
		if k.dim == dim {
			ids = append(ids, k.id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		ki, _, _ := names.of(dim, ids[i])
		kj, _, _ := names.of(dim, ids[j])
		if (ki == "") != (kj == "") {
			return kj == ""
		}
		if dim == reports.ByCategory && names.catSort[ki] != names.catSort[kj] {
			return names.catSort[ki] < names.catSort[kj]
		}
		return ki < kj
	})
	return ids
}

// maxBottlenecks is how many stage × group pairs the report ranks.
const maxBottlenecks = 10

// bottlenecks ranks the stage × service and stage × employee pairs by median wait,
// longest first; ties by p90, then by the number of visits.
func (a *reportAcc) bottlenecks(names *reportNames) []reports.Bottleneck {
	var out []reports.Bottleneck
	for k, g := range a.groups {
		if k.dim != reports.ByService && k.dim != reports.ByEmployee || k.id == "0" {
			continue
		}
		key, el, en := names.of(k.dim, k.id)
		for _, st := range dimos.Stages {
			if s := g.measures[string(st)]; s != nil && s.n > 0 && !st.Terminal() {
				out = append(out, reports.Bottleneck{Stage: st, Dimension: k.dim, Key: key, NameEL: el, NameEN: en, Wait: s.spread()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Wait.Median.WorkingDays != b.Wait.Median.WorkingDays:
			return a.Wait.Median.WorkingDays > b.Wait.Median.WorkingDays
		case a.Wait.P90.WorkingDays != b.Wait.P90.WorkingDays:
			return a.Wait.P90.WorkingDays > b.Wait.P90.WorkingDays
		case a.Wait.N != b.Wait.N:
			return a.Wait.N > b.Wait.N
		case a.Dimension != b.Dimension:
			return a.Dimension > b.Dimension // services before employees
		case a.Key != b.Key:
			return a.Key < b.Key
		}
		return a.Stage < b.Stage
	})
	if len(out) > maxBottlenecks {
		out = out[:maxBottlenecks]
	}
	return out
}

// trend lists the weeks in order, the whole municipality first in each week, then
// the services by code.
func (a *reportAcc) trend(names *reportNames) []reports.Week {
	var out []reports.Week
	for k, g := range a.weeks {
		w := reports.Week{Start: time.Date(k.start.Year(), k.start.Month(), k.start.Day(), 0, 0, 0, 0, athens),
			Received: g.received}
		if k.service >= 0 {
			w.ServiceKey, _, _ = names.of(reports.ByService, strconv.FormatInt(k.service, 10))
			if k.service == 0 {
				w.ServiceKey = "-"
			}
		}
		if c := g.measures[measureCompleted]; c != nil {
			w.Completed = c.n
			w.MedianCompletion = c.spread().Median
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ServiceKey < out[j].ServiceKey
	})
	return out
}

// maxPingPongs bounds the list; the worst come first.
const maxPingPongs = 200

// pingPongs lists the cases of the filter whose service or clerk came back after
// handing the case on: A→B→A.
func (db *DB) pingPongs(ctx context.Context, f reports.Filter, names *reportNames) ([]reports.PingPong, error) {
	rows, err := db.Pool.Query(ctx, pingPongsSQL, pingPongsArgs(f)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.PingPong, error) {
		var p reports.PingPong
		var ids []int64
		err := r.Scan(&p.Number, &p.Subject, &p.Dimension, &ids, &p.Returns)
		p.Moves = len(ids) - 1
		for _, id := range ids {
			key, _, _ := names.of(p.Dimension, strconv.FormatInt(id, 10))
			p.Holders = append(p.Holders, key)
		}
		return p, err
	})
}

// pingPongsSQL lists the worst ping-pongs of a filter.
const pingPongsSQL = `SELECT c.number, c.subject, h.dimension, h.holders, h.returns
		FROM case_holders h JOIN cases c ON c.id = h.case_id
		WHERE h.returns > 0
			AND ($1::timestamptz IS NULL OR c.submitted_at >= $1) AND ($2::timestamptz IS NULL OR c.submitted_at < $2)
			AND ($3::bigint = 0 OR EXISTS (SELECT 1 FROM case_holders s
				WHERE s.case_id = c.id AND s.dimension = 'service' AND $3 = ANY (s.holders)))
			AND ($4 = '' OR c.category_code = $4) AND ($5 = '' OR c.channel = $5) AND ($6 = '' OR c.kind = $6)
			AND ($7::bigint = 0 OR EXISTS (SELECT 1 FROM case_holders e
				WHERE e.case_id = c.id AND e.dimension = 'employee' AND $7 = ANY (e.holders)))
		ORDER BY h.returns DESC, cardinality(h.holders) DESC, c.number, h.dimension DESC
		LIMIT $8`

func pingPongsArgs(f reports.Filter) []any {
	from, to := instantBounds(f)
	return []any{from, to, f.ServiceID, f.Category, string(f.Channel), string(f.Kind), f.EmployeeID, maxPingPongs}
}

// CaseLines streams the cases submitted in the filter's period, in submission order,
// with their completion time and whether they are (or closed) overdue.
func (db *DB) CaseLines(ctx context.Context, f reports.Filter, yield func(reports.CaseLine) error) error {
	now := db.Now()
	from, to := instantBounds(f)
	rows, err := db.Pool.Query(ctx, `SELECT c.number, c.kind, c.channel, c.category_code, coalesce(s.code, ''),
			coalesce(e.username, ''), c.stage, c.submitted_at, c.completed_at, c.due_date, g.statutory_days::float8,
			coalesce(w.entered, '{}'), coalesce(w.left_at, '{}')
		FROM cases c
		JOIN categories g ON g.code = c.category_code
		LEFT JOIN services s ON s.id = c.service_id
		LEFT JOIN employees e ON e.id = c.assignee_id
		LEFT JOIN LATERAL (SELECT array_agg(t.entered_at ORDER BY t.seq) AS entered,
				array_agg(coalesce(t.left_at, $8) ORDER BY t.seq) AS left_at
			FROM stage_timings t WHERE t.case_id = c.id AND t.stage = 'waiting_citizen') w ON true
		WHERE ($1::timestamptz IS NULL OR c.submitted_at >= $1) AND ($2::timestamptz IS NULL OR c.submitted_at < $2)
			AND ($3::bigint = 0 OR c.service_id = $3) AND ($4 = '' OR c.category_code = $4)
			AND ($5 = '' OR c.channel = $5) AND ($6 = '' OR c.kind = $6) AND ($7::bigint = 0 OR c.assignee_id = $7)
		ORDER BY c.submitted_at, c.id`,
		from, to, f.ServiceID, f.Category, string(f.Channel), string(f.Kind), f.EmployeeID, now)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var l reports.CaseLine
		var closed, due *time.Time
		var statutory float64
		var entered, left []time.Time
		if err := rows.Scan(&l.Number, &l.Kind, &l.Channel, &l.Category, &l.Service, &l.Employee, &l.Stage,
			&l.SubmittedAt, &closed, &due, &statutory, &entered, &left); err != nil {
			return err
		}
		end := now
		if closed != nil {
			l.ClosedAt, end = *closed, *closed
			c := caseFacts{SubmittedAt: l.SubmittedAt}.completion(l.ClosedAt, 0)
			l.Completion = reports.Duration{WorkingDays: c.days(), Hours: c.hours()}
		}
		l.Overdue = overdueNow(end, l.SubmittedAt, due, statutory, entered, left)
		if err := yield(l); err != nil {
			return err
		}
	}
	return rows.Err()
}
