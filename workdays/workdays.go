// Package workdays is the Greek public-sector working-day calendar that service-level
// clocks count on: the 50 days a service has to answer a citizen (Ν.2690/1999 art. 4)
// and every stage target are counted here in working days.
//
// A working day is a civil date in Europe/Athens that is not a Saturday, not a Sunday,
// not a national holiday (see Holidays) and not one of the municipality's own
// holidays given to New.
//
// The package runs inside Temporal workflows, so everything in it is deterministic and
// pure: no clock, no I/O, no goroutines, no map iteration, and a Calendar never changes
// after New. The same inputs give the same answer on every worker and on every replay.
package workdays

import (
	"fmt"
	"math/bits"
	"slices"
	"time"
)

// Years whose non-working days a Calendar precomputes at New as a bitset: about 5 KB,
// and the counting loops then test one bit per day. Days outside the range are
// computed from the rules on each call; the answers are the same, only slower.
const (
	cacheFirstYear = 1990
	cacheLastYear  = 2100
)

var (
	cacheFirst = dayOf(cacheFirstYear, time.January, 1)
	cacheEnd   = dayOf(cacheLastYear+1, time.January, 1)
)

// Calendar tells working days from closed ones for one municipality: the national
// holidays plus its own. It is immutable after New and safe for concurrent use.
type Calendar struct {
	annual     []Local     // in the order given, duplicates of a date dropped
	annualAt   [13][32]int // 1 + index into annual of the Local on month/day, 0 if none
	oneOff     []Holiday   // sorted by Date, at most one per date, Date at Athens midnight
	oneOffDays []day       // oneOff[i].Date as a day number, for binary search
	closed     []uint64    // bit i set: day cacheFirst+i is not a working day
}

// greek is the national calendar, built once; Greek hands out the same immutable value.
var greek = New(nil, nil)

// Greek returns the calendar of national holidays only, for services with no local
// holiday and for tests.
func Greek() *Calendar { return greek }

// New returns a calendar with the national holidays plus a municipality's annual
// holidays (localAnnual, e.g. its patron saint's day) and one-off closures (oneOff,
// e.g. a day declared a holiday by the region). The inputs are copied.
//
// The civil date of a one-off holiday is the date of its Date in Athens, so midnight
// UTC and midnight Athens name the same day. When several holidays share a date the
// first one given names it.
//
// New panics on a Local whose Month/Day is no date of any year (31 April, 0 May) and
// on a one-off with a zero Date: a mistyped holiday would otherwise shift every
// deadline of the municipality without a word. Build calendars from configuration at
// start-up, where the panic stops the process before any case is counted.
func New(localAnnual []Local, oneOff []Holiday) *Calendar {
	c := &Calendar{}
	for _, l := range localAnnual {
		if !l.valid() {
			panic(fmt.Sprintf("workdays: local holiday %q has no valid date: month %d, day %d", l.NameEL, l.Month, l.Day))
		}
		if c.annualAt[l.Month][l.Day] != 0 {
			continue
		}
		c.annual = append(c.annual, l)
		c.annualAt[l.Month][l.Day] = len(c.annual)
	}

	normalised := make([]Holiday, 0, len(oneOff))
	for _, h := range oneOff {
		if h.Date.IsZero() {
			panic(fmt.Sprintf("workdays: one-off holiday %q has no date", h.NameEL))
		}
		d, _ := civil(h.Date)
		normalised = append(normalised, Holiday{Date: d.midnight(), NameEL: h.NameEL, NameEN: h.NameEN})
	}
	slices.SortStableFunc(normalised, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	for _, h := range normalised {
		d, _ := civil(h.Date)
		if n := len(c.oneOffDays); n > 0 && c.oneOffDays[n-1] == d {
			continue
		}
		c.oneOff = append(c.oneOff, h)
		c.oneOffDays = append(c.oneOffDays, d)
	}

	c.closed = make([]uint64, (cacheEnd-cacheFirst+63)/64)
	for d := cacheFirst; d < cacheEnd; d++ {
		if d.weekend() {
			c.setClosed(d)
		}
	}
	for y := cacheFirstYear; y <= cacheLastYear; y++ {
		for _, e := range national(y) {
			c.setClosed(e.day)
		}
		for _, l := range c.annual {
			if l.Day <= daysIn(y, l.Month) {
				c.setClosed(dayOf(y, l.Month, l.Day))
			}
		}
	}
	for _, d := range c.oneOffDays {
		if d >= cacheFirst && d < cacheEnd {
			c.setClosed(d)
		}
	}
	return c
}

func (c *Calendar) setClosed(d day) {
	i := d - cacheFirst
	c.closed[i/64] |= 1 << (uint(i) % 64)
}

// isClosed reports whether d is not a working day.
func (c *Calendar) isClosed(d day) bool {
	if d >= cacheFirst && d < cacheEnd {
		i := d - cacheFirst
		return c.closed[i/64]&(1<<(uint(i)%64)) != 0
	}
	if d.weekend() {
		return true
	}
	_, ok := c.holidayOn(d)
	return ok
}

// holidayOn finds the holiday on d from the rules, national first, then annual, then
// one-off: the national name is the one citizens know the day by.
func (c *Calendar) holidayOn(d day) (Holiday, bool) {
	y, m, dom := d.date()
	for _, e := range national(y) {
		if e.day == d {
			return e.holiday(), true
		}
	}
	if i := c.annualAt[m][dom]; i != 0 {
		l := c.annual[i-1]
		return Holiday{Date: d.midnight(), NameEL: l.NameEL, NameEN: l.NameEN}, true
	}
	if i, ok := slices.BinarySearch(c.oneOffDays, d); ok {
		return c.oneOff[i], true
	}
	return Holiday{}, false
}

// IsWorkingDay reports whether the civil date of t in Athens is a working day. The
// time of day and t's own zone do not matter beyond fixing that date: 23:30 UTC on a
// Thursday is already Friday in Athens.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d, _ := civil(t)
	return !c.isClosed(d)
}

// HolidayOn returns the holiday on the civil date of t in Athens. A plain Saturday or
// Sunday is not a holiday and returns false; use IsWorkingDay to ask whether the
// office is open. When a national and a local holiday share a date the national one
// is returned.
func (c *Calendar) HolidayOn(t time.Time) (Holiday, bool) {
	d, _ := civil(t)
	return c.holidayOn(d)
}

// nextOpen returns d if it is a working day, else the first working day after it.
func (c *Calendar) nextOpen(d day) day {
	for c.isClosed(d) {
		d++
	}
	return d
}

// AddWorkingDays returns the instant n working days after t. The rule, in Athens civil
// dates and wall-clock time:
//
//  1. If t falls on a working day, the count starts at t. Otherwise it starts at 00:00
//     of the next working day: a request filed on Saturday is treated as filed at the
//     opening of Monday (or of Tuesday when Monday is a holiday).
//  2. The result lies on the n-th working day after the starting date, at the starting
//     wall-clock time: Thursday 10:00 plus one working day is Friday 10:00, and
//     Thursday 9 April 2026 10:00 plus one is Tuesday 14 April 10:00, because Good
//     Friday, the weekend and Easter Monday are skipped.
//
// So n = 0 returns t itself on a working day and the next working day's 00:00
// otherwise. A negative n counts back from the same starting point, so
// AddWorkingDays(AddWorkingDays(t, n), -n) is the starting point for any t.
//
// The wall-clock time is kept rather than the elapsed hours: a deadline stays at the
// hour of filing even across a change of the clocks, and WorkingDuration from the
// starting point to the result is exactly n×24h. The result is in t's location.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d, w := civil(t)
	if c.isClosed(d) {
		d, w = c.nextOpen(d), wallClock{}
	} else if n == 0 {
		return t
	}
	step := day(1)
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d += step
		if !c.isClosed(d) {
			n--
		}
	}
	return at(d, w).In(t.Location())
}

// WorkingDuration returns how much working time lies in [a, b): the parts of the
// interval on working days, each working day worth 24h. Time of day is read on the
// Athens wall clock, so a working day counts 24h even if the clocks changed on it,
// and a weekend with a change of the clocks counts nothing. It returns 0 when b is not
// after a.
//
// Reports divide by 24h to show working days with decimals; WorkingDaysBetween does.
func (c *Calendar) WorkingDuration(a, b time.Time) time.Duration {
	if !a.Before(b) {
		return 0
	}
	da, wa := civil(a)
	db, wb := civil(b)
	if da == db {
		if c.isClosed(da) || wb.sinceMidnight() < wa.sinceMidnight() {
			// The second case is an hour repeated when the clocks go back.
			return 0
		}
		return wb.sinceMidnight() - wa.sinceMidnight()
	}
	var total time.Duration
	if !c.isClosed(da) {
		total += dayLength - wa.sinceMidnight()
	}
	if !c.isClosed(db) {
		total += wb.sinceMidnight()
	}
	return total + time.Duration(c.countOpen(da+1, db))*dayLength
}

// countOpen counts the working days in [from, to).
func (c *Calendar) countOpen(from, to day) int {
	n := 0
	// Whole 64-day words of the cache are counted with a population count, which
	// makes a year of reports cost a handful of instructions per case.
	for from < to {
		if from >= cacheFirst && from < cacheEnd && (from-cacheFirst)%64 == 0 && to-from >= 64 && from+64 <= cacheEnd {
			n += 64 - bits.OnesCount64(c.closed[(from-cacheFirst)/64])
			from += 64
			continue
		}
		if !c.isClosed(from) {
			n++
		}
		from++
	}
	return n
}

// WorkingDaysBetween returns WorkingDuration(a, b) in working days, with decimals:
// 1.5 is a working day and a half.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) float64 {
	return float64(c.WorkingDuration(a, b)) / float64(dayLength)
}

// AddWorkingDuration returns the first instant at which d of working time has passed
// since t, counted as WorkingDuration counts it: only time on working days, each
// worth 24h of Athens wall clock. It is the inverse of WorkingDuration, which the
// service-level clocks need: a case with 3.5 working days left on its target is due at
// AddWorkingDuration(now, 3.5×24h). A d of zero or less returns t.
func (c *Calendar) AddWorkingDuration(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	day, w := civil(t)
	start := w.sinceMidnight()
	if c.isClosed(day) {
		day, start = c.nextOpen(day), 0
	}
	for {
		if left := dayLength - start; d < left {
			return at(day, clockAt(start+d)).In(t.Location())
		} else if d == left {
			return (day + 1).midnight().In(t.Location())
		} else {
			d -= left
		}
		day, start = c.nextOpen(day+1), 0
	}
}

// clockAt is the wall-clock reading d after midnight, d less than a day.
func clockAt(d time.Duration) wallClock {
	return wallClock{int(d / time.Hour), int(d % time.Hour / time.Minute), int(d % time.Minute / time.Second), int(d % time.Second)}
}
